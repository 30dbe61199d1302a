"""Model-free scoring input: predicted documents from a file, paired with the gold ones.

``araevent score`` and ``araevent compare`` read a prediction file, take each
document's ``predicted_*`` spans (or its gold-looking ones), pair the documents
with the gold by id or position, and score over :func:`corpus_units`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from araevent.errors import DataError
from araevent.labels import LAYERS
from araevent.schema import Document, Span, overlapping_pairs, parse_span, resolve_overlaps
from araevent.text import KnownWords, Unit, span_vocabulary, split_units


def predicted_spans(
    doc: Document,
    path: str | None = None,
    line: int | None = None,
    *,
    nested: str = "error",
    stats: Counter | None = None,
) -> dict[str, list[Span]]:
    """The predictions a document carries.

    ``predicted_entities``/``predicted_triggers`` when the document has either key
    (a missing one is empty), else its ``entities``/``triggers`` (which the reader
    has already checked). Overlapping predicted spans of one layer are handled as
    the reader handles gold ones: an error with ``nested="error"``, else the outer
    or inner one is kept and each one dropped is counted in
    ``stats["predicted_nested_dropped/<layer>"]``.
    """
    keys = [f"predicted_{layer}" for layer in LAYERS]
    if not any(k in doc.extra for k in keys):
        return {"entities": list(doc.entities), "triggers": list(doc.triggers)}
    where: dict[str, Any] = {"path": path, "line": line, "doc_id": doc.id}
    out: dict[str, list[Span]] = {}
    for layer, key in zip(LAYERS, keys, strict=True):
        raw = doc.extra.get(key, [])
        if not isinstance(raw, list):
            raise DataError(f"{key} is {type(raw).__name__}, not a list", **where)
        spans = []
        for i, obj in enumerate(raw):
            span, errs = parse_span(obj, doc.text, where=where, layer=key, index=i)
            if errs:
                raise errs[0]
            spans.append(span)
        pairs = overlapping_pairs(spans)
        if pairs and nested == "error":
            (a, b), more = pairs[0], len(pairs) - 1
            raise DataError(
                f"{key} overlap: [{a.start}, {a.end}) {a.label} and [{b.start}, {b.end}) "
                f"{b.label}" + (f" (and {more} more overlapping pairs)" if more else ""),
                fix="remove one, or keep one: --nested outer|inner",
                **where,
            )
        spans, dropped = resolve_overlaps(spans, nested)
        if stats is not None:
            stats[f"predicted_nested_dropped/{layer}"] += len(dropped)
        out[layer] = spans
    return out


def pair_documents(
    gold: Sequence[Document],
    pred: Sequence[Document],
    *,
    match: str = "id",
    gold_path: str | None = None,
    pred_path: str | None = None,
    pred_lines: dict[str, int | None] | None = None,
    nested: str = "error",
    stats: Counter | None = None,
) -> list[dict[str, list[Span]]]:
    """Predicted spans for each gold document, in gold order.

    ``match="id"`` pairs documents by id: a gold id missing from the prediction, an
    extra predicted id or a repeated id is an error naming them. ``match="order"``
    pairs the i-th documents (for formats whose ids come from file names, such as
    CoNLL without ``-DOCSTART-``). Paired texts must be equal. ``pred_lines`` (the
    line of each predicted id), ``nested`` and ``stats`` go to :func:`predicted_spans`.
    """
    if match not in ("id", "order"):
        raise ValueError(f"match is 'id' or 'order', not {match!r}")
    if match == "order":
        if len(gold) != len(pred):
            raise DataError(
                f"{len(gold)} gold documents but {len(pred)} predicted ones",
                path=pred_path,
                fix="--match order pairs documents by position",
            )
        pairs = list(zip(gold, pred, strict=True))
    else:
        for docs, path in ((gold, gold_path), (pred, pred_path)):
            seen = Counter(d.id for d in docs)
            repeated = sorted(i for i, c in seen.items() if c > 1)
            if repeated:
                raise DataError(
                    f"repeated document ids: {_some(repeated)}",
                    path=path,
                    fix="ids must be unique to match gold and prediction",
                )
        by_id = {d.id: d for d in pred}
        gold_ids = {d.id for d in gold}
        missing = sorted(gold_ids - set(by_id))
        extra = sorted(set(by_id) - gold_ids)
        if missing or extra:
            parts = []
            if missing:
                parts.append(
                    f"{len(missing)} gold ids missing from the prediction: {_some(missing)}"
                )
            if extra:
                parts.append(f"{len(extra)} predicted ids not in the gold: {_some(extra)}")
            raise DataError(
                "; ".join(parts),
                path=pred_path,
                fix="score the prediction of exactly the gold documents",
            )
        pairs = [(g, by_id[g.id]) for g in gold]
    out = []
    for g, p in pairs:
        if g.text != p.text:
            raise DataError(
                f"text differs from gold document {g.id!r}",
                path=pred_path,
                doc_id=p.id,
                fix="character offsets are only comparable on the same text",
            )
        line = (pred_lines or {}).get(p.id)
        out.append(predicted_spans(p, pred_path, line, nested=nested, stats=stats))
    return out


def _some(items: Sequence[str], k: int = 5) -> str:
    shown = ", ".join(repr(x) for x in items[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


def corpus_units(docs: Sequence[Document]) -> list[list[Unit]]:
    """Units for model-free scoring.

    The proclitic rule with the shipped known words plus the gold documents' span
    vocabulary (as a model trained on them would know it).
    """
    known = KnownWords.shipped().union(span_vocabulary(docs))
    return [split_units(d.text, known) for d in docs]
