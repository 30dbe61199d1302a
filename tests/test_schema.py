"""The document schema, label syntax and label-set presets."""

from __future__ import annotations

import pytest

from araevent.errors import DataError
from araevent.labels import (
    ACE2005_ENTITIES,
    ACE2005_EVENTS,
    LAYERS,
    get_label_set,
    is_valid_label,
)
from araevent.schema import (
    Document,
    Span,
    overlapping_pairs,
    parse_document,
    resolve_overlaps,
)

TEXT = "التقى وزير الخارجية نظيره في القاهرة"


def obj(**kw):
    base = {
        "id": "afp-1",
        "text": TEXT,
        "entities": [{"start": 29, "end": 36, "label": "GPE", "text": "القاهرة"}],
        "triggers": [{"start": 0, "end": 5, "label": "Contact:Meet"}],
    }
    return {**base, **kw}


def test_valid_document_and_serialisation_round_trip():
    r = parse_document(obj(meta={"k": [1, 2]}, source="afp"), path="f.jsonl", line=3)
    assert r.errors == []
    doc = r.document
    assert doc.entities == [Span(29, 36, "GPE")]
    assert doc.triggers[0].key == (0, 5, "Contact:Meet")
    assert doc.extra == {"meta": {"k": [1, 2]}, "source": "afp"}
    out = doc.to_dict()
    assert list(out)[:4] == ["id", "text", "entities", "triggers"]
    assert out["triggers"] == [{"start": 0, "end": 5, "label": "Contact:Meet", "text": "التقى"}]
    assert parse_document(out).document == doc


def test_span_score_and_unknown_span_keys_pass_through():
    r = parse_document(
        obj(entities=[{"start": 29, "end": 36, "label": "GPE", "score": 0.25, "source": "model"}])
    )
    (span,) = r.document.entities
    assert span.score == 0.25 and span.extra == {"source": "model"}
    assert span.to_dict(TEXT) == {
        "start": 29,
        "end": 36,
        "label": "GPE",
        "text": "القاهرة",
        "score": 0.25,
        "source": "model",
    }


def test_code_point_offsets_with_diacritics_and_hamza():
    text = "قُتِلَ أَحْمَد في إدلب"
    r = parse_document(
        {
            "id": "x",
            "text": text,
            "entities": [
                {"start": 7, "end": 14, "label": "PER", "text": "أَحْمَد"},
                {"start": 18, "end": 22, "label": "GPE", "text": "إدلب"},
            ],
        }
    )
    assert r.errors == []
    assert [text[s.start : s.end] for s in r.document.entities] == ["أَحْمَد", "إدلب"]


@pytest.mark.parametrize(
    ("kw", "message", "fix"),
    [
        ({"id": ""}, "document id is ''", "non-empty string id"),
        ({"text": "   "}, "text is empty", "give it text"),
        ({"entities": [{"start": 29, "end": 36}]}, "entities[0] has no 'label'", "every span"),
        (
            {"entities": [{"start": 29.0, "end": 36, "label": "GPE"}]},
            "entities[0].start is 29.0",
            "integer",
        ),
        (
            {"entities": [{"start": True, "end": 36, "label": "GPE"}]},
            "entities[0].start is True",
            "integer",
        ),
        (
            {"entities": [{"start": 29, "end": 37, "label": "GPE"}]},
            "out of range for a text of 36",
            "end-exclusive",
        ),
        (
            {"entities": [{"start": -1, "end": 3, "label": "GPE"}]},
            "[-1, 3) out of range",
            "end-exclusive",
        ),
        (
            {"triggers": [{"start": 5, "end": 5, "label": "Contact:Meet"}]},
            "start >= end",
            "end-exclusive",
        ),
        (
            {"entities": [{"start": 29, "end": 36, "label": "GPE", "text": "بيروت"}]},
            "text 'بيروت' != text[29:36] 'القاهرة'",
            "fix the offsets",
        ),
        (
            {"entities": [{"start": 29, "end": 36, "label": "-ORG"}]},
            "is malformed",
            "labels match",
        ),
        (
            {
                "entities": [
                    {"start": 11, "end": 19, "label": "ORG"},
                    {"start": 6, "end": 15, "label": "PER"},
                ]
            },
            "entities spans cross: [6, 15) PER and [11, 19) ORG",
            "--nested outer",
        ),
    ],
)
def test_each_problem_names_where_what_and_fix(kw, message, fix):
    r = parse_document(obj(**kw), path="f.jsonl", line=7)
    assert r.document is None
    (err,) = r.errors
    assert isinstance(err, DataError)
    assert err.path == "f.jsonl" and err.line == 7
    assert message in str(err) and fix in str(err)
    if kw.get("id") != "":
        assert str(err).startswith("f.jsonl:7: afp-1: ")


def test_every_problem_is_collected():
    bad = obj(
        entities=[{"start": 0, "end": 99, "label": "GPE"}, {"start": "a", "end": 2}],
        triggers=[{"start": 0, "end": 5, "label": "B-MIS1`"}],
    )
    r = parse_document(bad)
    assert len(r.errors) == 3


def test_label_set_ace2005():
    ace = get_label_set("ace2005")
    ok = parse_document(obj(), label_set=ace)
    assert ok.errors == []
    r = parse_document(
        obj(triggers=[{"start": 0, "end": 5, "label": "Contact:Lunch"}]), label_set=ace
    )
    assert "not in the ace2005 label set" in str(r.errors[0])
    # an entity type is not allowed in the trigger layer, nor an event type as an entity
    r = parse_document(obj(triggers=[{"start": 0, "end": 5, "label": "PER"}]), label_set=ace)
    assert r.document is None
    assert parse_document(obj(), label_set=get_label_set("any")).errors == []
    with pytest.raises(ValueError, match="unknown label set"):
        get_label_set("ace2099")


def test_ace2005_preset_is_complete_and_described():
    assert sorted(ACE2005_ENTITIES) == sorted(["PER", "ORG", "GPE", "LOC", "FAC", "VEH", "WEA"])
    assert len(ACE2005_EVENTS) == 33
    assert all(":" in k and is_valid_label(k) for k in ACE2005_EVENTS)
    assert all(v.strip() for v in (*ACE2005_ENTITIES.values(), *ACE2005_EVENTS.values()))
    assert get_label_set("ace2005").labels("triggers") == list(ACE2005_EVENTS)
    assert get_label_set("any").labels("entities") == []


@pytest.mark.parametrize("label", ["PER", "Conflict:Attack", "MIS0", "a.b_c-d", "Life:Be-Born"])
def test_valid_labels(label):
    assert is_valid_label(label)


@pytest.mark.parametrize("label", ["", "-ORG", "MIS1`", "1PER", "B PER", "ORG\n", "مكان"])
def test_malformed_labels(label):
    assert not is_valid_label(label)


def test_nested_policies():
    text = "رئيس جامعة القاهرة"
    spans = [
        {"start": 5, "end": 18, "label": "ORG"},
        {"start": 11, "end": 18, "label": "GPE"},
        {"start": 0, "end": 18, "label": "PER"},
    ]
    d = {"id": "n", "text": text, "entities": spans}
    kept = parse_document(d)  # properly nested spans are valid by default (keep)
    assert kept.errors == [] and kept.nested == 3 and kept.dropped_nested == 0
    assert sorted(s.label for s in kept.document.entities) == ["GPE", "ORG", "PER"]
    err = parse_document(d, nested="error")
    assert err.document is None and err.nested == 3 and len(err.errors) == 3
    assert all("entities overlap" in str(e) for e in err.errors)
    outer = parse_document(d, nested="outer")
    assert [s.label for s in outer.document.entities] == ["PER"]
    assert (outer.nested, outer.dropped_nested) == (3, 2)
    inner = parse_document(d, nested="inner")
    assert [s.label for s in inner.document.entities] == ["GPE"]
    assert inner.dropped_nested == 2
    # the two layers may overlap freely
    both = parse_document(
        {**d, "entities": spans[:1], "triggers": [{"start": 5, "end": 10, "label": "X"}]}
    )
    assert both.errors == []


def test_resolve_overlaps_ties_go_to_the_earlier_span():
    a, b = Span(0, 4, "A"), Span(2, 6, "B")
    assert resolve_overlaps([b, a], "outer") == ([a], [b])
    assert resolve_overlaps([b, a], "inner") == ([a], [b])
    assert resolve_overlaps([a, b], "error") == ([a, b], [])
    with pytest.raises(ValueError):
        resolve_overlaps([a], "widest")
    assert overlapping_pairs([Span(0, 2, "A"), Span(2, 4, "B")]) == []


def test_layers_option_empties_other_layers():
    r = parse_document(obj(), layers=("entities",))
    assert r.document.triggers == [] and r.document.entities
    assert LAYERS == ("entities", "triggers")
    with pytest.raises(ValueError):
        Document("x", "t").layer("events")
