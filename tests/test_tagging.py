"""Spans ⇄ IOB2 unit tags, the span decoder, Viterbi, subwords and windows."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from araevent.schema import Document, Span
from araevent.tagging import (
    LabelSchema,
    OffBoundary,
    allowed_transitions,
    choose_windows,
    decode_spans,
    make_windows,
    spans_to_tags,
    split_tag,
    tag_document,
    unit_subwords,
    viterbi,
    window_features,
)
from araevent.text import Unit, is_base, split_units

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآة"
DIACRITICS = "\u064e\u064f\u0650\u0651\u0652\u064b"
TATWEEL = "\u0640"
PUNCT = "،؛؟«».!:-"
PROCLITIC_WORDS = ["وروسيا", "بالقاهرة", "للجنة", "والرئيس", "فالحكومة", "كالعادة", "لل" + "وزير"]
LABELS = ["PER", "ORG", "GPE", "Conflict:Attack", "Life:Die"]

words = st.one_of(
    st.text(alphabet=LETTERS + DIACRITICS + TATWEEL, min_size=1, max_size=6),
    st.builds(
        lambda p, w: p + w,
        st.sampled_from(["و", "ب", "ل", "ف", "ك", "وب", "ال", "بال"]),
        st.text(alphabet=LETTERS, min_size=2, max_size=6),
    ),
    st.sampled_from(PROCLITIC_WORDS),
)
# format characters and a diacritic at a word's edges: spans align to the visible extent
FORMAT = ["\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\ufeff"]
words = words | st.builds(
    lambda pre, w, post: pre + w + post,
    st.sampled_from(["", *FORMAT, "\u064e", "\u200f\u064e"]),
    words,
    st.sampled_from(["", *FORMAT, "\u064e"]),
)
separators = st.sampled_from([" ", "  ", "\n", " ، ", "«", "» ", ".", "؟ ", TATWEEL + " "])
texts = st.builds(
    lambda ws, ss: "".join(w + s for w, s in zip(ws, ss, strict=False)),
    st.lists(words, min_size=1, max_size=14),
    st.lists(separators, min_size=14, max_size=14),
)


@st.composite
def text_with_aligned_spans(draw):
    """A random text and random non-overlapping spans whose ends are unit ends."""
    text = draw(texts)
    units = split_units(text)
    spans = []
    i = 0
    while i < len(units):
        i += draw(st.integers(0, 3))
        if i >= len(units):
            break
        j = min(len(units) - 1, i + draw(st.integers(0, 3)))
        spans.append(Span(units[i].start, units[j].end, draw(st.sampled_from(LABELS))))
        i = j + 1
    return text, units, spans


def visible(units, span: Span) -> Span | None:
    """``span`` cut to the visible extent of its units (None: it holds only invisible ones)."""
    cores = [u.core for u in units if span.start <= u.start and u.end <= span.end and u.core]
    return Span(cores[0][0], cores[-1][1], span.label) if cores else None


@settings(max_examples=200, deadline=None)
@given(text_with_aligned_spans())
def test_spans_to_tags_to_spans_is_lossless(case):
    text, units, spans = case
    tags, off = spans_to_tags(units, spans, doc_id="d")
    visible_spans = [v for v in (visible(units, s) for s in spans) if v]
    invisible = [s for s in spans if visible(units, s) is None]
    assert off == [OffBoundary("d", "entities", s, "holds no visible character") for s in invisible]
    assert len(tags) == len(units)
    decoded = decode_spans(units, tags)
    assert [s.key for s in decoded] == [s.key for s in visible_spans]
    # the decoded (visible) spans tag the same units: decoding is a fixed point
    again, off_again = spans_to_tags(units, decoded, doc_id="d")
    assert off_again == [] and decode_spans(units, again) == decoded


def expected_alignment(text: str, units, a: int, b: int) -> tuple[bool, bool, Span | None]:
    """By characters: ``(starts ok, ends ok, decoded span)`` of a span ``[a, b)``.

    Its first base character must be a unit's first base, with only format
    characters and marks before it (or ``a`` a unit's start); the same at the end.
    """
    bases = [p for p in range(a, b) if is_base(text[p])]
    if not bases:
        return False, False, None
    f, last = bases[0], bases[-1]
    unit_of = {p: u for u in units for p in range(u.start, u.end)}
    starts_ok = unit_of[f].bases[0] == f and (
        a in {u.start for u in units} or not any(c.isspace() for c in text[a:f])
    )
    ends_ok = unit_of[last].bases[1] == last and (
        b in {u.end for u in units} or not any(c.isspace() for c in text[last + 1 : b])
    )
    return starts_ok, ends_ok, Span(f, unit_of[last].core[1], "X")


@settings(max_examples=300, deadline=None)
@given(texts, st.data())
def test_off_boundary_spans_are_reported_never_moved(text, data):
    units = split_units(text)
    a = data.draw(st.integers(0, len(text) - 1))
    b = data.draw(st.integers(a + 1, len(text)))
    span = Span(a, b, "X")
    tags, off = spans_to_tags(units, [span], doc_id="d", layer="entities")
    starts_ok, ends_ok, decoded = expected_alignment(text, units, a, b)
    if starts_ok and ends_ok:
        assert off == [] and decode_spans(units, tags) == [decoded]
    else:
        (o,) = off
        assert o.span == span and o.doc_id == "d" and o.layer == "entities"
        if decoded is None:  # only marks or format characters: inside a unit or alone
            assert o.reason == "holds no visible character" or "inside unit" in o.reason
        else:
            assert ("starts" in o.reason) == (not starts_ok)
            assert ("ends" in o.reason) == (not ends_ok)
        assert tags == ["O"] * len(units)  # dropped, not nudged to the nearest unit


def test_off_boundary_reasons_and_description():
    text = "زار الوزيرة بيروت"
    units = split_units(text)
    tags, off = spans_to_tags(units, [Span(4, 10, "PER"), Span(12, 17, "GPE")], doc_id="d1")
    (o,) = off
    assert o.describe(text) == "d1: entities span [4, 10) PER «الوزير»: ends inside unit «الوزيرة»"
    assert tags == ["O", "O", "B-GPE"]
    _, off = spans_to_tags(units, [Span(3, 12, "PER")], doc_id="d1", layer="triggers")
    assert off[0].reason == (
        "starts at whitespace, not at a unit edge; ends at whitespace, not at a unit edge"
    )


def test_collision_trigger_wins_and_entity_is_dropped_whole():
    text = "هجوم بغداد الدامي أمس"
    units = split_units(text)
    doc = Document(
        "c",
        text,
        entities=[Span(0, 10, "ORG"), Span(18, 21, "X")],  # «هجوم بغداد» overlaps the trigger
        triggers=[Span(0, 4, "Conflict:Attack")],
    )
    tagged = tag_document(doc, units)
    assert tagged.tags == ["B-Conflict:Attack", "O", "O", "B-X"]  # never «I-ORG» alone
    assert tagged.collisions == [Span(0, 10, "ORG")]
    only_entities = tag_document(doc, units, layers=("entities",))
    assert only_entities.tags == ["B-ORG", "I-ORG", "O", "B-X"] and only_entities.collisions == []


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["O", "I-PER", "I-PER", "O"], [(1, 3, "PER")]),  # orphan I- opens a span
        (["B-A", "I-B"], [(0, 1, "A"), (1, 2, "B")]),  # a type change closes the span
        (["B-A", "B-A"], [(0, 1, "A"), (1, 2, "A")]),
        (["B-A", "I-A", "O", "I-A"], [(0, 2, "A"), (3, 4, "A")]),
        (["O", "O"], []),
        (["I-Life:Die"], [(0, 1, "Life:Die")]),
    ],
)
def test_decode_spans_hand_cases(tags, expected):
    units = [Unit(i, i + 1, "x") for i in range(len(tags))]
    assert [s.key for s in decode_spans(units, tags)] == expected


def test_decode_spans_use_unit_offsets_and_mean_scores():
    text = "في  مدينة\u0640 حلب"
    units = split_units(text)
    spans = decode_spans(units, ["O", "B-GPE", "I-GPE"], scores=[0.1, 0.5, 0.7])
    assert [text[s.start : s.end] for s in spans] == ["مدينة\u0640 حلب"]
    assert spans[0].score == pytest.approx(0.6)


SCHEMA = LabelSchema.build(["PER", "GPE"], ["Conflict:Attack"])


def _valid(path_tags):
    prev = "O"
    for t in path_tags:
        p, label = split_tag(t)
        if p == "I":
            pp, pl = split_tag(prev)
            if pp not in ("B", "I") or pl != label:
                return False
        prev = t
    return True


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_viterbi_never_yields_invalid_iob2(n, seed):
    rng = np.random.default_rng(seed)
    tags = SCHEMA.tags
    logits = rng.normal(size=(n, len(tags))) * 3
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    start_ok, trans_ok = allowed_transitions(tags)
    path = viterbi(log_probs, start_ok, trans_ok)
    assert len(path) == n
    assert _valid([tags[i] for i in path])
    argmax = [int(i) for i in log_probs.argmax(axis=1)]
    if _valid([tags[i] for i in argmax]):
        assert path == argmax


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_viterbi_equals_argmax_when_argmax_is_valid(n, seed):
    rng = np.random.default_rng(seed)
    tags = SCHEMA.tags
    # a random valid sequence, made the strict per-unit argmax
    seq, prev = [], "O"
    for _ in range(n):
        choices = [t for t in tags if not t.startswith("I-") or t[2:] == prev[2:]]
        prev = choices[rng.integers(len(choices))]
        seq.append(tags.index(prev))
    log_probs = rng.uniform(-6, -1, size=(n, len(tags)))
    log_probs[np.arange(n), seq] = 0.0
    start_ok, trans_ok = allowed_transitions(tags)
    assert viterbi(log_probs, start_ok, trans_ok) == seq


def test_viterbi_fixes_an_orphan_i():
    tags = SCHEMA.tags
    start_ok, trans_ok = allowed_transitions(tags)
    lp = np.full((2, len(tags)), -5.0)
    lp[0, tags.index("O")] = -0.1
    lp[1, tags.index("I-PER")] = -0.2
    lp[1, tags.index("B-PER")] = -0.3
    assert [tags[i] for i in viterbi(lp, start_ok, trans_ok)] == ["O", "B-PER"]
    assert viterbi(np.zeros((0, len(tags))), start_ok, trans_ok) == []


def test_label_schema():
    assert SCHEMA.tags[:3] == ["O", "B-GPE", "I-GPE"]
    assert SCHEMA.layer_of("Conflict:Attack") == "triggers"
    assert SCHEMA.id2label[0] == "O" and SCHEMA.label2id["I-Conflict:Attack"] == 6
    with pytest.raises(ValueError, match="both layers"):
        LabelSchema.build(["X"], ["X"])


# --- windows ---------------------------------------------------------------------------


@st.composite
def window_case(draw):
    cap = draw(st.integers(1, 12))
    stride = draw(st.integers(0, cap - 1))
    counts = draw(st.lists(st.integers(1, cap), min_size=0, max_size=40))
    return counts, cap, stride


@settings(max_examples=200, deadline=None)
@given(window_case())
def test_windows_cover_every_unit_within_cap_and_stride(case):
    counts, cap, stride = case
    windows = make_windows(counts, cap, stride)
    if not counts:
        assert windows == [(0, 0)]
        return
    covered = set()
    for a, b in windows:
        assert a < b
        assert sum(counts[a:b]) <= cap
        covered.update(range(a, b))
    assert covered == set(range(len(counts)))
    for (a1, b1), (a2, _) in zip(windows, windows[1:], strict=False):
        assert a1 < a2 <= b1  # forward, no gap
        assert sum(counts[a2:b1]) <= stride


def test_every_window_adds_a_unit():
    windows = make_windows([1, 1, 2], 2, 1)
    assert all(b1 < b2 for (_, b1), (_, b2) in zip(windows, windows[1:], strict=False))


@settings(max_examples=200, deadline=None)
@given(window_case())
def test_chosen_window_is_farthest_from_both_edges_ties_to_the_earlier(case):
    counts, cap, stride = case
    windows = make_windows(counts, cap, stride)
    owner = choose_windows(counts, windows)
    for i in range(len(counts)):
        best, best_w = -1, None
        for w, (a, b) in enumerate(windows):
            if a <= i < b:
                margin = min(sum(counts[a:i]), sum(counts[i + 1 : b]))
                if margin > best:
                    best, best_w = margin, w
        assert owner[i] == best_w


def test_unit_subwords_unk_for_empty_units_and_truncation():
    # units: 0 -> 2 subwords, 1 -> none (a lone tatweel), 2 -> 5 subwords, cap 3
    word_ids = [None, 0, 0, 2, 2, 2, 2, 2, None]
    ids = [101, 7, 8, 20, 21, 22, 23, 24, 102]
    groups, empty, truncated = unit_subwords(word_ids, ids, 3, unk_id=1, cap=3)
    assert groups == [[7, 8], [1], [20, 21, 22]]
    assert (empty, truncated) == (1, 1)


def test_window_features_label_only_first_subwords():
    from araevent.tagging import Encoding

    enc = Encoding(subwords=[[7, 8], [1], [20]], windows=[(0, 3)], owner=[0, 0, 0])
    f = window_features(enc, 0, cls_id=101, sep_id=102, tag_ids=[1, 0, 2])
    assert f["input_ids"] == [101, 7, 8, 1, 20, 102]
    assert f["first_positions"] == [1, 3, 4]
    assert f["labels"] == [-100, 1, -100, 0, 2, -100]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12))
def test_viterbi_shortcut_is_exact(seed, n):
    """Decoding takes the argmax path when it is valid IOB2: that is Viterbi's optimum too."""
    from araevent.evaluation import ill_formed
    from araevent.tagging import is_valid_path

    schema = LabelSchema.build(["PER", "ORG"], ["Conflict:Attack"])
    start_ok, trans_ok = allowed_transitions(schema.tags)
    rng = np.random.default_rng(seed)
    log_probs = np.log(rng.dirichlet(np.ones(len(schema.tags)), size=n))
    argmax = log_probs.argmax(axis=-1).tolist()
    valid = is_valid_path(argmax, start_ok, trans_ok)
    assert valid == (ill_formed([schema.tags[i] for i in argmax]) == 0)
    if valid:
        assert viterbi(log_probs, start_ok, trans_ok) == argmax


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 15), st.booleans())
def test_linear_iob2_viterbi_equals_the_generic_one(seed, n, peaked):
    from araevent.tagging import iob2_partners, viterbi_iob2

    schema = LabelSchema.build(["GPE", "ORG", "PER"], ["Conflict:Attack", "Life:Die"])
    constraints = allowed_transitions(schema.tags)
    rng = np.random.default_rng(seed)
    alpha = 0.05 if peaked else 1.0  # peaked rows make ties and orphan I- argmaxes likely
    log_probs = np.log(rng.dirichlet(np.full(len(schema.tags), alpha), size=n) + 1e-12)
    fast = viterbi_iob2(log_probs, iob2_partners(schema.tags))
    assert fast == viterbi(log_probs, *constraints)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 14), st.integers(0, 2**32 - 1)), max_size=6),
    st.booleans(),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_batched_viterbi_equals_the_per_unit_one(docs, peaked, single, rnd):
    """All sequences at once, any lengths (empty too), float32 or 64, any tag order."""
    from araevent.tagging import iob2_partners, viterbi_iob2, viterbi_iob2_batch

    tags = LabelSchema.build(["GPE", "ORG", "PER"], ["Conflict:Attack", "Life:Die"]).tags
    if rnd.random() < 0.3:  # not the O, B-X, I-X layout of LabelSchema
        rnd.shuffle(tags)
    partners = iob2_partners(tags)
    alpha = 0.05 if peaked else 1.0
    dtype = np.float32 if single else np.float64
    scores = [
        np.log(
            np.random.default_rng(seed).dirichlet(np.full(len(tags), alpha), size=n) + 1e-12
        ).astype(dtype)
        for n, seed in docs
    ]
    assert viterbi_iob2_batch(scores, partners) == [viterbi_iob2(s, partners) for s in scores]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2**32 - 1)), max_size=6))
def test_decoding_many_documents_equals_one_by_one(docs):
    from araevent.tagging import TagDecoder
    from reference_inference import reference_decode

    tags = SCHEMA.tags
    probs = [
        np.random.default_rng(seed).dirichlet(np.full(len(tags), 0.1), size=n).astype(np.float32)
        for n, seed in docs
    ]
    units = [[Unit(2 * i, 2 * i + 1, "x") for i in range(n)] for n, _ in docs]
    bounds = np.cumsum([0] + [n for n, _ in docs]).tolist()
    stacked = np.concatenate([*probs, np.zeros((0, len(tags)), np.float32)])
    for decoding in ("argmax", "viterbi"):
        got = TagDecoder(tags, decoding).decode_many(units, stacked, bounds)
        for (names, spans), u, p in zip(got, units, probs, strict=True):
            want_names, _, want_spans = reference_decode(tags, decoding, u, p)
            assert names == want_names and spans == want_spans


# --- format characters and marks at span edges --------------------------------

RLM, ZWNJ, BOM, FATHA = "\u200f", "\u200c", "\ufeff", "\u064e"


@pytest.mark.parametrize(
    ("text", "gold", "word"),
    [
        (f"قال {RLM}روسيا{RLM} أمس", (5, 10), "روسيا"),  # RLM before and after the word
        (f"قال {RLM}روسيا{RLM} أمس", (4, 11), "روسيا"),  # the same span, RLMs included
        (f"{BOM}روسيا تعلن", (1, 6), "روسيا"),  # a BOM at the start of the text
        (f"زار نامه{ZWNJ}ها أمس", (4, 11), f"نامه{ZWNJ}ها"),  # ZWNJ inside a word stays
        (f"زار {ZWNJ}روسيا", (5, 10), "روسيا"),  # ZWNJ at a word's start
        (f"أمس،{FATHA}روسيا", (5, 10), "روسيا"),  # a diacritic after punctuation
        (f"قال {FATHA}روسيا", (5, 10), "روسيا"),  # a diacritic at the start of a word
        (f"و{RLM}روسيا", (2, 7), "روسيا"),  # an RLM between proclitic and stem
        (f"قال مصرَ{RLM}", (4, 8), "مصرَ"),  # the word's own last diacritic stays in
    ],
)
def test_gold_spans_without_edge_format_characters_are_trainable(text, gold, word):
    units = split_units(text)
    doc = Document("d", text, entities=[Span(*gold, "GPE")])
    tagged = tag_document(doc, units)
    assert tagged.off_boundary == []
    assert [t for t in tagged.tags if t != "O"] == ["B-GPE"]
    (span,) = decode_spans(units, tagged.tags)
    assert text[span.start : span.end] == word  # never an RLM, BOM, ZWNJ or leading mark


def test_a_span_of_invisible_characters_only_is_reported_and_never_decoded():
    text = f"كلمة {RLM} كلمة"
    units = split_units(text)
    assert [u.text for u in units] == ["كلمة", RLM, "كلمة"] and units[1].core is None
    tags, off = spans_to_tags(units, [Span(5, 6, "X")], doc_id="d")
    assert [o.reason for o in off] == ["holds no visible character"] and tags == ["O"] * 3
    assert decode_spans(units, ["O", "B-X", "O"]) == []
    # a span over the RLM and a word is the word
    assert decode_spans(units, ["O", "B-X", "I-X"]) == [Span(7, 11, "X")]
    tags, off = spans_to_tags(units, [Span(5, 11, "X")], doc_id="d")
    assert off == [] and tags == ["O", "O", "B-X"]


def test_edge_reasons_name_the_unit_or_whitespace():
    text = f"قال {RLM}روسيا{RLM} أمس"
    units = split_units(text)
    _, off = spans_to_tags(units, [Span(6, 10, "X"), Span(3, 10, "Y")], doc_id="d")
    assert [o.reason for o in off] == [
        "starts at whitespace, not at a unit edge",
        f"starts inside unit «{RLM}روسيا{RLM}»",
    ]


@settings(max_examples=300, deadline=None)
@given(texts, st.data())
def test_decoded_spans_never_start_or_end_with_an_invisible_character(text, data):
    units = split_units(text)
    tags = data.draw(st.lists(st.sampled_from(["O", "B-A", "I-A", "B-B"]), min_size=len(units),
                              max_size=len(units)))  # fmt: skip
    for span in decode_spans(units, tags):
        first, last = text[span.start], text[span.end - 1]
        assert is_base(first), (text, span)  # no format character, no neighbour's mark
        assert unicodedata.category(last) != "Cf" and not last.isspace(), (text, span)
        # a mark at the end rides on a base character inside the span
        k = span.end - 1
        while not is_base(text[k]):
            assert unicodedata.category(text[k]) == "Mn"
            k -= 1
        assert k >= span.start
