"""Run folders: one run per folder, a live lock, resume only with the run's own config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from araevent.errors import UsageError
from araevent.runfolder import LOCK, SAVED_CONFIG, claim, config_differences, holds_run

CONFIG = {
    "seed": 1,
    "resume": False,
    "tags": [],
    "paths": {"output_dir": "/x"},
    "trainer": {"learning_rate": 0.001, "epochs": 4, "eval_batch_size": 64},
    "model": {"name": "tiny"},
}


def with_changes(**changes) -> dict:
    cfg = json.loads(json.dumps(CONFIG))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = cfg
        for p in parents:
            node = node[p]
        node[last] = value
    return cfg


def started_run(run_dir: Path, *files: str) -> Path:
    """A run folder as a killed training leaves it: saved config plus ``files``."""
    with claim(run_dir, CONFIG, resume=False):
        pass
    for name in files:
        p = run_dir / name
        if name.endswith("/"):
            p.mkdir(parents=True)
        else:
            p.write_text("{}", "utf-8")
    return run_dir


def refusal(run_dir: Path, config: dict, resume) -> str:
    """The one-line reason ``claim`` refuses ``run_dir``."""
    with pytest.raises(UsageError) as err, claim(run_dir, config, resume=resume):
        pytest.fail(f"claimed {run_dir}")
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_a_fresh_run_takes_an_empty_folder_or_one_with_only_hydra_files(tmp_path):
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "train.log").write_text("", "utf-8")
    assert not holds_run(run)
    with claim(run, CONFIG, resume=False):
        assert (run / LOCK).read_text() == str(os.getpid())
        assert holds_run(run)  # a live lock
    assert not holds_run(run)  # released on exit
    assert json.loads((run / SAVED_CONFIG).read_text("utf-8")) == CONFIG


@pytest.mark.parametrize("marker", ["checkpoints/", "model/", "metrics.json", "tokenizer/"])
def test_a_fresh_run_refuses_a_folder_that_holds_a_run(tmp_path, marker):
    run = started_run(tmp_path / "run", marker)
    assert refusal(run, CONFIG, False) == (
        f"{run}: this folder already holds a run ({marker}) "
        "(add resume=true to continue it, or pick another hydra.run.dir)"
    )


def test_a_live_lock_refuses_a_second_training_and_a_dead_one_does_not(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(run / LOCK)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.write(fd, str(os.getpid()).encode())\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert holds_run(run)
        assert refusal(run, CONFIG, False) == (
            f"{run}: a live training process (pid {holder.pid}) is using this folder "
            "(wait for it to finish, or pick another hydra.run.dir)"
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        holder.stdout.close()
    deadline = time.time() + 10
    while holds_run(run) and time.time() < deadline:
        time.sleep(0.05)
    assert (run / LOCK).is_file() and not holds_run(run)  # stale file, no live lock
    with claim(run, CONFIG, resume=False):
        pass


def test_ddp_ranks_above_zero_share_rank_zeros_folder(tmp_path):
    run = tmp_path / "run"
    with claim(run, CONFIG, resume=False, rank=0), claim(run, CONFIG, resume=False, rank=1):
        (run / "tokenizer").mkdir()  # rank 0 may write before rank 1 gets here
        with claim(run, CONFIG, resume=False, rank=1):
            assert holds_run(run)


def test_resume_refuses_a_changed_config_naming_the_keys(tmp_path):
    run = started_run(tmp_path / "run", "checkpoints/", "tokenizer/")
    changed = with_changes(trainer__learning_rate=0.1, seed=2, resume=True)
    assert refusal(run, changed, True) == (
        f"{run}: cannot resume with a different config: seed (1 -> 2), "
        "trainer.learning_rate (0.001 -> 0.1) (resume with the run's own settings, "
        "or start a fresh run: pick another hydra.run.dir)"
    )


def test_resume_accepts_changes_to_resume_safe_keys_only(tmp_path):
    run = started_run(tmp_path / "run", "checkpoints/")
    safe = with_changes(resume=True, tags=["x"], paths__output_dir="/y", trainer__eval_batch_size=8)
    with claim(run, safe, resume=True):
        pass
    # the saved config stays the one that started the run
    assert json.loads((run / SAVED_CONFIG).read_text("utf-8")) == CONFIG
    assert config_differences(CONFIG, safe) == []
    assert config_differences(CONFIG, with_changes(trainer__epochs=5)) == ["trainer.epochs"]


def test_resume_refuses_a_finished_run(tmp_path):
    run = started_run(tmp_path / "run", "checkpoints/", "model/", "metrics.json")
    assert refusal(run, CONFIG, True) == (
        f"{run}: this run has finished (metrics.json is there); nothing to resume "
        "(pick another hydra.run.dir for a new run)"
    )


def test_resume_from_another_run_needs_a_fresh_folder_and_the_same_config(tmp_path):
    source = started_run(tmp_path / "source", "checkpoints/")
    ckpt = source / "checkpoints" / "checkpoint-5"
    with claim(tmp_path / "new", CONFIG, resume=str(ckpt)):
        pass
    msg = refusal(tmp_path / "other", with_changes(seed=3), str(source))
    assert msg.startswith(f"{source}: cannot resume with a different config: seed (1 -> 3) (")
    used = started_run(tmp_path / "used", "model/")
    assert refusal(used, CONFIG, str(source)) == (
        f"{used}: this folder already holds a run (model/) (pick another hydra.run.dir)"
    )


def test_hydra_saves_its_config_only_into_a_folder_without_a_run(tmp_path, monkeypatch):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from araevent.config import hydra_subdir, register_resolvers
    from conftest import CONFIGS

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("train", return_hydra_config=True)
    GlobalHydra.instance().clear()
    run = tmp_path / "run"
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run)
    HydraConfig.instance().set_config(cfg)
    try:
        assert cfg.hydra.output_subdir == ".hydra"  # nothing there yet
        started_run(run, "checkpoints/")
        assert cfg.hydra.output_subdir is None  # a resumption or a refused run
        assert hydra_subdir("evaluate") == ".hydra"  # report folders are not runs
        monkeypatch.setenv("RANK", "1")
        (run / "checkpoints").rmdir()
        assert hydra_subdir("train") is None  # DDP ranks > 0 never write .hydra/
    finally:
        HydraConfig.instance().cfg = None


def test_a_run_folder_that_cannot_be_written_fails_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", "utf-8")
    run = blocker / "run"  # under a file: mkdir fails
    msg = refusal(run, CONFIG, False)
    assert msg.startswith(f"{run}: cannot write the run folder (")
    assert msg.endswith("(pick another hydra.run.dir)")
