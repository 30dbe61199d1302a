"""ACE 2005 (LDC2006T06): read the adjudicated APF annotation into araevent documents.

One file (~800 lines): one converter of one corpus, from files to splits; its sections
(files, text, reading, splits, conversion, command line, training cache) follow that
order.

Only ``data/<Language>/{bn,nw,wl,...}/adj/<ID>.apf.xml`` with its ``<ID>.sgm`` is read;
first-pass copies (``fp1``, ``fp2``) are counted and ignored. The text of a document
is its whole ``.sgm`` with the tags removed (headline, dateline, body, speaker turns,
weblog posters) and the XML escapes decoded. ACE offsets count the tag-stripped
``.sgm`` with every escape as written (``&amp;`` is 5 characters) and ``END`` is
inclusive; every offset is remapped to the decoded text, end exclusive.

Every ``charseq`` is checked against the text it points to. When it differs, the same
string within :data:`REPAIR_WINDOW` characters is taken (counted as repaired);
otherwise the mention (or anchor, or argument) is dropped and reported. A span whose
text differs from its ``charseq`` is never written.

What a document holds:

- ``entities``: every ``entity_mention`` (``mentions="named"``: NAM only), labelled
  with the entity TYPE, with keys ``subtype``, ``mention_type``, ``entity_id``,
  ``mention_id`` and the other span (``head`` or ``extent``, as ``[start, end]``).
  With ``values=True`` the ``value`` and ``timex2`` mentions join this layer,
  labelled ``VALUE`` (keys ``value_type``, ``subtype``) and ``TIME`` (key ``val``).
- ``triggers``: every ``event_mention`` anchor, labelled ``Type:Subtype``, with keys
  ``modality``, ``polarity``, ``genericity``, ``tense``, ``event_id``, ``mention_id``,
  and ``arguments``: the role and the argument's extent (``span="head"``: the head of
  the referenced entity mention; values and times have no head and keep their
  extent). Arguments referring to values and times are kept whether or not
  ``values`` is set.

Kept as the schema allows: nested spans. Dropped, each counted and reported:
mentions whose ``charseq`` cannot be found, spans that cross another span of
their layer (the later one), arguments whose role is not a role of the event
type in ACE, that overlap their own trigger, or whose mention was dropped.
The same span given twice is kept once (triggers merge their arguments), counted.
"""

from __future__ import annotations

import argparse
import hashlib
import html.entities
import json
import logging
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from araevent.errors import DataError, UsageError
from araevent.labels import ACE2005_ENTITIES, ACE2005_EVENT_ROLES, LabelSet, get_label_set
from araevent.schema import DEFAULT_NESTED, Argument, Document, Span, is_nested_pair

log = logging.getLogger(__name__)

SPLITS_DIR = Path(__file__).parent / "resources" / "ace2005_splits"
SPLIT_NAMES = ("xu2021", "gigabert", "none")
SPLIT_PARTS = ("train", "dev", "test")
SPAN_CHOICES = ("extent", "head")
MENTION_CHOICES = ("all", "named")
REPAIR_WINDOW = 5
READER_VERSION = 1  # part of the training cache key: bump when the output changes
VALUE_LABELS = {
    "VALUE": "An ACE value: money, percent, contact info, crime, job title, sentence.",
    "TIME": "An ACE time expression (TIMEX2).",
}
_ESCAPE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


@dataclass(frozen=True)
class Options:
    """How to read the corpus (every option is part of the training cache key)."""

    span: str = "extent"
    mentions: str = "all"
    values: bool = False
    language: str = "arabic"

    def check(self) -> Options:
        """Raise :class:`UsageError` on an unknown choice; return self."""
        for name, value, choices in (
            ("span", self.span, SPAN_CHOICES),
            ("mentions", self.mentions, MENTION_CHOICES),
        ):
            if value not in choices:
                raise UsageError(f"{name}={value!r}: choose {' or '.join(choices)}")
        return self


@dataclass
class Corpus:
    """What reading produced: documents (sorted by id), counts and problems."""

    documents: list[Document] = field(default_factory=list)
    counts: dict[str, Counter] = field(default_factory=dict)  # doc id -> "group/key" counts
    problems: list[str] = field(default_factory=list)  # one line each: what was dropped
    first_pass_ignored: int = 0
    files: list[Path] = field(default_factory=list)  # every file read (apf and sgm)


# --- locating files ----------------------------------------------------------------


def language_dir(root: str | os.PathLike, language: str = "arabic") -> Path:
    """The ``data/<Language>`` folder of an LDC copy given its root or that folder."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder (give the LDC2006T06 folder that holds data/)")
    name = language.capitalize()
    for cand in (root / "data" / name, root / name, root):
        if cand.is_dir() and any(cand.glob("*/adj/*.apf.xml")):
            return cand
    raise UsageError(
        f"{root}: no adjudicated ACE files (data/{name}/*/adj/*.apf.xml) "
        f"(give the LDC2006T06 folder that holds data/, or its data/{name})"
    )


def adjudicated_files(lang_dir: Path) -> tuple[list[tuple[Path, Path]], int]:
    """``[(apf, sgm), ...]`` of the ``adj`` folders, and how many first-pass APF files exist."""
    pairs = []
    for apf in sorted(lang_dir.glob("*/adj/*.apf.xml")):
        sgm = apf.with_name(apf.name.removesuffix(".apf.xml") + ".sgm")
        if not sgm.is_file():
            raise DataError(
                f"no {sgm.name} beside {apf.name}",
                path=str(apf),
                fix="copy the whole LDC folder; every .apf.xml has its .sgm",
            )
        pairs.append((apf, sgm))
    first_pass = sum(1 for p in lang_dir.glob("*/*/*.apf.xml") if p.parent.name != "adj")
    return pairs, first_pass


# --- text --------------------------------------------------------------------------


def sgm_text(raw: str) -> tuple[str, str, list[int]]:
    """Strip the tags of an ``.sgm`` and decode its escapes.

    Returns:
        ``(stripped, text, where)``: the tag-stripped text as ACE counts it (escapes
        as written), the decoded text, and for every index of ``stripped`` (plus
        one past the end) the index of the ``text`` character it belongs to.
    """
    stripped: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "<":
            quote = None
            i += 1
            while i < n and (raw[i] != ">" or quote):
                if raw[i] == '"':
                    quote = None if quote else '"'
                i += 1
            i += 1
            continue
        stripped.append(c)
        i += 1
    s = "".join(stripped)
    out: list[str] = []
    where: list[int] = []
    i = 0
    while i < len(s):
        m = _ESCAPE.match(s, i) if s[i] == "&" else None
        char = _unescape(m.group(1)) if m else None
        if m is None or char is None:
            where.append(len(out))
            out.append(s[i])
            i += 1
            continue
        where.extend([len(out)] * (m.end() - i))
        out.append(char)
        i = m.end()
    where.append(len(out))
    return s, "".join(out), where


def _unescape(name: str) -> str | None:
    if name.startswith("#"):
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        return chr(code) if 0 < code < 0x110000 else None
    return html.entities.html5.get(name + ";")


# --- reading -----------------------------------------------------------------------


@dataclass
class _Mention:
    kind: str  # entity, value, time
    extent: tuple[int, int] | None
    head: tuple[int, int] | None


class _Doc:
    """One APF file being read: the text, the offset map, counts and problems."""

    def __init__(self, doc_id: str, apf: Path, raw: str, corpus: Corpus) -> None:
        self.id = doc_id
        self.apf = apf
        self.stripped, self.text, self.where = sgm_text(raw)
        self.counts: Counter = Counter()
        self.corpus = corpus

    def drop(self, reason: str, item: str, detail: str = "") -> None:
        self.counts[f"dropped/{reason}"] += 1
        extra = f": {detail}" if detail else ""
        self.corpus.problems.append(f"{self.apf}: {self.id}: {item}: {reason}{extra}")

    def locate(self, node: ET.Element | None, item: str, what: str) -> tuple[int, int] | None:
        """The checked ``[start, end)`` of the ``charseq`` under ``node``; None: dropped."""
        cs = node.find("charseq") if node is not None else None
        if cs is None:
            self.drop(f"{what} has no charseq", item)
            return None
        expected = cs.text or ""
        try:
            a, b = int(cs.get("START", "")), int(cs.get("END", ""))
        except ValueError:
            self.drop(f"{what} charseq offsets are not integers", item)
            return None
        if not 0 <= a <= b < len(self.stripped):
            self.drop(
                f"{what} charseq out of the text",
                item,
                f"START={a} END={b}, the text has {len(self.stripped)} characters",
            )
            return None
        start, end = self.where[a], self.where[b] + 1
        found = self.text[start:end]
        if expected and (found == expected or self.stripped[a : b + 1] == expected):
            return start, end
        nearest = self._nearby(expected, start)
        if nearest is not None:
            shift = nearest - start
            self.counts[f"repaired/{what} charseq shifted by {abs(shift)}"] += 1
            return nearest, nearest + len(expected)
        self.drop(
            f"{what} charseq not found",
            item,
            f"expected {expected!r} at [{start}, {end}), found {found!r} "
            f"(nor within {REPAIR_WINDOW} characters)",
        )
        return None

    def _nearby(self, expected: str, start: int) -> int | None:
        if not expected:
            return None
        for shift in sorted(range(-REPAIR_WINDOW, REPAIR_WINDOW + 1), key=abs):
            s = start + shift
            if s >= 0 and self.text.startswith(expected, s):
                return s
        return None


def read_corpus(root: str | os.PathLike, options: Options = Options()) -> Corpus:
    """Read every adjudicated document under ``root`` (see the module docstring)."""
    options.check()
    lang = language_dir(root, options.language)
    pairs, first_pass = adjudicated_files(lang)
    corpus = Corpus(first_pass_ignored=first_pass)
    seen: dict[str, Path] = {}
    for apf, sgm in pairs:
        doc_id = apf.name.removesuffix(".apf.xml")
        if doc_id in seen:
            raise DataError(
                f"document id {doc_id} is also {seen[doc_id]}",
                path=str(apf),
                doc_id=doc_id,
                fix="keep one copy of each document",
            )
        seen[doc_id] = apf
        corpus.files += [apf, sgm]
        doc = _read_document(doc_id, apf, sgm, options, corpus)
        corpus.documents.append(doc)
    return corpus


def _read_text(path: Path, doc_id: str) -> str:
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 at byte {exc.start}",
            path=str(path),
            doc_id=doc_id,
            fix="ACE 2005 Arabic files are UTF-8; re-copy the file from the LDC disc",
        ) from None
    return raw.removeprefix("\ufeff")


def _parse_apf(apf: Path, doc_id: str) -> ET.Element:
    try:
        return ET.parse(apf).getroot()
    except ET.ParseError as exc:
        line, _col = exc.position
        raise DataError(
            f"not well-formed XML: {exc}",
            path=str(apf),
            line=line,
            doc_id=doc_id,
            fix="re-copy the file from the LDC disc",
        ) from None


def _read_document(doc_id: str, apf: Path, sgm: Path, options: Options, corpus: Corpus) -> Document:
    root = _parse_apf(apf, doc_id)
    d = _Doc(doc_id, apf, _read_text(sgm, doc_id), corpus)
    if not d.text.strip():
        raise DataError("the .sgm has no text", path=str(sgm), doc_id=doc_id)
    mentions: dict[str, _Mention] = {}
    entities = _entities(d, root, options, mentions)
    entities += _values(d, root, options, mentions)
    triggers = _events(d, root, options, mentions)
    d.counts["relations/not imported"] += len(root.findall(".//relation_mention"))
    entities = _clean_layer(d, entities, "entities")
    triggers = _clean_layer(d, triggers, "triggers")
    d.counts["documents/" + apf.parent.parent.name] += 1
    d.counts["characters/all"] += len(d.text)
    corpus.counts[doc_id] = d.counts
    source = root.find("document")
    extra: dict[str, Any] = {"source": apf.parent.parent.name}
    if source is not None and source.get("DOCID") not in (None, doc_id):
        extra["docid"] = source.get("DOCID")
    return Document(doc_id, d.text, entities, triggers, extra)


def _other(name: str, span: tuple[int, int] | None) -> dict[str, Any]:
    return {name: list(span)} if span is not None else {}


def _entities(d: _Doc, root: ET.Element, options: Options, mentions: dict) -> list[Span]:
    spans = []
    for ent in root.iter("entity"):
        etype = ent.get("TYPE", "")
        for m in ent.findall("entity_mention"):
            mid = m.get("ID", "?")
            ext = d.locate(m.find("extent"), f"entity mention {mid}", "entity extent")
            head = ext and d.locate(m.find("head"), f"entity mention {mid}", "entity head")
            if ext is None or head is None:
                continue
            mentions[mid] = _Mention("entity", ext, head)
            mtype = m.get("TYPE", "")
            d.counts[f"entity_mentions/{etype}"] += 1
            d.counts[f"entity_mentions_by_mention_type/{mtype}"] += 1
            if options.mentions == "named" and mtype != "NAM":
                d.counts["not selected/non-named entity mentions (--mentions named)"] += 1
                continue
            use, other = (head, ext) if options.span == "head" else (ext, head)
            extra = {
                "subtype": ent.get("SUBTYPE"),
                "mention_type": mtype,
                "entity_id": ent.get("ID"),
                "mention_id": mid,
                **_other("extent" if options.span == "head" else "head", other),
            }
            spans.append(Span(use[0], use[1], etype, extra=_no_none(extra)))
    return spans


def _values(d: _Doc, root: ET.Element, options: Options, mentions: dict) -> list[Span]:
    spans = []
    for tag, label, kind in (("value", "VALUE", "value"), ("timex2", "TIME", "time")):
        for val in root.iter(tag):
            for m in val.findall(f"{tag}_mention"):
                mid = m.get("ID", "?")
                ext = d.locate(m.find("extent"), f"{tag} mention {mid}", f"{kind} extent")
                if ext is None:
                    continue
                mentions[mid] = _Mention(kind, ext, None)
                if kind == "value":
                    d.counts[f"value_mentions/{val.get('TYPE')}"] += 1
                    extra = {"value_type": val.get("TYPE"), "subtype": val.get("SUBTYPE")}
                else:
                    d.counts["time_mentions/TIMEX2"] += 1
                    extra = {"val": val.get("VAL")}
                if options.values:
                    extra.update(entity_id=val.get("ID"), mention_id=mid)
                    spans.append(Span(ext[0], ext[1], label, extra=_no_none(extra)))
    return spans


def _events(d: _Doc, root: ET.Element, options: Options, mentions: dict) -> list[Span]:
    spans = []
    for ev in root.iter("event"):
        label = f"{ev.get('TYPE')}:{ev.get('SUBTYPE')}"
        keys = {k.lower(): ev.get(k) for k in ("MODALITY", "POLARITY", "GENERICITY", "TENSE")}
        for em in ev.findall("event_mention"):
            mid = em.get("ID", "?")
            anchor = d.locate(em.find("anchor"), f"event mention {mid}", "anchor")
            raw_args = em.findall("event_mention_argument")
            if anchor is None:
                d.counts["dropped/arguments of a dropped event mention"] += len(raw_args)
                continue
            d.counts[f"event_mentions/{label}"] += 1
            args = []
            for a in raw_args:
                arg = _argument(d, a, mid, options, mentions)
                if arg is not None:
                    args.append(arg)
            extra = {**keys, "event_id": ev.get("ID"), "mention_id": mid}
            spans.append(Span(*anchor, label, extra=_no_none(extra), arguments=tuple(args)))
    return spans


def _argument(
    d: _Doc, a: ET.Element, event_mention: str, options: Options, mentions: dict
) -> Argument | None:
    refid, role = a.get("REFID", "?"), a.get("ROLE", "")
    item = f"event mention {event_mention} argument {refid} {role}"
    ref = mentions.get(refid)
    if options.span == "extent":
        span = d.locate(a.find("extent"), item, "argument extent")
    elif ref is None:
        d.drop("argument refers to a mention that was dropped or does not exist", item)
        return None
    else:
        span = ref.head or ref.extent
    if span is None:
        return None
    return Argument(span[0], span[1], role, extra={"mention_id": refid})


def _no_none(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if v is not None}


def _clean_layer(d: _Doc, spans: list[Span], layer: str) -> list[Span]:
    """Merge spans given twice, drop spans crossing an earlier one; check arguments."""
    by_key: dict[tuple[int, int, str], Span] = {}
    for span in sorted(spans, key=lambda s: (s.start, -s.end, s.label)):
        first = by_key.get(span.key)
        if first is None:
            by_key[span.key] = span
            continue
        d.counts[f"merged/{layer} span given twice"] += 1
        if span.arguments:
            by_key[span.key] = Span(
                first.start,
                first.end,
                first.label,
                extra=first.extra,
                arguments=(first.arguments or ()) + span.arguments,
            )
    kept: list[Span] = []
    for span in by_key.values():
        crossed = next(
            (
                k
                for k in kept
                if k.start < span.end and span.start < k.end and not is_nested_pair(k, span)
            ),
            None,
        )
        if crossed is not None:
            d.drop(
                f"{layer} span crosses another",
                f"mention {span.extra.get('mention_id')}",
                f"[{span.start}, {span.end}) {span.label} crosses [{crossed.start}, "
                f"{crossed.end}) {crossed.label} (mention {crossed.extra.get('mention_id')})",
            )
            if span.arguments:
                d.counts["dropped/arguments of a dropped event mention"] += len(span.arguments)
            continue
        kept.append(span)
    if layer == "triggers":
        kept = [_checked_arguments(d, t) for t in kept]
    return kept


def _checked_arguments(d: _Doc, trigger: Span) -> Span:
    roles = ACE2005_EVENT_ROLES.get(trigger.label, ())
    args: list[Argument] = []
    seen: set[tuple[int, int, str]] = set()
    for arg in trigger.arguments or ():
        item = (
            f"event mention {trigger.extra.get('mention_id')} "
            f"argument {arg.extra.get('mention_id')} {arg.role}"
        )
        if arg.role not in roles:
            d.drop(f"role {arg.role} is not an ACE role of {trigger.label}", item)
        elif arg.start < trigger.end and trigger.start < arg.end:
            d.drop("argument overlaps its trigger", item, f"[{arg.start}, {arg.end})")
        elif arg.key in seen:
            d.counts["merged/argument given twice"] += 1
        else:
            seen.add(arg.key)
            args.append(arg)
            d.counts[f"arguments/{arg.role}"] += 1
    return Span(
        trigger.start, trigger.end, trigger.label, extra=trigger.extra, arguments=tuple(args)
    )


# --- splits and statistics --------------------------------------------------------


def split_ids(name: str) -> dict[str, list[str]]:
    """The document IDs of each part of a shipped split (``xu2021``, ``gigabert``)."""
    if name not in SPLIT_NAMES or name == "none":
        choices = ", ".join(SPLIT_NAMES)
        raise UsageError(f"split {name!r}: choose {choices}")
    return {
        part: [
            x.strip()
            for x in (SPLITS_DIR / name / f"{part}.txt").read_text("utf-8").splitlines()
            if x.strip()
        ]
        for part in SPLIT_PARTS
    }


def assign_splits(
    docs: Sequence[Document], split: str
) -> tuple[dict[str, list[Document]], dict[str, list[str]]]:
    """Documents per output file, and what the split lists name that is not in the corpus.

    ``split="none"``: one part, ``all``. Otherwise ``train``/``dev``/``test`` in list
    order, plus ``unlisted`` (documents in no list, sorted) when there are any.
    """
    if split == "none":
        return {"all": list(docs)}, {}
    lists = split_ids(split)
    by_id = {d.id: d for d in docs}
    parts: dict[str, list[Document]] = {}
    missing: dict[str, list[str]] = {}
    listed: set[str] = set()
    for part, ids in lists.items():
        parts[part] = [by_id[i] for i in ids if i in by_id]
        missing[part] = [i for i in ids if i not in by_id]
        listed.update(ids)
    unlisted = [d for d in docs if d.id not in listed]
    if unlisted:
        parts["unlisted"] = unlisted
    return parts, {k: v for k, v in missing.items() if v}


def statistics(corpus: Corpus, docs: Iterable[Document]) -> dict[str, Any]:
    """Counts over ``docs``: documents, characters, mentions, events, arguments, drops."""
    total: Counter = Counter()
    for doc in docs:
        total.update(corpus.counts[doc.id])
    out: dict[str, Any] = {}
    for key in sorted(total):
        group, name = key.split("/", 1)
        out.setdefault(group, {})[name] = total[key]
    result: dict[str, Any] = {
        "documents": sum(out.get("documents", {}).values()),
        "documents_by_source": out.pop("documents", {}),
        "characters": out.pop("characters", {}).get("all", 0),
    }
    for group in (
        "entity_mentions",
        "entity_mentions_by_mention_type",
        "value_mentions",
        "time_mentions",
        "event_mentions",
        "arguments",
        "repaired",
        "dropped",
        "merged",
        "not selected",
        "relations",
    ):
        result[group.replace(" ", "_")] = out.get(group, {})
    result["event_mentions_total"] = sum(result["event_mentions"].values())
    result["arguments_total"] = sum(result["arguments"].values())
    return result


# --- conversion --------------------------------------------------------------------


def convert(
    root: str | os.PathLike, out_dir: str | os.PathLike, options: Options, split: str
) -> dict[str, Any]:
    """Read the corpus and write ``OUT_DIR/{train,dev,test}.jsonl`` (or ``all.jsonl``).

    Documents in no list go to ``unlisted.jsonl``. ``stats.json`` has the counts of
    every part, what the lists name that the corpus lacks, and every problem line.
    Nothing is written when reading fails.
    """
    if split not in SPLIT_NAMES:
        raise UsageError(f"split {split!r}: choose {', '.join(SPLIT_NAMES)}")
    corpus = read_corpus(root, options)
    parts, missing = assign_splits(corpus.documents, split)
    stats = {
        "corpus": str(root),
        "options": {**options.__dict__, "split": split},
        "first_pass_files_ignored": corpus.first_pass_ignored,
        "all": statistics(corpus, corpus.documents),
        "parts": {name: statistics(corpus, docs) for name, docs in parts.items()},
        "unlisted": [d.id for d in parts.get("unlisted", [])],
        "listed_not_found": missing,
        "problems": corpus.problems,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from araevent.formats import atomic_write_bytes

    for name, docs in parts.items():
        lines = "".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in docs)
        atomic_write_bytes(out / f"{name}.jsonl", lines.encode("utf-8"))
    blob = json.dumps(stats, ensure_ascii=False, indent=2) + "\n"
    atomic_write_bytes(out / "stats.json", blob.encode("utf-8"))
    return stats


def summary(stats: dict[str, Any]) -> list[str]:
    """The printed summary: one line per part, then events, roles, repairs and drops."""
    lines = []
    for name, s in {"all": stats["all"], **stats["parts"]}.items():
        lines.append(
            f"{name:9} {s['documents']:5} documents {s['characters']:9} characters "
            f"{sum(s['entity_mentions'].values()):7} entity "
            f"{sum(s['value_mentions'].values()):5} value "
            f"{sum(s['time_mentions'].values()):5} time mentions "
            f"{s['event_mentions_total']:6} events {s['arguments_total']:6} arguments"
        )
    a = stats["all"]
    for title, group in (
        ("entity mentions", "entity_mentions"),
        ("mention types", "entity_mentions_by_mention_type"),
        ("value mentions", "value_mentions"),
        ("event mentions", "event_mentions"),
        ("arguments", "arguments"),
        ("repaired", "repaired"),
        ("dropped", "dropped"),
        ("merged", "merged"),
        ("not selected", "not_selected"),
    ):
        if a[group]:
            lines.append(f"{title}: " + ", ".join(f"{k} {v}" for k, v in a[group].items()))
    if stats["first_pass_files_ignored"]:
        lines.append(f"first-pass files ignored: {stats['first_pass_files_ignored']}")
    if stats["unlisted"]:
        lines.append(
            f"in no list of the split ({len(stats['unlisted'])}, written to unlisted.jsonl): "
            + ", ".join(stats["unlisted"])
        )
    for part, ids in stats["listed_not_found"].items():
        more = f", ... ({len(ids) - 5} more in stats.json)" if len(ids) > 5 else ""
        lines.append(
            f"{part}: {len(ids)} listed documents not in the corpus: {', '.join(ids[:5])}{more}"
        )
    return lines


# --- the command line ------------------------------------------------------------


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    """``--from ace2005`` and its options on ``araevent convert``."""
    for action in parser._actions:
        if action.dest == "format" and action.choices is not None:
            action.choices = [*action.choices, "ace2005"]
    group = parser.add_argument_group(
        "ACE 2005 (--from ace2005: IN is the LDC2006T06 folder, OUT a folder; no --to)"
    )
    group.add_argument(
        "--split",
        default="xu2021",
        choices=SPLIT_NAMES,
        help="document split: xu2021 (317/20/32, default), gigabert (322/40/40), or none "
        "(all.jsonl); documents in no list go to unlisted.jsonl",
    )
    group.add_argument(
        "--span",
        default="extent",
        choices=SPAN_CHOICES,
        help="mention and argument spans: the ACE extent (default) or head",
    )
    group.add_argument(
        "--mentions",
        default="all",
        choices=MENTION_CHOICES,
        help="entity mentions: all (NAM, NOM, PRO; default) or named (NAM)",
    )
    group.add_argument(
        "--values",
        action="store_true",
        help="also write value and timex2 mentions as entities labelled VALUE and TIME "
        "(arguments referring to them are written either way)",
    )
    group.add_argument("--language", default="arabic", help="data/<Language> (default: arabic)")


def run_convert(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Convert as ``araevent convert --from ace2005`` asks: ``(stdout lines, stderr lines)``."""
    ignored = [
        flag
        for flag, value, default in (
            ("--to", getattr(args, "to", None), None),
            ("--labels", getattr(args, "labels", "any"), "any"),
            ("--layers", getattr(args, "layers", None), None),
            ("--nested", getattr(args, "nested", DEFAULT_NESTED), DEFAULT_NESTED),
            ("--repair", getattr(args, "repair", False), False),
            ("--known-words", getattr(args, "known_words", None), None),
        )
        if value != default
    ]
    if ignored:
        raise UsageError(
            f"{', '.join(ignored)} do(es) not apply to --from ace2005 (it writes JSONL with "
            "every nested span; choose the nested policy when training: data.nested)"
        )
    out = Path(args.output)
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not args.overwrite):
        raise UsageError(
            f"{out} is a file or a folder that is not empty (give a new folder, or --overwrite "
            "to replace the files of the same names)"
        )
    options = Options(args.span, args.mentions, args.values, args.language)
    stats = convert(args.input, args.output, options, args.split)
    parts = ", ".join(f"{name}.jsonl" for name in stats["parts"])
    out = [*summary(stats), f"wrote {parts} and stats.json to {args.output}"]
    return out, stats["problems"]


# --- training ------------------------------------------------------------------------


def cache_key(root: str | os.PathLike, options: Options, split: str) -> str:
    """A hash of every adjudicated file's bytes (by relative path), the options and split."""
    lang = language_dir(root, options.language)
    pairs, _ = adjudicated_files(lang)
    h = hashlib.sha256(
        json.dumps([READER_VERSION, options.__dict__, split], sort_keys=True).encode()
    )
    for apf, sgm in pairs:
        for p in (apf, sgm):
            h.update(str(p.relative_to(lang)).encode("utf-8") + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:20]


def cached_conversion(
    root: str | os.PathLike, cache_dir: str | os.PathLike, options: Options, split: str
) -> Path:
    """The folder of the converted corpus, converting once per corpus content and options."""
    folder = Path(cache_dir) / f"{split}-{cache_key(root, options, split)}"
    if (folder / "stats.json").is_file():
        log.info("ace2005: using the conversion of %s in %s", root, folder)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    try:
        stats = convert(root, tmp, options, split)
        try:
            tmp.rename(folder)
        except OSError:  # another process converted it first
            if not (folder / "stats.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for line in summary(stats):
        log.info("ace2005: %s", line)
    log.info("ace2005: converted %s into %s", root, folder)
    return folder


def training_label_set(name: str, values: bool) -> LabelSet:
    """The preset, with ``VALUE``/``TIME`` added to the ace2005 entities when values are read."""
    preset = get_label_set(name)
    if not values or preset.entities is None:
        return preset
    entities = {**(preset.entities or ACE2005_ENTITIES), **VALUE_LABELS}
    return LabelSet(preset.name, entities, preset.triggers, preset.roles)


def load_split(data: Any, split: str) -> list[Document]:
    """One split of ``data=ace2005`` for training: convert once (cached), then read the JSONL."""
    from araevent.formats import describe_dropped, load_documents

    opts = data.ace2005
    if opts.get("split") in (None, "none"):
        raise UsageError("data=ace2005 trains on a split: set data.split=xu2021 or gigabert")
    options = Options(
        span=opts.get("span") or "extent",
        mentions=opts.get("mentions") or "all",
        values=bool(opts.get("values")),
        language=opts.get("language") or "arabic",
    ).check()
    folder = cached_conversion(opts["ldc_root"], opts["cache_dir"], options, opts["split"])
    docs = load_documents(
        [folder / f"{getattr(data, split)}.jsonl"],
        "jsonl",
        label_set=training_label_set(data.label_set, options.values),
        nested=data.nested,
        layers=data.layers,
    )
    if docs.dropped:
        log.warning("ace2005 %s: %s", split, "; ".join(describe_dropped(docs.dropped, data.nested)))
    return docs
