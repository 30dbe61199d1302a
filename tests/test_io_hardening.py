"""Bad input to the readers and writers: one clear line and a non-zero exit, or a correct result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from araevent.cli import main
from araevent.errors import DataError
from araevent.formats import load_documents, read_documents
from araevent.schema import Document, Span
from araevent.text import Unit, split_units
from araevent.writing import conll_text, write_documents

ROOT = Path(__file__).resolve().parents[1]
TEXT = "زار الرئيس القاهرة"


def line(**kw) -> str:
    return json.dumps({"id": "a", "text": TEXT, **kw}, ensure_ascii=False)


def one_error(path: Path) -> str:
    r = read_documents(path)
    assert r.documents == [] and len(r.errors) == 1, r.errors
    return str(r.errors[0])


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- JSONL ------------------------------------------------------------------------


def test_lone_surrogate_is_rejected_with_line_and_column(tmp_path, capsys):
    f = tmp_path / "s.jsonl"
    good = line(id="ok")
    bad = '{"id": "b", "text": "زار \\ud800"}'
    f.write_text(good + "\n" + bad + "\n", encoding="utf-8")
    r = read_documents(f)
    assert [d.id for d in r.documents] == ["ok"] and len(r.errors) == 1
    col = bad.index("\\ud800") + 1
    assert str(r.errors[0]).startswith(
        f"{f}:2: b: a string holds a lone surrogate (an unpaired \\uD800-\\uDFFF escape) "
        f"at column {col} ("
    )
    # a surrogate pair is one character, and an escaped backslash is no escape at all
    f.write_text(
        line(text="زار \\ud83d\\udd25 القاهرة").replace("\\\\", "\\") + "\n"
        + json.dumps({"id": "c", "text": "a \\ud800 b"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    r = read_documents(f)
    assert r.errors == [] and [d.text for d in r.documents] == ["زار 🔥 القاهرة", "a \\ud800 b"]
    # convert refuses it as one line with exit 1 instead of crashing on the write
    f.write_text(bad + "\n", encoding="utf-8")
    code, out, err = cli(["convert", str(f), str(tmp_path / "o.conll"), "--to", "conll"], capsys)
    assert code == 1 and "lone surrogate" in err and "Traceback" not in err
    assert not (tmp_path / "o.conll").exists()


def test_non_numeric_score_is_an_error_not_a_crash(tmp_path, capsys):
    f = tmp_path / "score.jsonl"
    span = {"start": 11, "end": 18, "label": "GPE", "score": "high"}
    f.write_text(line(entities=[span]) + "\n", encoding="utf-8")
    assert one_error(f).startswith(
        f"{f}:1: a: entities[0].score is 'high', not a number (a score is a finite number"
    )
    f.write_text(line(entities=[{**span, "score": float("nan")}]) + "\n", encoding="utf-8")
    assert "entities[0].score is nan, not a number" in one_error(f)
    f.write_text(line(entities=[{**span, "score": 0.25}]) + "\n", encoding="utf-8")
    assert load_documents(f)[0].entities[0].score == 0.25
    assert cli(["validate", str(f)], capsys)[0] == 0


def test_deeply_nested_json_is_one_line_not_a_recursion_error(tmp_path, capsys):
    f = tmp_path / "deep.jsonl"
    deep = '{"id": "d", "text": "نص", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
    f.write_text(deep + "\n", encoding="utf-8")
    assert one_error(f).startswith(f"{f}:1: d: JSON nested more than 100 levels deep (")
    shallow = '{"id": "d", "text": "نص", "meta": ' + "[" * 150 + "]" * 150 + "}"
    f.write_text(shallow + "\n", encoding="utf-8")
    assert "JSON nested more than 100 levels deep" in one_error(f)
    code, _, err = cli(["validate", str(f)], capsys)
    assert code == 1 and "Traceback" not in err


def test_duplicate_json_key_is_an_error(tmp_path):
    f = tmp_path / "dup.jsonl"
    f.write_text(line(entities=[])[:-1] + ', "entities": []}\n', encoding="utf-8")
    assert one_error(f) == (
        f"{f}:1: a: key 'entities' appears twice in one object (give each key once)"
    )


def test_empty_files_say_no_documents_and_fail(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    docstart = tmp_path / "only.conll"
    docstart.write_text("-DOCSTART- O\n\n", encoding="utf-8")
    for f in (empty, docstart):
        msg = one_error(f)
        assert msg.startswith(f"{f}: no documents (")
        code, _, err = cli(["validate", str(f)], capsys)
        assert code == 1 and f"{f}: no documents (" in err
    with pytest.raises(DataError, match="no documents"):
        load_documents(empty)


# --- brat ---------------------------------------------------------------------------


def test_brat_duplicate_ids_are_an_error_naming_both_lines(tmp_path):
    (tmp_path / "x.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "x.ann").write_text(
        "T1\tPER 4 10\tالرئيس\nT2\tGPE 11 18\tالقاهرة\nT1\tGPE 11 18\tالقاهرة\n",
        encoding="utf-8",
    )
    r = read_documents(tmp_path)
    assert r.documents == [] and [str(e) for e in r.errors] == [
        f"{tmp_path / 'x.ann'}:3: x: annotation id T1 is given twice: lines 1 and 3 "
        "(give every T and E line its own id)"
    ]


# --- nested spans: counted wherever they are dropped --------------------------------


def test_convert_nested_outer_counts_what_it_drops(tmp_path, capsys):
    src = ROOT / "data/sample/test.jsonl"
    nested = read_documents(src, nested="outer").stats["dropped_nested"]
    assert nested > 0
    out = tmp_path / "t.conll"
    code, _, err = cli(
        ["convert", str(src), str(out), "--to", "conll", "--nested", "outer"], capsys
    )
    assert code == 0
    assert (
        f"araevent convert: {nested} nested spans dropped (--nested outer keeps one span of "
        "each overlapping pair)" in err
    )
    # without a policy the nested pairs cannot be CoNLL tags: refused, nothing written
    code, _, err = cli(["convert", str(src), str(tmp_path / "u.conll"), "--to", "conll"], capsys)
    assert code == 1 and "overlap" in err and "--nested outer|inner" in err
    assert not (tmp_path / "u.conll").exists()
    # --layers drops a layer: counted too
    code, _, err = cli(
        ["convert", str(src), str(tmp_path / "e.jsonl"), "--to", "jsonl", "--layers", "triggers"],
        capsys,
    )
    triggers_only = read_documents(src, layers=("triggers",)).stats["dropped_layer"]
    assert code == 0 and triggers_only > 0
    assert f"araevent convert: {triggers_only} spans dropped (their layer is not" in err


def test_sample_corpus_validates_clean_with_default_flags(capsys):
    paths = sorted(str(p) for p in (ROOT / "data/sample").glob("*.jsonl"))
    code, out, err = cli(["validate", "--labels", "ace2005", *paths], capsys)
    assert code == 0, err
    pairs = int(re.search(r"nested span pairs\s+(\d+)", out).group(1))
    untagged = int(re.search(r"nested spans not in the tags\s+(\d+)", out).group(1))
    assert pairs > 0 and untagged == pairs  # each nested pair: the inner span is not tagged


# --- brat output ----------------------------------------------------------------------


def test_convert_to_brat_refuses_a_folder_with_documents(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(line(entities=[{"start": 11, "end": 18, "label": "GPE"}]) + "\n", "utf-8")
    out = tmp_path / "brat"
    out.mkdir()
    (out / "old.txt").write_text("قديم", encoding="utf-8")
    (out / "old.ann").write_text("", encoding="utf-8")
    code, _, err = cli(["convert", str(src), str(out), "--to", "brat"], capsys)
    assert code == 2 and "is not empty" in err and "--overwrite" in err
    assert sorted(p.name for p in out.iterdir()) == ["old.ann", "old.txt"]
    code, _, _ = cli(["convert", str(src), str(out), "--to", "brat", "--overwrite"], capsys)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "a.ann",
        "a.txt",
        "annotation.conf",
        "old.ann",
        "old.txt",
    ]
    assert (out / "old.txt").read_text(encoding="utf-8") == "قديم"
    # predict refuses the same folder before it loads any model
    code, _, err = cli(
        ["predict", "--model", str(tmp_path / "no-model"), "--input", str(src), "--format",
         "brat", "--output", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 2 and "is not empty" in err and "--overwrite" in err


# --- CoNLL: tokens as given, stable round trips -------------------------------------


def test_conll_reader_keeps_tokens_and_the_writer_is_stable(tmp_path):
    text = "للتواصل مع الوزارة"
    doc = Document("t", text, [Span(11, 18, "ORG")])
    first = conll_text([doc])
    lines1 = [ln.split()[0] for ln in first.splitlines() if ln]
    assert lines1 == [u.text for u in split_units(text)]  # the proclitic rule's units
    assert lines1[:2] == ["ل", "لتواصل"]
    (tmp_path / "a.conll").write_text(first, encoding="utf-8")
    back = load_documents(tmp_path / "a.conll")[0]
    assert back.extra["tokens"] == [[0, 1], [2, 8], [9, 11], [12, 19]]
    assert [back.text[a:b] for a, b in back.extra["tokens"]] == lines1
    second = conll_text([back])
    assert second == first  # the tokens are units as given: no second proclitic split
    # JSONL keeps them as a top-level "tokens" key, and CoNLL again is the same
    write_documents([back], tmp_path / "b.jsonl", "jsonl")
    row = json.loads((tmp_path / "b.jsonl").read_text(encoding="utf-8"))
    assert row["tokens"] == back.extra["tokens"]
    again = load_documents(tmp_path / "b.jsonl")[0]
    write_documents([again], tmp_path / "c.conll", "conll")
    assert (tmp_path / "c.conll").read_text(encoding="utf-8") == first


def test_conll_writer_takes_units_from_the_caller():
    text = "للتواصل مع الوزارة"
    doc = Document("t", text, [Span(11, 18, "ORG")])
    whole = [u for u in split_units(text) if u.text not in ("ل", "لتواصل")]
    units = [Unit(0, 7, "للتواصل"), *whole]
    out = conll_text([doc], units=[units])
    assert out.splitlines()[:2] == ["للتواصل O", "مع O"]
    with pytest.raises(DataError, match="is in no unit"):
        conll_text([doc], units=[whole])


def test_bad_tokens_key_is_an_error(tmp_path):
    f = tmp_path / "tok.jsonl"
    f.write_text(line(tokens=[[0, 3], [2, 10]]) + "\n", encoding="utf-8")
    assert one_error(f).startswith(f"{f}:1: a: tokens[1] [2, 10) is out of order")


def test_score_reports_the_spans_its_nested_policy_drops(tmp_path, capsys):
    src = ROOT / "data/sample/test.jsonl"
    dropped = read_documents(src, nested="outer").stats["dropped_nested"]
    code, _, err = cli(["score", str(src), str(src), "--nested", "outer"], capsys)
    assert code == 0
    for name in ("gold", "predictions"):
        assert f"araevent score: {name}: {dropped} nested spans dropped (--nested outer" in err


def test_the_same_span_twice_is_an_error(tmp_path):
    f = tmp_path / "twice.jsonl"
    span = {"start": 11, "end": 18, "label": "GPE"}
    f.write_text(line(entities=[span, span]) + "\n", encoding="utf-8")
    assert one_error(f) == (
        f"{f}:1: a: entities span [11, 18) GPE is given twice (remove one of them)"
    )
    assert [s.key for s in load_documents(f, nested="outer")[0].entities] == [(11, 18, "GPE")]
