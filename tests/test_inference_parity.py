"""The batched inference path equals the per-unit one (``reference_inference.py``).

Units from the remembered chunk layouts equal the per-word rule; the subword ids
without the tokenizer's second normalisation pass equal the full pipeline's (here
for the tiny model; ``test_encoders.py`` checks the encoder stand-ins); ``Extractor``
gives the units, tags, spans and scores of the per-unit path on the test split.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_inference import (
    EDGE_TEXTS,
    assert_same_encoding,
    bundled_texts,
    reference_predict,
)


@pytest.fixture(scope="module")
def loaded(tiny_run: Path):
    from araevent.modeling import load_model_dir

    return load_model_dir(tiny_run)


def test_remembered_chunk_layouts_equal_the_rule_word_by_word(loaded):
    from araevent.text import Unit, _words, split_units, split_word

    known = loaded.preprocessor.known
    for text in [*bundled_texts(), *EDGE_TEXTS, "وَ\u200fبالقاهرة،وللجنة ـب"]:
        expected = []
        for s, e in _words(text):
            one = [Unit(s, e, text[s:e])] if e - s == 1 else split_word(text, s, e, known)
            expected += one
        assert split_units(text, known) == expected
        assert split_units(text, known) == expected  # the second time from the layouts


def test_tiny_tokenizer_runs_its_model_only_with_the_same_ids(loaded):
    pre = loaded.preprocessor
    # the saved pipeline's normalizers and splits are there, and not run again on units
    assert loaded.tokenizer.backend_tokenizer.normalizer is not None
    assert pre.word_tokenizer.normalizer is None and pre.word_tokenizer.pre_tokenizer is None
    assert_same_encoding(pre, bundled_texts() + EDGE_TEXTS)


@pytest.mark.parametrize("decoding", ["argmax", "viterbi"])
def test_extractor_equals_the_per_unit_path_on_the_test_split(loaded, decoding):
    from araevent.predict import Extractor, Predictor

    texts = bundled_texts("test") + EDGE_TEXTS
    extractor = Extractor(loaded, batch_size=8, decoding=decoding)
    docs = extractor.predict(texts)
    predictions = extractor.predictor.predict_texts(texts)
    reference = Predictor(loaded.model, loaded.preprocessor, loaded.schema, 8, decoding)
    for doc, pred, (units, tags, _, spans) in zip(
        docs, predictions, reference_predict(reference, texts), strict=True
    ):
        assert pred.units == units and pred.tags == tags
        got = sorted((*doc.entities, *doc.triggers), key=lambda s: (s.start, s.end))
        want = sorted(spans, key=lambda s: (s.start, s.end))
        assert [(s.start, s.end, s.label) for s in got] == [(s.start, s.end, s.label) for s in want]
        assert all(abs(a.score - b.score) <= 1e-6 for a, b in zip(got, want, strict=True))
    if decoding == "viterbi":  # Viterbi did change paths: the tiny model's argmax is ill-formed
        argmax = Extractor(loaded, decoding="argmax").predictor.predict_texts(texts)
        assert any(a.tags != v.tags for a, v in zip(argmax, predictions, strict=True))
