"""Error analysis: what each false positive and negative is, and the confusion matrices.

``errors.jsonl`` is built from :func:`span_errors` (boundary, type confusion,
other) and :func:`argument_mistakes` (missed, spurious, wrong role, wrong
span); ``confusion_<layer>.png`` from :func:`confusion`. Scores themselves are
:func:`araevent.evaluation.score`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from araevent.evaluation import (
    MISSED,
    SPURIOUS,
    ArgItem,
    argument_items,
    argument_key,
    overlaps,
)
from araevent.labels import LAYERS
from araevent.schema import Document, Span


@dataclass
class SpanError:
    """One false positive or false negative of one layer, and what kind of error it is.

    ``error`` is ``false_positive`` (predicted, not in the gold) or ``false_negative``
    (gold, not predicted). ``kind`` refines it: ``type_confusion`` (a span with the
    same extent and another type on the other side), ``boundary`` (an overlapping
    span of the same type with other ends on the other side), otherwise ``error``
    itself. ``related`` holds those other-side spans.
    """

    layer: str
    error: str
    kind: str
    span: Span
    related: list[Span] = field(default_factory=list)


def span_errors(gold: dict[str, list[Span]], pred: dict[str, list[Span]]) -> list[SpanError]:
    """Every false positive and false negative of one document, classified, in text order."""
    out: list[SpanError] = []
    for layer in LAYERS:
        g_keys = {s.key for s in gold.get(layer, [])}
        p_keys = {s.key for s in pred.get(layer, [])}
        missed = [s for s in gold.get(layer, []) if s.key not in p_keys]
        spurious = [s for s in pred.get(layer, []) if s.key not in g_keys]
        for error, mine, other in (
            ("false_positive", spurious, missed),
            ("false_negative", missed, spurious),
        ):
            for s in mine:
                same = [o for o in other if (o.start, o.end) == (s.start, s.end)]
                near = [o for o in other if o.label == s.label and overlaps(o, s)]
                if same:
                    out.append(SpanError(layer, error, "type_confusion", s, same))
                elif near:
                    out.append(SpanError(layer, error, "boundary", s, near))
                else:
                    out.append(SpanError(layer, error, error, s, []))
    out.sort(key=lambda e: (e.span.start, e.span.end, e.layer, e.error))
    return out


def error_record(doc: Document, err: SpanError, context: int = 40) -> dict[str, Any]:
    """One line of ``errors.jsonl``: the span, its text and ``context`` characters around it."""
    s = err.span
    other = "gold" if err.error == "false_positive" else "predicted"
    return {
        "id": doc.id,
        "layer": err.layer,
        "error": err.error,
        "kind": err.kind,
        "start": s.start,
        "end": s.end,
        "label": s.label,
        "text": doc.text[s.start : s.end],
        "left_context": doc.text[max(0, s.start - context) : s.start],
        "right_context": doc.text[s.end : s.end + context],
        other: [o.to_dict(doc.text) for o in err.related],
    }


@dataclass
class Confusion:
    """Gold type (rows, plus ``spurious``) against predicted type (columns, plus ``missed``).

    Spans are paired by exact extent: the diagonal counts exact matches, an
    off-diagonal cell a type confusion on the same extent; a gold span with no
    predicted span of its extent is ``missed``, a predicted span with no gold one
    ``spurious`` (boundary errors land there, as exact-span scoring counts them).
    """

    labels: list[str]
    matrix: np.ndarray

    @property
    def rows(self) -> list[str]:
        """Row names: the types, then ``spurious``."""
        return [*self.labels, SPURIOUS]

    @property
    def columns(self) -> list[str]:
        """Column names: the types, then ``missed``."""
        return [*self.labels, MISSED]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for ``metrics.json``."""
        return {"rows": self.rows, "columns": self.columns, "matrix": self.matrix.tolist()}


def confusion(
    gold: Sequence[dict[str, list[Span]]], pred: Sequence[dict[str, list[Span]]], layer: str
) -> Confusion:
    """The confusion matrix of one layer over all documents."""
    labels = sorted({s.label for spans in (*gold, *pred) for s in spans.get(layer, [])})
    index = {t: i for i, t in enumerate(labels)}
    k = len(labels)
    m = np.zeros((k + 1, k + 1), dtype=np.int64)
    for g, p in zip(gold, pred, strict=True):
        by_extent: dict[tuple[int, int], list[Span]] = {}
        for s in p.get(layer, []):
            by_extent.setdefault((s.start, s.end), []).append(s)
        for s in sorted(g.get(layer, []), key=lambda s: s.key):
            cands = by_extent.get((s.start, s.end))
            if cands:
                same = [c for c in cands if c.label == s.label]
                c = same[0] if same else cands[0]
                cands.remove(c)
                m[index[s.label], index[c.label]] += 1
            else:
                m[index[s.label], k] += 1
        for rest in by_extent.values():
            for c in rest:
                m[k, index[c.label]] += 1
    return Confusion(labels, m)


@dataclass
class ArgumentMistake:
    """One argument error of one document.

    ``error`` is ``missed`` (a gold argument nothing predicted matches),
    ``spurious`` (a predicted argument matching no gold one), ``wrong_role`` (a
    gold argument predicted with its span and event type but another role) or
    ``wrong_span`` (predicted with its event type and role on an overlapping,
    different span). ``item`` is the gold argument (the predicted one for
    ``spurious``) with its trigger; ``related`` the predicted one it was taken for.
    Errors follow the identification/classification (OneIE) view:
    ``missed + wrong_role + wrong_span`` is its classification false negatives,
    ``spurious + wrong_role + wrong_span`` its false positives.
    """

    error: str
    item: ArgItem
    related: list[ArgItem] = field(default_factory=list)


def argument_mistakes(
    gold_triggers: Sequence[Span], pred_triggers: Sequence[Span]
) -> list[ArgumentMistake]:
    """Every argument error of one document, in text order (see :class:`ArgumentMistake`)."""
    gold, pred = argument_items(gold_triggers, pred_triggers)
    # exact matches leave the error lists: same trigger span first, then any trigger
    for fam in ("strict", "span"):
        left: list[ArgItem] = []
        for g in gold:
            k = argument_key(g, "arguments/classification", fam)
            hit = next(
                (
                    i
                    for i, p in enumerate(pred)
                    if argument_key(p, "arguments/classification", fam) == k
                ),
                None,
            )
            if hit is None:
                left.append(g)
            else:
                pred.pop(hit)
        gold = left
    out: list[ArgumentMistake] = []
    for error, same in (
        ("wrong_role", lambda g, p: (g[1].start, g[1].end) == (p[1].start, p[1].end)),
        (
            "wrong_span",
            lambda g, p: (
                g[1].role == p[1].role and overlaps((g[1].start, g[1].end), (p[1].start, p[1].end))
            ),
        ),
    ):
        left = []
        for g in gold:
            hit = next(
                (i for i, p in enumerate(pred) if g[0].label == p[0].label and same(g, p)), None
            )
            if hit is None:
                left.append(g)
            else:
                out.append(ArgumentMistake(error, g, [pred.pop(hit)]))
        gold = left
    out += [ArgumentMistake(MISSED, g) for g in gold]
    out += [ArgumentMistake(SPURIOUS, p) for p in pred]
    out.sort(key=lambda e: (e.item[1].start, e.item[1].end, e.item[0].start, e.error))
    return out


def _trigger_dict(t: Span, text: str) -> dict[str, Any]:
    return {"start": t.start, "end": t.end, "label": t.label, "text": text[t.start : t.end]}


def argument_error_record(doc: Document, err: ArgumentMistake, context: int = 40) -> dict[str, Any]:
    """One argument line of ``errors.jsonl``: the argument, its trigger and the context."""
    t, a = err.item
    other = "predicted" if err.error != SPURIOUS else "gold"
    return {
        "id": doc.id,
        "layer": "arguments",
        "error": err.error,
        "kind": err.error,
        "start": a.start,
        "end": a.end,
        "role": a.role,
        "text": doc.text[a.start : a.end],
        "trigger": _trigger_dict(t, doc.text),
        "left_context": doc.text[max(0, a.start - context) : a.start],
        "right_context": doc.text[a.end : a.end + context],
        other: [
            {**ra.to_dict(doc.text), "trigger": _trigger_dict(rt, doc.text)}
            for rt, ra in err.related
        ],
    }
