"""The araevent pipeline inside a saved ``tokenizer.json``, for ``transformers.pipeline``.

A model folder should give ``transformers.pipeline`` araevent's units. The
normaliser becomes ``Replace`` normalizers (tokenizers keeps their alignments,
so offsets stay on the raw text); the units become ``Split`` pre-tokenizers:
whitespace (removed), each punctuation character (isolated) and the proclitic
rule as one regex with the known words as a trie. Every component carries a
``(?#araevent:...)`` comment so that applying the pipeline again replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from araevent.text import (
    ARABIC_PUNCTUATION,
    DIACRITICS,
    TATWEEL,
    KnownWords,
    Normalization,
    char_classes,
)

_MARK = "(?#araevent:"
_BMP = 0x10000


def _char_class(chars: Iterable[str]) -> str:
    """An Onig character class of exactly ``chars``, as hexadecimal code-point ranges."""
    cps = sorted({ord(c) for c in chars})
    parts = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = cps[i], cps[j]
        parts.append(f"\\x{{{lo:X}}}" + (f"-\\x{{{hi:X}}}" if hi > lo else ""))
        i = j + 1
    return "[" + "".join(parts) + "]"


@lru_cache(maxsize=1)
def _unit_classes() -> tuple[str, str, str]:
    """Whitespace, punctuation and mark classes exactly as ``araevent.text`` decides them.

    ``str.isspace``; then :func:`~araevent.text.is_punctuation` (P*, S* and the
    Arabic punctuation); then, in the BMP, what ``lookup_key`` removes (diacritics,
    tatweel, Mn and Cf), from the shipped class lists (no scan of every code point).
    """
    c = char_classes()
    space = set(c["space"])
    punct = (set(c["P"]) | set(c["S"]) | {ord(ch) for ch in ARABIC_PUNCTUATION}) - space
    marks = set(c["Mn"]) | set(c["Cf"]) | {ord(ch) for ch in DIACRITICS} | {ord(TATWEEL)}
    marks = {cp for cp in marks if cp < _BMP} - space - punct
    return tuple(_char_class(map(chr, cps)) for cps in (space, punct, marks))


def _trie_regex(words: Iterable[str], mark: str) -> str:
    """An alternation of ``words`` shaped as a trie, so trying one costs its length."""
    trie: dict = {}
    for w in sorted(set(words)):
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = []
        for ch, child in sorted(node.items()):
            if ch:
                lit = ch if ch.isalpha() else f"\\x{{{ord(ch):X}}}"
                alts.append(lit + mark + emit(child))
        if not alts:
            return ""
        if len(alts) == 1 and "" not in node:
            return alts[0]
        return "(?:" + "|".join(alts) + ")" + ("?" if "" in node else "")

    return emit(trie)


def _proclitic_regex(known: KnownWords, normalization: Normalization, marks: str) -> str:
    """The proclitic rule as one regex: a word's proclitic letters, each to be isolated.

    Rule 2 (before the article), «لل» + stem, and rule 3 (a bare proclitic before a
    known stem, never when the whole word is known), decided on the whole word of
    normalised text, as ``araevent.text.proclitic_lengths`` decides on raw text.
    """
    # ``word in known``: one of the spellings the lookup accepts (a listed word with
    # its alef variants and final ة folded, its final ي/ى either way), without marks
    keys = {normalization(w) for w in known.forms()}
    m = r"\g<M>*"
    keep_marks = not (normalization.strip_diacritics and normalization.strip_tatweel)
    trie = _trie_regex(keys - {""}, m if keep_marks else "")
    any_ = rf"[^\s]{m}"
    article = rf"[اٱ]{m}ل{m}{any_}{any_}"
    stem = rf"(?={any_}{any_})\g<K>\z"  # a known stem of two letters or more
    first = (  # the first cut, from the whole word
        rf"\A(?!{m}\g<K>\z){m}(?:"
        rf"[وف]{m}(?=(?:[بكل]{m})?{article}|ل{m}ل{m}{any_}|(?:[بكل]{m})?{stem})"
        rf"|[بكل]{m}(?={article}|{stem})"
        rf"|ل{m}(?=ل{m}{any_})"
        ")"
    )
    second = (  # right after a cut conjunction (\G: where the last match ended)
        r"\G(?<=[وف]|[وف][\p{Mn}\p{Cf}])(?:"
        rf"[بكل]{m}(?={article})|ل{m}(?=ل{m}{any_})|(?!{m}\g<K>\z)[بكل]{m}(?={stem})"
        ")"
    )
    return f"{_MARK}proclitics)(?<M>{marks}){{0}}(?<K>{trie}){{0}}(?:{first}|{second})"


def _parts(component: dict | None, key: str) -> list[dict]:
    """The parts of a normalizer or pre-tokenizer in tokenizers' JSON."""
    if component is None:
        return []
    return component[key] if component.get("type") == "Sequence" else [component]


def _not_marked(parts: list[dict], mark: str) -> list[dict]:
    """``parts`` without those whose regex starts with ``mark``."""
    return [p for p in parts if not p.get("pattern", {}).get("Regex", "").startswith(mark)]


def _rebuilt(tokenizer, data: dict):
    """A ``PreTrainedTokenizerFast`` over tokenizers JSON, with ``tokenizer``'s specials."""
    from tokenizers import Tokenizer  # heavy: loaded when a tokenizer is rebuilt
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer.from_str(json.dumps(data, ensure_ascii=False))
    names = ("unk", "pad", "cls", "sep", "mask", "bos", "eos")
    specials = {f"{n}_token": getattr(tokenizer, f"{n}_token", None) for n in names}
    specials = {k: v for k, v in specials.items() if v}
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, model_max_length=tokenizer.model_max_length, **specials
    )


def araevent_tokenizer_pipeline(tokenizer, known: KnownWords, normalization: Normalization):
    """The tokenizer with araevent's normalisation and units in its ``tokenizer.json``.

    ``transformers.pipeline("token-classification")`` and the Hub widget then split
    raw text into araevent's units: the normalisation as ``Replace`` normalizers
    (tokenizers keeps alignments, so offsets stay on the raw text), then ``Split``
    pre-tokenizers for whitespace, punctuation and the proclitic rule (one regex
    for rules 2 and 3, ``known`` as a trie in a lookahead). The tokenizer's own
    normalizer and pre-tokenizer run after these; the vocabulary does not change;
    applying it again replaces the earlier araevent parts.

    Units must be tokenised without the proclitic cut (see :func:`unit_tokenizer`):
    a unit «لجنة» cut from «للجنة» stays whole, although the word «لجنة» alone
    splits when جنة is known.

    Args:
        tokenizer: a fast tokenizer (the tiny WordPiece or a pretrained one).
        known: the known words of the proclitic rule, as saved with the model.
        normalization: the model's per-unit normalisation.

    Returns:
        A ``PreTrainedTokenizerFast`` with the same vocabulary and special tokens.
    """
    space, punct, marks = _unit_classes()
    by_output: dict[str, list[str]] = {}
    for ch, out in normalization.changes().items():  # it maps characters one by one
        if ord(ch) < _BMP:
            by_output.setdefault(out, []).append(ch)
    replaces = [
        {
            "type": "Replace",
            "pattern": {"Regex": f"{_MARK}normalize){_char_class(chars)}"},
            "content": out,
        }
        for out, chars in sorted(by_output.items())
    ]
    splits = [
        (f"{_MARK}whitespace){space}+", "Removed"),
        (f"{_MARK}punctuation){punct}", "Isolated"),
        (_proclitic_regex(known, normalization, marks), "Isolated"),
    ]
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    normalizers = replaces + _not_marked(_parts(data.get("normalizer"), "normalizers"), _MARK)
    data["normalizer"] = {"type": "Sequence", "normalizers": normalizers} if normalizers else None
    pre = [
        {"type": "Split", "pattern": {"Regex": p}, "behavior": b, "invert": False}
        for p, b in splits
    ] + _not_marked(_parts(data.get("pre_tokenizer"), "pretokenizers"), _MARK)
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": pre}
    return _rebuilt(tokenizer, data)


def unit_tokenizer(tokenizer):
    """The tokenizer to call on araevent units: the same without the proclitic cut.

    Units are split already, and the rule is not idempotent («للجنة» → ل | لجنة,
    while «لجنة» alone → ل | جنة when جنة is known), so the ``Preprocessor`` must
    not cut a unit again. A tokenizer without the araevent pipeline comes back as it is.
    """
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    parts = _parts(data.get("pre_tokenizer"), "pretokenizers")
    kept = _not_marked(parts, f"{_MARK}proclitics)")
    if len(kept) == len(parts):
        return tokenizer
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": kept}
    return _rebuilt(tokenizer, data)


# pre-tokenizers that never cut an araevent unit: units hold no whitespace, and a
# punctuation character (tokenizers' or Unicode's P*, a subset of araevent's P*/S*)
# is a unit of its own
_NO_CUT = ("WhitespaceSplit", "BertPreTokenizer", "Punctuation")


def word_tokenizer(tokenizer):
    """The ``tokenizers.Tokenizer`` to call on normalised units, without a second pass.

    araevent's normalizers and splits in a saved ``tokenizer.json`` change nothing on
    a unit that ``Normalization`` has normalised (it is idempotent; a unit holds no
    whitespace, and punctuation only alone), so they are dropped. The tokenizer's own
    normalizer (BERT's lowercasing, NFKC, ...) and pre-tokenizer stay, unless it has
    no normalizer and its pre-tokenizers are ones that never cut a unit: then units
    go straight to the model. Padding, truncation and the post-processor are off.
    """
    from tokenizers import Tokenizer

    data = json.loads(tokenizer.backend_tokenizer.to_str())
    norms = _not_marked(_parts(data.get("normalizer"), "normalizers"), _MARK)
    pre = _not_marked(_parts(data.get("pre_tokenizer"), "pretokenizers"), _MARK)
    if not norms and all(
        p.get("type") in _NO_CUT and p.get("behavior", "Isolated") != "Removed" for p in pre
    ):
        pre = []
    data["normalizer"] = {"type": "Sequence", "normalizers": norms} if norms else None
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": pre} if pre else None
    data["post_processor"] = data["truncation"] = data["padding"] = None
    return Tokenizer.from_str(json.dumps(data, ensure_ascii=False))
