"""Scoring: seqeval over unit tags and exact character spans, per layer and type.

Views: ``entities``; ``triggers/identification`` (decoded trigger spans with
types ignored); ``triggers/classification``; ``overall`` (both layers).
Families: ``span`` (exact character spans against the raw-text gold, no
pre-tokeniser involved), ``seqeval_strict`` (IOB2, strict mode) and
``seqeval_default`` (conlleval). Keys read ``test/entities/span/f1``.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from araevent.labels import LAYERS
from araevent.schema import Document, Span
from araevent.tagging import OUTSIDE, split_tag, spans_to_tags
from araevent.text import Unit

VIEWS = ("entities", "triggers/identification", "triggers/classification", "overall")
IDENTIFIED = "TRIGGER"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall, F1 (0 where undefined, never a division error) and support."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def is_valid_tag(tag: str) -> bool:
    """``O`` or ``B-X``/``I-X`` with a well-formed X (``I--ORG``, ``OO`` are not)."""
    from araevent.labels import is_valid_label

    prefix, label = split_tag(tag)
    if prefix == OUTSIDE and label is None:
        return True
    return prefix in ("B", "I") and label is not None and is_valid_label(label)


def ill_formed(tags: Sequence[str]) -> int:
    """How many ``I-X`` tags continue nothing (after O, at the start, after another type)."""
    bad = 0
    prev = OUTSIDE
    for tag in tags:
        p, label = split_tag(tag)
        if p == "I":
            pp, pl = split_tag(prev)
            if pp == OUTSIDE or pl != label:
                bad += 1
        prev = tag
    return bad


def check_tags(sequences: Sequence[Sequence[str]], what: str) -> None:
    """Refuse malformed tags before seqeval sees them (it misreads ``I--ORG``)."""
    for i, seq in enumerate(sequences):
        for tag in seq:
            if not is_valid_tag(tag):
                raise ValueError(f"{what} sequence {i}: malformed tag {tag!r}")


def seqeval_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                   strict: bool) -> dict[str, Any]:
    """Micro P/R/F1 and per-type scores from seqeval on the given tag sequences."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    check_tags(gold, "gold")
    check_tags(pred, "predicted")
    kwargs: dict[str, Any] = {"mode": "strict", "scheme": IOB2} if strict else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns when a type has no gold span
        rep = classification_report(
            [list(s) for s in gold], [list(s) for s in pred], output_dict=True,
            zero_division=0, **kwargs,
        )
    out = {"per_type": {}}
    for name, row in rep.items():
        stats = {"precision": float(row["precision"]), "recall": float(row["recall"]),
                 "f1": float(row["f1-score"]), "support": int(row["support"])}
        if name in ("micro avg", "macro avg", "weighted avg"):
            out[name.split()[0]] = stats
        else:
            out["per_type"][name] = stats
    if "micro" not in out:  # no spans anywhere: seqeval returns no averages
        out["micro"] = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    return out


def project_tags(tags: Sequence[str], keep: Callable[[str], str | None]) -> list[str]:
    """Map each tag's label through ``keep`` (``None`` → ``O``)."""
    out = []
    for tag in tags:
        prefix, label = split_tag(tag)
        new = keep(label) if label is not None else None
        out.append(OUTSIDE if new is None else f"{prefix}-{new}")
    return out


@dataclass
class DocSpans:
    """Gold and predicted spans of one document in one view, as comparable keys."""

    gold: set[tuple]
    pred: set[tuple]


def view_keys(doc_spans: dict[str, list[Span]], view: str) -> set[tuple]:
    """The keys a view compares: ``(start, end, label)``, or ``(start, end)`` for
    identification, with the layer in ``overall``."""
    if view == "entities":
        return {s.key for s in doc_spans["entities"]}
    if view == "triggers/classification":
        return {s.key for s in doc_spans["triggers"]}
    if view == "triggers/identification":
        return {(s.start, s.end, IDENTIFIED) for s in doc_spans["triggers"]}
    return {(*s.key, layer) for layer in LAYERS for s in doc_spans[layer]}


@dataclass
class Scores:
    """Every number of one evaluation."""

    metrics: dict[str, float]
    per_type: dict[str, dict[str, dict[str, dict[str, float]]]]
    counts: dict[str, int]
    doc_counts: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


def _averages(per_type: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    if not per_type:
        zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        return {"macro": zero, "weighted": zero}
    rows = list(per_type.values())
    support = np.array([r["support"] for r in rows], dtype=float)
    out = {}
    for avg in ("macro", "weighted"):
        w = np.ones(len(rows)) if avg == "macro" else support
        out[avg] = {
            k: float(np.average([r[k] for r in rows], weights=w)) if w.sum() else 0.0
            for k in ("precision", "recall", "f1")
        }
    return out


def bootstrap_f1(counts: np.ndarray, samples: int, seed: int) -> tuple[float, float]:
    """95% interval of micro F1 from per-document ``[tp, fp, fn]`` rows, documents resampled."""
    n = len(counts)
    if n == 0 or samples <= 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(samples, n))
    tot = counts[idx].sum(axis=1)
    tp, fp, fn = tot[:, 0], tot[:, 1], tot[:, 2]
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros(samples), where=denom > 0)
    lo, hi = np.percentile(f1, [2.5, 97.5])
    return float(lo), float(hi)


def layer_tags(units: Sequence[Unit], spans: dict[str, list[Span]]) -> dict[str, list[str]]:
    """Per-view tag sequences built from spans (off-boundary spans cannot appear)."""
    out = {}
    for view in VIEWS:
        if view == "overall":
            continue
        layer = "entities" if view == "entities" else "triggers"
        layer_spans = spans[layer]
        if view == "triggers/identification":
            layer_spans = [Span(s.start, s.end, IDENTIFIED) for s in layer_spans]
        out[view] = spans_to_tags(units, _non_overlapping(layer_spans))[0]
    return out


def _non_overlapping(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not kept or s.start >= kept[-1].end:
            kept.append(s)
    return kept


def score(
    gold: Sequence[Document],
    pred: Sequence[dict[str, list[Span]]],
    units: Sequence[Sequence[Unit]],
    *,
    pred_tags: Sequence[Sequence[str]] | None = None,
    trigger_labels: set[str] | None = None,
    prefix: str = "test",
    bootstrap: int = 1000,
    seed: int = 0,
) -> Scores:
    """Score predicted spans against the gold documents.

    ``units[d]`` are the units seqeval counts over; ``pred_tags[d]`` the model's raw
    unit tags (both layers in one sequence) when there is a model: seqeval then
    sees exactly what the model emitted, ill-formed sequences included. Without
    them, predicted tags are built from the predicted spans. Character-span scores
    never depend on units.
    """
    assert len(gold) == len(pred) == len(units)
    metrics: dict[str, float] = {}
    per_type: dict[str, dict] = {}
    counts: Counter[str] = Counter()
    doc_counts: dict[str, np.ndarray] = {}
    gold_spans = [{"entities": d.entities, "triggers": d.triggers} for d in gold]
    counts["documents"] = len(gold)
    counts["gold_spans"] = sum(len(d.entities) + len(d.triggers) for d in gold)

    # character spans
    for view in VIEWS:
        rows = np.zeros((len(gold), 3), dtype=np.int64)
        type_counts: dict[str, Counter] = {}
        for d, (g, p) in enumerate(zip(gold_spans, pred, strict=True)):
            gk, pk = view_keys(g, view), view_keys(p, view)
            rows[d] = (len(gk & pk), len(pk - gk), len(gk - pk))
            for key, kind in ((k, "tp") for k in gk & pk):
                type_counts.setdefault(key[2], Counter())[kind] += 1
            for key in pk - gk:
                type_counts.setdefault(key[2], Counter())["fp"] += 1
            for key in gk - pk:
                type_counts.setdefault(key[2], Counter())["fn"] += 1
        tp, fp, fn = (int(x) for x in rows.sum(axis=0))
        micro = prf(tp, fp, fn)
        types = {t: prf(c["tp"], c["fp"], c["fn"]) for t, c in sorted(type_counts.items())}
        avgs = _averages({t: r for t, r in types.items() if r["support"]})
        for stat in ("precision", "recall", "f1"):
            metrics[f"{prefix}/{view}/span/{stat}"] = micro[stat]
        for avg, row in avgs.items():
            metrics[f"{prefix}/{view}/span/{avg}_f1"] = row["f1"]
        metrics[f"{prefix}/{view}/span/support"] = micro["support"]
        lo, hi = bootstrap_f1(rows, bootstrap, seed)
        if bootstrap:
            metrics[f"{prefix}/{view}/span/f1_ci_low"] = lo
            metrics[f"{prefix}/{view}/span/f1_ci_high"] = hi
        per_type.setdefault(view, {})["span"] = types
        doc_counts[view] = rows
        # boundary errors: right type, overlapping, not equal
        if view != "overall":
            counts[f"{view}/boundary_errors"] = sum(
                _boundary_errors(view_keys(g, view), view_keys(p, view))
                for g, p in zip(gold_spans, pred, strict=True)
            )

    # seqeval over unit tags
    gold_seq = [layer_tags(u, g) for u, g in zip(units, gold_spans, strict=True)]
    pred_seq = [layer_tags(u, p) for u, p in zip(units, pred, strict=True)]
    if pred_tags is not None:
        trig = trigger_labels or set()
        for d, tags in enumerate(pred_tags):
            pred_seq[d]["entities"] = project_tags(tags, lambda x: None if x in trig else x)
            pred_seq[d]["triggers/classification"] = project_tags(
                tags, lambda x: x if x in trig else None
            )
    counts["gold_spans_in_tags"] = sum(
        sum(t.startswith("B-") for t in s["entities"] + s["triggers/classification"])
        for s in gold_seq
    )
    counts["gold_spans_off_units"] = counts["gold_spans"] - counts["gold_spans_in_tags"]
    for view in VIEWS[:3]:
        g = [s[view] for s in gold_seq]
        p = [s[view] for s in pred_seq]
        counts[f"{view}/ill_formed_predicted"] = sum(ill_formed(x) for x in p)
        for fam, strict in (("seqeval_strict", True), ("seqeval_default", False)):
            res = seqeval_scores(g, p, strict)
            for stat in ("precision", "recall", "f1"):
                metrics[f"{prefix}/{view}/{fam}/{stat}"] = res["micro"][stat]
            for avg in ("macro", "weighted"):
                if avg in res:
                    metrics[f"{prefix}/{view}/{fam}/{avg}_f1"] = res[avg]["f1"]
            per_type.setdefault(view, {})[fam] = res["per_type"]
    # overall seqeval: both layers' sequences side by side
    for fam, strict in (("seqeval_strict", True), ("seqeval_default", False)):
        g = [s[v] for s in gold_seq for v in ("entities", "triggers/classification")]
        p = [s[v] for s in pred_seq for v in ("entities", "triggers/classification")]
        res = seqeval_scores(g, p, strict)
        for stat in ("precision", "recall", "f1"):
            metrics[f"{prefix}/overall/{fam}/{stat}"] = res["micro"][stat]
    return Scores(metrics, per_type, dict(counts), doc_counts)


def _boundary_errors(gold: set[tuple], pred: set[tuple]) -> int:
    """Predicted spans of the right type that overlap a gold span without equalling it."""
    n = 0
    for p in pred - gold:
        if any(g[2] == p[2] and p[0] < g[1] and g[0] < p[1] for g in gold - pred):
            n += 1
    return n
