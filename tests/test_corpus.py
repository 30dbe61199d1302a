"""The bundled corpus (data/sample): rebuild, size, leakage and schema checks.

Fast (no model, no transformers import). The helpers are importable so that the
numbers quoted in data/README.md can be recomputed:

    python -c "import sys; sys.path.insert(0, 'tests'); from test_corpus import *; \
    print(unseen_entity_share(load_split('train'), load_split('test')))"
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache, lru_cache
from pathlib import Path

import pytest

from araevent.labels import get_label_set
from araevent.markup import build_corpus
from araevent.schema import parse_document
from araevent.text import PROCLITICS, TATWEEL, is_diacritic

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SPLITS = ("train", "dev", "test")
ENTITY_TYPES = {"PER", "ORG", "GPE", "LOC", "FAC", "VEH", "WEA"}
HINDI_DIGITS = set("٠١٢٣٤٥٦٧٨٩")
MAX_LENGTH = 128  # configs/model/tiny.yaml max_length; 2 of them go to [CLS]/[SEP]
STRIDE = 32


# ---------------------------------------------------------------- helpers


@cache
def load_split(split: str) -> tuple[dict, ...]:
    """The committed ``data/sample/<split>.jsonl`` as decoded JSON objects."""
    lines = (SAMPLE / f"{split}.jsonl").read_text("utf-8").splitlines()
    return tuple(json.loads(x) for x in lines if x.strip())


def span_text(doc: dict, span: dict) -> str:
    return doc["text"][span["start"] : span["end"]]


def word_ngrams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    """Word n-grams of ``text`` (words are runs of letters/digits; punctuation dropped)."""
    words = re.findall(r"\w+", text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def max_jaccard(queries, references, n: int = 3) -> tuple[float, str, str]:
    """Highest word n-gram Jaccard similarity of any query doc to any reference doc.

    Returns ``(similarity, query id, reference id)``.
    """
    ref_grams = [word_ngrams(d["text"], n) for d in references]
    index: dict[tuple[str, ...], list[int]] = {}
    for j, grams in enumerate(ref_grams):
        for g in grams:
            index.setdefault(g, []).append(j)
    best = (0.0, "", "")
    for q in queries:
        grams = word_ngrams(q["text"], n)
        shared: Counter[int] = Counter()
        for g in grams:
            shared.update(index.get(g, ()))
        for j, inter in shared.items():
            sim = inter / (len(grams) + len(ref_grams[j]) - inter)
            if sim > best[0]:
                best = (sim, q["id"], references[j]["id"])
    return best


def entity_strings(docs) -> list[str]:
    """Every entity mention string (all seven types), with repetitions."""
    return [span_text(d, s) for d in docs for s in d.get("entities", [])]


def unseen_entity_share(train_docs, test_docs) -> float:
    """Share of distinct test entity mention strings that never occur as a train entity."""
    seen = set(entity_strings(train_docs))
    test = set(entity_strings(test_docs))
    return len(test - seen) / len(test)


def unseen_entity_mention_share(train_docs, test_docs) -> float:
    """The same share counted over mentions (a string repeated in test counts each time)."""
    seen = set(entity_strings(train_docs))
    test = entity_strings(test_docs)
    return sum(t not in seen for t in test) / len(test)


@lru_cache(maxsize=1)
def _tiny_pipeline():
    """Known words, normalisation and WordPiece tokenizer as ``model=tiny`` builds them."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    from araevent.modeling import wordpiece_vocab
    from araevent.text import KnownWords, Normalization, span_vocabulary, split_units

    train = [parse_document(d, nested="outer").document for d in load_split("train")]
    known = KnownWords.shipped().union(span_vocabulary(train))
    norm = Normalization()
    units = {d.id: [norm(u.text) for u in split_units(d.text, known)] for d in train}
    vocab = wordpiece_vocab(units.values(), vocab_size=4000, min_frequency=1)
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    return known, norm, tok, units


def two_window_docs(split: str) -> list[str]:
    """Ids of ``split`` documents that need two or more windows of 128 subwords.

    Subwords come from the tiny model's WordPiece vocabulary (araevent.modeling.
    wordpiece_vocab over the training split's normalised units, vocab 4000, as in
    configs/model/tiny.yaml), applied with the ``tokenizers`` library; windows are
    araevent.tagging.make_windows with max_length 128 and stride 32.
    """
    from araevent.tagging import make_windows
    from araevent.text import split_units

    known, norm, tok, train_units = _tiny_pipeline()
    cap = MAX_LENGTH - 2
    out = []
    for obj in load_split(split):
        words = train_units.get(obj["id"]) or [
            norm(u.text) for u in split_units(obj["text"], known)
        ]
        enc = tok.encode(words, is_pretokenized=True, add_special_tokens=False)
        counts = [0] * len(words)
        for w in enc.word_ids:
            if w is not None:
                counts[w] += 1
        counts = [min(max(c, 1), cap) for c in counts]  # empty unit -> [UNK]; long ones cut
        if len(make_windows(counts, cap, STRIDE)) >= 2:
            out.append(obj["id"])
    return out


# ---------------------------------------------------------------- tests


def test_rebuild_equals_committed_jsonl():
    built = build_corpus(SAMPLE / "src")
    assert sorted(built) == list(sorted(SPLITS))
    for split in SPLITS:
        assert [d.to_dict() for d in built[split]] == list(load_split(split)), split


def test_every_document_parses_with_ace2005_labels():
    ace = get_label_set("ace2005")
    for split in SPLITS:
        for obj in load_split(split):
            result = parse_document(obj, nested="outer", label_set=ace)
            assert not result.errors, (split, obj["id"], [str(e) for e in result.errors])
            assert result.document is not None


def test_ids_are_unique_and_follow_the_file_order_scheme():
    ids = [d["id"] for s in SPLITS for d in load_split(s)]
    assert len(ids) == len(set(ids))
    for split in SPLITS:
        for d in load_split(split):
            assert re.fullmatch(rf"{split}-[a-z]+-\d{{3}}", d["id"]), d["id"]


def test_sizes():
    n = {s: len(load_split(s)) for s in SPLITS}
    assert n["train"] >= 400 and n["dev"] >= 80 and n["test"] >= 80, n
    docs = [d for s in SPLITS for d in load_split(s)]
    assert sum(len(d["entities"]) for d in docs) >= 2500
    assert sum(len(d["triggers"]) for d in docs) >= 800
    assert {s["label"] for d in docs for s in d["entities"]} == ENTITY_TYPES
    train_triggers = Counter(s["label"] for d in load_split("train") for s in d["triggers"])
    frequent = [label for label, k in train_triggers.items() if k >= 15]
    assert len(frequent) >= 16, sorted(train_triggers.items(), key=lambda x: x[1])
    assert all(":" in label for label in train_triggers)


def test_every_split_has_every_entity_type_and_most_event_subtypes():
    for split in SPLITS:
        docs = load_split(split)
        assert {s["label"] for d in docs for s in d["entities"]} == ENTITY_TYPES, split
        assert len({s["label"] for d in docs for s in d["triggers"]}) >= 25, split


def test_long_documents_need_two_windows():
    for split in SPLITS:
        long_docs = two_window_docs(split)
        assert len(long_docs) >= 3, (split, long_docs)


def test_surface_phenomena_are_present():
    docs = [d for s in SPLITS for d in load_split(s)]
    texts = [d["text"] for d in docs]
    assert sum(any(c in HINDI_DIGITS for c in t) for t in texts) >= 50
    assert sum(any(c.isdigit() and c not in HINDI_DIGITS for c in t) for t in texts) >= 50
    assert sum(any(is_diacritic(c) for c in t) for t in texts) >= 20
    assert sum(TATWEEL in t for t in texts) >= 20
    spans = [(d, s) for d in docs for layer in ("entities", "triggers") for s in d[layer]]
    # a tatweel or a diacritic inside a span
    assert any(TATWEEL in span_text(d, s) for d, s in spans)
    assert any(any(is_diacritic(c) for c in span_text(d, s)) for d, s in spans)
    # spans behind a proclitic (the span starts inside a whitespace word)
    behind = [
        (d, s)
        for d, s in spans
        if s["start"] > 0
        and not d["text"][s["start"] - 1].isspace()
        and d["text"][s["start"] - 1] in PROCLITICS
    ]
    assert len(behind) >= len(spans) // 4
    # «لل» + stem: the span starts at the second ل
    assert any(d["text"][s["start"] - 1 : s["start"] + 1] == "لل" for d, s in behind)
    # and behind و/ف + ب/ك/ل together
    assert any(
        s["start"] >= 2 and d["text"][s["start"] - 2] in "وف" and d["text"][s["start"] - 1] in "بكل"
        for d, s in behind
    )


def _collisions(doc: dict) -> int:
    return sum(
        1
        for e in doc["entities"]
        for t in doc["triggers"]
        if e["start"] < t["end"] and t["start"] < e["end"]
    )


def _nested(doc: dict) -> int:
    ents = doc["entities"]
    return sum(
        1
        for a in ents
        for b in ents
        if a is not b
        and a["start"] <= b["start"]
        and b["end"] <= a["end"]
        and (a["start"], a["end"]) != (b["start"], b["end"])
    )


@pytest.mark.parametrize("split", SPLITS)
def test_collisions_and_nested_names_present(split):
    docs = load_split(split)
    # the authors wrote entity/trigger collisions into train and test only
    assert sum(_collisions(d) for d in docs) >= {"train": 10, "dev": 0, "test": 3}[split]
    assert sum(_nested(d) for d in docs) >= 10, split


def test_no_dev_or_test_document_is_a_near_duplicate_of_train():
    train = load_split("train")
    for split in ("dev", "test"):
        sim, qid, rid = max_jaccard(load_split(split), train)
        assert sim <= 0.5, (split, qid, rid, sim)


def test_dev_and_test_do_not_repeat_a_train_text():
    train = {d["text"] for d in load_split("train")}
    for split in ("dev", "test"):
        assert not train & {d["text"] for d in load_split(split)}


def test_test_entity_names_are_partly_unseen_in_train():
    share = unseen_entity_share(load_split("train"), load_split("test"))
    assert 0.2 <= share <= 1.0, share
    mention_share = unseen_entity_mention_share(load_split("train"), load_split("test"))
    assert 0.1 <= mention_share <= share, mention_share


def _annotated_triggers(split: str):
    """(doc, trigger) pairs of ``split`` whose trigger was annotated for arguments."""
    return [(d, t) for d in load_split(split) for t in d["triggers"] if "arguments" in t]


def test_arguments_follow_the_ace2005_role_table_and_the_extent_rules():
    from araevent.labels import ACE2005_EVENT_ROLES

    for split in SPLITS:
        for doc, trig in _annotated_triggers(split):
            seen = set()
            for arg in trig["arguments"]:
                where = (doc["id"], trig["text"], arg)
                assert arg["role"] in ACE2005_EVENT_ROLES[trig["label"]], where
                assert doc["text"][arg["start"] : arg["end"]] == arg["text"], where
                assert arg["end"] <= trig["start"] or arg["start"] >= trig["end"], where
                assert arg["text"] == arg["text"].strip(), where
                key = (arg["start"], arg["end"], arg["role"])
                assert key not in seen, where
                seen.add(key)


def test_every_trigger_is_annotated_for_arguments_and_the_counts_meet_the_targets():
    from araevent.labels import ACE2005_EVENT_ROLES

    total = 0
    for split in SPLITS:
        triggers = [t for d in load_split(split) for t in d["triggers"]]
        assert all("arguments" in t for t in triggers), split
        total += sum(len(t["arguments"]) for t in triggers)
    assert total >= 2500
    train_roles = Counter(
        a["role"] for _, t in _annotated_triggers("train") for a in t["arguments"]
    )
    assert sum(1 for k in train_roles.values() if k >= 30) >= 12, train_roles
    assert set(train_roles) <= {r for rs in ACE2005_EVENT_ROLES.values() for r in rs}


def test_the_agreement_sample_is_the_frozen_first_pass_with_its_text_kept():
    from araevent.markup import parse_markup

    agreement = SAMPLE / "agreement"
    first = [
        json.loads(x) for x in (agreement / "first_pass.jsonl").read_text("utf-8").splitlines()
    ]
    lines = (agreement / "second_pass.txt").read_text("utf-8").splitlines()
    assert [h.removeprefix("# ") for h in lines[::2]] == [d["id"] for d in first]
    assert len(first) == round(0.1 * sum(len(load_split(s)) for s in SPLITS))
    for doc, markup in zip(first, lines[1::2], strict=True):
        text, _, triggers = parse_markup(markup)
        assert text == doc["text"], doc["id"]
        assert [t.key for t in triggers] == [
            (t["start"], t["end"], t["label"]) for t in doc["triggers"]
        ]
