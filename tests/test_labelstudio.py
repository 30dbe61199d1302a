"""Label Studio and brat round trips of predictions, and the Label Studio export reader."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from araevent.errors import UsageError
from araevent.formats import read_documents
from araevent.formats.labelstudio import (
    config_path,
    label_config,
    read_labelstudio,
    to_task,
    write_tasks,
)
from araevent.schema import Document, Span
from araevent.writing import write_documents
from conftest import sample_docs

DATA = Path(__file__).parent / "data"
EXPORT = DATA / "infer_labelstudio_export.json"


@pytest.fixture(scope="module")
def predicted(tiny_run: Path) -> tuple[list[Document], object]:
    from araevent.predict import Extractor

    extractor = Extractor.from_pretrained(tiny_run, arguments=False)  # spans only
    docs = extractor.predict([d["text"] for d in sample_docs("dev", 20)])
    assert sum(len(d.entities) + len(d.triggers) for d in docs) > 10
    return docs, extractor.schema


def spans(docs) -> dict[str, tuple[list, list]]:
    return {d.id: ([s.key for s in d.entities], [s.key for s in d.triggers]) for d in docs}


def test_label_config_has_one_control_per_layer_over_one_text():
    xml = label_config({"entities": ["PER", "GPE"], "triggers": ["Conflict:Attack"]})
    root = ET.fromstring(xml)
    controls = {c.get("name"): [x.get("value") for x in c] for c in root.iter("Labels")}
    assert controls == {"entities": ["GPE", "PER"], "triggers": ["Conflict:Attack"]}
    assert all(c.get("toName") == "text" for c in root.iter("Labels"))
    assert [t.get("value") for t in root.iter("Text")] == ["$text"]
    hints = {x.get("value"): x.get("hint") for x in root.iter("Label")}
    assert hints["PER"] and hints["Conflict:Attack"]  # descriptions from the ace2005 preset
    only = ET.fromstring(label_config({"entities": ["PER"], "triggers": []}))
    assert [c.get("name") for c in only.iter("Labels")] == ["entities"]


def test_predictions_round_trip_through_label_studio(predicted, tmp_path):
    docs, schema = predicted
    tasks = [
        to_task(Document(d.id, d.text), {"entities": d.entities, "triggers": d.triggers})
        for d in docs
    ]
    path = tmp_path / "tasks.json"
    conf = write_tasks(tasks, path, schema.to_dict())
    assert conf == config_path(path) == tmp_path / "tasks.label_config.xml"
    config = ET.fromstring(conf.read_text("utf-8"))
    allowed = {c.get("name"): {x.get("value") for x in c} for c in config.iter("Labels")}
    written = json.loads(path.read_text("utf-8"))
    for task in written:
        assert "annotations" not in task
        for item in task["predictions"][0]["result"]:
            assert item["value"]["labels"][0] in allowed[item["from_name"]]
            assert 0 < item["score"] <= 1
    back = read_labelstudio(path, source="predictions")
    assert back.errors == []
    assert spans(back.documents) == spans(docs)
    # an annotator who accepts every prediction: the export holds them as annotations
    for task in written:
        task["id"] = int(task["data"]["doc_id"]) + 100
        result = task["predictions"][0]["result"]
        task["annotations"] = [
            {"id": 1, "completed_by": 1, "was_cancelled": False, "result": result, "lead_time": 3.5}
        ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(written, ensure_ascii=False), "utf-8")
    read = read_labelstudio(export)
    assert read.errors == [] and spans(read.documents) == spans(docs)
    assert [d.text for d in read.documents] == [d.text for d in docs]


def test_predictions_round_trip_through_brat(predicted, tmp_path):
    docs, _ = predicted
    write_documents(docs, tmp_path / "brat", "brat")
    back = read_documents(tmp_path / "brat", "brat")
    assert back.errors == []
    assert spans(back.documents) == spans(docs)


def test_own_spans_become_annotations_beside_the_predictions():
    doc = Document("d1", "زار الرئيس القاهرة", [Span(11, 18, "GPE")], [], {"source": "afp"})
    task = to_task(
        doc,
        {"entities": [Span(11, 18, "GPE", 0.75)], "triggers": [Span(0, 3, "Contact:Meet", 0.5)]},
        model_version="m1",
    )
    assert task["data"] == {"text": doc.text, "doc_id": "d1", "source": "afp"}
    assert [r["value"]["text"] for r in task["annotations"][0]["result"]] == ["القاهرة"]
    prediction = task["predictions"][0]
    assert prediction["model_version"] == "m1" and prediction["score"] == 0.5
    assert [r["from_name"] for r in prediction["result"]] == ["entities", "triggers"]


def test_reader_on_a_realistic_export():
    result = read_labelstudio(EXPORT)
    by_id = {d.id: d for d in result.documents}
    assert set(by_id) == {"doc-1", "doc-2", "task-3"}
    d1 = by_id["doc-1"]  # ground truth wins over a later annotation
    assert [(d1.text[s.start : s.end], s.label) for s in d1.entities] == [("القاهرة", "GPE")]
    assert [(d1.text[s.start : s.end], s.label) for s in d1.triggers] == [("التقى", "Contact:Meet")]
    assert d1.extra == {"source": "afp"}
    d2 = by_id["doc-2"]  # offsets counted in UTF-16 units after an emoji: converted
    assert [d2.text[s.start : s.end] for s in d2.entities] == ["بغداد"]
    d3 = by_id["task-3"]  # the cancelled annotation is ignored; NER template control "label"
    assert [d3.text[s.start : s.end] for s in d3.entities] == ["عمّان"]
    assert result.stats["utf16_offsets"] == 1
    assert result.stats["unannotated"] == 1
    assert result.stats["several_annotations"] == 1
    # the relation from the trigger to the entity is an argument
    assert [(d1.text[a.start : a.end], a.role) for a in d1.triggers[0].arguments] == [
        ("القاهرة", "Place")
    ]
    assert d2.triggers == [] and result.stats["unimported_relation"] == 0
    assert result.errors == []
    assert not any("relation" in n for n in result.notes)


def test_reader_reports_every_problem(tmp_path):
    text = "زار الرئيس القاهرة"

    def item(start, end, label="GPE", name="entities", span_text=None):
        value = {"start": start, "end": end, "labels": [label] if label else []}
        if span_text is not None:
            value["text"] = span_text
        return {"from_name": name, "to_name": "text", "type": "labels", "value": value}

    tasks = [
        {"id": 1, "data": {"text": text}, "annotations": [{"result": [item(11, 18, name="ner")]}]},
        {
            "id": 2,
            "data": {"text": text},
            "annotations": [{"result": [item(11, 17, span_text="x")]}],
        },
        {"id": 3, "data": {"text": text}, "annotations": [{"result": [item(11, 18, label=None)]}]},
        {"id": 4, "data": {"text": text}, "annotations": [{"result": [item(0, 10), item(4, 18)]}]},
        {"id": 5, "data": {"text": text}, "annotations": [{"result": [item(0, 3, "bad label")]}]},
        {"id": 6, "data": {"body": text}, "annotations": []},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    result = read_labelstudio(path)
    assert result.documents == []
    messages = [str(e) for e in result.errors]
    assert len(messages) == 6, messages
    assert "from_name 'ner'" in messages[0] and "from_names" in messages[0]
    assert "does not match" in messages[1]
    assert "not one label" in messages[2]
    assert "entities spans cross" in messages[3]
    assert "malformed" in messages[4]
    assert "data.text" in messages[5]
    assert all(str(path) in m for m in messages)
    mapped = read_labelstudio(path, from_names={"ner": "entities"}, nested="outer")
    assert {d.id for d in mapped.documents} == {"task-1", "task-4"}
    assert mapped.stats["dropped_nested"] == 1
    with pytest.raises(UsageError):
        read_labelstudio(tmp_path / "missing.json")
    (tmp_path / "not.json").write_text("{", "utf-8")
    with pytest.raises(UsageError, match="JSON export"):
        read_labelstudio(tmp_path / "not.json")


def _labels(start, end, span_text, label="GPE", **extra):
    value = {"start": start, "end": end, "text": span_text, "labels": [label]}
    return {"from_name": "entities", "to_name": "text", "type": "labels", "value": value, **extra}


def _export(tmp_path, tasks, name="export.json"):
    path = tmp_path / name
    path.write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    return path


FIRE = "🔥🔥🔥🔥 غزة غزة"  # the first «غزة» is [5, 8) in code points, [9, 12) in UTF-16 units


def test_utf16_offsets_are_decided_per_task_not_per_span(tmp_path):
    # [9, 12) reads «غزة» both ways; as UTF-16 units it is the first one, [5, 8)
    one = {"id": 1, "data": {"text": FIRE}, "annotations": [{"result": [_labels(9, 12, "غزة")]}]}
    alone = read_labelstudio(_export(tmp_path, [one]))
    assert alone.errors == []
    assert [s.key for s in alone.documents[0].entities] == [(5, 8, "GPE")]
    assert alone.stats["utf16_offsets"] == 1
    assert any("1 task(s) whose offsets read the same" in n and "(1)" in n for n in alone.notes)
    as_code_points = read_labelstudio(_export(tmp_path, [one]), offsets="code_points")
    assert [s.key for s in as_code_points.documents[0].entities] == [(9, 12, "GPE")]
    # a second span that only UTF-16 units explain decides the whole task, no note
    both = [_labels(9, 12, "غزة"), _labels(0, 4, "🔥🔥", label="X")]
    task = {"id": 2, "data": {"text": FIRE}, "annotations": [{"result": both}]}
    r = read_labelstudio(_export(tmp_path, [task]))
    assert sorted(s.key for s in r.documents[0].entities) == [(0, 2, "X"), (5, 8, "GPE")]
    assert not any("read the same" in n for n in r.notes)
    # another task of the export that needs code points decides an ambiguous task
    cp_task = {
        "id": 3,
        "data": {"text": "🔥 غزة", "doc_id": "cp"},
        "annotations": [{"result": [_labels(2, 5, "غزة")]}],  # UTF-16 would be [3, 6)
    }
    r = read_labelstudio(_export(tmp_path, [one, cp_task]))
    assert r.errors == [] and not any("read the same" in n for n in r.notes)
    assert {d.id: [s.key for s in d.entities] for d in r.documents} == {
        "task-1": [(9, 12, "GPE")],
        "cp": [(2, 5, "GPE")],
    }


def test_a_task_needing_both_offset_units_is_an_error(tmp_path):
    text = "🔥 غزة 🔥 بيروت"  # «غزة» [2, 5) cp, [3, 6) UTF-16; «بيروت» [8, 13) cp, [10, 15) UTF-16
    mixed = [_labels(2, 5, "غزة"), _labels(10, 15, "بيروت")]
    path = _export(
        tmp_path, [{"id": 7, "data": {"text": text}, "annotations": [{"result": mixed}]}]
    )
    r = read_labelstudio(path)
    assert r.documents == [] and len(r.errors) == 1
    assert str(r.errors[0]).startswith(
        f"{path}: task-7: task 7: some spans read right only as code points and others only "
        "as UTF-16 units ("
    )
    assert "offsets='code_points'" in str(r.errors[0])


def test_malformed_results_are_reported_not_crashes(tmp_path):
    text = "زار الرئيس القاهرة"
    tasks = [
        {
            "id": 1,
            "data": {"text": text},
            "annotations": [
                {"result": [{"type": "labels", "from_name": "entities", "value": ["start", 11]}]}
            ],
        },  # fmt: skip
        {"id": 2, "data": {"text": text}, "annotations": [{"result": {"value": 1}}]},
        {
            "id": 3,
            "data": {"text": text},
            "annotations": [{"result": [_labels(11, 18, "القاهرة", score="high")]}],
        },  # fmt: skip
        {"id": 4, "data": {"text": text}, "annotations": [{"result": ["labels"]}]},
        {"id": 5, "data": {"text": text, "doc_id": ["a"]}, "annotations": [{"result": []}]},
        {
            "id": 6,
            "data": {"text": text, "doc_id": 0},
            "annotations": [{"result": [_labels(11, 18, "القاهرة", score=0.5)]}],
        },  # fmt: skip
    ]
    path = _export(tmp_path, tasks)
    r = read_labelstudio(path)
    messages = [str(e) for e in r.errors]
    assert len(messages) == 5, messages
    assert messages[0].startswith(
        f"{path}: task-1: task 1 result 0: value is list, not an object ("
    )
    assert messages[1].startswith(f"{path}: task-2: task 2: result is dict, not a list (")
    assert messages[2].startswith(
        f"{path}: task-3: task 3 result 0: score 'high' is not a number ("
    )
    assert messages[3].startswith(f"{path}: task-4: task 4 result 0: is str, not an object (")
    assert messages[4].startswith(f"{path}: task 5: data.doc_id is ['a']: not a non-empty string")
    # doc_id 0 is the id "0", not task-6
    assert [(d.id, [(s.key, s.score) for s in d.entities]) for d in r.documents] == [
        ("0", [((11, 18, "GPE"), 0.5)])
    ]


def test_lone_surrogate_in_a_task_is_reported(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(
        '[{"id": 1, "data": {"text": "زار \\ud800 القاهرة"}, "annotations": [{"result": []}]}]',
        "utf-8",
    )
    r = read_labelstudio(path)
    assert r.documents == [] and [str(e) for e in r.errors] == [
        f"{path}: task-1: task 1: data.text holds a lone surrogate (U+D800) at character 4 "
        "(remove it or write the whole character)"
    ]
