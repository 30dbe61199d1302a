"""JSONL: one document of the schema (:mod:`araevent.schema`) per line.

:func:`parse_line` is the one reader of a JSONL line: files, standard input and
``araevent predict`` all read lines through it. A line is decoded strictly
(:func:`decode_json_line`: no key twice, no lone surrogate, bounded depth).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from araevent.errors import DataError, UsageError
from araevent.formats.base import (
    ReadResult,
    atomic_write_bytes,
    check_layers,
    count_arguments,
    not_utf8,
    read_lines,
)
from araevent.labels import LAYERS, LabelSet
from araevent.schema import (
    DEFAULT_NESTED,
    NESTED_POLICIES,
    Document,
    ParseResult,
    parse_document,
)

SCHEMA_FIX = (
    'a document is {"id": str, "text": str, "entities": [{"start": int, "end": int, '
    '"label": str}], "triggers": [...]}'
)

_ID_IN_LINE = re.compile(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
MAX_JSON_DEPTH = 100  # nesting levels of one JSON line (a document is 1, a span 3)


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
    layers = check_layers(layers, "layers")
    read_jsonl(
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


def _guess_id(line: str) -> str | None:
    """The ``"id"`` of a line that does not parse, when it can be seen (for messages)."""
    m = _ID_IN_LINE.search(line)
    if not m:
        return None
    try:
        return json.loads(f'"{m.group(1)}"')
    except json.JSONDecodeError:
        return m.group(1)


def with_schema_fix(err: DataError) -> DataError:
    """Give a schema error that has no fix the schema as its fix."""
    if err.fix:
        return err
    return DataError(err.reason, path=err.path, line=err.line, doc_id=err.doc_id, fix=SCHEMA_FIX)


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


def parse_line(
    line: str,
    *,
    path: str | None,
    line_no: int | None,
    label_set: LabelSet | None = None,
    nested: str = DEFAULT_NESTED,
    layers: Sequence[str] = LAYERS,
) -> tuple[ParseResult, Any]:
    """Read one JSONL line as a document: the one JSONL document parser.

    Returns:
        ``(result, obj)``: the schema's :class:`ParseResult` (its errors carry the
        schema as their fix when they have none) and the decoded object (``None``
        when the line is not valid JSON).
    """
    obj, problem = decode_json_line(line)
    if problem is not None:
        what, fix = problem
        err = DataError(what, path=path, line=line_no, doc_id=_guess_id(line), fix=fix)
        return ParseResult(None, [err]), None
    r = parse_document(
        obj, path=path, line=line_no, label_set=label_set, nested=nested, layers=tuple(layers)
    )
    r.errors = [with_schema_fix(e) for e in r.errors]
    return r, obj


def read_jsonl(
    path: Path,
    result: ReadResult,
    *,
    label_set: LabelSet | None,
    nested: str,
    layers: tuple[str, ...],
    data: bytes | None = None,
    first_line: int = 1,
) -> None:
    """Read a JSONL file (or ``data``, its bytes) into ``result``."""
    p = str(path)
    lines, bad = read_lines(path, data, first_line)
    for n, line in lines:
        if line is None:
            what, lossy = bad[n]
            result.errors.append(not_utf8(p, n, what, _guess_id(lossy)))
            continue
        if not line.strip():
            continue
        r, obj = parse_line(
            line, path=p, line_no=n, label_set=label_set, nested=nested, layers=layers
        )
        result.stats["nested"] += r.nested
        result.stats["dropped_nested"] += r.dropped_nested
        result.stats["dropped_layer"] += r.dropped_layer
        result.errors.extend(r.errors)
        if r.document is not None:
            kept = count_arguments(r.document.triggers)
            result.stats["dropped_arguments"] += _raw_arguments(obj) - kept
            result.add(r.document, p, n)


def jsonl_line(doc: Document) -> str:
    """One document as a JSONL line (with its newline); span ``text`` is always written."""
    return json.dumps(doc.to_dict(), ensure_ascii=False) + "\n"


def write_jsonl(docs: Iterable[Document], path: str | os.PathLike) -> None:
    """Write documents as JSONL, atomically."""
    atomic_write_bytes(path, "".join(jsonl_line(d) for d in docs).encode("utf-8"))
