"""CoNLL: a token, then one IOB2 tag column per layer; a blank line ends a sentence.

Without ``-DOCSTART-`` lines each sentence is a document; with them each
``-DOCSTART-`` starts a document whose sentences are joined with one space. Ids
are ``<file stem>-<n>``; the text is the tokens joined by one space, and the
tokens are kept as units, as given, in ``doc.extra["tokens"]`` (``[[start,
end], ...]``; the JSONL key ``tokens``).

The writer writes what its caller gives: each document's units and one tag
column per layer (:func:`conll_block`). Splitting text into units and spans
into tags are the stages above this one (:mod:`araevent.writing` does both), so
JSONL → CoNLL → JSONL → CoNLL is stable when the tokens are kept. CoNLL holds
no arguments.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from araevent.errors import DataError
from araevent.formats.base import ReadResult, check_layers, not_utf8, read_lines
from araevent.labels import LAYERS, LabelSet, is_valid_label
from araevent.schema import Document, Origin, Span, check_spans

OUTSIDE = "O"  # the IOB2 tag of a token in no span
DOCSTART = "-DOCSTART-"

TAG_FIX = "a tag is O, B-LABEL or I-LABEL with LABEL matching [A-Za-z][A-Za-z0-9_.:-]*"

_TAG = re.compile(r"([BI])-(.+)\Z")

NO_DOCUMENTS_FIX = "the file is empty or holds only blank lines or -DOCSTART- lines"


@dataclass
class _Row:
    line: int
    fields: list[str] | None  # None: the line could not be decoded


@dataclass
class _Block:
    """The token lines of one document, with its sentence boundaries."""

    doc_id: str
    line: int
    sentences: list[list[_Row]] = field(default_factory=list)
    bad: bool = False


def _default_conll_layers(n_tags: int) -> tuple[str, ...] | None:
    return LAYERS[:n_tags] if 1 <= n_tags <= len(LAYERS) else None


def read_conll(
    path: Path,
    result: ReadResult,
    *,
    label_set: LabelSet | None,
    layers: tuple[str, ...],
    conll_layers: tuple[str, ...] | None,
    repair: bool,
) -> None:
    """Read a CoNLL file into ``result`` (the options of :func:`read_conll_lines`)."""
    lines, bad = read_lines(path)
    read_conll_lines(
        lines,
        str(path),
        path.stem,
        result,
        label_set=label_set,
        layers=layers,
        conll_layers=conll_layers,
        repair=repair,
        bad=bad,
    )


def read_conll_lines(
    lines: list[tuple[int, str | None]],
    p: str,
    stem: str,
    result: ReadResult,
    *,
    label_set: LabelSet | None,
    layers: tuple[str, ...],
    conll_layers: tuple[str, ...] | None,
    repair: bool,
    bad: dict[int, tuple[str, str]] | None = None,
) -> None:
    """Read numbered CoNLL lines (of the file ``p``; ids ``<stem>-<n>``) into ``result``.

    ``conll_layers`` names the layer of each tag column (``None``: from the widest
    common row); ``repair`` turns ``I-`` tags that continue nothing into ``B-``.
    """
    fields = [(n, line.split() if line is not None else None) for n, line in lines]
    docstart = any(f and f[0] == DOCSTART for _, f in fields)
    if conll_layers is None:
        widths = collections.Counter(len(f) for _, f in fields if f and f[0] != DOCSTART)
        n_tags = widths.most_common(1)[0][0] - 1 if widths else 1
        conll_layers = _default_conll_layers(n_tags)
        if conll_layers is None:
            result.errors.append(
                DataError(
                    f"most lines have {n_tags + 1} columns; cannot tell which layer each of "
                    f"the {n_tags} tag columns is",
                    path=p,
                    fix="pass --layers (conll_layers) naming the layer of each tag column",
                )
            )
            return
    blocks: list[_Block] = []
    sentence: list[_Row] = []
    block: _Block | None = None

    def end_sentence() -> None:
        nonlocal sentence
        if sentence:
            assert block is not None
            block.sentences.append(sentence)
            result.stats["sentences"] += 1
            sentence = []

    def end_block() -> None:
        nonlocal block
        end_sentence()
        if block is not None and block.sentences:
            blocks.append(block)
        block = None

    for n, f in fields:
        if f is not None and not f:  # blank line
            end_sentence()
            if not docstart:
                end_block()
            continue
        if f is not None and f[0] == DOCSTART:
            end_block()
            continue
        if block is None:
            block = _Block(f"{stem}-{len(blocks) + 1}", n)
        sentence.append(_Row(n, f))
    end_block()
    for b in blocks:
        for row in (r for sent in b.sentences for r in sent if r.fields is None):
            result.errors.append(not_utf8(p, row.line, (bad or {})[row.line][0], b.doc_id))
        doc = _conll_document(b, p, result, conll_layers, label_set, layers, repair)
        if doc is not None:
            result.add(doc, p, b.line)


def _conll_document(
    block: _Block,
    path: str,
    result: ReadResult,
    conll_layers: tuple[str, ...],
    label_set: LabelSet | None,
    layers: tuple[str, ...],
    repair: bool,
) -> Document | None:
    """Check one block's columns and tags and build its document (``None`` on any error)."""
    where = {"path": path, "doc_id": block.doc_id}
    n_errors = len(result.errors)
    width = 1 + len(conll_layers)
    ok_rows: list[list[_Row]] = []
    for sentence in block.sentences:
        good = []
        for row in sentence:
            if row.fields is None:
                block.bad = True
                continue
            if len(row.fields) != width:
                block.bad = True
                result.errors.append(
                    DataError(
                        f"line has {len(row.fields)} columns, expected {width} "
                        f"(token, then one tag per layer: {', '.join(conll_layers)})",
                        line=row.line,
                        fix="separate the token and each tag by whitespace; "
                        "a token cannot contain spaces",
                        **where,
                    )
                )
                continue
            good.append(row)
        ok_rows.append(good)
    rows = [r for s in ok_rows for r in s]
    result.stats["tokens"] += len(rows)
    tokens = [r.fields[0] for r in rows]  # type: ignore[index]
    starts, pos = [], 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok) + 1
    text = " ".join(tokens)
    spans: dict[str, list[Span]] = {}
    for k, layer in enumerate(conll_layers, start=1):
        spans[layer] = _column_spans(ok_rows, k, layer, starts, tokens, where, result, repair)
    checked = check_spans(
        spans, text, label_set=label_set, where=where, name=lambda layer, _i, _s: layer
    )
    result.errors += checked.errors
    spans = checked.spans
    if block.bad or len(result.errors) > n_errors or not rows:
        return None
    result.stats["dropped_layer"] += sum(len(v) for k, v in spans.items() if k not in layers)
    return Document(
        block.doc_id,
        text,
        spans.get("entities", []) if "entities" in layers else [],
        spans.get("triggers", []) if "triggers" in layers else [],
        {"tokens": [[a, a + len(tok)] for a, tok in zip(starts, tokens, strict=True)]},
    )


_MALFORMED = ("?", None)


def _column_spans(
    sentences: list[list[_Row]],
    k: int,
    layer: str,
    starts: list[int],
    tokens: list[str],
    where: dict[str, Any],
    result: ReadResult,
    repair: bool,
) -> list[Span]:
    """Spans of tag column ``k``; malformed tags and orphan ``I-`` tags are reported."""
    spans: list[Span] = []
    open_span: tuple[int, str, int] | None = None  # (first token, label, its line)

    def close(last: int) -> None:
        nonlocal open_span
        if open_span is not None:
            a, label, line = open_span
            origin = Origin(where["path"], line)
            spans.append(Span(starts[a], starts[last] + len(tokens[last]), label, origin=origin))
            open_span = None

    i = 0
    for sentence in sentences:
        prev: tuple[str, str | None] = (OUTSIDE, None)
        prev_tag: str | None = None
        for row in sentence:
            tag = row.fields[k]  # type: ignore[index]
            m = _TAG.match(tag)
            if tag == OUTSIDE:
                close(i - 1)
                prev = (OUTSIDE, None)
            elif m is None or not is_valid_label(m.group(2)):
                close(i - 1)
                result.errors.append(
                    DataError(
                        f"malformed tag {tag!r} ({layer})", line=row.line, fix=TAG_FIX, **where
                    )
                )
                prev = _MALFORMED
            else:
                prefix, label = m.group(1), m.group(2)
                continues = prev[1] == label and prev[0] in ("B", "I")
                if prefix == "I" and not continues and prev != _MALFORMED:
                    result.stats["orphan_i"] += 1
                    if repair:
                        result.stats["repaired_i"] += 1
                    else:
                        before = "the sentence start" if prev_tag is None else repr(prev_tag)
                        result.errors.append(
                            DataError(
                                f"tag {tag!r} ({layer}) continues nothing: it follows {before}",
                                line=row.line,
                                fix=f"write B-{label}, or pass --repair to turn such I- tags "
                                "into B- (counted)",
                                **where,
                            )
                        )
                if prefix == "B" or not continues:
                    close(i - 1)
                    open_span = (i, label, row.line)
                prev = (prefix, label)
            prev_tag = tag
            i += 1
        close(i - 1)
    return spans


def conll_layers_of(docs: Sequence[Document], conll_layers: Sequence[str] | None) -> tuple:
    """The layers written as tag columns: as given, else entities plus triggers if any."""
    if conll_layers is None:
        conll_layers = LAYERS if any(d.triggers for d in docs) else ("entities",)
    return check_layers(conll_layers, "conll_layers")


def unit_problems(doc: Document, units: Sequence[tuple[int, int]]) -> list[str]:
    """Why ``units`` (``(start, end)`` each) cannot be CoNLL lines of ``doc``.

    A unit that is empty or holds whitespace, and text (other than whitespace)
    that no unit covers.
    """
    text = doc.text
    problems = [
        f"{doc.id}: unit [{a}, {b}) {text[a:b]!r} contains whitespace"
        for a, b in units
        if a >= b or any(c.isspace() for c in text[a:b])
    ]
    pos = 0
    for a, b in [*units, (len(text), len(text))]:
        gap = text[pos:a]
        if gap.strip():
            problems.append(f"{doc.id}: text [{pos}, {a}) {gap.strip()!r} is in no unit")
            break
        pos = max(pos, b)
    return problems


def conll_block(
    text: str, units: Sequence[tuple[int, int]], columns: Sequence[Sequence[str]]
) -> str:
    """One document's CoNLL lines: each unit and its tag in every column, then a blank line."""
    rows = [" ".join((text[a:b], *tags)) for (a, b), *tags in zip(units, *columns, strict=True)]
    return "".join(r + "\n" for r in rows) + "\n"


def cannot_write(problems: Sequence[str]) -> DataError:
    """The error listing every span (or unit) that cannot be written as CoNLL tags."""
    return DataError(
        f"{len(problems)} span(s) cannot be written as CoNLL tags: " + "; ".join(problems),
        fix="spans must start and end at unit edges and not overlap in a layer "
        "(keep one of each nested pair: --nested outer|inner); or convert to jsonl "
        "or brat, which keep any character span",
    )
