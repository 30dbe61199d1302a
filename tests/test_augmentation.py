"""Training augmentation: each epoch's windows from freshly perturbed documents, spans carried."""

from __future__ import annotations

import pytest
from transformers import TrainerControl, TrainerState, TrainingArguments

from araevent.augmentation import AugmentedTrainSet, AugmentEpochs
from araevent.config import augmentation_settings, train_job
from araevent.errors import UsageError
from araevent.modeling import Preprocessing, Preprocessor, train_tiny_tokenizer
from araevent.perturb import NAMES
from araevent.schema import Document, Span
from araevent.tagging import LabelSchema
from araevent.text import KnownWords, span_vocabulary, split_units
from araevent.training import build_features
from conftest import compose

TEXTS = [
    ("أعلنت منظمة الصحة في القاهرة", ["منظمة", "القاهرة"], ["أعلنت"]),
    ("وصل الرئيس إلى بيروت، وروسيا", ["الرئيس", "بيروت", "روسيا"], []),
    ("قتل الجيش ثلاثة مدنيين في حلب", ["الجيش", "حلب"], ["قتل"]),
    ("إلى الشركة الجديدة في أبوظبي", ["الشركة", "أبوظبي"], []),
]
ENTITY = {"منظمة": "ORG", "القاهرة": "GPE", "الرئيس": "PER", "بيروت": "GPE", "روسيا": "GPE"}
ENTITY |= {"الجيش": "ORG", "حلب": "GPE", "الشركة": "ORG", "أبوظبي": "GPE"}
TRIGGER = {"أعلنت": "Conflict:Attack", "قتل": "Life:Die"}


def spans(text: str, words: list[str], labels: dict[str, str]) -> list[Span]:
    return [Span(text.index(w), text.index(w) + len(w), labels[w]) for w in words]


DOCS = [
    Document(f"d{i}", text, spans(text, ents, ENTITY), spans(text, trigs, TRIGGER))
    for i, (text, ents, trigs) in enumerate(TEXTS * 3)
]
SCHEMA = LabelSchema.build(["GPE", "ORG", "PER"], ["Conflict:Attack", "Life:Die"])
LAYERS = ("entities", "triggers")


@pytest.fixture(scope="module")
def pre() -> Preprocessor:
    known = KnownWords.shipped().union(span_vocabulary(DOCS))
    units = [[u.text for u in split_units(d.text, known)] for d in DOCS]
    tok = train_tiny_tokenizer(units, vocab_size=300, min_frequency=1, max_length=64)
    return Preprocessor(tok, known, Preprocessing(max_length=64, stride=8))


def train_set(pre, names=("hamza", "ta_marbuta", "conjunction"), prob=0.8, seed=1):
    return AugmentedTrainSet(DOCS, pre, SCHEMA, LAYERS, names, prob, seed)


def test_each_epoch_has_its_own_windows_and_the_same_epoch_the_same(pre):
    a, b = train_set(pre), train_set(pre)
    a.set_epoch(0)
    epoch0 = list(a.features)
    a.set_epoch(1)
    assert a.features != epoch0
    b.set_epoch(1)  # a fresh set (a resumed run) gets epoch 1 as it was
    assert b.features == a.features
    a.set_epoch(0)
    assert a.features == epoch0
    assert len(epoch0) == len(a.clean_features()) and len(a) == len(epoch0)
    assert sum(v for k, v in a.stats.items() if k.startswith("augmented/")) > 0


def tags(feature) -> list[int]:
    return [t for t in feature["labels"] if t != -100]


def test_perturbed_windows_carry_the_labels_of_the_moved_spans(pre):
    s = train_set(pre, names=("hamza",), prob=1.0)
    s.set_epoch(0)
    clean = s.clean_features()
    # hamza folding changes characters but no unit or window: the unit tags stay, the ids move
    assert [tags(f) for f in s.features] == [tags(f) for f in clean]
    assert [f["input_ids"] for f in s.features] != [f["input_ids"] for f in clean]
    # a detached conjunction adds a unit: «وروسيا» → «و روسيا» keeps روسيا tagged GPE
    c = train_set(pre, names=("conjunction",), prob=1.0)
    c.set_epoch(0)
    gpe = {SCHEMA.label2id["B-GPE"], SCHEMA.label2id["I-GPE"]}
    for got, want in zip(c.features, clean, strict=True):
        assert sum(t in gpe for t in got["labels"]) == sum(t in gpe for t in want["labels"])
    assert c.stats["changed/entities"] == 0 and c.stats["augmented/conjunction"] > 0


def test_probability_zero_is_the_clean_training_set(pre):
    s = train_set(pre, prob=0.0)
    s.set_epoch(3)
    ds, _ = build_features(pre, DOCS, SCHEMA, LAYERS)
    assert s.features == [dict(row) for row in ds]


def test_the_callback_sets_the_epoch_of_a_fresh_and_a_resumed_run(pre, tmp_path):
    s = train_set(pre)
    cb = AugmentEpochs(s)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    for done, want in ((0.0, 0), (2.0, 2), (2.9999999, 3)):
        cb.on_epoch_begin(args, TrainerState(epoch=done), TrainerControl())
        assert s.epoch == want


@pytest.mark.parametrize(
    "names,prob,says",
    [
        (["hamza", "nope"], 0.5, "unknown perturbation nope"),
        (["hamza"], 1.5, "between 0 and 1"),
        ([], 0.5, "names no perturbation"),
    ],
)
def test_bad_augmentation_settings_fail_in_one_line(names, prob, says):
    with pytest.raises(UsageError) as err:
        augmentation_settings(names, prob)
    msg = str(err.value)
    assert says in msg and "\n" not in msg
    if "unknown" in says:
        assert all(n in msg for n in NAMES)


def test_augmentation_settings_reach_the_training_job_or_fail_at_config_time(tmp_path):
    cfg = compose("train", ["debug=tiny", "data.augment=[ya,noise]", "data.augment_prob=0.25"])
    job = train_job(cfg, tmp_path)
    assert job.data.augment == ("ya", "noise") and job.data.augment_prob == 0.25
    cfg.data.augment = ["ya", "yaa"]
    with pytest.raises(UsageError, match="data.augment: unknown perturbation yaa"):
        train_job(cfg, tmp_path)
