"""Units: pre-tokens with character offsets, and per-unit normalisation.

A unit is a slice ``text[start:end]`` of the raw text. Units come from
whitespace, punctuation and the proclitic rule (README, "The proclitic rule").
Normalisation maps a unit's text to what the model sees; offsets never move.
Nothing here ever applies NFKD (it splits أ إ آ into two code points).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from weakref import WeakKeyDictionary

CONJUNCTIONS = "وف"
PREPOSITIONS = "بكل"
PROCLITICS = CONJUNCTIONS + PREPOSITIONS
TATWEEL = "\u0640"
ARABIC_PUNCTUATION = "،؛؟«»٪٫٬"
_DIACRITIC_RANGES = ((0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06ED))
_DIGITS = {
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
}
_ALEF = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"}
_FINAL_YA = {"ي": "ى", "ى": "ي"}
KNOWN_WORDS_FILE = "known_words.txt"


DIACRITICS = frozenset(chr(c) for lo, hi in _DIACRITIC_RANGES for c in range(lo, hi + 1))


def is_diacritic(ch: str) -> bool:
    """Arabic harakat, tanwin, shadda, sukun, dagger alef and Quranic marks."""
    return ch in DIACRITICS


@lru_cache(maxsize=4096)
def _is_mark(ch: str) -> bool:
    """A character that rides on a letter: diacritic, tatweel, other combining or format mark."""
    return ch == TATWEEL or ch in DIACRITICS or unicodedata.category(ch) in ("Mn", "Cf")


@lru_cache(maxsize=4096)
def is_punctuation(ch: str) -> bool:
    """Punctuation and symbols (Arabic ، ؛ ؟ « » included) form units of their own."""
    return ch in ARABIC_PUNCTUATION or unicodedata.category(ch)[0] in "PS"


def _strip_marks(word: str) -> str:
    return "".join(c for c in word if not _is_mark(c))


def _fold_alef(word: str) -> str:
    return "".join(_ALEF.get(c, c) for c in word)


def lookup_key(word: str) -> str:
    """A word without marks and with alef variants folded («وَأمريكا» → «وامريكا»)."""
    return _fold_alef(_strip_marks(word))


def _final_ya_forms(word: str) -> tuple[str, ...]:
    """``word`` and, when it ends in ي or ى, the same word ending in the other one."""
    if word[-1:] in _FINAL_YA:
        return word, word[:-1] + _FINAL_YA[word[-1]]
    return (word,)


def _written_forms(word: str) -> set[str]:
    """How a listed word (without marks) may be written: see :class:`KnownWords`."""
    out: set[str] = set()
    for alef in {word, _fold_alef(word)}:
        for ta in {alef, alef[:-1] + "ه" if alef.endswith("ة") else alef}:
            out.update(_final_ya_forms(ta))
    return out


class KnownWords:
    """Words that decide the proclitic split: the shipped list plus corpus words.

    Lookup ignores marks (diacritics, tatweel, format characters). A word written
    without hamza («اسبانيا») matches a listed «إسبانيا», and one written with a
    final ه («منظمه») a listed «منظمة»; but a hamza alef or a final ة written in the
    word must be in the listed word, so «بإب» (ب + إب) is not mistaken for «باب». A
    final ي and ى match each other («مستشفي», «مستشفى»). :meth:`forms` lists every accepted
    spelling (the saved tokenizer's regex is built from it).
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._words = {_strip_marks(w) for w in words if w.strip()}
        self._words.discard("")
        self._forms = {f for w in self._words for f in _written_forms(w)}

    def __contains__(self, word: str) -> bool:
        return _strip_marks(word) in self._forms

    def forms(self) -> set[str]:
        """Every spelling (without marks) that a lookup accepts."""
        return set(self._forms)

    def __len__(self) -> int:
        return len(self._words)

    def __iter__(self):
        return iter(sorted(self._words))

    def union(self, words: Iterable[str]) -> KnownWords:
        """A new list with ``words`` added."""
        return KnownWords([*self._words, *words])

    @classmethod
    def shipped(cls) -> KnownWords:
        """The list that ships with araevent."""
        return _shipped()

    @classmethod
    def load(cls, path: str | Path) -> KnownWords:
        """Read one word per line (``#`` comments allowed)."""
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return cls(w.strip() for w in lines if w.strip() and not w.startswith("#"))

    def save(self, path: str | Path) -> None:
        """Write one word per line, sorted, so the file diffs cleanly."""
        Path(path).write_text("\n".join(self) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def _shipped() -> KnownWords:
    text = resources.files("araevent.resources").joinpath(KNOWN_WORDS_FILE).read_text("utf-8")
    return KnownWords(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


_INVISIBLE = ("Cf", "Mn", "Me", "Mc")


@lru_cache(maxsize=4096)
def is_base(ch: str) -> bool:
    """A visible character that carries marks: not a space, a format character or a mark.

    Format characters (RLM, LRM, ALM, ZWSP, ZWNJ, ZWJ, BOM, ...) and combining marks
    are not; tatweel is (it is drawn).
    """
    return not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE


@lru_cache(maxsize=65536)
def _core(word: str) -> tuple[int, int, int] | None:
    """``(first base, last base, visible end)`` offsets in ``word``; None with no base.

    The visible end is after the last base character and the combining marks that
    follow it (its diacritics), never after a format character.
    """
    bases = [i for i, ch in enumerate(word) if is_base(ch)]
    if not bases:
        return None
    end = bases[-1] + 1
    while end < len(word) and unicodedata.category(word[end]) in _INVISIBLE[1:]:
        end += 1
    return bases[0], bases[-1], end


@dataclass(frozen=True)
class Unit:
    """A pre-token: ``text == document_text[start:end]``.

    A unit keeps the format characters and marks around its word (they are part of
    the raw text), but its *visible* extent (:attr:`core`) leaves out leading and
    trailing format characters and leading combining marks (they belong to the
    neighbour): gold spans align to it and decoded spans are cut to it.
    """

    start: int
    end: int
    text: str

    @property
    def core(self) -> tuple[int, int] | None:
        """``[start, end)`` of the visible part on the raw text; None for an invisible unit."""
        c = _core(self.text)
        return None if c is None else (self.start + c[0], self.start + c[2])

    @property
    def bases(self) -> tuple[int, int] | None:
        """Raw-text positions of the first and last base character; None for an invisible unit."""
        c = _core(self.text)
        return None if c is None else (self.start + c[0], self.start + c[1])


def _words(text: str) -> Iterable[tuple[int, int]]:
    """Step 1: maximal runs split at whitespace; each punctuation character alone."""
    start = None
    for i, ch in enumerate(text):
        if ch.isspace() or is_punctuation(ch):
            if start is not None:
                yield start, i
                start = None
            if not ch.isspace():
                yield i, i + 1
        elif start is None:
            start = i
    if start is not None:
        yield start, len(text)


_ARTICLE = re.compile(r"([وف]?)([بكل]?)[اٱ]ل..")
_LAM_LAM = re.compile(r"([وف]?)لل.")


def _article_cuts(base: str) -> list[int] | None:
    """Rule 2 and «لل» on a word without marks; None when neither applies."""
    m = _ARTICLE.match(base)
    if m:  # rule 2: before the article, split off و/ف and ب/ك/ل
        return [1] * (len(m.group(1)) + len(m.group(2)))
    m = _LAM_LAM.match(base)
    if m:  # «لل» + stem: ل | ل+stem (the article's alef is not written)
        return [1] * (len(m.group(1)) + 1)
    return None


def proclitic_lengths(word: str, known: KnownWords) -> list[int]:
    """How many base letters each leading proclitic unit takes (all ones), by rules 2 and 3."""
    base = "".join(c for c in word if not _is_mark(c))
    if word in known:  # a known whole word («وكالات», «والدة», «فرنسا») never splits
        return []
    cuts = _article_cuts(base)
    if cuts is not None:
        return cuts
    if len(base) < 3 or base[0] not in PROCLITICS:
        return []
    if base[1:] in known:  # rule 3: a bare proclitic before a known stem
        return [1]
    if base[0] in CONJUNCTIONS and base[1] in PREPOSITIONS and len(base) > 3 and base[2:] in known:
        return [1, 1]
    return []


def split_word(text: str, start: int, end: int, known: KnownWords) -> list[Unit]:
    """Split one whitespace/punctuation word into units by the proclitic rule."""
    word = text[start:end]
    cuts = proclitic_lengths(word, known)
    units = []
    pos = start
    for _ in cuts:
        # a proclitic unit takes its letter with every mark before (a leading tatweel
        # or RLM) and after it
        nxt = pos
        while _is_mark(text[nxt]):
            nxt += 1
        nxt += 1
        while nxt < end and _is_mark(text[nxt]):
            nxt += 1
        units.append(Unit(pos, nxt, text[pos:nxt]))
        pos = nxt
    units.append(Unit(pos, end, text[pos:end]))
    return units


_CHUNK = re.compile(r"\S+")  # ``\s`` is exactly ``str.isspace``
_LAYOUTS: WeakKeyDictionary[KnownWords, dict[str, tuple[tuple[int, int], ...]]]
_LAYOUTS = WeakKeyDictionary()
_LAYOUT_CACHE = 1 << 17  # chunks remembered per known-word list


def _layout(chunk: str, known: KnownWords) -> tuple[tuple[int, int], ...]:
    """The units of one whitespace-free chunk as ``(start, end)`` offsets in it."""
    units: list[tuple[int, int]] = []
    for s, e in _words(chunk):
        if e - s == 1:
            units.append((s, e))
        else:
            units.extend((u.start, u.end) for u in split_word(chunk, s, e, known))
    return tuple(units)


def split_units(text: str, known: KnownWords | None = None) -> list[Unit]:
    """All units of ``text`` in order; their slices cover every non-space character.

    A chunk between whitespace always splits the same way under one known-word list,
    so its layout is computed once and remembered (per list, at most ``_LAYOUT_CACHE``
    chunks).
    """
    known = KnownWords.shipped() if known is None else known
    layouts = _LAYOUTS.get(known)
    if layouts is None or len(layouts) > _LAYOUT_CACHE:
        layouts = _LAYOUTS[known] = {}
    units: list[Unit] = []
    for m in _CHUNK.finditer(text):
        chunk, base = m.group(), m.start()
        layout = layouts.get(chunk)
        if layout is None:
            layout = layouts[chunk] = _layout(chunk, known)
        if len(layout) == 1:
            units.append(Unit(base, m.end(), chunk))
            continue
        for s, e in layout:
            units.append(Unit(base + s, base + e, chunk[s:e]))
    return units


@dataclass(frozen=True)
class Normalization:
    """What per-unit normalisation does; saved with a model so inference matches training."""

    strip_diacritics: bool = True
    strip_tatweel: bool = True
    strip_format: bool = True
    digits: bool = True
    fold_alef: bool = False
    fold_ya: bool = False
    fold_ta_marbuta: bool = False

    def to_dict(self) -> dict[str, bool]:
        """Plain dict for ``config.json``."""
        return asdict(self)

    @cached_property
    def _table(self) -> dict[int, str | None]:
        """One ``str.translate`` table for every enabled step."""
        table: dict[int, str | None] = {}
        if self.strip_format:
            table.update((cp, None) for cp in _format_code_points())
        if self.digits:
            table.update((ord(k), v) for k, v in _DIGITS.items())
        if self.fold_alef:
            table.update((ord(k), v) for k, v in _ALEF.items())
        if self.fold_ya:
            table[ord("ى")] = "ي"
        if self.fold_ta_marbuta:
            table[ord("ة")] = "ه"
        if self.strip_diacritics:
            table.update((ord(c), None) for c in DIACRITICS)
        if self.strip_tatweel:
            table[ord(TATWEEL)] = None
        return table

    def __call__(self, unit: str) -> str:
        """Normalise one unit's text; the result may be empty (a lone tatweel)."""
        return unit.translate(self._table)

    def changes(self) -> dict[str, str]:
        """Every character this normalisation changes, and what it becomes ("" when removed)."""
        out = {chr(cp): "" if new is None else new for cp, new in self._table.items()}
        return {ch: new for ch, new in out.items() if new != ch}


@lru_cache(maxsize=1)
def _format_code_points() -> tuple[int, ...]:
    """Every format (Cf) character: RLM, ZWNJ, ... (invisible; tokenizers drop them)."""
    return char_classes()["Cf"]


# --- Unicode character classes ----------------------------------------------------
#
# The unit rules read whitespace (``str.isspace``) and the categories P*, S*, Mn and Cf.
# Listing them means a scan of all 1.1 M code points (about a second); the lists for
# this Python's Unicode version ship as ``resources/char_classes.json`` (ranges), and
# another version is scanned once per process.

CHAR_CLASSES_FILE = "char_classes.json"
CLASS_NAMES = ("space", "P", "S", "Mn", "Cf")


def scan_char_classes() -> dict[str, tuple[int, ...]]:
    """Every code point of each class in :data:`CLASS_NAMES`, from ``unicodedata`` (slow)."""
    chars = "".join(map(chr, range(0x110000)))
    cats = list(map(unicodedata.category, chars))
    out: dict[str, list[int]] = {name: [] for name in CLASS_NAMES}
    for cp, cat in enumerate(cats):
        if cat[0] in "PS":
            out[cat[0]].append(cp)
        elif cat in ("Mn", "Cf"):
            out[cat].append(cp)
    out["space"] = [ord(c) for c in filter(str.isspace, chars)]
    return {name: tuple(cps) for name, cps in out.items()}


def code_point_ranges(cps: Iterable[int]) -> list[list[int]]:
    """``[first, last]`` runs of consecutive code points, in order."""
    out: list[list[int]] = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def char_classes_json(scanned: dict[str, tuple[int, ...]] | None = None) -> str:
    """What ``resources/char_classes.json`` holds for this Python's Unicode version.

    Written by ``python scripts/char_classes.py`` (one class per line); ``scanned``:
    a :func:`scan_char_classes` already made.
    """
    import json

    scanned = scan_char_classes() if scanned is None else scanned
    lines = [f'"unidata_version": {json.dumps(unicodedata.unidata_version)}']
    lines += [f'"{n}": {json.dumps(code_point_ranges(scanned[n]))}' for n in CLASS_NAMES]
    return "{\n" + ",\n".join(lines) + "\n}\n"


@lru_cache(maxsize=1)
def char_classes() -> dict[str, tuple[int, ...]]:
    """The code points of each class of :data:`CLASS_NAMES`.

    The shipped lists when their Unicode version is this Python's, else a scan
    (once per process).
    """
    import json

    shipped = json.loads(
        resources.files("araevent.resources").joinpath(CHAR_CLASSES_FILE).read_text("utf-8")
    )
    if shipped.get("unidata_version") != unicodedata.unidata_version:
        return scan_char_classes()
    return {
        name: tuple(cp for lo, hi in shipped[name] for cp in range(lo, hi + 1))
        for name in CLASS_NAMES
    }


def span_vocabulary(documents: Iterable, known: KnownWords | None = None) -> set[str]:
    """The corpus vocabulary that extends the known-word list, from gold spans.

    A span starts after any proclitic, so its first word is usually a stem
    («روسيا» from «و[روسيا]»). A word is left out when it starts with a proclitic
    letter and the rest is itself a span word or a ``known`` word: «لمنظمة» from
    «ل[لمنظمة ...]» (the «لل» spelling) or from inside a name must not become
    known, or «لمنظمة» (ل + منظمة) would never split. A later word of a span that
    rule 2 or «لل» splits is left out too: «للقوات» from «[القيادة العامة للقوات]»
    would keep «ل[لقوات ...]» from ever being a span (a first word such as «فاليتا»
    stays: the span says the word starts there). Splitting too finely loses
    nothing; whole text words are never added. Event arguments are spans too
    («ب[حافلة]»): their words count as the entities' and triggers' do.
    """
    known = KnownWords.shipped() if known is None else known
    first: set[str] = set()
    later: set[str] = set()
    for doc in documents:
        arguments = [a for t in doc.triggers for a in t.arguments or ()]
        for span in (*doc.entities, *doc.triggers, *arguments):
            segment = doc.text[span.start : span.end]
            found = [segment[s:e] for s, e in _words(segment)]
            found = [w for w in found if len(lookup_key(w)) > 1]
            first.update(found[:1])
            later.update(found[1:])
    stems = KnownWords(first | later)

    def splits(w: str) -> bool:
        key = lookup_key(w)
        if key[:1] in PROCLITICS and len(key) > 2 and (key[1:] in stems or key[1:] in known):
            return True
        return w not in first and bool(_article_cuts(_strip_marks(w)))

    return {w for w in first | later if not splits(w)}
