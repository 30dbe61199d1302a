"""Argument scoring against counts worked out by hand (OneIE / ACE protocol, and strict)."""

from __future__ import annotations

from pathlib import Path

import pytest

from araevent.evaluation import ARG_FAMILIES, ARG_VIEWS, score
from araevent.formats import load_documents
from araevent.mistakes import argument_error_record, argument_mistakes
from araevent.pairing import corpus_units
from araevent.reporting import argument_lines, report_markdown
from araevent.schema import Argument, Document, Span

DATA = Path(__file__).parent / "data"
TEXT = "abcdefghij klmnopqrst uvwxyzabcd efghijklmn opqrstuvwx yzabcdefgh"
ATTACK, DIE = "Conflict:Attack", "Life:Die"


def trig(start, end, label, *args):
    """A trigger; ``args`` are ``(start, end, role)``; ``None`` alone: not annotated."""
    if args == (None,):
        return Span(start, end, label, arguments=None)
    return Span(start, end, label, arguments=tuple(Argument(*a) for a in args))


def run(gold_triggers, pred_triggers, text=TEXT):
    doc = Document("d", text, [], list(gold_triggers))
    pred = {"entities": [], "triggers": list(pred_triggers)}
    return score([doc], [pred], corpus_units([doc]), bootstrap=0)


def counts_of(scores, view, fam):
    """``(tp, fp, fn)`` of one argument view, from the counts and from the document rows."""
    c = scores.counts
    got = tuple(c[f"arguments/{view}/{fam}_{k}"] for k in ("tp", "fp", "fn"))
    assert tuple(int(x) for x in scores.doc_counts[f"arguments/{view}/{fam}"].sum(axis=0)) == got
    return got


def all_counts(scores):
    return {
        (view.split("/")[1], fam): counts_of(scores, view.split("/")[1], fam)
        for view in ARG_VIEWS
        for fam in ARG_FAMILIES
    }


def kinds(gold_triggers, pred_triggers):
    return [(e.error, e.item[1].key) for e in argument_mistakes(gold_triggers, pred_triggers)]


def test_spurious_trigger_with_arguments_makes_its_arguments_spurious_in_every_view():
    gold = [trig(0, 3, ATTACK, (11, 15, "Attacker"))]
    pred = [*gold, trig(22, 25, DIE, (33, 36, "Victim"), (44, 47, "Place"))]
    s = run(gold, pred)
    assert set(all_counts(s).values()) == {(1, 2, 0)}
    assert s.metrics["test/arguments/classification/span/precision"] == pytest.approx(1 / 3)
    assert s.metrics["test/arguments/classification/span/recall"] == 1.0
    assert kinds(gold, pred) == [("spurious", (33, 36, "Victim")), ("spurious", (44, 47, "Place"))]


def test_right_span_wrong_role_is_identified_but_not_classified():
    gold = [trig(0, 3, ATTACK, (11, 15, "Attacker"), (22, 25, "Target"))]
    pred = [trig(0, 3, ATTACK, (11, 15, "Target"), (22, 25, "Target"))]
    s = run(gold, pred)
    assert all_counts(s) == {
        ("identification", "span"): (2, 0, 0),
        ("identification", "strict"): (2, 0, 0),
        ("classification", "span"): (1, 1, 1),
        ("classification", "strict"): (1, 1, 1),
    }
    errs = argument_mistakes(gold, pred)
    assert [(e.error, e.item[1].key, [r[1].key for r in e.related]) for e in errs] == [
        ("wrong_role", (11, 15, "Attacker"), [(11, 15, "Target")])
    ]
    # per role: Attacker missed, Target once right once spurious
    roles = s.per_type["arguments/classification"]["span"]
    assert (roles["Attacker"]["tp"], roles["Attacker"]["fn"]) == (0, 1)
    assert (roles["Target"]["tp"], roles["Target"]["fp"]) == (1, 1)


def test_right_role_wrong_span_is_neither_identified_nor_classified():
    gold = [trig(0, 3, ATTACK, (11, 21, "Target"))]
    pred = [trig(0, 3, ATTACK, (11, 15, "Target"))]
    s = run(gold, pred)
    assert set(all_counts(s).values()) == {(0, 1, 1)}
    assert kinds(gold, pred) == [("wrong_span", (11, 21, "Target"))]


def test_same_argument_under_two_triggers_counts_twice_and_matches_once():
    # one span is the Attacker of two attacks; OneIE's per-prediction count would give
    # recall 1.0 (or 2.0 with the prediction repeated); each gold argument matches once
    gold = [trig(0, 3, ATTACK, (11, 15, "Attacker")), trig(22, 25, ATTACK, (11, 15, "Attacker"))]
    one = [trig(0, 3, ATTACK, (11, 15, "Attacker"))]
    s = run(gold, one)
    assert set(all_counts(s).values()) == {(1, 0, 1)}
    assert s.metrics["test/arguments/identification/span/recall"] == 0.5
    assert s.metrics["test/arguments/identification/span/support"] == 2
    assert kinds(gold, one) == [("missed", (11, 15, "Attacker"))]
    # both predicted, but under one trigger twice (same span, one role each is allowed)
    twice = [trig(0, 3, ATTACK, (11, 15, "Attacker"), (11, 15, "Target"))]
    s = run(gold, twice)
    assert all_counts(s)[("identification", "span")] == (2, 0, 0)
    assert all_counts(s)[("identification", "strict")] == (1, 1, 1)
    assert all_counts(s)[("classification", "span")] == (1, 1, 1)
    assert s.metrics["test/arguments/identification/span/recall"] == 1.0


def test_trigger_of_the_right_type_at_another_span_counts_only_for_the_oneie_view():
    gold = [trig(0, 6, ATTACK, (11, 15, "Attacker"), (22, 25, "Target"))]
    pred = [trig(0, 5, ATTACK, (11, 15, "Attacker"), (22, 25, "Target"))]
    s = run(gold, pred)
    assert all_counts(s) == {
        ("identification", "span"): (2, 0, 0),
        ("classification", "span"): (2, 0, 0),
        ("identification", "strict"): (0, 2, 2),
        ("classification", "strict"): (0, 2, 2),
    }
    assert s.metrics["test/arguments/classification/span/f1"] == 1.0
    assert s.metrics["test/arguments/classification/strict/f1"] == 0.0
    assert kinds(gold, pred) == []  # errors follow the OneIE view
    # another event type at the same span: the type is part of every key
    other = [trig(0, 6, DIE, (11, 15, "Attacker"), (22, 25, "Target"))]
    assert set(all_counts(run(gold, other)).values()) == {(0, 2, 2)}


def test_gold_against_gold_is_perfect_in_every_view_with_intervals():
    gold = load_documents([DATA / "args_gold.jsonl"], None)
    preds = [{"entities": d.entities, "triggers": d.triggers} for d in gold]
    s = score(gold, preds, corpus_units(gold), bootstrap=50)
    for view in ARG_VIEWS:
        for fam in ARG_FAMILIES:
            key = f"test/{view}/{fam}"
            assert s.metrics[f"{key}/f1"] == 1.0
            assert (s.metrics[f"{key}/f1_ci_low"], s.metrics[f"{key}/f1_ci_high"]) == (1.0, 1.0)
            assert s.metrics[f"{key}/support"] == 13
    assert [e for d in gold for e in argument_mistakes(d.triggers, d.triggers)] == []


def test_the_hand_made_files_score_as_counted_by_hand():
    """tests/data/args_{gold,pred}.jsonl, counted document by document.

    arg-a (قتل): مسلحون, بغداد right; ثلاثة جنود Agent for Victim (wrong role);
    «الأحد» for «يوم الأحد» (wrong span). arg-b: مسلحون is the Attacker of two
    attacks; only هاجم is predicted, with هاجموا's Target مطار بغداد attached to it.
    arg-c: the trigger predicted as «اعتقل» for «اعتقلت» with two right arguments,
    الشرطة missed. arg-d: انفجرت right; أصيب is not annotated for arguments (its
    predicted Victim is not scored); «فر» is a spurious trigger with one argument.
    """
    gold = load_documents([DATA / "args_gold.jsonl"], None)
    pred_docs = {d.id: d for d in load_documents([DATA / "args_pred.jsonl"], None)}
    preds = [{"entities": [], "triggers": pred_docs[d.id].triggers} for d in gold]
    s = score(gold, preds, corpus_units(gold), bootstrap=0)
    #        (tp, fp, fn) =  a          b          c          d
    assert all_counts(s) == {
        ("identification", "span"): (3 + 3 + 2 + 2, 1 + 0 + 0 + 1, 1 + 1 + 1 + 0),
        ("classification", "span"): (2 + 3 + 2 + 2, 2 + 0 + 0 + 1, 2 + 1 + 1 + 0),
        ("identification", "strict"): (3 + 2 + 0 + 2, 1 + 1 + 2 + 1, 1 + 2 + 3 + 0),
        ("classification", "strict"): (2 + 2 + 0 + 2, 2 + 1 + 2 + 1, 2 + 2 + 3 + 0),
    }
    m = s.metrics
    assert m["test/arguments/identification/span/precision"] == pytest.approx(10 / 12)
    assert m["test/arguments/identification/span/recall"] == pytest.approx(10 / 13)
    assert m["test/arguments/classification/span/f1"] == pytest.approx(2 * 9 / (12 + 13))
    assert m["test/arguments/classification/strict/f1"] == pytest.approx(2 * 6 / (12 + 13))
    c = s.counts
    assert (c["arguments/gold"], c["arguments/predicted"]) == (13, 12)
    assert c["arguments/gold_triggers_annotated"] == 5
    assert c["arguments/gold_triggers_not_annotated"] == 1
    assert c["arguments/predicted_not_scored"] == 1
    assert c["arguments/predicted_triggers_not_annotated"] == 0
    roles = s.per_type["arguments/classification"]
    assert roles["span"]["Place"] == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3, "tp": 3, "fp": 0, "fn": 0}
    )
    assert (roles["strict"]["Place"]["tp"], roles["strict"]["Place"]["fn"]) == (2, 1)
    errs = [e for d in gold for e in argument_mistakes(d.triggers, pred_docs[d.id].triggers)]
    got = sorted((e.error, e.item[1].role) for e in errs)
    assert got == [
        ("missed", "Agent"),  # arg-c الشرطة
        ("missed", "Attacker"),  # arg-b مسلحون under هاجموا
        ("spurious", "Artifact"),  # arg-d المنفذ of «فر»
        ("wrong_role", "Victim"),  # arg-a ثلاثة جنود
        ("wrong_span", "Time-Within"),  # arg-a يوم الأحد
    ]
    # the errors add up to the classification view's false negatives and positives
    n = {k: sum(e.error == k for e in errs) for k in ("missed", "spurious")}
    assert n["missed"] + 2 == c["arguments/classification/span_fn"]
    assert n["spurious"] + 2 == c["arguments/classification/span_fp"]


def test_gold_triggers_not_annotated_count_neither_way():
    gold = [trig(0, 3, ATTACK, None), trig(22, 25, DIE, (33, 36, "Victim"))]
    pred = [trig(0, 3, ATTACK, (11, 15, "Attacker")), trig(22, 25, DIE, (33, 36, "Victim"))]
    s = run(gold, pred)
    assert set(all_counts(s).values()) == {(1, 0, 0)}
    assert s.counts["arguments/predicted_not_scored"] == 1
    assert s.counts["arguments/gold_triggers_not_annotated"] == 1
    assert kinds(gold, pred) == []


def test_no_arguments_on_either_side_adds_no_key_count_or_report_row():
    gold = [trig(0, 3, ATTACK, None)]
    s = run(gold, [trig(0, 3, ATTACK, None)])
    assert [k for k in s.metrics if "arguments" in k] == []
    assert [k for k in s.counts if "arguments" in k] == []
    assert not any(k.startswith("arguments") for k in s.per_type)
    assert "argument" not in report_markdown("t", {"test": s}).lower()


def test_gold_arguments_without_predicted_ones_are_counted_not_scored():
    gold = [trig(0, 3, ATTACK, (11, 15, "Attacker"))]
    s = run(gold, [trig(0, 3, ATTACK, None)])
    assert [k for k in s.metrics if "arguments" in k] == []
    assert (s.counts["arguments/gold"], s.counts["arguments/gold_triggers_annotated"]) == (1, 1)
    assert argument_lines("test", s.counts) == [
        "test arguments: not scored (no predicted trigger carries arguments). Only gold "
        "triggers annotated for arguments (1) count towards argument recall (1 gold "
        "arguments); gold triggers not annotated for arguments: 0."
    ]


def test_argument_error_record_names_the_argument_its_trigger_and_the_prediction():
    gold = [trig(0, 3, ATTACK, (11, 15, "Attacker"))]
    pred = [trig(0, 3, ATTACK, (11, 15, "Target"))]
    doc = Document("d", TEXT, [], gold)
    (err,) = argument_mistakes(gold, pred)
    assert argument_error_record(doc, err, context=4) == {
        "id": "d",
        "layer": "arguments",
        "error": "wrong_role",
        "kind": "wrong_role",
        "start": 11,
        "end": 15,
        "role": "Attacker",
        "text": "klmn",
        "trigger": {"start": 0, "end": 3, "label": ATTACK, "text": "abc"},
        "left_context": "hij ",
        "right_context": "opqr",
        "predicted": [
            {
                "start": 11,
                "end": 15,
                "role": "Target",
                "text": "klmn",
                "trigger": {"start": 0, "end": 3, "label": ATTACK, "text": "abc"},
            }
        ],
    }


def test_a_second_gold_trigger_at_the_span_annotated_makes_the_arguments_scored():
    gold = [trig(0, 3, ATTACK, None), trig(0, 3, DIE, (33, 36, "Victim"))]
    pred = [trig(0, 3, DIE, (33, 36, "Victim"), (44, 47, "Place"))]
    s = run(gold, pred)
    assert set(all_counts(s).values()) == {(1, 1, 0)}
    assert s.counts["arguments/predicted_not_scored"] == 0
