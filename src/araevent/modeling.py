"""Models and tokenizers: the tiny local BERT, pretrained encoders, and the preprocessor.

A model folder describes itself: ``config.json`` carries ``id2label``/``label2id``
and an ``araevent`` block (layers, normalisation, window settings, decoding);
``known_words.txt`` holds the proclitic rule's known words.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from araevent.errors import UsageError
from araevent.tagging import Encoding, LabelSchema, encode_units
from araevent.text import KNOWN_WORDS_FILE, KnownWords, Normalization, Unit, split_units

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CONFIG_KEY = "araevent"


@dataclass
class Preprocessing:
    """Everything between raw text and subword windows; saved in ``config.json``."""

    normalization: Normalization = field(default_factory=Normalization)
    max_length: int = 128
    stride: int = 32
    decoding: str = "argmax"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for ``config.json``."""
        return {
            "normalization": self.normalization.to_dict(),
            "max_length": self.max_length,
            "stride": self.stride,
            "decoding": self.decoding,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_dict`."""
        return cls(
            Normalization(**d.get("normalization", {})),
            int(d.get("max_length", 128)),
            int(d.get("stride", 32)),
            str(d.get("decoding", "argmax")),
        )


@dataclass
class EncodedDocument:
    """A document's units and their subword windows."""

    units: list[Unit]
    encoding: Encoding


class Preprocessor:
    """Raw text → units → normalised units → subword windows, in training and inference."""

    def __init__(self, tokenizer, known: KnownWords, preprocessing: Preprocessing) -> None:
        # units are cut already: never let a saved proclitic pre-tokenizer cut them again
        self.tokenizer = unit_tokenizer(tokenizer)
        self.known = known
        self.settings = preprocessing
        specials = tokenizer.num_special_tokens_to_add(pair=False)
        self.max_subwords = preprocessing.max_length - specials
        if self.max_subwords < 2:
            raise UsageError(f"max_length {preprocessing.max_length} leaves no room for text")
        if not 0 <= preprocessing.stride < self.max_subwords:
            raise UsageError(
                f"stride {preprocessing.stride} must be >= 0 and below the window's "
                f"{self.max_subwords} subwords; lower data.stride or raise max_length"
            )

    def units(self, text: str) -> list[Unit]:
        """The units of ``text`` under this model's known words."""
        return split_units(text, self.known)

    def encode(self, texts: Sequence[str]) -> list[EncodedDocument]:
        """Units and windows for many texts, tokenised in one batched call."""
        all_units = [self.units(t) for t in texts]
        norm = self.settings.normalization
        words = [[norm(u.text) for u in units] for units in all_units]
        out: list[EncodedDocument] = []
        nonempty = [i for i, w in enumerate(words) if w]
        batch = (
            self.tokenizer(
                [words[i] for i in nonempty],
                is_split_into_words=True,
                add_special_tokens=False,
                verbose=False,
            )
            if nonempty
            else None
        )
        row = {doc: k for k, doc in enumerate(nonempty)}
        for i, units in enumerate(all_units):
            if i in row:
                k = row[i]
                word_ids, ids = batch.word_ids(k), batch["input_ids"][k]
            else:
                word_ids, ids = [], []
            enc = encode_units(
                word_ids,
                ids,
                len(units),
                unk_id=self.tokenizer.unk_token_id,
                max_subwords=self.max_subwords,
                stride=self.settings.stride,
            )
            out.append(EncodedDocument(units, enc))
        return out


def wordpiece_vocab(
    unit_lists: Iterable[list[str]], vocab_size: int, min_frequency: int
) -> dict[str, int]:
    """A deterministic WordPiece vocabulary from normalised units.

    Every character (word-initial and ``##`` continuation) is in it, so the
    training text has no ``[UNK]``; the rest are whole words, word-initial pieces
    and ``##`` pieces ranked by how many characters they cover (ties by string).
    ``tokenizers``' own trainer breaks frequency ties in hash order, so two runs
    with one seed would get different ids and a resumed run could not match.
    """
    from collections import Counter

    words: Counter[str] = Counter()
    for units in unit_lists:
        words.update(u for u in units if u)
    chars: set[str] = set()
    pieces: Counter[str] = Counter()
    for word, n in words.items():
        chars.add(word[0])
        chars.update("##" + c for c in word[1:])
        if n >= min_frequency and len(word) > 1:
            pieces[word] += n * len(word)
        for k in range(2, min(len(word), 6)):
            pieces[word[:k]] += n * k
        for i in range(1, len(word)):
            for k in range(2, min(len(word) - i, 6) + 1):
                pieces["##" + word[i : i + k]] += n * k
    vocab = list(SPECIAL_TOKENS) + sorted(chars)
    room = max(vocab_size - len(vocab), 0)
    ranked = sorted(
        (p for p, c in pieces.items() if c >= 2 * min_frequency and p not in chars),
        key=lambda p: (-pieces[p], p),
    )
    vocab += ranked[:room]
    return {tok: i for i, tok in enumerate(vocab)}


def train_tiny_tokenizer(
    unit_lists: Iterable[list[str]], *, vocab_size: int, min_frequency: int, max_length: int
):
    """A WordPiece tokenizer (``tokenizers``) over normalised units, wrapped for transformers.

    The wrapper is the generic tokenizers backend (not ``BertTokenizerFast``), so a
    reload keeps this exact pipeline instead of rebuilding BERT's normaliser, which
    would lowercase and strip accents (Arabic diacritics included).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = wordpiece_vocab(unit_lists, vocab_size, min_frequency)
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


# --- the araevent pipeline inside a saved tokenizer.json ----------------------
#
# A model folder should give ``transformers.pipeline`` araevent's units. The
# normaliser becomes ``Replace`` normalizers (tokenizers keeps their alignments,
# so offsets stay on the raw text); the units become ``Split`` pre-tokenizers:
# whitespace (removed), each punctuation character (isolated) and the proclitic
# rule as one regex with the known words as a trie. Every component carries a
# ``(?#araevent:...)`` comment so that applying the pipeline again replaces it.

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
    from araevent.text import ARABIC_PUNCTUATION, DIACRITICS, TATWEEL, char_classes

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
    from araevent.text import lookup_key

    # ``word in known``: the word as listed, or (when it has no hamza alef) a listed
    # word with its alef variants folded, both without marks
    keys = {normalization(w) for w in known} | {normalization(lookup_key(w)) for w in known}
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
    import json

    from tokenizers import Tokenizer
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
    import json

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
    import json

    data = json.loads(tokenizer.backend_tokenizer.to_str())
    parts = _parts(data.get("pre_tokenizer"), "pretokenizers")
    kept = _not_marked(parts, f"{_MARK}proclitics)")
    if len(kept) == len(parts):
        return tokenizer
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": kept}
    return _rebuilt(tokenizer, data)


def tiny_model(
    tokenizer,
    schema: LabelSchema,
    *,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    intermediate_size: int,
    dropout: float,
    max_length: int,
):
    """A random-init BERT token classifier sized by ``configs/model/tiny.yaml``."""
    from transformers import BertConfig, BertForTokenClassification

    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        max_position_embeddings=max_length,
        pad_token_id=tokenizer.pad_token_id,
        id2label=schema.id2label,
        label2id=schema.label2id,
    )
    return BertForTokenClassification(config)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, KeyError):  # str() is only the quoted key
        return f"{type(exc).__name__}: {exc}"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _offline_message(name: str, exc: Exception) -> UsageError:
    return UsageError(
        f"cannot load model {name!r}: it is not a local folder and not in the Hugging Face "
        f"cache, and the Hub cannot be reached ({type(exc).__name__}); download it where "
        f"there is internet (`hf download {name}`) or pass a local folder with "
        f"model.name_or_path=/path/to/{name.split('/')[-1]}"
    )


# RoBERTa-style encoders number positions from padding_idx + 1 (XLMRobertaConfig)
_OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl")


def usable_positions(config) -> int | None:
    """Tokens one window may hold under ``config`` (its position table), or ``None``."""
    n = getattr(config, "max_position_embeddings", None)
    if n is None:
        return None
    if getattr(config, "model_type", "") in _OFFSET_POSITIONS:
        n -= (config.pad_token_id or 0) + 1
    return int(n)


def load_pretrained(
    name_or_path: str,
    schema: LabelSchema,
    *,
    revision: str | None = None,
    max_length: int | None = None,
):
    """Tokenizer and a token-classification head over ``schema``'s tags.

    For a Hub name or a local folder; no remote code, safetensors weights. The
    tokenizer must be fast (``word_ids``) and have the special tokens a window
    needs; ``max_length`` (subwords per window, specials included) must fit the
    encoder's position table (RoBERTa/XLM-R lose ``padding_idx + 1`` rows).
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            name_or_path, revision=revision, trust_remote_code=False
        )
        model = AutoModelForTokenClassification.from_pretrained(
            name_or_path,
            revision=revision,
            trust_remote_code=False,
            use_safetensors=True,
            num_labels=len(schema.tags),
            id2label=schema.id2label,
            label2id=schema.label2id,
            ignore_mismatched_sizes=True,
        )
    # a damaged file raises OSError, ValueError, SafetensorError or a bare Exception (Rust)
    except Exception as exc:  # noqa: BLE001
        if Path(name_or_path).is_dir():
            raise UsageError(
                f"cannot load model from {name_or_path}: {_first_line(exc)} "
                "(check its config.json, weights and tokenizer files)"
            ) from None
        if isinstance(exc, OSError):
            raise _offline_message(name_or_path, exc) from None
        raise UsageError(f"cannot load model {name_or_path!r}: {_first_line(exc)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise UsageError(f"{name_or_path} has no fast tokenizer; araevent needs word_ids()")
    missing = [
        n for n in ("cls", "sep", "pad", "unk") if getattr(tokenizer, f"{n}_token_id") is None
    ]
    if missing:
        raise UsageError(
            f"{name_or_path}: the tokenizer has no {', '.join(missing)} token; araevent "
            "windows are <cls> units <sep> padded with <pad> (use an encoder tokenizer)"
        )
    positions = usable_positions(model.config)
    if max_length is not None and positions is not None and max_length > positions:
        raise UsageError(
            f"model.max_length={max_length} is more than the {positions} positions "
            f"{name_or_path} has; set model.max_length={positions} or lower"
        )
    return tokenizer, model


def tokenizer_coverage(preprocessor: Preprocessor, texts: Sequence[str]) -> dict[str, Any]:
    """How the encoder's own tokenizer treats araevent's units of ``texts``.

    ``unk_units``: units the model sees as a lone unknown token (empty ones
    included); ``normalizer_changed_units``: units whose normalised text the
    tokenizer's own normaliser changes further (BERT lowercasing/accent
    stripping, NFKC), so their subwords are not those of the text araevent
    chose; ``bare_prefix_units``: units whose first subword (the one that carries
    the label) is a lone word-start mark (SentencePiece «▁»), no letter of the
    unit. Shares are of all units.
    """
    tok = preprocessor.tokenizer
    normalizer = tok.backend_tokenizer.normalizer
    norm = preprocessor.settings.normalization
    unk = [tok.unk_token_id]
    bare = {i for t, i in tok.get_vocab().items() if t and not t.strip("▁")}
    units = unk_units = changed = bare_first = 0
    for ed in preprocessor.encode(texts):
        units += len(ed.units)
        unk_units += sum(1 for g in ed.encoding.subwords if g == unk)
        bare_first += sum(1 for g in ed.encoding.subwords if g and g[0] in bare)
        if normalizer is not None:
            for u in ed.units:
                s = norm(u.text)
                changed += normalizer.normalize_str(s) != s
    return {
        "units": units,
        "unk_units": unk_units,
        "unk_share": round(unk_units / max(units, 1), 4),
        "normalizer_changed_units": changed,
        "normalizer_changed_share": round(changed / max(units, 1), 4),
        "bare_prefix_units": bare_first,
        "bare_prefix_share": round(bare_first / max(units, 1), 4),
    }


def attach_metadata(
    model,
    tokenizer,
    schema: LabelSchema,
    preprocessing: Preprocessing,
    *,
    label_set: str,
    base_model: str,
) -> None:
    """Write labels with layers and preprocessing into the model config."""
    model.config.id2label = schema.id2label
    model.config.label2id = schema.label2id
    setattr(
        model.config,
        CONFIG_KEY,
        {
            "layers": schema.to_dict(),
            "preprocessing": preprocessing.to_dict(),
            "label_set": label_set,
            "base_model": base_model,
            "known_words": KNOWN_WORDS_FILE,
        },
    )
    tokenizer.model_max_length = preprocessing.max_length


def save_model_dir(path: str | Path, model, tokenizer, known: KnownWords) -> Path:
    """``model/``: safetensors weights, config with labels, tokenizer, known words.

    The saved tokenizer carries araevent's normalisation and proclitic split as
    ``tokenizers`` components, so ``transformers.pipeline`` sees the same units.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    meta = getattr(model.config, CONFIG_KEY, None) or {}
    norm = Normalization(**meta.get("preprocessing", {}).get("normalization", {}))
    tokenizer = araevent_tokenizer_pipeline(tokenizer, known, norm)
    tokenizer.save_pretrained(path)
    known.save(path / KNOWN_WORDS_FILE)
    return path


def resolve_model_dir(path: str | Path) -> Path:
    """A ``model/`` folder, or a run folder that contains one.

    Raises:
        UsageError: ``path`` is missing, a file, or holds no ``config.json``.
    """
    path = Path(path)
    if not path.exists():
        hub_id = re.fullmatch(r"[\w.-]+/[\w.-]+", str(path))
        raise UsageError(
            f"no such model folder: {path}"
            + (
                f" (a Hub model? download it first: snapshot_download({str(path)!r}))"
                if hub_id
                else ""
            )
        )
    if not path.is_dir():
        raise UsageError(f"{path} is a file; give the model/ folder train.py wrote, or its run")
    for candidate in (path, path / "model"):
        if (candidate / "config.json").is_file():
            return candidate
    raise UsageError(f"{path} is neither a model folder nor a run folder with model/config.json")


@dataclass
class LoadedModel:
    """A model folder loaded for inference."""

    model: Any
    tokenizer: Any
    schema: LabelSchema
    preprocessor: Preprocessor
    meta: dict[str, Any]
    path: Path


RETRAIN = "restore the folder from the run, or train again"


def _broken(path: Path, what: str, fix: str = RETRAIN) -> UsageError:
    """One line naming a model folder and what is missing or broken in it."""
    return UsageError(f"model folder {path}: {what} ({fix})")


def _read_config(path: Path) -> dict[str, Any]:
    """``config.json``'s araevent block, checked for the keys inference reads."""
    try:
        config = json.loads((path / "config.json").read_text("utf-8"))
    except OSError as exc:
        raise _broken(path, f"config.json cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _broken(path, "config.json is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _broken(
            path,
            f"config.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except RecursionError:
        raise _broken(path, "config.json is nested too deeply") from None
    if not isinstance(config, dict):
        raise _broken(path, f"config.json holds a {type(config).__name__}, not a JSON object")
    meta = config.get(CONFIG_KEY)
    if not meta:
        raise UsageError(
            f"{path}/config.json has no {CONFIG_KEY!r} block; it was not written "
            "by araevent (train it with train.py)"
        )
    layers = meta.get("layers") if isinstance(meta, dict) else None
    if not (
        isinstance(layers, dict)
        and all(
            isinstance(layers.get(k), list) and all(isinstance(x, str) for x in layers[k])
            for k in ("entities", "triggers")
        )
        and isinstance(meta.get("preprocessing"), dict)
    ):
        raise _broken(
            path,
            f"config.json {CONFIG_KEY!r} block lacks layers.entities/layers.triggers "
            "(lists of labels) or preprocessing",
        )
    return meta


def _known_words(path: Path, meta: dict[str, Any]) -> KnownWords:
    """The known words named by ``araevent.known_words``: a file name inside the folder only."""
    name = meta.get("known_words")
    if name is None:  # folders from before the key: the file if there, else the shipped list
        f = path / KNOWN_WORDS_FILE
        return KnownWords.load(f) if f.is_file() else KnownWords.shipped()
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
        raise _broken(
            path,
            f"config.json {CONFIG_KEY}.known_words is {name!r}; only a file name inside the "
            "model folder is accepted",
            f'set it to "{KNOWN_WORDS_FILE}" and put the file beside config.json',
        )
    f = path / name
    if not f.is_file():  # missing, a folder, a FIFO, a device
        what = "is missing" if not f.exists() else "is not a regular file"
        raise _broken(path, f"the known-words file {name} named in config.json {what}")
    try:
        return KnownWords.load(f)
    except (OSError, UnicodeDecodeError) as exc:
        raise _broken(
            path, f"the known-words file {name} cannot be read: {_first_line(exc)}"
        ) from None


def _check_files(path: Path) -> None:
    """The weights and the tokenizer are there, in the formats araevent loads."""
    if not any((path / n).is_file() for n in ("model.safetensors", "model.safetensors.index.json")):
        others = sorted(
            p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".h5", ".msgpack")
        )
        if others:
            raise _broken(
                path,
                f"it has {', '.join(others)} but no model.safetensors; araevent loads "
                "safetensors weights only",
                "convert them: load the model and save_pretrained(safe_serialization=True)",
            )
        raise _broken(path, "model.safetensors is missing")
    if not (path / "tokenizer.json").is_file():
        raise _broken(path, "tokenizer.json is missing")


def _load_parts(path: Path) -> tuple[Any, Any, dict[str, Any]]:
    """The tokenizer, the model and its loading info; a damaged file is one line."""
    from safetensors import SafetensorError
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    # transformers, tokenizers and safetensors raise many types for a damaged file
    # (OSError, ValueError, SafetensorError, a bare Exception from Rust): one line each
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # noqa: BLE001
        raise _broken(path, f"the tokenizer does not load: {_first_line(exc)}") from None
    try:
        model, info = AutoModelForTokenClassification.from_pretrained(
            path, use_safetensors=True, output_loading_info=True, ignore_mismatched_sizes=True
        )  # a shape that differs is listed in the info and refused by the caller
    except SafetensorError as exc:
        raise _broken(path, f"the weights are damaged: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001
        raise _broken(path, f"the model does not load: {_first_line(exc)}") from None
    return tokenizer, model, info


def load_model_dir(path: str | Path, *, device: str | None = None) -> LoadedModel:
    """Load everything inference needs from a model folder (or run folder), offline.

    Raises:
        UsageError: the folder is missing, or one line naming the folder and what in it
            is missing or broken (config.json, weights, tokenizer, known words).
    """
    from transformers.utils import logging as hf_logging

    path = resolve_model_dir(path)
    meta = _read_config(path)
    try:
        schema = LabelSchema.build(meta["layers"]["entities"], meta["layers"]["triggers"])
        preprocessing = Preprocessing.from_dict(meta["preprocessing"])
    except (TypeError, ValueError) as exc:  # a label in both layers, a bad setting
        raise _broken(path, f"config.json {CONFIG_KEY!r} block is invalid: {exc}") from None
    if preprocessing.decoding not in ("argmax", "viterbi"):
        raise _broken(
            path, f"config.json decoding is {preprocessing.decoding!r}, not argmax or viterbi"
        )
    known = _known_words(path, meta)
    _check_files(path)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its warnings and load report: what matters is raised
    try:
        tokenizer, model, info = _load_parts(path)
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        raise _broken(
            path,
            f"the weights lack {len(missing)} tensor(s) the config needs "
            f"(first: {missing[0]}); they would be random",
        )
    # (name, saved shape, expected shape), or the name alone in some versions
    mismatched = sorted(
        k if isinstance(k, str) else k[0] for k in info.get("mismatched_keys") or []
    )
    if mismatched:
        raise _broken(
            path,
            f"{len(mismatched)} tensor(s) in the weights do not have the shape config.json "
            f"gives (first: {mismatched[0]})",
        )
    id2label = model.config.id2label
    if len(id2label) != len(schema.tags) or schema.tags != [
        id2label.get(i) for i in range(len(schema.tags))
    ]:
        raise UsageError(f"{path}/config.json: id2label does not match the araevent layers")
    try:
        pre = Preprocessor(tokenizer, known, preprocessing)
    except UsageError as exc:
        raise _broken(path, f"config.json preprocessing: {exc}") from None
    model.eval()
    if device:
        try:
            model.to(device)
        except (RuntimeError, AssertionError, ValueError) as exc:
            raise UsageError(
                f"cannot put the model on device {device!r}: {_first_line(exc)}"
            ) from None
    return LoadedModel(model, tokenizer, schema, pre, meta, path)
