"""Inline annotation markup used to author the bundled corpus.

One document per line: ``[التقى]{Contact:Meet} [محمد علي]{PER} في [القاهرة]{GPE}``.
A label with a colon is an event trigger, any other label an entity. Brackets
nest: ``[جامعة [القاهرة]{GPE}]{ORG}``. A proclitic stays outside the brackets:
``و[روسيا]{GPE}``. Lines starting with ``#`` and blank lines are skipped.
Literal ``[``, ``]``, ``{``, ``}`` are written with a backslash.

Event arguments: a trigger gets a number local to its line, ``{Life:Die#1}``,
and an argument span names the trigger and its role, ``{@1:Victim}``. One
bracket may carry several labels separated by ``|``: an entity that is also an
argument (``[حلب]{GPE|@1:Place}``) or an argument of two events
(``{@1:Place|@2:Place}``). A numbered trigger carries ``arguments`` (possibly
empty: annotated, none found); a trigger without a number has no ``arguments``
key (not annotated for arguments).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from araevent.errors import DataError
from araevent.labels import is_valid_label
from araevent.schema import Argument, Document, Span

_CLOSE = re.compile(r"\]\{([^{}\s]+)\}")
_TRIGGER_ID = re.compile(r"(?P<label>[^#@|]+)#(?P<id>[A-Za-z0-9]+)\Z")
_ARGUMENT = re.compile(r"@(?P<id>[A-Za-z0-9]+):(?P<role>[^|]+)\Z")


def parse_markup(
    line: str, *, path: str | None = None, lineno: int | None = None, doc_id: str | None = None
) -> tuple[str, list[Span], list[Span]]:
    """Turn one markup line into ``(text, entities, triggers)`` with exact offsets."""
    out: list[str] = []
    stack: list[int] = []
    entities: list[Span] = []
    events: dict[str, Span] = {}  # trigger number (or _k when unnumbered) -> trigger span
    arguments: list[tuple[str, int, int, str, int]] = []  # (number, start, end, role, column)
    pos = 0
    i = 0
    where = {"path": path, "line": lineno, "doc_id": doc_id}
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] in "[]{}\\":
            out.append(line[i + 1])
            pos += 1
            i += 2
        elif ch == "[":
            stack.append(pos)
            i += 1
        elif ch == "]":
            m = _CLOSE.match(line, i)
            if not m:
                raise DataError(
                    f"']' at column {i + 1} is not followed by {{LABEL}}",
                    fix="close a span as ]{LABEL}",
                    **where,
                )
            if not stack:
                raise DataError(f"']' at column {i + 1} closes nothing", **where)
            start = stack.pop()
            labels = m.group(1)
            if start == pos:
                raise DataError(f"empty span {labels} at column {i + 1}", **where)
            _add_labels(labels, start, pos, i + 1, entities, events, arguments, where)
            i = m.end()
        elif ch in "{}":
            raise DataError(f"stray {ch!r} at column {i + 1}", fix="escape it as \\" + ch, **where)
        else:
            out.append(ch)
            pos += 1
            i += 1
    if stack:
        raise DataError(f"{len(stack)} '[' never closed", **where)
    text = "".join(out)
    return text, entities, _attach_arguments(events, arguments, where)


def _add_labels(
    labels: str,
    start: int,
    end: int,
    column: int,
    entities: list[Span],
    events: dict[str, Span],
    arguments: list[tuple[str, int, int, str, int]],
    where: dict,
) -> None:
    """Record what one ``{...}`` says about the span ``[start, end)``."""
    for item in labels.split("|"):
        arg = _ARGUMENT.match(item)
        trig = _TRIGGER_ID.match(item)
        if arg:
            role = arg.group("role")
            if not is_valid_label(role):
                raise DataError(f"role {role!r} at column {column} is not a label", **where)
            arguments.append((arg.group("id"), start, end, role, column))
        elif trig or ":" in item:
            label = trig.group("label") if trig else item
            number = trig.group("id") if trig else f"_{len(events)}"
            if number in events:
                raise DataError(
                    f"trigger #{number} at column {column} is numbered twice",
                    fix="give each trigger of a line its own number",
                    **where,
                )
            events[number] = Span(start, end, label)
        elif is_valid_label(item):
            entities.append(Span(start, end, item))
        else:
            raise DataError(f"label {item!r} at column {column} is not valid", **where)


def _attach_arguments(
    events: dict[str, Span],
    arguments: list[tuple[str, int, int, str, int]],
    where: dict,
) -> list[Span]:
    """The trigger spans, numbered ones carrying their ``arguments`` in text order."""
    found: dict[str, list[Argument]] = {n: [] for n in events if not n.startswith("_")}
    for number, start, end, role, column in arguments:
        if number not in found:
            raise DataError(
                f"argument @{number}:{role} at column {column} names no trigger #{number}",
                fix=f"number the trigger as {{Type:Subtype#{number}}}",
                **where,
            )
        found[number].append(Argument(start, end, role))
    triggers = []
    for number, span in events.items():
        if number in found:
            span = Span(span.start, span.end, span.label, arguments=tuple(found[number]))
        triggers.append(span)
    return triggers


def read_markup_file(path: Path, split: str) -> list[Document]:
    """Read a markup file; ids are ``<split>-<file stem>-<nnn>`` in file order."""
    docs = []
    n = 0
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        n += 1
        doc_id = f"{split}-{path.stem}-{n:03d}"
        text, ents, trigs = parse_markup(line, path=str(path), lineno=lineno, doc_id=doc_id)
        docs.append(Document(doc_id, text, ents, trigs))
    return docs


def build_corpus(src_dir: Path, out_dir: Path | None = None) -> dict[str, list[Document]]:
    """Build ``{split}.jsonl`` from ``src_dir/<split>/*.txt``, written when ``out_dir`` is set."""
    splits: dict[str, list[Document]] = {}
    for split_dir in sorted(p for p in src_dir.iterdir() if p.is_dir()):
        docs: list[Document] = []
        for f in sorted(split_dir.glob("*.txt")):
            docs.extend(read_markup_file(f, split_dir.name))
        splits[split_dir.name] = docs
    if out_dir is not None:
        for split, docs in splits.items():
            lines = [json.dumps(d.to_dict(), ensure_ascii=False) for d in docs]
            (out_dir / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return splits
