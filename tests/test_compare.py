"""``araevent compare``: one table over runs grouped by configuration, and a paired bootstrap."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from araevent.cli import main
from araevent.compare import DOC_COUNTS_FILE, write_doc_counts
from araevent.evaluation import layer_tags, score
from araevent.formats import load_documents
from araevent.pairing import corpus_units
from araevent.reporting import write_json, write_predictions
from araevent.schema import Span

GOLD = Path(__file__).parent / "data" / "eval_gold.jsonl"


def noisy(docs, keep: float, seed: int) -> list[dict[str, list[Span]]]:
    """A prediction that keeps each gold span with probability ``keep`` (repeated 8 times)."""
    rng = random.Random(seed)
    return [
        {
            layer: [s for s in getattr(d, layer) if rng.random() < keep]
            for layer in ("entities", "triggers")
        }
        for d in docs
    ]


@pytest.fixture(scope="module")
def gold():
    docs = load_documents([GOLD])
    # 24 documents: the fixture's 3, eight times over, with distinct ids
    from araevent.schema import Document

    return [Document(f"{d.id}-{k}", d.text, d.entities, d.triggers) for k in range(8) for d in docs]


def make_run(
    folder: Path, gold, *, seed: int, lr: float, keep: float, tags=None, counts: bool = True
) -> Path:
    """A run folder shaped like train.py's: metrics.json with config and test scores.

    ``tags``: the model's own tags per document (seqeval scores them, as in training);
    ``counts=False``: a folder from before doc_counts.json.
    """
    folder.mkdir(parents=True)
    preds = noisy(gold, keep, seed)
    units = corpus_units(gold)
    s = score(gold, preds, units, pred_tags=tags, prefix="test", bootstrap=0)
    config = {
        "task_name": "train",
        "seed": seed,
        "paths": {"output_dir": str(folder)},
        "model": {"name": "tiny"},
        "data": {"name": "sample"},
        "trainer": {"learning_rate": lr, "epochs": 3},
        "tags": [f"t{seed}"],
    }
    write_json(
        folder / "metrics.json",
        {**s.metrics, "counts": {"test": s.counts}, "run": {"seed": seed}, "config": config},
    )
    write_predictions(folder / "predictions.jsonl", gold, preds)
    if counts:
        write_doc_counts(folder, "test", gold, s)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory, gold) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for seed in (1, 2, 3):
        make_run(root / f"good-{seed}", gold, seed=seed, lr=0.001, keep=0.9)
    for seed in (1, 2):
        make_run(root / f"bad-{seed}", gold, seed=seed, lr=0.1, keep=0.3)
    (root / "crashed").mkdir()  # no metrics.json: a glob skips it
    return root


def rows_of(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        if line.startswith("| ") and not line.startswith("| configuration"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_one_row_per_configuration_with_mean_and_std_over_seeds(runs, capsys):
    assert main(["compare", str(runs / "*")]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 folder(s) without metrics.json" in captured.err
    assert "crashed" in captured.err
    rows = rows_of(captured.out)
    assert set(rows) == {"trainer.learning_rate=0.001", "trainer.learning_rate=0.1"}
    good = rows["trainer.learning_rate=0.001"]
    assert good[:2] == ["3", "1, 2, 3"]
    values = [
        json.loads((runs / f"good-{s}" / "metrics.json").read_text("utf-8"))[
            "test/entities/span/f1"
        ]
        for s in (1, 2, 3)
    ]
    expected = f"{100 * np.mean(values):.1f} ± {100 * np.std(values, ddof=1):.1f}"
    assert good[2] == expected
    assert rows["trainer.learning_rate=0.1"][:2] == ["2", "1, 2"]
    assert len(good) == 2 + 6  # runs, seeds, 6 F1 columns


def test_explicit_folders_and_metrics_files_work_and_an_extra_metric_is_a_column(runs, capsys):
    args = [str(runs / "good-1"), str(runs / "good-2" / "metrics.json")]
    assert main(["compare", *args, "--metric", "test/overall/seqeval_strict/f1"]) == 0
    out = capsys.readouterr().out
    assert "overall/seqeval_strict/f1" in out
    rows = rows_of(out)
    assert list(rows) == ["model.name=tiny data.name=sample"]
    assert len(rows["model.name=tiny data.name=sample"]) == 2 + 7
    assert main(["compare", str(runs / "crashed")]) == 2
    assert "no metrics.json" in capsys.readouterr().err
    assert main(["compare", str(runs / "nothing-*")]) == 2
    assert "matches nothing" in capsys.readouterr().err


def test_paired_bootstrap_between_two_named_configurations(runs, capsys):
    assert (
        main(
            [
                "compare",
                str(runs / "*"),
                "--baseline",
                "learning_rate=0.1",
                "--system",
                "trainer.learning_rate=0.001",
                "--bootstrap",
                "300",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Paired bootstrap"))
    assert "overall/span/f1" in line and "24 documents" in line
    p = float(line.rsplit("p = ", 1)[1].split()[0])
    assert p < 0.05
    # a configuration compared with itself is refused; one named by a run folder works
    assert (
        main(["compare", str(runs / "*"), "--baseline", str(runs / "good-1"), "--system", "0.001"])
        == 2
    )
    assert "both name" in capsys.readouterr().err


def test_same_predictions_give_no_difference(tmp_path, gold, capsys):
    make_run(tmp_path / "a-1", gold, seed=1, lr=0.01, keep=0.6)
    make_run(tmp_path / "b-1", gold, seed=1, lr=0.02, keep=0.6)  # same seed: same predictions
    assert (
        main(
            [
                "compare",
                str(tmp_path / "*"),
                "--baseline",
                "0.01",
                "--system",
                "0.02",
                "--metric",
                "triggers/classification/seqeval_strict/f1",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.splitlines()[-1]
    assert "Δ = +0.0" in line and "p = 1.0000" in line


def test_names_that_match_nothing_or_several_are_refused(runs, capsys):
    assert main(["compare", str(runs / "*"), "--baseline", "nope", "--system", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "names no configuration" in err and "trainer.learning_rate=0.001" in err
    assert main(["compare", str(runs / "*"), "--baseline", "trainer", "--system", "0.1"]) == 2
    assert "matches several" in capsys.readouterr().err
    assert main(["compare", str(runs / "*"), "--baseline", "0.1"]) == 2
    assert main(["compare", str(runs / "*"), "--split", "dev"]) == 2
    assert "--split" in capsys.readouterr().err


def paired_line(argv: list[str], capsys) -> str:
    assert main(["compare", *argv]) == 0
    return next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Paired"))


def test_the_strict_paired_test_uses_the_counts_the_scores_came_from(tmp_path, gold, capsys):
    units = corpus_units(gold)
    # the model's own tags are the gold entity tags: strict entity F1 100, noisy spans
    tags = [
        layer_tags(u, {"entities": d.entities, "triggers": d.triggers})["entities"]
        for u, d in zip(units, gold, strict=True)
    ]
    make_run(tmp_path / "a-1", gold, seed=1, lr=0.01, keep=0.5, tags=tags)
    make_run(tmp_path / "b-1", gold, seed=2, lr=0.02, keep=0.5)
    metric = "entities/seqeval_strict/f1"
    line = paired_line(
        [str(tmp_path / "*"), "--baseline", "0.02", "--system", "0.01", "--metric", metric],
        capsys,
    )
    reported = json.loads((tmp_path / "a-1" / "metrics.json").read_text("utf-8"))
    assert reported[f"test/{metric}"] == 1.0
    assert "system `trainer.learning_rate=0.01` 100.0 vs baseline" in line
    saved = json.loads((tmp_path / "a-1" / DOC_COUNTS_FILE).read_text("utf-8"))
    assert saved["split"] == "test" and saved["documents"] == [d.id for d in gold]
    assert sum(fp + fn for _, fp, fn in saved["counts"]["entities/seqeval_strict"]) == 0


def test_a_folder_without_doc_counts_is_tested_on_spans_only(tmp_path, gold, capsys):
    make_run(tmp_path / "a-1", gold, seed=1, lr=0.01, keep=0.9, counts=False)
    make_run(tmp_path / "b-1", gold, seed=2, lr=0.02, keep=0.3)
    runs = [str(tmp_path / "*"), "--baseline", "0.02", "--system", "0.01"]
    span = paired_line(runs, capsys)
    reported = json.loads((tmp_path / "a-1" / "metrics.json").read_text("utf-8"))
    f1 = f"{100 * reported['test/overall/span/f1']:.1f}"
    assert f"system `trainer.learning_rate=0.01` {f1} vs" in span
    assert main(["compare", *runs, "--metric", "overall/seqeval_strict/f1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"araevent compare: {tmp_path / 'a-1'} has no doc_counts.json: the strict paired"
    )
    assert "\n" not in err
