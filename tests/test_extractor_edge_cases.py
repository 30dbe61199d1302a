"""Odd inputs come back as valid (possibly empty) predictions, counted, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from araevent.schema import Document
from conftest import sample_docs

EDGE = {
    "empty": "",
    "whitespace": "  \t \r ",
    "punctuation": "،،؟! «» ... ؛",
    "latin": "Only Latin script here, no Arabic at all.",
    "rlm": "\u200f",
    "tatweel": "\u0640",
    "no_spaces": ("الحكومةتعلنانالوزيرسافرإلىالقاهرة" * 700)[:20000],
}


@pytest.fixture(scope="module")
def extractor(tiny_run: Path):
    from araevent.predict import Extractor

    return Extractor.from_pretrained(tiny_run)


def check(doc: Document, text: str, extractor) -> None:
    assert doc.text == text
    units = extractor.loaded.preprocessor.units(text)
    starts, ends = {u.start for u in units}, {u.end for u in units}
    for layer in ("entities", "triggers"):
        for s in doc.layer(layer):
            assert 0 <= s.start < s.end <= len(text) and s.start in starts and s.end in ends
            assert extractor.schema.layer_of(s.label) == layer


@pytest.mark.parametrize("name", list(EDGE))
def test_each_edge_case_alone(extractor, name):
    text = EDGE[name]
    [doc] = extractor.predict([text])
    check(doc, text, extractor)
    if not text.strip():
        assert doc.entities == [] and doc.triggers == []
        assert extractor.stats["units"] == 0


def test_edge_cases_in_one_batch_match_each_alone(extractor):
    normal = [d["text"] for d in sample_docs("dev", 4)]
    texts = [*EDGE.values(), *normal]
    together = extractor.predict(texts)
    for text, doc in zip(texts, together, strict=True):
        check(doc, text, extractor)
        alone = extractor.predict([text])[0]
        assert [s.key for s in alone.entities + alone.triggers] == [
            s.key for s in doc.entities + doc.triggers
        ]


def test_units_with_nothing_to_tokenise_are_fed_as_unk_and_counted(extractor):
    extractor.predict([EDGE["tatweel"], EDGE["rlm"]])
    assert extractor.stats["units"] == 2
    # the lone tatweel normalises to ""; the RLM yields no subword or an unknown one
    assert extractor.stats["empty_units"] >= 1
    assert extractor.stats["unk_units"] == 2


def test_a_20000_character_word_is_one_unit_and_counted(extractor):
    [doc] = extractor.predict([EDGE["no_spaces"]])
    check(doc, EDGE["no_spaces"], extractor)
    assert extractor.stats["units"] == 1
    # a word past the tokenizer's per-word limit is one [UNK]; a longer one is cut to a window
    assert extractor.stats["unk_units"] + extractor.stats["truncated_units"] == 1


def test_a_unit_longer_than_the_window_keeps_its_first_subwords(extractor):
    from araevent.modeling import Preprocessing, Preprocessor
    from araevent.predict import Predictor

    loaded = extractor.loaded
    small = Preprocessor(
        loaded.tokenizer,
        loaded.preprocessor.known,
        Preprocessing(loaded.preprocessor.settings.normalization, 12, 2),
    )
    predictor = Predictor(loaded.model, small, loaded.schema)
    letters = "ثخذضظغشقفصطزجحع"
    word = "".join(letters[(i * 7) % len(letters)] for i in range(60))
    text = f"قال الوزير {word} في القاهرة"
    [pred] = predictor.predict_texts([text])
    assert pred.truncated_units == 1
    assert [u.text for u in pred.units] == text.split()
    assert len(pred.tags) == len(pred.units) and pred.windows > 1


@pytest.mark.parametrize("item", ["نص \ud800 هنا", {"id": "x", "text": "نص \udfff"}])
def test_a_lone_surrogate_is_a_data_error_naming_the_document(extractor, item):
    from araevent.errors import DataError

    doc_id, code = ("0", "D800") if isinstance(item, str) else ("x", "DFFF")
    with pytest.raises(DataError) as caught:
        extractor.predict([item])
    assert str(caught.value) == (
        f"{doc_id}: text has a lone surrogate U+{code} at offset 3 "
        "(the text must be valid Unicode: pair it or remove it)"
    )
