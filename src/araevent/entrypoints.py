"""What ``train.py`` and ``evaluate.py`` call: unpack the config once, run, print the table.

User errors print one line and exit non-zero, without a traceback.
"""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import sys
from pathlib import Path

from araevent.config import evaluate_job, train_job
from araevent.errors import AraEventError
from araevent.reporting import argument_summary_table, main_table

log = logging.getLogger(__name__)


@functools.cache  # registered once per process
def skip_last_collection() -> None:
    """At exit, hand the heap to the OS instead of running a last garbage collection.

    With transformers' ``Trainer`` imported (about 3,400 modules), the interpreter's
    last collection at exit took 1.2 s on the 2-core machine, 0.17 s with the heap
    frozen (``import transformers.trainer`` alone, timed to the process's end). Our
    files are closed and written by then, and logging's own exit handler still
    flushes the logs; only the time changes.
    """
    atexit.register(gc.freeze)


def _fail(exc: Exception) -> None:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1 if type(exc).__name__ == "DataError" else 2)


def run_training(cfg, run_dir: str | Path) -> float | None:
    """Train from a composed ``train.yaml``; print the test (or dev) table on rank 0.

    Returns ``cfg.optimized_metric`` when set (for Hydra sweepers).
    """
    # Each entry imports only its own stage: training pulls in Trainer, datasets and
    # accelerate, which evaluate.py does not need (and the other way round).
    from araevent.training import train

    try:
        job = train_job(cfg, run_dir)
        metrics = train(job)
    except AraEventError as exc:
        _fail(exc)
    if not metrics:  # not rank 0
        return None
    split = "test" if "test/overall/span/f1" in metrics else "dev"
    print(main_table(metrics, split))
    for table in filter(None, [argument_summary_table(metrics, split)]):
        print(table)
    print(f"run folder: {run_dir}")
    target = cfg.get("optimized_metric")
    return float(metrics[target]) if target else None


def run_evaluation(cfg, out_dir: str | Path, overrides: list[str] | None = None) -> dict:
    """Evaluate a model folder from a composed ``evaluate.yaml``; print the main table.

    Writes the report folder (``metrics.json``, ``report.md``, ``predictions.jsonl``,
    ``errors.jsonl``, confusion plots) into ``out_dir`` and returns ``metrics.json``'s
    content. ``overrides`` are the command line's: when none names ``data``, the
    training run's recorded data config is scored on.
    """
    from araevent.evaluating import evaluate_model  # its own stage only, as above

    try:
        job = evaluate_job(cfg, out_dir, overrides)
        metrics = evaluate_model(job)
    except AraEventError as exc:
        _fail(exc)
    print(main_table(metrics, job.split))
    for table in filter(None, [argument_summary_table(metrics, job.split)]):
        print(table)
    c = metrics["counts"][job.split]
    print(f"{c['documents']} documents, {c['gold_spans']} gold spans scored")
    if job.robustness:
        print(f"robustness report: {Path(out_dir) / 'robustness' / 'report.md'}")
    print(f"report folder: {out_dir}")
    return metrics
