"""The document schema: raw text plus character spans in two layers.

``start``/``end`` index Python ``str`` code points of ``text``, end exclusive.
Unknown keys on a document or a span pass through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from araevent.errors import DataError
from araevent.labels import LAYERS, LabelSet, is_valid_label

NESTED_POLICIES = ("error", "outer", "inner")


@dataclass(frozen=True)
class Span:
    """A labelled character span ``text[start:end]``."""

    start: int
    end: int
    label: str
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[int, int, str]:
        """``(start, end, label)``: what scoring compares."""
        return (self.start, self.end, self.label)

    def to_dict(self, text: str | None = None) -> dict[str, Any]:
        """Serialise, adding ``text`` when the document text is given."""
        out: dict[str, Any] = {"start": self.start, "end": self.end, "label": self.label}
        if text is not None:
            out["text"] = text[self.start : self.end]
        if self.score is not None:
            out["score"] = round(float(self.score), 6)
        for k, v in self.extra.items():
            out.setdefault(k, v)
        return out


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


def parse_span(
    obj: Any, text: str, *, where: dict[str, Any], layer: str, index: int
) -> tuple[Span | None, list[DataError]]:
    """Check one span object against ``text``; return the span or the errors."""
    errs: list[DataError] = []
    name = f"{layer}[{index}]"
    if not isinstance(obj, dict):
        return None, [
            DataError(
                f"{name} is {type(obj).__name__}, not an object",
                fix='a span is {"start": int, "end": int, "label": str}',
                **where,
            )
        ]
    for key in ("start", "end", "label"):
        if key not in obj:
            errs.append(
                DataError(
                    f"{name} has no {key!r}", fix="every span needs start, end and label", **where
                )
            )
    if errs:
        return None, errs
    start, end, label = obj["start"], obj["end"], obj["label"]
    for key, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append(
                DataError(
                    f"{name}.{key} is {value!r}",
                    fix="offsets are integer code-point indices",
                    **where,
                )
            )
    if not isinstance(label, str):
        errs.append(
            DataError(f"{name}.label is {label!r}, not a string", fix="labels are strings", **where)
        )
    elif not is_valid_label(label):
        errs.append(
            DataError(
                f"{name}.label {label!r} is malformed",
                fix="labels match [A-Za-z][A-Za-z0-9_.:-]*",
                **where,
            )
        )
    if errs:
        return None, errs
    if not 0 <= start < end <= len(text):
        problem = "start >= end" if start >= end else f"out of range for a text of {len(text)}"
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
    extra = {k: v for k, v in obj.items() if k not in ("start", "end", "label", "text", "score")}
    score = obj.get("score")
    return Span(start, end, label, float(score) if score is not None else None, extra), []


def resolve_overlaps(spans: list[Span], policy: str) -> tuple[list[Span], list[Span]]:
    """Keep non-overlapping spans by ``policy``; return ``(kept, dropped)``.

    ``outer`` prefers longer spans, ``inner`` shorter ones; ties go to the earlier span.
    With ``error`` nothing is dropped (the caller reports the overlaps).
    """
    if policy == "error":
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


def parse_document(
    obj: Any,
    *,
    path: str | None = None,
    line: int | None = None,
    label_set: LabelSet | None = None,
    nested: str = "error",
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
    spans: dict[str, list[Span]] = {}
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
        got = []
        for i, item in enumerate(raw):
            span, errs = parse_span(item, text, where=where, layer=layer, index=i)
            errors.extend(errs)
            if span is None:
                continue
            if label_set is not None and not label_set.allows(layer, span.label):
                errors.append(
                    DataError(
                        f"{layer}[{i}].label {span.label!r} is not in the "
                        f"{label_set.name} label set",
                        fix="use --labels any or fix the label",
                        **where,
                    )
                )
                continue
            got.append(span)
        pairs = overlapping_pairs(got)
        result.nested += len(pairs)
        if pairs and nested == "error":
            for a, b in pairs:
                errors.append(
                    DataError(
                        f"{layer} overlap: [{a.start}, {a.end}) {a.label} and "
                        f"[{b.start}, {b.end}) {b.label}",
                        fix="remove one, or keep one: --nested outer|inner (data.nested to train)",
                        **where,
                    )
                )
        else:
            got, dropped = resolve_overlaps(got, nested)
            result.dropped_nested += len(dropped)
        spans[layer] = got if layer in layers else []
    if errors:
        return result
    extra = {k: v for k, v in obj.items() if k not in ("id", "text", *LAYERS)}
    result.document = Document(doc_id, text, spans["entities"], spans["triggers"], extra)
    return result
