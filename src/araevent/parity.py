"""Pipeline parity for the model card, measured when asked (``araevent publish --measure-parity``).

Parity is how often ``transformers.pipeline("token-classification")`` over the
saved model agrees with araevent on exact character spans. It costs two full
inference passes over a split, so training does not measure it: ``araevent
publish --measure-parity`` does, on the machine publish runs on, and writes it
into the run's ``metrics.json`` (``parity``) before the card is built. Without
it the card says parity was not measured (or shows the last measured value).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers.utils import logging as hf_logging

from araevent.errors import UsageError
from araevent.predict import pipeline_parity
from araevent.reporting import write_json
from araevent.schema import Document
from araevent.splits import load_split, recorded_data

METRICS_FILE = "metrics.json"
KEEP = (
    "documents",
    "extractor_spans",
    "pipeline_spans",
    "identical_spans",
    "agreement",
    "documents_identical",
    "reasons",
)


def measure_parity(model_dir: Path, docs: Sequence[Document], split: str) -> dict[str, Any]:
    """Span agreement of ``transformers.pipeline`` with araevent on one split, for the card."""
    hf_logging.disable_progress_bar()  # one line for the result, not weight-loading bars
    result = pipeline_parity(model_dir, docs)
    return {"split": split, **{k: result[k] for k in KEEP if k in result}}


def record_parity(run_dir: Path | None) -> dict[str, Any]:
    """Measure parity on the run's test split (dev when test was not scored); save it.

    The run's ``metrics.json`` says where the split is (``config.data``, paths as
    training saw them); the result is written into it as ``parity`` (replacing an
    earlier one) and returned.

    Raises:
        UsageError: no run folder with a ``metrics.json``, no data config in it, or
            the split's files are not where the run read them.
    """
    fix = (
        "publish the run folder train.py wrote, from the folder it was trained in, "
        "or leave out --measure-parity"
    )
    if run_dir is None or not (run_dir / METRICS_FILE).is_file():
        raise UsageError(f"--measure-parity needs a run folder with a {METRICS_FILE} ({fix})")
    where = run_dir / METRICS_FILE
    try:
        metrics = json.loads(where.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{where}: cannot be read ({exc}) ({fix})") from None
    recorded = (metrics.get("config") or {}).get("data")
    if not isinstance(recorded, dict):
        raise UsageError(f"{where}: no data config to measure parity on ({fix})")
    data = recorded_data(recorded, where, fix)
    split = "test" if "test" in (metrics.get("counts") or {}) and data.test else "dev"
    location = getattr(data, split)
    if not location or (data.format != "hub" and not Path(location).exists()):
        raise UsageError(
            f"{where}: the {split} split ({location or 'not set'}) is not there to measure "
            f"parity on ({fix})"
        )
    parity = measure_parity(run_dir / "model", load_split(data, split), split)
    write_json(where, {**metrics, "parity": parity})
    return parity
