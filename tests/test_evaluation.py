"""The scorer against independent references: seqeval called directly, counts worked out by hand."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from araevent.bootstrap import bootstrap_f1, paired_bootstrap, resampled_totals
from araevent.errors import DataError
from araevent.evaluation import VIEWS, check_tags, ill_formed, score, seqeval_scores
from araevent.mistakes import confusion, span_errors
from araevent.schema import Document, Span
from araevent.tagging import decode_spans
from araevent.text import Unit, split_units

TRIGGERS = {"Justice:Arrest-Jail", "Conflict:Attack", "Contact:Meet"}


def tag_doc(doc_id: str, gold_tags: list[str]) -> tuple[Document, list]:
    """A document of one Latin word per tag, with gold spans decoded from ``gold_tags``."""
    text = " ".join(f"w{i}" for i in range(len(gold_tags)))
    units = split_units(text)
    assert len(units) == len(gold_tags)
    spans = decode_spans(units, gold_tags)
    ents = [s for s in spans if s.label not in TRIGGERS]
    trigs = [s for s in spans if s.label in TRIGGERS]
    return Document(doc_id, text, ents, trigs), units


def layer_of(tags: list[str], triggers: bool) -> list[str]:
    out = []
    for t in tags:
        label = t[2:] if t != "O" else None
        keep = label is not None and ((label in TRIGGERS) == triggers)
        out.append(t if keep else "O")
    return out


# gold tags, predicted tags (both layers in one sequence, as a model emits them)
CASES = {
    "I- with no B-": (
        ["B-PER", "I-PER", "O", "B-ORG", "O"],
        ["I-PER", "I-PER", "O", "B-ORG", "O"],
    ),
    "type change inside a span": (
        ["B-PER", "I-PER", "I-PER", "O", "B-GPE"],
        ["B-PER", "I-ORG", "I-ORG", "O", "B-GPE"],
    ),
    "wrong boundary": (
        ["B-GPE", "I-GPE", "O", "O", "B-LOC", "I-LOC"],
        ["B-GPE", "I-GPE", "I-GPE", "O", "O", "B-LOC"],
    ),
    "Justice:Arrest-Jail": (
        ["O", "B-Justice:Arrest-Jail", "I-Justice:Arrest-Jail", "O", "B-Justice:Arrest-Jail"],
        ["O", "I-Justice:Arrest-Jail", "I-Justice:Arrest-Jail", "O", "B-Justice:Arrest-Jail"],
    ),
    "trigger type change and an orphan I-": (
        ["B-Conflict:Attack", "O", "B-PER", "O", "B-Contact:Meet", "I-Contact:Meet"],
        ["B-Conflict:Attack", "O", "I-PER", "O", "B-Contact:Meet", "I-Justice:Arrest-Jail"],
    ),
}


def score_cases(names: list[str]):
    docs, units, pred_tags = [], [], []
    for i, name in enumerate(names):
        gold, pred = CASES[name]
        doc, u = tag_doc(f"d{i}", gold)
        docs.append(doc)
        units.append(u)
        pred_tags.append(pred)
    pred_spans = []
    for u, tags in zip(units, pred_tags, strict=True):
        spans = decode_spans(u, tags)  # what Predictor does
        pred_spans.append(
            {
                "entities": [s for s in spans if s.label not in TRIGGERS],
                "triggers": [s for s in spans if s.label in TRIGGERS],
            }
        )
    scores = score(
        docs,
        pred_spans,
        units,
        pred_tags=pred_tags,
        trigger_labels=TRIGGERS,
        prefix="test",
        bootstrap=0,
    )
    return scores, docs, pred_tags


@pytest.mark.parametrize("names", [[n] for n in CASES] + [list(CASES)], ids=[*CASES, "all"])
def test_strict_and_default_equal_seqeval_called_directly(names):
    scores, _, pred_tags = score_cases(names)
    m = scores.metrics
    for view, triggers in (("entities", False), ("triggers/classification", True)):
        gold = [layer_of(CASES[n][0], triggers) for n in names]
        pred = [layer_of(t, triggers) for t in pred_tags]
        if not any(t != "O" for seq in gold + pred for t in seq):
            continue
        for fam, kw in (
            ("seqeval_strict", {"mode": "strict", "scheme": IOB2}),
            ("seqeval_default", {}),
        ):
            assert m[f"test/{view}/{fam}/precision"] == pytest.approx(
                precision_score(gold, pred, zero_division=0, **kw), abs=1e-12
            )
            assert m[f"test/{view}/{fam}/recall"] == pytest.approx(
                recall_score(gold, pred, zero_division=0, **kw), abs=1e-12
            )
            assert m[f"test/{view}/{fam}/f1"] == pytest.approx(
                f1_score(gold, pred, zero_division=0, **kw), abs=1e-12
            )
            rep = classification_report(gold, pred, output_dict=True, zero_division=0, **kw)
            per_type = scores.per_type[view][fam]
            types = {k for k in rep if not k.endswith(" avg")}
            assert set(per_type) == types
            for t in types:
                assert per_type[t]["f1"] == pytest.approx(rep[t]["f1-score"], abs=1e-12)
                assert per_type[t]["support"] == rep[t]["support"]
            assert m[f"test/{view}/{fam}/macro_f1"] == pytest.approx(
                rep["macro avg"]["f1-score"], abs=1e-12
            )
            assert m[f"test/{view}/{fam}/weighted_f1"] == pytest.approx(
                rep["weighted avg"]["f1-score"], abs=1e-12
            )


def test_the_hand_built_cases_are_scored_as_worked_out():
    scores, _, _ = score_cases(["I- with no B-"])
    m = scores.metrics
    # strict IOB2 drops the orphan I-PER span: 1 TP (ORG), 0 FP, 1 FN (PER)
    assert m["test/entities/seqeval_strict/precision"] == 1.0
    assert m["test/entities/seqeval_strict/recall"] == 0.5
    # conlleval reads I-PER I-PER as a PER span: both right
    assert m["test/entities/seqeval_default/f1"] == 1.0
    # the decoder does as conlleval: the character span is right too
    assert m["test/entities/span/f1"] == 1.0
    assert scores.counts["entities/ill_formed_predicted"] == 1

    scores, _, _ = score_cases(["Justice:Arrest-Jail"])
    m = scores.metrics
    assert m["test/triggers/classification/seqeval_strict/recall"] == 0.5
    assert m["test/triggers/classification/seqeval_default/f1"] == 1.0
    assert scores.counts["triggers/classification/ill_formed_predicted"] == 1
    assert set(scores.per_type["triggers/classification"]["seqeval_strict"]) == {
        "Justice:Arrest-Jail"
    }

    # B-Contact:Meet I-Justice:Arrest-Jail is two spans, never merged by identification
    scores, _, _ = score_cases(["trigger type change and an orphan I-"])
    m = scores.metrics
    # identification (decoded spans, types ignored): gold 2 spans, predicted 3
    assert scores.per_type["triggers/identification"]["span"]["TRIGGER"]["tp"] == 1
    assert m["test/triggers/identification/span/precision"] == pytest.approx(1 / 3)
    assert m["test/triggers/identification/span/recall"] == pytest.approx(1 / 2)


def test_tags_are_checked_before_seqeval_sees_them():
    with pytest.raises(ValueError, match="I--ORG"):
        check_tags([["O", "I--ORG"]], "predicted")
    with pytest.raises(ValueError, match="'OO'"):
        seqeval_scores([["O", "B-PER"]], [["OO", "B-PER"]], strict=True)
    with pytest.raises(ValueError, match="'B-'"):
        seqeval_scores([["B-"]], [["O"]], strict=False)
    assert ill_formed(["I-X", "I-X", "O", "B-X", "I-Y", "I-Y"]) == 2


def hand_docs():
    #          0         1         2         3         4
    #          0123456789012345678901234567890123456789012
    text1 = "Ahmed met Sara in Cairo and Paris yesterday"
    gold1 = Document(
        "h1",
        text1,
        [Span(0, 5, "PER"), Span(10, 14, "PER"), Span(18, 23, "GPE"), Span(28, 33, "GPE")],
        [Span(6, 9, "Contact:Meet")],
    )
    pred1 = {
        "entities": [
            Span(0, 5, "PER"),  # right
            Span(10, 14, "ORG"),  # type confusion
            Span(15, 23, "GPE"),  # boundary error ("in Cairo")
            Span(34, 43, "LOC"),
        ],  # spurious; Paris missed
        "triggers": [Span(6, 9, "Justice:Arrest-Jail")],  # right span, wrong type
    }
    text2 = "Police arrested him"
    gold2 = Document("h2", text2, [], [Span(7, 15, "Justice:Arrest-Jail")])
    pred2 = {"entities": [], "triggers": []}
    return [gold1, gold2], [pred1, pred2]


def test_character_span_scores_equal_counts_worked_out_by_hand():
    gold, pred = hand_docs()
    units = [split_units(d.text) for d in gold]
    s = score(gold, pred, units, prefix="dev", bootstrap=0)
    m = s.metrics
    # entities: TP 1 (Ahmed); FP 3 (ORG Sara, GPE "in Cairo", LOC); FN 3 (PER Sara, Cairo,
    # Paris)
    assert m["dev/entities/span/precision"] == pytest.approx(1 / 4)
    assert m["dev/entities/span/recall"] == pytest.approx(1 / 4)
    assert m["dev/entities/span/f1"] == pytest.approx(1 / 4)
    assert m["dev/entities/span/support"] == 4
    assert s.doc_counts["entities"].tolist() == [[1, 3, 3], [0, 0, 0]]
    types = s.per_type["entities"]["span"]
    assert types["PER"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
        "tp": 1,
        "fp": 0,
        "fn": 1,
    }
    assert (types["GPE"]["tp"], types["GPE"]["fp"], types["GPE"]["fn"]) == (0, 1, 2)
    assert (types["ORG"]["support"], types["LOC"]["support"]) == (0, 0)
    # macro over every type seen (GPE, LOC, ORG, PER): (0 + 0 + 0 + 2/3) / 4
    assert m["dev/entities/span/macro_f1"] == pytest.approx(1 / 6)
    # weighted by gold support (GPE 2, PER 2, ORG 0, LOC 0): (0 * 2 + 2/3 * 2) / 4
    assert m["dev/entities/span/weighted_f1"] == pytest.approx(1 / 3)
    assert s.counts["entities/boundary_errors"] == 1
    # identification: "met" found, "arrested" missed → TP 1, FP 0, FN 1
    assert m["dev/triggers/identification/span/precision"] == 1.0
    assert m["dev/triggers/identification/span/recall"] == 0.5
    assert m["dev/triggers/identification/span/f1"] == pytest.approx(2 / 3)
    # classification: wrong type on "met" → TP 0, FP 1, FN 2
    assert m["dev/triggers/classification/span/f1"] == 0.0
    assert s.doc_counts["triggers/classification"].tolist() == [[0, 1, 1], [0, 0, 1]]
    # overall: TP 1, FP 4, FN 5 → P 1/5, R 1/6, F1 2/11
    assert m["dev/overall/span/precision"] == pytest.approx(1 / 5)
    assert m["dev/overall/span/recall"] == pytest.approx(1 / 6)
    assert m["dev/overall/span/f1"] == pytest.approx(2 / 11)
    assert s.counts["gold_spans"] == 6
    assert s.counts["predicted_spans"] == 5
    # every span here lies on unit boundaries, so strict seqeval agrees with the spans
    assert m["dev/entities/seqeval_strict/f1"] == pytest.approx(1 / 4)
    assert m["dev/overall/seqeval_strict/f1"] == pytest.approx(2 / 11)
    assert s.doc_counts["overall/seqeval_strict"].sum(axis=0).tolist() == [1, 4, 5]


def test_errors_are_classified_and_the_confusion_matrix_counts_them():
    gold, pred = hand_docs()
    g = {"entities": gold[0].entities, "triggers": gold[0].triggers}
    errors = {(e.layer, e.error, e.span.key): e.kind for e in span_errors(g, pred[0])}
    assert errors == {
        ("entities", "false_positive", (10, 14, "ORG")): "type_confusion",
        ("entities", "false_negative", (10, 14, "PER")): "type_confusion",
        ("entities", "false_positive", (15, 23, "GPE")): "boundary",
        ("entities", "false_negative", (18, 23, "GPE")): "boundary",
        ("entities", "false_negative", (28, 33, "GPE")): "false_negative",
        ("entities", "false_positive", (34, 43, "LOC")): "false_positive",
        ("triggers", "false_positive", (6, 9, "Justice:Arrest-Jail")): "type_confusion",
        ("triggers", "false_negative", (6, 9, "Contact:Meet")): "type_confusion",
    }
    golds = [{"entities": d.entities, "triggers": d.triggers} for d in gold]
    c = confusion(golds, pred, "entities")
    assert c.rows == ["GPE", "LOC", "ORG", "PER", "spurious"]
    assert c.columns == ["GPE", "LOC", "ORG", "PER", "missed"]
    expected = np.zeros((5, 5), dtype=int)
    expected[3, 3] = 1  # Ahmed
    expected[3, 2] = 1  # Sara: PER read as ORG
    expected[0, 4] = 2  # Cairo (boundary) and Paris missed
    expected[4, 0] = 1  # "in Cairo" spurious
    expected[4, 1] = 1  # "yesterday" spurious
    assert c.matrix.tolist() == expected.tolist()
    t = confusion(golds, pred, "triggers")
    assert t.matrix.sum() == 2  # "met" confused, "arrested" missed, nothing spurious
    assert t.matrix[t.rows.index("Contact:Meet"), t.columns.index("Justice:Arrest-Jail")] == 1
    assert t.matrix[t.rows.index("Justice:Arrest-Jail"), t.columns.index("missed")] == 1


def all_scores(metrics: dict[str, float]) -> dict[str, float]:
    return {
        k: v
        for k, v in metrics.items()
        if k.rsplit("/", 1)[-1]
        in ("precision", "recall", "f1", "macro_f1", "weighted_f1", "f1_ci_low", "f1_ci_high")
    }


def test_a_prediction_equal_to_the_gold_scores_one_everywhere():
    gold, _ = hand_docs()
    units = [split_units(d.text) for d in gold]
    same = [{"entities": d.entities, "triggers": d.triggers} for d in gold]
    s = score(gold, same, units, bootstrap=200)
    values = all_scores(s.metrics)
    assert len(values) == len(VIEWS) * (7 + 7 + 5)
    assert all(v == 1.0 for v in values.values()), {k: v for k, v in values.items() if v != 1}


def test_an_empty_prediction_has_recall_zero_and_no_division_error():
    gold, _ = hand_docs()
    units = [split_units(d.text) for d in gold]
    empty = [{"entities": [], "triggers": []} for _ in gold]
    s = score(gold, empty, units, bootstrap=100)  # warnings are errors in this suite
    for view in VIEWS:
        for fam in ("span", "seqeval_strict", "seqeval_default"):
            assert s.metrics[f"test/{view}/{fam}/recall"] == 0.0
            assert s.metrics[f"test/{view}/{fam}/precision"] == 0.0
            assert s.metrics[f"test/{view}/{fam}/f1"] == 0.0
    assert all(math.isfinite(v) for v in s.metrics.values())


def test_metric_keys_are_the_same_whatever_the_input():
    gold, pred = hand_docs()
    units = [split_units(d.text) for d in gold]
    full = score(gold, pred, units, bootstrap=10)
    nothing = score([], [], [], bootstrap=10)
    no_spans = score(
        [Document("x", "no names here")],
        [{"entities": [], "triggers": []}],
        [split_units("no names here")],
        bootstrap=10,
    )
    assert set(full.metrics) == set(nothing.metrics) == set(no_spans.metrics)
    assert all(v == 0.0 for v in all_scores(nothing.metrics).values())
    assert all(math.isfinite(v) for v in no_spans.metrics.values())
    assert "test/entities/span/f1_ci_low" not in score(gold, pred, units, bootstrap=0).metrics


def test_pred_tags_trigger_labels_default_to_the_trigger_spans_labels():
    scores_given, _, _ = score_cases(list(CASES))
    docs, units, tags, spans = [], [], [], []
    for i, name in enumerate(CASES):
        doc, u = tag_doc(f"d{i}", CASES[name][0])
        docs.append(doc)
        units.append(u)
        tags.append(CASES[name][1])
        dec = decode_spans(u, CASES[name][1])
        spans.append(
            {
                "entities": [s for s in dec if s.label not in TRIGGERS],
                "triggers": [s for s in dec if s.label in TRIGGERS],
            }
        )
    inferred = score(docs, spans, units, pred_tags=tags, bootstrap=0)
    assert inferred.metrics == scores_given.metrics


def test_bootstrap_interval_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 5, size=(200, 3))
    lo, hi = bootstrap_f1(counts, 500, seed=3)
    tp, fp, fn = counts.sum(axis=0)
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert lo < f1 < hi
    assert (lo, hi) == bootstrap_f1(counts, 500, seed=3)
    assert (lo, hi) != bootstrap_f1(counts, 500, seed=4)
    assert bootstrap_f1(np.zeros((0, 3)), 100, 0) == (0.0, 0.0)
    # resampling runs in chunks whatever the corpus size, and draws every sample
    sizes = [t[0].shape[0] for t in resampled_totals([np.ones((300_000, 3))], 7, 0)]
    assert sum(sizes) == 7 and max(sizes) <= 4


def test_paired_bootstrap():
    rng = np.random.default_rng(0)
    gold_per_doc = rng.integers(1, 4, size=60)
    good = np.stack([gold_per_doc, np.zeros(60, int), np.zeros(60, int)], axis=1)
    bad = np.stack([gold_per_doc // 3, gold_per_doc, gold_per_doc - gold_per_doc // 3], axis=1)
    same = paired_bootstrap(good, good, 300, 0)
    assert same["delta"] == 0.0 and same["p_value"] == 1.0
    res = paired_bootstrap(good, bad, 300, 0)
    assert res["f1_a"] == 1.0 and res["delta"] > 0.5
    assert res["p_value"] == pytest.approx(1 / 301)
    assert res["delta_ci_low"] > 0
    # a small noisy difference is not significant
    a = rng.integers(0, 3, size=(40, 3))
    b = a.copy()
    b[0] = [a[0, 0], a[0, 1] + 1, a[0, 2]]
    assert paired_bootstrap(a, b, 300, 0)["p_value"] > 0.2
    with pytest.raises(ValueError, match="shape"):
        paired_bootstrap(a, b[:5], 10, 0)


def test_overlapping_predicted_spans_left_out_of_the_tags_are_counted_and_reported():
    from araevent.reporting import report_markdown

    text = "Ahmed met Sara in Cairo and Paris yesterday"
    gold = [Document("o1", text, [Span(18, 23, "GPE")], [])]
    # two overlapping predictions: «Cairo» (right) and «in Cairo»; one tag sequence holds one
    pred = [{"entities": [Span(18, 23, "GPE"), Span(15, 23, "GPE")], "triggers": []}]
    s = score(gold, pred, [split_units(text)], bootstrap=0)
    assert s.metrics["test/entities/span/precision"] == 0.5
    assert s.metrics["test/entities/span/recall"] == 1.0
    assert s.metrics["test/entities/seqeval_strict/f1"] == 0.0  # «in Cairo» was tagged
    assert s.counts["entities/overlapping_predicted_not_in_tags"] == 1
    assert s.counts["entities/overlapping_gold_not_in_tags"] == 0
    report = report_markdown("r", {"test": s})
    assert "1 predicted spans overlap a longer one of their layer" in report
    clean = score(gold, [{"entities": [Span(18, 23, "GPE")], "triggers": []}], [split_units(text)])
    assert clean.counts["entities/overlapping_predicted_not_in_tags"] == 0
    assert "overlap a longer one" not in report_markdown("r", {"test": clean})


# «في القاهرة وبغداد»: the corpus has 3 tokens; araevent's units split the proclitic و
TOKEN_TEXT = "في القاهرة وبغداد"
TOKENS = [[0, 2], [3, 10], [11, 17]]
FINE_UNITS = [Unit(a, b, TOKEN_TEXT[a:b]) for a, b in ((0, 2), (3, 10), (11, 12), (12, 17))]


def token_doc(tokens=TOKENS) -> Document:
    extra = {} if tokens is None else {"tokens": tokens}
    return Document("t1", TOKEN_TEXT, [Span(3, 10, "GPE"), Span(11, 17, "GPE")], [], extra)


def test_token_level_corpora_are_also_scored_over_their_own_tokens():
    from araevent.reporting import main_table, report_markdown

    pred = [{"entities": [Span(3, 10, "GPE"), Span(12, 17, "GPE")], "triggers": []}]
    s = score([token_doc()], pred, [FINE_UNITS], bootstrap=0)
    m = s.metrics
    # over araevent's units «بغداد» is not «وبغداد»: TP 1, FP 1, FN 1
    assert m["test/entities/seqeval_strict/f1"] == 0.5
    assert m["test/entities/span/f1"] == 0.5
    # over the corpus tokens the prediction covers the token «وبغداد»
    assert m["test/entities/seqeval_strict_tokens/f1"] == 1.0
    assert m["test/overall/seqeval_strict_tokens/f1"] == 1.0
    assert m["test/entities/seqeval_strict_tokens/support"] == 2
    assert s.counts["tokens"] == 3
    assert s.counts["tokens/entities/predicted_widened"] == 1
    assert s.counts["tokens/entities/predicted_inside_token"] == 1
    assert s.counts["tokens/entities/gold_widened"] == 0
    assert s.counts["tokens/entities/predicted_no_token"] == 0
    assert s.per_type["entities"]["seqeval_strict_tokens"]["GPE"]["f1"] == 1.0
    table = main_table(m, "test")
    assert "tokens strict F1" in table.splitlines()[0]
    assert "| 100.0 | 2 |" in table.splitlines()[2]
    report = report_markdown("r", {"test": s})
    assert "comparable with published results" in report
    assert "1 predicted spans were not on token edges and were widened (1 of them inside" in report
    # without corpus tokens there is no token view, and its keys are absent
    plain = score([token_doc(None)], pred, [FINE_UNITS], bootstrap=0)
    assert not any("seqeval_strict_tokens" in k for k in plain.metrics)
    assert "tokens strict F1" not in main_table(plain.metrics, "test")
    assert "comparable with published results" not in report_markdown("r", {"test": plain})


def test_two_predictions_inside_one_token_are_counted_when_merged():
    pred = [
        {"entities": [Span(3, 10, "GPE"), Span(11, 12, "ORG"), Span(12, 17, "GPE")], "triggers": []}
    ]
    s = score([token_doc()], pred, [FINE_UNITS], bootstrap=10)
    assert s.counts["tokens/entities/predicted_inside_token"] == 2
    assert s.counts["tokens/entities/predicted_merged"] == 1
    # both widen to «وبغداد»; on equal extents the label order decides: GPE is kept
    assert s.metrics["test/entities/seqeval_strict_tokens/f1"] == 1.0
    assert s.metrics["test/entities/seqeval_strict_tokens/precision"] == 1.0
    assert "test/entities/seqeval_strict_tokens/f1_ci_low" in s.metrics


@pytest.mark.parametrize(
    ("tokens", "bad"),
    [([[0, 2], [1, 10]], "tokens[1] is [1, 10]"), ([[0, 99]], "tokens[0]"), ("0-2", "not a list")],
)
def test_malformed_corpus_tokens_are_one_clear_error(tokens, bad):
    with pytest.raises(DataError) as err:
        score([token_doc(tokens)], [{"entities": [], "triggers": []}], [FINE_UNITS], bootstrap=0)
    msg = str(err.value)
    assert msg.startswith("t1: ") and bad in msg
    assert "(tokens are [start, end] offsets into text, in order, not overlapping)" in msg


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "default"])
def test_scores_equal_seqevals_classification_report_bit_for_bit(strict):
    """Both readings and the arithmetic give seqeval's report exactly, ill-formed tags included."""
    rng = np.random.default_rng(7)
    tags = ["O", "B-PER", "I-PER", "B-Life-Die", "I-Life-Die", "B-ORG", "I-ORG"]
    kw = {"mode": "strict", "scheme": IOB2} if strict else {}
    compared = 0
    for trial in range(60):
        lengths = rng.integers(0, 9, size=int(rng.integers(1, 6)))
        gold = [[str(t) for t in rng.choice(tags, size=n)] for n in lengths]
        pred = [[str(t) for t in rng.choice(tags, size=n)] for n in lengths]
        if trial % 4 == 0:
            pred = [list(g) for g in gold]
        if trial % 7 == 0:  # no gold span: weighted averages take seqeval's zero
            gold = [["O"] * n for n in lengths]
        ours = seqeval_scores(gold, pred, strict=strict)
        if not ours["per_type"]:  # no span on either side: the scorer's zeros
            continue
        ref = classification_report(gold, pred, output_dict=True, zero_division=0, **kw)
        for name, row in ref.items():
            got = ours[name.split()[0]] if name.endswith(" avg") else ours["per_type"][name]
            assert (got["precision"], got["recall"], got["f1"], got["support"]) == (
                row["precision"],
                row["recall"],
                row["f1-score"],
                row["support"],
            ), (gold, pred, name)
        assert set(ours["per_type"]) == {n for n in ref if not n.endswith(" avg")}
        compared += 1
    assert compared > 40


def test_scoring_does_not_import_scikit_learn():
    """seqeval.metrics pulls in scikit-learn (about a second); the scorer does not need it."""
    code = (
        "import sys; from araevent.evaluation import seqeval_scores; "
        "seqeval_scores([['B-PER', 'I-PER', 'O']], [['B-PER', 'O', 'O']], strict=True); "
        "seqeval_scores([['B-PER', 'I-PER', 'O']], [['I-PER', 'O', 'O']], strict=False); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
