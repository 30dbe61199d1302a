"""``evaluate.py``: config, reproduction of training-time scores, long documents, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from araevent.cli import main as cli_main
from araevent.config import evaluate_job
from araevent.entrypoints import run_evaluation
from araevent.errors import UsageError
from conftest import ROOT, compose, write_jsonl

GOLD = Path(__file__).parent / "data" / "eval_gold.jsonl"


def joined(parts: list[dict], doc_id: str) -> dict:
    """One document made of ``parts`` joined by a space, spans shifted."""
    text, ents, trigs = "", [], []
    for d in parts:
        shift = len(text)
        ents += [{**s, "start": s["start"] + shift, "end": s["end"] + shift} for s in d["entities"]]
        trigs += [
            {**s, "start": s["start"] + shift, "end": s["end"] + shift} for s in d["triggers"]
        ]
        text += d["text"] + " "
    return {"id": doc_id, "text": text.strip(), "entities": ents, "triggers": trigs}


def evaluate_cfg(model_path, corpus: Path, out: Path, *extra: str):
    return compose(
        "evaluate",
        [f"model_path={model_path}", f"data.dir={corpus}", f"paths.output_dir={out}", *extra],
    )


def flat(metrics: dict, prefix: str) -> dict:
    return {k: v for k, v in metrics.items() if k.startswith(prefix)}


def test_the_config_composes_and_requires_a_model_path(tmp_path):
    cfg = compose("evaluate")
    assert cfg.task_name == "evaluate"
    assert "/outputs/evaluate/" in cfg.paths.output_dir
    assert (cfg.split, cfg.bootstrap, cfg.seed, cfg.decoding) == ("test", 1000, 0, None)
    with pytest.raises(UsageError, match=r"model_path=\.\.\."):
        evaluate_job(cfg, tmp_path)
    job = evaluate_job(
        compose("evaluate", ["model_path=m", "split=dev", "decoding=viterbi"]), tmp_path
    )
    assert (job.model_path, job.split, job.decoding, job.data.name) == (
        "m",
        "dev",
        "viterbi",
        "sample",
    )
    assert job.config["model_path"] == "m"
    with pytest.raises(UsageError, match="split=valid"):
        evaluate_job(compose("evaluate", ["model_path=m", "split=valid"]), tmp_path)
    with pytest.raises(UsageError, match="decoding=beam"):
        evaluate_job(compose("evaluate", ["model_path=m", "decoding=beam"]), tmp_path)


def test_reloading_the_model_reproduces_the_training_time_dev_scores(
    tiny_run, fixture_corpus, tmp_path, capsys
):
    trained = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    out = tmp_path / "dev"
    cfg = evaluate_cfg(tiny_run / "model", fixture_corpus, out, "split=dev")
    metrics = run_evaluation(cfg, out)
    assert metrics["dev/overall/seqeval_strict/f1"] == trained["dev/overall/seqeval_strict/f1"]
    assert metrics["dev/overall/span/f1"] > 0.5  # the model learnt something: not all zeros
    # every dev number, bootstrap intervals included (same seed, same resampling)
    assert flat(metrics, "dev/") == flat(trained, "dev/")
    assert metrics["counts"]["dev"]["gold_spans"] == trained["counts"]["dev"]["gold_spans"]
    printed = capsys.readouterr().out
    assert printed.startswith("| dev | span P |")
    assert f"report folder: {out}" in printed
    on_disk = json.loads((out / "metrics.json").read_text("utf-8"))
    assert flat(on_disk, "dev/") == flat(trained, "dev/")
    assert on_disk["model"]["training_seed"] == trained["config"]["seed"]
    assert on_disk["model"]["training_config"] == trained["config"]
    assert on_disk["run"]["peak_rss_mb"] > 0 and on_disk["run"]["wall_time_s"] > 0
    assert list(on_disk["data_hashes"]) == [str(fixture_corpus / "dev.jsonl")]


@pytest.fixture(scope="module")
def test_report(tiny_run, fixture_corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("evaluate-test")
    run_evaluation(evaluate_cfg(tiny_run, fixture_corpus, out, "bootstrap=200"), out)
    return out


def test_the_report_folder_is_complete_and_re_scorable(
    test_report, tiny_run, fixture_corpus, tmp_path, capsys
):
    for name in (
        "metrics.json",
        "report.md",
        "predictions.jsonl",
        "errors.jsonl",
        "doc_counts.json",
        "confusion_entities.png",
        "confusion_triggers.png",
    ):
        assert (test_report / name).is_file(), name
    m = json.loads((test_report / "metrics.json").read_text("utf-8"))
    trained = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    for key in (
        "test/overall/span/f1",
        "test/overall/seqeval_strict/f1",
        "test/entities/seqeval_default/f1",
    ):
        assert m[key] == trained[key]
    errors = [json.loads(x) for x in (test_report / "errors.jsonl").read_text("utf-8").splitlines()]
    c = m["counts"]["test"]
    assert len(errors) == c["overall/span_fp"] + c["overall/span_fn"]
    assert {e["kind"] for e in errors} <= {
        "false_positive",
        "false_negative",
        "boundary",
        "type_confusion",
    }
    docs = {
        json.loads(x)["id"]: json.loads(x)["text"]
        for x in (fixture_corpus / "test.jsonl").read_text("utf-8").splitlines()
    }
    for e in errors[:50]:
        text = docs[e["id"]]
        assert text[e["start"] : e["end"]] == e["text"]
        assert text[max(0, e["start"] - 40) : e["start"]] == e["left_context"]
    # araevent score on predictions.jsonl gives the same character-span scores
    out = tmp_path / "rescored"
    assert (
        cli_main(
            [
                "score",
                str(fixture_corpus / "test.jsonl"),
                str(test_report / "predictions.jsonl"),
                "--bootstrap",
                "200",
                "--nested",
                "outer",  # as the run's data config (data=sample)
                "-o",
                str(out),
            ]
        )
        == 0
    )
    again = json.loads((out / "metrics.json").read_text("utf-8"))

    # (the argument model's protocols, gold_triggers/ and end_to_end/, are not in the file)
    def tagger_spans(metrics: dict) -> dict:
        protocols = ("/gold_triggers/", "/end_to_end/")
        return {
            k: v for k, v in metrics.items() if "/span/" in k and not any(p in k for p in protocols)
        }

    span = tagger_spans(m)
    assert span and span == tagger_spans(again)


def test_compare_sees_no_difference_between_training_and_evaluate(test_report, tiny_run, capsys):
    assert (
        cli_main(
            [
                "compare",
                str(tiny_run),
                str(test_report),
                "--baseline",
                "train",
                "--system",
                "evaluate",
                "--bootstrap",
                "100",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| train " in out and "| evaluate " in out
    assert "Δ = +0.0" in out and "p = 1.0000" in out
    # the paired test read the counts the scores came from: both sides show the table's F1
    f1 = json.loads((tiny_run / "metrics.json").read_text("utf-8"))["test/overall/span/f1"]
    assert f"` {100 * f1:.1f} vs baseline `train " in out and f"` {100 * f1:.1f}, Δ" in out
    assert (tiny_run / "doc_counts.json").is_file()


def long_documents(repeats: tuple[int, ...]) -> list[dict]:
    """Documents made of the fixture's texts repeated: many windows each."""
    base = [json.loads(x) for x in GOLD.read_text("utf-8").splitlines()]
    return [joined(base * r, f"long-{n}") for n, r in enumerate(repeats)]


def random_tiny_model(path: Path, docs, *, max_length: int) -> Path:
    """A random-init tiny model (no training) with a small window."""
    import torch

    from araevent.formats import load_documents
    from araevent.modeling import (
        Preprocessing,
        attach_metadata,
        save_model_dir,
        tiny_model,
        train_tiny_tokenizer,
    )
    from araevent.tagging import LabelSchema
    from araevent.text import KnownWords, Normalization, span_vocabulary, split_units

    docs = load_documents([docs])
    known = KnownWords.shipped().union(span_vocabulary(docs))
    pre = Preprocessing(Normalization(), max_length=max_length, stride=8)
    words = ([pre.normalization(u.text) for u in split_units(d.text, known)] for d in docs)
    tok = train_tiny_tokenizer(words, vocab_size=200, min_frequency=1, max_length=max_length)
    schema = LabelSchema.build(
        {s.label for d in docs for s in d.entities}, {s.label for d in docs for s in d.triggers}
    )
    torch.manual_seed(0)
    model = tiny_model(
        tok,
        schema,
        hidden_size=16,
        num_layers=1,
        num_heads=2,
        intermediate_size=32,
        dropout=0.0,
        max_length=max_length,
    )
    attach_metadata(model, tok, schema, pre, label_set="any", base_model="random-tiny")
    return save_model_dir(path, model, tok, known)


def test_documents_longer_than_a_window_lose_no_gold_span(tmp_path, capsys):
    from araevent.modeling import load_model_dir
    from araevent.predict import Predictor

    docs = long_documents((3, 5, 8))
    n_gold = sum(len(d["entities"]) + len(d["triggers"]) for d in docs)
    assert n_gold == 9 * (3 + 5 + 8)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_jsonl(corpus / "test.jsonl", docs)
    model_dir = random_tiny_model(tmp_path / "model", corpus / "test.jsonl", max_length=32)
    out = tmp_path / "report"
    m = run_evaluation(evaluate_cfg(model_dir, corpus, out, "data=jsonl", "bootstrap=0"), out)
    c = m["counts"]["test"]
    assert c["gold_spans"] == n_gold
    assert c["inference/documents_over_one_window"] == 3
    assert c["inference/windows"] >= 3 * 3
    assert c["gold_spans_off_units"] == 0
    ents = sum(len(d["entities"]) for d in docs)
    assert m["test/entities/span/support"] == ents
    assert m["test/overall/span/support"] == n_gold
    assert c["overall/span_tp"] + c["overall/span_fn"] == n_gold
    # seqeval saw every gold span as a tag sequence, too
    assert m["test/overall/seqeval_strict/support"] == n_gold
    # and every unit got a prediction from some window
    loaded = load_model_dir(model_dir)
    predictor = Predictor.from_loaded(loaded, batch_size=4)
    encoded, probs = predictor.unit_probabilities([d["text"] for d in docs])
    for ed, p in zip(encoded, probs, strict=True):
        assert len(ed.encoding.windows) > 1
        assert p.shape[0] == len(ed.units)
        assert (abs(p.sum(axis=1) - 1) < 1e-4).all()


def test_an_unknown_model_path_fails_in_one_sentence(tmp_path, fixture_corpus, capsys):
    for path in (tmp_path / "nope", "aubmindlab/bert-base-arabertv02"):
        with pytest.raises(SystemExit) as exit_:
            run_evaluation(evaluate_cfg(path, fixture_corpus, tmp_path / "out"), tmp_path)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: model_path={path}: no such folder")
        assert "\n" not in err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        run_evaluation(evaluate_cfg(tmp_path / "empty", fixture_corpus, tmp_path / "out"), tmp_path)
    assert "neither a model folder nor a run folder" in capsys.readouterr().err


def test_the_script_exits_non_zero_with_one_line(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "evaluate.py",
            f"model_path={tmp_path / 'missing'}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: model_path=") and "no such folder" in last
    assert (run_dir / "evaluate.log").is_file()
    assert (run_dir / ".hydra" / "config.yaml").is_file()


@pytest.fixture(scope="module")
def entities_only_run(tmp_path_factory) -> tuple[Path, Path]:
    """A run folder (random tiny model, no training) whose data has PERS/MISC entities only.

    Its metrics.json records the data config as train.py does; returns (run, corpus).
    """
    from omegaconf import OmegaConf

    base = [json.loads(x) for x in GOLD.read_text("utf-8").splitlines()]
    relabel = {"GPE": "MISC", "ORG": "PERS", "PER": "PERS"}
    docs = [
        {
            "id": d["id"],
            "text": d["text"],
            "entities": [{**s, "label": relabel[s["label"]]} for s in d["entities"]],
            "triggers": [],
        }
        for d in base
    ]
    tmp = tmp_path_factory.mktemp("entities-only")
    corpus = tmp / "corpus"
    corpus.mkdir()
    for split in ("train", "dev", "test"):
        write_jsonl(corpus / f"{split}.jsonl", docs)
    run = tmp / "run"
    random_tiny_model(run / "model", corpus / "train.jsonl", max_length=32)
    data = compose("train", ["data=jsonl", f"data.dir={corpus}"]).data
    config = {"seed": 3, "data": OmegaConf.to_container(data, resolve=True)}
    (run / "metrics.json").write_text(json.dumps({"config": config}), "utf-8")
    return run, corpus


def test_without_a_data_override_the_run_folders_data_is_scored(
    entities_only_run, tmp_path, capsys
):
    run, corpus = entities_only_run
    out = tmp_path / "report"
    overrides = [f"model_path={run}", f"paths.output_dir={out}", "bootstrap=0"]
    m = run_evaluation(compose("evaluate", overrides), out, overrides)
    assert m["config"]["data"]["test"] == str(corpus / "test.jsonl")
    assert list(m["data_hashes"]) == [str(corpus / "test.jsonl")]
    assert m["counts"]["test"]["gold_spans"] == 5
    report = (out / "report.md").read_text("utf-8")
    assert f"data: the training run's data config (data=jsonl, recorded in {run}/metrics.json)" in (
        report
    )
    capsys.readouterr()


def test_gold_sharing_no_label_with_the_model_is_refused_in_one_line(
    entities_only_run, tmp_path, capsys
):
    run, _ = entities_only_run
    labels = {
        s["label"]
        for line in (ROOT / "data" / "sample" / "test.jsonl").read_text("utf-8").splitlines()
        for s in json.loads(line)["entities"] + json.loads(line)["triggers"]
    }
    # data=sample named on the command line, or no command line known: the sample is scored
    for overrides in (["data=sample"], None):
        cfg = compose("evaluate", [f"model_path={run}", "bootstrap=0"])
        with pytest.raises(SystemExit) as exit_:
            run_evaluation(cfg, tmp_path / "out", overrides)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "data/sample/test.jsonl: none of the " in err
        assert f"none of the {len(labels)} gold labels ({', '.join(sorted(labels)[:6])} and " in err
        assert "is a label of the model (MISC, PERS) (score on the data the model" in err
        assert "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_an_entities_only_model_reports_only_its_layer(entities_only_run, tmp_path, capsys):
    run, corpus = entities_only_run
    out = tmp_path / "report"
    m = run_evaluation(evaluate_cfg(run, corpus, out, "data=jsonl", "bootstrap=0"), out)
    assert m["run"]["layers"] == ["entities"]
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text("utf-8")
    for text in (printed, report):
        assert "| entities |" in text
        assert "| triggers/" not in text and "| overall |" not in text
    assert "triggers/classification per type" not in report
    assert "test/triggers/classification/span/f1" in m  # every key is still there


def test_data_overrides_are_recognised():
    from araevent.config import names_data

    assert names_data(["data=conll"]) and names_data(["data.dir=x"]) and names_data(["+data.a=1"])
    assert not names_data(["model_path=data", "paths.data_dir=x", "split=dev", "database=1"])


def test_robustness_true_writes_the_robustness_report_into_the_evaluation_folder(
    tiny_run, fixture_corpus, tmp_path, capsys
):
    out = tmp_path / "eval"
    extra = ("bootstrap=20", "robustness=true", "robustness_perturb=[hamza]")
    metrics = run_evaluation(evaluate_cfg(tiny_run, fixture_corpus, out, *extra), out)
    rob = out / "robustness"
    for name in ("report.md", "robustness.png", "corpora/clean.jsonl", "corpora/hamza.jsonl"):
        assert (rob / name).is_file(), name
    assert not (rob / "corpora/tatweel.jsonl").exists()
    assert f"robustness report: {rob / 'report.md'}" in capsys.readouterr().out
    saved = json.loads((rob / "metrics.json").read_text("utf-8"))
    keys = {k for k in saved if k.startswith("robustness/")}
    assert "robustness/hamza/entities/span/delta" in keys
    assert {k.split("/")[1] for k in keys} == {"clean", "hamza"}
    # copied into the evaluation's metrics.json; the clean F1 is the evaluation's own
    assert {k: metrics[k] for k in keys} == {k: saved[k] for k in keys}
    clean = metrics["robustness/clean/entities/span/f1"]
    assert clean == pytest.approx(metrics["test/entities/span/f1"], abs=1e-12)
    assert saved["run"]["seed"] == 0 and saved["run"]["perturb"] == ["hamza"]


def test_robustness_settings_are_checked_at_config_time(tmp_path):
    cfg = compose("evaluate", ["model_path=m", "robustness=true", "robustness_perturb=[hamza,x]"])
    with pytest.raises(UsageError, match=r"robustness_perturb=hamza,x: unknown perturbation x"):
        evaluate_job(cfg, tmp_path)
    cfg = compose("evaluate", ["model_path=m", "robustness=true", "bootstrap=0"])
    with pytest.raises(UsageError, match="robustness=true needs bootstrap >= 1"):
        evaluate_job(cfg, tmp_path)
    assert evaluate_job(compose("evaluate", ["model_path=m"]), tmp_path).robustness is False
