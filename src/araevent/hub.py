"""Publishing to the Hugging Face Hub: the entry points ``araevent publish`` uses.

The card is built in :mod:`araevent.hub_card` (from ``resources/model_card.md``), the
upload folder in :mod:`araevent.hub_folder`; this module checks the repository id,
finds the token and uploads with ``HfApi``. Nothing talks to the Hub before
:func:`upload`.
"""

from __future__ import annotations

import importlib
from typing import Any

from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import HFValidationError, validate_repo_id

from araevent.errors import UsageError
from araevent.hub_card import (
    ARGUMENT_VIEWS,
    CARD_FAMILIES,
    CARD_VIEWS,
    Source,
    build_card,
    card_data,
    card_text,
    load_source,
)
from araevent.hub_folder import PublishFolder, build_folder, leaks, local_strings

__all__ = [
    "ARGUMENT_VIEWS",
    "CARD_FAMILIES",
    "CARD_VIEWS",
    "PublishFolder",
    "Source",
    "UsageError",
    "build_card",
    "build_folder",
    "card_data",
    "card_text",
    "check_repo_id",
    "commit_message",
    "connect",
    "find_token",
    "leaks",
    "load_source",
    "local_strings",
    "require_token",
    "upload",
]


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a valid ``OWNER/NAME``; otherwise a :class:`UsageError`."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise UsageError(f"--repo-id {repo_id!r} is not a Hub repository id: {exc}") from None
    if repo_id.count("/") != 1:
        raise UsageError(f"--repo-id {repo_id!r}: give OWNER/NAME, e.g. me/arabert-ace-events")
    return repo_id


def find_token() -> str | None:
    """The Hub token from ``HF_TOKEN`` or the ``hf auth login`` cache, if there is one."""
    return get_token() or None


def require_token() -> str:
    """The Hub token; a :class:`UsageError` in one sentence if there is none."""
    token = find_token()
    if not token:
        raise UsageError(
            "no Hugging Face token found: set HF_TOKEN or run `hf auth login` to upload, "
            "or pass --dry-run DIR to build the folder without uploading"
        )
    return token


def connect(token: str):
    """An ``HfApi`` for ``token``; refuses in offline mode instead of failing mid-upload."""
    if constants.is_offline_mode():
        raise UsageError(
            "HF_HUB_OFFLINE is set (the Makefile sets it by default), so nothing can be "
            "uploaded; run again with HF_HUB_OFFLINE=0"
        )
    return HfApi(token=token)


def commit_message(source: Source) -> str:
    """The upload's commit message: it names the run."""
    return f"araevent: publish run {source.name}"


def _network_errors() -> tuple[type[BaseException], ...]:
    """What an ``HfApi`` call raises when the Hub refuses or cannot be reached."""
    errors: list[type[BaseException]] = [HfHubHTTPError, OSError]
    for name in ("httpx2", "httpx"):  # huggingface_hub 2.x and 1.x transports
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except ImportError:
            continue
    return tuple(errors)


def upload(
    folder: PublishFolder,
    source: Source,
    repo_id: str,
    *,
    token: str,
    private: bool = False,
    revision: str | None = None,
    api: Any = None,
) -> str:
    """Create the repo (and the branch), upload the folder; returns the commit URL.

    Raises:
        UsageError: offline mode, or the Hub refused a step (one line naming the step).
    """
    api = api if api is not None else connect(token)
    step = "create_repo"
    try:
        api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
        if revision:
            step = "create_branch"
            api.create_branch(repo_id=repo_id, repo_type="model", branch=revision, exist_ok=True)
        step = "upload_folder"
        info = api.upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=str(folder.path),
            revision=revision,
            commit_message=commit_message(source),
            commit_description=f"Files: {', '.join(folder.files)}",
        )
    except _network_errors() as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"uploading to {repo_id} failed at {step}: {reason}") from None
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{repo_id}")
