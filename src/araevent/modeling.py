"""Models and tokenizers: the tiny local BERT, pretrained encoders, and the preprocessor.

One file (~610 lines): the preprocessor, model construction and the self-describing
model folder share the config keys they write and read.

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
from pathlib import Path
from typing import Any

from araevent.errors import UsageError
from araevent.tagging import Encoding, LabelSchema, choose_windows, make_windows
from araevent.text import KNOWN_WORDS_FILE, KnownWords, Normalization, Unit, split_units
from araevent.tokenizer_pipeline import (
    araevent_tokenizer_pipeline,
    unit_tokenizer,
    word_tokenizer,
)

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
        # what encode calls on normalised units: no second normalisation pass
        self.word_tokenizer = word_tokenizer(self.tokenizer)
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
        """Units and windows for many texts, their distinct words tokenised in one call.

        Each unit is normalised once, here (``Normalization``); the tokenizer then
        runs without araevent's own normalizers and splits (the second pass would
        change nothing, see :func:`word_tokenizer`), on each distinct unit text once.
        """
        all_units = [self.units(t) for t in texts]
        norm = self.settings.normalization
        by_text: dict[str, int] = {}  # a unit's raw text → its normalised word's index
        by_word: dict[str, int] = {}
        keys = []
        for units in all_units:
            doc_keys = []
            for u in units:
                k = by_text.get(u.text)
                if k is None:
                    k = by_text[u.text] = by_word.setdefault(norm(u.text), len(by_word))
                doc_keys.append(k)
            keys.append(doc_keys)
        groups = self._subwords(list(by_word))
        unk = [self.tokenizer.unk_token_id]
        cap = self.max_subwords
        empty = [not g for g in groups]
        cut = [len(g) > cap for g in groups]
        groups = [unk if not g else g[:cap] if len(g) > cap else g for g in groups]
        out: list[EncodedDocument] = []
        for units, doc_keys in zip(all_units, keys, strict=True):
            subwords = [groups[k] for k in doc_keys]  # equal units share one list: read only
            counts = [len(g) for g in subwords]
            windows = make_windows(counts, cap, self.settings.stride)
            enc = Encoding(
                subwords,
                windows,
                choose_windows(counts, windows),
                sum(empty[k] for k in doc_keys),
                sum(cut[k] for k in doc_keys),
            )
            out.append(EncodedDocument(units, enc))
        return out

    def _subwords(self, words: list[str]) -> list[list[int]]:
        """The subword ids of each normalised word (one tokenizer call for them all)."""
        groups: list[list[int]] = [[] for _ in words]
        if words:
            enc = self.word_tokenizer.encode(words, is_pretokenized=True, add_special_tokens=False)
            for w, tok in zip(enc.word_ids, enc.ids, strict=True):
                groups[w].append(tok)
        return groups


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


def tokenizer_coverage(
    preprocessor: Preprocessor,
    texts: Sequence[str],
    encoded: Sequence[EncodedDocument] | None = None,
) -> dict[str, Any]:
    """How the encoder's own tokenizer treats araevent's units of ``texts``.

    ``unk_units``: units the model sees as a lone unknown token (empty ones
    included); ``normalizer_changed_units``: units whose normalised text the
    tokenizer's own normaliser changes further (BERT lowercasing/accent
    stripping, NFKC), so their subwords are not those of the text araevent
    chose; ``bare_prefix_units``: units whose first subword (the one that carries
    the label) is a lone word-start mark (SentencePiece «▁»), no letter of the
    unit. Shares are of all units. ``encoded``: ``preprocessor.encode(texts)``, when
    the caller has it.
    """
    tok = preprocessor.tokenizer
    normalizer = tok.backend_tokenizer.normalizer
    norm = preprocessor.settings.normalization
    unk = [tok.unk_token_id]
    bare = {i for t, i in tok.get_vocab().items() if t and not t.strip("▁")}
    units = unk_units = changed = bare_first = 0
    for ed in preprocessor.encode(texts) if encoded is None else encoded:
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
