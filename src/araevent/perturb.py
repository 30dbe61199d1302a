"""Seeded Arabic orthographic perturbations that carry every gold span with the text.

One file (~540 lines): the edits, the offset map that carries spans with them and the
table of perturbations are one mechanism; each perturbation is a few lines.

Each perturbation lists *edits* on the raw text (a replacement of ``text[start:end]``,
or an insertion where ``start == end``); :func:`apply_edits` applies them and
returns an :class:`OffsetMap` that moves every span (entities, triggers, trigger
arguments) with the text. A span whose characters change keeps its label; a span
that cannot be carried (an edit cuts across one of its ends, or nothing of it
is left) is *destroyed* and counted, never dropped silently.

Every perturbation takes a ``rate`` (the probability that each eligible site is
changed) and a seed; the same seed gives the same corpus, rate 0 gives the text
back unchanged, and a perturbation never touches a character it does not name.
The perturbations and their default rates:

======================  ====  ====================================================
name                    rate  what it does
======================  ====  ====================================================
``diacritics_strip``    1.0   remove each diacritic (harakat, tanwin, shadda, ...)
``diacritics_add``      0.3   a short vowel (fatha, damma, kasra) after a letter
                              that carries none
``tatweel``             0.2   a tatweel (ـ) between a joining letter and the next
                              letter of a word
``digits``              1.0   Western ↔ Eastern Arabic digits (0-9 ↔ ٠-٩; ۰-۹ → 0-9)
``hamza``               1.0   fold hamza alefs: أ إ آ → ا
``ya``                  1.0   word-final ي ↔ ى
``ta_marbuta``          1.0   word-final ة → ه
``conjunction``         1.0   detach the conjunction و/ف that the proclitic rule
                              splits off («وروسيا» → «و روسيا»), and attach a
                              detached one («و روسيا» → «وروسيا»)
``punctuation``         1.0   Arabic ↔ Latin punctuation: ، ؛ ؟ ↔ , ; ?
``direction_marks``     0.1   an RLM, ALM or ZWNJ inside a word (between two
                              letters) or at the end of a word
``noise``               0.1   in a share of words (letter runs of two or more), delete
                              one letter or swap two adjacent different letters
======================  ====  ====================================================

An insertion at a span's edge belongs to the span or not as the text's units
would have it: a diacritic or tatweel rides on the letter before it (a span
ending at that letter takes it); a space or a direction mark belongs to no span.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from araevent.schema import Document
from araevent.text import (
    CONJUNCTIONS,
    DIACRITICS,
    TATWEEL,
    KnownWords,
    span_vocabulary,
    split_units,
)

LEFT, NONE, RIGHT = "left", "none", "right"
_ATTACH_ORDER = {LEFT: 0, NONE: 1, RIGHT: 2}
SHORT_VOWELS = "\u064e\u064f\u0650"  # fatha, damma, kasra
HAMZA_ALEFS = "أإآ"
LONG_ALEFS = frozenset("اآٱى")  # carry no short vowel
DIRECTION_MARKS = "\u200f\u061c\u200c"  # RLM, ALM, ZWNJ
# letters that join only to the letter before them: no tatweel may follow them
NON_JOINING = frozenset("اأإآٱءؤدذرزوةى")
_EASTERN = {chr(0x0660 + i): str(i) for i in range(10)}
_PERSIAN = {chr(0x06F0 + i): str(i) for i in range(10)}
_WESTERN = {str(i): chr(0x0660 + i) for i in range(10)}
_PUNCT = {"،": ",", "؛": ";", "؟": "?", ",": "،", ";": "؛", "?": "؟"}
_YA = {"ي": "ى", "ى": "ي"}


def is_letter(ch: str) -> bool:
    """An Arabic letter (hamza to ya, alef wasla and the extended letters; not tatweel)."""
    c = ord(ch)
    return (0x0621 <= c <= 0x064A and ch != TATWEEL) or 0x0671 <= c <= 0x06D3


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``text`` (an insertion when ``start == end``).

    ``attach`` says where an insertion belongs at a span edge: ``left`` (to the
    character before it: a span ending there takes it), ``right`` (to the character
    after it) or ``none`` (to no span that merely touches it).
    """

    start: int
    end: int
    text: str
    attach: str = NONE


@dataclass(frozen=True)
class OffsetMap:
    """Where each original boundary lands in the perturbed text.

    ``starts[i]``/``ends[i]`` are the new offsets of a span starting/ending at
    original offset ``i``; ``cut[i]`` is true inside a replacement of more than one
    character (a span edge there cannot be carried).
    """

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    cut: tuple[bool, ...]

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """The new ``(start, end)`` of ``[start, end)``; ``None`` when it is destroyed."""
        if self.cut[start] or self.cut[end]:
            return None
        s, e = self.starts[start], self.ends[end]
        return (s, e) if s < e else None


def apply_edits(text: str, edits: Sequence[Edit]) -> tuple[str, OffsetMap]:
    """The perturbed text and its offset map.

    Raises:
        ValueError: two edits overlap, or an edit lies outside the text.
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end > e.start, _ATTACH_ORDER[e.attach]))
    at: dict[int, list[Edit]] = {}
    last = 0
    for e in ordered:
        if not 0 <= e.start <= e.end <= len(text) or e.attach not in _ATTACH_ORDER:
            raise ValueError(f"edit {e} does not fit a text of {len(text)}")
        if e.start < last:
            raise ValueError(f"edit {e} overlaps the edit before it")
        if e.end > e.start:
            last = e.end
        at.setdefault(e.start, []).append(e)
    n = len(text)
    starts, ends, cut = [0] * (n + 1), [0] * (n + 1), [False] * (n + 1)
    out: list[str] = []
    pos = 0
    i = 0
    while True:
        here = at.get(i, [])
        for attach in (LEFT, NONE, RIGHT):
            if attach == NONE:
                ends[i] = pos
            for e in here:
                if e.start == e.end and e.attach == attach:
                    out.append(e.text)
                    pos += len(e.text)
            if attach == NONE:
                starts[i] = pos
        if i == n:
            break
        repl = next((e for e in here if e.end > e.start), None)
        if repl is None:
            out.append(text[i])
            pos += 1
            i += 1
            continue
        for k in range(repl.start + 1, repl.end):
            cut[k] = True
            starts[k] = ends[k] = pos
        out.append(repl.text)
        pos += len(repl.text)
        i = repl.end
    return "".join(out), OffsetMap(tuple(starts), tuple(ends), tuple(cut))


# --- the perturbations: each lists its edits --------------------------------

EditMaker = Callable[[str, random.Random, float, KnownWords], list[Edit]]


def _char_map(table: dict[str, str]) -> EditMaker:
    def make(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
        return [
            Edit(i, i + 1, table[ch])
            for i, ch in enumerate(text)
            if ch in table and rng.random() < rate
        ]

    return make


def _word_final(text: str, i: int) -> bool:
    """Whether the letter at ``i`` ends its word (only marks may follow before a non-letter)."""
    j = i + 1
    while j < len(text) and (text[j] in DIACRITICS or text[j] == TATWEEL):
        j += 1
    return j == len(text) or not is_letter(text[j])


def _after_letter(text: str, i: int) -> bool:
    """Whether a letter (perhaps with its marks) comes right before ``i``: not a one-letter word."""
    return i > 0 and (is_letter(text[i - 1]) or text[i - 1] in DIACRITICS or text[i - 1] == TATWEEL)


def _final_map(table: dict[str, str]) -> EditMaker:
    def make(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
        return [
            Edit(i, i + 1, table[ch])
            for i, ch in enumerate(text)
            if ch in table
            and _word_final(text, i)
            and _after_letter(text, i)
            and rng.random() < rate
        ]

    return make


def _strip_diacritics(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
    return [
        Edit(i, i + 1, "") for i, ch in enumerate(text) if ch in DIACRITICS and rng.random() < rate
    ]


def _add_diacritics(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
    edits = []
    for i, ch in enumerate(text):
        bare = i + 1 == len(text) or text[i + 1] not in DIACRITICS
        if is_letter(ch) and ch not in LONG_ALEFS and bare and rng.random() < rate:
            edits.append(Edit(i + 1, i + 1, rng.choice(SHORT_VOWELS), LEFT))
    return edits


def _tatweel(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
    return [
        Edit(i + 1, i + 1, TATWEEL, LEFT)
        for i in range(len(text) - 1)
        if is_letter(text[i])
        and text[i] not in NON_JOINING
        and is_letter(text[i + 1])
        and rng.random() < rate
    ]


def _digits(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
    table = {**_WESTERN, **_EASTERN, **_PERSIAN}
    return _char_map(table)(text, rng, rate, known)


def _direction_marks(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
    edits = []
    for i in range(len(text)):
        if not is_letter(text[i]):
            continue
        inside = i + 1 < len(text) and is_letter(text[i + 1])
        at_end = i + 1 == len(text) or text[i + 1].isspace()
        if (inside or at_end) and rng.random() < rate:
            edits.append(Edit(i + 1, i + 1, rng.choice(DIRECTION_MARKS)))
    return edits


def _conjunction(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
    """Detach a split-off و/ف with a space; attach a lone و/ف to the next word."""
    units = split_units(text, known)
    edits = []
    for k, u in enumerate(units[:-1]):
        nxt = units[k + 1]
        letters = "".join(c for c in u.text if is_letter(c))
        if len(letters) != 1 or letters not in CONJUNCTIONS:
            continue
        word_start = u.start == 0 or text[u.start - 1].isspace()
        if not word_start or not is_letter(nxt.text[0]):
            continue
        if nxt.start == u.end:  # a proclitic unit of its word: detach
            if rng.random() < rate:
                edits.append(Edit(u.end, u.end, " "))
        elif text[u.end : nxt.start] == " " and rng.random() < rate:  # alone: attach
            edits.append(Edit(u.end, u.end + 1, ""))
    return edits


def _noise(text: str, rng: random.Random, rate: float, known: KnownWords) -> list[Edit]:
    edits = []
    i = 0
    while i < len(text):
        if not is_letter(text[i]):
            i += 1
            continue
        j = i
        while j < len(text) and is_letter(text[j]):
            j += 1
        if j - i >= 2 and rng.random() < rate:
            pairs = [k for k in range(i, j - 1) if text[k] != text[k + 1]]
            if pairs and rng.random() < 0.5:
                k = rng.choice(pairs)
                edits.append(Edit(k, k + 2, text[k + 1] + text[k]))
            else:
                k = rng.randrange(i, j)
                edits.append(Edit(k, k + 1, ""))
        i = j
    return edits


@dataclass(frozen=True)
class Perturbation:
    """One named perturbation: its edit maker, default rate and what it may change.

    ``removes``/``adds`` are the characters it may take out of or put into a text
    (``None``: any Arabic letter), which the tests check.
    """

    name: str
    rate: float
    description: str
    make: EditMaker
    removes: frozenset[str] | None
    adds: frozenset[str] | None


def _chars(*groups: str) -> frozenset[str]:
    return frozenset("".join(groups))


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation(
            "diacritics_strip",
            1.0,
            "strip diacritics",
            _strip_diacritics,
            frozenset(DIACRITICS),
            frozenset(),
        ),
        Perturbation(
            "diacritics_add",
            0.3,
            "add short vowels",
            _add_diacritics,
            frozenset(),
            _chars(SHORT_VOWELS),
        ),
        Perturbation("tatweel", 0.2, "insert tatweel", _tatweel, frozenset(), _chars(TATWEEL)),
        Perturbation(
            "digits",
            1.0,
            "Western ↔ Eastern digits",
            _digits,
            _chars(*_WESTERN, *_EASTERN, *_PERSIAN),
            _chars(*_WESTERN, *_EASTERN),
        ),
        Perturbation(
            "hamza",
            1.0,
            "fold hamza alefs",
            _char_map(dict.fromkeys(HAMZA_ALEFS, "ا")),
            _chars(HAMZA_ALEFS),
            _chars("ا"),
        ),
        Perturbation("ya", 1.0, "final ي ↔ ى", _final_map(_YA), _chars("يى"), _chars("يى")),
        Perturbation(
            "ta_marbuta", 1.0, "final ة → ه", _final_map({"ة": "ه"}), _chars("ة"), _chars("ه")
        ),
        Perturbation(
            "conjunction",
            1.0,
            "detach/attach و ف",
            _conjunction,
            frozenset(" "),
            frozenset(" "),
        ),
        Perturbation(
            "punctuation",
            1.0,
            "Arabic ↔ Latin punctuation",
            _char_map(_PUNCT),
            _chars(*_PUNCT),
            _chars(*_PUNCT),
        ),
        Perturbation(
            "direction_marks",
            0.1,
            "insert RLM/ALM/ZWNJ",
            _direction_marks,
            frozenset(),
            _chars(DIRECTION_MARKS),
        ),
        Perturbation("noise", 0.1, "delete or swap letters", _noise, None, frozenset()),
    )
}
NAMES = tuple(PERTURBATIONS)


def resolve(spec: str) -> list[str]:
    """``all`` or comma-separated names → the perturbation names, in the table's order.

    Raises:
        ValueError: a name is unknown (the message lists the names).
    """
    if spec.strip() == "all":
        return list(NAMES)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in PERTURBATIONS]
    if unknown or not names:
        shown = ", ".join(unknown) if unknown else repr(spec)
        raise ValueError(f"unknown perturbation {shown}; choose all or any of {', '.join(NAMES)}")
    return [n for n in NAMES if n in names]


def document_rng(seed: int, name: str, doc_id: str) -> random.Random:
    """The generator of one perturbation of one document (independent of corpus order)."""
    return random.Random(f"{seed}/{name}/{doc_id}")


def perturb_text(
    text: str,
    name: str,
    *,
    rate: float | None = None,
    seed: int = 0,
    key: str = "",
    known: KnownWords | None = None,
) -> tuple[str, OffsetMap]:
    """Perturb one text; ``key`` (a document id) makes its generator differ from others'."""
    return apply_edits(
        text, perturbation_edits(text, name, rate=rate, seed=seed, key=key, known=known)
    )


def perturbation_edits(
    text: str,
    name: str,
    *,
    rate: float | None = None,
    seed: int = 0,
    key: str = "",
    known: KnownWords | None = None,
) -> list[Edit]:
    """The edits :func:`perturb_text` makes (its default rate when ``rate`` is None).

    Raises:
        ValueError: ``rate`` is not between 0 and 1.
    """
    p = PERTURBATIONS[name]
    rate = p.rate if rate is None else rate
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate {rate} is not between 0 and 1")
    known = KnownWords.shipped() if known is None else known
    return p.make(text, document_rng(seed, name, key), rate, known)


def _move(span, m: OffsetMap):
    got = m.span(span.start, span.end)
    return None if got is None else replace(span, start=got[0], end=got[1])


def perturb_document(
    doc: Document,
    name: str,
    *,
    rate: float | None = None,
    seed: int = 0,
    known: KnownWords | None = None,
) -> tuple[Document, Counter]:
    """The perturbed document with every span moved, and what happened to the spans.

    Counts, per layer (``entities``, ``triggers``, ``arguments``): ``changed/<layer>``
    (spans whose characters changed), ``destroyed/<layer>`` (spans that could not
    be carried: left out of the perturbed document; a destroyed trigger takes its
    arguments with it, counted as destroyed too); ``documents_changed``; ``tokens_dropped``
    (a document's corpus ``tokens`` are not carried).
    """
    text, m = perturb_text(doc.text, name, rate=rate, seed=seed, key=doc.id, known=known)
    stats: Counter = Counter(documents_changed=int(text != doc.text))

    def carry(span, layer: str):
        moved = _move(span, m)
        if moved is None:
            stats[f"destroyed/{layer}"] += 1
        elif text[moved.start : moved.end] != doc.text[span.start : span.end]:
            stats[f"changed/{layer}"] += 1
        return moved

    entities = [s for s in (carry(s, "entities") for s in doc.entities) if s is not None]
    triggers = []
    for t in doc.triggers:
        moved = carry(t, "triggers")
        if moved is None:
            stats["destroyed/arguments"] += len(t.arguments or ())
            continue
        if t.arguments is not None:
            args = [carry(a, "arguments") for a in t.arguments]
            moved = replace(moved, arguments=tuple(a for a in args if a is not None))
        triggers.append(moved)
    extra = dict(doc.extra)
    if "tokens" in extra:
        del extra["tokens"]
        stats["tokens_dropped"] += 1
    return Document(doc.id, text, entities, triggers, extra), stats


def perturb_corpus(
    docs: Sequence[Document], name: str, *, rate: float | None = None, seed: int = 0
) -> tuple[list[Document], Counter]:
    """Every document perturbed by ``name``; the proclitic rule knows the corpus's span words."""
    known = KnownWords.shipped().union(span_vocabulary(docs))
    out: list[Document] = []
    total: Counter = Counter()
    for doc in docs:
        new, stats = perturb_document(doc, name, rate=rate, seed=seed, known=known)
        out.append(new)
        total.update(stats)
    return out, total


def augment_documents(
    docs: Sequence[Document],
    names: Sequence[str],
    probability: float,
    *,
    seed: int = 0,
    epoch: int = 0,
    rate: float | None = None,
) -> tuple[list[Document], Counter]:
    """Training augmentation: each document, with ``probability``, perturbed by one of ``names``.

    The draw (whether, and which perturbation) and the perturbation itself are
    seeded by ``seed``, ``epoch`` and the document id: a new epoch gives a new
    corpus, the same ``(seed, epoch)`` the same one. Spans move with the text;
    counts are ``augmented/<name>`` plus :func:`perturb_document`'s.

    Raises:
        ValueError: a name is unknown or ``probability`` is not between 0 and 1.
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"augmentation probability {probability} is not between 0 and 1")
    names = resolve(",".join(names)) if names else []
    known = KnownWords.shipped().union(span_vocabulary(docs))
    out: list[Document] = []
    total: Counter = Counter()
    for doc in docs:
        rng = random.Random(f"{seed}/augment/{epoch}/{doc.id}")
        if not names or rng.random() >= probability:
            out.append(doc)
            continue
        name = rng.choice(names)
        new, stats = perturb_document(doc, name, rate=rate, seed=rng.randrange(2**32), known=known)
        out.append(new)
        total[f"augmented/{name}"] += 1
        total.update(stats)
    return out, total
