"""Shared fixtures: compose the real Hydra configs and shrink them (debug=tiny)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHARED = ROOT.parent / "shared"


def pytest_configure(config):
    # Nothing in the tests may reach the Hub; an offline from_pretrained fails fast.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def compose(config_name: str = "train", overrides: list[str] | None = None):
    """Compose ``configs/<config_name>.yaml`` as the entrypoint would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from araevent.config import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = hydra_compose(config_name, overrides=overrides or [])
    GlobalHydra.instance().clear()
    return cfg


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
    return path


def sample_docs(split: str, n: int | None = None) -> list[dict]:
    lines = (ROOT / "data/sample" / f"{split}.jsonl").read_text("utf-8").splitlines()
    docs = [json.loads(x) for x in lines if x.strip()]
    return docs[:n] if n else docs


@pytest.fixture(scope="session")
def fixture_corpus(tmp_path_factory) -> Path:
    """40 bundled training documents as train, dev (the same) and test splits."""
    d = tmp_path_factory.mktemp("corpus")
    docs = sample_docs("train", 40)
    for split in ("train", "dev"):
        write_jsonl(d / f"{split}.jsonl", docs)
    write_jsonl(d / "test.jsonl", sample_docs("dev", 20))
    return d


def debug_overrides(corpus: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        "debug=tiny",
        f"data.dir={corpus}",
        f"paths.output_dir={run_dir}",
        *extra,
    ]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, fixture_corpus) -> Path:
    """One debug training run shared by the tests that need a trained model folder."""
    from araevent.config import train_job
    from araevent.training import train

    run_dir = tmp_path_factory.mktemp("run")
    cfg = compose("train", debug_overrides(fixture_corpus, run_dir))
    train(train_job(cfg, run_dir))
    return run_dir
