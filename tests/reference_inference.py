"""The per-unit inference path, kept as the reference the batched one must equal.

``reference_encode``: units normalised in Python and then tokenised through the whole
saved tokenizer pipeline (araevent's normalizers and splits again), one
``transformers`` call. ``reference_predict``: one feature dict and one tensor per
window, a Python copy per unit, and per document the argmax path or the per-unit
:func:`araevent.tagging.viterbi_iob2`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from araevent.modeling import EncodedDocument, Preprocessor
from araevent.tagging import (
    allowed_transitions,
    decode_spans,
    encode_units,
    iob2_partners,
    is_valid_path,
    viterbi_iob2,
    window_features,
)

ROOT = Path(__file__).resolve().parents[1]
# empty units, a word over the per-word limit, marks, digits, Latin, CJK, emoji, RLM
EDGE_TEXTS = [
    "",
    "   ",
    "ـ وَالرَّئِيسُ ـ",
    "ب" * 150,
    "العام ٢٠٢٤م و۱۵ Paris UNESCO 北京 🙂 \u200fالقاهرة\u200f «قال» ؟",
]


def bundled_texts(*splits: str) -> list[str]:
    """The raw texts of the bundled splits (all three by default)."""
    lines = []
    for split in splits or ("train", "dev", "test"):
        lines += (ROOT / "data/sample" / f"{split}.jsonl").read_text("utf-8").splitlines()
    return [json.loads(x)["text"] for x in lines if x.strip()]


def assert_same_encoding(pre: Preprocessor, texts: Sequence[str]) -> None:
    """``pre.encode`` gives the units, subwords and windows of :func:`reference_encode`."""
    for a, b in zip(pre.encode(texts), reference_encode(pre, texts), strict=True):
        assert a.units == b.units
        assert a.encoding.subwords == b.encoding.subwords, [u.text for u in a.units]
        assert a.encoding.windows == b.encoding.windows
        assert a.encoding.owner == b.encoding.owner
        assert a.encoding.empty_units == b.encoding.empty_units
        assert a.encoding.truncated_units == b.encoding.truncated_units


def reference_encode(pre: Preprocessor, texts: Sequence[str]) -> list[EncodedDocument]:
    """Units and windows, every unit through the tokenizer's full pipeline."""
    all_units = [pre.units(t) for t in texts]
    norm = pre.settings.normalization
    words = [[norm(u.text) for u in units] for units in all_units]
    nonempty = [i for i, w in enumerate(words) if w]
    batch = pre.tokenizer(
        [words[i] for i in nonempty],
        is_split_into_words=True,
        add_special_tokens=False,
        verbose=False,
    )
    row = {doc: k for k, doc in enumerate(nonempty)}
    out = []
    for i, units in enumerate(all_units):
        word_ids, ids = (
            ([], []) if i not in row else (batch.word_ids(row[i]), batch["input_ids"][row[i]])
        )
        enc = encode_units(
            word_ids,
            ids,
            len(units),
            unk_id=pre.tokenizer.unk_token_id,
            max_subwords=pre.max_subwords,
            stride=pre.settings.stride,
        )
        out.append(EncodedDocument(units, enc))
    return out


def reference_probabilities(predictor, texts: Sequence[str]) -> tuple[list, list[np.ndarray]]:
    """Per-window features and tensors, per-unit copies of the probabilities."""
    encoded = reference_encode(predictor.preprocessor, texts)
    tok = predictor.preprocessor.tokenizer
    jobs = []
    for d, ed in enumerate(encoded):
        if not ed.units:
            continue
        for w in range(len(ed.encoding.windows)):
            feats = window_features(ed.encoding, w, tok.cls_token_id, tok.sep_token_id)
            jobs.append((len(feats["input_ids"]), d, w, feats))
    jobs.sort(key=lambda j: j[0])
    n_tags = len(predictor.schema.tags)
    probs = [np.zeros((len(ed.units), n_tags), dtype=np.float32) for ed in encoded]
    with torch.inference_mode():
        for b in range(0, len(jobs), predictor.batch_size):
            batch = jobs[b : b + predictor.batch_size]
            width = batch[-1][0]
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, (n, _, _, f) in enumerate(batch):
                ids[r, :n] = torch.tensor(f["input_ids"])
                mask[r, :n] = 1
            logits = predictor.model(input_ids=ids, attention_mask=mask).logits
            p = torch.softmax(logits.float(), dim=-1).numpy()
            for r, (_, d, w, f) in enumerate(batch):
                enc = encoded[d].encoding
                a, _ = enc.windows[w]
                for k, pos in enumerate(f["first_positions"]):
                    if enc.owner[a + k] == w:
                        probs[d][a + k] = p[r, pos]
    return encoded, probs


def reference_decode(tags: Sequence[str], decoding: str, units, probs: np.ndarray):
    """One document's tags, scores and spans: argmax, or per-unit Viterbi when it is invalid."""
    ids = probs.argmax(axis=-1).tolist() if len(units) else []
    if decoding == "viterbi" and not is_valid_path(ids, *allowed_transitions(tags)):
        ids = viterbi_iob2(np.log(probs + 1e-12), iob2_partners(tags))
    names = [tags[i] for i in ids]
    scores = [float(probs[i, t]) for i, t in enumerate(ids)]
    return names, scores, decode_spans(units, names, scores)


def reference_predict(predictor, texts: Sequence[str]) -> list[tuple]:
    """``(units, tags, scores, spans)`` per text by the per-unit path."""
    encoded, probs = reference_probabilities(predictor, texts)
    tags = predictor.schema.tags
    out = []
    for ed, p in zip(encoded, probs, strict=True):
        names, scores, spans = reference_decode(tags, predictor.decoding, ed.units, p)
        out.append((ed.units, names, scores, spans))
    return out
