"""Readers and writers: JSONL (the schema), CoNLL, brat standoff, and Hugging Face datasets.

Readers never stop at the first problem: :func:`read_documents` returns every
document that is clean together with every error (each naming the file, line,
document id and the fix), counters and notices. :func:`load_documents` is the
strict form training uses: it raises the first error and says (``.dropped``)
how many spans the nested policy and the layer selection dropped. Writers are
atomic: a temporary file (or folder) in the target's directory is moved into
place only when everything has been written, so a failed conversion leaves
nothing behind. A brat folder that is not empty is refused unless
``overwrite``; then only the files written are replaced, nothing is deleted.

CoNLL: a token, then one IOB2 tag column per layer, whitespace-separated; a
blank line ends a sentence. Without ``-DOCSTART-`` lines each sentence is a
document; with them each ``-DOCSTART-`` starts a document whose sentences are
joined with one space. Ids are ``<file stem>-<n>``; the text is the tokens
joined by one space, and the tokens are kept as units, as given, in
``doc.extra["tokens"]`` (``[[start, end], ...]``; the JSONL key ``tokens``):
the CoNLL writer writes those tokens back, so JSONL → CoNLL → JSONL → CoNLL
is stable.

brat standoff: ``X.txt`` + ``X.ann``. ``T`` lines are spans; an ``E`` line
makes its trigger ``T`` an event trigger labelled with the event type, and its
``Role:T3`` pairs the trigger's arguments (brat's numbered repeats ``Victim2``
read as ``Victim``); every other ``T`` is an entity, except a ``T`` of the type
``Argument``: an argument span that is no entity. An ``E`` line with arguments
is annotated for arguments; one without is not (``arguments`` is ``None``)
unless an ``A`` line marks it ``NoArguments`` (annotated: none). Relations,
other attributes, normalisations, notes and events as arguments are counted
and reported, not imported. CoNLL holds no arguments: writing it counts them
(:func:`write_documents` returns ``{"arguments_not_written": n}``).
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from araevent.errors import DataError, UsageError
from araevent.labels import LAYERS, LabelSet, get_label_set, is_valid_label
from araevent.schema import (
    DEFAULT_NESTED,
    NESTED_POLICIES,
    Argument,
    Document,
    Span,
    argument_errors,
    overlap_errors,
    overlapping_pairs,
    parse_document,
    resolve_overlaps,
)
from araevent.tagging import OUTSIDE, spans_to_tags
from araevent.text import KnownWords, Unit, split_units

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
DOCSTART = "-DOCSTART-"
SCHEMA_FIX = (
    'a document is {"id": str, "text": str, "entities": [{"start": int, "end": int, '
    '"label": str}], "triggers": [...]}'
)
TAG_FIX = "a tag is O, B-LABEL or I-LABEL with LABEL matching [A-Za-z][A-Za-z0-9_.:-]*"
BRAT_KINDS = {
    "R": "relation",
    "*": "relation",
    "A": "attribute",
    "M": "attribute",
    "N": "normalization",
    "#": "note",
}
BRAT_NAMES = {
    "argument": "event argument",
    "argument_span": "argument span in no event",
    "relation": "relation",
    "attribute": "attribute",
    "normalization": "normalization",
    "note": "note",
}
BRAT_ARGUMENT = "Argument"  # the brat type of an argument span that is no entity
BRAT_NO_ARGUMENTS = "NoArguments"  # the brat attribute of an event annotated with no arguments
_TAG = re.compile(r"([BI])-(.+)\Z")
_REPEAT = re.compile(r"\d+\Z")
_ID_IN_LINE = re.compile(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
MAX_JSON_DEPTH = 100  # nesting levels of one JSON line (a document is 1, a span 3)
NO_DOCUMENTS_FIX = "the file is empty or holds only blank lines or -DOCSTART- lines"
DROP_REASONS = {
    "dropped_nested": "nested spans dropped (--nested {nested} keeps one span of each "
    "overlapping pair)",
    "dropped_layer": "spans dropped (their layer is not selected by --layers)",
    "dropped_arguments": "arguments dropped with their triggers (by --nested {nested} or --layers)",
}


@dataclass
class ReadResult:
    """What reading produced: clean documents, every error, counters and notices.

    ``locations`` maps each document id to the ``(path, line)`` it came from.
    """

    documents: list[Document] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)
    stats: collections.Counter = field(default_factory=collections.Counter)
    notes: list[str] = field(default_factory=list)
    locations: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    @property
    def dropped(self) -> dict[str, int]:
        """Spans the reading dropped, per reason (``nested``, ``layer``); empty when none."""
        return {
            key.removeprefix("dropped_"): self.stats[key] for key in DROP_REASONS if self.stats[key]
        }

    def add(self, doc: Document, path: str, line: int | None) -> None:
        """Append ``doc``, or record an error naming both places if its id is taken."""
        if doc.id in self.locations:
            first_path, first_line = self.locations[doc.id]
            first = f"{first_path}:{first_line}" if first_line is not None else first_path
            self.errors.append(
                DataError(
                    f"duplicate document id {doc.id!r}, first seen at {first}",
                    path=path,
                    line=line,
                    doc_id=doc.id,
                    fix="give every document a unique id",
                )
            )
            return
        self.locations[doc.id] = (path, line)
        self.documents.append(doc)


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
    layers = _check_layers(layers, "layers")
    if isinstance(label_set, str):
        try:
            label_set = get_label_set(label_set)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if fmt != "brat" and p.is_dir():
        raise UsageError(f"{p} is a folder; {fmt} reads one file (a folder is brat)")
    col_layers = _check_layers(conll_layers, "conll_layers") if conll_layers else None
    result = ReadResult()
    try:
        if fmt == "jsonl":
            _read_jsonl(p, result, label_set=label_set, nested=nested, layers=layers)
        elif fmt == "conll":
            _read_conll(
                p,
                result,
                label_set=label_set,
                layers=layers,
                conll_layers=col_layers,
                repair=repair,
            )
        else:
            _read_brat(p, result, label_set=label_set, nested=nested, layers=layers)
    except OSError as exc:  # unreadable file: permissions, a folder where a file should be
        raise UsageError(f"cannot read {exc.filename or p}: {exc.strerror or exc}") from None
    if not result.documents and not result.errors:
        result.errors.append(DataError("no documents", path=str(p), fix=NO_DOCUMENTS_FIX))
    result.stats["documents"] = len(result.documents)
    result.errors.sort(key=lambda e: (e.path or "", e.line or 0))  # stable: file order
    return result


def read_jsonl_bytes(
    data: bytes,
    name: str,
    *,
    nested: str = "error",
    layers: Sequence[str] = LAYERS,
    first_line: int = 1,
) -> ReadResult:
    """Read JSONL documents already in memory (standard input, say) as :func:`read_documents`.

    ``name`` stands for the file in messages (``<stdin>``); ``first_line`` is the line
    number of ``data``'s first line when it is a block of a longer file (a UTF-8 BOM
    is dropped only from line 1).
    """
    if nested not in NESTED_POLICIES:
        raise UsageError(f"unknown nested policy {nested!r}; choose {', '.join(NESTED_POLICIES)}")
    result = ReadResult()
    layers = _check_layers(layers, "layers")
    _read_jsonl(
        Path(name),
        result,
        label_set=None,
        nested=nested,
        layers=layers,
        data=data,
        first_line=first_line,
    )
    result.stats["documents"] = len(result.documents)
    result.errors.sort(key=lambda e: (e.path or "", e.line or 0))
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


class Documents(list):
    """A list of documents that also says what reading dropped (``dropped``: reason → count)."""

    dropped: dict[str, int]

    def __init__(self, docs: Iterable[Document] = (), dropped: dict[str, int] | None = None):
        super().__init__(docs)
        self.dropped = dict(dropped or {})


def describe_dropped(dropped: dict[str, int], nested: str = "") -> list[str]:
    """One phrase per reason: ``3 nested/overlapping spans dropped by --nested outer``."""
    return [
        f"{n} {DROP_REASONS['dropped_' + reason].format(nested=nested)}"
        for reason, n in dropped.items()
    ]


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
    try:
        _write(docs, p, fmt, conll_layers=conll_layers, known=known, overwrite=overwrite)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or p}: {exc.strerror or exc}") from None
    n_args = sum(count_arguments(d.triggers) for d in docs)
    return {"arguments_not_written": n_args} if fmt == "conll" and n_args else {}


def count_arguments(spans: Iterable[Span]) -> int:
    """How many arguments ``spans`` (triggers) carry."""
    return sum(len(s.arguments or ()) for s in spans)


def _raw_arguments(obj: Any) -> int:
    """How many arguments the triggers of a decoded JSON document hold (before any is dropped)."""
    triggers = obj.get("triggers") if isinstance(obj, dict) else None
    if not isinstance(triggers, list):
        return 0
    return sum(
        len(t["arguments"])
        for t in triggers
        if isinstance(t, dict) and isinstance(t.get("arguments"), list)
    )


def _write(
    docs: Sequence[Document],
    p: Path,
    fmt: str,
    *,
    conll_layers: Sequence[str] | None,
    known: KnownWords | None,
    overwrite: bool,
) -> None:
    if fmt == "jsonl":
        lines = [json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in docs]
        atomic_write_bytes(p, "".join(lines).encode("utf-8"))
    elif fmt == "conll":
        atomic_write_bytes(p, conll_text(docs, conll_layers=conll_layers, known=known).encode())
    elif fmt == "brat":
        _write_brat(docs, p, overwrite)
    else:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


# --- shared helpers -----------------------------------------------------------


def _check_layers(layers: Sequence[str] | None, what: str) -> tuple[str, ...]:
    layers = tuple(layers or ())
    bad = [x for x in layers if x not in LAYERS]
    if bad or len(set(layers)) != len(layers) or not layers:
        raise UsageError(
            f"{what} {list(layers)} is invalid; give each of {', '.join(LAYERS)} at most once"
        )
    return layers


def _guess_id(line: str) -> str | None:
    """The ``"id"`` of a line that does not parse, when it can be seen (for messages)."""
    m = _ID_IN_LINE.search(line)
    if not m:
        return None
    try:
        return json.loads(f'"{m.group(1)}"')
    except json.JSONDecodeError:
        return m.group(1)


def _with_fix(err: DataError) -> DataError:
    """Give a schema error that has no fix the schema as its fix."""
    if err.fix:
        return err
    return DataError(err.reason, path=err.path, line=err.line, doc_id=err.doc_id, fix=SCHEMA_FIX)


def _read_lines(
    path: Path, data: bytes | None = None, first_line: int = 1
) -> tuple[list[tuple[int, str | None]], dict[int, tuple[str, str]]]:
    """Numbered lines decoded one by one (a UTF-8 BOM is dropped); ``data`` is the file's bytes.

    ``first_line``: the number of ``data``'s first line (a BOM is dropped only from line 1).

    Returns:
        ``(lines, bad)``: a line that is not UTF-8 is ``None`` in ``lines`` and
        ``bad[n]`` holds ``(what is wrong, the line decoded with replacements)``.
    """
    data = path.read_bytes() if data is None else data
    if first_line == 1 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    lines: list[tuple[int, str | None]] = []
    bad: dict[int, tuple[str, str]] = {}
    for n, raw in enumerate(data.split(b"\n"), start=first_line):
        try:
            lines.append((n, raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            what = f"line is not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}"
            bad[n] = (what, raw.decode("utf-8", "replace"))
            lines.append((n, None))
    return lines, bad


def _not_utf8(path: Path | str, line: int, what: str, doc_id: str | None) -> DataError:
    return DataError(
        what, path=str(path), line=line, doc_id=doc_id, fix="re-save the file as UTF-8"
    )


def _resolve_nested(
    spans: list[Span],
    layer: str,
    nested: str,
    result: ReadResult,
    where: dict[str, Any],
    line_of: dict[Span, int | None],
) -> tuple[list[Span], bool]:
    """Apply the nested policy to one layer; return ``(kept, ok)``."""
    n_pairs, errors = overlap_errors(spans, layer, nested, where, line_of=line_of)
    result.stats["nested"] += n_pairs
    if errors:
        result.errors.extend(errors)
        return spans, False
    kept, dropped = resolve_overlaps(spans, nested)
    result.stats["dropped_nested"] += len(dropped)
    result.stats["dropped_arguments"] += count_arguments(dropped)
    return kept, True


# --- JSONL --------------------------------------------------------------------


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def decode_json_line(line: str) -> tuple[Any, tuple[str, str] | None]:
    r"""Decode one JSONL line strictly: ``(object, None)`` or ``(None, (what, fix))``.

    Besides invalid JSON this rejects a key given twice in one object (JSON
    readers disagree on which one wins), nesting deeper than
    :data:`MAX_JSON_DEPTH` levels, and strings holding a lone UTF-16 surrogate
    (``"\ud800"``: not a character, it cannot be written as UTF-8).
    """
    fix = "each line must be one complete JSON object"
    try:
        obj = json.loads(line, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        return None, (f"invalid JSON: {exc.msg} at column {exc.colno}", fix)
    except _DuplicateKey as exc:
        return None, (f"key {exc.key!r} appears twice in one object", "give each key once")
    except RecursionError:  # deeper than the interpreter's limit
        return None, (
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
            "flatten the extra keys",
        )
    depth, bad_string = 1, False
    # only a line with that many brackets can be that deep, and only an escape (or a
    # surrogate already in the line) gives a lone surrogate: most lines skip the walk
    if (
        line.count("{") + line.count("[") > MAX_JSON_DEPTH
        or _SURROGATE_ESCAPE.search(line)
        or _SURROGATE.search(line)
    ):
        depth, bad_string = _depth_and_surrogates(obj)
    if depth > MAX_JSON_DEPTH:
        return None, (
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
            "flatten the extra keys",
        )
    if bad_string:
        col = _surrogate_column(line)
        at = f" at column {col}" if col is not None else ""
        return None, (
            f"a string holds a lone surrogate (an unpaired \\uD800-\\uDFFF escape){at}",
            "remove it or write the whole character (a surrogate pair or the character itself)",
        )
    return obj, None


def _depth_and_surrogates(obj: Any) -> tuple[int, bool]:
    """The nesting depth of a decoded JSON value, and whether a string in it has a surrogate."""
    deepest, bad = 0, False
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            deepest = max(deepest, depth)
            stack += [(k, depth) for k in value]
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            deepest = max(deepest, depth)
            stack += [(v, depth + 1) for v in value]
        elif isinstance(value, str) and _SURROGATE.search(value):
            bad = True
        if deepest > MAX_JSON_DEPTH:
            break
    return deepest, bad


def _surrogate_column(line: str) -> int | None:
    """The 1-based column of the first lone surrogate escape in a JSON line, if any."""
    pending: int | None = None  # column of a high surrogate waiting for its low half
    pending_end = -1
    for m in _SURROGATE_ESCAPE.finditer(line):
        if len(m.group(1)) % 2 == 0:  # an escaped backslash, not an escape
            continue
        code = int(m.group(2), 16)
        col = m.start() + len(m.group(1))  # the 1-based column of the backslash
        if pending is not None:
            if code >= 0xDC00 and m.start() == pending_end:
                pending = None
                continue
            return pending
        if code >= 0xDC00:
            return col
        pending, pending_end = col, m.end()
    return pending


def _read_jsonl(
    path: Path,
    result: ReadResult,
    *,
    label_set: LabelSet | None,
    nested: str,
    layers: tuple[str, ...],
    data: bytes | None = None,
    first_line: int = 1,
) -> None:
    p = str(path)
    lines, bad = _read_lines(path, data, first_line)
    for n, line in lines:
        if line is None:
            what, lossy = bad[n]
            result.errors.append(_not_utf8(p, n, what, _guess_id(lossy)))
            continue
        if not line.strip():
            continue
        obj, problem = decode_json_line(line)
        if problem is not None:
            what, fix = problem
            result.errors.append(DataError(what, path=p, line=n, doc_id=_guess_id(line), fix=fix))
            continue
        r = parse_document(obj, path=p, line=n, label_set=label_set, nested=nested, layers=layers)
        result.stats["nested"] += r.nested
        result.stats["dropped_nested"] += r.dropped_nested
        result.stats["dropped_layer"] += r.dropped_layer
        result.errors.extend(_with_fix(e) for e in r.errors)
        if r.document is not None:
            kept = count_arguments(r.document.triggers)
            result.stats["dropped_arguments"] += _raw_arguments(obj) - kept
            result.add(r.document, p, n)


# --- CoNLL --------------------------------------------------------------------


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


def _read_conll(
    path: Path,
    result: ReadResult,
    *,
    label_set: LabelSet | None,
    layers: tuple[str, ...],
    conll_layers: tuple[str, ...] | None,
    repair: bool,
) -> None:
    lines, bad = _read_lines(path)
    _read_conll_lines(
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


def _read_conll_lines(
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
            result.errors.append(_not_utf8(p, row.line, (bad or {})[row.line][0], b.doc_id))
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
        spans[layer] = _column_spans(
            ok_rows, k, layer, starts, tokens, where, result, label_set, repair
        )
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
    label_set: LabelSet | None,
    repair: bool,
) -> list[Span]:
    """Spans of tag column ``k``; malformed tags and orphan ``I-`` tags are reported."""
    spans: list[Span] = []
    open_span: tuple[int, str] | None = None  # (first token, label)

    def close(last: int) -> None:
        nonlocal open_span
        if open_span is not None:
            a, label = open_span
            spans.append(Span(starts[a], starts[last] + len(tokens[last]), label))
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
                    open_span = (i, label)
                    if label_set is not None and not label_set.allows(layer, label):
                        result.errors.append(
                            DataError(
                                f"{layer} label {label!r} is not in the {label_set.name} label set",
                                line=row.line,
                                fix="use --labels any or fix the label",
                                **where,
                            )
                        )
                prev = (prefix, label)
            prev_tag = tag
            i += 1
        close(i - 1)
    return spans


def document_units(doc: Document, known: KnownWords | None = None) -> list[Unit]:
    """A document's units: its corpus tokens, else the units of the proclitic rule.

    The corpus tokens are ``doc.extra["tokens"]``, as a CoNLL file gave them.
    """
    tokens = doc.extra.get("tokens")
    if tokens is not None:
        return [Unit(a, b, doc.text[a:b]) for a, b in tokens]
    return split_units(doc.text, known)


def _unit_problems(doc: Document, units: Sequence[Unit]) -> list[str]:
    """Why ``units`` cannot be CoNLL lines of ``doc``: a unit with a space, text left out."""
    problems = [
        f"{doc.id}: unit [{u.start}, {u.end}) {u.text!r} contains whitespace"
        for u in units
        if not u.text or any(c.isspace() for c in u.text)
    ]
    pos = 0
    for u in [*units, Unit(len(doc.text), len(doc.text), "")]:
        gap = doc.text[pos : u.start]
        if gap.strip():
            problems.append(f"{doc.id}: text [{pos}, {u.start}) {gap.strip()!r} is in no unit")
            break
        pos = max(pos, u.end)
    return problems


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
    if conll_layers is None:
        conll_layers = LAYERS if any(d.triggers for d in docs) else ("entities",)
    conll_layers = _check_layers(conll_layers, "conll_layers")
    known = KnownWords.shipped() if known is None else known
    if units is not None and len(units) != len(docs):
        raise ValueError(f"{len(units)} unit lists for {len(docs)} documents")
    problems: list[str] = []
    blocks: list[str] = []
    for i, doc in enumerate(docs):
        doc_units = list(units[i]) if units is not None else document_units(doc, known)
        unit_problems = _unit_problems(doc, doc_units)
        if unit_problems:
            problems += unit_problems
            continue
        columns = []
        for layer in conll_layers:
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
        rows = [" ".join((u.text, *col)) for u, *col in zip(doc_units, *columns, strict=True)]
        blocks.append("".join(r + "\n" for r in rows) + "\n")
    if problems:
        raise DataError(
            f"{len(problems)} span(s) cannot be written as CoNLL tags: " + "; ".join(problems),
            fix="spans must start and end at unit edges and not overlap in a layer "
            "(keep one of each nested pair: --nested outer|inner); or convert to jsonl "
            "or brat, which keep any character span",
        )
    return "".join(blocks)


# --- brat standoff ------------------------------------------------------------


def _brat_pairs(path: Path, result: ReadResult) -> list[tuple[Path, Path]]:
    """``(txt, ann)`` pairs of a folder, or the pair of one ``.ann``/``.txt``."""
    if path.is_dir():
        anns = {p.stem: p for p in path.glob("*.ann")}
        txts = {p.stem: p for p in path.glob("*.txt")}
        if not anns and not txts:
            result.errors.append(
                DataError(
                    "no .ann/.txt pairs in this folder",
                    path=str(path),
                    fix="a brat folder holds X.txt and X.ann for every document",
                )
            )
        for stem in sorted(set(txts) - set(anns)):
            result.errors.append(
                DataError(
                    "has no .ann beside it",
                    path=str(txts[stem]),
                    doc_id=stem,
                    fix=f"add an empty {stem}.ann if the document has no annotations",
                )
            )
        stems = sorted(set(anns))
        pairs = [(path / f"{s}.txt", anns[s]) for s in stems]
    else:
        pairs = [(path.with_suffix(".txt"), path.with_suffix(".ann"))]
    out = []
    for txt, ann in pairs:
        missing = [p for p in (txt, ann) if not p.is_file()]
        if missing:
            result.errors.append(
                DataError(
                    f"{missing[0].name} is missing",
                    path=str(ann if txt in missing else txt),
                    doc_id=txt.stem,
                    fix="brat documents are X.txt and X.ann side by side",
                )
            )
            continue
        out.append((txt, ann))
    return out


def _read_brat(
    path: Path,
    result: ReadResult,
    *,
    label_set: LabelSet | None,
    nested: str,
    layers: tuple[str, ...],
) -> None:
    before = collections.Counter(result.stats)
    for txt, ann in _brat_pairs(path, result):
        doc = _brat_document(txt, ann, result, label_set, nested, layers)
        if doc is not None:
            result.add(doc, str(ann), None)
    counts = {
        k.removeprefix("brat_unimported_"): v - before[k]
        for k, v in result.stats.items()
        if k.startswith("brat_unimported_") and v > before[k]
    }
    if counts:
        what = ", ".join(
            f"{v} {BRAT_NAMES[k]}{'s' if v > 1 else ''}" for k, v in sorted(counts.items())
        )
        result.notes.append(
            f"{path}: not imported (araevent reads T spans, E triggers and their arguments "
            f"only): {what}"
        )


def _brat_document(
    txt: Path,
    ann: Path,
    result: ReadResult,
    label_set: LabelSet | None,
    nested: str,
    layers: tuple[str, ...],
) -> Document | None:
    doc_id = txt.stem
    n_errors = len(result.errors)
    raw = txt.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.errors.append(
            DataError(
                f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}",
                path=str(txt),
                line=raw[: exc.start].count(b"\n") + 1,
                doc_id=doc_id,
                fix="re-save the file as UTF-8",
            )
        )
        return None
    if not text.strip():
        result.errors.append(
            DataError(
                "text is empty",
                path=str(txt),
                doc_id=doc_id,
                fix="remove the document or give it text",
            )
        )
        return None
    a = str(ann)
    t_lines: dict[str, tuple[int, str, str, str | None]] = {}  # id -> (line, label, offs, text)
    events: list[_BratEvent] = []
    no_args: set[str] = set()  # E ids marked NoArguments
    id_lines: dict[str, int] = {}  # annotation id -> the line that first gave it
    lines, bad = _read_lines(ann)
    for n, line in lines:
        if line is None:
            result.errors.append(_not_utf8(ann, n, bad[n][0], doc_id))
            continue
        line = line.rstrip("\r")
        if not line.strip():
            continue
        where = {"path": a, "line": n, "doc_id": doc_id}
        parts = line.split("\t")
        kind = line[0]
        if kind in "TE" and parts[0] in id_lines:
            result.errors.append(
                DataError(
                    f"annotation id {parts[0]} is given twice: lines {id_lines[parts[0]]} and {n}",
                    fix="give every T and E line its own id",
                    **where,
                )
            )
            continue
        if kind in "TE":
            id_lines[parts[0]] = n
        if kind == "T" and len(parts) >= 2:
            label, _, offs = parts[1].partition(" ")
            t_lines[parts[0]] = (n, label, offs, parts[2] if len(parts) > 2 else None)
        elif kind == "E" and len(parts) >= 2 and parts[1].split():
            first, *args = parts[1].split()
            etype, _, tid = first.rpartition(":")
            event = _BratEvent(n, parts[0], etype, tid)
            for arg in args:
                role, sep, ref = arg.rpartition(":")
                if not sep or not role or not ref:
                    result.errors.append(
                        DataError(
                            f"{parts[0]} argument {arg!r} is not Role:T",
                            fix="an E line reads E1<TAB>Type:T1 Role:T2",
                            **where,
                        )
                    )
                    continue
                event.args.append((_REPEAT.sub("", role) or role, ref))
            events.append(event)
        elif kind == "A" and len(parts) >= 2 and parts[1].split()[:1] == [BRAT_NO_ARGUMENTS]:
            no_args.update(parts[1].split()[1:2])
        elif kind in BRAT_KINDS:
            result.stats[f"brat_unimported_{BRAT_KINDS[kind]}"] += 1
        else:
            result.errors.append(
                DataError(
                    f"unrecognised annotation line {line[:40]!r}",
                    fix="brat lines start with T, E, R, *, A, M, N or # and are tab-separated",
                    **where,
                )
            )
    ranges: dict[str, tuple[int, int] | None] = {
        tid: _brat_offsets(tid, offs, text, span_text, {"path": a, "line": n, "doc_id": doc_id},
                           result)
        for tid, (n, _label, offs, span_text) in t_lines.items()
    }  # fmt: skip
    event_ids = {e.eid for e in events}
    # (trigger T, event type) -> (E line, arguments or None)
    triggers: dict[tuple[str, str], tuple[int, list[Argument] | None]] = {}
    referenced: set[str] = set()
    for e in events:
        where = {"path": a, "line": e.line, "doc_id": doc_id}
        if e.tid not in t_lines:
            result.errors.append(
                DataError(
                    f"event trigger {e.tid!r} is not a T line of this file",
                    fix="an E line reads E1<TAB>Type:T1 Role:T2",
                    **where,
                )
            )
            continue
        args: list[Argument] = []
        for role, ref in e.args:
            if ref in event_ids and ref not in t_lines:
                result.stats["brat_unimported_argument"] += 1  # an event as an argument
            elif ref not in t_lines:
                result.errors.append(
                    DataError(
                        f"{e.eid} argument {role}:{ref}: {ref} is not a T line of this file",
                        fix="an argument refers to the T line of its span",
                        **where,
                    )
                )
            elif not is_valid_label(role):
                result.errors.append(
                    DataError(
                        f"{e.eid} role {role!r} is malformed",
                        fix="roles match [A-Za-z][A-Za-z0-9_.:-]*",
                        **where,
                    )
                )
            elif (got := ranges[ref]) is not None:
                referenced.add(ref)
                args.append(Argument(*got, role))
        line, before = triggers.get((e.tid, e.etype), (e.line, None))
        annotated = before is not None or bool(e.args) or e.eid in no_args
        triggers[(e.tid, e.etype)] = (line, [*(before or []), *args] if annotated else None)
    spans: dict[str, list[Span]] = {layer: [] for layer in LAYERS}
    line_of: dict[Span, int | None] = {}
    trigger_tids = {tid for tid, _ in triggers}
    for tid, (n, label, _offs, _text) in t_lines.items():
        span_range = ranges[tid]
        if span_range is None:
            continue
        if tid not in trigger_tids and label == BRAT_ARGUMENT:  # an argument span, no entity
            if tid not in referenced:
                result.stats["brat_unimported_argument_span"] += 1
            continue
        targets = [(lab, args) for (t, lab), (_, args) in triggers.items() if t == tid]
        layer = "triggers" if targets else "entities"
        for lab, args in targets or [(label, None)]:
            where = {"path": a, "line": n, "doc_id": doc_id}
            if not is_valid_label(lab):
                result.errors.append(
                    DataError(
                        f"{tid} label {lab!r} is malformed",
                        fix="labels match [A-Za-z][A-Za-z0-9_.:-]*",
                        **where,
                    )
                )
                continue
            if label_set is not None and not label_set.allows(layer, lab):
                result.errors.append(
                    DataError(
                        f"{layer} label {lab!r} ({tid}) is not in the {label_set.name} label set",
                        fix="use --labels any or fix the label",
                        **where,
                    )
                )
                continue
            span = Span(*span_range, lab, arguments=None if args is None else tuple(args))
            e_line = triggers[(tid, lab)][0] if targets else n
            arg_errors = argument_errors(span, 0, label_set, {**where, "line": e_line})
            result.errors += [
                DataError(
                    err.reason.replace("triggers[0]", f"{tid} {lab}", 1),
                    fix=err.fix,
                    path=err.path,
                    line=err.line,
                    doc_id=err.doc_id,
                )
                for err in arg_errors
            ]
            if not arg_errors:
                spans[layer].append(span)
                line_of[span] = n
    where = {"path": a, "line": None, "doc_id": doc_id}
    for layer in LAYERS:
        spans[layer], _ = _resolve_nested(spans[layer], layer, nested, result, where, line_of)
    if len(result.errors) > n_errors:
        return None
    result.stats["dropped_layer"] += sum(len(spans[x]) for x in LAYERS if x not in layers)
    if "triggers" not in layers:
        result.stats["dropped_arguments"] += count_arguments(spans["triggers"])
    return Document(
        doc_id,
        text,
        spans["entities"] if "entities" in layers else [],
        spans["triggers"] if "triggers" in layers else [],
    )


@dataclass
class _BratEvent:
    """One ``E`` line: its line, id, type, trigger ``T`` and ``(role, ref)`` pairs."""

    line: int
    eid: str
    etype: str
    tid: str
    args: list[tuple[str, str]] = field(default_factory=list)


def _brat_offsets(
    tid: str,
    offs: str,
    text: str,
    span_text: str | None,
    where: dict[str, Any],
    result: ReadResult,
) -> tuple[int, int] | None:
    """Check a T line's offsets and text against the document; ``(start, end)`` or ``None``."""
    if ";" in offs:
        result.errors.append(
            DataError(
                f"{tid} is a discontinuous span ({offs}): not representable",
                fix="split it into separate T lines or make it one contiguous span",
                **where,
            )
        )
        return None
    try:
        start, end = (int(x) for x in offs.split())
    except ValueError:
        result.errors.append(
            DataError(
                f"{tid} offsets {offs!r} are not two integers",
                fix="a T line reads T1<TAB>LABEL START END<TAB>text",
                **where,
            )
        )
        return None
    if not 0 <= start < end <= len(text):
        problem = "start >= end" if start >= end else f"out of range for a text of {len(text)}"
        result.errors.append(
            DataError(
                f"{tid} [{start}, {end}) {problem}",
                fix="offsets are end-exclusive code points of the .txt",
                **where,
            )
        )
        return None
    got = text[start:end]
    if span_text is not None and span_text not in (got, _one_line(got)):
        result.errors.append(
            DataError(
                f"{tid} text {span_text!r} != .txt[{start}:{end}] {got!r}",
                fix="fix the offsets or the span text (the .txt is read as UTF-8, "
                "offsets in code points, CRLF counted as two)",
                **where,
            )
        )
        return None
    return start, end


def _one_line(s: str) -> str:
    return s.replace("\r", " ").replace("\n", " ")


def _safe_name(doc_id: str) -> bool:
    return doc_id not in (".", "..") and not re.search(r"[/\\\x00]", doc_id)


def _write_brat(docs: Sequence[Document], target: Path, overwrite: bool = False) -> None:
    bad = [d.id for d in docs if not _safe_name(d.id)]
    if bad:
        raise DataError(
            f"document id(s) {bad[:5]} cannot be brat file names",
            fix="ids used as brat file names cannot contain / or \\",
        )
    types = BratTypes()
    files: dict[str, bytes] = {}
    for doc in docs:
        files[f"{doc.id}.txt"] = doc.text.encode("utf-8")
        files[f"{doc.id}.ann"] = brat_ann(doc, types).encode("utf-8")
    files["annotation.conf"] = types.conf()
    tmp = brat_staging(target, overwrite)
    try:
        for name, data in files.items():
            write_staged(tmp / name, data)
        finish_brat(tmp, target, list(files))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class BratTypes:
    """The types an ``annotation.conf`` declares for the documents written so far."""

    entities: set[str] = field(default_factory=set)
    events: dict[str, set[str]] = field(default_factory=dict)  # event type -> its roles
    no_arguments: bool = False
    argument_spans: bool = False

    def conf(self) -> bytes:
        """The ``annotation.conf`` text for every type seen."""
        conf = [
            "[entities]",
            *sorted(self.entities),
            *([BRAT_ARGUMENT] if self.argument_spans else []),
            "",
            "[relations]",
            "",
            "[events]",
            *(
                f"{etype}\t" + ", ".join(f"{r}*:<ENTITY>" for r in sorted(roles))
                if roles
                else etype
                for etype, roles in sorted(self.events.items())
            ),
            "",
            "[attributes]",
            *([f"{BRAT_NO_ARGUMENTS}\tArg:<EVENT>"] if self.no_arguments else []),
            "",
        ]
        return "\n".join(conf).encode("utf-8")


def brat_ann(doc: Document, types: BratTypes) -> str:
    """One document's ``.ann`` text; the types it uses are added to ``types``.

    Raises:
        DataError: the id cannot be a file name, or a label or role cannot be written.
    """
    if not _safe_name(doc.id):
        raise DataError(
            f"document id(s) {[doc.id]} cannot be brat file names",
            fix="ids used as brat file names cannot contain / or \\",
        )
    ann: list[str] = []
    entities = sorted(doc.entities, key=lambda s: (s.start, s.end))
    triggers = sorted(doc.triggers, key=lambda s: (s.start, s.end))
    t_of: dict[tuple[int, int], str] = {}  # span -> the T an argument refers to
    for span in entities:
        if span.label == BRAT_ARGUMENT:
            raise DataError(
                f"entity label {BRAT_ARGUMENT!r} is the brat type of argument spans",
                doc_id=doc.id,
                fix="rename the entity label before writing brat",
            )
        t_of.setdefault((span.start, span.end), f"T{len(ann) + 1}")
        ann.append(_brat_t(len(ann) + 1, span.label, span.start, span.end, doc.text))
        types.entities.add(span.label)
    only = sorted({(a.start, a.end) for t in triggers for a in t.arguments or ()} - set(t_of))
    types.argument_spans = types.argument_spans or bool(only)
    for start, end in only:
        t_of[(start, end)] = f"T{len(ann) + 1}"
        ann.append(_brat_t(len(ann) + 1, BRAT_ARGUMENT, start, end, doc.text))
    n_t = len(ann)
    events: list[str] = []
    marks = 0  # A lines: events annotated with no arguments
    for k, span in enumerate(triggers, start=1):
        ann.append(_brat_t(n_t + k, span.label, span.start, span.end, doc.text))
        roles = types.events.setdefault(span.label, set())
        seen: collections.Counter = collections.Counter()
        line = f"E{k}\t{span.label}:T{n_t + k}"
        for arg in sorted(span.arguments or (), key=lambda x: (x.start, x.end, x.role)):
            if _REPEAT.search(arg.role):
                raise DataError(
                    f"trigger [{span.start}, {span.end}) {span.label}: role {arg.role!r} "
                    "ends in a digit, which brat reads as a repeat number",
                    doc_id=doc.id,
                    fix="rename the role before writing brat",
                )
            roles.add(arg.role)
            seen[arg.role] += 1
            n = seen[arg.role]
            line += f" {arg.role}{n if n > 1 else ''}:{t_of[(arg.start, arg.end)]}"
        events.append(line)
        if span.arguments == ():
            types.no_arguments, marks = True, marks + 1
            events.append(f"A{marks}\t{BRAT_NO_ARGUMENTS} E{k}")
    ann += events
    return "".join(x + "\n" for x in ann)


def brat_staging(target: Path, overwrite: bool = False) -> Path:
    """A new hidden folder beside ``target`` to write brat files into (after checking it).

    Raises:
        UsageError: see :func:`check_brat_target`.
    """
    check_brat_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))


def write_staged(path: Path, data: bytes) -> None:
    """Write one file of a staging folder with the permissions the umask gives."""
    path.write_bytes(data)
    os.chmod(path, 0o666 & ~_umask())


def finish_brat(tmp: Path, target: Path, names: Sequence[str]) -> None:
    """Move the staged files ``names`` into ``target`` (the whole folder when it is new).

    Raises:
        UsageError: a name in ``target`` is taken by something that is not a file.
    """
    if not target.exists():
        os.chmod(tmp, 0o777 & ~_umask())
        os.replace(tmp, target)
        return
    taken = [n for n in names if (target / n).exists() and not (target / n).is_file()]
    if taken:
        raise UsageError(f"{target / taken[0]} exists and is not a file; nothing written")
    for name in names:  # only the files this command writes; every other file stays
        os.replace(tmp / name, target / name)


def _brat_t(t: int, label: str, start: int, end: int, text: str) -> str:
    return f"T{t}\t{label} {start} {end}\t{_one_line(text[start:end])}"


def check_brat_target(target: str | os.PathLike, overwrite: bool = False) -> None:
    """Refuse a brat output folder that cannot be used, before any work is done.

    Raises:
        UsageError: the target is a file, or a folder that is not empty and
            ``overwrite`` is false.
    """
    target = Path(target)
    if not (target.exists() or target.is_symlink()):
        return
    if not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder; brat output is a folder")
    if not overwrite:
        held = sorted(p.name for p in target.iterdir())
        if held:
            raise UsageError(
                f"{target} is not empty ({len(held)} entries, e.g. {held[0]}); choose a new "
                "folder, or pass --overwrite to write into it (files of the same name are "
                "replaced, all others are kept)"
            )


# --- atomic files -------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --- Hugging Face datasets ----------------------------------------------------


def load_hub_split(data_settings: Any, split_name: str) -> list[Document]:
    """Load one split of a Hub dataset as documents.

    Rows are either in the document schema (``id``, ``text``, ``entities``,
    ``triggers``) or a tokens column plus an IOB2 tag column (``ClassLabel``
    ids are mapped to names through the dataset's features).

    Args:
        data_settings: ``araevent.config.DataSettings`` with ``hub`` holding
            ``hub_name``, ``hub_config``, ``revision``, ``tokens_column``, ``tags_column``.
        split_name: the dataset split (``train``, ``validation``, ...).

    Returns:
        The split's documents.

    Raises:
        UsageError: the dataset cannot be loaded (offline, unknown name or split).
        DataError: a row breaks the schema or holds malformed tags.
    """
    import datasets

    hub = dict(data_settings.hub or {})
    name = hub.get("hub_name")
    config = hub.get("hub_config")
    if not name:
        raise UsageError("data.hub_name is not set; name a Hugging Face dataset")
    try:
        ds = datasets.load_dataset(name, config, split=split_name, revision=hub.get("revision"))
    except (OSError, ValueError) as exc:  # ConnectionError, DatasetNotFoundError, bad split
        raise UsageError(
            f"cannot load split {split_name!r} of the Hugging Face dataset {name!r}"
            f"{f' (config {config!r})' if config else ''} ({type(exc).__name__}: {exc}); "
            "if the Hub is not reachable, use local files instead: "
            "data=jsonl data.dir=DIR (or data=conll, data=brat)"
        ) from None
    return hub_documents(
        ds,
        source=f"hf://{name}/{split_name}",
        id_prefix=split_name,
        tokens_column=hub.get("tokens_column") or "tokens",
        tags_column=hub.get("tags_column") or "ner_tags",
        label_set=get_label_set(data_settings.label_set),
        nested=data_settings.nested,
        layers=tuple(data_settings.layers),
        conll_layers=data_settings.conll_layers,
    )


def hub_documents(
    ds: Any,
    *,
    source: str,
    id_prefix: str,
    tokens_column: str = "tokens",
    tags_column: str = "ner_tags",
    label_set: LabelSet | None = None,
    nested: str = DEFAULT_NESTED,
    layers: Sequence[str] = LAYERS,
    conll_layers: Sequence[str] | None = None,
) -> list[Document]:
    """Documents from an in-memory ``datasets.Dataset`` (see :func:`load_hub_split`).

    Raises:
        DataError: the first bad row (row numbers count from 1), with the number of others.
        UsageError: the columns are neither the document schema nor tokens + tags.
    """
    columns = set(ds.column_names)
    result = ReadResult()
    layers = tuple(layers)
    if {"text"} <= columns and columns & set(LAYERS):
        for i, row in enumerate(ds, start=1):
            obj = _drop_none(row)
            obj.setdefault("id", f"{id_prefix}-{i}")
            r = parse_document(
                obj, path=source, line=i, label_set=label_set, nested=nested, layers=layers
            )
            result.errors.extend(_with_fix(e) for e in r.errors)
            if r.document is not None:
                result.add(r.document, source, i)
    elif {tokens_column, tags_column} <= columns:
        feature = ds.features[tags_column]
        names = getattr(getattr(feature, "feature", None), "names", None)
        layer = tuple(conll_layers or ("entities",))
        if len(layer) != 1:
            raise UsageError(f"one tag column ({tags_column}) needs one layer, not {layer}")
        lines: list[tuple[int, str | None]] = []  # "line" numbers are row numbers
        for i, row in enumerate(ds, start=1):
            tokens, tags = row[tokens_column], row[tags_column]
            if len(tokens) != len(tags):
                result.errors.append(
                    DataError(
                        f"{len(tokens)} tokens but {len(tags)} tags",
                        path=source,
                        line=i,
                        fix="give every token one tag",
                    )
                )
                continue
            names_ = [
                names[t] if names is not None and isinstance(t, int) else str(t) for t in tags
            ]
            lines += [(i, f"{tok} {tag}") for tok, tag in zip(tokens, names_, strict=True)]
            lines.append((i, ""))
        _read_conll_lines(
            lines,
            source,
            id_prefix,
            result,
            label_set=label_set,
            layers=layers,
            conll_layers=layer,
            repair=False,
        )
    else:
        raise UsageError(
            f"{source} has columns {sorted(columns)}: neither the document schema "
            f"(id, text, entities, triggers) nor {tokens_column} + {tags_column}; set "
            "data.tokens_column and data.tags_column"
        )
    if result.errors:
        first, more = result.errors[0], len(result.errors) - 1
        suffix = f" (and {more} more errors)" if more else ""
        raise DataError(
            first.reason + suffix,
            path=first.path,
            line=first.line,
            doc_id=first.doc_id,
            fix=first.fix,
        )
    return result.documents


def _drop_none(obj: Any) -> Any:
    """Arrow fills absent struct fields with ``None``; drop them so the schema sees them absent."""
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj
