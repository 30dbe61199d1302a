"""The argument model: one token-classification instance per trigger (docs/arguments.md).

One file (~730 lines): the argument model's schema, instances, predictor, scorer, rule
baseline and loading follow its stages, and one change (a marker, a role tag) touches
several.

An instance is the window of the trigger's document that holds the trigger (the
one where the trigger is farthest from both edges), with the trigger's units
between marker tokens and the event type as one added token after ``[SEP]``::

    [CLS] u_a … [T] trigger units [/T] … u_b [SEP] [E:Conflict:Attack] [SEP]

Its units are tagged with the roles of the trigger's arguments (``O``,
``B-<role>``, ``I-<role>``) on their first subword, as the tagger tags spans.
Decoding masks the roles the event type does not allow (the label set's role
table; ``any`` allows every role), then decodes as the tagger does
(``Predictor.decode``: argmax, or the IOB2 Viterbi when the argmax path is
ill-formed) into character spans on the raw text (``tagging.decode_spans``).

The event type is one added token per type rather than words: the tiny model's
WordPiece is trained on Arabic units and would read the English type names as
``[UNK]``; an added token is learned from scratch by every encoder alike.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from araevent.errors import UsageError
from araevent.labels import get_label_set
from araevent.modeling import CONFIG_KEY, EncodedDocument, Preprocessor
from araevent.reporting import argument_summary_table as summary_table
from araevent.schema import Argument, Document, Span, resolve_overlaps
from araevent.tagging import (
    IGNORE_INDEX,
    OUTSIDE,
    LabelSchema,
    TagDecoder,
    UnitAlignment,
    make_windows,
)
from araevent.text import Unit

log = logging.getLogger(__name__)

TRIGGER_OPEN, TRIGGER_CLOSE = "[T]", "[/T]"
UNKNOWN_EVENT = "[E:?]"
FOLDER = "arguments"  # the argument model's folder in a run folder, beside model/
TASK = "arguments"  # config.json araevent.task of an argument model
RESERVED = 4  # subwords an instance adds to a window: [T], [/T], [SEP], the event token
MODES = ("auto", True, False)


def event_token(event: str) -> str:
    """The added token that names ``event`` after ``[SEP]``."""
    return f"[E:{event}]"


@dataclass(frozen=True)
class ArgumentSchema:
    """The argument model's roles, the event types it knows, and the roles each allows.

    ``allowed`` is ``None`` when any role is allowed for any event type (label set ``any``).
    """

    roles: tuple[str, ...]
    events: tuple[str, ...]
    allowed: dict[str, tuple[str, ...]] | None = None

    @cached_property
    def labels(self) -> LabelSchema:
        """The tags ``O``, ``B-<role>``, ``I-<role>`` as a tagger schema (roles as its spans)."""
        return LabelSchema.build(self.roles, [])

    @property
    def tags(self) -> list[str]:
        """``O`` then ``B-``/``I-`` per role."""
        return self.labels.tags

    @cached_property
    def tokens(self) -> list[str]:
        """The tokens added to the tokenizer: the trigger markers and one per event type."""
        return [TRIGGER_OPEN, TRIGGER_CLOSE, UNKNOWN_EVENT, *(event_token(e) for e in self.events)]

    def allowed_roles(self, event: str) -> tuple[str, ...]:
        """The roles ``event`` may have: all roles when any is allowed, none for an unknown type."""
        if self.allowed is None:
            return self.roles
        return self.allowed.get(event, ())

    def tag_mask(self, event: str) -> np.ndarray:
        """Which tags decoding may choose for a trigger of type ``event``."""
        ok = set(self.allowed_roles(event))
        return np.array([t == OUTSIDE or t[2:] in ok for t in self.tags])

    def to_dict(self) -> dict[str, Any]:
        """For ``config.json``."""
        allowed = None if self.allowed is None else {e: list(r) for e, r in self.allowed.items()}
        return {"roles": list(self.roles), "events": list(self.events), "allowed": allowed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArgumentSchema:
        """Inverse of :meth:`to_dict`."""
        allowed = d.get("allowed")
        return cls(
            tuple(d["roles"]),
            tuple(d["events"]),
            None if allowed is None else {e: tuple(r) for e, r in allowed.items()},
        )


def argument_schema(
    train: Sequence[Document], label_set: str, events: Sequence[str]
) -> ArgumentSchema:
    """The roles seen in training plus those the label set gives ``events``."""
    preset = get_label_set(label_set)
    roles = {a.role for d in train for t in d.triggers for a in t.arguments or ()}
    allowed = None
    if preset.roles is not None:
        allowed = {e: preset.roles_of(e) for e in sorted(events)}
        roles |= {r for rs in allowed.values() for r in rs}
    return ArgumentSchema(tuple(sorted(roles)), tuple(sorted(events)), allowed)


def has_arguments(docs: Sequence[Document]) -> bool:
    """Whether any trigger is annotated for arguments."""
    return any(t.arguments is not None for d in docs for t in d.triggers)


def wanted(config: dict[str, Any], train: Sequence[Document]) -> bool:
    """Whether to train the argument model: ``arguments`` (top level, else the data config).

    Raises:
        UsageError: an unknown value, or ``true`` with no arguments in the training data.
    """
    mode = config.get("arguments", config.get("data", {}).get("arguments", "auto"))
    if mode not in MODES:
        raise UsageError(f"arguments={mode}: choose auto, true or false")
    found = has_arguments(train)
    if mode is True and not found:
        raise UsageError(
            "arguments=true but no training trigger is annotated for arguments "
            "(give data whose triggers carry an arguments list, or set arguments=auto)"
        )
    return bool(found) and mode is not False


# --- instances ----------------------------------------------------------------


@dataclass(frozen=True)
class MarkerIds:
    """The token ids an instance needs."""

    cls: int
    sep: int
    open: int
    close: int
    events: dict[str, int]
    unknown: int

    @classmethod
    def of(cls, tokenizer, schema: ArgumentSchema) -> MarkerIds:
        """Ids of the markers in ``tokenizer`` (they must have been added)."""
        ids = dict(zip(schema.tokens, tokenizer.convert_tokens_to_ids(schema.tokens), strict=True))
        if any(i is None or i == tokenizer.unk_token_id for i in ids.values()):
            raise ValueError("the tokenizer lacks the argument markers; call add_markers first")
        events = {e: ids[event_token(e)] for e in schema.events}
        return cls(
            tokenizer.cls_token_id,
            tokenizer.sep_token_id,
            ids[TRIGGER_OPEN],
            ids[TRIGGER_CLOSE],
            events,
            ids[UNKNOWN_EVENT],
        )


def add_markers(tokenizer, model, schema: ArgumentSchema) -> None:
    """Add the marker and event-type tokens to ``tokenizer`` and rows for them to ``model``."""
    tokenizer.add_tokens(schema.tokens, special_tokens=True)
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))


@dataclass
class Instance:
    """One trigger's input: its document, trigger, window ``[first, stop)`` of units, features."""

    doc: int
    trigger: int
    first: int
    stop: int
    input_ids: list[int]
    first_positions: list[int]
    labels: list[int] | None = None
    trigger_units: tuple[int, int] = (0, -1)  # the trigger's first and last unit


def _tokenizer_core(tokenizer) -> dict[str, Any]:
    """The fast tokenizer's serialised pipeline and vocabulary, without its added tokens."""
    core = json.loads(tokenizer.backend_tokenizer.to_str())
    core.pop("added_tokens", None)
    return core


def encodes_alike(tagger: Preprocessor, arguments: Preprocessor) -> bool:
    """Whether ``arguments`` cuts and encodes every text exactly as ``tagger`` does.

    True when both have the same known words, normalisation, window size and stride
    and the same tokenizer apart from the added tokens (the argument markers): the
    argument model trained from the tagger's encoder. Then the tagger's encodings
    serve both models.
    """
    a, b = tagger.settings, arguments.settings
    if (a.normalization, a.stride, tagger.max_subwords) != (
        b.normalization,
        b.stride,
        arguments.max_subwords,
    ):
        return False
    if tagger.tokenizer.unk_token_id != arguments.tokenizer.unk_token_id:
        return False
    if tagger.known is not arguments.known and list(tagger.known) != list(arguments.known):
        return False
    return _tokenizer_core(tagger.tokenizer) == _tokenizer_core(arguments.tokenizer)


def trigger_window(
    prefix: Sequence[int], windows: Sequence[tuple[int, int]], a: int, b: int
) -> int:
    """The window holding units ``a..b`` where they are farthest from both edges.

    ``prefix[i]``: the subwords of the units before unit ``i``. A trigger longer
    than every window takes the window of its first unit.
    """
    best, best_w = -1, None
    for w, (lo, hi) in enumerate(windows):
        if lo <= a and b < hi:
            margin = min(prefix[a] - prefix[lo], prefix[hi] - prefix[b + 1])
            if margin > best:
                best, best_w = margin, w
    if best_w is None:
        best_w = next(w for w, (lo, hi) in enumerate(windows) if lo <= a < hi)
    return best_w


def window_ids(groups: Sequence[Sequence[int]], window: tuple[int, int]):
    """``(ids, offsets)`` of a window: its units' subwords in a row, where each unit starts.

    ``offsets`` has one more entry than the window has units (the end).
    """
    a, b = window
    counts = [len(groups[i]) for i in range(a, b)]
    return [t for i in range(a, b) for t in groups[i]], np.concatenate([[0], np.cumsum(counts)])


def instance_features(
    window: tuple[list[int], np.ndarray],
    trigger: tuple[int, int],
    event_id: int,
    ids: MarkerIds,
    tag_ids: Sequence[int] | None = None,
) -> tuple[list[int], list[int], list[int] | None]:
    """``(input_ids, first_positions, labels)`` of one instance (labels ``None`` without tags).

    ``window``: :func:`window_ids` of the trigger's window; ``trigger``: its first
    and last unit counted from the window's first; ``tag_ids``: the window's units' tags.
    """
    flat, offsets = window
    ta, tb = trigger
    s, e = int(offsets[ta]), int(offsets[tb + 1])
    input_ids = [ids.cls, *flat[:s], ids.open, *flat[s:e], ids.close, *flat[e:]]
    input_ids += [ids.sep, event_id, ids.sep]
    k = np.arange(len(offsets) - 1)
    first = offsets[:-1] + 1 + (k >= ta) + (k > tb)  # [CLS], then [T] and [/T] before them
    labels = None
    if tag_ids is not None:
        row = np.full(len(input_ids), IGNORE_INDEX, dtype=np.int64)
        row[first] = tag_ids
        labels = row.tolist()
    return input_ids, first.tolist(), labels


def role_tags(
    where: UnitAlignment, trigger: Span, stats: Counter[str], describe: str = ""
) -> list[str]:
    """IOB2 role tags over all units for ``trigger``'s arguments.

    Arguments off unit boundaries, and the inner ones of nested arguments, are
    counted in ``stats`` and not tagged.
    """
    tags = [OUTSIDE] * len(where.units)
    spans = [Span(a.start, a.end, a.role) for a in trigger.arguments or ()]
    kept, nested = resolve_overlaps(spans, "outer")
    stats["arguments_nested_not_tagged"] += len(nested)
    for span in sorted(kept, key=lambda s: (s.start, s.end)):
        got = where.align(span)
        if isinstance(got, str):
            stats["arguments_off_unit_boundaries"] += 1
            log.warning(
                "argument not trainable: %s [%d, %d) %s: %s",
                describe,
                span.start,
                span.end,
                span.label,
                got,
            )
            continue
        x, y = got
        tags[x] = f"B-{span.label}"
        for i in range(x + 1, y + 1):
            tags[i] = f"I-{span.label}"
    return tags


class InstanceBuilder:
    """Instances of every trigger of many documents, with the counts of what was left out."""

    def __init__(self, pre: Preprocessor, schema: ArgumentSchema) -> None:
        self.pre = pre
        self.schema = schema
        self.ids = MarkerIds.of(pre.tokenizer, schema)
        self.cap = pre.max_subwords - RESERVED
        if self.cap < 2:
            raise UsageError(
                f"max_length {pre.settings.max_length} leaves no room for argument instances"
            )
        self.stride = min(pre.settings.stride, self.cap - 1)
        self.label2id = schema.labels.label2id

    def build(
        self,
        texts: Sequence[str],
        triggers: Sequence[Sequence[Span]],
        *,
        tagged: bool = False,
        stats: Counter[str] | None = None,
        doc_ids: Sequence[str] | None = None,
        encoded: Sequence[EncodedDocument] | None = None,
    ) -> tuple[list[list[Unit]], list[Instance]]:
        """Units per text and one instance per trigger (``tagged``: with role labels).

        With ``tagged``, triggers not annotated for arguments (``arguments is None``)
        get no instance; they are counted as ``triggers_not_annotated``. ``encoded``:
        the texts already encoded by a preprocessor that encodes as this one does
        (:func:`encodes_alike`), e.g. the tagger's; they are encoded here otherwise.
        """
        stats = Counter() if stats is None else stats
        encoded = self.pre.encode(texts) if encoded is None else encoded
        units_out, instances = [], []
        for d, (ed, trigs) in enumerate(zip(encoded, triggers, strict=True)):
            units_out.append(ed.units)
            if not trigs:
                continue
            groups = [g[: self.cap] for g in ed.encoding.subwords]
            stats["truncated_units"] += sum(len(g) > self.cap for g in ed.encoding.subwords)
            counts = [len(g) for g in groups]
            windows = make_windows(counts, self.cap, self.stride)
            prefix = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
            rows: dict[int, tuple[list[int], np.ndarray]] = {}  # window_ids per window
            where = UnitAlignment(ed.units)
            for k, trig in enumerate(trigs):
                stats["triggers"] += 1
                if tagged and trig.arguments is None:
                    stats["triggers_not_annotated"] += 1
                    continue
                got = where.align(trig) if ed.units else "no units"
                if isinstance(got, str):
                    stats["triggers_off_unit_boundaries"] += 1
                    continue
                ta, tb = got
                w = trigger_window(prefix, windows, ta, tb)
                a, b = windows[w]
                if w not in rows:
                    rows[w] = window_ids(groups, (a, b))
                tag_ids = None
                if tagged:
                    tags = role_tags(
                        where, trig, stats, f"{doc_ids[d] if doc_ids else d}: trigger {trig.label}"
                    )
                    stats["arguments"] += len(trig.arguments or ())
                    stats["arguments_outside_window"] += _outside(tags, a, b)
                    tag_ids = [self.label2id.get(t, 0) for t in tags[a:b]]
                event_id = self.ids.events.get(trig.label, self.ids.unknown)
                input_ids, first, labels = instance_features(
                    rows[w], (ta - a, min(tb, b - 1) - a), event_id, self.ids, tag_ids
                )
                instances.append(Instance(d, k, a, b, input_ids, first, labels, (ta, tb)))
                stats["instances"] += 1
        return units_out, instances


def _outside(tags: Sequence[str], a: int, b: int) -> int:
    """Tagged arguments that start or run outside units ``[a, b)``."""
    n = sum(1 for i, t in enumerate(tags) if t.startswith("B-") and not a <= i < b)
    return n + (1 if b < len(tags) and tags[b].startswith("I-") and a < b else 0)


def with_predicted_triggers(
    gold: Sequence[Span], predicted: Sequence[Span], stats: Counter[str]
) -> list[Span]:
    """``gold`` triggers plus the ``predicted`` ones that differ from every gold trigger.

    A predicted trigger on a gold trigger's span with another type gets that gold
    trigger's arguments; one on no gold span (spurious) gets none (all ``O``), unless
    the document has triggers not annotated for arguments (then it is not trained).
    Predicted triggers equal to a gold one (span and type) add nothing.
    """
    by_span = {(t.start, t.end): t for t in gold}
    same = {(t.start, t.end, t.label) for t in gold}
    annotated = all(t.arguments is not None for t in gold)
    out = list(gold)
    for p in predicted:
        if (p.start, p.end, p.label) in same:
            continue
        match = by_span.get((p.start, p.end))
        if match is not None:
            stats["predicted_triggers_retyped"] += 1
            out.append(dataclasses.replace(p, arguments=match.arguments, score=None))
        else:
            stats["predicted_triggers_spurious"] += 1
            out.append(dataclasses.replace(p, arguments=() if annotated else None, score=None))
    return out


def training_dataset(
    builder: InstanceBuilder,
    docs: Sequence[Document],
    predicted: Sequence[Sequence[Span]] | None = None,
):
    """The argument instances of ``docs``'s gold triggers as a ``datasets.Dataset``, and counts.

    ``predicted``: the tagger's triggers per document, mixed in
    (:func:`with_predicted_triggers`; ``arguments_predicted_triggers=true``).
    """
    from datasets import Dataset

    stats: Counter[str] = Counter()
    triggers = [list(d.triggers) for d in docs]
    if predicted is not None:
        for key in ("predicted_triggers_retyped", "predicted_triggers_spurious"):
            stats[key] += 0
        triggers = [
            with_predicted_triggers(t, p, stats) for t, p in zip(triggers, predicted, strict=True)
        ]
    _, instances = builder.build(
        [d.text for d in docs],
        triggers,
        tagged=True,
        stats=stats,
        doc_ids=[d.id for d in docs],
    )
    for key in (
        "arguments_off_unit_boundaries",
        "arguments_nested_not_tagged",
        "arguments_outside_window",
    ):
        stats[key] += 0
    ds = Dataset.from_dict(
        {
            "input_ids": [x.input_ids for x in instances],
            "labels": [x.labels for x in instances],
            "length": [len(x.input_ids) for x in instances],
        }
    )
    return ds, dict(stats)


# --- prediction -------------------------------------------------------------


@dataclass
class ArgumentPredictor:
    """Arguments for given triggers: batched, length-sorted, under ``inference_mode``."""

    model: torch.nn.Module
    preprocessor: Preprocessor
    schema: ArgumentSchema
    batch_size: int = 32
    decoding: str = "viterbi"
    builder: InstanceBuilder | None = field(default=None, init=False, repr=False)
    _decoders: dict[str, tuple[np.ndarray, TagDecoder]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.builder = InstanceBuilder(self.preprocessor, self.schema)

    def predict(
        self,
        texts: Sequence[str],
        triggers: Sequence[Sequence[Span]],
        encoded: Sequence[EncodedDocument] | None = None,
    ) -> tuple[list[list[Unit]], list[list[Span]]]:
        """Units per text and the triggers with predicted ``arguments`` (a tuple each).

        ``encoded``: the texts as the tagger encoded them, when its preprocessor
        encodes as this model's does (:func:`encodes_alike`); saves encoding twice.
        """
        units, instances = self.builder.build(texts, triggers, encoded=encoded)
        found: dict[tuple[int, int], tuple[Argument, ...]] = {}
        if instances:
            self._run(units, instances, [[t.label for t in trigs] for trigs in triggers], found)
        out = [
            [dataclasses.replace(t, arguments=found.get((d, k), ())) for k, t in enumerate(trigs)]
            for d, trigs in enumerate(triggers)
        ]
        return units, out

    def _run(self, units, instances: list[Instance], events, found: dict) -> None:
        """Length-sorted batches of ``instances`` through the model; decoded into ``found``.

        Decoding runs after the forward passes, once per event type over all its
        instances (:meth:`decode_many`: one vectorised Viterbi over them).
        """
        order = sorted(range(len(instances)), key=lambda i: len(instances[i].input_ids))
        device = next(self.model.parameters()).device
        pad = self.preprocessor.tokenizer.pad_token_id
        unit_probs: list[np.ndarray | None] = [None] * len(instances)
        self.model.eval()
        with torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                batch = order[s : s + self.batch_size]
                width = len(instances[batch[-1]].input_ids)
                ids = np.full((len(batch), width), pad, dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for r, i in enumerate(batch):
                    n = len(instances[i].input_ids)
                    ids[r, :n] = instances[i].input_ids
                    mask[r, :n] = 1
                logits = self.model(
                    input_ids=torch.from_numpy(ids).to(device),
                    attention_mask=torch.from_numpy(mask).to(device),
                ).logits
                probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                for r, i in enumerate(batch):
                    unit_probs[i] = probs[r, instances[i].first_positions]
        by_event: dict[str, list[int]] = {}
        for i, x in enumerate(instances):
            by_event.setdefault(events[x.doc][x.trigger], []).append(i)
        for event, members in by_event.items():
            items = []
            for i in members:
                x = instances[i]
                ta, tb = x.trigger_units
                items.append(
                    (units[x.doc][x.first : x.stop], unit_probs[i], (ta - x.first, tb - x.first))
                )
            for i, args in zip(members, self.decode_many(items, event), strict=True):
                found[instances[i].doc, instances[i].trigger] = tuple(args)

    def _decoder(self, event: str) -> tuple[np.ndarray, TagDecoder]:
        """The tags ``event`` allows (their columns) and a decoder over those tags only."""
        if event not in self._decoders:
            cols = np.flatnonzero(self.schema.tag_mask(event))
            tags = [self.schema.tags[i] for i in cols]
            self._decoders[event] = cols, TagDecoder(tags, self.decoding)
        return self._decoders[event]

    def decode(
        self,
        units: Sequence[Unit],
        probs: np.ndarray,
        event: str,
        trigger: tuple[int, int] = (0, -1),
    ) -> list[Argument]:
        """Mask disallowed roles, renormalise, decode to arguments (one instance).

        Masked: the roles ``event`` does not allow (decoding runs over the allowed
        tags only: the masked ones have probability 0), and every role on the
        trigger's own units (``trigger``: its first and last unit here).
        """
        return self.decode_many([(units, probs, trigger)], event)[0]

    def decode_many(
        self,
        items: Sequence[tuple[Sequence[Unit], np.ndarray, tuple[int, int]]],
        event: str,
    ) -> list[list[Argument]]:
        """:meth:`decode` for many instances of one event type, ``(units, probs, trigger)`` each."""
        cols, decoder = self._decoder(event)
        rows, unit_lists, bounds = [], [], [0]
        for units, probs, trigger in items:
            p = probs[:, cols] + 1e-12
            lo, hi = max(trigger[0], 0), trigger[1] + 1
            if hi > lo:  # no argument on the trigger: only O there (O is column 0)
                p[lo:hi] = 0.0
                p[lo:hi, 0] = 1.0
            rows.append(p / p.sum(axis=-1, keepdims=True))
            unit_lists.append(list(units))
            bounds.append(bounds[-1] + len(p))
        if not rows:
            return []
        decoded = decoder.decode_many(unit_lists, np.concatenate(rows), bounds)
        return [[Argument(s.start, s.end, s.label, s.score) for s in spans] for _, spans in decoded]


# --- scoring ----------------------------------------------------------------


def keep_argument_scores(scores, prefix: str):
    """Only the argument keys of ``scores`` (the span and trigger views are the gold's own)."""
    from araevent.evaluation import ARG_VIEWS, Scores

    return Scores(
        {k: v for k, v in scores.metrics.items() if k.startswith(f"{prefix}/arguments/")},
        {v: scores.per_type[v] for v in ARG_VIEWS if v in scores.per_type},
        {k: v for k, v in scores.counts.items() if k.startswith("arguments/") or k == "documents"},
        {k: v for k, v in scores.doc_counts.items() if k.startswith("arguments/")},
    )


def score_arguments(docs, preds, units, prefix: str, bootstrap: int = 0, seed: int = 0):
    """Score predicted triggers' arguments against ``docs``; argument keys under ``prefix``."""
    from araevent.evaluation import score

    pred = [{"entities": [], "triggers": list(t)} for t in preds]
    s = score(docs, pred, units, prefix=prefix, bootstrap=bootstrap, seed=seed, scope="arguments")
    return keep_argument_scores(s, prefix)


@dataclass
class ArgumentScorer:
    """Gold-trigger argument scores of a split; the ``dev_scorer`` of ``SpanTrainer``."""

    docs: Sequence[Document]
    pre: Preprocessor
    schema: ArgumentSchema
    batch_size: int
    decoding: str

    def __call__(
        self, model, prefix: str = "dev", bootstrap: int = 0, seed: int = 0, scope: str = "all"
    ):
        """Predict the gold triggers' arguments and score them under ``<prefix>/gold_triggers``.

        Only argument views whatever ``scope`` (the tagger's scorer's parameter).
        """
        predictor = ArgumentPredictor(model, self.pre, self.schema, self.batch_size, self.decoding)
        units, preds = predictor.predict(
            [d.text for d in self.docs], [d.triggers for d in self.docs]
        )
        return score_arguments(
            self.docs, preds, units, f"{prefix}/gold_triggers", bootstrap, seed
        ), preds


BEST_METRIC = "dev/gold_triggers/arguments/classification/span/f1"


# --- the rule baseline ----------------------------------------------------------

_PARTY = ("PER", "ORG", "GPE")
_PLACE = ("GPE", "LOC", "FAC")
# role -> entity types that may fill it (docs/arguments.md); roles not listed take none
ROLE_ENTITY_TYPES: dict[str, tuple[str, ...]] = {
    **{r: _PLACE for r in ("Place", "Origin", "Destination")},
    **{
        r: _PARTY
        for r in (
            "Agent",
            "Victim",
            "Person",
            "Entity",
            "Attacker",
            "Defendant",
            "Prosecutor",
            "Plaintiff",
            "Adjudicator",
            "Buyer",
            "Seller",
            "Giver",
            "Recipient",
            "Beneficiary",
        )
    },
    "Org": ("ORG",),
    "Target": (*_PARTY, "FAC", "VEH"),
    "Artifact": ("PER", "ORG", "VEH", "WEA", "FAC"),
    "Instrument": ("WEA", "VEH"),
    "Vehicle": ("VEH",),
    "Time-Within": ("TIME",),
    "Money": ("VALUE",),
    "Price": ("VALUE",),
}
SENTENCE_END = frozenset(".!?؟\n")


def _sentence_of(text: str) -> list[int]:
    """A sentence number for every character (a sentence ends after . ! ? ؟ or a newline)."""
    out, n = [], 0
    for ch in text:
        out.append(n)
        n += ch in SENTENCE_END
    return out


def rule_baseline(
    docs: Sequence[Document],
    schema: ArgumentSchema,
    entities: Sequence[Sequence[Span]] | None = None,
) -> list[list[Span]]:
    """Each trigger's arguments by rule: every allowed role takes the nearest free entity.

    For each trigger of ``docs`` (gold triggers), the roles its type allows are
    taken in the role table's order; each takes the nearest entity span (by
    characters between the spans) of a type ``ROLE_ENTITY_TYPES`` maps it to, in
    the trigger's sentence, not overlapping the trigger, not taken by another
    role of this trigger. ``entities`` default to the documents' own (gold).
    """
    out = []
    for d, doc in enumerate(docs):
        ents = list(doc.entities if entities is None else entities[d])
        sentence = _sentence_of(doc.text)
        preds = []
        for trig in doc.triggers:
            here = sentence[trig.start] if doc.text else 0
            free = [
                e
                for e in ents
                if sentence[e.start] == here and (e.end <= trig.start or e.start >= trig.end)
            ]
            args = []
            for role in schema.allowed_roles(trig.label):
                fits = [e for e in free if e.label in ROLE_ENTITY_TYPES.get(role, ())]
                if not fits:
                    continue
                best = min(
                    fits, key=lambda e: (max(e.start - trig.end, trig.start - e.end), e.start)
                )
                free.remove(best)
                args.append(Argument(best.start, best.end, role))
            preds.append(dataclasses.replace(trig, arguments=tuple(args)))
        out.append(preds)
    return out


# --- reports ------------------------------------------------------------------


def evaluate_split(
    docs: Sequence[Document],
    split: str,
    predictor: ArgumentPredictor,
    predicted_triggers: Sequence[Sequence[Span]] | None = None,
    *,
    bootstrap: int = 0,
    seed: int = 0,
) -> tuple[dict[str, float], dict[str, dict[str, int]], list[list[Span]]]:
    """Argument scores of ``split`` in both protocols and the rule baseline's.

    ``predicted_triggers`` (the tagger's, per document) are the input of the
    end-to-end protocol; without them only gold triggers are scored. Returns the
    metrics, the counts per protocol and the gold-trigger predictions.
    """
    texts = [d.text for d in docs]
    units, gold_preds = predictor.predict(texts, [d.triggers for d in docs])
    runs = {
        "gold_triggers": gold_preds,
        "gold_triggers/rule_baseline": rule_baseline(docs, predictor.schema),
    }
    if predicted_triggers is not None:
        _, runs["end_to_end"] = predictor.predict(texts, predicted_triggers)
    metrics, counts = {}, {}
    for key, preds in runs.items():
        s = score_arguments(docs, preds, units, f"{split}/{key}", bootstrap, seed)
        metrics.update(s.metrics)
        counts[key] = s.counts
    return metrics, counts, gold_preds


def add_counts(metrics: dict, split: str, counts: dict[str, dict[str, int]]) -> None:
    """Put the argument counts of each protocol into ``metrics["counts"][split]``."""
    metrics.setdefault("counts", {}).setdefault(split, {}).update(
        {f"{k}/{c}": v for k, cs in counts.items() for c, v in cs.items()}
    )


def append_report(report: Path, blocks: Sequence[str]) -> None:
    """Append the argument tables and how they were scored to ``report.md``."""
    text = report.read_text("utf-8") if report.is_file() else ""
    notes = (
        "Arguments scored as OneIE/ACE (docs/evaluation.md); gold triggers: the argument "
        "model given the gold triggers; end to end: the tagger's triggers, then their "
        "arguments; the rule baseline gives every role allowed for the trigger's type the "
        "nearest gold entity of a compatible type in its sentence (docs/arguments.md)."
    )
    report.write_text(
        text.rstrip() + "\n\n## arguments\n\n" + "\n\n".join(blocks) + f"\n\n- {notes}\n", "utf-8"
    )


def evaluate_arguments(job, loaded, docs, preds, metrics: dict) -> dict:
    """``evaluate.py``: argument scores of the run's ``arguments/`` model, when it has one.

    ``preds`` are the tagger's predictions of ``docs`` (the end-to-end triggers).
    Adds the keys to ``metrics`` and the table to the report folder's ``report.md``.
    """
    folder = argument_folder(loaded.path)
    if folder is None:
        return metrics
    args = load_arguments(folder, device=job.device, batch_size=job.batch_size)
    triggers = [p.spans["triggers"] for p in preds]
    m, counts, _ = evaluate_split(
        docs, job.split, args.predictor, triggers, bootstrap=job.bootstrap, seed=job.seed
    )
    metrics.update(m)
    add_counts(metrics, job.split, counts)
    metrics.setdefault("run", {})["arguments_model"] = str(folder)
    append_report(Path(job.out_dir) / "report.md", [summary_table(metrics, job.split)])
    return metrics


# --- loading ------------------------------------------------------------------


@dataclass
class LoadedArguments:
    """An ``arguments/`` folder loaded for inference."""

    predictor: ArgumentPredictor
    path: Path


def argument_folder(model_path: str | Path) -> Path | None:
    """The ``arguments/`` folder in a run folder or beside its ``model/``; ``None`` if none."""
    p = Path(model_path)
    for candidate in (p / FOLDER, p.parent / FOLDER, p):
        if (candidate / "config.json").is_file() and _is_argument_model(candidate):
            return candidate
    return None


def _is_argument_model(path: Path) -> bool:
    try:
        meta = json.loads((path / "config.json").read_text("utf-8")).get(CONFIG_KEY) or {}
    except (OSError, ValueError, AttributeError):
        return False
    return meta.get("task") == TASK


def load_arguments(
    path: str | Path,
    *,
    device: str | None = None,
    batch_size: int = 32,
    decoding: str | None = None,
) -> LoadedArguments:
    """Load an ``arguments/`` folder (the checks of ``load_model_dir``) into a predictor."""
    from araevent.modeling import load_model_dir

    loaded = load_model_dir(path, device=device)
    block = loaded.meta.get("arguments")
    if loaded.meta.get("task") != TASK or not isinstance(block, dict):
        raise UsageError(
            f"{loaded.path} is not an araevent argument model (config.json araevent.task)"
        )
    try:
        schema = ArgumentSchema.from_dict(block)
    except (KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"model folder {loaded.path}: config.json araevent.arguments is invalid: {exc}"
        ) from None
    predictor = ArgumentPredictor(
        loaded.model,
        loaded.preprocessor,
        schema,
        batch_size,
        decoding or loaded.preprocessor.settings.decoding,
    )
    return LoadedArguments(predictor, loaded.path)
