"""Complete checkpoints, resuming from them, and telling a full disk from other failures.

A checkpoint is complete when its trainer state parses and its weights and
optimizer files are whole (:func:`checkpoint_problem`); resuming takes the
newest complete one and names each newer incomplete one it skips.
"""

from __future__ import annotations

import errno
import json
import logging
import struct
import zipfile
from pathlib import Path

from araevent.errors import UsageError
from araevent.runfolder import is_resume

log = logging.getLogger(__name__)


def _safetensors_problem(path: Path) -> str | None:
    """Why a ``.safetensors`` file cannot load (bad header or truncated), else ``None``."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8:
                return f"{path.name} is truncated"
            header = json.loads(f.read(n))
    except (OSError, ValueError, struct.error):
        return f"{path.name} has no valid safetensors header"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    if 8 + n + max(ends, default=0) > size:
        return f"{path.name} is truncated"
    return None


def checkpoint_problem(ckpt: Path) -> str | None:
    """Why ``ckpt`` is not a complete checkpoint, else ``None``.

    Complete: ``trainer_state.json`` parses, the safetensors weights (one file or
    the shards of an index) have valid headers and full length, and the
    optimizer/scheduler files present are whole zip archives (``torch.save``).
    """
    try:
        json.loads((ckpt / "trainer_state.json").read_text("utf-8"))
    except FileNotFoundError:
        return "no trainer_state.json"
    except (OSError, ValueError):
        return "trainer_state.json is not valid JSON (half-written)"
    index = ckpt / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text("utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError):
            return f"{index.name} is not valid JSON (half-written)"
    elif (ckpt / "model.safetensors").is_file():
        shards = ["model.safetensors"]
    else:
        return "no model.safetensors"
    for name in shards:
        problem = _safetensors_problem(ckpt / name)
        if problem:
            return problem
    for name in ("optimizer.pt", "scheduler.pt"):
        p = ckpt / name
        if p.exists() and not zipfile.is_zipfile(p):
            return f"{name} is truncated"
    return None


def _step(p: Path) -> int:
    try:
        return int(p.name.split("-")[-1])
    except ValueError:
        return -1


def newest_complete_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``checkpoint-N`` (see :func:`checkpoint_problem`).

    Newer incomplete ones (a run killed or out of disk while saving) are skipped
    with a warning naming them and why.
    """
    if not folder.is_dir():
        return None
    for ckpt in sorted(folder.glob("checkpoint-*"), key=_step, reverse=True):
        if _step(ckpt) < 0 or not ckpt.is_dir():
            continue
        problem = checkpoint_problem(ckpt)
        if problem is None:
            return ckpt
        log.warning("skipping incomplete checkpoint %s: %s", ckpt, problem)
    return None


def resolve_resume(resume: bool | str, run_dir: Path) -> str | None:
    """The checkpoint to resume from, or ``None``.

    ``resume=true``: this run's newest complete checkpoint; ``resume=PATH``: a
    checkpoint folder, or a run folder whose newest complete checkpoint is used.
    """
    if not is_resume(resume):
        return None
    if resume is True or resume == "true":
        ckpt = newest_complete_checkpoint(run_dir / "checkpoints")
        if ckpt is None:
            log.info("resume=true but %s has no complete checkpoint; starting fresh", run_dir)
        return str(ckpt) if ckpt else None
    path = Path(str(resume))
    if (path / "trainer_state.json").exists():
        problem = checkpoint_problem(path)
        if problem:
            raise UsageError(
                f"resume={resume}: incomplete checkpoint: {problem} "
                "(pass the run folder to use its newest complete checkpoint)"
            )
        return str(path)
    for folder in (path / "checkpoints", path):
        ckpt = newest_complete_checkpoint(folder)
        if ckpt:
            return str(ckpt)
    raise UsageError(
        f"resume={resume}: no complete checkpoint there "
        "(pass a checkpoint folder or a run folder that has one)"
    )


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (``torch.save`` and safetensors wrap ENOSPC)."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return True
    text = str(exc)
    return "No space left on device" in text or "StorageFull" in text or "file write failed" in text
