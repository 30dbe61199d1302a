"""One run per folder: claim a run folder for training, or refuse it in one line.

A folder *holds a run* when it has any of :data:`RUN_MARKERS` (what a training
writes once it has started: ``tokenizer/``, ``tensorboard/``, ``checkpoints/``,
``model/``, ``metrics.json``) or when a live process holds its lock
(``train.lock``). What Hydra writes before the training code runs (``.hydra/``,
``train.log``) does not count. A fresh run refuses a folder that holds a run;
``resume=true`` refuses one whose saved config (``train_config.json``) differs
from the requested one in anything but :data:`RESUME_SAFE` keys.

The lock is an ``fcntl.flock`` on ``train.lock``: the kernel drops it when the
process dies, so a killed run never leaves a stale lock. Only rank 0 checks and
locks (DDP ranks share the folder; a refused rank 0 exits and its launcher stops
the other ranks).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from araevent.errors import UsageError

log = logging.getLogger(__name__)

RUN_MARKERS = ("checkpoints", "model", "metrics.json", "tokenizer", "tensorboard")
LOCK = "train.lock"
SAVED_CONFIG = "train_config.json"
# config keys (dotted prefixes) that may differ between a run and its resumption
RESUME_SAFE = (
    "resume",
    "test",
    "tags",
    "paths",
    "optimized_metric",
    "trainer.eval_batch_size",
    "trainer.dataloader_num_workers",
    "trainer.report_to",
)
ANOTHER = "pick another hydra.run.dir"


def markers(run_dir: Path) -> list[str]:
    """The run files present in ``run_dir`` (folders with a trailing ``/``)."""
    found = []
    for name in RUN_MARKERS:
        p = run_dir / name
        if p.exists():
            found.append(name + "/" if p.is_dir() else name)
    return found


def lock_holder(run_dir: Path) -> int | None:
    """The pid written by the live process that holds ``run_dir``'s lock, else ``None``.

    Returns 0 when the lock is held but the pid cannot be read.
    """
    path = run_dir / LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            return int(os.read(fd, 32).decode().strip() or 0)
        except ValueError:
            return 0
    finally:
        os.close(fd)  # also releases the probe's shared lock
    return None


def holds_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` already holds a run (see the module docstring)."""
    return bool(markers(run_dir)) or lock_holder(run_dir) is not None


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): obj}


def _resume_safe(key: str) -> bool:
    return any(key == s or key.startswith(s + ".") for s in RESUME_SAFE)


def config_differences(saved: dict, requested: dict) -> list[str]:
    """The dotted keys whose values differ, leaving out :data:`RESUME_SAFE` ones."""
    a, b = _flatten(saved), _flatten(requested)
    keys = (k for k in a.keys() | b.keys() if not _resume_safe(k))
    return sorted(k for k in keys if a.get(k, "<unset>") != b.get(k, "<unset>"))


def check_config(source: Path, config: dict) -> None:
    """Refuse to resume ``source``'s run with a config that changes what it trains."""
    path = source / SAVED_CONFIG
    if not path.is_file():
        log.warning("%s has no %s: cannot check the resumed config matches", source, SAVED_CONFIG)
        return
    try:
        saved = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{path}: unreadable saved config ({exc}) (start a fresh run: {ANOTHER})"
        ) from None
    diff = config_differences(saved, config)
    if diff:
        shown = ", ".join(f"{k} ({_short(saved, k)} -> {_short(config, k)})" for k in diff[:8])
        more = f" and {len(diff) - 8} more" if len(diff) > 8 else ""
        raise UsageError(
            f"{source}: cannot resume with a different config: {shown}{more} "
            f"(resume with the run's own settings, or start a fresh run: {ANOTHER})"
        )


def _short(config: dict, key: str) -> str:
    value = _flatten(config).get(key, "<unset>")
    text = json.dumps(value, ensure_ascii=False) if value != "<unset>" else value
    return text if len(text) <= 40 else text[:37] + "..."


def _take_lock(run_dir: Path) -> int:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(
            f"{run_dir}: cannot write the run folder ({exc.strerror or exc}) ({ANOTHER})"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            pid = os.read(fd, 32).decode().strip()
        finally:
            os.close(fd)
        raise UsageError(
            f"{run_dir}: a live training process (pid {pid or '?'}) is using this folder "
            f"(wait for it to finish, or {ANOTHER})"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def is_resume(resume: Any) -> bool:
    """Whether ``resume`` asks to continue (``true`` or a path)."""
    return resume not in (False, None, "false")


@contextlib.contextmanager
def claim(run_dir: Path, config: dict, resume: Any, rank: int = 0) -> Iterator[None]:
    """Hold ``run_dir`` for one training, or raise ``UsageError`` saying why it cannot.

    Fresh (``resume=false``): the folder must not hold a run. ``resume=true``: the
    folder's saved config must match ``config`` (resume-safe keys aside) and the run
    must not have finished. ``resume=PATH`` of another run: this folder must be fresh
    and the config must match that run's. Rank 0 writes ``train_config.json`` for
    a fresh run. DDP ranks > 0 neither check nor lock: rank 0 does it for all.
    """
    if rank != 0:
        # Rank 0 decides for all: checking here too would race with the files rank 0
        # writes once the ranks meet; if rank 0 refuses, the launcher stops the others.
        yield
        return
    fd = _take_lock(run_dir)
    try:
        found = markers(run_dir)
        source = resume_source(resume, run_dir)
        in_place = source == run_dir
        if in_place and not found:  # nothing here to continue: a fresh start
            in_place, source = False, None
        if found and not in_place:
            hint = "" if is_resume(resume) else "add resume=true to continue it, or "
            raise UsageError(
                f"{run_dir}: this folder already holds a run ({', '.join(found)}) ({hint}{ANOTHER})"
            )
        if in_place and "metrics.json" in found:
            raise UsageError(
                f"{run_dir}: this run has finished (metrics.json is there); "
                f"nothing to resume ({ANOTHER} for a new run)"
            )
        if source is not None:
            check_config(source, config)
        saved = run_dir / SAVED_CONFIG
        if not in_place or not saved.is_file():
            write_config(saved, config)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (it is not a marker)


def resume_source(resume: Any, run_dir: Path) -> Path | None:
    """The run folder a resumption continues: ``run_dir`` for ``true``, else PATH's run."""
    if not is_resume(resume):
        return None
    if resume is True or resume == "true":
        return run_dir
    path = Path(str(resume))
    if path.name.startswith("checkpoint-"):
        path = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    elif path.name == "checkpoints":
        path = path.parent
    return run_dir if path.resolve() == run_dir.resolve() else path


def write_config(path: Path, config: dict) -> None:
    """Write the run's resolved config atomically (what ``resume=true`` compares with)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(config, ensure_ascii=False, indent=2), "utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(
            f"{path.parent}: cannot write {path.name} ({exc.strerror or exc}) ({ANOTHER})"
        ) from None
