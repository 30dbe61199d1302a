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
import sys
from collections import Counter
from pathlib import Path

import pytest

from araevent.text import is_diacritic, split_units

ROOT = Path(__file__).resolve().parents[1]
TATWEEL = "\u0640"


def pipeline_spans(outputs: list[dict], schema) -> set[tuple[int, int, str, str]]:
    """``(start, end, layer, label)`` from a pipeline's grouped output (B-/I- already merged)."""
    return {
        (int(o["start"]), int(o["end"]), schema.layer_of(o["entity_group"]), o["entity_group"])
        for o in outputs
    }


def extractor_spans(doc) -> set[tuple[int, int, str, str]]:
    return {
        (s.start, s.end, layer, s.label)
        for layer in ("entities", "triggers")
        for s in doc.layer(layer)
    }


def _why(span, text: str, units, long_doc: bool, known) -> str:
    """The likely reason one span differs between the two paths."""
    start, end = span[0], span[1]
    inside = [u for u in units if u.start < end + 1 and u.end > start - 1]
    if any(is_diacritic(c) or c == TATWEEL for u in inside for c in u.text):
        return "diacritics or tatweel in a unit at the span's edge"
    if any(len(split_units(u.text, known)) > 1 for u in inside):
        return "«لل» + stem: the pipeline sees the unit as two words"
    if long_doc:
        return "document longer than one window"
    return "other"


def measure_parity(model_dir: str | Path, docs, *, stride: int | None = None) -> dict:
    """Span agreement between ``pipeline(...)`` and ``Extractor`` (argmax decoding) on ``docs``.

    ``agreement`` is the F1 of the pipeline's spans against the Extractor's (both
    exact ``(start, end, label)``); ``documents_identical`` the share of documents
    whose span sets are equal; ``reasons`` counts the differing spans by cause.
    """
    from transformers import pipeline

    from araevent.predict import Extractor

    extractor = Extractor.from_pretrained(model_dir, decoding="argmax")
    meta = extractor.loaded.meta["preprocessing"]
    stride = meta["stride"] if stride is None else stride
    pipe = pipeline(
        "token-classification",
        model=str(extractor.loaded.path),
        aggregation_strategy="first",
        device="cpu",
        stride=stride,
    )
    texts = [d.text for d in docs]
    predicted = extractor.predict(texts)
    outputs = pipe(texts)
    pre = extractor.loaded.preprocessor
    encoded = pre.encode(texts)
    agree = n_ext = n_pipe = same_docs = 0
    reasons: Counter[str] = Counter()
    examples = []
    for doc, out, ed in zip(predicted, outputs, encoded, strict=True):
        e, p = extractor_spans(doc), pipeline_spans(out, extractor.schema)
        agree += len(e & p)
        n_ext += len(e)
        n_pipe += len(p)
        same_docs += e == p
        for span in sorted(e ^ p):
            reason = _why(span, doc.text, ed.units, len(ed.encoding.windows) > 1, pre.known)
            reasons[reason] += 1
            if len(examples) < 12:
                side = "extractor only" if span in e else "pipeline only"
                examples.append(f"{side}: {span} «{doc.text[span[0] : span[1]]}» ({reason})")
    return {
        "documents": len(docs),
        "extractor_spans": n_ext,
        "pipeline_spans": n_pipe,
        "identical_spans": agree,
        "agreement": 2 * agree / max(n_ext + n_pipe, 1),
        "documents_identical": same_docs / max(len(docs), 1),
        "reasons": dict(reasons),
        "examples": examples,
    }


# --- tests ----------------------------------------------------------------------


def has_araevent_pipeline(model_dir: Path) -> bool:
    data = json.loads((model_dir / "tokenizer.json").read_text("utf-8"))
    return "(?#araevent:proclitics)" in json.dumps(data.get("pre_tokenizer"), ensure_ascii=False)


@pytest.fixture(scope="module")
def model_dir(tiny_run: Path, fixture_corpus: Path, tmp_path_factory) -> Path:
    """The shared debug run when training applies the tokenizer pipeline; until then a debug
    run of train.py's code with the pipeline applied where training will call it."""
    if has_araevent_pipeline(tiny_run / "model"):
        return tiny_run / "model"
    from araevent import training
    from araevent.config import train_job
    from araevent.modeling import araevent_tokenizer_pipeline
    from conftest import compose, debug_overrides

    build = training._tokenizer_and_model

    def wired(job, train, schema, known, args):
        tokenizer, model = build(job, train, schema, known, args)
        norm = job.model.preprocessing.normalization
        return araevent_tokenizer_pipeline(tokenizer, known, norm), model

    run_dir = tmp_path_factory.mktemp("pipeline-run")
    cfg = compose("train", debug_overrides(fixture_corpus, run_dir))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "_tokenizer_and_model", wired)
        training.train(train_job(cfg, run_dir))
    return run_dir / "model"


@pytest.fixture(scope="module")
def test_docs():
    from araevent.io import load_documents

    docs = load_documents([ROOT / "data/sample/test.jsonl"], nested="outer")
    if len(docs) < 20:  # the bundled test split is being rebuilt
        docs += load_documents([ROOT / "data/sample/dev.jsonl"], nested="outer")
    return docs


def test_saved_tokenizer_carries_the_araevent_pipeline(model_dir: Path):
    data = json.loads((model_dir / "tokenizer.json").read_text("utf-8"))
    pre = json.dumps(data["pre_tokenizer"], ensure_ascii=False)
    assert "(?#araevent:proclitics)" in pre and "(?#araevent:whitespace)" in pre
    assert "(?#araevent:normalize)" in json.dumps(data["normalizer"])


def test_auto_classes_load_offline_with_readable_labels(model_dir: Path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir)
    labels = set(model.config.id2label.values())
    assert "O" in labels and all(x == "O" or x[:2] in ("B-", "I-") for x in labels)
    assert not any(x.startswith("LABEL_") for x in labels)
    # the saved tokenizer splits proclitics and strips diacritics, offsets on the raw text
    text = "وَروسيا والقاهرة"
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    words = {}
    for w, (s, e) in zip(enc.word_ids(), enc["offset_mapping"], strict=True):
        words[w] = (min(words.get(w, (s, e))[0], s), max(words.get(w, (s, e))[1], e))
    assert [text[s:e] for s, e in words.values()] == ["و", "روسيا", "و", "القاهرة"]


def test_raw_text_and_units_give_the_model_the_same_subwords(model_dir: Path, test_docs):
    from araevent.modeling import load_model_dir

    loaded = load_model_dir(model_dir)
    tok, pre = loaded.tokenizer, loaded.preprocessor
    norm = pre.settings.normalization
    for doc in test_docs:
        units = pre.units(doc.text)
        raw = tok(doc.text, add_special_tokens=False)["input_ids"]
        by_unit = tok(
            [norm(u.text) for u in units], is_split_into_words=True, add_special_tokens=False
        )["input_ids"]
        assert raw == by_unit, doc.id


def test_pipeline_words_are_araevent_units_on_undiacritised_text(model_dir: Path, test_docs):
    from araevent.modeling import load_model_dir

    loaded = load_model_dir(model_dir)
    tok, pre = loaded.tokenizer, loaded.preprocessor
    checked = 0
    for doc in test_docs:
        if any(is_diacritic(c) or c == TATWEEL for c in doc.text):
            continue
        enc = tok(doc.text, add_special_tokens=False, return_offsets_mapping=True)
        words: dict[int, tuple[int, int]] = {}
        for w, (s, e) in zip(enc.word_ids(), enc["offset_mapping"], strict=True):
            lo, hi = words.get(w, (s, e))
            words[w] = (min(lo, s), max(hi, e))
        units = pre.units(doc.text)
        # a «لل» + stem unit may be cut once more (ل | stem); every other unit is a word
        expected = set()
        for u in units:
            inner = split_units(u.text, pre.known)
            expected.update((u.start + x.start, u.start + x.end) for x in inner)
        assert set(words.values()) == expected, doc.id
        checked += 1
    assert checked >= 5


def test_pipeline_agrees_with_the_extractor(model_dir: Path, test_docs):
    result = measure_parity(model_dir, test_docs)
    assert result["extractor_spans"] > 20, "the fixture model predicts too little to compare"
    assert result["agreement"] >= 0.85, result
    undiacritised = [
        d for d in test_docs if not any(is_diacritic(c) or c == TATWEEL for c in d.text)
    ]
    clean = measure_parity(model_dir, undiacritised)
    assert clean["agreement"] >= 0.97, clean


if __name__ == "__main__":
    from araevent.io import load_documents

    if len(sys.argv) != 3:
        sys.exit("usage: python tests/test_pipeline_parity.py MODEL_DIR DOCS.jsonl")
    documents = load_documents([sys.argv[2]], nested="outer")
    report = measure_parity(sys.argv[1], documents)
    examples = report.pop("examples")
    print(json.dumps(report, indent=1, ensure_ascii=False))
    print("\n".join(examples))
