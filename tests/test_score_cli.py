"""``araevent score GOLD PRED``: model-free scoring of two files and the report folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from araevent.cli import main
from conftest import write_jsonl

DATA = Path(__file__).parent / "data"
GOLD = DATA / "eval_gold.jsonl"
PRED = DATA / "eval_pred.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def metrics_of(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text("utf-8"))


def test_the_fixture_scores_as_worked_out_by_hand(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["score", str(GOLD), str(PRED), "--output", str(out), "--bootstrap", "200"]) == 0
    printed = capsys.readouterr().out
    assert "| entities | 40.0 | 40.0 | 40.0" in printed
    assert "3 documents, 9 gold spans scored" in printed
    m = metrics_of(out)
    # entities: gold 5, predicted 5; right: القاهرة (eval-001), بغداد (eval-002).
    # Wrong: «وأمريكا» for «أمريكا» (boundary), الشرطة PER for ORG (type), المتهم (spurious);
    # missed: أمريكا, الشرطة ORG, القاهرة inside «بالقاهرة» (eval-003).
    assert m["test/entities/span/precision"] == pytest.approx(2 / 5)
    assert m["test/entities/span/recall"] == pytest.approx(2 / 5)
    # triggers: all four found; انفجار typed Life:Die instead of Conflict:Attack
    assert m["test/triggers/identification/span/f1"] == 1.0
    assert m["test/triggers/classification/span/f1"] == pytest.approx(3 / 4)
    # overall: TP 5, FP 4, FN 4
    assert m["test/overall/span/f1"] == pytest.approx(5 / 9)
    # every span is on unit boundaries (the proclitic rule splits و and ب), so seqeval agrees
    assert m["test/overall/seqeval_strict/f1"] == pytest.approx(5 / 9)
    assert m["counts"]["test"]["gold_spans"] == 9
    assert m["counts"]["test"]["gold_spans_off_units"] == 0
    assert m["counts"]["test"]["entities/boundary_errors"] == 1
    assert m["errors"]["test"]["entities"] == {
        "false_negative": 3,
        "false_negative/boundary": 1,
        "false_negative/false_negative": 1,
        "false_negative/type_confusion": 1,
        "false_positive": 3,
        "false_positive/boundary": 1,
        "false_positive/false_positive": 1,
        "false_positive/type_confusion": 1,
    }
    for key in ("versions", "git_commit", "data_hashes", "config", "run", "per_type", "confusion"):
        assert key in m
    assert len(m["data_hashes"]) == 2
    json.dumps(m, allow_nan=False)  # strict JSON: no NaN anywhere


def test_the_report_folder_is_complete(tmp_path):
    out = tmp_path / "report"
    assert main(["score", str(GOLD), str(PRED), "-o", str(out), "--bootstrap", "0"]) == 0
    for name in (
        "metrics.json",
        "report.md",
        "predictions.jsonl",
        "errors.jsonl",
        "confusion_entities.png",
        "confusion_triggers.png",
    ):
        assert (out / name).is_file(), name
    assert (out / "confusion_entities.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text("utf-8")
    assert "| entities | 40.0 | 40.0 | 40.0 |" in report
    assert "9 gold spans scored" in report
    assert "![entities confusion](confusion_entities.png)" in report
    errors = read_jsonl(out / "errors.jsonl")
    assert len(errors) == 8  # 3 + 3 entity errors, 1 + 1 trigger errors
    boundary = next(e for e in errors if e["kind"] == "boundary" and e["error"] == "false_positive")
    assert boundary["text"] == "وأمريكا"
    assert boundary["gold"] == [{"start": 39, "end": 45, "label": "GPE", "text": "أمريكا"}]
    assert boundary["left_context"].endswith("في القاهرة ")
    assert boundary["right_context"] == " تراقب."
    for e in errors:
        assert e["kind"] in ("false_positive", "false_negative", "boundary", "type_confusion")
        assert len(e["left_context"]) <= 40 and len(e["right_context"]) <= 40
    # predictions.jsonl is re-scorable and keeps unknown keys
    preds = read_jsonl(out / "predictions.jsonl")
    assert preds[0]["source"] == "hand-built"
    again = tmp_path / "again"
    assert (
        main(
            [
                "score",
                str(GOLD),
                str(out / "predictions.jsonl"),
                "-o",
                str(again),
                "--bootstrap",
                "0",
            ]
        )
        == 0
    )
    a, b = metrics_of(out), metrics_of(again)
    assert {k: v for k, v in a.items() if "/" in k} == {k: v for k, v in b.items() if "/" in k}


def test_a_file_scored_against_itself_gives_one_everywhere(tmp_path, capsys):
    assert main(["score", str(GOLD), str(GOLD), "-o", str(tmp_path), "--bootstrap", "100"]) == 0
    m = metrics_of(tmp_path)
    scores = {
        k: v
        for k, v in m.items()
        if k.rsplit("/", 1)[-1]
        in ("precision", "recall", "f1", "macro_f1", "weighted_f1", "f1_ci_low", "f1_ci_high")
    }
    assert len(scores) == 4 * 19
    assert all(v == 1.0 for v in scores.values())
    assert read_jsonl(tmp_path / "errors.jsonl") == []


def test_an_empty_prediction_gives_recall_zero(tmp_path, capsys):
    docs = read_jsonl(GOLD)
    empty = write_jsonl(
        tmp_path / "empty.jsonl",
        [{**d, "predicted_entities": [], "predicted_triggers": []} for d in docs],
    )
    out = tmp_path / "out"
    assert main(["score", str(GOLD), str(empty), "-o", str(out)]) == 0
    m = metrics_of(out)
    assert m["test/overall/span/recall"] == 0.0
    assert m["test/overall/seqeval_strict/recall"] == 0.0
    assert m["test/overall/span/f1_ci_high"] == 0.0
    assert m["counts"]["test"]["predicted_spans"] == 0
    assert len(read_jsonl(out / "errors.jsonl")) == 9


def test_entities_and_triggers_are_the_prediction_without_predicted_keys(tmp_path, capsys):
    docs = read_jsonl(PRED)
    plain = [
        {
            "id": d["id"],
            "text": d["text"],
            "entities": d["predicted_entities"],
            "triggers": d["predicted_triggers"],
        }
        for d in docs
    ]
    path = write_jsonl(tmp_path / "plain.jsonl", plain)
    assert main(["score", str(GOLD), str(path), "-o", str(tmp_path / "a"), "--bootstrap", "0"]) == 0
    assert main(["score", str(GOLD), str(PRED), "-o", str(tmp_path / "b"), "--bootstrap", "0"]) == 0
    a, b = metrics_of(tmp_path / "a"), metrics_of(tmp_path / "b")
    assert {k: v for k, v in a.items() if "/" in k} == {k: v for k, v in b.items() if "/" in k}


def test_missing_and_extra_ids_are_errors_that_name_them(tmp_path, capsys):
    docs = read_jsonl(PRED)
    fewer = write_jsonl(tmp_path / "fewer.jsonl", docs[:2])
    assert main(["score", str(GOLD), str(fewer)]) == 1
    err = capsys.readouterr().err
    assert "eval-003" in err and "missing" in err and len(err.strip().splitlines()) == 1
    renamed = write_jsonl(tmp_path / "renamed.jsonl", [*docs[:2], {**docs[2], "id": "other-9"}])
    assert main(["score", str(GOLD), str(renamed)]) == 1
    err = capsys.readouterr().err
    assert "'eval-003'" in err and "'other-9'" in err
    # --match order pairs by position instead
    assert main(["score", str(GOLD), str(renamed), "--match", "order", "--bootstrap", "0"]) == 0
    capsys.readouterr()
    changed = write_jsonl(
        tmp_path / "changed.jsonl", [*docs[:2], {**docs[2], "text": docs[2]["text"] + " "}]
    )
    assert main(["score", str(GOLD), str(changed)]) == 1
    assert "text differs" in capsys.readouterr().err


def test_bad_predicted_spans_and_bad_options_fail_in_one_line(tmp_path, capsys):
    docs = read_jsonl(PRED)
    bad = [dict(d) for d in docs]
    bad[1]["predicted_entities"] = [{"start": 7, "end": 13, "label": "PER", "text": "خطأ"}]
    path = write_jsonl(tmp_path / "bad.jsonl", bad)
    assert main(["score", str(GOLD), str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "eval-002" in err and "predicted_entities[0]" in err and "\n" not in err
    assert main(["score", str(GOLD), str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["score", str(GOLD), str(PRED), "--labels", "ace2005", "--bootstrap", "0"]) == 0
    capsys.readouterr()
    assert main(["score", str(GOLD), str(PRED), "--labels", "nope"]) == 2
    assert "unknown label set" in capsys.readouterr().err


def test_without_output_only_the_table_is_printed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["score", str(GOLD), str(PRED), "--split", "dev", "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| dev | span P |")
    assert list(tmp_path.iterdir()) == []


def overlapping_prediction(tmp_path: Path) -> Path:
    """PRED with «القاهرة» predicted twice in eval-001: as GPE and inside «في القاهرة»."""
    docs = read_jsonl(PRED)
    docs[0]["predicted_entities"].append({"start": 27, "end": 37, "label": "GPE"})
    return write_jsonl(tmp_path / "overlap.jsonl", docs)


def test_overlapping_predicted_spans_are_an_error_or_follow_nested(tmp_path, capsys):
    path = overlapping_prediction(tmp_path)
    assert main(["score", str(GOLD), str(path), "--bootstrap", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"araevent score: {path}:1: eval-001: predicted_entities overlap: "
        "[27, 37) GPE and [30, 37) GPE (remove one, or keep one: --nested outer|inner)"
    )
    # --nested inner keeps «القاهرة»: the same scores as without the extra span, and the
    # dropped span is counted and reported
    out = tmp_path / "inner"
    args = ["--bootstrap", "0", "--nested", "inner", "-o", str(out)]
    assert main(["score", str(GOLD), str(path), *args]) == 0
    printed = capsys.readouterr().out
    assert "1 overlapping predicted spans dropped by --nested inner (not scored)" in printed
    m = metrics_of(out)
    assert m["counts"]["test"]["predicted_nested_dropped/entities"] == 1
    assert m["counts"]["test"]["predicted_nested_dropped/triggers"] == 0
    assert m["test/entities/span/precision"] == pytest.approx(2 / 5)
    assert m["test/entities/seqeval_strict/precision"] == pytest.approx(2 / 5)
    report = (out / "report.md").read_text("utf-8")
    assert "overlapping predicted spans dropped (not scored): entities 1" in report
    assert main(["score", str(GOLD), str(path), "--bootstrap", "0", "--nested", "outer"]) == 0
    assert "1 overlapping predicted spans dropped by --nested outer" in capsys.readouterr().out


def test_output_onto_a_file_or_under_one_fails_in_one_line_before_scoring(tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me", "utf-8")
    for out, why in ((taken, "a file is there"), (taken / "report", "is a file, not a folder")):
        assert main(["score", str(GOLD), str(PRED), "-o", str(out), "--bootstrap", "0"]) == 2
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert (
            err.startswith(f"araevent score: --output {out}: ") and why in err and "\n" not in err
        )
        assert "Traceback" not in err and captured.out == ""  # refused before scoring
    assert taken.read_text("utf-8") == "keep me"


def test_an_unwritable_output_folder_fails_in_one_line(tmp_path, capsys, monkeypatch):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real(p, mode))
    out = locked / "sub" / "report"
    assert main(["score", str(GOLD), str(PRED), "-o", str(out), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"araevent score: --output {out}: {locked} is not writable (choose a writable folder)"
    )
    assert list(locked.iterdir()) == []


def test_a_report_that_fails_half_way_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    from araevent import reporting

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reporting, "plot_confusion", disk_full)
    new = tmp_path / "new"
    assert main(["score", str(GOLD), str(PRED), "-o", str(new), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"araevent score: cannot write the report folder {new}: No space left on device "
        "(choose a writable folder)"
    )
    assert not new.exists()
    old = tmp_path / "old"
    old.mkdir()
    (old / "metrics.json").write_text("{}", "utf-8")
    assert main(["score", str(GOLD), str(PRED), "-o", str(old), "--bootstrap", "0"]) == 2
    assert [p.name for p in old.iterdir()] == ["metrics.json"]  # no staging folder either
    assert (old / "metrics.json").read_text("utf-8") == "{}"


def test_only_the_layers_with_spans_are_shown(tmp_path, capsys):
    docs = [{k: v for k, v in d.items() if "triggers" not in k} for d in read_jsonl(PRED)]
    gold = write_jsonl(tmp_path / "gold.jsonl", [{**d, "triggers": []} for d in read_jsonl(GOLD)])
    pred = write_jsonl(tmp_path / "pred.jsonl", docs)
    out = tmp_path / "report"
    assert main(["score", str(gold), str(pred), "-o", str(out), "--bootstrap", "0"]) == 0
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text("utf-8")
    for text in (printed, report):
        assert "| entities | 40.0 | 40.0 | 40.0" in text
        assert "| triggers/" not in text and "| overall |" not in text
    assert "triggers/classification per type" not in report
    assert "| triggers | false positive" not in report
    m = metrics_of(out)
    assert m["run"]["layers"] == ["entities"]
    assert "test/overall/span/f1" in m and "test/triggers/classification/span/f1" in m
    # both layers: every view, overall included
    assert main(["score", str(GOLD), str(PRED), "--bootstrap", "0"]) == 0
    assert "| overall |" in capsys.readouterr().out


def test_gold_with_corpus_tokens_gets_the_token_level_column(tmp_path, capsys):
    gold = read_jsonl(GOLD)
    for d in gold:  # whitespace tokens, as a CoNLL corpus has: «وأمريكا», «بالقاهرة.»
        d["tokens"] = [[m.start(), m.end()] for m in re.finditer(r"\S+", d["text"])]
    g = write_jsonl(tmp_path / "gold.jsonl", gold)
    out = tmp_path / "report"
    assert main(["score", str(g), str(PRED), "-o", str(out), "--bootstrap", "0"]) == 0
    printed = capsys.readouterr().out
    assert "tokens strict F1" in printed.splitlines()[0]
    assert "the number comparable with published results on this corpus" in printed
    m = metrics_of(out)
    c = m["counts"]["test"]
    assert c["tokens"] == sum(len(d["tokens"]) for d in gold)
    # gold «أمريكا» and «القاهرة» lie inside the tokens «وأمريكا» and «بالقاهرة.»
    assert c["tokens/entities/gold_widened"] == 2
    assert c["tokens/entities/predicted_widened"] == 0
    # over the tokens «وأمريكا» is right: TP 3, FP 2 (PER الشرطة, المتهم), FN 2
    assert m["test/entities/seqeval_strict_tokens/f1"] == pytest.approx(6 / 10)
    assert m["test/entities/span/f1"] == pytest.approx(2 / 5)
    report = (out / "report.md").read_text("utf-8")
    assert "this is the number comparable with published results" in report
    # the same files without tokens: no token column
    assert main(["score", str(GOLD), str(PRED), "--bootstrap", "0"]) == 0
    assert "tokens strict F1" not in capsys.readouterr().out


ARGS_GOLD = DATA / "args_gold.jsonl"
ARGS_PRED = DATA / "args_pred.jsonl"


def test_arguments_gold_against_gold_score_100_in_both_views(capsys):
    assert main(["score", str(ARGS_GOLD), str(ARGS_GOLD), "--bootstrap", "0"]) == 0
    printed = capsys.readouterr().out
    for row in ("identification", "classification"):
        assert f"| {row} | 100.0 | 100.0 | 100.0 | 13 |" in printed
        assert f"| {row}, strict (trigger span too) | 100.0 | 100.0 | 100.0 | 13 |" in printed
    assert "Protocol: OneIE / ACE: an argument is identified when" in printed


def test_arguments_of_a_hand_made_prediction_score_as_counted_by_hand(tmp_path, capsys):
    # the counts are worked out document by document in
    # tests/test_argument_scoring.py::test_the_hand_made_files_score_as_counted_by_hand
    out = tmp_path / "report"
    argv = ["score", str(ARGS_GOLD), str(ARGS_PRED), "--output", str(out), "--bootstrap", "100"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| identification | 83.3 | 76.9 | 80.0 (" in printed
    assert "| classification, strict (trigger span too) | 50.0 | 46.2 | 48.0 (" in printed
    m = metrics_of(out)
    expected = {
        "identification/span": (10, 12, 13),
        "classification/span": (9, 12, 13),
        "identification/strict": (7, 12, 13),
        "classification/strict": (6, 12, 13),
    }
    for view, (tp, n_pred, n_gold) in expected.items():
        key = f"test/arguments/{view}"
        assert m[f"{key}/precision"] == pytest.approx(tp / n_pred)
        assert m[f"{key}/recall"] == pytest.approx(tp / n_gold)
        assert m[f"{key}/f1"] == pytest.approx(2 * tp / (n_pred + n_gold))
        assert m[f"{key}/support"] == n_gold
        assert m[f"{key}/f1_ci_low"] <= m[f"{key}/f1"] <= m[f"{key}/f1_ci_high"]
    assert m["errors"]["test"]["arguments"] == {
        "missed": 2,
        "spurious": 1,
        "wrong_role": 1,
        "wrong_span": 1,
    }
    errors = [r for r in read_jsonl(out / "errors.jsonl") if r["layer"] == "arguments"]
    assert [(r["id"], r["error"], r["text"], r["role"], r["trigger"]["text"]) for r in errors] == [
        ("arg-a", "wrong_role", "ثلاثة جنود", "Victim", "قتل"),
        ("arg-a", "wrong_span", "يوم الأحد", "Time-Within", "قتل"),
        ("arg-b", "missed", "مسلحون", "Attacker", "هاجموا"),
        ("arg-c", "missed", "الشرطة", "Agent", "اعتقلت"),
        ("arg-d", "spurious", "المنفذ", "Artifact", "فر"),
    ]
    assert [(p["text"], p["role"]) for p in errors[0]["predicted"]] == [("ثلاثة جنود", "Agent")]
    assert [p["text"] for p in errors[1]["predicted"]] == ["الأحد"]
    report = (out / "report.md").read_text("utf-8")
    assert "### test: arguments\n" in report
    assert "Protocol: OneIE / ACE: " in report
    assert "Only gold triggers annotated for arguments (5) count towards argument recall" in report
    assert "gold triggers not annotated for arguments: 1." in report
    assert "| Place | 100.0 | 100.0 | 100.0 | 66.7 | 66.7 | 66.7 | 3 |" in report
    assert "| errors | 2 | 1 | 1 | 1 |" in report
    # predictions.jsonl keeps the predicted arguments, and re-scores to the same numbers
    rows = read_jsonl(out / "predictions.jsonl")
    assert [a["text"] for a in rows[3]["predicted_triggers"][2]["arguments"]] == ["المنفذ"]
    again = tmp_path / "again"
    assert main(["score", str(ARGS_GOLD), str(out / "predictions.jsonl"), "-o", str(again)]) == 0
    for view in expected:
        key = f"test/arguments/{view}/f1"
        assert metrics_of(again)[key] == m[key]


def test_files_without_arguments_have_no_argument_keys_rows_or_errors(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["score", str(GOLD), str(PRED), "--output", str(out), "--bootstrap", "0"]) == 0
    printed = capsys.readouterr().out
    assert "argument" not in printed.replace(str(out), "").lower()
    m = metrics_of(out)
    assert [k for k in m if "arguments" in k] == []
    assert [k for k in m["counts"]["test"] if "arguments" in k] == []
    assert "arguments" not in m["errors"]["test"]
    report = (out / "report.md").read_text("utf-8")
    assert "argument" not in report.lower()
