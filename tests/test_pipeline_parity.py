"""Hugging Face pipeline parity: a saved model/ in ``transformers.pipeline`` vs ``Extractor``.

The saved tokenizer.json carries araevent's normalisation (``Replace``
normalizers) and units (``Split`` pre-tokenizers with the proclitic rule), so
``pipeline("token-classification", aggregation_strategy="first")`` sees
araevent's units on raw text. Run as a script to measure the agreement of exact
character spans on a file of documents::

    python tests/test_pipeline_parity.py MODEL_DIR data/sample/test.jsonl
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from araevent.text import is_diacritic, split_units

ROOT = Path(__file__).resolve().parents[1]
TATWEEL = "\u0640"
# «ب١٥»: the saved tokenizer decides rule 3 on normalised digits («ب15», with 15 a known
# word), araevent on the raw ones
PROCLITIC_DIGITS = re.compile(r"(?<!\S)[وفبكل][٠-٩۰-۹]")


def has_marks(text: str) -> bool:
    return any(is_diacritic(c) or c == TATWEEL for c in text)


def measure_parity(model_dir: str | Path, docs, **kw) -> dict:
    from araevent.predict import pipeline_parity

    return pipeline_parity(model_dir, docs, **kw)


def parity_report(model_dir: str | Path, docs) -> dict:
    """:func:`measure_parity` on all ``docs``, on those within one window, and on those of
    them without diacritics or tatweel."""
    from araevent.modeling import load_model_dir

    loaded = load_model_dir(model_dir)
    encoded = loaded.preprocessor.encode([d.text for d in docs])
    short = [d for d, ed in zip(docs, encoded, strict=True) if len(ed.encoding.windows) == 1]
    return {
        "all": measure_parity(model_dir, docs),
        "one window": measure_parity(model_dir, short),
        "one window, no diacritics or tatweel": measure_parity(
            model_dir, [d for d in short if not has_marks(d.text)]
        ),
    }


# --- tests ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tiny_run: Path) -> Path:
    """The shared debug run's model: training saves the tokenizer with araevent's pipeline."""
    return tiny_run / "model"


@pytest.fixture(scope="module")
def test_docs():
    from araevent.formats import load_documents

    docs = load_documents([ROOT / "data/sample/test.jsonl"], nested="outer")
    if len(docs) < 20:  # the bundled test split is being rebuilt
        docs += load_documents([ROOT / "data/sample/dev.jsonl"], nested="outer")
    return docs


def words(tok, text: str) -> list[tuple[int, int]]:
    """The raw-text extent of every pre-token the tokenizer makes of ``text``."""
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    out: dict[int, tuple[int, int]] = {}
    for w, (s, e) in zip(enc.word_ids(), enc["offset_mapping"], strict=True):
        lo, hi = out.get(w, (s, e))
        out[w] = (min(lo, s), max(hi, e))
    return list(out.values())


def test_saved_tokenizer_carries_the_araevent_pipeline(model_dir: Path):
    from araevent.modeling import load_model_dir
    from araevent.tokenizer_pipeline import araevent_tokenizer_pipeline, unit_tokenizer

    data = json.loads((model_dir / "tokenizer.json").read_text("utf-8"))
    pre = json.dumps(data["pre_tokenizer"], ensure_ascii=False)
    assert pre.count("(?#araevent:proclitics)") == 1 and "(?#araevent:whitespace)" in pre
    assert "(?#araevent:normalize)" in json.dumps(data["normalizer"])
    loaded = load_model_dir(model_dir)
    tok, pre_ = loaded.tokenizer, loaded.preprocessor
    again = araevent_tokenizer_pipeline(tok, pre_.known, pre_.settings.normalization)
    assert json.loads(again.backend_tokenizer.to_str()) == json.loads(
        tok.backend_tokenizer.to_str()
    )  # applying it twice changes nothing
    bare = unit_tokenizer(tok)
    assert "proclitics" not in bare.backend_tokenizer.to_str() and unit_tokenizer(bare) is bare


def test_auto_classes_load_offline_with_readable_labels(model_dir: Path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir)
    labels = set(model.config.id2label.values())
    assert "O" in labels and all(x == "O" or x[:2] in ("B-", "I-") for x in labels)
    text = "وَروسيا والقاهرة بالقاهرة للجنة ٢٠ ـقال"
    assert [text[s:e] for s, e in words(tok, text)] == [
        "و", "روسيا", "و", "القاهرة", "ب", "القاهرة", "ل", "لجنة", "٢٠", "قال",
    ]  # fmt: skip
    assert tok.tokenize("٢٠") == tok.tokenize("20")


def test_raw_text_and_units_give_the_model_the_same_subwords(model_dir: Path, test_docs):
    from araevent.modeling import load_model_dir
    from araevent.tokenizer_pipeline import unit_tokenizer

    loaded = load_model_dir(model_dir)
    tok, pre = loaded.tokenizer, loaded.preprocessor
    units_tok = unit_tokenizer(tok)
    norm = pre.settings.normalization
    checked = 0
    for doc in test_docs:
        if PROCLITIC_DIGITS.search(doc.text):
            continue
        units = pre.units(doc.text)
        raw = tok(doc.text, add_special_tokens=False)["input_ids"]
        by_unit = units_tok(
            [norm(u.text) for u in units], is_split_into_words=True, add_special_tokens=False
        )["input_ids"]
        assert raw == by_unit, doc.id
        checked += 1
    assert checked >= 0.9 * len(test_docs)


def test_pipeline_words_are_araevent_units_without_diacritics(model_dir: Path, test_docs):
    from araevent.modeling import load_model_dir

    loaded = load_model_dir(model_dir)
    checked = 0
    for doc in test_docs:
        if has_marks(doc.text) or PROCLITIC_DIGITS.search(doc.text):
            continue
        units = loaded.preprocessor.units(doc.text)
        assert words(loaded.tokenizer, doc.text) == [(u.start, u.end) for u in units], doc.id
        checked += 1
    assert checked >= 5
    # the proclitic table, every undiacritised row: the saved tokenizer's units are araevent's
    table = (ROOT / "tests/data/proclitic_table.tsv").read_text("utf-8").splitlines()
    for row in table:
        word = row.split("\t")[0]
        if row.strip() and not has_marks(word):
            expected = [(u.start, u.end) for u in split_units(word, loaded.preprocessor.known)]
            assert words(loaded.tokenizer, word) == expected, word


def test_pipeline_agrees_with_the_extractor(model_dir: Path, test_docs):
    report = parity_report(model_dir, test_docs)
    assert report["all"]["extractor_spans"] > 20, "the fixture model predicts too little"
    assert report["all"]["agreement"] >= 0.85, report["all"]
    assert report["one window"]["agreement"] >= 0.9, report["one window"]
    clean = report["one window, no diacritics or tatweel"]
    assert clean["documents"] >= 5 and clean["agreement"] >= 0.99, clean


RLM, BOM = "\u200f", "\ufeff"


def wrapped(text: str) -> tuple[str, list[int]]:
    """``text`` with an RLM around every word that starts or ends with a letter (a BOM first),
    and where each of its characters went."""
    out, where = [], []
    for i, token in enumerate(text.split(" ")):
        if i:
            where.append(len(out))
            out.append(" ")
        if token[:1].isalpha():
            out.append(BOM if i == 0 else RLM)
        for ch in token:
            where.append(len(out))
            out.append(ch)
        if token[-1:].isalpha():
            out.append(RLM)
    return "".join(out), where


def test_format_characters_at_word_edges_stay_outside_spans(model_dir: Path, test_docs):
    from araevent.predict import Extractor

    text = f"أمس،\u064eروسيا \u061cوالقاهرة\u200e {RLM} نامه\u200cها {BOM}كلمة"
    extractor = Extractor.from_pretrained(model_dir)
    units = extractor.loaded.preprocessor.units(text)
    # the saved tokenizer's words are the units' visible extents: no edge RLM, BOM, mark
    assert words(extractor.loaded.tokenizer, text) == [u.core for u in units if u.core]
    clean = [d.text for d in test_docs[:8]]
    marked = [wrapped(t) for t in clean]
    assert all(RLM in m for m, _ in marked)
    plain = extractor.predict(clean)
    got = extractor.predict([m for m, _ in marked])
    n = 0
    for p, g, (_, where) in zip(plain, got, marked, strict=True):
        for layer in ("entities", "triggers"):
            moved = [(where[s.start], where[s.end - 1] + 1, s.label) for s in p.layer(layer)]
            assert [s.key for s in g.layer(layer)] == moved  # the same spans, no RLM or BOM
            n += len(moved)
    assert n > 0


if __name__ == "__main__":
    from araevent.formats import load_documents

    if len(sys.argv) != 3:
        sys.exit("usage: python tests/test_pipeline_parity.py MODEL_DIR DOCS.jsonl")
    for name, result in parity_report(
        sys.argv[1], load_documents([sys.argv[2]], nested="outer")
    ).items():
        examples = result.pop("examples")
        print(f"{name}: {json.dumps(result, ensure_ascii=False)}")
        print("".join(f"  {x}\n" for x in examples), end="")


def test_saved_proclitic_regex_folds_known_words_as_the_lookup_does():
    """A final ه/ة and ي/ى: the tokenizer's regex splits exactly where ``split_units`` does."""
    from araevent.modeling import araevent_tokenizer_pipeline, train_tiny_tokenizer
    from araevent.text import KnownWords, Normalization

    known = KnownWords(["منظمة", "مستشفى", "إسبانيا", "قريه", "إصابة"])
    text = "لمنظمه لمنظمة بمستشفي ومستشفى لاسبانيا لإسبانيا لقرية لقريه منظمه فمُنظمه واصابة"
    norm = Normalization()
    units = [[u.text for u in split_units(text, known)]]
    tok = train_tiny_tokenizer(units, vocab_size=200, min_frequency=1, max_length=64)
    saved = araevent_tokenizer_pipeline(tok, known, norm)
    want = [(u.start, u.end) for u in split_units(text, known)]
    assert words(saved, text) == want
    assert [text[a:b] for a, b in want][:3] == ["ل", "منظمه", "ل"]  # the fold splits
    assert "لقرية" in [text[a:b] for a, b in want]  # a written ة must match: no split
