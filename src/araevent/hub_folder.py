"""The upload folder: the model files, the card and ``--include`` files, checked for leaks.

:func:`build_folder` writes the folder that goes up (safetensors weights, tokenizer,
``config.json`` with labels, layers and preprocessing, ``known_words.txt``, the
``README.md`` model card, and whatever ``include`` names), checks that it holds only
those files, no absolute local path, host name or token (:func:`leaks`), and parses
the card back. Nothing here talks to the Hub.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from araevent.errors import UsageError
from araevent.hub_card import (
    ARGUMENTS_FOLDER,
    CARD_FILE,
    Source,
    build_card,
    check_card,
    eval_results,
    is_local_path,
    read_json,
)
from araevent.modeling import CONFIG_KEY
from araevent.text import KNOWN_WORDS_FILE

# Files a model folder may send up as they are; anything else needs --include.
WEIGHT_PATTERNS = ("*.safetensors", "model.safetensors.index.json")
MODEL_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    KNOWN_WORDS_FILE,
)
JSON_CONFIGS = ("config.json", "tokenizer_config.json")
TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{30,}")
# An absolute POSIX path under a usual top-level folder, or a Windows drive path.
ABSOLUTE_PATH_PATTERN = re.compile(
    r"(?<![\w.~/-])/(?:home|root|tmp|Users|usr|work|workspace|mnt|data|scratch|var|private|"
    r"opt|srv|media|nfs|gpfs|lustre|cluster|net|storage|content)(?:/|\b)"
    r"|\b[A-Za-z]:\\"
)

# TensorBoard's event file name: events.out.tfevents.<time>.<host name>.<pid>.<n>
TENSORBOARD_DIR = "tensorboard"
TFEVENTS = re.compile(r"(?P<head>events\.out\.tfevents\.\d+)\.(?P<host>.+)\.(?P<tail>\d+\.\d+)")
HOST_PLACEHOLDER = "host"
# the leak scan reads a file up to this size whole, a larger one in overlapping chunks
WHOLE_FILE_LIMIT = 64 * 2**20
CHUNK_BYTES = 16 * 2**20
CHUNK_OVERLAP = 4096


@dataclass
class PublishFolder:
    """A built and checked upload folder."""

    path: Path
    files: list[str]
    card: Any
    eval_results: list[Any]


def _strip_local_paths(obj: Any) -> Any:
    """Replace every absolute path string in a JSON value by its last component."""
    if isinstance(obj, dict):
        return {k: _strip_local_paths(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip_local_paths(v) for v in obj]
    if isinstance(obj, str) and is_local_path(obj):
        return Path(obj.replace("\\", "/")).name
    return obj


def _model_files(model_dir: Path) -> list[Path]:
    files = [p for pattern in WEIGHT_PATTERNS for p in sorted(model_dir.glob(pattern))]
    if not any(p.suffix == ".safetensors" for p in files):
        raise UsageError(
            f"{model_dir} has no safetensors weights; save the model with "
            "save_pretrained(safe_serialization=True)"
        )
    known = read_json(model_dir / "config.json").get(CONFIG_KEY, {}).get("known_words")
    names = [*MODEL_FILES]
    if isinstance(known, str) and known and Path(known).name == known:  # as the loader takes it
        names.append(known)
    files += [model_dir / n for n in dict.fromkeys(names) if (model_dir / n).is_file()]
    return files


def _upload_name(rel: str) -> str:
    """``rel`` with the host name in a TensorBoard event file name replaced by ``host``.

    Raises:
        UsageError: a ``tfevents`` file name whose host part cannot be told.
    """
    folder, _, name = rel.rpartition("/")
    if "tfevents" not in name:
        return rel
    m = TFEVENTS.fullmatch(name)
    if m is None:
        raise UsageError(
            f"--include: cannot tell the host name in the TensorBoard file name {rel}; "
            f"rename it to events.out.tfevents.<time>.{HOST_PLACEHOLDER}.<pid>.<n>"
        )
    name = f"{m['head']}.{HOST_PLACEHOLDER}.{m['tail']}"
    return f"{folder}/{name}" if folder else name


def _included(source: Source, patterns: Sequence[str]) -> dict[str, Path]:
    """Files named by ``--include`` globs, keyed by their path in the upload folder.

    Globs are relative to the run folder (the model folder without one); files under
    ``model/`` land beside the weights. ``tensorboard/`` goes up only when a pattern
    starts with it (its event files go up with the host name in their names replaced).
    """
    root = (source.run_dir or source.model_dir).resolve()
    model_dir = source.model_dir.resolve()
    tensorboard = root / TENSORBOARD_DIR
    out: dict[str, Path] = {}
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise UsageError(f"--include {pattern!r}: give a glob relative to {root.name}/")
        matched = sorted(root.glob(pattern))
        files = [
            f
            for m in matched
            for f in ([m] if m.is_file() else sorted(m.rglob("*")))
            if f.is_file()
        ]
        if not files:
            raise UsageError(f"--include {pattern!r} matches no file in {root}")
        asked_tensorboard = Path(pattern).parts[0] == TENSORBOARD_DIR
        for f in files:
            f = f.resolve()
            if not f.is_relative_to(root):
                raise UsageError(f"--include {pattern!r}: {f.name} lies outside {root}")
            if f.is_relative_to(tensorboard) and not asked_tensorboard:
                raise UsageError(
                    f"--include {pattern!r} matches {TENSORBOARD_DIR}/ (its event files name "
                    f"the training machine); to upload them, say so: --include {TENSORBOARD_DIR}"
                )
            base = model_dir if f.is_relative_to(model_dir) else root
            out[_upload_name(f.relative_to(base).as_posix())] = f
    if CARD_FILE in out:
        raise UsageError(f"--include: {CARD_FILE} is the generated model card; rename the file")
    return out


def _host_names() -> list[str]:
    """This machine's host name and its first label (``node1`` of ``node1.example.org``)."""
    host = socket.gethostname()
    return [h for h in dict.fromkeys((host, host.split(".")[0])) if h]


def _name_leaks(rel: str, needles: Sequence[str], token: str | None) -> list[str]:
    """What the path ``rel`` itself gives away: a local path, the host name, a token."""
    hits = [repr(s) for s in needles if s in rel]
    hits += [
        f"the host name {h!r}"
        for h in _host_names()
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(h)}(?![A-Za-z0-9])", rel)
    ]
    if (token and token in rel) or TOKEN_PATTERN.search(rel):
        hits.append("a Hugging Face token")
    return [f"{rel}: {h} in the file name" for h in hits]


def _scanned_bytes(f: Path) -> Iterator[bytes]:
    """What the leak scan reads of ``f``, in pieces.

    A safetensors file: its JSON header only (the rest is tensor data). Another file:
    whole up to :data:`WHOLE_FILE_LIMIT`, above it in overlapping chunks (a string
    across a chunk border is still seen).
    """
    with f.open("rb") as fh:
        if f.suffix == ".safetensors":
            size = int.from_bytes(fh.read(8), "little")
            yield fh.read(size)
            return
        if f.stat().st_size <= WHOLE_FILE_LIMIT:
            yield fh.read()
            return
        tail = b""
        while chunk := fh.read(CHUNK_BYTES):
            yield tail + chunk
            tail = chunk[-CHUNK_OVERLAP:]


def leaks(folder: Path, local: Sequence[str] = (), token: str | None = None) -> list[str]:
    """``file: what`` for every absolute local path, host name or token found in ``folder``.

    Every file is searched for the exact strings in ``local`` and for ``token``; text
    (whatever decodes as UTF-8, the safetensors header included) also for
    absolute-path and token patterns. Of a safetensors file only the header is read
    (its metadata can name a path; the tensors are numbers), so multi-GB weights are
    never read whole. The names of the files araevent does not write itself
    (``--include`` ones) are searched for the same and for this machine's host name.
    The token itself is never part of the answer.
    """
    needles = [s for s in local if len(s) >= 6]
    own = {*MODEL_FILES, CARD_FILE}
    found = []
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = f.relative_to(folder).as_posix()
        if "/" in rel or not (rel in own or any(f.match(w) for w in WEIGHT_PATTERNS)):
            found += _name_leaks(rel, needles, token)
        named, paths, has_token = [], [], False
        for raw in _scanned_bytes(f):
            named += [repr(s) for s in needles if s.encode("utf-8") in raw]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            paths += [repr(m.group(0)) for m in ABSOLUTE_PATH_PATTERN.finditer(text)]
            has_token |= bool(token and token.encode("utf-8") in raw) or bool(
                TOKEN_PATTERN.search(text)
            )
        hits = [*named, *list(dict.fromkeys(paths))[:3]]
        hits += ["a Hugging Face token"] if has_token else []
        found += [f"{rel}: {h}" for h in dict.fromkeys(hits)]
    return found


def local_strings(source: Source) -> list[str]:
    """Absolute local paths that must not appear in the upload folder."""
    paths = {str(source.model_dir.resolve()), str(Path.cwd().resolve()), str(Path.home())}
    if source.run_dir is not None:
        paths.add(str(source.run_dir.resolve()))
    for value in source.data.values():
        if isinstance(value, str) and is_local_path(value):
            paths.add(str(Path(value).parent))
    return sorted(p for p in paths if p not in ("/", ""))


def _shipped(source: Source) -> dict[str, Path]:
    """The model files that go up, keyed by their path in the upload folder.

    The weights' folder at the top; the argument model's (``arguments/`` beside
    ``model/``) under ``arguments/``, loadable with ``subfolder="arguments"``.
    """
    out = {f.name: f for f in _model_files(source.model_dir)}
    if source.arguments_dir is not None:
        out |= {f"{ARGUMENTS_FOLDER}/{f.name}": f for f in _model_files(source.arguments_dir)}
    return out


def _write_folder(
    source: Source,
    out: Path,
    included: dict[str, Path],
    card: Any,
) -> list[str]:
    shipped = _shipped(source)
    for rel, f in shipped.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        original = read_json(f) if f.name in JSON_CONFIGS else None
        cleaned = _strip_local_paths(original)
        if cleaned != original:  # a config naming a local path: keep only its last part
            text = json.dumps(cleaned, ensure_ascii=False, indent=2) + "\n"
            (out / rel).write_text(text, "utf-8")
        else:
            shutil.copyfile(f, out / rel)
    for rel, f in included.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, out / rel)
    card.save(out / CARD_FILE)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    expected = set(shipped) | set(included) | {CARD_FILE}
    assert set(files) == expected, sorted(set(files) ^ expected)
    return files


def build_folder(
    source: Source,
    out_dir: str | Path,
    *,
    repo_id: str,
    license_id: str = "apache-2.0",
    revision: str | None = None,
    include: Sequence[str] = (),
    token: str | None = None,
) -> PublishFolder:
    """Write the upload folder to ``out_dir`` (missing or empty), checked, or nothing at all.

    The folder is built beside ``out_dir`` and moved into place only once it holds
    exactly the expected files, no absolute local path and no ``token``, and its card
    parses back with the model-index results of ``metrics.json``.

    Raises:
        UsageError: ``out_dir`` is not empty, an ``include`` glob matches nothing, or the
            folder would carry an absolute local path or the token.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder; choose a new one")
    shipped = _shipped(source)
    included = {k: v for k, v in _included(source, include).items() if k not in shipped}
    card = build_card(source, repo_id, license_id, revision)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        files = _write_folder(source, tmp, included, card)
        found = leaks(tmp, local_strings(source), token)
        if found:
            raise UsageError(
                f"nothing written: the upload folder would publish local paths, a host name "
                f"or a token "
                f"({'; '.join(found[:5])}); leave such files out of --include"
            )
        parsed = check_card(tmp / CARD_FILE, eval_results(source))
        if out.exists():
            out.rmdir()
        tmp.chmod(0o755)  # mkdtemp made it private
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PublishFolder(out, files, parsed, list(parsed.data.eval_results or []))
