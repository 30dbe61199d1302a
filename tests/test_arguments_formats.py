"""Event arguments through every format: brat, Label Studio, CoNLL (counted), validate."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from araevent.cli import main
from araevent.formats import describe_dropped, load_documents, read_documents
from araevent.formats.labelstudio import label_config, read_labelstudio, to_task, write_tasks
from araevent.schema import Argument, Document, Span
from araevent.writing import write_documents

TEXT = "قتل مسلحون ثلاثة جنود في الموصل يوم الأحد ثم هاجموا مركزا للشرطة"
TEXT2 = "وقع الهجوم أمس ثم اعتقل المشتبه به"


def at(text: str, word: str) -> tuple[int, int]:
    i = text.index(word)
    return i, i + len(word)


def arg(text: str, word: str, role: str) -> Argument:
    return Argument(*at(text, word), role)


def corpus() -> list[Document]:
    """Every case: an argument equal to an entity, argument-only spans, the same argument
    under two triggers, a role given twice on one trigger, ``[]`` and ``None``."""
    die = Span(
        *at(TEXT, "قتل"),
        "Life:Die",
        arguments=(
            arg(TEXT, "مسلحون", "Agent"),  # an entity
            arg(TEXT, "ثلاثة جنود", "Victim"),  # no entity
            arg(TEXT, "الموصل", "Place"),
            arg(TEXT, "يوم الأحد", "Time-Within"),
        ),
    )
    attack = Span(
        *at(TEXT, "هاجموا"),
        "Conflict:Attack",
        arguments=(
            arg(TEXT, "مسلحون", "Attacker"),  # the same argument under two triggers
            arg(TEXT, "مركزا للشرطة", "Target"),
            arg(TEXT, "ثلاثة جنود", "Target"),  # the same role twice: Target2 in brat
        ),
    )
    one = Document(
        "a1",
        TEXT,
        [Span(*at(TEXT, "مسلحون"), "PER"), Span(*at(TEXT, "الموصل"), "GPE")],
        [die, attack],
    )
    two = Document(
        "a2",
        TEXT2,
        [],
        [
            Span(*at(TEXT2, "الهجوم"), "Conflict:Attack", arguments=()),  # annotated: none
            Span(*at(TEXT2, "اعتقل"), "Justice:Arrest-Jail"),  # not annotated
        ],
    )
    return [one, two]


def argument_multiset(docs) -> Counter:
    return Counter(
        (d.id, t.key, a.key) for d in docs for t in d.triggers for a in t.arguments or ()
    )


def annotated(docs) -> dict:
    return {(d.id, t.key): t.arguments is not None for d in docs for t in d.triggers}


def assert_same(back: list[Document], docs: list[Document]) -> None:
    assert argument_multiset(back) == argument_multiset(docs)
    assert annotated(back) == annotated(docs)
    by_id = {d.id: d for d in back}
    assert {d.id: by_id[d.id].to_dict() for d in docs} == {d.id: d.to_dict() for d in docs}


def test_brat_round_trip_keeps_every_argument(tmp_path):
    docs = corpus()
    assert sum(argument_multiset(docs).values()) == 7
    write_documents(docs, tmp_path / "brat", "brat")
    ann = (tmp_path / "brat" / "a1.ann").read_text(encoding="utf-8").splitlines()
    assert ann[:4] == [
        "T1\tPER 4 10\tمسلحون",
        "T2\tGPE 25 31\tالموصل",
        "T3\tArgument 11 21\tثلاثة جنود",  # argument spans that are no entity
        "T4\tArgument 32 41\tيوم الأحد",
    ]
    assert "E1\tLife:Die:T6 Agent:T1 Victim:T3 Place:T2 Time-Within:T4" in ann
    assert "E2\tConflict:Attack:T7 Attacker:T1 Target:T3 Target2:T5" in ann
    ann2 = (tmp_path / "brat" / "a2.ann").read_text(encoding="utf-8").splitlines()
    assert ann2[2:] == [  # [] is marked, None is not
        "E1\tConflict:Attack:T1",
        "A1\tNoArguments E1",
        "E2\tJustice:Arrest-Jail:T2",
    ]
    conf = (tmp_path / "brat" / "annotation.conf").read_text(encoding="utf-8")
    assert "[entities]\nGPE\nPER\nArgument\n" in conf
    assert "Life:Die\tAgent*:<ENTITY>, Place*:<ENTITY>, Time-Within*:<ENTITY>, " in conf
    assert "\nJustice:Arrest-Jail\n" in conf
    assert "[attributes]\nNoArguments\tArg:<EVENT>\n" in conf
    back = read_documents(tmp_path / "brat")
    assert back.errors == [] and back.notes == []
    assert_same(back.documents, docs)
    # ... and on to JSONL and back: nothing changes
    write_documents(back.documents, tmp_path / "back.jsonl", "jsonl")
    assert_same(load_documents(tmp_path / "back.jsonl"), docs)


def test_brat_reader_numbered_roles_and_references(tmp_path):
    (tmp_path / "d.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "d.ann").write_text(
        "T1\tPER 4 10\tمسلحون\n"
        "T2\tLife:Die 0 3\tقتل\n"
        "T3\tArgument 11 21\tثلاثة جنود\n"
        "T4\tArgument 32 41\tيوم الأحد\n"  # used by no event
        "E1\tLife:Die:T2 Agent:T1 Victim:T3 Victim2:T1\n",
        encoding="utf-8",
    )
    r = read_documents(tmp_path)
    assert r.errors == []
    (doc,) = r.documents
    assert [e.label for e in doc.entities] == ["PER"]  # T3, T4 are no entities
    assert sorted(a.key for a in doc.triggers[0].arguments) == [
        (4, 10, "Agent"),
        (4, 10, "Victim"),
        (11, 21, "Victim"),
    ]
    assert r.stats["brat_unimported_argument_span"] == 1
    assert r.notes[0].endswith("1 argument span in no event")


def test_brat_reader_argument_errors_name_the_line(tmp_path):
    (tmp_path / "d.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "d.ann").write_text(
        "T1\tPER 4 10\tمسلحون\n"
        "T2\tLife:Die 0 3\tقتل\n"
        "E1\tLife:Die:T2 Victim:T9 Agent\n"
        "E2\tLife:Die:T2 Attacker:T1\n",
        encoding="utf-8",
    )
    r = read_documents(tmp_path, label_set="ace2005")
    assert r.documents == []
    got = [(e.line, e.reason) for e in r.errors]
    assert got == [
        (3, "E1 argument 'Agent' is not Role:T"),
        (3, "E1 argument Victim:T9: T9 is not a T line of this file"),
        (3, "T2 Life:Die.arguments[0]: role 'Attacker' is not a role of Life:Die in the "
         "ace2005 label set"),
    ]  # fmt: skip


def test_labelstudio_round_trip_keeps_every_argument(tmp_path):
    docs = corpus()
    roles = sorted({a.role for d in docs for t in d.triggers for a in t.arguments or ()})
    labels = {"entities": ["GPE", "PER"], "triggers": ["Conflict:Attack", "Life:Die"]}
    write_tasks([to_task(d) for d in docs], tmp_path / "tasks.json", labels, roles)
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    results = tasks[0]["annotations"][0]["result"]
    relations = [x for x in results if x["type"] == "relation"]
    assert len(relations) == 7
    assert {"type": "relation", "from_id": "t0", "to_id": "e0", "direction": "right",
            "labels": ["Agent"]} in relations  # fmt: skip
    only = [x for x in results if x.get("from_name") == "arguments"]
    assert [(x["value"]["text"], x["value"]["labels"]) for x in only] == [
        ("ثلاثة جنود", ["Argument"]),
        ("يوم الأحد", ["Argument"]),
        ("مركزا للشرطة", ["Argument"]),
    ]
    marks = [x for x in tasks[1]["annotations"][0]["result"] if x["type"] == "choices"]
    assert [(m["id"], m["value"]["choices"]) for m in marks] == [("t0", ["NoArguments"])]
    back = read_labelstudio(tmp_path / "tasks.json")
    assert back.errors == [] and back.notes == []
    assert_same(back.documents, docs)


def test_label_config_lists_roles_as_relations():
    xml = label_config({"entities": ["PER"], "triggers": ["Life:Die"]}, ["Victim", "Agent"])
    assert '<Labels name="arguments" toName="text"' in xml
    assert '<Relations>\n    <Relation value="Agent"/>\n    <Relation value="Victim"/>\n' in xml
    assert '<Choices name="no_arguments" toName="text" perRegion="true">' in xml
    assert "Relations" not in label_config({"entities": ["PER"]})


def _export(tmp_path: Path, results: list) -> Path:
    task = {"id": 7, "data": {"text": TEXT, "doc_id": "x"}, "annotations": [{"result": results}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    return path


def _region(rid, control, label, word):
    a, b = at(TEXT, word)
    value = {"start": a, "end": b, "text": word, "labels": [label]}
    return {"id": rid, "from_name": control, "to_name": "text", "type": "labels", "value": value}


def test_labelstudio_reader_relations(tmp_path):
    regions = [
        _region("p", "entities", "PER", "مسلحون"),
        _region("k", "triggers", "Life:Die", "قتل"),
        _region("v", "arguments", "Argument", "ثلاثة جنود"),
        _region("u", "arguments", "Argument", "يوم الأحد"),  # used by no relation
    ]
    good = [
        {"type": "relation", "from_id": "k", "to_id": "p", "labels": ["Agent"]},
        {"type": "relation", "from_id": "v", "to_id": "k", "direction": "left",
         "labels": ["Victim"]},
    ]  # fmt: skip
    r = read_labelstudio(_export(tmp_path, regions + good))
    assert r.errors == []
    (doc,) = r.documents
    assert [e.label for e in doc.entities] == ["PER"]
    assert sorted(a.key for a in doc.triggers[0].arguments) == [
        (4, 10, "Agent"),
        (11, 21, "Victim"),
    ]
    assert r.stats["unimported_argument region"] == 1
    no_role = {"type": "relation", "from_id": "k", "to_id": "p", "labels": []}
    r = read_labelstudio(_export(tmp_path, [*regions, no_role]))
    assert r.documents == []
    assert [e.reason for e in r.errors] == ["task 7 result 4: relation labels [] is not one role"]
    assert r.errors[0].fix.startswith("give every argument relation exactly one role")
    backwards = {"type": "relation", "from_id": "p", "to_id": "k", "labels": ["Agent"]}
    r = read_labelstudio(_export(tmp_path, [*regions, backwards]))
    assert r.documents == []
    assert [e.reason for e in r.errors] == [
        "task 7 result 4: relation 'p' -> 'k': region 'p' is not a trigger of this task"
    ]


def test_convert_labelstudio_both_ways(tmp_path, capsys):
    src = tmp_path / "gold.jsonl"
    write_documents(corpus(), src, "jsonl")
    out = tmp_path / "tasks.json"
    assert main(["convert", str(src), str(out), "--to", "labelstudio"]) == 0
    assert (tmp_path / "tasks.label_config.xml").read_text().count("<Relation ") == 6
    back = tmp_path / "back.jsonl"
    assert main(["convert", str(out), str(back), "--from", "labelstudio", "--to", "jsonl"]) == 0
    assert src.read_text(encoding="utf-8") == back.read_text(encoding="utf-8")
    again = tmp_path / "again.jsonl"  # a .json file holding a list reads as an export
    assert main(["convert", str(out), str(again), "--to", "jsonl"]) == 0
    assert src.read_text(encoding="utf-8") == again.read_text(encoding="utf-8")
    (tmp_path / "taken").mkdir()
    capsys.readouterr()
    assert main(["convert", str(src), str(tmp_path / "taken"), "--to", "labelstudio"]) == 2
    assert capsys.readouterr().err.startswith(f"araevent convert: cannot write {tmp_path}")
    capsys.readouterr()
    assert main(["validate", "--from", "labelstudio", "--labels", "ace2005", str(out)]) == 0
    table = capsys.readouterr().out
    assert "\narguments                         7\n" in table
    assert "\n  Target                          2\n" in table
    assert "\ntriggers annotated for arguments  3 of 4\n" in table


def test_conll_counts_the_arguments_it_cannot_hold(tmp_path, capsys):
    src = tmp_path / "gold.jsonl"
    write_documents(corpus(), src, "jsonl")
    assert main(["convert", str(src), str(tmp_path / "out.conll"), "--to", "conll"]) == 0
    err = capsys.readouterr().err
    assert "araevent convert: 7 arguments not written (CoNLL holds no arguments" in err
    assert write_documents(corpus(), tmp_path / "x.conll", "conll") == {"arguments_not_written": 7}
    assert write_documents(corpus(), tmp_path / "x.jsonl", "jsonl") == {}


def test_nested_policy_drops_arguments_with_their_trigger(tmp_path):
    outer = Span(0, 10, "Conflict:Attack", arguments=(arg(TEXT, "الموصل", "Place"),))
    docs = [Document("n", TEXT, [], [outer, *corpus()[0].triggers[:1]])]  # قتل inside [0, 10)
    write_documents(docs, tmp_path / "n.jsonl", "jsonl")
    inner = load_documents(tmp_path / "n.jsonl", nested="inner")
    assert inner.dropped == {"nested": 1, "arguments": 1}
    outer_kept = load_documents(tmp_path / "n.jsonl", nested="outer")
    assert outer_kept.dropped == {"nested": 1, "arguments": 4}
    assert describe_dropped(outer_kept.dropped, "outer")[1] == (
        "4 arguments dropped with their triggers (by --nested outer or --layers)"
    )
    layers = load_documents(tmp_path / "n.jsonl", layers=["entities"])
    assert layers.dropped == {"layer": 2, "arguments": 5}
    write_documents(docs, tmp_path / "brat", "brat")
    assert load_documents(tmp_path / "brat", nested="outer").dropped == {
        "nested": 1,
        "arguments": 4,
    }


def test_validate_lists_arguments_off_unit_boundaries(tmp_path, capsys):
    die = Span(*at(TEXT, "قتل"), "Life:Die", arguments=(Argument(5, 10, "Agent"),))
    write_documents([Document("o", TEXT, [], [die])], tmp_path / "o.jsonl", "jsonl")
    assert main(["validate", str(tmp_path / "o.jsonl")]) == 1
    out, err = capsys.readouterr()
    assert "\narguments off unit boundaries     1\n" in out
    assert (
        f"{tmp_path / 'o.jsonl'}:1: o: argument [5, 10) Agent «سلحون» of trigger [0, 3) "
        "Life:Die: starts inside unit «مسلحون»"
    ) in err
    assert err.rstrip().endswith("0 error(s), 0 span(s) off unit boundaries, 1 argument(s) off "
                                 "unit boundaries")  # fmt: skip


def test_labelstudio_nested_policy_counts_the_arguments_it_drops(tmp_path):
    regions = [
        _region("k", "triggers", "Life:Die", "قتل"),
        _region("w", "triggers", "Conflict:Attack", "قتل مسلحون"),  # holds «قتل»
        _region("p", "entities", "PER", "الموصل"),
    ]
    rel = {"type": "relation", "from_id": "k", "to_id": "p", "labels": ["Place"]}
    r = read_labelstudio(_export(tmp_path, [*regions, rel]), nested="outer")
    assert r.errors == []
    assert [t.label for t in r.documents[0].triggers] == ["Conflict:Attack"]
    assert r.dropped == {"nested": 1, "arguments": 1}
