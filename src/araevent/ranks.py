"""One shard per process under ``torchrun`` / ``accelerate launch``, merged by rank 0.

The launchers start ``WORLD_SIZE`` copies of ``araevent predict`` with ``RANK``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. Each process predicts
shard ``RANK + 1`` of ``WORLD_SIZE`` into its own part file beside the output;
the processes meet twice in a CPU (gloo) process group, once when every shard is
checked and once when every part is written, and tell each other whether they
failed. Only when every part is complete does rank 0 concatenate them, in shard
order, into a temporary file beside the output that is moved into place (so the
output is the single-process one, byte for byte, and never half-merged), and
remove the parts. When a process fails, the others stop at the next meeting,
nothing is merged and the finished parts stay for ``--resume``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from araevent.errors import UsageError
from araevent.streaming import FileWriter

WAIT_S = 24 * 3600  # default: how long a process that is done waits for the others


@dataclass(frozen=True)
class Launch:
    """This process's place among the processes a launcher started."""

    rank: int
    world: int
    local_rank: int

    @property
    def shard(self) -> tuple[int, int]:
        """``(K, N)`` of this process's shard: ``RANK + 1`` of ``WORLD_SIZE``."""
        return self.rank + 1, self.world


def launched(environ: Mapping[str, str] = os.environ) -> Launch | None:
    """The launch this process is part of (``WORLD_SIZE`` above 1), or ``None``.

    Raises:
        UsageError: ``WORLD_SIZE`` is set but ``RANK`` is not, or one is not a number.
    """
    world = environ.get("WORLD_SIZE", "1").strip()
    if world in ("", "1", "0"):
        return None
    rank = environ.get("RANK")
    try:
        launch = Launch(int(rank or ""), int(world), int(environ.get("LOCAL_RANK", rank or "")))
    except ValueError:
        raise UsageError(
            f"WORLD_SIZE={world} and RANK={rank} are set: start the processes with torchrun or "
            "accelerate launch (which set both), or pass --shard K/N"
        ) from None
    if not 0 <= launch.rank < launch.world:
        raise UsageError(f"RANK={launch.rank} is not below WORLD_SIZE={launch.world}")
    return launch if launch.world > 1 else None


def part_path(target: Path, k: int, n: int) -> Path:
    """The part of shard ``k`` of ``n`` beside ``target``: ``out.jsonl.part-2-of-4``."""
    width = len(str(n))
    return target.with_name(f"{target.name}.part-{k:0{width}d}-of-{n}")


class Group:
    """The processes of a launch, meeting in a gloo process group (a context manager).

    ``wait_s`` is how long a process at a meeting waits for the others; a
    process that is still predicting its shard after that is named in the error.
    """

    def __init__(self, launch: Launch, wait_s: float = WAIT_S) -> None:
        self.launch, self.wait = launch, timedelta(seconds=wait_s)
        self.stopped = False  # a meeting found a failure: no more meetings

    def __enter__(self) -> Group:
        import torch.distributed as dist

        missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(v)]
        if missing:
            raise UsageError(
                f"WORLD_SIZE={self.launch.world} is set but {' and '.join(missing)} not: start "
                "the processes with torchrun or accelerate launch, or pass --shard K/N"
            )
        dist.init_process_group(
            "gloo", rank=self.launch.rank, world_size=self.launch.world, timeout=self.wait
        )
        return self

    def __exit__(self, *exc) -> None:
        import torch.distributed as dist

        with contextlib.suppress(RuntimeError, ValueError):
            dist.destroy_process_group()

    def meet(self, failure: str | None) -> list[tuple[int, str]]:
        """Wait for every process and share ``failure`` (``None``: all went well).

        Returns:
            ``(rank, failure)`` of every process that failed; after a non-empty
            answer the processes stop and do not meet again.

        Raises:
            UsageError: a process did not come within ``wait_s`` (naming its rank).
        """
        import torch.distributed as dist

        try:
            dist.monitored_barrier(timeout=self.wait, wait_all_ranks=True)
            failures: list[str | None] = [None] * self.launch.world
            dist.all_gather_object(failures, failure)
        except RuntimeError as exc:
            self.stopped = True
            raise UsageError(self._lost(str(exc))) from None
        found = [(rank, f) for rank, f in enumerate(failures) if f is not None]
        self.stopped = self.stopped or bool(found)
        return found

    def _lost(self, reason: str) -> str:
        seconds = int(self.wait.total_seconds())
        m = re.search(r"Ranks? ([\d, ]+) failed to pass", reason)
        if m:
            ranks = m.group(1).strip()
            return (
                f"rank {ranks} did not finish its shard within {seconds} s (--wait-timeout); "
                "nothing merged (the finished parts are kept for --resume)"
            )
        first = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
        return f"lost touch with the other processes ({first}); nothing merged"


def merge_parts(parts: Sequence[Path], target: Path) -> None:
    """Concatenate ``parts`` in order into ``target`` (moved into place whole), then remove them.

    Raises:
        UsageError: a part is not there (the processes do not share a file system).
    """
    missing = [p for p in parts if not p.is_file()]
    if missing:
        raise UsageError(
            f"{missing[0]} is not there for rank 0 to merge although its process finished: the "
            "processes must share a file system (or run with --shard K/N and merge the parts "
            "yourself); the parts are kept"
        )
    writer = FileWriter(target, render=None, keep=False)  # a hidden file beside the target
    try:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, writer.file, 1 << 20)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    for part in parts:
        part.unlink()
