"""The document schema: raw text plus character spans in two layers.

One file (~680 lines): the data classes, the JSON parser and the one span checker every
reader calls share one vocabulary of errors.

``start``/``end`` index Python ``str`` code points of ``text``, end exclusive.
Unknown keys on a document or a span pass through untouched; an optional
top-level ``tokens`` key (``[[start, end], ...]``, in order, not overlapping)
records the corpus tokens of a document read from CoNLL.

Spans of one layer may nest (a GPE inside an ORG name, as in ACE): the default
policy ``keep`` keeps properly nested spans and reports crossing ones
(``[0, 5)`` and ``[3, 8)``). ``error`` reports every overlap; ``outer`` and
``inner`` keep one span of each overlapping pair and count the others.
``all`` (:data:`KEEP_ALL`, not a user's choice) keeps every span, crossing ones
too: ``araevent predict`` passes its input spans through untouched.

Every reader checks its spans with :func:`check_spans` (labels, offsets,
arguments, the nested policy), and a span read from a file carries its
:class:`Origin` (file and line), which the errors name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from araevent.errors import DataError
from araevent.labels import LAYERS, LabelSet, is_valid_label

NESTED_POLICIES = ("keep", "error", "outer", "inner")
DEFAULT_NESTED = "keep"
KEEP_ALL = "all"  # every span, crossing ones too (predict's input; not in NESTED_POLICIES)
NESTED_FIX = "remove one, or keep one: --nested outer|inner (data.nested to train)"
CROSSING_FIX = (
    "spans of one layer may nest but not cross; fix the offsets, or keep one: "
    "--nested outer|inner (data.nested to train)"
)


@dataclass(frozen=True)
class Origin:
    """Where a span was read: its file and line.

    The line is the JSONL line of its document, the CoNLL line of its first token,
    the brat ``.ann`` line that gives it (an argument: its trigger's ``E`` line) or
    the Hub row; a Label Studio span has its ``task`` (index in the export, from 1).
    """

    path: str | None = None
    line: int | None = None
    task: int | None = None


@dataclass(frozen=True)
class Argument:
    """An event argument: the character span ``text[start:end]`` fills ``role`` of its trigger.

    It does not have to coincide with an entity span; when it does, only the
    offsets link them.
    """

    start: int
    end: int
    role: str
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    origin: Origin | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def key(self) -> tuple[int, int, str]:
        """``(start, end, role)``: what argument scoring compares."""
        return (self.start, self.end, self.role)

    def to_dict(self, text: str | None = None) -> dict[str, Any]:
        """Serialise, adding ``text`` when the document text is given."""
        out: dict[str, Any] = {"start": self.start, "end": self.end, "role": self.role}
        return _finish_dict(out, self, text, {})


@dataclass(frozen=True)
class Span:
    """A labelled character span ``text[start:end]``.

    A trigger may carry ``arguments``: ``None`` when it was not annotated for
    arguments, a tuple (possibly empty) when it was.
    """

    start: int
    end: int
    label: str
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    arguments: tuple[Argument, ...] | None = field(default=None, compare=False, hash=False)
    origin: Origin | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def key(self) -> tuple[int, int, str]:
        """``(start, end, label)``: what scoring compares."""
        return (self.start, self.end, self.label)

    def to_dict(self, text: str | None = None) -> dict[str, Any]:
        """Serialise, adding ``text`` when the document text is given."""
        out: dict[str, Any] = {"start": self.start, "end": self.end, "label": self.label}
        more = {}
        if self.arguments is not None:
            more["arguments"] = [a.to_dict(text) for a in sorted(self.arguments, key=_arg_order)]
        return _finish_dict(out, self, text, more)


def _finish_dict(
    out: dict[str, Any], item: Span | Argument, text: str | None, more: dict[str, Any]
) -> dict[str, Any]:
    """Add ``text``, ``score``, ``more`` and the pass-through keys of ``item`` to ``out``."""
    if text is not None:
        out["text"] = text[item.start : item.end]
    if item.score is not None:
        out["score"] = round(float(item.score), 6)
    out.update(more)
    for k, v in item.extra.items():
        out.setdefault(k, v)
    return out


def _arg_order(arg: Argument) -> tuple[int, int, str]:
    return (arg.start, arg.end, arg.role)


@dataclass
class Document:
    """One document: id, raw text, entity spans, trigger spans, and any other keys."""

    id: str
    text: str
    entities: list[Span] = field(default_factory=list)
    triggers: list[Span] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> list[Span]:
        """The spans of layer ``name`` (``entities`` or ``triggers``)."""
        if name not in LAYERS:
            raise ValueError(f"unknown layer {name!r}; layers are {', '.join(LAYERS)}")
        return self.entities if name == "entities" else self.triggers

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the JSONL schema; span ``text`` is always written."""
        out: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "entities": [s.to_dict(self.text) for s in sorted(self.entities, key=_order)],
            "triggers": [s.to_dict(self.text) for s in sorted(self.triggers, key=_order)],
        }
        for k, v in self.extra.items():
            out.setdefault(k, v)
        return out


def _order(span: Span) -> tuple[int, int, str]:
    return (span.start, -span.end, span.label)


@dataclass
class ParseResult:
    """What reading one document produced: the document (if usable) and its problems."""

    document: Document | None
    errors: list[DataError]
    dropped_nested: int = 0
    nested: int = 0
    dropped_layer: int = 0  # spans of a layer that was not selected


def parse_span(
    obj: Any,
    text: str,
    *,
    where: dict[str, Any],
    layer: str,
    index: int,
    origin: Origin | None = None,
) -> tuple[Span | None, list[DataError]]:
    """Check one span object against ``text``; return the span or the errors.

    A trigger's ``arguments`` are checked here too (offsets, role syntax, text);
    the checks that need the label set or the trigger are in :func:`check_spans`.
    The span and its arguments carry ``origin``.
    """
    name = f"{layer}[{index}]"
    fields, errs = _parse_offsets(obj, text, name=name, key="label", where=where)
    if fields is None:
        return None, errs
    start, end, label, score, extra = fields
    arguments = None
    if "arguments" in extra:
        raw = extra.pop("arguments")
        if layer not in ("triggers", "predicted_triggers"):
            fix = "only triggers carry arguments; move them to the trigger"
            return None, [DataError(f"{name} has arguments", fix=fix, **where)]
        if not isinstance(raw, list):
            return None, [
                DataError(
                    f"{name}.arguments is {type(raw).__name__}, not a list",
                    fix='arguments is a list of {"start", "end", "role"} objects',
                    **where,
                )
            ]
        arguments = []
        for k, item in enumerate(raw):
            got, arg_errs = _parse_offsets(
                item, text, name=f"{name}.arguments[{k}]", key="role", where=where
            )
            errs.extend(arg_errs)
            if got is not None:
                a_start, a_end, role, a_score, a_extra = got
                arguments.append(Argument(a_start, a_end, role, a_score, a_extra, origin))
        if errs:
            return None, errs
        arguments = tuple(arguments)
    return Span(start, end, label, score, extra, arguments, origin), []


def _parse_offsets(
    obj: Any, text: str, *, name: str, key: str, where: dict[str, Any]
) -> tuple[tuple | None, list[DataError]]:
    """``(start, end, label-or-role, score, extra)`` of a span or argument object, or errors."""
    errs: list[DataError] = []
    if not isinstance(obj, dict):
        return None, [
            DataError(
                f"{name} is {type(obj).__name__}, not an object",
                fix=f'a span is {{"start": int, "end": int, "{key}": str}}',
                **where,
            )
        ]
    for k in ("start", "end", key):
        if k not in obj:
            errs.append(
                DataError(
                    f"{name} has no {k!r}", fix=f"every span needs start, end and {key}", **where
                )
            )
    if errs:
        return None, errs
    start, end, label = obj["start"], obj["end"], obj[key]
    for k, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append(
                DataError(
                    f"{name}.{k} is {value!r}",
                    fix="offsets are integer code-point indices",
                    **where,
                )
            )
    if not isinstance(label, str):
        errs.append(
            DataError(
                f"{name}.{key} is {label!r}, not a string", fix=f"{key}s are strings", **where
            )
        )
    elif not is_valid_label(label):
        errs.append(
            DataError(
                f"{name}.{key} {label!r} is malformed",
                fix=f"{key}s match [A-Za-z][A-Za-z0-9_.:-]*",
                **where,
            )
        )
    if errs:
        return None, errs
    problem = offset_problem(start, end, text)
    if problem is not None:
        return None, [
            DataError(
                f"{name} [{start}, {end}) {problem}",
                fix="offsets are end-exclusive code points of text",
                **where,
            )
        ]
    if "text" in obj and obj["text"] != text[start:end]:
        return None, [
            DataError(
                f"{name} text {obj['text']!r} != text[{start}:{end}] {text[start:end]!r}",
                fix="fix the offsets or the span text",
                **where,
            )
        ]
    score = obj.get("score")
    if score is not None and not is_score(score):
        return None, [
            DataError(
                f"{name}.score is {score!r}, not a number",
                fix="a score is a finite number (or leave it out)",
                **where,
            )
        ]
    extra = {k: v for k, v in obj.items() if k not in ("start", "end", key, "text", "score")}
    return (start, end, label, float(score) if score is not None else None, extra), []


def offset_problem(start: int, end: int, text: str) -> str | None:
    """What is wrong with the offsets ``[start, end)`` of a span of ``text``, or ``None``."""
    if 0 <= start < end <= len(text):
        return None
    return "start >= end" if start >= end else f"out of range for a text of {len(text)}"


def argument_errors(
    trigger: Span,
    index: int,
    label_set: LabelSet | None,
    where: dict[str, Any],
    *,
    name: str | None = None,
) -> list[DataError]:
    """What is wrong with the arguments of ``trigger`` (``triggers[index]``, or ``name``).

    A role the label set does not allow for the trigger's event type, the same
    span twice with the same role, and an argument overlapping its own trigger.
    An error names the line of the argument's origin when it has one.
    """
    errs: list[DataError] = []
    seen: dict[tuple[int, int, str], int] = {}
    for k, arg in enumerate(trigger.arguments or ()):
        at = {**where, **_origin_place(arg.origin, where)}
        label = f"{name or f'triggers[{index}]'}.arguments[{k}]"
        if label_set is not None and not label_set.allows_role(trigger.label, arg.role):
            allowed = label_set.roles_of(trigger.label)
            errs.append(
                DataError(
                    f"{label}: role {arg.role!r} is not a role of {trigger.label} in the "
                    f"{label_set.name} label set",
                    fix=f"use one of {', '.join(allowed)}" if allowed else "use --labels any",
                    **at,
                )
            )
        if arg.key in seen:
            errs.append(
                DataError(
                    f"{label}: [{arg.start}, {arg.end}) {arg.role} is also "
                    f"arguments[{seen[arg.key]}] of this trigger",
                    fix="give each argument once",
                    **at,
                )
            )
        seen.setdefault(arg.key, k)
        if arg.start < trigger.end and trigger.start < arg.end:
            errs.append(
                DataError(
                    f"{label}: [{arg.start}, {arg.end}) overlaps its own trigger "
                    f"[{trigger.start}, {trigger.end})",
                    fix="an argument is a mention outside its trigger's words",
                    **at,
                )
            )
    return errs


def is_score(value: Any) -> bool:
    """Whether ``value`` can be a span score: a finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def resolve_overlaps(spans: list[Span], policy: str) -> tuple[list[Span], list[Span]]:
    """Keep non-overlapping spans by ``policy``; return ``(kept, dropped)``.

    ``outer`` prefers longer spans, ``inner`` shorter ones; ties go to the earlier span.
    With ``error`` and ``keep`` nothing is dropped (the caller reports the overlaps,
    or the crossing ones), nor with :data:`KEEP_ALL`.
    """
    if policy in ("error", "keep", KEEP_ALL):
        return list(spans), []
    if policy not in NESTED_POLICIES:
        raise ValueError(f"unknown nested policy {policy!r}; choose {', '.join(NESTED_POLICIES)}")
    sign = -1 if policy == "outer" else 1
    ranked = sorted(spans, key=lambda s: (sign * (s.end - s.start), s.start, s.label))
    kept: list[Span] = []
    dropped: list[Span] = []
    for span in ranked:
        if any(span.start < k.end and k.start < span.end for k in kept):
            dropped.append(span)
        else:
            kept.append(span)
    return sorted(kept, key=_order), dropped


def overlapping_pairs(spans: list[Span]) -> list[tuple[Span, Span]]:
    """Every pair of spans in one layer that share at least one character."""
    ordered = sorted(spans, key=_order)
    pairs = []
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.start >= a.end:
                break
            pairs.append((a, b))
    return pairs


def is_nested_pair(a: Span, b: Span) -> bool:
    """Whether one of two overlapping spans contains the other (else they cross)."""
    return (a.start <= b.start and b.end <= a.end) or (b.start <= a.start and a.end <= b.end)


def crossing_pairs(spans: list[Span]) -> list[tuple[Span, Span]]:
    """Pairs of spans in one layer that overlap without one containing the other."""
    return [(a, b) for a, b in overlapping_pairs(spans) if not is_nested_pair(a, b)]


def overlap_errors(
    spans: list[Span],
    layer: str,
    nested: str,
    where: dict[str, Any],
    *,
    prefix: str = "",
) -> tuple[int, list[DataError]]:
    """The overlapping pairs of one layer and the errors the policy makes of them.

    An error names the line of the later span's origin, when it has one.

    Returns:
        ``(pairs, errors)``: how many pairs overlap, and under ``error`` one error
        per pair, under ``keep`` one per crossing pair (none under ``outer``/``inner``).
    """
    pairs = overlapping_pairs(spans)
    twice: list[Span] = []
    if nested == "error":
        bad, what, fix = pairs, "overlap", NESTED_FIX
    elif nested == "keep":
        bad, what, fix = [p for p in pairs if not is_nested_pair(*p)], "spans cross", CROSSING_FIX
        twice = [b for a, b in pairs if a.key == b.key]
    else:
        bad, what, fix = [], "", ""
    errors = [
        DataError(
            f"{prefix}{layer} {what}: [{a.start}, {a.end}) {a.label} and "
            f"[{b.start}, {b.end}) {b.label}",
            fix=fix,
            **{**where, **_origin_place(b.origin, where)},
        )
        for a, b in bad
    ]
    errors += [
        DataError(
            f"{prefix}{layer} span [{b.start}, {b.end}) {b.label} is given twice",
            fix="remove one of them",
            **{**where, **_origin_place(b.origin, where)},
        )
        for b in twice
    ]
    return len(pairs), errors


def _origin_place(origin: Origin | None, where: dict[str, Any]) -> dict[str, Any]:
    """The ``path``/``line`` of ``origin`` for an error, or nothing (``where`` stands)."""
    if origin is None or origin.line is None:
        return {}
    return {"path": origin.path or where.get("path"), "line": origin.line}


@dataclass
class CheckedSpans:
    """What :func:`check_spans` kept per layer, its errors and its counters."""

    spans: dict[str, list[Span]]
    errors: list[DataError] = field(default_factory=list)
    nested: int = 0  # overlapping pairs seen
    dropped_nested: int = 0  # spans the nested policy dropped
    dropped_arguments: int = 0  # arguments of the triggers it dropped


def _index_name(layer: str, index: int, span: Span) -> str:
    return f"{layer}[{index}]"


def check_spans(
    layers: Mapping[str, Sequence[Span]],
    text: str,
    *,
    label_set: LabelSet | None = None,
    nested: str = DEFAULT_NESTED,
    where: dict[str, Any],
    name: Callable[[str, int, Span], str] = _index_name,
    prefix: str = "",
) -> CheckedSpans:
    """Check the spans of one document, whatever format they were read from.

    Every reader calls this once per document: a label must be well formed and
    allowed in its layer by ``label_set``, offsets (a span's and its arguments')
    must be a non-empty range of ``text``, a trigger's arguments must pass
    :func:`argument_errors`, and overlapping spans of one layer follow ``nested``
    (:func:`overlap_errors`, :func:`resolve_overlaps`). A span with an error is
    left out. Errors name the line of the span's origin (else ``where``).

    Args:
        layers: the spans per layer (``entities``, ``triggers``).
        text: the document text.
        label_set: the allowed labels; ``None`` allows any well-formed label.
        nested: ``keep``, ``error``, ``outer`` or ``inner``.
        where: ``path``, ``line`` and ``doc_id`` for the errors.
        name: how an error names span ``index`` of ``layer`` (``entities[3]``, ``T3``).
        prefix: put before an overlap error (``task 3: ``).

    Returns:
        The spans kept per layer (in order), the errors and the counters.
    """
    out = CheckedSpans({})
    for layer, spans in layers.items():
        good: list[Span] = []
        for i, span in enumerate(spans):
            at = {**where, **_origin_place(span.origin, where)}
            ref = name(layer, i, span)
            problems = _span_problems(span, layer, text, label_set, ref, at)
            if not problems and span.arguments:
                problems = argument_errors(span, i, label_set, at, name=ref)
            out.errors += problems
            if not problems:
                good.append(span)
        n_pairs, overlaps = overlap_errors(good, layer, nested, where, prefix=prefix)
        out.nested += n_pairs
        out.errors += overlaps
        kept, dropped = resolve_overlaps(good, nested)
        out.dropped_nested += len(dropped)
        out.dropped_arguments += sum(len(s.arguments or ()) for s in dropped)
        out.spans[layer] = kept
    return out


def _span_problems(
    span: Span, layer: str, text: str, label_set: LabelSet | None, ref: str, at: dict[str, Any]
) -> list[DataError]:
    """The label and offset errors of one span (and its arguments' offsets)."""
    if not is_valid_label(span.label):
        fix = "labels match [A-Za-z][A-Za-z0-9_.:-]*"
        return [DataError(f"{ref} label {span.label!r} is malformed", fix=fix, **at)]
    if label_set is not None and not label_set.allows(layer, span.label):
        return [
            DataError(
                f"{ref} label {span.label!r} is not in the {label_set.name} label set",
                fix="use --labels any or fix the label",
                **at,
            )
        ]
    errors = []
    for what, item in [
        ("", span),
        *((f".arguments[{k}]", a) for k, a in enumerate(span.arguments or ())),
    ]:
        problem = offset_problem(item.start, item.end, text)
        if problem is not None:
            errors.append(
                DataError(
                    f"{ref}{what} [{item.start}, {item.end}) {problem}",
                    fix="offsets are end-exclusive code points of the text",
                    **at,
                )
            )
    return errors


def parse_tokens(value: Any, text: str) -> str | None:
    """What is wrong with a ``tokens`` value (``[[start, end], ...]``), or ``None``."""
    if not isinstance(value, list):
        return f"tokens is {type(value).__name__}, not a list"
    prev = 0
    for i, tok in enumerate(value):
        ok = (
            isinstance(tok, list)
            and len(tok) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in tok)
        )
        if not ok:
            return f"tokens[{i}] is {tok!r}, not [start, end]"
        a, b = tok
        if not prev <= a < b <= len(text):
            return f"tokens[{i}] [{a}, {b}) is out of order, empty or out of range"
        prev = b
    return None


def parse_document(
    obj: Any,
    *,
    path: str | None = None,
    line: int | None = None,
    label_set: LabelSet | None = None,
    nested: str = DEFAULT_NESTED,
    layers: tuple[str, ...] = LAYERS,
) -> ParseResult:
    """Check a decoded JSON object against the schema.

    Every problem is collected (not just the first), so ``validate`` can list
    them all. Layers not in ``layers`` are read and checked but emptied.
    """
    where: dict[str, Any] = {"path": path, "line": line}
    if not isinstance(obj, dict):
        return ParseResult(
            None,
            [DataError(f"a document is a JSON object, got {type(obj).__name__}", **where)],
        )
    doc_id = obj.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        fix = "every document needs a non-empty string id"
        return ParseResult(None, [DataError(f"document id is {doc_id!r}", fix=fix, **where)])
    where["doc_id"] = doc_id
    text = obj.get("text")
    if "text" not in obj:
        fix = "every document needs its raw text as a string"
        return ParseResult(None, [DataError("document has no 'text'", fix=fix, **where)])
    if not isinstance(text, str):
        fix = "text is the raw document as one string"
        return ParseResult(
            None, [DataError(f"text is {type(text).__name__}, not a string", fix=fix, **where)]
        )
    if not text.strip():
        fix = "remove the document or give it text"
        return ParseResult(None, [DataError("text is empty", fix=fix, **where)])
    errors: list[DataError] = []
    result = ParseResult(None, errors)
    origin = Origin(path, line) if path is not None or line is not None else None
    parsed: dict[str, list[Span]] = {}
    for layer in LAYERS:
        raw = obj.get(layer, [])
        if not isinstance(raw, list):
            errors.append(
                DataError(
                    f"{layer} is {type(raw).__name__}, not a list",
                    fix=f"{layer} is a list of span objects (or leave it out)",
                    **where,
                )
            )
            continue
        parsed[layer] = []
        for i, item in enumerate(raw):
            span, errs = parse_span(item, text, where=where, layer=layer, index=i, origin=origin)
            errors.extend(errs)
            # a span that did not parse keeps its place: errors name spans by index
            parsed[layer].append(span if span is not None else _UNREADABLE)
    checked = check_spans(
        {k: [s for s in v if s is not _UNREADABLE] for k, v in parsed.items()},
        text,
        label_set=label_set,
        nested=nested,
        where=where,
        name=_parsed_name(parsed),
    )
    errors.extend(checked.errors)
    result.nested += checked.nested
    result.dropped_nested += checked.dropped_nested
    spans = {layer: checked.spans.get(layer, []) for layer in LAYERS}
    for layer in LAYERS:
        if layer not in layers:
            result.dropped_layer += len(spans[layer])
            spans[layer] = []
    if "tokens" in obj:
        problem = parse_tokens(obj["tokens"], text)
        if problem is not None:
            errors.append(
                DataError(
                    problem,
                    fix="tokens is [[start, end], ...]: the corpus tokens in order "
                    "(or leave it out)",
                    **where,
                )
            )
    if errors:
        return result
    extra = {k: v for k, v in obj.items() if k not in ("id", "text", *LAYERS)}
    result.document = Document(doc_id, text, spans["entities"], spans["triggers"], extra)
    return result


_UNREADABLE = Span(0, 1, "unreadable")  # the place of a span object that did not parse


def _parsed_name(parsed: dict[str, list[Span]]) -> Callable[[str, int, Span], str]:
    """Name a checked span by its index in the document's list (``entities[3]``)."""
    index = {layer: {id(s): k for k, s in enumerate(spans)} for layer, spans in parsed.items()}

    def name(layer: str, i: int, span: Span) -> str:
        return f"{layer}[{index[layer][id(span)]}]"

    return name
