"""Every reader: spans carry where they were read, and one span checker judges them."""

from __future__ import annotations

import json

import pytest

from araevent.formats import read_documents, read_labelstudio
from araevent.labels import get_label_set
from araevent.schema import Origin, Span, check_spans

TEXT = "زار محمد بيروت"  # محمد [4, 8), بيروت [9, 14)


def _jsonl(tmp_path, label):
    doc = {"id": "d", "text": TEXT, "entities": [{"start": 9, "end": 14, "label": label}]}
    path = tmp_path / "d.jsonl"
    path.write_text("\n" + json.dumps(doc, ensure_ascii=False) + "\n", "utf-8")
    return path, 2


def _conll(tmp_path, label):
    path = tmp_path / "d.conll"
    path.write_text(f"زار O\nمحمد O\nبيروت B-{label}\n", "utf-8")
    return path, 3


def _brat(tmp_path, label):
    (tmp_path / "d.txt").write_text(TEXT, "utf-8")
    (tmp_path / "d.ann").write_text(f"T1\tPER 4 8\tمحمد\nT2\t{label} 9 14\tبيروت\n", "utf-8")
    return tmp_path / "d.ann", 2


def _labelstudio(tmp_path, label):
    region = {"id": "r", "from_name": "entities", "to_name": "text", "type": "labels"}
    region["value"] = {"start": 9, "end": 14, "text": "بيروت", "labels": [label]}
    tasks = [
        {"id": 1, "data": {"text": "لا شيء"}, "annotations": []},
        {"id": 2, "data": {"text": TEXT, "doc_id": "d"}, "annotations": [{"result": [region]}]},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    return path, None


READERS = {"jsonl": _jsonl, "conll": _conll, "brat": _brat, "labelstudio": _labelstudio}


def _read(fmt, path, **kw):
    if fmt == "labelstudio":
        return read_labelstudio(path, **kw)
    return read_documents(path, **kw)


@pytest.mark.parametrize("fmt", READERS)
def test_a_span_carries_its_file_and_line(tmp_path, fmt):
    path, line = READERS[fmt](tmp_path, "GPE")
    (doc,) = _read(fmt, path).documents
    span = next(s for s in doc.entities if s.label == "GPE")
    assert (span.start, span.end) == (9, 14)
    task = 2 if fmt == "labelstudio" else None  # the second task of the export
    assert span.origin == Origin(str(path), line, task)
    assert span == Span(9, 14, "GPE")  # where it came from is not part of what it is
    assert "origin" not in json.dumps(doc.to_dict())


@pytest.mark.parametrize("fmt", READERS)
def test_every_reader_reports_a_label_outside_the_set_the_same_way(tmp_path, fmt):
    path, line = READERS[fmt](tmp_path, "CITY")
    result = _read(fmt, path, label_set=get_label_set("ace2005"))
    assert result.documents == []
    (err,) = result.errors
    assert (err.path, err.line, err.doc_id) == (str(path), line, "d" if fmt != "conll" else "d-1")
    assert "label 'CITY' is not in the ace2005 label set" in err.reason
    assert err.fix == "use --labels any or fix the label"


def test_check_spans_names_the_origin_line_and_applies_the_nested_policy():
    text = "abcdefghij"
    outer = Span(0, 6, "A", origin=Origin("f.jsonl", 7))
    inner = Span(2, 4, "B", origin=Origin("f.jsonl", 9))
    crossing = Span(5, 8, "C", origin=Origin("f.jsonl", 11))
    where = {"path": "f.jsonl", "line": None, "doc_id": "x"}
    layers = {"entities": [outer, inner, crossing], "triggers": [Span(3, 12, "E")]}
    got = check_spans(layers, text, nested="keep", where=where)
    assert [(e.line, e.reason) for e in got.errors] == [
        (11, "entities spans cross: [0, 6) A and [5, 8) C"),
        (None, "triggers[0] [3, 12) out of range for a text of 10"),
    ]
    outer_only = check_spans(layers, text, nested="outer", where=where)
    assert [s.key for s in outer_only.spans["entities"]] == [(0, 6, "A")]
    assert (outer_only.nested, outer_only.dropped_nested) == (2, 2)


def test_the_old_module_names_forward_to_the_new_ones():
    from araevent import formats, io, labelstudio, writing
    from araevent.formats import labelstudio as moved

    assert io.load_documents is formats.load_documents
    assert io.write_documents is writing.write_documents
    assert labelstudio.read_labelstudio is moved.read_labelstudio
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        io.nothing  # noqa: B018
