"""End-to-end training in subprocesses: kill-and-resume, DDP over gloo, Hydra multirun."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
}


def train_cmd(corpus: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "train.py"),
        "debug=tiny",
        f"data.dir={corpus}",
        f"hydra.run.dir={run_dir}",
        "test=false",
        *extra,
    ]


def weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def run_train(corpus: Path, run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        train_cmd(corpus, run_dir, *extra),
        env=ENV,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def refused(result: subprocess.CompletedProcess) -> str:
    """The one error line of a refused run (exit 2, no traceback)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_killed_run_resumes_to_the_same_weights_and_losses(fixture_corpus, tmp_path):
    # logging every 3 steps, checkpoints every epoch (5 steps): the loss average of a
    # logging window straddles the resume point unless the loss is also logged at
    # every epoch end (it is), so the whole logged history must match
    args = ("trainer.epochs=8", "trainer.logging_steps=3")
    full = tmp_path / "full"
    assert run_train(fixture_corpus, full, *args).returncode == 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        train_cmd(fixture_corpus, killed, *args),
        env=ENV,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            if any((killed / "checkpoints").glob("checkpoint-*/trainer_state.json")):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "training ended before a checkpoint existed"
    assert not (killed / "metrics.json").exists()

    # the next checkpoint half-written when the process died
    a = json.loads((full / "metrics.json").read_text("utf-8"))
    steps = sorted(
        int(p.parent.name.split("-")[1])
        for p in (killed / "checkpoints").glob("checkpoint-*/trainer_state.json")
    )
    last = killed / "checkpoints" / f"checkpoint-{steps[-1]}"
    half = last.with_name(f"checkpoint-{steps[-1] + a['run']['steps_per_epoch']}")
    shutil.copytree(last, half)
    state = half / "trainer_state.json"
    state.write_bytes(state.read_bytes()[:50])

    overrides = (killed / ".hydra/overrides.yaml").read_text("utf-8")
    log_before = (killed / "train.log").read_bytes()
    line = refused(run_train(fixture_corpus, killed, *args))
    assert line.startswith(f"error: {killed}: this folder already holds a run (checkpoints/")
    assert line.endswith("(add resume=true to continue it, or pick another hydra.run.dir)")
    line = refused(run_train(fixture_corpus, killed, *args, "resume=true", "seed=7"))
    assert line.startswith(
        f"error: {killed}: cannot resume with a different config: seed (42 -> 7)"
    )
    # refused invocations leave the folder as it was
    assert (killed / ".hydra/overrides.yaml").read_text("utf-8") == overrides
    assert (killed / "train.log").read_bytes() == log_before

    assert run_train(fixture_corpus, killed, *args, "resume=true").returncode == 0
    assert (killed / ".hydra/overrides.yaml").read_text("utf-8") == overrides
    log = (killed / "train.log").read_text("utf-8")
    assert f"skipping incomplete checkpoint {half}: trainer_state.json is not valid JSON" in log
    assert f"resuming from {last}" in log

    assert max_abs_diff(weights(full / "model"), weights(killed / "model")) <= 1e-6
    b = json.loads((killed / "metrics.json").read_text("utf-8"))
    la, lb = a["run"]["loss_history"], b["run"]["loss_history"]
    assert [x["step"] for x in la] == [x["step"] for x in lb]
    assert max(abs(x["loss"] - y["loss"]) for x, y in zip(la, lb, strict=True)) <= 1e-6
    assert a["run"]["global_steps"] == b["run"]["global_steps"]
    for key in ("dev/overall/seqeval_strict/f1", "dev/entities/span/f1"):
        assert a[key] == b[key], key
    assert b["config"]["paths"]["output_dir"] == str(killed)

    # a finished run is not resumed, nor trained over
    line = refused(run_train(fixture_corpus, full, *args, "resume=true"))
    assert line == (
        f"error: {full}: this run has finished (metrics.json is there); "
        "nothing to resume (pick another hydra.run.dir for a new run)"
    )
    # the thread count is logged at start
    assert "torch threads: 1 of " in (full / "train.log").read_text("utf-8")
    assert a["run"]["torch_threads"] == 1


def test_ddp_on_cpu_has_two_ranks_and_half_the_steps(fixture_corpus, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    args = ("trainer.epochs=3",)
    subprocess.run(
        train_cmd(fixture_corpus, one, *args),
        env=ENV,
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=600,
    )
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
    ]
    cmd = launch + train_cmd(fixture_corpus, two, *args)[1:]
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, cwd=ROOT, timeout=600)
    m1 = json.loads((one / "metrics.json").read_text("utf-8"))["run"]
    m2 = json.loads((two / "metrics.json").read_text("utf-8"))["run"]
    assert m1["world_size"] == 1 and m2["world_size"] == 2
    assert m2["global_steps"] * 2 == pytest.approx(m1["global_steps"], abs=3)
    assert m2["steps_per_epoch"] == -(-m1["steps_per_epoch"] // 2)
    # one log per rank; rank 0 alone wrote .hydra/ and the run files
    assert (two / "train.log").is_file() and (two / "train.rank1.log").is_file()
    assert (two / ".hydra/config.yaml").is_file()


def test_multirun_seed_sweep_gives_one_run_folder_per_job(fixture_corpus, tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        "seed=1,2",
        "debug=tiny",
        f"data.dir={fixture_corpus}",
        "test=false",
        "trainer.epochs=1",
        f"hydra.sweep.dir={sweep}",
    ]
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, cwd=ROOT, timeout=600)
    runs = sorted(p.parent for p in sweep.glob("*/metrics.json"))
    assert [p.name for p in runs] == ["0", "1"]
    seeds = [json.loads((p / "metrics.json").read_text("utf-8"))["run"]["seed"] for p in runs]
    assert seeds == [1, 2]
