"""Reading a configured data split (files, a folder, or a Hub dataset) strictly.

Shared by training, ``evaluate.py`` and ``araevent publish --measure-parity``.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from omegaconf import OmegaConf

from araevent.config import DataSettings, data_settings
from araevent.errors import UsageError
from araevent.formats import load_documents, load_hub_split
from araevent.labels import get_label_set
from araevent.schema import Document

log = logging.getLogger(__name__)
SPLITS = ("train", "dev", "test")
DROP_WORDS = ("dropped", "unimported", "repaired")


def load_split(data: DataSettings, split: str) -> list[Document]:
    """Read one split (files, a folder, or a Hub dataset) strictly."""
    return read_split(data, split)[0]


def read_split(data: DataSettings, split: str) -> tuple[list[Document], dict[str, int]]:
    """Read one split (files, a folder, or a Hub dataset) strictly.

    Returns the documents and the reader's counters (``dropped_nested`` and the
    like: what the nested policy ``data.nested`` dropped); a Hub split has only
    ``documents``.
    """
    location = getattr(data, split)
    if data.format == "hub":
        docs = load_hub_split(data, location)
        return docs, {"documents": len(docs)}
    if data.format == "ace2005":
        # ace2005 reads an LDC corpus through a conversion cache; imported only for it
        from araevent.ace2005 import load_split as load_ace2005_split

        docs = load_ace2005_split(data, split)
        return docs, {"documents": len(docs)}
    stats: Counter[str] = Counter()
    docs = load_documents(
        [location],
        data.format,
        stats=stats,
        label_set=get_label_set(data.label_set),
        nested=data.nested,
        layers=data.layers,
        conll_layers=data.conll_layers,
    )
    return docs, dict(stats)


def report_reading(split: str, stats: dict[str, int], data: DataSettings) -> dict[str, int]:
    """Log what reading ``split`` dropped or changed; return the nonzero counters."""
    kept = {k: v for k, v in sorted(stats.items()) if v}
    changed = {k: v for k, v in kept.items() if any(w in k for w in DROP_WORDS)}
    if changed:
        log.warning(
            "%s: reading dropped or changed %s (data.nested=%s; run.reading in metrics.json)",
            split,
            ", ".join(f"{k}={v}" for k, v in changed.items()),
            data.nested,
        )
    log.info("%s: %s", split, ", ".join(f"{k}={v}" for k, v in kept.items()))
    return kept


def recorded_data(recorded: dict, metrics_file: str | Path, fix: str) -> DataSettings:
    """The data settings a training run recorded in its ``metrics.json`` (``config.data``).

    Raises:
        UsageError: the recorded config cannot be read (hand-edited); ``fix`` says
            what to do instead.
    """
    try:
        return data_settings(OmegaConf.create(recorded))
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise UsageError(
            f"{metrics_file}: its data config cannot be read ({exc}) ({fix})"
        ) from None
