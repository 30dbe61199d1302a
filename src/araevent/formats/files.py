"""Files of any format: the format from the name, reading one file or many, strictly or not.

:func:`read_documents` returns every clean document of a file together with
every error, counters and notices; :func:`load_documents` is the strict form
training uses: it raises the first error and says (``.dropped``) how many
spans the nested policy and the layer selection dropped. Writing documents
(CoNLL needs units and tags from the stages above) is :mod:`araevent.writing`.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from araevent.errors import DataError, UsageError
from araevent.formats.base import Documents, ReadResult, check_layers
from araevent.formats.brat import read_brat
from araevent.formats.conll import NO_DOCUMENTS_FIX, read_conll
from araevent.formats.jsonl import read_jsonl
from araevent.labels import LAYERS, LabelSet, get_label_set
from araevent.schema import DEFAULT_NESTED, NESTED_POLICIES

FORMATS = ("jsonl", "conll", "brat")
SUFFIXES = {
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".conll": "conll",
    ".txt": "conll",
    ".tsv": "conll",
    ".iob": "conll",
    ".ann": "brat",
}


def detect_format(path: str | os.PathLike) -> str:
    """``jsonl``, ``conll`` or ``brat`` from a path's extension (a folder is brat).

    Raises:
        UsageError: the name does not say which format it is.
    """
    p = Path(path)
    if p.is_dir():
        return "brat"
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        known = " ".join(sorted(SUFFIXES))
        raise UsageError(
            f"cannot tell the format of {p} from its name (known endings: {known}); "
            "pass --format jsonl|conll|brat"
        )
    return fmt


def read_documents(
    path: str | os.PathLike,
    fmt: str | None = None,
    *,
    label_set: LabelSet | str | None = None,
    nested: str = DEFAULT_NESTED,
    layers: Sequence[str] = LAYERS,
    conll_layers: Sequence[str] | None = None,
    repair: bool = False,
) -> ReadResult:
    """Read one file (or brat folder) and collect every problem.

    Args:
        path: a ``.jsonl``/CoNLL file, a ``.ann``/``.txt`` brat file or a folder of pairs.
        fmt: ``jsonl``, ``conll`` or ``brat``; detected from the name when ``None``.
        label_set: a preset (or its name) whose labels are allowed; ``None`` allows any.
        nested: overlapping spans of one layer: ``keep`` (nested ones; crossing ones
            are errors), ``error`` (any overlap), ``outer``, ``inner`` (keep one, count
            the other in ``stats["dropped_nested"]``).
        layers: the layers to keep; the others are read, checked and emptied.
        conll_layers: the layer of each CoNLL tag column, in order; by default one
            column is ``entities`` and two are ``entities, triggers``.
        repair: turn CoNLL ``I-`` tags that continue nothing into ``B-`` (counted in
            ``stats["repaired_i"]``) instead of reporting them.

    Returns:
        The documents without errors, every error, counters and notices. A file
        that holds no document at all is an error ("no documents").

    Raises:
        UsageError: the path does not exist, or an option is invalid.
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"no such file or folder: {p}")
    fmt = fmt or detect_format(p)
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if nested not in NESTED_POLICIES:
        raise UsageError(f"unknown nested policy {nested!r}; choose {', '.join(NESTED_POLICIES)}")
    layers = check_layers(layers, "layers")
    if isinstance(label_set, str):
        try:
            label_set = get_label_set(label_set)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if fmt != "brat" and p.is_dir():
        raise UsageError(f"{p} is a folder; {fmt} reads one file (a folder is brat)")
    col_layers = check_layers(conll_layers, "conll_layers") if conll_layers else None
    result = ReadResult()
    try:
        if fmt == "jsonl":
            read_jsonl(p, result, label_set=label_set, nested=nested, layers=layers)
        elif fmt == "conll":
            read_conll(
                p,
                result,
                label_set=label_set,
                layers=layers,
                conll_layers=col_layers,
                repair=repair,
            )
        else:
            read_brat(p, result, label_set=label_set, nested=nested, layers=layers)
    except OSError as exc:  # unreadable file: permissions, a folder where a file should be
        raise UsageError(f"cannot read {exc.filename or p}: {exc.strerror or exc}") from None
    if not result.documents and not result.errors:
        result.errors.append(DataError("no documents", path=str(p), fix=NO_DOCUMENTS_FIX))
    result.stats["documents"] = len(result.documents)
    result.errors.sort(key=lambda e: (e.path or "", e.line or 0))  # stable: file order
    return result


def read_many(paths: Iterable[str | os.PathLike], fmt: str | None = None, **kw: Any) -> ReadResult:
    """Read several files into one result; a repeated document id is an error naming both places.

    Args:
        paths: files or brat folders.
        fmt: the format of all of them, or ``None`` to detect each from its name.
        **kw: options of :func:`read_documents`.

    Returns:
        The concatenation of every file's result.
    """
    out = ReadResult()
    for path in paths:
        r = read_documents(path, fmt, **kw)
        out.errors.extend(r.errors)
        for doc in r.documents:
            out.add(doc, *r.locations[doc.id])
        out.stats.update(r.stats)
        out.notes.extend(r.notes)
    out.stats["documents"] = len(out.documents)
    return out


def load_documents(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    fmt: str | None = None,
    *,
    stats: collections.Counter | None = None,
    **kw: Any,
) -> Documents:
    """Read documents strictly: the first problem is raised.

    Args:
        paths: one path or several.
        fmt: as :func:`read_many`.
        stats: a counter that receives the reader's counters (what was dropped).
        **kw: options of :func:`read_documents`.

    Returns:
        Every document, in file order; ``.dropped`` counts the spans the nested
        policy and the layer selection dropped, per reason (``nested``, ``layer``).

    Raises:
        DataError: the first problem, saying how many more there are.
        UsageError: a path is missing or an option is invalid.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    result = read_many(paths, fmt, **kw)
    if stats is not None:
        stats.update(result.stats)
    if result.errors:
        first = result.errors[0]
        more = len(result.errors) - 1
        reason = first.reason + (f" ({first.fix})" if first.fix else "")
        if more:
            reason += f" (and {more} more error{'s' if more > 1 else ''}; run araevent validate)"
        err = DataError(reason, path=first.path, line=first.line, doc_id=first.doc_id)
        err.fix = first.fix
        raise err
    return Documents(result.documents, result.dropped)
