"""Local stand-ins for the pretrained encoders the configs name (no Hub access needed).

Each stand-in is a random-weight encoder (hidden 64, 2 layers) with a tokenizer
trained by the ``tokenizers`` trainers on the bundled corpus, in the family its
Hub model ships, saved with ``save_pretrained`` as a Hub download looks
(config.json, model.safetensors, tokenizer.json, tokenizer_config.json, special
tokens). Run as a script to build them into a folder::

    python tests/encoders.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 64, 2, 2, 128
MAX_POSITIONS = 512


@dataclass(frozen=True)
class Family:
    """One tokenizer family and the configs whose Hub model ships it."""

    name: str
    configs: tuple[str, ...]
    kind: str  # "wordpiece" | "unigram"
    lowercase: bool = False  # BertNormalizer: strip_accents=None follows lowercase


FAMILIES = {
    # tokenizer_config.json on the Hub: do_lower_case false, strip_accents null
    # (aubmindlab/bert-base-arabertv02, CAMeL-Lab/bert-base-arabic-camelbert-msa)
    "bert-cased": Family(
        "bert-cased", ("arabert-base", "arabert-large", "camelbert-msa"), "wordpiece"
    ),
    # do_lower_case true, strip_accents null, so accents are stripped: NFD and every
    # Mn mark dropped (UBC-NLP/MARBERTv2; asafaya/bert-*-arabic copies show the same)
    "bert-uncased": Family(
        "bert-uncased", ("marbert", "bert-mini-arabic"), "wordpiece", lowercase=True
    ),
    # FacebookAI/xlm-roberta-base: SentencePiece Unigram, Precompiled (NFKC-type)
    # normaliser, Metaspace, <s> … </s>, positions from padding_idx + 1
    "unigram": Family("unigram", ("xlmr-base",), "unigram"),
}


def corpus_texts() -> list[str]:
    """The bundled training split's raw texts."""
    lines = (ROOT / "data/sample/train.jsonl").read_text("utf-8").splitlines()
    return [json.loads(x)["text"] for x in lines if x.strip()]


def _wordpiece(family: Family, texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer
    from transformers import BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=True,
        strip_accents=None,
        lowercase=family.lowercase,
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = WordPieceTrainer(
        vocab_size=3000, min_frequency=1, special_tokens=specials, continuing_subword_prefix="##"
    )
    tok.train_from_iterator(texts, trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return BertTokenizerFast(
        tokenizer_object=tok,
        do_lower_case=family.lowercase,
        strip_accents=None,
        tokenize_chinese_chars=True,
        model_max_length=MAX_POSITIONS,
    )


def unigram_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import UnigramTrainer
    from transformers import XLMRobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.Unigram())
    # XLM-R's Precompiled normaliser (a compiled NFKC-type map) cannot be built here
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = UnigramTrainer(vocab_size=3000, special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(texts, trainer)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    # XLMRobertaConfig positions start at padding_idx + 1: 512 tokens need 514 rows
    return XLMRobertaTokenizerFast(tokenizer_object=tok, model_max_length=MAX_POSITIONS)


def build_standin(family: Family, out: Path, texts: list[str] | None = None) -> Path:
    """Train ``family``'s tokenizer, init a small random encoder, save both to ``out``."""
    import torch

    torch.manual_seed(0)
    texts = corpus_texts() if texts is None else texts
    sizes = dict(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
    )
    if family.kind == "wordpiece":
        from transformers import BertConfig, BertForMaskedLM

        tokenizer = _wordpiece(family, texts)
        config = BertConfig(
            vocab_size=len(tokenizer),
            max_position_embeddings=MAX_POSITIONS,
            pad_token_id=tokenizer.pad_token_id,
            **sizes,
        )
        model = BertForMaskedLM(config)
    else:
        from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

        tokenizer = unigram_tokenizer(texts)
        config = XLMRobertaConfig(
            vocab_size=len(tokenizer),
            max_position_embeddings=MAX_POSITIONS + tokenizer.pad_token_id + 1,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            type_vocab_size=1,
            **sizes,
        )
        model = XLMRobertaForMaskedLM(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/encoders.py OUT_DIR")
    for fam in FAMILIES.values():
        print(build_standin(fam, Path(sys.argv[1]) / fam.name))
