"""Spans ⇄ IOB2 unit tags ⇄ subwords and windows, and the one span decoder.

One file (~520 lines): spans ⇄ tags and subwords ⇄ windows are the two halves of one
alignment, and the decoder needs both.

Every function here works on units (``araevent.text.Unit``); character offsets
come only from units, so every decoded span points into the raw text.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from araevent.labels import LAYERS
from araevent.schema import Document, Span, overlapping_pairs, resolve_overlaps
from araevent.text import Unit

OUTSIDE = "O"
IGNORE_INDEX = -100


@dataclass(frozen=True)
class LabelSchema:
    """The model's labels: span types per layer and the IOB2 tags over their union."""

    entities: tuple[str, ...]
    triggers: tuple[str, ...]

    @classmethod
    def build(cls, entities: Sequence[str], triggers: Sequence[str]) -> LabelSchema:
        """Sorted, de-duplicated types; a label may not be in both layers."""
        both = set(entities) & set(triggers)
        if both:
            raise ValueError(f"labels in both layers: {sorted(both)}; rename one of them")
        return cls(tuple(sorted(set(entities))), tuple(sorted(set(triggers))))

    @cached_property
    def tags(self) -> list[str]:
        """``O`` then ``B-``/``I-`` for every type, entities first."""
        out = [OUTSIDE]
        for label in (*self.entities, *self.triggers):
            out += [f"B-{label}", f"I-{label}"]
        return out

    @cached_property
    def label2id(self) -> dict[str, int]:
        """Tag → id, for ``config.json``."""
        return {t: i for i, t in enumerate(self.tags)}

    @cached_property
    def id2label(self) -> dict[int, str]:
        """Id → tag, for ``config.json``."""
        return dict(enumerate(self.tags))

    def layer_of(self, label: str) -> str:
        """The layer a span type belongs to."""
        if label in self.entities:
            return "entities"
        if label in self.triggers:
            return "triggers"
        raise KeyError(f"label {label!r} is in neither layer of this model")

    def layer_labels(self, layer: str) -> tuple[str, ...]:
        """The span types of ``layer``."""
        return self.entities if layer == "entities" else self.triggers

    def to_dict(self) -> dict[str, list[str]]:
        """``{"entities": [...], "triggers": [...]}``."""
        return {"entities": list(self.entities), "triggers": list(self.triggers)}


@dataclass(frozen=True)
class OffBoundary:
    """A gold span whose ends are not unit ends: it cannot be a tag sequence."""

    doc_id: str
    layer: str
    span: Span
    reason: str

    def describe(self, text: str) -> str:
        """``doc: layer span [s, e) LABEL «text»: reason``."""
        s = self.span
        return (
            f"{self.doc_id}: {self.layer} span [{s.start}, {s.end}) {s.label} "
            f"«{text[s.start : s.end]}»: {self.reason}"
        )


@dataclass
class TaggedDocument:
    """A document's units, their IOB2 tags, and what could not be represented."""

    document: Document
    units: list[Unit]
    tags: list[str]
    off_boundary: list[OffBoundary] = field(default_factory=list)
    collisions: list[Span] = field(default_factory=list)
    nested_untagged: list[Span] = field(default_factory=list)  # inner spans of nested pairs


class UnitAlignment:
    """Where spans may start and end on a document's units.

    A span aligns to units by its visible characters: its first base character must
    be the first base of a unit, its last base character the last base of a unit
    (``araevent.text.Unit.bases``). Format characters (RLM, ZWNJ, BOM, ...) and
    combining marks at a span's edges may be in or out of it; whitespace may not,
    except that a span may start or end at a unit's raw edge (a lone RLM unit).
    """

    def __init__(self, units: Sequence[Unit]) -> None:
        self.units = units
        self.raw_starts = [u.start for u in units]
        self.raw_start_set = set(self.raw_starts)
        self.raw_end_set = {u.end for u in units}
        bases = [(i, u.bases) for i, u in enumerate(units)]
        bases = [(i, b) for i, b in bases if b is not None]
        self.visible = [i for i, _ in bases]
        self.first_bases = [b[0] for _, b in bases]
        self.last_bases = [b[1] for _, b in bases]

    def _containing(self, pos: int) -> int | None:
        k = bisect.bisect_right(self.raw_starts, pos) - 1
        return k if k >= 0 and pos < self.units[k].end else None

    def _contiguous(self, a: int, b: int) -> bool:
        return all(self.units[k].end == self.units[k + 1].start for k in range(a, b))

    def start(self, span: Span) -> int | str:
        """The unit where ``span`` opens, or why it opens inside one or at whitespace."""
        n = bisect.bisect_left(self.last_bases, span.start)
        if n == len(self.visible) or self.first_bases[n] >= span.end:
            return "holds no visible character"
        i = self.visible[n]
        first = self.first_bases[n]
        if span.start > first:
            return f"starts inside unit «{self.units[i].text}»"
        if span.start == first or span.start in self.raw_start_set:
            return i
        k = self._containing(span.start)
        if k is not None and self._contiguous(k, i):
            return i  # only format characters and marks before the first base
        return "starts at whitespace, not at a unit edge"

    def end(self, span: Span) -> int | str:
        """The unit where ``span`` closes, or why it closes inside one or at whitespace."""
        n = bisect.bisect_right(self.first_bases, span.end - 1) - 1
        if n < 0 or self.last_bases[n] < span.start:
            return "holds no visible character"
        j = self.visible[n]
        last = self.last_bases[n]
        if span.end <= last:
            return f"ends inside unit «{self.units[j].text}»"
        if span.end == last + 1 or span.end in self.raw_end_set:
            return j
        k = self._containing(span.end - 1)
        if k is not None and self._contiguous(j, k):
            return j  # only marks and format characters after the last base
        return "ends at whitespace, not at a unit edge"

    def align(self, span: Span) -> tuple[int, int] | str:
        """``(first unit, last unit)`` of ``span``, or why it is off unit boundaries."""
        a, b = self.start(span), self.end(span)
        if isinstance(a, int) and isinstance(b, int):
            return a, b
        reasons = [r for r in (a, b) if isinstance(r, str)]
        return "; ".join(dict.fromkeys(reasons))


def spans_to_tags(
    units: Sequence[Unit], spans: Sequence[Span], *, doc_id: str = "", layer: str = "entities"
) -> tuple[list[str], list[OffBoundary]]:
    """IOB2 tags for one layer; spans not on unit boundaries are reported, never moved.

    Format characters and combining marks at a span's edges do not matter: a span
    with or without a word's RLM, BOM or leading diacritic tags the same units.
    Spans must not overlap (resolve nesting first); an overlap is an internal error.
    """
    return _layer_tags(UnitAlignment(units), spans, doc_id, layer)


def _layer_tags(
    where: UnitAlignment, spans: Sequence[Span], doc_id: str, layer: str
) -> tuple[list[str], list[OffBoundary]]:
    tags = [OUTSIDE] * len(where.units)
    off: list[OffBoundary] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        got = where.align(span)
        if isinstance(got, str):
            off.append(OffBoundary(doc_id, layer, span, got))
            continue
        a, b = got
        assert all(t == OUTSIDE for t in tags[a : b + 1]), f"overlapping spans in {doc_id}"
        tags[a] = f"B-{span.label}"
        for i in range(a + 1, b + 1):
            tags[i] = f"I-{span.label}"
    return tags, off


def tag_document(
    doc: Document, units: list[Unit], layers: Sequence[str] = LAYERS
) -> TaggedDocument:
    """Tags over the union of ``layers``.

    Where a trigger and an entity share a unit, the trigger wins and the entity
    span is dropped whole (and counted). IOB2 tags cannot hold nested spans: of
    overlapping spans in one layer the outer one is tagged and the others are
    listed in ``nested_untagged``.
    """
    tags = [OUTSIDE] * len(units)
    off: list[OffBoundary] = []
    per_layer: dict[str, list[str]] = {}
    where = UnitAlignment(units)
    flat: dict[str, list[Span]] = {}
    nested_untagged: list[Span] = []
    for layer in layers:
        flat[layer], untagged = doc.layer(layer), []
        if overlapping_pairs(flat[layer]):  # quick when nothing overlaps, the common case
            flat[layer], untagged = resolve_overlaps(flat[layer], "outer")
        nested_untagged += untagged
        per_layer[layer], problems = _layer_tags(where, flat[layer], doc.id, layer)
        off += problems
    collisions: list[Span] = []
    if "triggers" in per_layer:
        tags = list(per_layer["triggers"])
    if "entities" in per_layer:
        ent_tags = per_layer["entities"]
        for span in flat["entities"]:
            got = where.align(span)
            if isinstance(got, str):
                continue
            a, b = got
            if any(t != OUTSIDE for t in tags[a : b + 1]):
                collisions.append(span)
                continue
            tags[a : b + 1] = ent_tags[a : b + 1]
    return TaggedDocument(doc, units, tags, off, collisions, nested_untagged)


def split_tag(tag: str) -> tuple[str, str | None]:
    """``"B-PER"`` → ``("B", "PER")``; ``"O"`` → ``("O", None)``."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    prefix, _, label = tag.partition("-")
    return prefix, label


def decode_spans(
    units: Sequence[Unit], tags: Sequence[str], scores: Sequence[float] | None = None
) -> list[Span]:
    """THE span decoder: IOB2 unit tags → character spans on the raw text.

    An ``I-X`` that continues nothing opens a new span (as conlleval and
    seqeval's default mode read it); an ``I-Y`` after ``X`` closes ``X``.
    A span's score is the mean of its units' tag probabilities. A span covers the
    visible extent of its units (``Unit.core``): it never starts or ends with a format
    character (RLM, ZWNJ, BOM, ...) nor starts with a combining mark, and a span of
    invisible units only (a lone RLM) is no span.
    """
    spans: list[Span] = []
    cur: tuple[int, str] | None = None  # (first unit, label)

    def close(end_unit: int) -> None:
        if cur is None:
            return
        a, label = cur
        cores = [c for k in range(a, end_unit + 1) if (c := units[k].core) is not None]
        if not cores:
            return
        score = None
        if scores is not None:
            score = float(sum(scores[a : end_unit + 1])) / (end_unit + 1 - a)
        spans.append(Span(cores[0][0], cores[-1][1], label, score))

    for i, tag in enumerate(tags):
        if tag == OUTSIDE and cur is None:  # most units: nothing to open or close
            continue
        prefix, label = split_tag(tag)
        if prefix == "I" and cur is not None and cur[1] == label:
            continue
        close(i - 1)
        cur = (i, label) if prefix in ("B", "I") else None
    close(len(tags) - 1)
    return spans


def spans_by_layer(spans: Sequence[Span], schema: LabelSchema) -> dict[str, list[Span]]:
    """Split decoded spans into layers by the schema."""
    out: dict[str, list[Span]] = {layer: [] for layer in LAYERS}
    for s in spans:
        out[schema.layer_of(s.label)].append(s)
    return out


def allowed_transitions(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """IOB2 constraints: ``(start_ok[T], trans_ok[T, T])``; ``I-X`` only after ``B-X``/``I-X``."""
    parsed = [split_tag(t) for t in tags]
    n = len(tags)
    start_ok = np.array([p != "I" for p, _ in parsed])
    trans_ok = np.ones((n, n), dtype=bool)
    for j, (pj, lj) in enumerate(parsed):
        if pj == "I":
            for i, (pi, li) in enumerate(parsed):
                trans_ok[i, j] = pi in ("B", "I") and li == lj
    return start_ok, trans_ok


def is_valid_path(ids: Sequence[int], start_ok: np.ndarray, trans_ok: np.ndarray) -> bool:
    """Whether a tag path obeys the IOB2 constraints (no ``I-X`` that continues nothing)."""
    if not len(ids):
        return True
    if not start_ok[ids[0]]:
        return False
    a = np.asarray(ids)
    return bool(trans_ok[a[:-1], a[1:]].all())


def viterbi(log_probs: np.ndarray, start_ok: np.ndarray, trans_ok: np.ndarray) -> list[int]:
    """Best tag path under hard IOB2 constraints (``log_probs`` is ``[n_units, n_tags]``)."""
    n, t = log_probs.shape
    if n == 0:
        return []
    neg = -1e9
    score = np.where(start_ok, log_probs[0], neg)
    trans = np.where(trans_ok, 0.0, neg)
    back = np.zeros((n, t), dtype=np.int64)
    for i in range(1, n):
        cand = score[:, None] + trans
        back[i] = cand.argmax(axis=0)
        score = cand.max(axis=0) + log_probs[i]
    path = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return path[::-1]


def iob2_partners(tags: Sequence[str]) -> np.ndarray:
    """For each tag, the index of the ``B-X`` an ``I-X`` may follow besides itself; -1 else."""
    index = {t: i for i, t in enumerate(tags)}
    out = np.full(len(tags), -1, dtype=np.int64)
    for i, tag in enumerate(tags):
        prefix, label = split_tag(tag)
        if prefix == "I":
            out[i] = index[f"B-{label}"]
    return out


def viterbi_iob2(log_probs: np.ndarray, partners: np.ndarray) -> list[int]:
    """:func:`viterbi` under IOB2 constraints in O(tags) per unit instead of O(tags²).

    Any tag may follow any tag except ``I-X``, which follows only ``B-X`` or ``I-X``:
    so the best predecessor is the best tag overall, or for ``I-X`` the better of its
    two. Ties go to the lower index, as in :func:`viterbi`; the paths are identical.
    """
    n, t = log_probs.shape
    if n == 0:
        return []
    neg = -1e9
    inside = np.flatnonzero(partners >= 0)
    begin = partners[inside]
    score = log_probs[0].copy()
    score[inside] = neg
    back = np.zeros((n, t), dtype=np.int64)
    for i in range(1, n):
        best = int(score.argmax())
        prev = np.full(t, score[best])
        back[i] = best
        from_b, from_i = score[begin], score[inside]
        stay = from_i > from_b
        prev[inside] = np.where(stay, from_i, from_b)
        back[i, inside] = np.where(stay, inside, begin)
        score = prev + log_probs[i]
    path = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return path[::-1]


def viterbi_iob2_batch(log_probs: Sequence[np.ndarray], partners: np.ndarray) -> list[list[int]]:
    """:func:`viterbi_iob2` over many sequences at once, each step vectorised over them.

    The sequences are sorted by length (longest first), so those still running at
    step ``i`` are a prefix of the batch, and a step is a few numpy operations on
    ``[sequences, tags]``. The arithmetic and the ties are those of
    :func:`viterbi_iob2` (the best predecessor overall, or for ``I-X`` the better of
    ``B-X`` and ``I-X``, ties to the lower index): the paths are identical.
    """
    lengths = np.array([len(lp) for lp in log_probs], dtype=np.int64)
    paths: list[list[int]] = [[] for _ in log_probs]
    order = np.flatnonzero(lengths > 0)
    if not len(order):
        return paths
    order = order[np.argsort(-lengths[order], kind="stable")]
    n_max, t = int(lengths[order[0]]), log_probs[order[0]].shape[1]
    lp = np.zeros((len(order), n_max, t), dtype=np.result_type(*(log_probs[d] for d in order)))
    for r, d in enumerate(order):
        lp[r, : lengths[d]] = log_probs[d]
    running = np.searchsorted(-lengths[order], -np.arange(n_max))  # rows longer than i
    inside = np.flatnonzero(partners >= 0)
    begin = partners[inside]
    if np.array_equal(inside, np.arange(2, t, 2)) and np.array_equal(begin, inside - 1):
        inside, begin = slice(2, None, 2), slice(1, None, 2)  # O, B-X, I-X, ...: views
    score = lp[:, 0].copy()
    score[:, inside] = -1e9
    back = np.empty((len(order), n_max, t), dtype=np.int32)
    rows = np.arange(len(order))
    stay_at, leave_to = np.arange(t)[inside], np.arange(t)[begin]
    for i in range(1, n_max):
        k = running[i]
        s = score[:k]
        best = s.argmax(axis=1)
        prev = np.empty_like(s)
        prev[:] = s[rows[:k], best][:, None]
        from_b, from_i = s[:, begin], s[:, inside]
        stay = from_i > from_b
        prev[:, inside] = np.where(stay, from_i, from_b)
        step = back[:k, i]
        step[:] = best[:, None]
        step[:, inside] = np.where(stay, stay_at, leave_to)
        score[:k] = prev + lp[:k, i]
    out = np.empty((len(order), n_max), dtype=np.int64)
    cur = score.argmax(axis=1)
    for i in range(n_max - 1, 0, -1):
        k = running[i]
        out[:k, i] = cur[:k]
        cur[:k] = back[rows[:k], i, cur[:k]]
    out[:, 0] = cur
    for r, d in enumerate(order):
        paths[d] = out[r, : lengths[d]].tolist()
    return paths


# --- subwords and windows -------------------------------------------------


@dataclass
class Encoding:
    """A document's units as subword ids, cut into overlapping windows."""

    subwords: list[list[int]]
    windows: list[tuple[int, int]]
    owner: list[int]
    empty_units: int = 0
    truncated_units: int = 0


def unit_subwords(
    word_ids: Sequence[int | None], ids: Sequence[int], n_units: int, unk_id: int, cap: int
) -> tuple[list[list[int]], int, int]:
    """Group a tokenizer's subword ids by unit; empty units become ``[UNK]``, long ones cut.

    Returns ``(subwords, empty_units, truncated_units)``.
    """
    groups: list[list[int]] = [[] for _ in range(n_units)]
    for w, tok in zip(word_ids, ids, strict=True):
        if w is not None:
            groups[w].append(tok)
    empty = truncated = 0
    for i, g in enumerate(groups):
        if not g:
            groups[i] = [unk_id]
            empty += 1
        elif len(g) > cap:
            groups[i] = g[:cap]
            truncated += 1
    return groups, empty, truncated


def make_windows(counts: Sequence[int], cap: int, stride: int) -> list[tuple[int, int]]:
    """Unit ranges ``[a, b)`` of at most ``cap`` subwords.

    Consecutive windows overlap by at most ``stride`` subwords; every unit is in
    some window (each count must be ≤ cap).
    """
    n = len(counts)
    if sum(counts) <= cap:  # one window: most documents
        return [(0, n)]
    windows = []
    a = 0
    while True:
        total, b = 0, a
        while b < n and total + counts[b] <= cap:
            total += counts[b]
            b += 1
        assert b > a, "a unit longer than the window must be truncated first"
        windows.append((a, b))
        if b >= n:
            return windows
        nxt, overlap = b, 0
        while nxt > a + 1 and overlap + counts[nxt - 1] <= stride:
            overlap += counts[nxt - 1]
            nxt -= 1
        # the next window must reach unit b, or it would sit inside this one
        while overlap + counts[b] > cap:
            overlap -= counts[nxt]
            nxt += 1
        a = nxt


def choose_windows(counts: Sequence[int], windows: Sequence[tuple[int, int]]) -> list[int]:
    """For each unit, the window where it is farthest from both edges (ties: the earlier)."""
    if len(windows) == 1:
        return [0] * len(counts)
    prefix = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    owner = np.full(len(counts), -1)
    best = np.full(len(counts), -1)
    for w, (a, b) in enumerate(windows):
        margin = np.minimum(prefix[a:b] - prefix[a], prefix[b] - prefix[a + 1 : b + 1])
        better = margin > best[a:b]
        best[a:b][better] = margin[better]
        owner[a:b][better] = w
    return owner.tolist()


def encode_units(
    word_ids: Sequence[int | None],
    ids: Sequence[int],
    n_units: int,
    *,
    unk_id: int,
    max_subwords: int,
    stride: int,
) -> Encoding:
    """Subwords per unit, windows of at most ``max_subwords`` and each unit's window."""
    groups, empty, truncated = unit_subwords(word_ids, ids, n_units, unk_id, max_subwords)
    counts = [len(g) for g in groups]
    windows = make_windows(counts, max_subwords, stride)
    return Encoding(groups, windows, choose_windows(counts, windows), empty, truncated)


def window_features(
    enc: Encoding, w: int, cls_id: int, sep_id: int, tag_ids: Sequence[int] | None = None
) -> dict[str, list[int]]:
    """``input_ids`` for window ``w`` and the position of each unit's first subword.

    With ``tag_ids``, also ``labels``: first subword tagged, the rest and the
    specials ``-100``.
    """
    a, b = enc.windows[w]
    ids = [cls_id]
    first = []
    labels = [IGNORE_INDEX]
    for i in range(a, b):
        first.append(len(ids))
        ids.extend(enc.subwords[i])
        if tag_ids is not None:
            labels.append(tag_ids[i])
            labels.extend([IGNORE_INDEX] * (len(enc.subwords[i]) - 1))
    ids.append(sep_id)
    labels.append(IGNORE_INDEX)
    out = {"input_ids": ids, "first_positions": first}
    if tag_ids is not None:
        out["labels"] = labels
    return out


class TagDecoder:
    """Unit probabilities to tags and spans: argmax, or the IOB2-constrained Viterbi.

    The constrained optimum is the argmax path whenever that path is already
    valid IOB2, so Viterbi runs only on the documents where it is not (exact either
    way), all of them at once (:func:`viterbi_iob2_batch`).
    """

    def __init__(self, tags: Sequence[str], decoding: str = "viterbi") -> None:
        self.tags = list(tags)
        self.decoding = decoding
        self._constraints = allowed_transitions(self.tags)
        self._partners = iob2_partners(self.tags)

    def decode(self, units: Sequence[Unit], probs: np.ndarray) -> tuple[list[str], list[Span]]:
        """Tags and the decoded spans of ``units`` from their tag probabilities."""
        return self.decode_many([units], probs, [0, len(units)])[0]

    def decode_many(
        self, units: Sequence[Sequence[Unit]], probs: np.ndarray, bounds: Sequence[int]
    ) -> list[tuple[list[str], list[Span]]]:
        """:meth:`decode` for many documents: ``units[d]`` has rows ``bounds[d]:bounds[d+1]``."""
        ids = probs.argmax(axis=-1) if len(probs) else np.zeros(0, dtype=np.int64)
        if self.decoding == "viterbi" and len(ids):
            start_ok, trans_ok = self._constraints
            firsts = np.asarray(bounds[:-1])
            firsts = firsts[firsts < len(ids)]
            # a unit after a forbidden step inside its document, or a forbidden first tag
            bad = np.flatnonzero(~trans_ok[ids[:-1], ids[1:]]) + 1
            bad = np.concatenate([bad[~np.isin(bad, firsts)], firsts[~start_ok[ids[firsts]]]])
            docs = np.unique(np.searchsorted(bounds, bad, side="right") - 1).tolist()
            rows = [(bounds[d], bounds[d + 1]) for d in docs]
            log_probs = [np.log(probs[a:b] + 1e-12) for a, b in rows]
            paths = viterbi_iob2_batch(log_probs, self._partners)
            for (a, b), path in zip(rows, paths, strict=True):
                ids[a:b] = path
        scores = probs[np.arange(len(ids)), ids].tolist()
        tags = [self.tags[i] for i in ids.tolist()]
        return [
            (tags[a:b], decode_spans(doc_units, tags[a:b], scores[a:b]))
            for doc_units, a, b in zip(units, bounds, bounds[1:], strict=False)
        ]
