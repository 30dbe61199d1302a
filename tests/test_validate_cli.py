"""`araevent validate`, `convert` and `build-sample` through araevent.cli.main."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from araevent.cli import main
from araevent.formats import load_documents, read_documents

DATA = Path(__file__).parent / "data"
DOCS = DATA / "fmt_docs.jsonl"
AQMAR = Path(__file__).resolve().parents[2] / "shared/data/aqmar/AQMAR_Arabic_NER_corpus-1.0.txt"
TAG_FIX = "a tag is O, B-LABEL or I-LABEL"
OK = {
    "id": "d1",
    "text": "زار الوزير بيروت",
    "entities": [{"start": 11, "end": 16, "label": "GPE"}],
}


def jl(*objs) -> bytes:
    return b"".join(
        (o if isinstance(o, bytes) else json.dumps(o, ensure_ascii=False).encode()) + b"\n"
        for o in objs
    )


def doc(**kw):
    base = {"id": "d2", "text": "اجتمع الوزراء في القاهرة", "entities": [], "triggers": []}
    return {**base, **kw}


def ent(start, end, label="GPE", **kw):
    return {"start": start, "end": end, "label": label, **kw}


# name: (file name, content, extra args, line, doc id, what is wrong, the fix)
BAD = {
    "invalid_json": (
        "bad.jsonl",
        jl(OK) + '{"id": "d2", "text": "نص", "entities": [}\n'.encode(),
        [],
        2,
        "d2",
        "invalid JSON",
        "one complete JSON object",
    ),
    "missing_text_key": (
        "bad.jsonl",
        jl(OK, {"id": "d2", "entities": []}),
        [],
        2,
        "d2",
        "document has no 'text'",
        "every document needs its raw text as a string",
    ),
    "missing_span_key": (
        "bad.jsonl",
        jl(OK, doc(entities=[{"start": 17, "end": 24}])),
        [],
        2,
        "d2",
        "entities[0] has no 'label'",
        "every span needs start, end and label",
    ),
    "mistyped_offset": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent("17", 24)])),
        [],
        2,
        "d2",
        "entities[0].start is '17'",
        "offsets are integer code-point indices",
    ),
    "mistyped_layer": (
        "bad.jsonl",
        jl(OK, doc(triggers={"start": 0})),
        [],
        2,
        "d2",
        "triggers is dict, not a list",
        "triggers is a list of span objects",
    ),
    "offsets_out_of_range": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent(17, 99)])),
        [],
        2,
        "d2",
        "[17, 99) out of range for a text of 24",
        "end-exclusive code points",
    ),
    "start_not_before_end": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent(20, 17)])),
        [],
        2,
        "d2",
        "[20, 17) start >= end",
        "end-exclusive code points",
    ),
    "span_text_mismatch": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent(17, 24, text="بيروت")])),
        [],
        2,
        "d2",
        "text 'بيروت' != text[17:24] 'القاهرة'",
        "fix the offsets or the span text",
    ),
    "crossing_in_one_layer": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent(6, 16, "LOC"), ent(14, 24)])),
        [],
        2,
        "d2",
        "entities spans cross: [6, 16) LOC and [14, 24) GPE",
        "--nested outer|inner",
    ),
    "overlap_in_one_layer_with_nested_error": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent(14, 24, "LOC"), ent(17, 24)])),
        ["--nested", "error"],
        2,
        "d2",
        "entities overlap: [14, 24) LOC and [17, 24) GPE",
        "--nested outer",
    ),
    "label_outside_ace2005": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent(17, 24, "CITY")])),
        ["--labels", "ace2005"],
        2,
        "d2",
        "'CITY' is not in the ace2005 label set",
        "use --labels any",
    ),
    "malformed_label": (
        "bad.jsonl",
        jl(OK, doc(entities=[ent(17, 24, "MIS1`")])),
        [],
        2,
        "d2",
        "label 'MIS1`' is malformed",
        "labels match",
    ),
    "empty_text": (
        "bad.jsonl",
        jl(OK, doc(text="  ")),
        [],
        2,
        "d2",
        "text is empty",
        "remove the document or give it text",
    ),
    "non_utf8_bytes": (
        "bad.jsonl",
        jl(OK) + b'{"id": "d2", "text": "\xd9\x81\xff"}\n',
        [],
        2,
        "d2",
        "line is not UTF-8: byte 0xff",
        "re-save the file as UTF-8",
    ),
    "duplicate_id": (
        "bad.jsonl",
        jl(OK, doc(id="d1")),
        [],
        2,
        "d1",
        "duplicate document id 'd1', first seen at",
        "unique id",
    ),
    "conll_wrong_columns": (
        "bad.conll",
        "زار O\nبيروت B-GPE\n\nفي O\nالقاهرة B-GPE extra\n".encode(),
        [],
        5,
        "bad-2",
        "line has 3 columns, expected 2",
        "separate the token and each tag",
    ),
    "conll_non_utf8_bytes": (
        "bad.conll",
        "زار O\n\nفي O\n".encode() + b"\xd9 B-GPE\n",
        [],
        4,
        "bad-2",
        "line is not UTF-8: byte 0xd9",
        "re-save the file as UTF-8",
    ),
    "conll_tag_OO": (
        "bad.conll",
        "زار O\n\nفي OO\nالقاهرة B-GPE\n".encode(),
        [],
        3,
        "bad-2",
        "malformed tag 'OO'",
        TAG_FIX,
    ),
    "conll_tag_IO": (
        "bad.conll",
        "زار O\n\nفي IO\nالقاهرة B-GPE\n".encode(),
        [],
        3,
        "bad-2",
        "malformed tag 'IO'",
        TAG_FIX,
    ),
    "conll_tag_I--ORG": (
        "bad.conll",
        "زار O\n\nمنظمة B-ORG\nالصحة I--ORG\n".encode(),
        [],
        4,
        "bad-2",
        "malformed tag 'I--ORG'",
        TAG_FIX,
    ),
    "conll_tag_B-MIS1`": (
        "bad.conll",
        "زار O\n\nكأس B-MIS1`\n".encode(),
        [],
        3,
        "bad-2",
        "malformed tag 'B-MIS1`'",
        TAG_FIX,
    ),
    "conll_orphan_I": (
        "bad.conll",
        "زار O\n\nفي O\nالقاهرة I-GPE\n".encode(),
        [],
        4,
        "bad-2",
        "tag 'I-GPE' (entities) continues nothing: it follows 'O'",
        "--repair",
    ),
    "conll_label_outside_ace2005": (
        "bad.conll",
        "زار O\n\nفي O\nالقاهرة B-CITY\n".encode(),
        ["--labels", "ace2005"],
        4,
        "bad-2",
        "'CITY' is not in the ace2005 label set",
        "use --labels any",
    ),
    "brat_discontinuous": (
        "bad.ann",
        "T1\tGPE 0 3\tزار\nT2\tPER 4 6;7 10\tال وز\n".encode(),
        [],
        2,
        "bad",
        "T2 is a discontinuous span",
        "split it into separate T lines",
    ),
    "brat_text_mismatch": (
        "bad.ann",
        "T1\tGPE 11 16\tدمشق\n".encode(),
        [],
        1,
        "bad",
        "T1 text 'دمشق' != .txt[11:16] 'بيروت'",
        "fix the offsets or the span text",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_named_and_convert_writes_nothing(case, tmp_path, capsys):
    name, content, extra, line, doc_id, what, fix = BAD[case]
    path = tmp_path / name
    path.write_bytes(content)
    if name.endswith(".ann"):
        (tmp_path / "bad.txt").write_text("زار الوزير بيروت", encoding="utf-8")
    assert main(["validate", str(path), *extra]) == 1
    err = capsys.readouterr().err
    hits = [x for x in err.splitlines() if x.startswith(f"{path}:{line}: {doc_id}: ")]
    assert any(what in x and fix in x for x in hits), err
    assert "Traceback" not in err

    out = tmp_path / "out"
    for to in ("jsonl", "conll", "brat"):
        assert main(["convert", str(path), str(out), "--to", to, *extra]) == 1
        err = capsys.readouterr().err
        assert any(what in x for x in err.splitlines() if x.startswith(f"{path}:{line}: "))
        assert "nothing written" in err
        assert not out.exists()
    assert {p.name for p in tmp_path.iterdir()} <= {name, "bad.txt"}


def test_clean_file_prints_the_table_and_exits_0(capsys):
    assert main(["validate", str(DOCS), "--labels", "ace2005"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    table = dict(re.split(r"\s{2,}", x.strip(), maxsplit=1) for x in out.splitlines())
    assert table["documents"] == "6"
    assert table["entities spans"] == "10" and table["GPE"] == "7"
    assert table["triggers spans"] == "5" and table["Contact:Meet"] == "1"
    assert table["spans off unit boundaries"] == "0"
    assert table["errors"] == "0"
    assert table["longest document (units)"].endswith("fmt-006")


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["validate", str(DOCS), "--labels", "ace2099"])
    assert info.value.code == 2
    (tmp_path / "x.csv").write_text("a")
    assert main(["validate", str(tmp_path / "x.csv")]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["validate", str(DOCS), "--known-words", str(tmp_path / "nope.txt")]) == 2
    capsys.readouterr()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["convert", str(DOCS), str(blocker / "out.jsonl"), "--to", "jsonl"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_spans_off_unit_boundaries_are_listed_and_exit_1(tmp_path, capsys):
    f = tmp_path / "off.jsonl"
    f.write_bytes(jl({"id": "o1", "text": "abc def", "entities": [ent(1, 3, "X")]}))
    assert main(["validate", str(f)]) == 1
    out, err = capsys.readouterr()
    assert re.search(r"spans off unit boundaries\s+1", out)
    assert f"{f}:1: o1: entities span [1, 3) X «bc»: starts inside unit «abc» (" in err


def test_known_words_file_moves_a_split(tmp_path, capsys):
    # «كزيدون» is in nobody's list; listed as a known stem it makes «و|كزيدون» split (rule 3)
    f = tmp_path / "k.jsonl"
    f.write_bytes(jl({"id": "k", "text": "زار وكزيدون"}))
    words = tmp_path / "words.txt"
    words.write_text("# extra\nكزيدون\n", encoding="utf-8")
    assert main(["validate", str(f)]) == 0
    assert re.search(r"^units\s+2$", capsys.readouterr().out, re.M)
    assert main(["validate", str(f), "--known-words", str(words)]) == 0
    assert re.search(r"^units\s+3$", capsys.readouterr().out, re.M)


def test_nested_outer_and_inner_counts(tmp_path, capsys):
    f = tmp_path / "n.jsonl"
    f.write_bytes(jl(doc(text="جامعة القاهرة", entities=[ent(0, 13, "ORG"), ent(6, 13)])))
    assert main(["validate", str(f)]) == 0  # properly nested: valid by default
    out = capsys.readouterr().out
    assert re.search(r"nested span pairs\s+1", out)
    assert re.search(r"nested spans dropped \(keep\)\s+0", out)
    assert re.search(r"nested spans not in the tags\s+1  \(IOB2 holds the outer", out)
    assert re.search(r"  ORG\s+1", out) and re.search(r"  GPE\s+1", out)
    assert main(["validate", str(f), "--nested", "error"]) == 1
    assert "entities overlap" in capsys.readouterr().err
    assert main(["validate", str(f), "--nested", "outer"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"nested span pairs\s+1", out)
    assert re.search(r"nested spans dropped \(outer\)\s+1", out)
    assert re.search(r"  ORG\s+1", out) and "GPE" not in out
    assert main(["validate", str(f), "--nested", "inner"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"nested spans dropped \(inner\)\s+1", out)
    assert re.search(r"  GPE\s+1", out) and "ORG" not in out


def test_repair_turns_orphan_i_into_b_and_counts(tmp_path, capsys):
    f = tmp_path / "r.conll"
    f.write_text("في O\nالقاهرة I-GPE\nو O\nدمشق I-GPE\n", encoding="utf-8")
    assert main(["validate", str(f), "--repair"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"I- tags continuing nothing\s+2", out)
    assert re.search(r"repaired to B-\s+2", out)
    assert re.search(r"  GPE\s+2", out)
    out_file = tmp_path / "r.jsonl"
    assert main(["convert", str(f), str(out_file), "--to", "jsonl", "--repair"]) == 0
    capsys.readouterr()
    assert [s.label for s in load_documents(out_file)[0].entities] == ["GPE", "GPE"]


def test_brat_unimported_lines_are_counted_and_noted(capsys):
    assert main(["validate", str(DATA / "fmt_brat")]) == 0
    out = capsys.readouterr().out
    assert "brat event arguments not imported" not in out
    assert re.search(r"\narguments\s+2\n  Attacker\s+1\n  Place\s+1\n", out)
    assert re.search(r"brat relations not imported\s+1", out)
    assert re.search(r"brat attributes not imported\s+1", out)
    assert re.search(r"brat normalizations not imported\s+1", out)
    assert re.search(r"brat notes not imported\s+1", out)
    assert "note: " in out and "not imported" in out


def test_collisions_and_units_empty_after_normalisation(tmp_path, capsys):
    f = tmp_path / "c.jsonl"
    text = "هجوم ـ \u200f بغداد"
    f.write_bytes(
        jl(
            {
                "id": "c",
                "text": text,
                "entities": [ent(0, 4, "X")],
                "triggers": [ent(0, 4, "Conflict:Attack")],
            }
        )
    )
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"entity/trigger collisions\s+1", out)
    assert re.search(r"units empty after normalisation\s+2\s+\(fed as \[UNK\]\)", out)
    assert re.search(r"units\s+4", out)


def test_layers_option_reads_one_layer(capsys):
    assert main(["validate", str(DOCS), "--layers", "triggers"]) == 0
    out = capsys.readouterr().out
    assert "entities spans" not in out and re.search(r"triggers spans\s+5", out)


# --- convert ------------------------------------------------------------------------


def test_convert_between_all_formats(tmp_path, capsys):
    assert main(["convert", str(DOCS), str(tmp_path / "b"), "--to", "brat"]) == 0
    assert main(["convert", str(tmp_path / "b"), str(tmp_path / "c.jsonl"), "--to", "jsonl"]) == 0
    assert (
        main(["convert", str(tmp_path / "c.jsonl"), str(tmp_path / "d.conll"), "--to", "conll"])
        == 0
    )
    assert "wrote 6 documents" in capsys.readouterr().out
    original = {d.id: d for d in load_documents(DOCS)}
    via_brat = {d.id: d for d in load_documents(tmp_path / "c.jsonl")}
    assert {k: (d.text, d.entities, d.triggers) for k, d in via_brat.items()} == {
        k: (d.text, d.entities, d.triggers) for k, d in original.items()
    }
    conll = read_documents(tmp_path / "d.conll")
    assert conll.errors == [] and len(conll.documents) == 6
    assert sum(len(d.entities) for d in conll.documents) == 10
    assert sum(len(d.triggers) for d in conll.documents) == 5


def test_convert_to_conll_refuses_spans_off_unit_boundaries(tmp_path, capsys):
    f = tmp_path / "off.jsonl"
    f.write_bytes(jl({"id": "o1", "text": "abc def", "entities": [ent(1, 3, "X")]}))
    assert main(["convert", str(f), str(tmp_path / "o.conll"), "--to", "conll"]) == 1
    assert "o1: entities span [1, 3) X «bc»: starts inside unit «abc»" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["off.jsonl"]


def test_convert_reads_a_single_tag_column_as_triggers(tmp_path, capsys):
    f = tmp_path / "t.conll"
    f.write_text("انفجرت B-Conflict:Attack\nعبوة O\n", encoding="utf-8")
    out = tmp_path / "t.jsonl"
    assert main(["convert", str(f), str(out), "--to", "jsonl", "--layers", "triggers"]) == 0
    capsys.readouterr()
    (d,) = load_documents(out)
    assert d.entities == [] and [s.label for s in d.triggers] == ["Conflict:Attack"]


# --- build-sample ---------------------------------------------------------------------


def test_build_sample_builds_and_checks(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "train").mkdir(parents=True)
    (src / "dev").mkdir()
    (src / "train" / "a.txt").write_text("[التقى]{Contact:Meet} وزير في [القاهرة]{GPE}\n", "utf-8")
    (src / "dev" / "a.txt").write_text("# comment\nزار و[روسيا]{GPE}\n", "utf-8")
    out = tmp_path / "out"
    args = ["build-sample", "--src", str(src), "--out", str(out)]
    assert main(args) == 0
    (dev,) = load_documents(out / "dev.jsonl")
    assert dev.id == "dev-a-001" and dev.text[dev.entities[0].start :] == "روسيا"
    assert main([*args, "--check"]) == 0
    capsys.readouterr()
    (src / "dev" / "a.txt").write_text("زار و[روسيا]{GPE} أمس\n", "utf-8")
    assert main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "split dev:" in err and "split train" not in err
    assert main(["build-sample", "--src", str(tmp_path / "nope")]) == 2


# --- a real external file ---------------------------------------------------------------


@pytest.mark.skipif(not AQMAR.is_file(), reason="../shared/data/aqmar is not here")
def test_aqmar_corpus_every_malformed_and_orphan_line_named(capsys):
    lines = AQMAR.read_text(encoding="utf-8").split("\n")
    malformed, orphans = set(), set()
    prev = None  # previous tag in the sentence
    for n, line in enumerate(lines, start=1):
        cols = line.split()
        if not cols:
            prev = None
            continue
        tag = cols[-1]
        if tag in ("OO", "IO", "I--ORG", "B-MIS1`"):
            malformed.add(n)
        elif (
            tag.startswith("I-")
            and prev not in ("OO", "IO", "I--ORG", "B-MIS1`")  # no second error after a bad tag
            and (prev is None or prev == "O" or prev[2:] != tag[2:])
        ):
            orphans.add(n)
        prev = tag
    assert len(malformed) == 4 and len(orphans) > 10

    r = read_documents(AQMAR, "conll")
    assert r.stats["sentences"] == 2687
    assert r.stats["tokens"] == 73853
    assert r.stats["orphan_i"] == len(orphans)

    assert main(["validate", "--format", "conll", str(AQMAR)]) == 1
    out, err = capsys.readouterr()
    assert re.search(r"sentences \(CoNLL\)\s+2687", out)
    named = {int(m.group(1)) for m in re.finditer(rf"^{re.escape(str(AQMAR))}:(\d+): ", err, re.M)}
    bad_tag_lines = {
        int(m.group(1))
        for m in re.finditer(rf"^{re.escape(str(AQMAR))}:(\d+): .*: malformed tag ", err, re.M)
    }
    orphan_lines = {
        int(m.group(1))
        for m in re.finditer(rf"^{re.escape(str(AQMAR))}:(\d+): .*continues nothing", err, re.M)
    }
    assert bad_tag_lines == malformed
    assert orphan_lines == orphans
    assert named == malformed | orphans
    assert "Traceback" not in err

    repaired = read_documents(AQMAR, "conll", repair=True)
    assert repaired.stats["repaired_i"] == len(orphans)
    assert {e.line for e in repaired.errors} == malformed


def test_model_option_splits_with_the_model_s_own_known_words(tmp_path, capsys):
    # the file's own span vocabulary knows «كزيدون», so «و|كزيدون» splits; a model
    # trained without it keeps «وكزيدون» whole and can never predict the span
    f = tmp_path / "m.jsonl"
    f.write_bytes(jl({"id": "m", "text": "زار وكزيدون", "entities": [ent(5, 11, "PER")]}))
    model = tmp_path / "run" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}", encoding="utf-8")
    (model / "known_words.txt").write_text("زار\n", encoding="utf-8")
    assert main(["validate", str(f)]) == 0
    capsys.readouterr()
    assert main(["validate", str(f), "--model", str(tmp_path / "run")]) == 1
    out, err = capsys.readouterr()
    assert re.search(r"spans off unit boundaries\s+1", out)
    assert f"{f}:1: m: entities span [5, 11) PER «كزيدون»: starts inside unit «وكزيدون» (" in err
    (model / "known_words.txt").write_text("كزيدون\n", encoding="utf-8")
    assert main(["validate", str(f), "--model", str(model)]) == 0
    capsys.readouterr()
    assert main(["validate", str(f), "--model", str(tmp_path)]) == 2
    assert "is neither a model folder nor a run folder" in capsys.readouterr().err
    words = tmp_path / "w.txt"
    words.write_text("كزيدون\n", encoding="utf-8")
    assert main(["validate", str(f), "--model", str(model), "--known-words", str(words)]) == 2
    assert "--known-words and --model exclude each other" in capsys.readouterr().err
