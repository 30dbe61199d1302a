"""Readers and writers (placeholder: JSONL only; the formats work replaces this file)."""

from __future__ import annotations

import json
from pathlib import Path

from araevent.errors import DataError
from araevent.labels import LAYERS
from araevent.schema import Document, parse_document


def load_documents(paths, fmt=None, *, label_set=None, nested="error", layers=LAYERS,
                   conll_layers=None, repair=False) -> list[Document]:
    """Read JSONL documents; raise the first error."""
    docs = []
    for path in paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON: {exc}", path=str(path), line=n) from None
            r = parse_document(obj, path=str(path), line=n, label_set=label_set, nested=nested,
                               layers=layers)
            if r.errors:
                raise r.errors[0]
            docs.append(r.document)
    return docs
