"""Training on the tiny model: outcomes, reloads, configs, offline failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from araevent.config import train_job
from conftest import CONFIGS, compose, debug_overrides


def test_debug_run_fits_its_training_data(tiny_run: Path):
    metrics = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    # dev == train in the fixture: the model must have learnt it
    assert metrics["dev/overall/seqeval_strict/f1"] >= 0.9
    assert metrics["dev/entities/span/f1"] >= 0.9
    assert metrics["run"]["world_size"] == 1
    for key in ("versions", "git_commit", "data_hashes", "config"):
        assert key in metrics
    assert len(metrics["data_hashes"]) == 3
    assert metrics["parity"]["split"] == "test" and metrics["parity"]["documents"] == 20


def test_run_folder_is_complete(tiny_run: Path):
    for name in (
        "metrics.json",
        "report.md",
        "predictions.jsonl",
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.json",
        "model/known_words.txt",
    ):
        assert (tiny_run / name).is_file(), name
    assert any((tiny_run / "checkpoints").glob("checkpoint-*"))
    assert any((tiny_run / "tensorboard").glob("events.out.tfevents.*"))
    config = json.loads((tiny_run / "model/config.json").read_text("utf-8"))
    block = config["araevent"]
    assert block["layers"]["entities"] and block["layers"]["triggers"]
    assert config["id2label"]["0"] == "O"
    assert block["preprocessing"]["max_length"] == 128
    tok = json.loads((tiny_run / "model/tokenizer_config.json").read_text("utf-8"))
    assert tok["model_max_length"] == 128


def test_reloaded_tokenizer_is_identical_and_knows_the_training_text(tiny_run, fixture_corpus):
    from transformers import AutoTokenizer

    from araevent.io import load_documents
    from araevent.modeling import load_model_dir

    loaded = load_model_dir(tiny_run)
    fresh = AutoTokenizer.from_pretrained(tiny_run / "tokenizer")
    docs = load_documents([fixture_corpus / "train.jsonl"], nested="outer")
    encoded = loaded.preprocessor.encode([d.text for d in docs])
    norm = loaded.preprocessor.settings.normalization
    unk = loaded.tokenizer.unk_token_id
    n_unk = 0
    for ed in encoded:
        words = [norm(u.text) for u in ed.units]
        a = loaded.preprocessor.tokenizer(words, is_split_into_words=True, add_special_tokens=False)
        b = fresh(words, is_split_into_words=True, add_special_tokens=False)
        assert a["input_ids"] == b["input_ids"]
        n_unk += sum(t == unk for t in a["input_ids"])
    assert n_unk == 0
    # the saved tokenizer.json normalises raw text the way araevent does, and nothing more
    assert loaded.tokenizer.tokenize("مُحَمَّد") == loaded.tokenizer.tokenize("محمد")
    assert loaded.tokenizer.tokenize("أحمد") != loaded.tokenizer.tokenize("احمد")


def test_reloaded_model_reproduces_the_training_time_dev_score(tiny_run, fixture_corpus):
    from araevent.evaluation import score
    from araevent.io import load_documents
    from araevent.modeling import load_model_dir
    from araevent.predict import Predictor

    metrics = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    loaded = load_model_dir(tiny_run / "model")
    docs = load_documents([fixture_corpus / "dev.jsonl"], nested="outer")
    preds = Predictor.from_loaded(loaded).predict_texts([d.text for d in docs])
    s = score(
        docs,
        [p.spans for p in preds],
        [p.units for p in preds],
        pred_tags=[p.tags for p in preds],
        trigger_labels=set(loaded.schema.triggers),
        prefix="dev",
        bootstrap=0,
    )
    for key in (
        "dev/overall/seqeval_strict/f1",
        "dev/entities/span/f1",
        "dev/triggers/classification/span/f1",
    ):
        assert s.metrics[key] == metrics[key], key


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml")))
def test_every_experiment_composes(name, tmp_path):
    where = "data.ldc_root" if name == "arabert-ace2005" else "data.dir"
    cfg = compose(
        "train", [f"experiment={name}", f"{where}=/data/ace", f"paths.output_dir={tmp_path}"]
    )
    job = train_job(cfg, tmp_path)
    assert job.model.name_or_path
    assert job.data.layers


@pytest.mark.parametrize("model", sorted(p.stem for p in (CONFIGS / "model").glob("*.yaml")))
def test_every_model_config_composes(model, tmp_path):
    job = train_job(compose("train", [f"model={model}"]), tmp_path)
    assert job.model.preprocessing.max_length >= 128


def test_a_typo_in_an_override_fails_loudly():
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException):
        compose("train", ["trainer.learnin_rate=0.1"])
    with pytest.raises(ConfigCompositionException):
        compose("train", ["model=arabert-bsae"])


def test_required_values_are_required(tmp_path):
    from araevent.errors import UsageError

    cfg = compose("train", ["data=jsonl"])
    with pytest.raises(UsageError, match=r"data\.dir=\.\.\."):
        train_job(cfg, tmp_path)


def test_offline_hub_model_fails_with_one_clear_sentence(tmp_path, fixture_corpus):
    from araevent.errors import UsageError
    from araevent.training import train

    cfg = compose("train", debug_overrides(fixture_corpus, tmp_path, "model=arabert-base"))
    with pytest.raises(UsageError) as err:
        train(train_job(cfg, tmp_path))
    msg = str(err.value)
    assert "aubmindlab/bert-base-arabertv02" in msg
    assert "model.name_or_path=" in msg
    assert "\n" not in msg


def test_optuna_search_config_composes_when_the_plugin_is_installed(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    cfg = compose("train", ["hparams_search=optuna"])
    assert cfg.optimized_metric == "dev/overall/seqeval_strict/f1"
