"""Readers and writers: JSONL, CoNLL, brat, Hub datasets; round trips and atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from araevent import formats as io
from araevent.errors import DataError, UsageError
from araevent.formats import (
    detect_format,
    load_documents,
    read_documents,
    read_many,
)
from araevent.schema import Document, Span
from araevent.text import KnownWords, span_vocabulary, split_units
from araevent.writing import write_documents

DATA = Path(__file__).parent / "data"
DOCS = DATA / "fmt_docs.jsonl"


def keys(spans):
    return sorted(s.key for s in spans)


def by_start(spans):
    return sorted(spans, key=lambda s: (s.start, s.end))


def corpus_known(docs):
    return KnownWords.shipped().union(span_vocabulary(docs))


def test_detect_format(tmp_path):
    assert detect_format("a.jsonl") == "jsonl"
    assert detect_format("a.JSON") == "jsonl"
    for name in ("a.conll", "a.txt", "a.tsv", "a.iob"):
        assert detect_format(name) == "conll"
    assert detect_format("a.ann") == "brat"
    assert detect_format(tmp_path) == "brat"
    with pytest.raises(UsageError, match="--format"):
        detect_format("a.csv")


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_documents(tmp_path / "nope.jsonl")


# --- JSONL ----------------------------------------------------------------------


def test_jsonl_reads_fixture_and_keeps_unknown_keys(tmp_path):
    r = read_documents(DOCS)
    assert r.errors == []
    assert [d.id for d in r.documents] == [f"fmt-00{i}" for i in range(1, 7)]
    assert r.locations["fmt-003"] == (str(DOCS), 3)
    last = r.documents[-1]
    assert last.extra == {
        "meta": {"source": "afp", "rank": 3, "tags": ["أمن", "العراق"]},
        "lang": "ar",
    }
    assert last.entities[0].extra == {"note": "checked"}
    out = tmp_path / "out.jsonl"
    write_documents(r.documents, out, "jsonl")
    original = [json.loads(x) for x in DOCS.read_text(encoding="utf-8").splitlines()]
    written = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert written == original  # unknown keys on documents and spans, untouched


def test_jsonl_collects_every_error_and_skips_blank_lines(tmp_path):
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(
        b'{"id": "a", "text": "\xd9\x81\xd9\x8a", "entities": []}\n'
        b"\n"
        b'{"id": "b", "text": "x", "entities": [{"start": 0, "end": 9, "label": "X"}]}\n'
        b'{"id": "c", "text": \n'
        b'{"id": "d", "text": "\xff"}\n'
        b'{"id": "e", "text": "ok"}\r\n'
    )
    r = read_documents(f)
    assert [d.id for d in r.documents] == ["a", "e"]
    assert [(e.line, e.doc_id) for e in r.errors] == [(3, "b"), (4, "c"), (5, "d")]


def test_utf8_bom_is_accepted(tmp_path):
    f = tmp_path / "bom.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + b'{"id": "a", "text": "abc"}\n')
    assert [d.id for d in read_documents(f).documents] == ["a"]


def test_duplicate_ids_name_both_places(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"id": "x", "text": "t"}\n{"id": "y", "text": "t"}\n{"id": "x", "text": "u"}\n')
    b.write_text('{"id": "y", "text": "t"}\n')
    r = read_many([a, b])
    assert [d.id for d in r.documents] == ["x", "y"]
    msgs = [str(e) for e in r.errors]
    assert msgs[0].startswith(f"{a}:3: x: duplicate document id 'x', first seen at {a}:1")
    assert msgs[1].startswith(f"{b}:1: y: duplicate document id 'y', first seen at {a}:2")
    assert all("unique id" in m for m in msgs)


def test_load_documents_raises_first_error_with_count(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"id": "a"}\n{"id": "b", "text": ""}\n{"id": "c", "text": 3}\n')
    with pytest.raises(DataError) as info:
        load_documents([f])
    msg = str(info.value)
    assert msg.startswith(f"{f}:1: a: document has no 'text'")
    assert msg.endswith("(and 2 more errors; run araevent validate)")
    assert info.value.line == 1 and info.value.doc_id == "a"
    assert load_documents(DOCS)[0].id == "fmt-001"  # one path works too


def test_nested_policies_keep_and_drop_counts(tmp_path):
    f = tmp_path / "nested.jsonl"
    text = "جامعة القاهرة"
    ents = [{"start": 0, "end": 13, "label": "ORG"}, {"start": 6, "end": 13, "label": "GPE"}]
    f.write_text(json.dumps({"id": "n", "text": text, "entities": ents}) + "\n")
    kept = read_documents(f)  # properly nested spans are valid data by default
    assert kept.errors == [] and kept.dropped == {}
    assert keys(kept.documents[0].entities) == [(0, 13, "ORG"), (6, 13, "GPE")]
    assert kept.stats["nested"] == 1
    err = read_documents(f, nested="error")
    assert err.documents == [] and "entities overlap" in str(err.errors[0])
    outer = read_documents(f, nested="outer")
    assert keys(outer.documents[0].entities) == [(0, 13, "ORG")]
    assert (outer.stats["nested"], outer.stats["dropped_nested"]) == (1, 1)
    assert outer.dropped == {"nested": 1}
    inner = read_documents(f, nested="inner")
    assert keys(inner.documents[0].entities) == [(6, 13, "GPE")]
    assert inner.stats["dropped_nested"] == 1
    assert load_documents(f, nested="inner").dropped == {"nested": 1}


def test_crossing_spans_are_an_error_naming_both(tmp_path):
    f = tmp_path / "crossing.jsonl"
    ents = [{"start": 0, "end": 9, "label": "ORG"}, {"start": 6, "end": 13, "label": "GPE"}]
    f.write_text(json.dumps({"id": "c", "text": "جامعة القاهرة", "entities": ents}) + "\n")
    r = read_documents(f)
    assert r.documents == [] and len(r.errors) == 1
    msg = str(r.errors[0])
    assert msg.startswith(f"{f}:1: c: entities spans cross: [0, 9) ORG and [6, 13) GPE (")
    assert "--nested outer|inner" in msg
    assert keys(read_documents(f, nested="outer").documents[0].entities) == [(0, 9, "ORG")]


def test_layers_and_label_set_options():
    r = read_documents(DOCS, layers=("triggers",), label_set="ace2005")
    assert r.errors == []
    assert all(d.entities == [] for d in r.documents)
    assert sum(len(d.triggers) for d in r.documents) == 5
    with pytest.raises(UsageError):
        read_documents(DOCS, layers=("events",))
    with pytest.raises(UsageError):
        read_documents(DOCS, label_set="ace2099")


# --- CoNLL ----------------------------------------------------------------------


def test_conll_sentences_are_documents():
    r = read_documents(DATA / "fmt_sentences.conll")
    assert r.errors == []
    assert r.stats["sentences"] == 2
    d1, d2 = r.documents
    assert (d1.id, d2.id) == ("fmt_sentences-1", "fmt_sentences-2")
    assert d1.text == "اتفقت مصر و روسيا على التعاون ."
    assert [(d1.text[s.start : s.end], s.label) for s in d1.entities] == [
        ("مصر", "GPE"),
        ("روسيا", "GPE"),
    ]
    assert [d2.text[s.start : s.end] for s in d2.entities] == ["لجنة الانتخابات المركزية"]
    assert r.locations["fmt_sentences-2"][1] == 9


def test_conll_docstart_joins_sentences_and_reads_two_columns():
    r = read_documents(DATA / "fmt_docstart.conll")
    assert r.errors == []
    assert r.stats["sentences"] == 3
    d1, d2 = r.documents
    assert d1.id == "fmt_docstart-1"
    assert d1.text == "اجتمع الوزراء ب القاهرة . وصل الرئيس إلى بيروت"
    assert [d1.text[s.start : s.end] for s in d1.entities] == ["القاهرة", "الرئيس", "بيروت"]
    assert [(d1.text[s.start : s.end], s.label) for s in d1.triggers] == [
        ("اجتمع", "Contact:Meet"),
        ("وصل", "Movement:Transport"),
    ]
    assert [s.label for s in d2.triggers] == ["Conflict:Attack"]


def test_conll_single_column_can_be_the_trigger_layer(tmp_path):
    f = tmp_path / "t.conll"
    f.write_text("انفجرت B-Conflict:Attack\nعبوة O\n")
    r = read_documents(f, conll_layers=("triggers",))
    assert r.documents[0].entities == []
    assert keys(r.documents[0].triggers) == [(0, 6, "Conflict:Attack")]


def test_conll_orphan_i_is_an_error_unless_repaired(tmp_path):
    f = tmp_path / "o.conll"
    f.write_text("أ I-PER\nب I-PER\nج O\nد I-LOC\n\nه B-PER\nو I-LOC\n")
    r = read_documents(f)
    assert r.documents == []
    assert [(e.line, e.doc_id) for e in r.errors] == [(1, "o-1"), (4, "o-1"), (7, "o-2")]
    assert "it follows the sentence start" in str(r.errors[0])
    assert "it follows 'B-PER'" in str(r.errors[2])
    assert all("--repair" in str(e) for e in r.errors)
    fixed = read_documents(f, repair=True)
    assert fixed.errors == []
    assert (fixed.stats["orphan_i"], fixed.stats["repaired_i"]) == (3, 3)
    assert [(s.start, s.end, s.label) for s in fixed.documents[0].entities] == [
        (0, 3, "PER"),
        (6, 7, "LOC"),
    ]
    assert [s.label for s in fixed.documents[1].entities] == ["PER", "LOC"]


def test_conll_writer_refuses_off_boundary_spans_and_writes_nothing(tmp_path):
    docs = load_documents(DOCS)
    docs.append(Document("odd", "abc def", [Span(1, 3, "X"), Span(4, 7, "Y")], [Span(0, 4, "Z")]))
    out = tmp_path / "out.conll"
    out.write_text("old\n")
    with pytest.raises(DataError) as info:
        write_documents(docs, out, "conll", known=corpus_known(docs))
    msg = str(info.value)
    assert msg.startswith("2 span(s) cannot be written as CoNLL tags")
    assert "odd: entities span [1, 3) X «bc»: starts inside unit «abc»" in msg
    assert "odd: triggers span [0, 4) Z «abc »: ends at whitespace, not at a unit edge" in msg
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.conll"]


def _expected_after_conll(doc, known):
    """Where each span must land in the CoNLL text: tokens are the units joined by one space."""
    units = split_units(doc.text, known)
    starts, pos = {}, 0
    ends = {}
    for u in units:
        starts[u.start], ends[u.end] = pos, pos + len(u.text)
        pos += len(u.text) + 1
    return {
        layer: sorted((starts[s.start], ends[s.end], s.label) for s in doc.layer(layer))
        for layer in ("entities", "triggers")
    }


def test_round_trip_jsonl_conll_jsonl(tmp_path):
    docs = load_documents(DOCS)
    known = corpus_known(docs)
    write_documents(docs, tmp_path / "a.conll", "conll", known=known)
    back = load_documents(tmp_path / "a.conll")
    assert len(back) == len(docs)
    for doc, new in zip(docs, back, strict=True):
        assert new.text == " ".join(u.text for u in split_units(doc.text, known))
        expected = _expected_after_conll(doc, known)
        assert keys(new.entities) == expected["entities"]
        assert keys(new.triggers) == expected["triggers"]
        # and the span texts are the same character for character, spaces aside
        assert [new.text[s.start : s.end].replace(" ", "") for s in by_start(new.entities)] == [
            doc.text[s.start : s.end].replace(" ", "") for s in by_start(doc.entities)
        ]
    write_documents(back, tmp_path / "b.jsonl", "jsonl")
    again = load_documents(tmp_path / "b.jsonl")
    assert [(d.text, keys(d.entities), keys(d.triggers)) for d in again] == [
        (d.text, keys(d.entities), keys(d.triggers)) for d in back
    ]


def test_conll_entities_only_written_when_no_triggers(tmp_path):
    docs = [Document("a", "زار بيروت", [Span(4, 9, "GPE")])]
    write_documents(docs, tmp_path / "a.conll", "conll")
    assert (tmp_path / "a.conll").read_text() == "زار O\nبيروت B-GPE\n\n"


# --- brat -----------------------------------------------------------------------


def test_brat_reader_triggers_entities_and_unimported_counts():
    r = read_documents(DATA / "fmt_brat")
    assert r.errors == []
    (doc,) = r.documents
    assert doc.id == "news1"
    assert [(doc.text[s.start : s.end], s.label) for s in doc.entities] == [
        ("مسلحون", "PER"),
        ("الموصل", "GPE"),
        ("مسؤول", "PER"),
    ]
    assert [(doc.text[s.start : s.end], s.label) for s in doc.triggers] == [
        ("هاجم", "Conflict:Attack"),
        ("الهجوم", "Conflict:Attack"),
        ("قتيلين", "Life:Die"),
    ]
    attack = doc.triggers[0]
    assert [(doc.text[x.start : x.end], x.role) for x in attack.arguments] == [
        ("مسلحون", "Attacker"),
        ("الموصل", "Place"),
    ]
    assert [t.arguments for t in doc.triggers[1:]] == [None, None]  # E lines without arguments
    assert r.stats["brat_unimported_argument"] == 0
    assert r.stats["brat_unimported_relation"] == 1
    assert r.stats["brat_unimported_attribute"] == 1
    assert r.stats["brat_unimported_normalization"] == 1
    assert r.stats["brat_unimported_note"] == 1
    (note,) = r.notes
    assert note.endswith(
        "not imported (araevent reads T spans, E triggers and their arguments only): "
        "1 attribute, 1 normalization, 1 note, 1 relation"
    )
    # one .ann (or its .txt) reads the same pair
    single = read_documents(DATA / "fmt_brat" / "news1.ann")
    assert keys(single.documents[0].triggers) == keys(doc.triggers)


def test_brat_problems_are_reported_by_line(tmp_path):
    (tmp_path / "d.txt").write_text("زار الرئيس بيروت", encoding="utf-8")
    (tmp_path / "d.ann").write_text(
        "T1\tGPE 11 16\tبيروت\n"
        "T2\tPER 4 6;7 10\tال رئي\n"
        "T3\tPER 4 10\tالوزير\n"
        "E1\tMovement:Transport:T9\n"
        "X1\tsomething\n",
        encoding="utf-8",
    )
    r = read_documents(tmp_path)
    assert r.documents == []
    got = {(e.line, e.reason.split(" ")[0]) for e in r.errors}
    assert got == {(2, "T2"), (3, "T3"), (4, "event"), (5, "unrecognised")}
    assert "not representable" in str(r.errors[0]) or any(
        "not representable" in str(e) for e in r.errors
    )
    assert all(e.path == str(tmp_path / "d.ann") and e.doc_id == "d" for e in r.errors)


def test_brat_txt_without_ann_and_empty_text(tmp_path):
    (tmp_path / "a.txt").write_text("نص", encoding="utf-8")
    (tmp_path / "b.txt").write_text("  ", encoding="utf-8")
    (tmp_path / "b.ann").write_text("", encoding="utf-8")
    r = read_documents(tmp_path)
    assert r.documents == []
    assert {e.doc_id for e in r.errors} == {"a", "b"}
    assert any("empty a.ann" in str(e) for e in r.errors)
    assert any("text is empty" in str(e) for e in r.errors)


def test_round_trip_jsonl_brat_jsonl_with_crlf(tmp_path):
    docs = load_documents(DOCS)
    crlf = "زار الرئيس\r\nبيروت أمس\r\n\r\nثم غادر إلى دمشق."
    docs.append(
        Document(
            "crlf",
            crlf,
            [
                Span(crlf.index("دمشق"), crlf.index("دمشق") + 4, "GPE"),
                Span(4, crlf.index("أمس") - 1, "X"),
            ],  # «الرئيس\r\nبيروت» crosses the CRLF
            [Span(0, 3, "Movement:Transport")],
        )
    )
    out = tmp_path / "brat"
    write_documents(docs, out, "brat")
    assert (out / "crlf.txt").read_bytes() == crlf.encode("utf-8")
    conf = (out / "annotation.conf").read_text(encoding="utf-8")
    assert "[entities]\nGPE\nORG\nPER\nX\n" in conf
    assert "Conflict:Attack" in conf.split("[events]")[1]
    ann = (out / "crlf.ann").read_text(encoding="utf-8")
    assert "T3\tMovement:Transport 0 3\tزار\nE1\tMovement:Transport:T3\n" in ann
    assert "T1\tX 4 17\tالرئيس  بيروت\n" in ann  # CR and LF shown as spaces
    back = read_documents(out)
    assert back.errors == []
    by_id = {d.id: d for d in back.documents}
    for doc in docs:
        new = by_id[doc.id]
        assert new.text == doc.text
        assert keys(new.entities) == keys(doc.entities)
        assert keys(new.triggers) == keys(doc.triggers)
    write_documents(back.documents, tmp_path / "back.jsonl", "jsonl")
    again = {d.id: d for d in load_documents(tmp_path / "back.jsonl")}
    assert keys(again["crlf"].entities) == keys(docs[-1].entities)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.jsonl", "brat"]


def test_brat_writer_refuses_a_folder_that_is_not_empty(tmp_path):
    docs = load_documents(DOCS)
    out = tmp_path / "brat"
    out.mkdir()
    (out / "mine.txt").write_text("نص", encoding="utf-8")
    (out / "mine.ann").write_text("T1\tX 0 2\tنص\n", encoding="utf-8")
    (out / "keep.py").write_text("x")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(UsageError, match=r"is not empty \(3 entries.*--overwrite"):
        write_documents(docs, out, "brat")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brat"]  # no temporary left
    # --overwrite writes into it: the files it writes are replaced, nothing else goes
    (out / f"{docs[0].id}.ann").write_text("stale", encoding="utf-8")
    write_documents(docs[:1], out, "brat", overwrite=True)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*before, "annotation.conf", f"{docs[0].id}.ann", f"{docs[0].id}.txt"])
    assert all((out / n).read_bytes() == b for n, b in before.items())
    assert (out / f"{docs[0].id}.ann").read_text(encoding="utf-8") != "stale"
    back = read_documents(out / f"{docs[0].id}.ann")
    assert keys(back.documents[0].entities) == keys(docs[0].entities)
    # an empty folder is used as it is
    empty = tmp_path / "empty"
    empty.mkdir()
    write_documents(docs[:1], empty, "brat")
    assert sorted(p.name for p in empty.iterdir()) == [
        "annotation.conf",
        f"{docs[0].id}.ann",
        f"{docs[0].id}.txt",
    ]


def test_jsonl_writer_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "o.jsonl"
    out.write_text("old\n")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(UsageError, match="cannot write .*disk full"):
        write_documents(load_documents(DOCS), out, "jsonl")
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["o.jsonl"]


def test_write_unknown_format():
    with pytest.raises(UsageError):
        write_documents([], "x.csv", "csv")


# --- Hugging Face datasets -------------------------------------------------------


def _settings(**hub):
    return SimpleNamespace(
        hub={
            "hub_name": "someone/arabic-ner",
            "hub_config": None,
            "revision": None,
            "tokens_column": "tokens",
            "tags_column": "ner_tags",
            **hub,
        },
        label_set="any",
        nested="error",
        layers=("entities", "triggers"),
        conll_layers=None,
    )


def test_hub_tokens_and_classlabel_tags(monkeypatch):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": datasets.List(datasets.ClassLabel(names=["O", "B-PER", "I-PER", "B-LOC"])),
        }
    )
    ds = datasets.Dataset.from_dict(
        {
            "tokens": [["زار", "محمد", "علي", "بيروت"], ["غادر", "سامي"]],
            "ner_tags": [[0, 1, 2, 3], [0, 1]],
        },
        features=features,
    )
    calls = []

    def fake(name, config, split, revision):
        calls.append((name, config, split, revision))
        return ds

    monkeypatch.setattr(datasets, "load_dataset", fake)
    docs = io.load_hub_split(_settings(), "validation")
    assert calls == [("someone/arabic-ner", None, "validation", None)]
    assert [d.id for d in docs] == ["validation-1", "validation-2"]
    assert docs[0].text == "زار محمد علي بيروت"
    assert [(docs[0].text[s.start : s.end], s.label) for s in docs[0].entities] == [
        ("محمد علي", "PER"),
        ("بيروت", "LOC"),
    ]


def test_hub_bad_tags_name_the_row(monkeypatch):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict(
        {"tokens": [["أ"], ["ب", "ج"]], "ner_tags": [["O"], ["O", "I-X"]]}
    )
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: ds)
    with pytest.raises(DataError) as info:
        io.load_hub_split(_settings(), "train")
    assert str(info.value).startswith("hf://someone/arabic-ner/train:2: train-2: tag 'I-X'")


def test_hub_document_schema_rows(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = [
        {
            "id": "a",
            "text": "زار بيروت",
            "entities": [{"start": 4, "end": 9, "label": "GPE", "text": "بيروت"}],
            "triggers": [],
        },
        {
            "id": "b",
            "text": "غادر",
            "entities": [{"start": 0, "end": 4, "label": "X", "text": None}],
            "triggers": [],
        },
    ]
    ds = datasets.Dataset.from_list(rows)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: ds)
    docs = io.load_hub_split(_settings(), "test")
    assert [(d.id, keys(d.entities)) for d in docs] == [
        ("a", [(4, 9, "GPE")]),
        ("b", [(0, 4, "X")]),
    ]


def test_hub_offline_is_one_clear_usage_error(monkeypatch):
    datasets = pytest.importorskip("datasets")

    def offline(*_a, **_k):
        raise ConnectionError(
            "Couldn't reach 'someone/arabic-ner' on the Hub (OfflineModeIsEnabled)"
        )

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(UsageError) as info:
        io.load_hub_split(_settings(), "train")
    msg = str(info.value)
    assert "'someone/arabic-ner'" in msg
    assert "data=jsonl data.dir=" in msg
    assert "\n" not in msg


def test_hub_offline_for_real():
    pytest.importorskip("datasets")
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        pytest.skip("needs HF_HUB_OFFLINE=1 (set by conftest)")
    with pytest.raises(UsageError, match="use local files instead"):
        io.load_hub_split(_settings(hub_name="araevent-test/does-not-exist"), "train")
