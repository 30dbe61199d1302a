"""Writing documents in any format, CoNLL included.

:mod:`araevent.formats` writes what it is given. JSONL and brat need only the
documents; a CoNLL file needs each document's units (:mod:`araevent.text`) and
its IOB2 tags per layer (:mod:`araevent.tagging`), stages above the formats:
they are computed here and handed to :func:`araevent.formats.conll.conll_block`.
Every writer is atomic: nothing is written if anything fails.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from araevent.errors import UsageError
from araevent.formats import brat, conll
from araevent.formats.base import atomic_write_bytes, count_arguments
from araevent.formats.files import FORMATS
from araevent.formats.jsonl import write_jsonl
from araevent.schema import Document, overlapping_pairs
from araevent.tagging import spans_to_tags
from araevent.text import KnownWords, Unit, split_units


def document_units(doc: Document, known: KnownWords | None = None) -> list[Unit]:
    """A document's units: its corpus tokens, else the units of the proclitic rule.

    The corpus tokens are ``doc.extra["tokens"]``, as a CoNLL file gave them.
    """
    tokens = doc.extra.get("tokens")
    if tokens is not None:
        return [Unit(a, b, doc.text[a:b]) for a, b in tokens]
    return split_units(doc.text, known)


def conll_text(
    docs: Sequence[Document],
    *,
    conll_layers: Sequence[str] | None = None,
    known: KnownWords | None = None,
    units: Sequence[Sequence[Unit]] | None = None,
) -> str:
    """Documents as CoNLL: one unit and its tags per line, a blank line after each document.

    Args:
        docs: the documents.
        conll_layers: the layers written as tag columns (default: entities, plus
            triggers when any document has one).
        known: known words for the proclitic rule, when ``units`` is not given.
        units: the units of each document, in order (one line each); by default
            :func:`document_units` (the corpus tokens a CoNLL file gave, else the
            proclitic rule), so CoNLL → JSONL → CoNLL gives the same lines.

    Raises:
        DataError: listing every span that is not on unit boundaries or that overlaps
            another span of its layer (neither can be written as IOB2 tags).
    """
    layers = conll.conll_layers_of(docs, conll_layers)
    known = KnownWords.shipped() if known is None else known
    if units is not None and len(units) != len(docs):
        raise ValueError(f"{len(units)} unit lists for {len(docs)} documents")
    problems: list[str] = []
    blocks: list[str] = []
    for i, doc in enumerate(docs):
        doc_units = list(units[i]) if units is not None else document_units(doc, known)
        bounds = [(u.start, u.end) for u in doc_units]
        unit_problems = conll.unit_problems(doc, bounds)
        if unit_problems:
            problems += unit_problems
            continue
        columns = []
        for layer in layers:
            spans = doc.layer(layer)
            pairs = overlapping_pairs(spans)
            if pairs:
                problems += [
                    f"{doc.id}: {layer} spans [{a.start}, {a.end}) {a.label} and "
                    f"[{b.start}, {b.end}) {b.label} overlap"
                    for a, b in pairs
                ]
                continue
            tags, off = spans_to_tags(doc_units, spans, doc_id=doc.id, layer=layer)
            problems += [o.describe(doc.text) for o in off]
            columns.append(tags)
        if len(columns) == len(layers):
            blocks.append(conll.conll_block(doc.text, bounds, columns))
    if problems:
        raise conll.cannot_write(problems)
    return "".join(blocks)


def write_documents(
    docs: Sequence[Document],
    path: str | os.PathLike,
    fmt: str,
    *,
    conll_layers: Sequence[str] | None = None,
    known: KnownWords | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write documents atomically in ``fmt``; nothing is written if anything fails.

    Args:
        docs: the documents.
        path: a file (``jsonl``, ``conll``) or a folder (``brat``).
        fmt: ``jsonl``, ``conll`` or ``brat``.
        conll_layers: the layers written as CoNLL tag columns, in order; by default
            ``entities`` plus ``triggers`` when any document has a trigger.
        known: known words for the CoNLL units (default: the shipped list).
        overwrite: brat: write into a folder that is not empty, replacing the files of
            the same names and keeping every other file (without it such a folder is refused).

    Returns:
        What the format could not hold, counted: ``{"arguments_not_written": n}`` for
        CoNLL (it has no place for arguments); empty otherwise.

    Raises:
        DataError: a span cannot be written (CoNLL: not on unit boundaries, or overlapping).
        UsageError: unknown format, a brat target that is a file or a folder that is not
            empty (without ``overwrite``), or the target cannot be written.
    """
    p = Path(path)
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        if fmt == "jsonl":
            write_jsonl(docs, p)
        elif fmt == "conll":
            text = conll_text(docs, conll_layers=conll_layers, known=known)
            atomic_write_bytes(p, text.encode("utf-8"))
        else:
            brat.write_brat(docs, p, overwrite)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or p}: {exc.strerror or exc}") from None
    n_args = sum(count_arguments(d.triggers) for d in docs)
    return {"arguments_not_written": n_args} if fmt == "conll" and n_args else {}
