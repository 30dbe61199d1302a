"""Scoring: seqeval over unit tags and exact character spans, per layer and type.

One file (~740 lines): every metric family and view comes from one score(), so that
every key exists for every input; the argument scores reuse its span counts.

Views: ``entities``; ``triggers/identification`` (decoded trigger spans with
types ignored); ``triggers/classification``; ``overall`` (both layers).
Families: ``span`` (exact character spans against the raw-text gold, no
pre-tokeniser involved), ``seqeval_strict`` (IOB2, strict mode) and
``seqeval_default`` (conlleval). Keys read ``test/entities/span/f1``.

Every key below exists for every input (zeros where a view has no spans), so
``metrics.json`` files compare key by key; the ``f1_ci_low``/``f1_ci_high``
keys exist when ``bootstrap > 0``::

    <prefix>/<view>/span/{precision,recall,f1,macro_f1,weighted_f1,support,f1_ci_low,f1_ci_high}
    <prefix>/<view>/seqeval_strict/{precision,recall,f1,macro_f1,weighted_f1,support,
                                    f1_ci_low,f1_ci_high}
    <prefix>/<view>/seqeval_default/{precision,recall,f1,macro_f1,weighted_f1,support}

When every gold document carries its corpus tokens (``extra["tokens"]``, as
CoNLL data read by araevent does), seqeval strict also runs over those tokens:
this is the number comparable with other tools and published results on the
corpus (araevent's own units split proclitics off words, the corpus tokens do
not). Each span, gold or predicted, is widened to the tokens it overlaps (shares
a character with); ``counts["tokens/<layer>/predicted_widened"]`` counts the
predicted spans whose ends were not on token edges, ``.../predicted_inside_token``
those lying inside one token, ``.../predicted_no_token`` those over no token (left
out) and ``tokens/<view>/predicted_merged`` those that, once widened, overlapped
another one and were left out of the tags::

    <prefix>/<view>/seqeval_strict_tokens/{precision,recall,f1,macro_f1,weighted_f1,
                                           support,f1_ci_low,f1_ci_high}

Overlapping spans of one layer cannot all be tagged: the earliest one is, and
``counts["<view>/overlapping_<gold|predicted>_not_in_tags"]`` counts the others
(character-span scores count every span).

Macro and weighted averages run over every type seen in the gold or the
prediction (seqeval's and scikit-learn's convention); a type that is only ever
predicted counts with F1 0 in the macro average and weight 0 in the weighted one.

Bootstrap intervals resample documents with replacement from per-document
``[tp, fp, fn]`` counts (seeded; percentile 95% interval of micro F1).

Arguments (when the predictions carry them: a predicted trigger whose
``arguments`` is not ``None``) follow the protocol of OneIE and most ACE work:
``arguments/identification`` counts a predicted argument as correct when its
character span and its trigger's event type match a gold argument,
``arguments/classification`` when the role matches too. The ``strict`` family
also requires the trigger's own span to match. Each gold argument is matched
at most once (multisets of keys; OneIE counts matches per predicted argument,
which lets recall pass 1 when one argument repeats under two triggers of one
type). Only gold triggers annotated for arguments (``arguments`` not ``None``)
have arguments to find; the arguments of a predicted trigger at the span of a
gold trigger that is not annotated are not scored
(``counts["arguments/predicted_not_scored"]``)::

    <prefix>/arguments/<identification|classification>/<span|strict>/{precision,recall,
        f1,macro_f1,weighted_f1,support,f1_ci_low,f1_ci_high}

Macro and weighted averages run over event types (identification) and roles
(classification). With no argument on either side, no argument key exists.

Around this module: :mod:`araevent.bootstrap` (intervals and the paired test),
:mod:`araevent.mistakes` (error records and confusion matrices) and
:mod:`araevent.pairing` (prediction files for model-free scoring). This one is
over 500 lines for a reason: it is the one definition of every metric key, and
the span, seqeval, corpus-token and argument views share its counting helpers
(``prf``, ``_put``, the per-document count rows the bootstrap reads); split
apart, one key's definition would live in two files.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from araevent.bootstrap import bootstrap_f1
from araevent.errors import DataError
from araevent.labels import LAYERS, is_valid_label
from araevent.schema import Argument, Document, Span
from araevent.tagging import OUTSIDE, spans_to_tags, split_tag
from araevent.text import Unit

VIEWS = ("entities", "triggers/identification", "triggers/classification", "overall")
TAG_VIEWS = VIEWS[:3]
FAMILIES = ("span", "seqeval_strict", "seqeval_default")
SEQEVAL_FAMILIES = (("seqeval_strict", True), ("seqeval_default", False))  # (name, strict)
IDENTIFIED = "TRIGGER"
STATS = ("precision", "recall", "f1")
ERROR_KINDS = ("false_positive", "false_negative", "boundary", "type_confusion")
MISSED = "missed"
SPURIOUS = "spurious"
ARG_VIEWS = ("arguments/identification", "arguments/classification")
ARG_FAMILIES = ("span", "strict")
ARG_ERROR_KINDS = (MISSED, SPURIOUS, "wrong_role", "wrong_span")
ARGUMENT_PROTOCOL = (
    "OneIE / ACE: an argument is identified when its character span and its "
    "trigger's event type match a gold argument, classified when its role matches too; "
    "strict also requires the trigger's span; each gold argument matches once"
)


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall, F1 (0 where undefined, never a division error) and support."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def is_valid_tag(tag: str) -> bool:
    """``O`` or ``B-X``/``I-X`` with a well-formed X (``I--ORG``, ``OO`` are not)."""
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
    bad = {t for t in {t for seq in sequences for t in seq} if not is_valid_tag(t)}
    if not bad:
        return
    for i, seq in enumerate(sequences):
        for tag in seq:
            if tag in bad:
                raise ValueError(f"{what} sequence {i}: malformed tag {tag!r}")


def _zero() -> dict[str, Any]:
    return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def _iob2_chunks(seq: Sequence[str]) -> list[tuple[int, int, str]]:
    """The strict IOB2 reading (seqeval's) of one valid sequence: each B-X, the I-X after it.

    An I-X that continues nothing starts no span; the type is seqeval's (``X`` with
    hyphens stripped). Equal to ``seqeval.scheme.Entities`` (tested), without its
    per-token objects.
    """
    out = []
    start, label = -1, ""
    for i, tag in enumerate(seq):
        lab = tag[1:].strip("-") or "_"
        if start >= 0:
            if tag[0] == "I" and lab == label:
                continue
            out.append((start, i, label))
            start = -1
        if tag[0] == "B":
            start, label = i, lab
    if start >= 0:
        out.append((start, len(seq), label))
    return out


def strict_entities(sequences: Sequence[Sequence[str]]) -> list[set[tuple[int, int, str]]]:
    """The spans seqeval's strict IOB2 mode reads in each sequence: ``(start, end, type)``."""
    return [set(_iob2_chunks(s)) for s in sequences]


def _default_chunks(seq: Sequence[str]) -> list[tuple[int, int, str]]:
    """Seqeval's default (conlleval) reading of one valid sequence: ``(start, end, type)``.

    ``seqeval.metrics.sequence_labeling.get_entities`` on ``O``/``B-X``/``I-X`` tags
    (an ``I-X`` after ``O`` or another type starts a span), ends exclusive; equal to it
    (tested).
    """
    out = []
    prev_tag, prev_type, begin = OUTSIDE, "", 0
    for i, chunk in enumerate([*seq, OUTSIDE]):
        tag = chunk[0]
        type_ = chunk[2:] if tag != OUTSIDE else "_"
        if prev_tag != OUTSIDE and (tag != "I" or prev_type != type_):
            out.append((begin, i, prev_type))
        if tag == "B" or (tag == "I" and prev_type != type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return out


def _prf_report(gold: list[list[str]], pred: list[list[str]], strict: bool) -> dict[str, dict]:
    """``seqeval.metrics.classification_report(..., output_dict=True, zero_division=0)``'s rows.

    Strict (``mode="strict", scheme=IOB2``) or default mode: the spans each reads
    (:func:`_iob2_chunks`, :func:`_default_chunks`), then seqeval's arithmetic (a
    zero denominator gives 0; macro: the unweighted mean over the types either side
    holds; weighted: weighted by gold support). Equal to seqeval's (tested), without
    importing it: ``seqeval.metrics`` pulls in scikit-learn, seconds at start-up.
    """
    chunks = _iob2_chunks if strict else _default_chunks
    true: dict[str, set[tuple]] = {}
    found: dict[str, set[tuple]] = {}
    for side, seqs in ((true, gold), (found, pred)):
        for sent, seq in enumerate(seqs):
            for start, end, tag in chunks(seq):
                side.setdefault(tag, set()).add((sent, start, end))
    names = sorted(set(true) | set(found))
    tp = np.array([len(true.get(n, set()) & found.get(n, set())) for n in names])
    pred_sum = np.array([len(found.get(n, ())) for n in names])
    true_sum = np.array([len(true.get(n, ())) for n in names])

    def prf(tp, pred_sum, true_sum):
        p = tp / np.where(pred_sum == 0, 1, pred_sum)
        r = tp / np.where(true_sum == 0, 1, true_sum)
        denom = 1.0 * p + r
        denom[denom == 0.0] = 1
        return p, r, (1 + 1.0) * p * r / denom

    p, r, f = prf(tp, pred_sum, true_sum)
    rows = {
        n: {"precision": p[i], "recall": r[i], "f1-score": f[i], "support": true_sum[i]}
        for i, n in enumerate(names)
    }
    mp, mr, mf = prf(np.array([tp.sum()]), np.array([pred_sum.sum()]), np.array([true_sum.sum()]))
    rows["micro avg"] = {"precision": mp[0], "recall": mr[0], "f1-score": mf[0]}
    rows["macro avg"] = {
        "precision": np.average(p),
        "recall": np.average(r),
        "f1-score": np.average(f),
    }
    if true_sum.sum() == 0:
        rows["weighted avg"] = {"precision": 0.0, "recall": 0.0, "f1-score": 0.0}
    else:
        rows["weighted avg"] = {
            "precision": np.average(p, weights=true_sum),
            "recall": np.average(r, weights=true_sum),
            "f1-score": np.average(f, weights=true_sum),
        }
    for avg in ("micro avg", "macro avg", "weighted avg"):
        rows[avg]["support"] = true_sum.sum()
    return rows


def seqeval_scores(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], strict: bool
) -> dict[str, Any]:
    """Micro, macro and weighted P/R/F1 and per-type scores from seqeval on the given tags.

    Tags are checked first. Where neither side holds a span (or there are no
    sequences) every score is 0: seqeval would return NaN or fail there.
    """
    check_tags(gold, "gold")
    check_tags(pred, "predicted")
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred, strict=True)):
        raise ValueError("gold and predicted tag sequences differ in length")
    gold_l, pred_l = [list(s) for s in gold], [list(s) for s in pred]
    chunks = _iob2_chunks if strict else _default_chunks
    has_spans = any(chunks(s) for s in gold_l) or any(chunks(s) for s in pred_l)
    out: dict[str, Any] = {"per_type": {}}
    if not has_spans:
        for avg in ("micro", "macro", "weighted"):
            out[avg] = _zero()
        return out
    for name, row in _prf_report(gold_l, pred_l, strict).items():
        stats = {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        if name in ("micro avg", "macro avg", "weighted avg"):
            out[name.split()[0]] = stats
        else:
            out["per_type"][name] = stats
    return out


def project_tags(tags: Sequence[str], keep: Callable[[str], str | None]) -> list[str]:
    """Map each tag's label through ``keep`` (``None`` → ``O``)."""
    out = []
    for tag in tags:
        prefix, label = split_tag(tag)
        new = keep(label) if label is not None else None
        out.append(OUTSIDE if new is None else f"{prefix}-{new}")
    return out


def view_keys(doc_spans: dict[str, list[Span]], view: str) -> set[tuple]:
    """The keys a view compares.

    ``(start, end, label)``; ``(start, end, "TRIGGER")`` for identification; with the
    layer appended in ``overall``.
    """
    if view == "entities":
        return {s.key for s in doc_spans["entities"]}
    if view == "triggers/classification":
        return {s.key for s in doc_spans["triggers"]}
    if view == "triggers/identification":
        return {(s.start, s.end, IDENTIFIED) for s in doc_spans["triggers"]}
    return {(*s.key, layer) for layer in LAYERS for s in doc_spans[layer]}


@dataclass
class Scores:
    """Every number of one evaluation.

    ``doc_counts[view]`` (character spans) and ``doc_counts["<view>/seqeval_strict"]``
    hold one ``[tp, fp, fn]`` row per document, for bootstrap and paired tests.
    """

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
            k: float(np.average([r[k] for r in rows], weights=w)) if w.sum() else 0.0 for k in STATS
        }
    return out


def layer_tags(
    units: Sequence[Unit], spans: dict[str, list[Span]], dropped: Counter | None = None
) -> dict[str, list[str]]:
    """Per-view tag sequences built from spans (off-boundary spans cannot appear).

    A tag sequence holds one span per unit, so where spans of one layer overlap
    only the earliest (then the longest) is tagged; each one left out is
    counted in ``dropped[view]``.
    """
    out = {}
    for view in TAG_VIEWS:
        layer = "entities" if view == "entities" else "triggers"
        layer_spans = spans[layer]
        if view == "triggers/identification":
            layer_spans = [Span(s.start, s.end, IDENTIFIED) for s in layer_spans]
        kept = _non_overlapping(layer_spans)
        if dropped is not None:
            dropped[view] += len(set(layer_spans)) - len(kept)
        out[view] = spans_to_tags(units, kept)[0]
    return out


def _non_overlapping(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for s in sorted(set(spans), key=lambda s: (s.start, -(s.end - s.start), s.label)):
        if not kept or s.start >= kept[-1].end:
            kept.append(s)
    return kept


# --- corpus tokens: the token-level view of token-level corpora (CoNLL) ------


def corpus_tokens(doc: Document, path: str | None = None) -> list[Unit] | None:
    """The corpus tokens a document carries (``extra["tokens"]``), or ``None``.

    ``tokens`` is a list of ``[start, end]`` code-point offsets into the text, in
    order and not overlapping (the CoNLL reader records them).

    Raises:
        DataError: the list is malformed; the message names the token.
    """
    raw = doc.extra.get("tokens")
    if raw is None:
        return None
    fix = "tokens are [start, end] offsets into text, in order, not overlapping"
    where: dict[str, Any] = {"path": path, "line": None, "doc_id": doc.id, "fix": fix}
    if not isinstance(raw, list):
        raise DataError(f"tokens is {type(raw).__name__}, not a list", **where)
    out: list[Unit] = []
    prev = 0
    for i, tok in enumerate(raw):
        ok = (
            isinstance(tok, list | tuple)
            and len(tok) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in tok)
        )
        if not ok or not prev <= tok[0] < tok[1] <= len(doc.text):
            raise DataError(f"tokens[{i}] is {tok!r}", **where)
        out.append(Unit(tok[0], tok[1], doc.text[tok[0] : tok[1]]))
        prev = tok[1]
    return out


def spans_on_tokens(spans: Sequence[Span], tokens: Sequence[Unit]) -> tuple[list[Span], Counter]:
    """Each span widened to the corpus tokens it overlaps (shares a character with).

    Returns the widened spans and counts: ``widened`` (spans whose ends were not
    on token edges), ``inside_token`` (of those, spans that lie inside one token
    without covering it, such as a proclitic split off a word) and ``no_token``
    (spans over no token, left out).
    """
    starts = [t.start for t in tokens]
    ends = [t.end for t in tokens]
    out: list[Span] = []
    c: Counter = Counter()
    for s in spans:
        i = bisect.bisect_right(ends, s.start)  # first token ending after the start
        j = bisect.bisect_left(starts, s.end) - 1  # last token starting before the end
        if i > j:
            c["no_token"] += 1
            continue
        a, b = tokens[i].start, tokens[j].end
        if (a, b) != (s.start, s.end):
            c["widened"] += 1
            c["inside_token"] += i == j
        out.append(Span(a, b, s.label))
    return out, c


def _token_spans(
    docs: Sequence[dict[str, list[Span]]], tokens: Sequence[Sequence[Unit]], side: str, counts
) -> list[dict[str, list[Span]]]:
    out = []
    for spans, toks in zip(docs, tokens, strict=True):
        mapped = {}
        for layer in LAYERS:
            mapped[layer], c = spans_on_tokens(spans[layer], toks)
            for k in ("widened", "inside_token", "no_token"):
                counts[f"tokens/{layer}/{side}_{k}"] += c[k]
        out.append(mapped)
    return out


def _span_view(
    gold_spans: Sequence[dict[str, list[Span]]],
    pred: Sequence[dict[str, list[Span]]],
    view: str,
) -> tuple[np.ndarray, dict[str, dict[str, float]]]:
    rows = np.zeros((len(gold_spans), 3), dtype=np.int64)
    type_counts: dict[str, Counter] = {}
    for d, (g, p) in enumerate(zip(gold_spans, pred, strict=True)):
        gk, pk = view_keys(g, view), view_keys(p, view)
        rows[d] = (len(gk & pk), len(pk - gk), len(gk - pk))
        for keys, kind in ((gk & pk, "tp"), (pk - gk, "fp"), (gk - pk, "fn")):
            for key in keys:
                type_counts.setdefault(key[2], Counter())[kind] += 1
    types = {t: prf(c["tp"], c["fp"], c["fn"]) for t, c in sorted(type_counts.items())}
    return rows, types


def _strict_rows(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], doc_of: Sequence[int], n: int
) -> np.ndarray:
    rows = np.zeros((n, 3), dtype=np.int64)
    for d, g, p in zip(doc_of, strict_entities(gold), strict_entities(pred), strict=True):
        rows[d] += (len(g & p), len(p - g), len(g - p))
    return rows


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
    scope: str = "all",
) -> Scores:
    """Score predicted spans against the gold documents.

    Args:
        gold: The gold documents.
        pred: Predicted spans per document, ``{"entities": [...], "triggers": [...]}``.
        units: ``units[d]`` are the units seqeval counts over for document ``d``.
        pred_tags: The model's raw unit tags (both layers in one sequence) when there
            is a model: seqeval then sees exactly what the model emitted, ill-formed
            sequences included. Without them, predicted tags are built from the
            predicted spans.
        trigger_labels: Which tag labels are triggers (to split ``pred_tags`` into
            layers); by default every label of a gold or predicted trigger span.
        prefix: The first part of every metric key (a split name).
        bootstrap: Resamples for the 95% intervals (0: no intervals).
        seed: Seed of the resampling.
        scope: ``all``; ``training``: only the ``span`` and ``seqeval_strict``
            families (what dev scoring during training logs; the same values);
            ``arguments``: only the argument views and counts (and ``documents``).

    Returns:
        The scores. Character-span scores never depend on units; every gold span
        is counted in them (``counts["gold_spans"]``). When a predicted trigger
        carries arguments, the argument views are scored too (module docstring).
    """
    if not len(gold) == len(pred) == len(units):
        raise ValueError(
            f"{len(gold)} gold documents, {len(pred)} predictions, {len(units)} unit lists"
        )
    if pred_tags is not None and len(pred_tags) != len(gold):
        raise ValueError(f"{len(gold)} gold documents but {len(pred_tags)} tag sequences")
    metrics: dict[str, float] = {}
    per_type: dict[str, dict] = {v: {} for v in VIEWS}
    counts: Counter[str] = Counter()
    doc_counts: dict[str, np.ndarray] = {}
    gold_spans = [{"entities": list(d.entities), "triggers": list(d.triggers)} for d in gold]
    pred = [{layer: list(p.get(layer, [])) for layer in LAYERS} for p in pred]
    n = len(gold)
    counts["documents"] = n
    if scope == "arguments":
        _arguments(metrics, per_type, counts, doc_counts, gold_spans, pred, prefix, bootstrap, seed)
        arg_types = {v: per_type[v] for v in ARG_VIEWS if v in per_type}
        return Scores(metrics, arg_types, dict(counts), doc_counts)
    counts["gold_spans"] = sum(len(d.entities) + len(d.triggers) for d in gold)
    counts["predicted_spans"] = sum(len(p["entities"]) + len(p["triggers"]) for p in pred)
    for layer in LAYERS:
        counts[f"gold_spans/{layer}"] = sum(len(g[layer]) for g in gold_spans)
        counts[f"predicted_spans/{layer}"] = sum(len(p[layer]) for p in pred)

    # character spans
    for view in VIEWS:
        rows, types = _span_view(gold_spans, pred, view)
        tp, fp, fn = (int(x) for x in rows.sum(axis=0))
        micro = prf(tp, fp, fn)
        _put(metrics, f"{prefix}/{view}/span", micro, _averages(types), int(micro["support"]))
        _put_ci(metrics, f"{prefix}/{view}/span", rows, bootstrap, seed)
        per_type[view]["span"] = types
        doc_counts[view] = rows
        for kind, value in (("tp", tp), ("fp", fp), ("fn", fn)):
            counts[f"{view}/span_{kind}"] = value
        if view != "overall":  # boundary errors: right type, overlapping, not equal
            counts[f"{view}/boundary_errors"] = sum(
                _boundary_errors(view_keys(g, view), view_keys(p, view))
                for g, p in zip(gold_spans, pred, strict=True)
            )

    # seqeval over unit tags
    dropped: dict[str, Counter] = {"gold": Counter(), "predicted": Counter()}
    gold_seq = [layer_tags(u, g, dropped["gold"]) for u, g in zip(units, gold_spans, strict=True)]
    pred_seq = [layer_tags(u, p, dropped["predicted"]) for u, p in zip(units, pred, strict=True)]
    if pred_tags is not None:
        dropped["predicted"].clear()  # seqeval sees the model's own tags
        trig = trigger_labels
        if trig is None:
            trig = {s.label for spans in (*gold_spans, *pred) for s in spans["triggers"]}
        for d, tags in enumerate(pred_tags):
            if len(tags) != len(units[d]):
                raise ValueError(
                    f"document {gold[d].id}: {len(tags)} tags for {len(units[d])} units"
                )
            pred_seq[d]["entities"] = project_tags(tags, lambda x: None if x in trig else x)
            pred_seq[d]["triggers/classification"] = project_tags(
                tags, lambda x: x if x in trig else None
            )
    for side, c in dropped.items():
        for view in TAG_VIEWS:
            counts[f"{view}/overlapping_{side}_not_in_tags"] = c[view]
    counts["gold_spans_in_tags"] = _tagged_spans(gold_seq)
    counts["gold_spans_off_units"] = counts["gold_spans"] - counts["gold_spans_in_tags"]
    families = SEQEVAL_FAMILIES[:1] if scope == "training" else SEQEVAL_FAMILIES
    _seqeval_views(
        metrics, per_type, counts, doc_counts, gold_seq, pred_seq, prefix, bootstrap, seed, families
    )
    for view in TAG_VIEWS:
        counts[f"{view}/ill_formed_predicted"] = sum(ill_formed(s[view]) for s in pred_seq)

    # seqeval strict over the corpus tokens, when the gold documents carry them
    tokens = [corpus_tokens(d) for d in gold] if scope == "all" else []
    if tokens and all(t is not None for t in tokens):
        counts["tokens"] = sum(len(t) for t in tokens)
        tok_dropped: dict[str, Counter] = {"gold": Counter(), "predicted": Counter()}
        tok_seq = {
            side: [
                layer_tags(t, s, tok_dropped[side])
                for t, s in zip(tokens, _token_spans(spans, tokens, side, counts), strict=True)
            ]
            for side, spans in (("gold", gold_spans), ("predicted", pred))
        }
        for side, c in tok_dropped.items():
            for view in TAG_VIEWS:
                counts[f"tokens/{view}/{side}_merged"] = c[view]
        counts["gold_spans_in_token_tags"] = _tagged_spans(tok_seq["gold"])
        _seqeval_views(
            metrics,
            per_type,
            counts,
            doc_counts,
            tok_seq["gold"],
            tok_seq["predicted"],
            prefix,
            bootstrap,
            seed,
            families=(("seqeval_strict_tokens", True),),
        )
    _arguments(metrics, per_type, counts, doc_counts, gold_spans, pred, prefix, bootstrap, seed)
    return Scores(metrics, per_type, dict(counts), doc_counts)


def _arguments(metrics, per_type, counts, doc_counts, gold_spans, pred, prefix, bootstrap, seed):
    """The argument views when a prediction carries arguments, else the gold's counts."""
    if has_arguments(pred):
        _argument_views(
            metrics, per_type, counts, doc_counts, gold_spans, pred, prefix, bootstrap, seed
        )
    elif has_arguments(gold_spans):
        counts.update(argument_counts(gold_spans, pred))


def score_predictions(
    gold: Sequence[Document],
    preds: Sequence[Any],
    trigger_labels: Iterable[str],
    *,
    prefix: str,
    bootstrap: int = 0,
    seed: int = 0,
    scope: str = "all",
) -> Scores:
    """Score a model's predictions of a split: the one call dev, test and ``evaluate.py`` use.

    ``preds[d]`` is the :class:`~araevent.predict.Prediction` of ``gold[d]`` (its
    ``spans``, ``units`` and raw ``tags``): seqeval sees exactly the tags the model
    emitted, so a reloaded model reproduces its training-time scores.
    """
    return score(
        gold,
        [p.spans for p in preds],
        [p.units for p in preds],
        pred_tags=[p.tags for p in preds],
        trigger_labels=set(trigger_labels),
        prefix=prefix,
        bootstrap=bootstrap,
        seed=seed,
        scope=scope,
    )


# --- arguments ----------------------------------------------------------------


ArgItem = tuple[Span, Argument]  # an argument with the trigger that carries it


def has_arguments(docs: Sequence[dict[str, list[Span]]]) -> bool:
    """Whether any trigger is annotated for arguments (``arguments`` not ``None``)."""
    return any(t.arguments is not None for d in docs for t in d.get("triggers", []))


def argument_items(
    gold_triggers: Sequence[Span], pred_triggers: Sequence[Span], counts: Counter | None = None
) -> tuple[list[ArgItem], list[ArgItem]]:
    """The gold and the predicted arguments of one document that scoring counts.

    Gold: the arguments of every trigger annotated for arguments. Predicted: the
    arguments of every predicted trigger, except those of a trigger at the span of
    a gold trigger not annotated for arguments (its arguments are unknown; unless
    another gold trigger at that span is annotated); those are counted in
    ``counts["arguments/predicted_not_scored"]``.
    """
    annotated = {(t.start, t.end) for t in gold_triggers if t.arguments is not None}
    unknown = {(t.start, t.end) for t in gold_triggers if t.arguments is None} - annotated
    gold = [(t, a) for t in gold_triggers for a in t.arguments or ()]
    pred: list[ArgItem] = []
    for t in pred_triggers:
        if (t.start, t.end) in unknown:
            if counts is not None:
                counts["arguments/predicted_not_scored"] += len(t.arguments or ())
            continue
        pred.extend((t, a) for a in t.arguments or ())
    return gold, pred


def argument_key(item: ArgItem, view: str, family: str) -> tuple:
    """What one argument view compares; the event type or the role comes last.

    ``(arg start, arg end, event type[, role])``, with the trigger's span in front
    for the ``strict`` family.
    """
    t, a = item
    key: tuple = (a.start, a.end, t.label)
    if family == "strict":
        key = (t.start, t.end, *key)
    if view == "arguments/classification":
        key = (*key, a.role)
    return key


def argument_counts(
    gold_spans: Sequence[dict[str, list[Span]]], pred: Sequence[dict[str, list[Span]]]
) -> Counter:
    """How many gold triggers are annotated for arguments, and how many arguments each side has."""
    c: Counter = Counter()
    for g, p in zip(gold_spans, pred, strict=True):
        gold_items, pred_items = argument_items(g["triggers"], p["triggers"], c)
        c["arguments/gold"] += len(gold_items)
        c["arguments/predicted"] += len(pred_items)
        for t in g["triggers"]:
            c["arguments/gold_triggers_annotated"] += t.arguments is not None
            c["arguments/gold_triggers_not_annotated"] += t.arguments is None
        c["arguments/predicted_triggers_not_annotated"] += sum(
            t.arguments is None for t in p["triggers"]
        )
    for k in ("predicted_not_scored", "predicted_triggers_not_annotated"):
        c[f"arguments/{k}"] += 0
    return c


def _argument_views(
    metrics: dict[str, float],
    per_type: dict[str, dict],
    counts: Counter,
    doc_counts: dict[str, np.ndarray],
    gold_spans: Sequence[dict[str, list[Span]]],
    pred: Sequence[dict[str, list[Span]]],
    prefix: str,
    bootstrap: int,
    seed: int,
) -> None:
    counts.update(argument_counts(gold_spans, pred))
    items = [
        argument_items(g["triggers"], p["triggers"]) for g, p in zip(gold_spans, pred, strict=True)
    ]
    for view in ARG_VIEWS:
        per_type[view] = {}
        for fam in ARG_FAMILIES:
            rows = np.zeros((len(items), 3), dtype=np.int64)
            type_counts: dict[str, Counter] = {}
            for d, (g_items, p_items) in enumerate(items):
                gk = Counter(argument_key(i, view, fam) for i in g_items)
                pk = Counter(argument_key(i, view, fam) for i in p_items)
                for key in gk.keys() | pk.keys():
                    tp = min(gk[key], pk[key])
                    c = type_counts.setdefault(key[-1], Counter())
                    c.update({"tp": tp, "fp": pk[key] - tp, "fn": gk[key] - tp})
                    rows[d] += (tp, pk[key] - tp, gk[key] - tp)
            types = {t: prf(c["tp"], c["fp"], c["fn"]) for t, c in sorted(type_counts.items())}
            tp, fp, fn = (int(x) for x in rows.sum(axis=0))
            micro = prf(tp, fp, fn)
            key = f"{prefix}/{view}/{fam}"
            _put(metrics, key, micro, _averages(types), int(micro["support"]))
            _put_ci(metrics, key, rows, bootstrap, seed)
            per_type[view][fam] = types
            doc_counts[f"{view}/{fam}"] = rows
            for kind, value in (("tp", tp), ("fp", fp), ("fn", fn)):
                counts[f"{view}/{fam}_{kind}"] = value


def _tagged_spans(seqs: Sequence[dict[str, list[str]]]) -> int:
    both = ("entities", "triggers/classification")
    return sum(sum(t.startswith("B-") for v in both for t in s[v]) for s in seqs)


def _seqeval_views(
    metrics: dict[str, float],
    per_type: dict[str, dict],
    counts: Counter,
    doc_counts: dict[str, np.ndarray],
    gold_seq: Sequence[dict[str, list[str]]],
    pred_seq: Sequence[dict[str, list[str]]],
    prefix: str,
    bootstrap: int,
    seed: int,
    families: tuple[tuple[str, bool], ...] = SEQEVAL_FAMILIES,
) -> None:
    """Score every view with seqeval; the first (strict) family gets per-document rows."""
    n = len(gold_seq)
    both = ("entities", "triggers/classification")
    for view in VIEWS:
        views = both if view == "overall" else (view,)
        g = [s[v] for s in gold_seq for v in views]
        p = [s[v] for s in pred_seq for v in views]
        for fam, strict in families:
            res = seqeval_scores(g, p, strict)
            avgs = {a: res[a] for a in ("macro", "weighted")}
            _put(metrics, f"{prefix}/{view}/{fam}", res["micro"], avgs, res["micro"]["support"])
            per_type[view][fam] = res["per_type"]
        fam = families[0][0]
        rows = _strict_rows(g, p, [d for d in range(n) for _ in views], n)
        doc_counts[f"{view}/{fam}"] = rows
        _put_ci(metrics, f"{prefix}/{view}/{fam}", rows, bootstrap, seed)


def _put(metrics: dict, key: str, micro: dict, avgs: dict, support: int) -> None:
    for stat in STATS:
        metrics[f"{key}/{stat}"] = float(micro[stat])
    for avg in ("macro", "weighted"):
        metrics[f"{key}/{avg}_f1"] = float(avgs[avg]["f1"])
    metrics[f"{key}/support"] = int(support)


def _put_ci(metrics: dict, key: str, rows: np.ndarray, bootstrap: int, seed: int) -> None:
    if bootstrap > 0:
        lo, hi = bootstrap_f1(rows, bootstrap, seed)
        metrics[f"{key}/f1_ci_low"] = lo
        metrics[f"{key}/f1_ci_high"] = hi


def overlaps(a: Span | tuple, b: Span | tuple) -> bool:
    """Whether two spans (or ``(start, end, ...)`` tuples) share a character."""
    a0, a1 = (a.start, a.end) if isinstance(a, Span) else a[:2]
    b0, b1 = (b.start, b.end) if isinstance(b, Span) else b[:2]
    return a0 < b1 and b0 < a1


def _boundary_errors(gold: set[tuple], pred: set[tuple]) -> int:
    """Predicted spans of the right type that overlap a gold span without equalling it."""
    n = 0
    missed = gold - pred
    for p in pred - gold:
        if any(g[2] == p[2] and overlaps(g, p) for g in missed):
            n += 1
    return n


def span_doc_counts(
    gold: Sequence[Document], pred: Sequence[dict[str, list[Span]]], view: str
) -> np.ndarray:
    """Per-document ``[tp, fp, fn]`` of exact character spans in one view."""
    gold_spans = [{"entities": d.entities, "triggers": d.triggers} for d in gold]
    pred = [{layer: list(p.get(layer, [])) for layer in LAYERS} for p in pred]
    return _span_view(gold_spans, pred, view)[0]
