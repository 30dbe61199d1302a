"""Orthographic perturbations: offset maps carry every span; hand-checked examples."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from araevent.perturb import (
    DIRECTION_MARKS,
    NAMES,
    PERTURBATIONS,
    SHORT_VOWELS,
    Edit,
    apply_edits,
    augment_documents,
    perturb_corpus,
    perturb_document,
    perturb_text,
    perturbation_edits,
    resolve,
)
from araevent.schema import Argument, Document, Span
from araevent.text import DIACRITICS, TATWEEL, KnownWords

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآةى"
MARKS = "\u064e\u064f\u0650\u0651\u0652\u064b" + TATWEEL + "\u200f\u200c"
words = st.one_of(
    st.text(alphabet=LETTERS + MARKS, min_size=1, max_size=7),
    st.sampled_from(["وروسيا", "و", "ف", "فرنسا", "في", "مدرسة", "١٢", "2024", "وبالقاهرة"]),
)
separators = st.sampled_from([" ", "  ", "، ", "؛ ", "؟ ", ", ", "? ", "\n", ". "])
texts = st.builds(
    lambda ws, ss: "".join(w + s for w, s in zip(ws, ss, strict=False)),
    st.lists(words, min_size=1, max_size=10),
    st.lists(separators, min_size=10, max_size=10),
)
KNOWN = KnownWords.shipped()


def reference(text: str, edits: list[Edit], s: int, e: int) -> str:
    """The span's text with the edits that fall inside it applied (plain string surgery)."""
    inside = []
    for ed in edits:
        if ed.start == ed.end:
            p = ed.start
            if s < p < e or (p == s and ed.attach == "right") or (p == e and ed.attach == "left"):
                inside.append(ed)
        elif s <= ed.start and ed.end <= e:
            inside.append(ed)
    out = text[s:e]
    # right to left, so earlier offsets stay valid; at one offset, insert the last first
    order = {"left": 0, "none": 1, "right": 2}
    for ed in sorted(inside, key=lambda x: (x.start, x.end > x.start, order[x.attach]))[::-1]:
        out = out[: ed.start - s] + ed.text + out[ed.end - s :]
    return out


@settings(max_examples=60, deadline=None)
@given(
    text=texts,
    name=st.sampled_from(NAMES),
    rate=st.floats(0.0, 1.0),
    seed=st.integers(0, 3),
    bounds=st.lists(st.tuples(st.integers(0, 80), st.integers(1, 12)), max_size=6),
)
def test_every_span_moves_with_its_text(text, name, rate, seed, bounds):
    edits = perturbation_edits(text, name, rate=rate, seed=seed, key="d", known=KNOWN)
    new, m = apply_edits(text, edits)
    assert (new, m) == perturb_text(text, name, rate=rate, seed=seed, key="d", known=KNOWN)
    cut_edges = {k for ed in edits for k in range(ed.start + 1, ed.end)}
    for a, length in bounds:
        s, e = min(a, len(text) - 1), min(a + length, len(text))
        got = m.span(s, e)
        if got is None:  # destroyed: an edge inside a replacement, or nothing left
            assert s in cut_edges or e in cut_edges or reference(text, edits, s, e) == ""
            continue
        ns, ne = got
        assert 0 <= ns < ne <= len(new)
        assert new[ns:ne] == reference(text, edits, s, e)
    # it touches only the characters it names
    removed = Counter(text) - Counter(new)
    added = Counter(new) - Counter(text)
    p = PERTURBATIONS[name]
    assert p.removes is None or set(removed) <= p.removes
    assert p.removes is not None or all("\u0621" <= c <= "\u064a" for c in removed)
    assert set(added) <= p.adds


@settings(max_examples=30, deadline=None)
@given(text=texts, name=st.sampled_from(NAMES), seed=st.integers(0, 10))
def test_rate_zero_is_the_identity_and_a_seed_repeats(text, name, seed):
    new, m = perturb_text(text, name, rate=0.0, seed=seed, known=KNOWN)
    assert new == text
    assert all(m.span(s, s + 1) == (s, s + 1) for s in range(len(text)))
    once = perturb_text(text, name, rate=0.5, seed=seed, key="x", known=KNOWN)
    assert perturb_text(text, name, rate=0.5, seed=seed, key="x", known=KNOWN) == once


@settings(max_examples=30, deadline=None)
@given(text=texts)
def test_character_maps_at_rate_one_are_functions_of_the_span_text(text):
    """At rate 1 a character map changes every character it names, inside any span."""
    for name, f in {
        "diacritics_strip": lambda w: "".join(c for c in w if c not in DIACRITICS),
        "hamza": lambda w: w.translate(str.maketrans("أإآ", "ااا")),
        "punctuation": lambda w: w.translate(str.maketrans("،؛؟,;?", ",;?،؛؟")),
        "digits": lambda w: w.translate(
            str.maketrans("0123456789٠١٢٣٤٥٦٧٨٩", "٠١٢٣٤٥٦٧٨٩0123456789")
        ),
    }.items():
        new, m = perturb_text(text, name, rate=1.0, known=KNOWN)
        assert new == f(text)
        for s in range(len(text)):
            got = m.span(s, len(text))
            if got is not None:
                assert new[got[0] : got[1]] == f(text[s:])


def doc(text: str, entities=(), triggers=()) -> Document:
    def spans(items):
        out = []
        for item in items:
            word, label = item[:2]
            s = text.index(word)
            args = None
            if len(item) == 3:
                args = tuple(Argument(text.index(w), text.index(w) + len(w), r) for w, r in item[2])
            out.append(Span(s, s + len(word), label, arguments=args))
        return out

    return Document("d1", text, spans(entities), spans(triggers))


def texts_of(d: Document) -> dict[str, list[str]]:
    out = {
        "entities": [d.text[s.start : s.end] for s in d.entities],
        "triggers": [d.text[s.start : s.end] for s in d.triggers],
    }
    out["arguments"] = [d.text[a.start : a.end] for t in d.triggers for a in t.arguments or ()]
    return out


def test_strip_diacritics_example():
    d = doc("قَصَفَتْ الطائراتُ حلبَ", [("حلبَ", "GPE")], [("قَصَفَتْ", "Conflict:Attack")])
    new, stats = perturb_document(d, "diacritics_strip")
    assert new.text == "قصفت الطائرات حلب"
    assert texts_of(new)["entities"] == ["حلب"] and texts_of(new)["triggers"] == ["قصفت"]
    assert stats["changed/entities"] == 1 and stats["changed/triggers"] == 1


def test_add_diacritics_example():
    d = doc("قصف حلب", [("حلب", "GPE")])
    new, _ = perturb_document(d, "diacritics_add", rate=1.0)
    assert [new.text[i] in SHORT_VOWELS for i in range(1, len(new.text), 2)[:3]] == [True] * 3
    assert "".join(c for c in new.text if c not in SHORT_VOWELS) == d.text
    (ent,) = new.entities  # the vowel on the last letter belongs to the span
    assert ent.end == len(new.text) and new.text[ent.start] == "ح"


def test_tatweel_example():
    d = doc("اعتقال محمد", [("محمد", "PER")], [("اعتقال", "Justice:Arrest-Jail")])
    new, _ = perturb_document(d, "tatweel", rate=1.0)
    # no tatweel after ا or before the space; one between every other pair of letters
    assert new.text == "اعـتـقـال مـحـمـد"
    assert texts_of(new) == {"entities": ["مـحـمـد"], "triggers": ["اعـتـقـال"], "arguments": []}


def test_digits_example():
    d = doc("قتل ٤٥ شخصا عام 2014", [("٤٥", "NUM"), ("2014", "TIME")])
    new, _ = perturb_document(d, "digits")
    assert new.text == "قتل 45 شخصا عام ٢٠١٤"
    assert texts_of(new)["entities"] == ["45", "٢٠١٤"]


def test_hamza_example():
    d = doc("أعلن إبراهيم", [("إبراهيم", "PER")], [("أعلن", "Contact:Meet")])
    new, _ = perturb_document(d, "hamza")
    assert new.text == "اعلن ابراهيم"
    assert texts_of(new)["entities"] == ["ابراهيم"]


def test_ya_example():
    d = doc("وصل إلى دبي في المساء", [("دبي", "GPE")])
    new, _ = perturb_document(d, "ya")
    # final ي ↔ ى, both ways; the ي inside «في»'s neighbours is left alone
    assert new.text == "وصل إلي دبى فى المساء"
    assert texts_of(new)["entities"] == ["دبى"]


def test_ta_marbuta_example():
    d = doc("قصفت مدرسة في غزة", [("غزة", "GPE")], [("قصفت", "Conflict:Attack")])
    new, stats = perturb_document(d, "ta_marbuta")
    assert new.text == "قصفت مدرسه في غزه"
    assert texts_of(new)["entities"] == ["غزه"] and stats["changed/entities"] == 1
    assert stats["changed/triggers"] == 0


def test_conjunction_example():
    d = doc("زار وروسيا و فرنسا", [("روسيا", "GPE"), ("فرنسا", "GPE")])
    new, _ = perturb_document(d, "conjunction", known=KNOWN.union(["روسيا", "فرنسا"]))
    assert new.text == "زار و روسيا وفرنسا"
    assert texts_of(new)["entities"] == ["روسيا", "فرنسا"]


def test_punctuation_example():
    d = doc("هل قتل؟ نعم، قتل; وانتهى", triggers=[("قتل؟", "Life:Die")])
    new, _ = perturb_document(d, "punctuation")
    assert new.text == "هل قتل? نعم, قتل؛ وانتهى"
    assert texts_of(new)["triggers"] == ["قتل?"]


def test_direction_marks_example():
    d = doc("قصف حلب", [("حلب", "GPE")])
    new, _ = perturb_document(d, "direction_marks", rate=1.0)
    assert "".join(c for c in new.text if c not in DIRECTION_MARKS) == d.text
    # two marks inside each word, one after each word: 6 in all
    assert sum(c in DIRECTION_MARKS for c in new.text) == 6
    (ent,) = new.entities  # the mark after the word is outside the span
    assert new.text[ent.start] == "ح" and new.text[ent.end - 1] == "ب"
    assert new.text[ent.end :] in DIRECTION_MARKS


def test_noise_destroys_a_span_a_swap_cuts_and_keeps_the_others():
    d = doc("ومصر فيها", [("مصر", "GPE")], [("فيها", "X", [("مصر", "Place")])])
    d.entities = [Span(1, 4, "GPE")]
    d.triggers = [Span(5, 9, "X", arguments=(Argument(1, 4, "Place"),))]
    seen = set()
    for seed in range(200):
        new, stats = perturb_document(d, "noise", rate=1.0, seed=seed)
        word = new.text.split(" ")[0]
        if word == "موصر":  # the swap across the proclitic edge: the span cannot be carried
            assert new.entities == [] and stats["destroyed/entities"] == 1
            assert stats["destroyed/arguments"] == 1 and new.triggers[0].arguments == ()
            seen.add("swap")
        if word == "وصر":  # a deleted letter: the span keeps its label, one letter shorter
            assert texts_of(new)["entities"] == ["صر"] and new.entities[0].label == "GPE"
            assert stats["changed/entities"] == 1 and stats["destroyed/entities"] == 0
            seen.add("delete")
    assert seen == {"swap", "delete"}


def test_an_edge_inside_a_replacement_is_cut():
    new, m = apply_edits("ab cd", [Edit(1, 3, "x")])
    assert new == "axcd"
    assert m.span(0, 1) == (0, 1) and m.span(3, 5) == (2, 4) and m.span(0, 3) == (0, 2)
    assert m.span(0, 2) is None and m.span(2, 4) is None  # an edge at 2, inside «b »


def test_corpus_is_seeded_per_document_and_arguments_move():
    docs = [
        doc("قصف الطيران مدرسة في حلب", [("حلب", "GPE")], [("قصف", "A", [("حلب", "Place")])]),
        doc("أعلن إبراهيم", [("إبراهيم", "PER")]),
    ]
    docs[1].id = "d2"
    first, stats = perturb_corpus(docs, "tatweel", rate=1.0, seed=3)
    again, _ = perturb_corpus(docs[::-1], "tatweel", rate=1.0, seed=3)
    assert [d.text for d in first] == [d.text for d in again[::-1]]
    assert texts_of(first[0])["arguments"] == ["حـلـب"]
    assert stats["changed/entities"] == 2 and stats["changed/arguments"] == 1


def test_resolve_names():
    assert resolve("all") == list(NAMES) and len(NAMES) == 11
    assert resolve("noise,hamza") == ["hamza", "noise"]
    with pytest.raises(ValueError, match="unknown perturbation nope; choose all or any of"):
        resolve("hamza,nope")
    with pytest.raises(ValueError, match="rate 1.5 is not between 0 and 1"):
        perturb_text("نص", "hamza", rate=1.5)


def test_augmentation_is_seeded_per_epoch_and_keeps_the_spans():
    docs = [
        Document(str(i), "أعلن إبراهيم في غزة", [Span(5, 12, "PER"), Span(16, 19, "GPE")])
        for i in range(20)
    ]
    first, stats = augment_documents(docs, ["hamza", "ta_marbuta"], 0.5, seed=1, epoch=0)
    again, _ = augment_documents(docs, ["hamza", "ta_marbuta"], 0.5, seed=1, epoch=0)
    other, _ = augment_documents(docs, ["hamza", "ta_marbuta"], 0.5, seed=1, epoch=1)
    assert [d.text for d in first] == [d.text for d in again]
    assert [d.text for d in first] != [d.text for d in other]
    changed = [d for d in first if d.text != docs[0].text]
    assert len(changed) == stats["augmented/hamza"] + stats["augmented/ta_marbuta"]
    assert 0 < len(changed) < 20
    assert {d.text for d in changed} == {"اعلن ابراهيم في غزة", "أعلن إبراهيم في غزه"}
    for d in first:
        assert [d.text[s.start : s.end] for s in d.entities][0] in ("إبراهيم", "ابراهيم")
    assert augment_documents(docs, ["hamza"], 0.0)[0] == docs
    with pytest.raises(ValueError, match="probability 2 is not between 0 and 1"):
        augment_documents(docs, ["hamza"], 2)
