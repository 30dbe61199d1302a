"""Units with offsets and per-unit normalisation (the proclitic table is test_proclitics.py)."""

from __future__ import annotations

import json
import unicodedata
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from araevent.text import (
    KnownWords,
    Normalization,
    Unit,
    is_punctuation,
    lookup_key,
    span_vocabulary,
    split_units,
)

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئىة"
DIACRITICS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670"
TATWEEL = "\u0640"
PUNCT = "،؛؟«».,!:()-"
SPACES = [" ", "  ", "\n", "\r\n", "\t", "\u00a0"]
PREFIXES = ["", "", "و", "ف", "ب", "ك", "ل", "وب", "فل", "ال", "بال", "وال", "لل", "ولل"]

stems = st.text(alphabet=LETTERS + DIACRITICS + TATWEEL, min_size=1, max_size=7)
words = st.builds(lambda p, s: p + s, st.sampled_from(PREFIXES), stems) | st.sampled_from(
    ["روسيا", "وروسيا", "بالقاهرة", "للجنة", "٢٠٢٤", "۱۲", "\u200f", TATWEEL, "ok", "x1"]
)
separators = (
    st.sampled_from(SPACES)
    | st.sampled_from(list(PUNCT))
    | st.builds(lambda a, b: a + b, st.sampled_from(SPACES), st.sampled_from(list(PUNCT)))
)
texts = st.builds(
    lambda ws, seps: "".join(w + s for w, s in zip(ws, seps, strict=False)),
    st.lists(words, min_size=0, max_size=12),
    st.lists(separators, min_size=12, max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_unit_offsets_always_slice_the_raw_text(text):
    units = split_units(text)
    covered = set()
    for u in units:
        assert u.text == text[u.start : u.end]
        assert u.start < u.end
        assert not any(ch.isspace() for ch in u.text)
        covered.update(range(u.start, u.end))
    assert all(a.end <= b.start for a, b in zip(units, units[1:], strict=False))
    # every non-space character is in exactly one unit; no space is in any
    assert covered == {i for i, ch in enumerate(text) if not ch.isspace()}
    # punctuation is always a unit of its own
    for u in units:
        if any(is_punctuation(ch) for ch in u.text):
            assert len(u.text) == 1


@settings(max_examples=200, deadline=None)
@given(texts)
def test_normalisation_only_drops_marks_and_maps_digits(text):
    norm = Normalization()
    digits = {
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
    for u in split_units(text):
        out = norm(u.text)
        expected = "".join(
            digits.get(c, c)
            for c in u.text
            if c not in DIACRITICS + TATWEEL and unicodedata.category(c) != "Cf"
        )
        assert out == expected  # no other change: hamza letters, ى, ة untouched by default
        assert norm(out) == out


def test_proclitic_units_with_offsets():
    text = "وروسيا بالقاهرة للجنة"
    got = [(u.start, u.end, u.text) for u in split_units(text)]
    assert got == [
        (0, 1, "و"),
        (1, 6, "روسيا"),
        (7, 8, "ب"),
        (8, 15, "القاهرة"),
        (16, 17, "ل"),
        (17, 21, "لجنة"),
    ]


def test_a_proclitic_unit_takes_its_diacritics():
    text = "وَرُوسْيَا"
    units = split_units(text)
    assert [u.text for u in units] == ["وَ", "رُوسْيَا"]
    assert units[0] == Unit(0, 2, "وَ")


def test_normalisation_strips_diacritics_and_tatweel():
    norm = Normalization()
    assert norm("قُتِلَ") == "قتل"
    assert norm("الرئيـــس") == "الرئيس"
    assert norm("مُحَمَّدٌ") == "محمد"


def test_normalisation_maps_hindi_and_persian_digits():
    norm = Normalization()
    assert norm("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert norm("۰۱۲۳۴۵۶۷۸۹") == "0123456789"
    assert Normalization(digits=False)("٢٠٢٤") == "٢٠٢٤"


def test_normalisation_folds_are_optional_and_off_by_default():
    norm = Normalization()
    assert norm("أإآٱ على مدرسة") == "أإآٱ على مدرسة"
    folded = Normalization(fold_alef=True, fold_ya=True, fold_ta_marbuta=True)
    assert folded("أإآٱ على مدرسة") == "اااا علي مدرسه"
    kept = Normalization(strip_diacritics=False, strip_tatweel=False)
    assert kept("قُتِـلَ") == "قُتِـلَ"
    assert set(norm.to_dict()) == {
        "strip_diacritics",
        "strip_tatweel",
        "strip_format",
        "digits",
        "fold_alef",
        "fold_ya",
        "fold_ta_marbuta",
    }


def test_never_nfkd_hamza_letters_stay_one_code_point():
    norm = Normalization()
    for ch in "أإآؤئ":
        assert len(unicodedata.normalize("NFKD", ch)) == 2  # what NFKD would do
        assert norm(ch) == ch and len(norm(ch)) == 1
    assert len(norm("أَمْرِيكَا")) == len("أمريكا")


def test_lone_rlm_and_lone_tatweel_are_units_not_dropped():
    text = "كلمة \u200f كلمة ـ نص"
    units = split_units(text)
    assert [(u.start, u.end, u.text) for u in units] == [
        (0, 4, "كلمة"),
        (5, 6, "\u200f"),
        (7, 11, "كلمة"),
        (12, 13, TATWEEL),
        (14, 16, "نص"),
    ]
    norm = Normalization()
    assert norm(TATWEEL) == ""  # nothing left: fed to the model as [UNK]
    assert all(unicodedata.category(c) == "Cf" for c in norm("\u200f"))  # invisible only


def test_known_words_lookup_ignores_marks_and_alef_variants(tmp_path):
    known = KnownWords(["أمريكا", "روسيا"])
    assert "امريكا" in known and "رُوسْيَا" in known
    # a hamza written in the text must match: «بإب» is not «باب»
    assert "إمريكا" not in known and "بإب" not in KnownWords(["باب"])
    assert "مصر" not in known and len(known) == 2
    assert lookup_key("القاهـــرة") == "القاهرة"
    bigger = known.union(["مصر"])
    assert "مصر" in bigger and "مصر" not in known
    path = tmp_path / "words.txt"
    bigger.save(path)
    assert set(KnownWords.load(path)) == set(bigger)
    assert len(KnownWords.shipped()) > 0


def test_span_vocabulary_takes_span_words_not_text_words():
    from araevent.schema import Document, Span

    doc = Document("d", "زار وزير الخارجية وروسيا", [Span(19, 24, "GPE"), Span(4, 17, "PER")])
    assert span_vocabulary([doc]) == {"روسيا", "وزير", "الخارجية"}


def test_unit_core_leaves_out_edge_format_characters_and_leading_marks():
    rlm, zwnj, bom, fatha, damma = "\u200f", "\u200c", "\ufeff", "\u064e", "\u064f"
    text = f"{bom}روسيا {rlm}مصر{fatha}{rlm} ،{damma}كلمة نامه{zwnj}ها {rlm} \u061cو\u200eروسيا"
    units = split_units(text)
    got = [(u.text, text[u.core[0] : u.core[1]] if u.core else None) for u in units]
    assert got == [
        (f"{bom}روسيا", "روسيا"),  # a BOM at the start of the text
        (f"{rlm}مصر{fatha}{rlm}", f"مصر{fatha}"),  # the word's own diacritic stays
        ("،", "،"),
        (f"{damma}كلمة", "كلمة"),  # a mark after punctuation is not the word's
        (f"نامه{zwnj}ها", f"نامه{zwnj}ها"),  # ZWNJ inside a word stays
        (rlm, None),  # nothing visible
        ("\u061cو\u200e", "و"),  # a proclitic with the ALM before and LRM after it
        ("روسيا", "روسيا"),
    ]
    assert [u.bases for u in units[:2]] == [(1, 5), (8, 10)]


def test_span_vocabulary_never_keeps_a_later_word_that_rule_2_splits():
    from araevent.schema import Document, Span
    from araevent.tagging import tag_document

    # «للقوات» inside a name must not become known: «ل[لقوات ...]» elsewhere must split
    name = Document("a", "القيادة العامة للقوات المسلحة", [Span(0, 29, "ORG")])
    vocab = span_vocabulary([name], KnownWords())
    assert "للقوات" not in vocab and {"القيادة", "المسلحة"} <= vocab
    known = KnownWords.shipped().union(vocab)
    assert [u.text for u in split_units("للقوات", known)] == ["ل", "لقوات"]
    dev = Document("d", "تابعة للقوات الملكية", [Span(7, 20, "ORG")])  # «لقوات الملكية»
    assert tag_document(dev, split_units(dev.text, known)).off_boundary == []
    # a span's first word says where the word starts: «فاليتا» stays whole
    city = Document("b", "زار فاليتا", [Span(4, 10, "GPE")])
    assert span_vocabulary([city], KnownWords()) == {"فاليتا"}
    assert [u.text for u in split_units("وفاليتا", KnownWords([*span_vocabulary([city])]))] == [
        "و",
        "فاليتا",
    ]
    # a word of one letter and a format character is no word
    rlm = Document("c", "\u200fو مصر", [Span(0, 6, "GPE")])
    assert span_vocabulary([rlm], KnownWords()) == {"مصر"}


def test_known_words_lookup_folds_a_final_ta_marbuta_and_ya():
    known = KnownWords(["منظمة", "مستشفى", "الذي"])
    # a final ه matches a listed ة; a final ي and ى match each other
    assert {"منظمه", "منظمة", "مستشفي", "مستشفى", "الذى", "الذي"} <= known.forms()
    assert all(w in known for w in ("منظمه", "مُنظمهٌ", "مستشفي", "الذى"))
    # a final ة written in the text must match exactly, as a hamza alef must
    assert "منظمة" not in KnownWords(["منظمه"]) and "قريه" in KnownWords(["قرية"])
    # each fold alone too: «اصابة» (hamza folded, ة kept) and «إصابه»
    assert all(w in KnownWords(["إصابة"]) for w in ("اصابة", "إصابه", "اصابه", "إصابة"))
    units = [u.text for u in split_units("لمنظمه وبمستشفي", known)]
    assert units == ["ل", "منظمه", "و", "ب", "مستشفي"]


def test_shipped_char_classes_are_a_fresh_scan_of_this_pythons_unicode():
    """resources/char_classes.json is a scan's result (rewrite: python scripts/char_classes.py)."""
    from araevent.text import char_classes, char_classes_json, scan_char_classes

    shipped = json.loads(
        resources.files("araevent.resources").joinpath("char_classes.json").read_text("utf-8")
    )
    if shipped["unidata_version"] != unicodedata.unidata_version:
        pytest.skip(f"the file is for Unicode {shipped['unidata_version']}; this Python scans")
    scanned = scan_char_classes()
    assert char_classes() == scanned
    assert json.loads(char_classes_json(scanned)) == shipped
    assert ord("،") in scanned["P"] and ord("\u200f") in scanned["Cf"]
    assert ord("\u064e") in scanned["Mn"] and ord("\u3000") in scanned["space"]
