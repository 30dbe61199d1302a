"""Run provenance: what produced a result (library versions, git commit, data hashes, config).

The one place that builds the provenance block of ``metrics.json`` for training
runs, ``evaluate.py`` and ``araevent score`` (:func:`run_provenance`), plus the
small facts a run records about itself (peak memory, paths shown relative to the
working directory).
"""

from __future__ import annotations

import hashlib
import resource
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = (
    "araevent",
    "torch",
    "transformers",
    "tokenizers",
    "datasets",
    "accelerate",
    "hydra-core",
    "seqeval",
    "huggingface-hub",
    "numpy",
)


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape results."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(cwd: str | Path = ".") -> str | None:
    """The checkout's commit (with ``-dirty`` when it has changes), or ``None``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return sha + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def display_path(path: str | Path, base: str | Path | None = None) -> str:
    """``path`` relative to ``base`` (default: the working directory) when it lies under it.

    Run files keep no absolute local path that does not need to be there.
    """
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path(base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def file_hashes(paths: Sequence[str | Path | None]) -> dict[str, str]:
    """sha256 of each data file (every file under a folder)."""
    out = {}
    for p in paths:
        if p is None:
            continue
        path = Path(p)
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                out[display_path(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def run_provenance(config: dict[str, Any], data_paths: Sequence[str | Path | None]) -> dict:
    """The ``versions``, ``git_commit``, ``data_hashes`` and ``config`` keys of ``metrics.json``.

    ``data_paths`` are the data files or folders read (empty for a Hub dataset,
    which has no local files to hash).
    """
    return {
        "versions": library_versions(),
        "git_commit": git_commit(),
        "data_hashes": file_hashes(data_paths),
        "config": config,
    }


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
