"""Every config composes to the values recorded before the configs were split into bases.

``tests/data/config_values.json`` holds, for each combination of groups the tests and
the README use, the resolved config (without ``hydra`` and the timestamped run folder).
It was written once from the configs as they stood before ``trainer/base.yaml``,
``model/pretrained.yaml`` and ``model/tiny-debug.yaml`` existed; a config change that
moves a value shows here as the combination and key that moved.
"""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, compose

RECORDED = ROOT / "tests/data/config_values.json"

MODELS = [
    "arabert-base",
    "arabert-large",
    "bert-mini-arabic",
    "camelbert-msa",
    "marbert",
    "tiny",
    "xlmr-base",
]
EXPERIMENTS = [
    ("arabert-ace", "data.dir=/d"),
    ("arabert-ace-entities", "data.dir=/d"),
    ("arabert-ace-triggers", "data.dir=/d"),
    ("arabert-ace2005", "data.ldc_root=/ldc"),
]
# (config name, overrides); ``data.dir``/``data.ldc_root`` stand for the user's data
COMBINATIONS: list[tuple[str, list[str]]] = [
    *(("train", [f"model={m}"]) for m in MODELS),
    ("train", ["trainer=cpu"]),
    ("train", ["trainer=gpu"]),
    ("train", ["data=sample"]),
    ("train", ["data=jsonl", "data.dir=/d"]),
    ("train", ["data=brat", "data.dir=/d"]),
    ("train", ["data=conll", "data.dir=/d"]),
    ("train", ["data=hub", "data.hub_name=org/set"]),
    ("train", ["data=ace2005", "data.ldc_root=/ldc"]),
    ("train", ["debug=tiny"]),
    ("train", ["debug=tiny", "data.dir=/d"]),
    ("train", ["debug=tiny", "trainer=gpu"]),
    ("train", ["debug=tiny", "trainer.epochs=1"]),
    ("train", ["debug=tiny", "data.layers=[entities]"]),
    ("train", ["debug=tiny", "model=arabert-base"]),
    *(("train", [f"experiment={e}", data]) for e, data in EXPERIMENTS),
    ("evaluate", ["model_path=m"]),
    ("evaluate", ["model_path=m", "data=jsonl", "data.dir=/d"]),
]


def key(name: str, overrides: list[str]) -> str:
    return " ".join([name, *overrides])


def resolved(name: str, overrides: list[str]) -> dict:
    cfg = compose(name, overrides)
    out = OmegaConf.to_container(cfg, resolve=False)
    out.get("paths", {}).pop("output_dir", None)  # a timestamp
    return json.loads(json.dumps(OmegaConf.to_container(OmegaConf.create(out), resolve=True)))


def flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def record() -> None:
    """Write the recorded values (run once, on the configs being preserved)."""
    values = {key(n, o): resolved(n, o) for n, o in COMBINATIONS}
    RECORDED.write_text(json.dumps(values, indent=1, sort_keys=True) + "\n", "utf-8")


@pytest.mark.parametrize("name,overrides", COMBINATIONS, ids=[key(*c) for c in COMBINATIONS])
def test_each_combination_composes_to_the_recorded_values(name, overrides):
    want = json.loads(RECORDED.read_text("utf-8"))[key(name, overrides)]
    got = flat(resolved(name, overrides))
    want = flat(want)
    # the one key allowed to move: the unused ``model.tiny`` block of a pretrained
    # encoder (``debug=tiny`` used to merge its sizes into it; now it sizes the tiny model)
    pretrained = bool(got.get("model.name_or_path"))
    drop = {k for k in set(got) | set(want) if pretrained and k.split(".")[:2] == ["model", "tiny"]}
    assert {k: v for k, v in got.items() if k not in drop} == {
        k: v for k, v in want.items() if k not in drop
    }


if __name__ == "__main__":
    record()
