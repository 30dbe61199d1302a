"""The pretrained-encoder path on local stand-ins of every tokenizer family the configs name.

``tests/encoders.py`` builds one random-weight encoder per family (BERT WordPiece
cased as AraBERT v0.2 / CAMeLBERT ship it, uncased as MARBERT / bert-mini-arabic
ship it, SentencePiece-style Unigram as XLM-R ships it); each is trained with
``python train.py model=<config> model.name_or_path=<folder>`` and its run
folder is reloaded in ``Extractor``, the Auto classes and ``pipeline``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from araevent.text import split_units
from conftest import CONFIGS, ROOT, compose
from encoders import FAMILIES, build_standin, corpus_texts, unigram_tokenizer

# raw-text hazards: diacritics, tatweel, Eastern digits, proclitics, emoji, CRLF,
# a presentation-form ligature (NFKC changes it), hamza letters (BERT uncased folds them)
EDGE_TEXTS = [
    "وَقَـالَ الرَّئِيسُ إِنَّ ٢٠ جُنْدِيًّا قُتِلُوا فِي حَلَب.",
    "وصـــل وزير الخارجية إلى القاهرة، والتقى بالرئيس 🇪🇬 يوم ١٥ مارس.\r\nوقال: «لا حوار».",
    "ﻻ بد من الانسحاب من بغداد 😀 قبل ٢٠٢٤م، بحسب المتحدث.",
    "أعلنت الشركة أمس عن استثمار ۳۰۰ مليون دولار في الإمارات",
]
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
}
QUICK = [
    "trainer.epochs=14",
    "trainer.learning_rate=5.0e-3",
    "trainer.batch_size=8",
    "trainer.patience=100",
    "trainer.report_to=[]",
    "model.max_length=128",
    "model.stride=32",
]
# one config per family trains; the other configs of a family share its tokenizer
TRAINED = {"bert-cased": "arabert-base", "bert-uncased": "marbert", "unigram": "xlmr-base"}


@pytest.fixture(scope="session")
def standins(tmp_path_factory) -> dict[str, Path]:
    """One Hub-shaped model folder per tokenizer family, built once per session."""
    base = tmp_path_factory.mktemp("standins")
    return {name: build_standin(fam, base / name) for name, fam in FAMILIES.items()}


def train_run(config: str, standin: Path, corpus: Path, run_dir: Path, *extra: str) -> Path:
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        f"model={config}",
        f"model.name_or_path={standin}",
        f"data.dir={corpus}",
        f"hydra.run.dir={run_dir}",
        *QUICK,
        *extra,
    ]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


def raw_words(tok, text: str) -> list[tuple[int, int]]:
    """The raw-text extent of every pre-token the tokenizer makes of ``text``."""
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    out: dict[int, tuple[int, int]] = {}
    for w, (s, e) in zip(enc.word_ids(), enc["offset_mapping"], strict=True):
        if w is None:
            continue
        lo, hi = out.get(w, (s, e))
        out[w] = (min(lo, s), max(hi, e))
    return list(out.values())


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(TRAINED))
def test_standin_trains_reloads_predicts_and_publishes(family, standins, fixture_corpus, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    from araevent import Extractor
    from araevent.cli import main
    from araevent.modeling import load_model_dir

    config = TRAINED[family]
    hub_id = compose("train", [f"model={config}"]).model.base_model
    run = train_run(config, standins[family], fixture_corpus, tmp_path / "run")

    # the run records the Hub id it stands for, and the tokenizer's coverage
    meta = json.loads((run / "model/config.json").read_text("utf-8"))["araevent"]
    assert meta["base_model"] == hub_id
    metrics = json.loads((run / "metrics.json").read_text("utf-8"))
    coverage = metrics["run"]["tokenizer_coverage"]
    assert set(coverage) == {"train", "test"}
    for split in coverage.values():
        assert split["units"] > 0 and 0 <= split["unk_share"] < 0.05
        assert split["unk_share"] == round(split["unk_units"] / split["units"], 4)
        assert 0 <= split["normalizer_changed_share"] <= 1
    # an uncased BERT normaliser folds hamza letters in many units; a cased one changes none
    changed = coverage["train"]["normalizer_changed_share"]
    assert (changed > 0.05) if family == "bert-uncased" else (changed < 0.01)
    # only SentencePiece starts units with a lone «▁» (the subword that carries the label)
    bare = coverage["train"]["bare_prefix_share"]
    assert (bare > 0.05) if family == "unigram" else (bare == 0)

    # the Auto classes read the run's model folder with its labels
    tok = AutoTokenizer.from_pretrained(run / "model")
    model = AutoModelForTokenClassification.from_pretrained(run / "model")
    assert model.config.araevent["layers"] == meta["layers"]
    assert "B-GPE" in model.config.label2id

    # Extractor: units and spans index the raw text, in every hazard
    extractor = Extractor.from_pretrained(run)
    loaded = load_model_dir(run)
    docs = extractor.predict(EDGE_TEXTS)
    norm = loaded.preprocessor.settings.normalization
    found = 0
    for text, doc in zip(EDGE_TEXTS, docs, strict=True):
        assert doc.text == text
        bounds = {(u.start, u.end) for u in split_units(text, loaded.preprocessor.known)}
        starts = {s for s, _ in bounds}
        ends = {e for _, e in bounds}
        for span in (*doc.entities, *doc.triggers):
            assert span.start in starts and span.end in ends, (span, text)
            found += 1
        # the saved tokenizer splits raw text into araevent's units: the same starts, and
        # ends short of a unit's end only by characters the normalisation removes
        units = split_units(text, loaded.preprocessor.known)
        words = raw_words(tok, text)
        assert [s for s, _ in words] == [u.start for u in units], text
        for (_, end), u in zip(words, units, strict=True):
            assert u.start < end <= u.end and norm(text[end : u.end]) == "", (text, u)

    # predictions.jsonl (the test split): every predicted span starts and ends on units
    lines = (run / "predictions.jsonl").read_text("utf-8").splitlines()
    for d in map(json.loads, lines):
        units = split_units(d["text"], loaded.preprocessor.known)
        starts, ends = {u.start for u in units}, {u.end for u in units}
        for span in (*d["predicted_entities"], *d["predicted_triggers"]):
            assert span["start"] in starts and span["end"] in ends, (d["id"], span)
            found += 1
    assert found > 0, "the stand-in predicted nothing: the offsets checks were empty"

    # pipeline over the same folder: offsets on the raw text, labels from the layers
    tagger = pipeline(
        "token-classification", model=str(run / "model"), aggregation_strategy="first"
    )
    labels = set(loaded.schema.entities) | set(loaded.schema.triggers)
    with warnings.catch_warnings():
        # a Unigram model has no continuing-subword prefix: transformers then guesses word
        # starts from spaces (measured parity: docs/encoders.md)
        warnings.filterwarnings("ignore", "Tokenizer does not support real words")
        outputs = tagger(EDGE_TEXTS)
    for text, out in zip(EDGE_TEXTS, outputs, strict=True):
        for o in out:
            assert o["entity_group"] in labels
            assert o["word"] == "" or text[o["start"] : o["end"]].strip()
    assert "parity" not in metrics  # training does only training

    # the publish dry run, measuring pipeline parity: a card that names the base model
    out = tmp_path / "upload"
    args = ["publish", str(run), "--repo-id", "x/y", "--dry-run", str(out), "--measure-parity"]
    with warnings.catch_warnings():  # the pipeline's word-start fallback, as above
        warnings.filterwarnings("ignore", "Tokenizer does not support real words")
        assert main(args) == 0
    parity = json.loads((run / "metrics.json").read_text("utf-8"))["parity"]
    assert parity["documents"] == 20 and 0 <= parity["agreement"] <= 1
    card = (out / "README.md").read_text("utf-8")
    assert f"base_model: {hub_id}" in card and f"`{hub_id}`" in card


# --- each config's preprocessing: what its model sees of a unit ---------------------

UNIT_TABLE = [  # a raw word and its units (raw slices)
    ("وَالْكِتَابُ", ["وَ", "الْكِتَابُ"]),
    ("بالقاهرة", ["ب", "القاهرة"]),
    ("مـــصر", ["مـــصر"]),
    ("٢٠٢٤م", ["٢٠٢٤م"]),
    ("أُسامة", ["أُسامة"]),
    ("ﻻ", ["ﻻ"]),
]
# the text the model sees of each unit of each raw word, per config
EXPECTED_SEEN = {
    "arabert-base": [["و", "الكتاب"], ["ب", "القاهرة"], ["مصر"], ["2024م"], ["أسامة"], ["ﻻ"]],
    "arabert-large": [["و", "الكتاب"], ["ب", "القاهرة"], ["مصر"], ["2024م"], ["أسامة"], ["ﻻ"]],
    "camelbert-msa": [["و", "الكتاب"], ["ب", "القاهرة"], ["مصر"], ["٢٠٢٤م"], ["أسامة"], ["ﻻ"]],
    "marbert": [["و", "الكتاب"], ["ب", "القاهرة"], ["مصر"], ["٢٠٢٤م"], ["اسامة"], ["ﻻ"]],
    "bert-mini-arabic": [["و", "الكتاب"], ["ب", "القاهرة"], ["مصر"], ["٢٠٢٤م"], ["اسامة"], ["ﻻ"]],
    "xlmr-base": [
        ["وَ", "الْكِتَابُ"],
        ["ب", "القاهرة"],
        ["مـــصر"],
        ["٢٠٢٤م"],
        ["أُسامة"],
        ["لا"],
    ],
}


@pytest.mark.parametrize("config", sorted(EXPECTED_SEEN))
def test_each_config_states_what_its_model_sees(config, standins):
    """araevent's normalisation, then the family's own normaliser, unit by unit."""
    from transformers import AutoTokenizer

    from araevent.config import model_settings
    from araevent.text import KnownWords

    family = next(f for f in FAMILIES.values() if config in f.configs)
    settings = model_settings(compose("train", [f"model={config}"]).model)
    norm = settings.preprocessing.normalization
    normalizer = _normalizer(family, AutoTokenizer.from_pretrained(standins[family.name]))
    known = KnownWords.shipped()
    seen = []
    for word, expected_units in UNIT_TABLE:
        units = split_units(word, known)
        assert [u.text for u in units] == expected_units
        seen.append([normalizer(norm(u.text)) for u in units])
    assert seen == EXPECTED_SEEN[config]
    # the Hub id is recorded, the Hub model is loaded unless a local copy is given
    cfg = compose("train", [f"model={config}"]).model
    assert settings.name_or_path == cfg.base_model and "/" in cfg.base_model
    assert settings.preprocessing.decoding == "viterbi"
    assert (CONFIGS / "model" / f"{config}.yaml").read_text("utf-8").count("equivalent") == 1


def _normalizer(family, tok):
    """The family's own normaliser as the Hub model applies it (XLM-R: NFKC-type)."""
    import unicodedata

    if family.kind == "unigram":  # Precompiled is NFKC-type; the stand-in keeps it in memory
        return lambda s: unicodedata.normalize("NFKC", s)
    return tok.backend_tokenizer.normalizer.normalize_str


# --- trainer and encoder mismatches: one sentence each -----------------------------


@pytest.mark.skipif(
    __import__("torch").cuda.is_available() or __import__("torch").backends.mps.is_available(),
    reason="the check is for machines without a GPU",
)
def test_trainer_gpu_without_cuda_fails_in_one_sentence(fixture_corpus, tmp_path):
    cmd = [sys.executable, str(ROOT / "train.py"), "trainer=gpu", f"data.dir={fixture_corpus}"]
    done = subprocess.run(
        [*cmd, f"hydra.run.dir={tmp_path / 'run'}"],
        env=ENV,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: trainer.use_cpu=false (trainer=gpu) but torch sees no GPU (CUDA or MPS) on "
        "this machine; train with trainer=cpu"
    ]
    assert not (tmp_path / "run/model").exists()


@pytest.mark.parametrize("flag", ["bf16", "fp16"])
def test_mixed_precision_is_rejected_on_cpu_with_the_reason(flag, tmp_path):
    from araevent.config import train_job
    from araevent.errors import UsageError
    from araevent.trainers import check_device

    job = train_job(compose("train", ["trainer=cpu", f"trainer.{flag}=true"]), tmp_path)
    with pytest.raises(UsageError) as err:
        check_device(job.trainer)
    msg = str(err.value)
    assert msg.startswith(f"trainer.{flag}=true with trainer.use_cpu=true: mixed precision")
    assert msg.endswith(f"set trainer.{flag}=false")


def test_max_length_beyond_the_position_table_names_the_limit(standins):
    from araevent.errors import UsageError
    from araevent.modeling import load_pretrained
    from araevent.tagging import LabelSchema

    schema = LabelSchema.build(["GPE"], ["Attack"])
    # XLM-R numbers positions from padding_idx + 1: 514 rows hold 512 tokens
    tok, model = load_pretrained(str(standins["unigram"]), schema, max_length=512)
    assert model.config.max_position_embeddings == 514 and tok.cls_token == "<s>"
    with pytest.raises(UsageError) as err:
        load_pretrained(str(standins["unigram"]), schema, max_length=513)
    assert str(err.value) == (
        f"model.max_length=513 is more than the 512 positions {standins['unigram']} has; "
        "set model.max_length=512 or lower"
    )


def test_tiny_run_reports_its_tokenizer_coverage_too(tiny_run):
    metrics = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    coverage = metrics["run"]["tokenizer_coverage"]
    assert set(coverage) == {"train", "test"}
    train = coverage["train"]
    assert train["units"] == metrics["run"]["train_features"]["units"]
    # the tiny WordPiece is built from the training units: none unknown, no own normaliser
    assert train["unk_units"] == 0 and train["normalizer_changed_units"] == 0
    assert train["bare_prefix_units"] == 0


def test_nfkc_normaliser_keeps_offsets_on_the_raw_text():
    """XLM-R's NFKC-type normaliser under araevent's pipeline: a ligature stays one raw char.

    transformers rebuilds ``XLMRobertaTokenizer`` on load keeping only a ``Precompiled``
    normaliser (what the Hub model has), so the stand-in folder loses its NFKC; the
    tokenizer built in memory keeps it.
    """

    from araevent.modeling import Preprocessing, Preprocessor, tokenizer_coverage
    from araevent.text import KnownWords, Normalization
    from araevent.tokenizer_pipeline import araevent_tokenizer_pipeline

    tok = unigram_tokenizer(corpus_texts())
    known = KnownWords.shipped()
    norm = Normalization(strip_diacritics=False, strip_tatweel=False, digits=False)
    text = "ﻻ بد من بغداد، وﻻ"
    saved = araevent_tokenizer_pipeline(tok, known, norm)
    assert saved.backend_tokenizer.normalizer.normalize_str("ﻻ") == "لا"
    assert [text[a:b] for a, b in raw_words(saved, text)] == [
        "ﻻ", "بد", "من", "بغداد", "،", "وﻻ",
    ]  # fmt: skip
    pre = Preprocessor(tok, known, Preprocessing(norm, max_length=64, stride=8))
    coverage = tokenizer_coverage(pre, [text])
    assert coverage["units"] == 6 and coverage["normalizer_changed_units"] == 2


@pytest.mark.parametrize("family", sorted(TRAINED))
def test_units_skip_the_second_normalisation_with_the_same_ids(family, standins):
    """Dropping araevent's normalizers and splits (already applied) keeps every subword id."""
    from transformers import AutoTokenizer

    from araevent.config import model_settings
    from araevent.modeling import Preprocessor, araevent_tokenizer_pipeline
    from araevent.text import KnownWords
    from reference_inference import EDGE_TEXTS, assert_same_encoding, bundled_texts

    tok = AutoTokenizer.from_pretrained(standins[family])
    pre = model_settings(compose("train", [f"model={TRAINED[family]}"]).model).preprocessing
    known = KnownWords.shipped()
    saved = araevent_tokenizer_pipeline(tok, known, pre.normalization)
    preprocessor = Preprocessor(saved, known, pre)
    # the family's own normaliser stays (BERT's, NFKC-type); araevent's Replace parts go
    own = tok.backend_tokenizer.normalizer
    assert saved.backend_tokenizer.normalizer is not None
    assert (preprocessor.word_tokenizer.normalizer is None) == (own is None)
    assert_same_encoding(preprocessor, bundled_texts() + EDGE_TEXTS)
