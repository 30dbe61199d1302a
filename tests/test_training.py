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
    # training does only training: pipeline parity is `araevent publish --measure-parity`
    assert "parity" not in metrics


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

    from araevent.formats import load_documents
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
    from araevent.formats import load_documents
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


@pytest.mark.parametrize("model", sorted(p.stem for p in (CONFIGS / "model").glob("[!_]*.yaml")))
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


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml")))
def test_every_experiment_asks_for_its_data(name, tmp_path):
    from araevent.errors import UsageError

    cfg = compose("train", [f"experiment={name}"])
    needed = "ldc_root" if name == "arabert-ace2005" else "dir"  # an LDC folder, or JSONL files
    with pytest.raises(UsageError, match=rf"data\.{needed}=\.\.\."):
        train_job(cfg, tmp_path)


def test_the_layer_choice_is_a_data_option_for_any_model(tmp_path, fixture_corpus):
    from araevent.splits import load_split, read_split
    from araevent.training import label_schema

    for layer, other in (("entities", "triggers"), ("triggers", "entities")):
        cfg = compose("train", debug_overrides(fixture_corpus, tmp_path, f"data.layers=[{layer}]"))
        job = train_job(cfg, tmp_path)
        assert job.model.name == "tiny" and job.data.layers == (layer,)
        docs, stats = read_split(job.data, "train")
        assert load_split(job.data, "train") == docs and stats["documents"] == len(docs)
        schema = label_schema(docs, job.data)
        assert getattr(schema, layer) and not getattr(schema, other)
        assert not any(d.layer(other) for d in docs)


def test_metrics_record_the_run_folder_actually_used(tiny_run: Path, tmp_path):
    metrics = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    assert metrics["config"]["paths"]["output_dir"] == str(tiny_run)
    # the default output_dir is a timestamped ./outputs/train/... path; the job records run_dir
    job = train_job(compose("train", []), tmp_path / "chosen")
    assert job.config["paths"]["output_dir"] == str(tmp_path / "chosen")


def test_metrics_report_what_the_nested_policy_dropped(tiny_run: Path, fixture_corpus):
    from araevent.formats import read_many

    metrics = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    assert metrics["config"]["data"]["nested"] == "outer"
    for split in ("train", "dev", "test"):
        stats = read_many([fixture_corpus / f"{split}.jsonl"], nested="outer").stats
        assert stats["dropped_nested"] > 0
        assert metrics["run"]["reading"][split]["dropped_nested"] == stats["dropped_nested"]
        assert metrics["run"]["reading"][split]["documents"] == stats["documents"]


def _checkpoint(folder: Path, step: int) -> Path:
    import torch
    from safetensors.torch import save_file

    ckpt = folder / f"checkpoint-{step}"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step}), "utf-8")
    save_file({"w": torch.arange(64, dtype=torch.float32)}, str(ckpt / "model.safetensors"))
    torch.save({"state": {}}, ckpt / "optimizer.pt")
    return ckpt


def _truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def test_resume_skips_half_written_checkpoints_and_says_which(tmp_path, caplog):
    from araevent.checkpoints import checkpoint_problem, newest_complete_checkpoint

    folder = tmp_path / "checkpoints"
    good = _checkpoint(folder, 5)
    half_state = _checkpoint(folder, 10)
    _truncate(half_state / "trainer_state.json", 7)
    half_weights = _checkpoint(folder, 15)
    _truncate(half_weights / "model.safetensors", 100)
    half_optimizer = _checkpoint(folder, 20)
    _truncate(half_optimizer / "optimizer.pt", 30)
    no_header = _checkpoint(folder, 25)
    (no_header / "model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{x")
    assert checkpoint_problem(good) is None
    with caplog.at_level("WARNING", logger="araevent.checkpoints"):
        assert newest_complete_checkpoint(folder) == good
    skipped = [r.getMessage() for r in caplog.records]
    assert skipped == [
        f"skipping incomplete checkpoint {no_header}: model.safetensors has no valid "
        "safetensors header",
        f"skipping incomplete checkpoint {half_optimizer}: optimizer.pt is truncated",
        f"skipping incomplete checkpoint {half_weights}: model.safetensors is truncated",
        f"skipping incomplete checkpoint {half_state}: trainer_state.json is not valid JSON "
        "(half-written)",
    ]


def test_resume_from_a_half_written_checkpoint_path_fails_in_one_line(tmp_path):
    from araevent.checkpoints import resolve_resume
    from araevent.errors import UsageError

    ckpt = _checkpoint(tmp_path / "checkpoints", 10)
    _truncate(ckpt / "trainer_state.json", 7)
    with pytest.raises(UsageError) as err:
        resolve_resume(str(ckpt), tmp_path / "new")
    assert str(err.value) == (
        f"resume={ckpt}: incomplete checkpoint: trainer_state.json is not valid JSON "
        "(half-written) (pass the run folder to use its newest complete checkpoint)"
    )


def test_a_full_disk_while_checkpointing_ends_in_one_line(
    tmp_path, fixture_corpus, monkeypatch, capsys, caplog
):
    import errno

    import torch
    from transformers import Trainer

    from araevent.entrypoints import run_training

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "checkpoints"))

    monkeypatch.setattr(Trainer, "_save_checkpoint", full)
    caplog.set_level("INFO", logger="araevent.training")
    cfg = compose("train", debug_overrides(fixture_corpus, tmp_path, "trainer.epochs=1"))
    with pytest.raises(SystemExit) as exit_:
        run_training(cfg, tmp_path)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {tmp_path}: the disk is full (no space left on device writing "
        f"{tmp_path / 'checkpoints'}) (free some space, then rerun the same command with "
        "resume=true: it continues from the last complete checkpoint)\n"
    )
    assert not (tmp_path / "metrics.json").exists()
    # the thread count is logged at the start of every training
    assert f"torch threads: {torch.get_num_threads()} of " in caplog.text


@pytest.fixture(scope="module")
def default_job(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("schedule")
    return train_job(compose("train", [f"paths.output_dir={run_dir}"]), run_dir)


def _with(job, **trainer):
    import dataclasses

    return dataclasses.replace(job, trainer=dataclasses.replace(job.trainer, **trainer))


def test_dev_scoring_schedule_maps_onto_trainer_strategies(default_job):
    from transformers import EarlyStoppingCallback, TrainerControl, TrainerState

    from araevent.trainers import EveryNEpochs, schedule_callbacks, training_arguments

    job = default_job  # the default: every epoch, best checkpoint, early stopping
    assert (job.trainer.eval_every, job.trainer.eval_steps, job.trainer.final_bootstrap) == (
        1,
        None,
        1000,
    )
    args = training_arguments(job)
    assert (args.eval_strategy, args.save_strategy) == ("epoch", "epoch")
    assert args.load_best_model_at_end and args.metric_for_best_model
    assert [type(c) for c in schedule_callbacks(job.trainer)] == [EarlyStoppingCallback]

    job = _with(default_job, eval_every=0)  # throughput: no dev scoring, the last epoch
    args = training_arguments(job)
    assert (args.eval_strategy, args.save_strategy) == ("no", "epoch")
    assert not args.load_best_model_at_end and schedule_callbacks(job.trainer) == []

    args = training_arguments(_with(default_job, eval_steps=7))
    assert (args.eval_strategy, args.save_strategy, args.eval_steps, args.save_steps) == (
        "steps",
        "steps",
        7,
        7,
    )

    job = _with(default_job, eval_every=3)
    every = [c for c in schedule_callbacks(job.trainer) if isinstance(c, EveryNEpochs)]
    assert len(every) == 1
    scored = []
    for epoch in range(1, 8):  # 7 epochs of 10 steps: scored at 3, 6 and the last
        state = TrainerState(epoch=float(epoch), global_step=10 * epoch, max_steps=70)
        control = TrainerControl(should_evaluate=True, should_save=True)
        every[0].on_epoch_end(None, state, control)
        assert control.should_evaluate == control.should_save
        scored += [epoch] if control.should_evaluate else []
    assert scored == [3, 6, 7]


@pytest.mark.parametrize(
    "setting,named",
    [
        ({"eval_every": -1}, "trainer.eval_every=-1"),
        ({"eval_steps": 0}, "trainer.eval_steps=0"),
        ({"final_bootstrap": -5}, "trainer.final_bootstrap=-5"),
        ({"eval_steps": 5, "eval_every": 2}, "choose one"),
    ],
)
def test_a_bad_dev_scoring_setting_is_one_line(default_job, setting, named):
    from araevent.errors import UsageError
    from araevent.trainers import training_arguments

    with pytest.raises(UsageError, match=named) as err:
        training_arguments(_with(default_job, **setting))
    assert "\n" not in str(err.value)


def test_a_run_without_dev_scoring_keeps_the_last_epoch_and_scores_dev_once(
    tmp_path, fixture_corpus
):
    from araevent.training import train

    cfg = compose(
        "train",
        debug_overrides(
            fixture_corpus,
            tmp_path,
            "trainer.eval_every=0",
            "trainer.final_bootstrap=0",
            "trainer.max_steps=2",
            "trainer.report_to=[]",
            "arguments=false",
            "test=false",
        ),
    )
    metrics = train(train_job(cfg, tmp_path))
    run = metrics["run"]
    assert run["best_checkpoint"] is None and run["best_dev_strict_f1"] is None
    assert run["global_steps"] == 2
    assert not any("eval_" in k for h in run["loss_history"] for k in h)
    assert "dev/overall/seqeval_strict/f1" in metrics
    assert not any(k.endswith("f1_ci_low") for k in metrics)  # final_bootstrap=0
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert run["train_features"]["non_padding_tokens"] > run["train_features"]["units"]


def test_the_exit_hook_is_registered_once_per_process():
    """train.py, evaluate.py and the CLI each ask for it; one gc.freeze at exit is enough."""
    import subprocess
    import sys

    code = (
        "import atexit; from araevent import entrypoints as e; n = atexit._ncallbacks(); "
        "e.skip_last_collection(); e.skip_last_collection(); print(atexit._ncallbacks() - n)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
