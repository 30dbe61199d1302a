"""brat standoff: ``X.txt`` + ``X.ann`` per document, in one folder.

One file (~560 lines): the reader and the writer of one layout, kept together so that
they stay each other's inverse (the round trip is tested).

``T`` lines are spans; an ``E`` line makes its trigger ``T`` an event trigger
labelled with the event type, and its ``Role:T3`` pairs the trigger's arguments
(brat's numbered repeats ``Victim2`` read as ``Victim``); every other ``T`` is
an entity, except a ``T`` of the type ``Argument``: an argument span that is no
entity. An ``E`` line with arguments is annotated for arguments; one without is
not (``arguments`` is ``None``) unless an ``A`` line marks it ``NoArguments``
(annotated: none). Relations, other attributes, normalisations, notes and
events as arguments are counted and reported, not imported.

Writing is atomic: the files are staged in a hidden folder beside the target.
A folder that is not empty is refused unless ``overwrite``; then only the
files written are replaced, nothing is deleted.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from araevent.errors import DataError, UsageError
from araevent.formats.base import (
    ReadResult,
    add_checked,
    count_arguments,
    not_utf8,
    read_lines,
    umask,
)
from araevent.labels import LAYERS, LabelSet, is_valid_label
from araevent.schema import Argument, Document, Origin, Span, check_spans, offset_problem

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

_REPEAT = re.compile(r"\d+\Z")


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


def read_brat(
    path: Path,
    result: ReadResult,
    *,
    label_set: LabelSet | None,
    nested: str,
    layers: tuple[str, ...],
) -> None:
    """Read a brat folder (or one ``.ann``/``.txt`` pair) into ``result``."""
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
    lines, bad = read_lines(ann)
    for n, line in lines:
        if line is None:
            result.errors.append(not_utf8(ann, n, bad[n][0], doc_id))
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
        line, before = triggers.get((e.tid, e.etype), (e.line, None))
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
                args.append(Argument(*got, role, origin=Origin(a, line)))
        annotated = before is not None or bool(e.args) or e.eid in no_args
        triggers[(e.tid, e.etype)] = (line, [*(before or []), *args] if annotated else None)
    spans: dict[str, list[Span]] = {layer: [] for layer in LAYERS}
    names: dict[int, str] = {}  # id(span) -> how errors name it: T3, or T2 Life:Die
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
            arguments = None if args is None else tuple(args)
            span = Span(*span_range, lab, arguments=arguments, origin=Origin(a, n))
            spans[layer].append(span)
            names[id(span)] = f"{tid} {lab}" if targets else tid
    checked = check_spans(
        spans,
        text,
        label_set=label_set,
        nested=nested,
        where={"path": a, "line": None, "doc_id": doc_id},
        name=lambda _layer, _i, span: names[id(span)],
    )
    add_checked(result, checked)
    spans = checked.spans
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
    problem = offset_problem(start, end, text)
    if problem is not None:
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


def write_brat(docs: Sequence[Document], target: Path, overwrite: bool = False) -> None:
    """Write a brat folder (``X.txt``, ``X.ann``, ``annotation.conf``), atomically."""
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
    os.chmod(path, 0o666 & ~umask())


def finish_brat(tmp: Path, target: Path, names: Sequence[str]) -> None:
    """Move the staged files ``names`` into ``target`` (the whole folder when it is new).

    Raises:
        UsageError: a name in ``target`` is taken by something that is not a file.
    """
    if not target.exists():
        os.chmod(tmp, 0o777 & ~umask())
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
