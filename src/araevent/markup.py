"""Inline annotation markup used to author the bundled corpus.

One document per line: ``[التقى]{Contact:Meet} [محمد علي]{PER} في [القاهرة]{GPE}``.
A label with a colon is an event trigger, any other label an entity. Brackets
nest: ``[جامعة [القاهرة]{GPE}]{ORG}``. A proclitic stays outside the brackets:
``و[روسيا]{GPE}``. Lines starting with ``#`` and blank lines are skipped.
Literal ``[``, ``]``, ``{``, ``}`` are written with a backslash.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from araevent.errors import DataError
from araevent.schema import Document, Span

_CLOSE = re.compile(r"\]\{([^{}\s]+)\}")


def parse_markup(
    line: str, *, path: str | None = None, lineno: int | None = None, doc_id: str | None = None
) -> tuple[str, list[Span], list[Span]]:
    """Turn one markup line into ``(text, entities, triggers)`` with exact offsets."""
    out: list[str] = []
    stack: list[int] = []
    entities: list[Span] = []
    triggers: list[Span] = []
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
            label = m.group(1)
            if start == pos:
                raise DataError(f"empty span {label} at column {i + 1}", **where)
            span = Span(start, pos, label)
            (triggers if ":" in label else entities).append(span)
            i = m.end()
        elif ch in "{}":
            raise DataError(f"stray {ch!r} at column {i + 1}", fix="escape it as \\" + ch, **where)
        else:
            out.append(ch)
            pos += 1
            i += 1
    if stack:
        raise DataError(f"{len(stack)} '[' never closed", **where)
    return "".join(out), entities, triggers


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
