"""The benchmark harness at its smallest sizes: every field of results.json, no speed asserted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AQMAR = ROOT.parent / "shared" / "data" / "aqmar" / "AQMAR_Arabic_NER_corpus-1.0.txt"

METHODS = ("extractor", "extractor_bs64", "pipeline_bs1", "pipeline_bs32", "bare_loop")
RATIOS = (
    "extractor_vs_pipeline_bs1",
    "extractor_vs_pipeline_bs32",
    "bare_vs_pipeline_bs1",
    "bare_vs_pipeline_bs32",
    "bare_over_extractor",
)
REQUIRED = [
    "schema_version",
    "quick",
    "created",
    "machine.logical_cores",
    "machine.torch_threads",
    "machine.versions.torch",
    "machine.versions.transformers",
    "machine.versions.tokenizers",
    "load_average",
    "train_run.median_wall_s",
    "train_run.median_peak_rss_mb",
    "train_run.max_peak_rss_mb",
    "train_run.model_dir",
    "train_run.median_cpu_s",
    "train_run_one_thread.median_wall_s",
    "threads.rows",
    "evaluate_run.median_wall_s",
    "evaluate_run.max_peak_rss_mb",
    "training_throughput.samples_per_epoch",
    "training_throughput.non_padding_tokens_per_epoch",
    "training_throughput.speedup_group_by_length",
    *[
        f"training_throughput.strategies.{s}.{k}"
        for s in ("group_by_length", "random")
        for k in ("median_s", "samples_per_s", "non_padding_tokens_per_s", "padding_share")
    ],
    *[
        f"inference.{m}.{k}"
        for m in ("tiny", "base", "mini")
        for k in ("documents", "units", "subwords", "windows", "pipeline_stride", "reps")
    ],
    *[
        f"inference.{m}.methods.{name}.{k}"
        for m in ("tiny", "base", "mini")
        for name in METHODS
        for k in ("median_s", "docs_per_s", "units_per_s")
    ],
    *[f"inference.{m}.ratios.{r}" for m in ("tiny", "base", "mini") for r in RATIOS],
    "inference.base.shape.vocab_size",
    "inference.mini.shape.hidden_size",
    "inference.base.shape.tokenizer",
    "scaling.test_split",
    "scaling.document_length",
    "profile.stages_cumulative_s",
    "profile.top_by_own_time",
    "targets",
]


def load_script(name: str):
    path = ROOT / "benchmarks" / f"{name}.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def lookup(doc: dict, dotted: str):
    node = doc
    for key in dotted.split("."):
        assert isinstance(node, dict) and key in node, f"results.json lacks {dotted}"
        node = node[key]
    return node


@pytest.mark.slow
def test_quick_harness_writes_every_field(tmp_path):
    bench = load_script("bench")
    out = tmp_path / "out"
    res = bench.run_benchmarks(out, quick=True, work_dir=tmp_path / "work")
    on_disk = json.loads((out / "results.json").read_text("utf-8"))
    assert on_disk["quick"] is True
    for dotted in REQUIRED:
        value = lookup(on_disk, dotted)
        assert value is not None or dotted.endswith("pipeline_stride"), dotted
    assert on_disk["train_run"]["all_succeeded"] and on_disk["evaluate_run"]["all_succeeded"]
    factors = [r["factor"] for r in on_disk["scaling"]["test_split"]]
    assert factors == list(bench.SCALE_FACTORS)
    assert [r["factor"] for r in on_disk["scaling"]["document_length"]] == factors
    # a document of 16 windows really has more windows than one of 1
    lengths = on_disk["scaling"]["document_length"]
    assert lengths[-1]["windows"] > lengths[0]["windows"]
    assert on_disk["inference"]["base"]["shape"]["vocab_size"] == 64000
    # the AQMAR test texts are measured when ../shared/data/aqmar is there
    assert ("aqmar" in on_disk["inference"]) == AQMAR.is_file()
    if AQMAR.is_file():  # by a model trained on AQMAR, not the sample's
        assert "data=conll" in on_disk["inference"]["aqmar"]["model_command"]
    names = {t["target"] for t in on_disk["targets"]}
    assert len(names) == 8 + 3 * AQMAR.is_file()  # the run_ner comparison: not in --quick
    assert all(isinstance(t["met"], bool) for t in on_disk["targets"])
    md = (out / "results.md").read_text("utf-8")
    assert "shared 2-core machine" in md
    for name in names:
        assert name in md
    assert res["targets"] == on_disk["targets"]
    phases = on_disk["train_run"]["runs"][0]["phases"]  # where train.py's time went
    assert 0 < phases["tagger_train_s"] < on_disk["train_run"]["runs"][0]["wall_s"]
    assert "tagger train s" in md


def test_training_profile_splits_the_loop_by_its_parts(tmp_path):
    """aqmar.training_profile reads a cProfile file: the loop's parts, per 1,000 tokens."""
    import cProfile
    import time

    aqmar = load_script("aqmar")
    pkg = tmp_path / "fake"
    pkg.mkdir()
    (pkg / "trainer.py").write_text(
        "import time\n"
        "def compute_loss():\n    time.sleep(0.03)\n"
        "def training_step():\n    compute_loss(); time.sleep(0.01)\n"
        "def get_batch_samples():\n    time.sleep(0.02)\n"
        "def train():\n"
        "    for _ in range(2):\n        get_batch_samples(); training_step()\n",
        "utf-8",
    )
    sys.path.insert(0, str(pkg))
    try:
        import trainer as fake_trainer
    finally:
        sys.path.remove(str(pkg))
    prof = tmp_path / "run.prof"
    profiler = cProfile.Profile(time.perf_counter)
    profiler.runcall(fake_trainer.train)
    profiler.dump_stats(prof)
    parts = aqmar.training_profile(prof, tokens=2000)["parts"]
    train, step = parts["Trainer.train"]["seconds"], parts["training_step"]["seconds"]
    assert train >= 0.12 and step >= 0.08 and parts["forward and loss"]["seconds"] >= 0.06
    assert parts["outside training_step"]["seconds"] == round(train - step, 3) >= 0.04
    assert parts["batches (fetch, collate)"]["seconds"] >= 0.04
    assert parts["backward"]["seconds"] == 0.0  # no accelerator.py in this profile
    per_1k = parts["Trainer.train"]["ms_per_1000_tokens"]
    assert per_1k == pytest.approx(1000 * train / 2000 * 1000, abs=0.3)  # seconds rounded


@pytest.mark.skipif(not AQMAR.is_file(), reason="../shared/data/aqmar is absent")
def test_aqmar_repairs_leave_only_valid_iob2():
    aqmar = load_script("aqmar")
    sentences, info = aqmar.read_corpus(AQMAR)
    assert info["sentences"] == 2687 and info["tokens"] == 73853
    assert info["table_repairs"] == len(aqmar.REPAIRS) == 15
    assert info["orphan_i_to_b"] == len(info["orphans"]) > 0
    prev_ok = True
    for sent in sentences:
        prev = "O"
        for tok in sent:
            assert aqmar.valid_tag(tok.tag), (tok.line, tok.tag)
            if tok.tag.startswith("I-"):
                prev_ok &= prev[2:] == tok.tag[2:]
            prev = tok.tag
    assert prev_ok
    parts = aqmar.split(sentences)
    assert [len(v) for v in parts.values()] == [2149, 269, 269]
    assert parts["dev"][0] is sentences[2149]


def test_aqmar_skips_without_the_corpus(tmp_path, monkeypatch, capsys):
    aqmar = load_script("aqmar")
    monkeypatch.setattr(aqmar, "CORPUS", tmp_path / "absent.txt")
    assert aqmar.run_aqmar(tmp_path / "out") is None
    assert "skipped" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
