"""``araevent robustness``: the report folder on the tiny model, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from araevent.cli import main
from araevent.robustness import ARGUMENTS, measure
from araevent.schema import Argument, Document, Span
from araevent.text import DIACRITICS, TATWEEL
from conftest import sample_docs, write_jsonl

VIEWS = ("entities", "triggers/identification", "triggers/classification")


@pytest.fixture(scope="module")
def plain_input(tmp_path_factory) -> Path:
    """Eight sample documents with no diacritic and no tatweel."""
    docs = [
        d for d in sample_docs("dev") if not any(c in DIACRITICS or c == TATWEEL for c in d["text"])
    ][:8]
    assert len(docs) == 8
    return write_jsonl(tmp_path_factory.mktemp("in") / "test.jsonl", docs)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines()]


def run(*args: str) -> int:
    return main(["robustness", *args])


def test_report_folder_and_the_perturbations_the_normalisation_neutralises(
    tiny_run, plain_input, tmp_path, capsys
):
    out = tmp_path / "report"
    names = "diacritics_strip,diacritics_add,tatweel,hamza"
    code = run(
        "--model", str(tiny_run), "--input", str(plain_input), "--output", str(out),
        "--perturb", names, "--bootstrap", "50", "--seed", "3",
    )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "araevent robustness: hamza (rate 1): ΔF1 in points: entities" in err
    assert sorted(p.name for p in out.iterdir()) == [
        "corpora",
        "metrics.json",
        "report.md",
        "robustness.png",
    ]
    assert sorted(p.name for p in (out / "corpora").iterdir()) == [
        f"{n}.jsonl" for n in sorted(["clean", *names.split(",")])
    ]
    assert (out / "robustness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = json.loads((out / "metrics.json").read_text("utf-8"))
    for view in VIEWS:
        clean = m[f"robustness/clean/{view}/span/f1"]
        for name in names.split(","):
            assert f"robustness/{name}/{view}/span/delta_ci_low" in m
        # no diacritic to strip: the very same corpus
        assert m[f"robustness/diacritics_strip/{view}/span/delta"] == 0.0
        # diacritics and tatweel are stripped per unit: the model sees the same input
        for name in ("diacritics_add", "tatweel"):
            assert m[f"robustness/{name}/{view}/span/f1"] == clean
            assert m[f"robustness/{name}/{view}/span/delta"] == 0.0
    assert m["counts"]["diacritics_strip"].get("documents_changed", 0) == 0
    assert m["counts"]["diacritics_add"]["documents_changed"] == 8
    assert m["counts"]["tatweel"]["changed/entities"] > 0
    assert m["rates"] == {
        "diacritics_strip": 1.0,
        "diacritics_add": 0.3,
        "tatweel": 0.2,
        "hamza": 1.0,
    }
    # the perturbed corpus carries its gold spans: each span's text is in the new text
    added = read_jsonl(out / "corpora/diacritics_add.jsonl")
    clean_docs = read_jsonl(plain_input)
    assert [d["id"] for d in added] == [d["id"] for d in clean_docs]
    for new, old in zip(added, clean_docs, strict=True):
        assert "".join(c for c in new["text"] if c not in DIACRITICS) == old["text"]
        for s in new["entities"]:
            assert new["text"][s["start"] : s["end"]] == s["text"]
        assert [s["label"] for s in new["entities"]] == [s["label"] for s in old["entities"]]
        assert "predicted_entities" in new
    report = (out / "report.md").read_text("utf-8")
    sections = [line for line in report.splitlines() if line.startswith("## ")]
    assert sections[0].startswith("## ΔF1 in points") and sections[1:] == [f"## {v}" for v in VIEWS]
    assert "| tatweel | 0.2 | 0.0 [0.0, 0.0] | 0.0 [0.0, 0.0] | 0.0 [0.0, 0.0] |" in report


def test_refusals_are_one_line_and_write_nothing(tiny_run, plain_input, tmp_path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("x")
    base = ["--model", str(tiny_run), "--input", str(plain_input)]
    assert run(*base, "--output", str(full)) == 2
    assert capsys.readouterr().err == (
        f"araevent robustness: --output {full}: the folder is not empty (choose a new folder, "
        "or --overwrite to replace the report files in it)\n"
    )
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    out = tmp_path / "new"
    assert run(*base, "--output", str(out), "--perturb", "hamza,nope") == 2
    assert "--perturb hamza,nope: unknown perturbation nope; choose all or any of" in (
        capsys.readouterr().err
    )
    assert run(*base, "--output", str(out), "--rate", "2") == 2
    assert "--rate 2.0: give a probability between 0 and 1" in capsys.readouterr().err
    assert run(*base, "--output", str(out), "--bootstrap", "0") == 2
    assert "--bootstrap 0: give 1 or more resamples" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "text": "نص", "entities": [{"start": 0, "end": 9, "label": "X"}]}\n'
    )
    assert run("--model", str(tiny_run), "--input", str(bad), "--output", str(out)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"araevent robustness: {bad}:1: a: entities[0] [0, 9) out of range")
    assert len(err.splitlines()) == 1
    assert not out.exists()
    # --overwrite writes the report into the non-empty folder and leaves other files alone
    assert run(*base, "--output", str(full), "--overwrite", "--perturb", "punctuation") == 0
    assert sorted(p.name for p in full.iterdir()) == [
        "corpora",
        "keep.txt",
        "metrics.json",
        "report.md",
        "robustness.png",
    ]
    assert sorted(p.name for p in (full / "corpora").iterdir()) == [
        "clean.jsonl",
        "punctuation.jsonl",
    ]


def test_arguments_are_scored_when_gold_and_prediction_carry_them():
    text = "قصف الطيران حلب"
    trig = Span(0, 3, "Conflict:Attack", arguments=(Argument(12, 15, "Place"),))
    doc = Document("d", text, [Span(12, 15, "GPE")], [trig])

    def predict(docs):  # a perfect system, on the clean and the perturbed text alike
        return [{"entities": list(d.entities), "triggers": list(d.triggers)} for d in docs]

    res = measure(predict, [doc], ["tatweel"], list(VIEWS), rate=1.0, bootstrap=20)
    assert res.views == [*VIEWS, ARGUMENTS]
    row = next(r for r in res.rows if r.view == ARGUMENTS)
    assert (row.f1_clean, row.f1_perturbed, row.delta, row.changed) == (1.0, 1.0, 0.0, 1)
    assert np.isclose(res.clean[ARGUMENTS], 1.0)
