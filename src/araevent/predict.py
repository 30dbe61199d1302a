"""Inference: the one predictor behind dev scoring, ``evaluate.py``, ``Extractor`` and
``araevent predict``.

Windows from every document are sorted by length and batched; each unit takes
its probabilities from the window where it is farthest from both edges; tags
are decoded to character spans on the raw text by ``tagging.decode_spans``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from araevent.labels import LAYERS
from araevent.modeling import LoadedModel, Preprocessor, load_model_dir
from araevent.schema import Document, Span
from araevent.tagging import (
    LabelSchema,
    allowed_transitions,
    decode_spans,
    spans_by_layer,
    viterbi,
    window_features,
)
from araevent.text import Unit


@dataclass
class Prediction:
    """One document's units, predicted tags and spans per layer."""

    units: list[Unit]
    tags: list[str]
    spans: dict[str, list[Span]]
    windows: int = 1
    empty_units: int = 0
    truncated_units: int = 0


@dataclass
class Predictor:
    """Batched, length-sorted inference under ``torch.inference_mode``."""

    model: torch.nn.Module
    preprocessor: Preprocessor
    schema: LabelSchema
    batch_size: int = 32
    decoding: str = "argmax"
    _constraints: tuple = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.decoding not in ("argmax", "viterbi"):
            raise ValueError(f"decoding is 'argmax' or 'viterbi', not {self.decoding!r}")
        self._constraints = allowed_transitions(self.schema.tags)

    @classmethod
    def from_loaded(
        cls, loaded: LoadedModel, batch_size: int = 32, decoding: str | None = None
    ) -> Predictor:
        """A predictor over a loaded model folder (decoding from its config by default)."""
        return cls(
            loaded.model,
            loaded.preprocessor,
            loaded.schema,
            batch_size,
            decoding or loaded.preprocessor.settings.decoding,
        )

    def unit_probabilities(self, texts: Sequence[str]) -> tuple[list, list[np.ndarray]]:
        """Encode ``texts`` and return ``(encoded, probs)`` with ``probs[d]`` of shape
        ``[n_units, n_tags]``."""
        encoded = self.preprocessor.encode(texts)
        tok = self.preprocessor.tokenizer
        jobs = []
        for d, ed in enumerate(encoded):
            if not ed.units:
                continue
            for w in range(len(ed.encoding.windows)):
                feats = window_features(ed.encoding, w, tok.cls_token_id, tok.sep_token_id)
                jobs.append((len(feats["input_ids"]), d, w, feats))
        jobs.sort(key=lambda j: j[0])
        n_tags = len(self.schema.tags)
        probs = [np.zeros((len(ed.units), n_tags), dtype=np.float32) for ed in encoded]
        device = next(self.model.parameters()).device
        pad = tok.pad_token_id
        self.model.eval()
        with torch.inference_mode():
            for b in range(0, len(jobs), self.batch_size):
                batch = jobs[b : b + self.batch_size]
                width = batch[-1][0]
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for r, (n, _, _, f) in enumerate(batch):
                    ids[r, :n] = torch.tensor(f["input_ids"])
                    mask[r, :n] = 1
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
                p = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                for r, (_, d, w, f) in enumerate(batch):
                    enc = encoded[d].encoding
                    a, _ = enc.windows[w]
                    for k, pos in enumerate(f["first_positions"]):
                        if enc.owner[a + k] == w:
                            probs[d][a + k] = p[r, pos]
        return encoded, probs

    def decode(self, units: list[Unit], probs: np.ndarray) -> tuple[list[str], list[Span]]:
        """Tags (argmax or IOB2-constrained Viterbi) and the decoded spans."""
        if self.decoding == "viterbi":
            ids = viterbi(np.log(probs + 1e-12), *self._constraints)
        else:
            ids = probs.argmax(axis=-1).tolist() if len(units) else []
        tags = [self.schema.tags[i] for i in ids]
        scores = [float(probs[i, t]) for i, t in enumerate(ids)]
        return tags, decode_spans(units, tags, scores)

    def predict_texts(self, texts: Sequence[str]) -> list[Prediction]:
        """Predict every text; an empty or whitespace-only text gets no units and no spans."""
        encoded, probs = self.unit_probabilities(texts)
        out = []
        for ed, p in zip(encoded, probs, strict=True):
            tags, spans = self.decode(ed.units, p)
            out.append(
                Prediction(
                    ed.units,
                    tags,
                    spans_by_layer(spans, self.schema),
                    len(ed.encoding.windows),
                    ed.encoding.empty_units,
                    ed.encoding.truncated_units,
                )
            )
        return out


def _as_document(item: str | Document | dict, n: int) -> Document:
    if isinstance(item, Document):
        return item
    if isinstance(item, str):
        return Document(id=str(n), text=item)
    if isinstance(item, dict):
        from araevent.schema import parse_document

        result = parse_document(item, line=n + 1)
        if result.document is None:
            raise result.errors[0]
        return result.document
    raise TypeError(f"cannot predict on {type(item).__name__}; give a str, dict or Document")


class Extractor:
    """The Python API: ``Extractor.from_pretrained(dir).predict(texts)``.

    Returns documents in the araevent schema with predicted spans (each with a
    ``score``) in ``entities``/``triggers`` for plain texts; for input documents
    their own spans are kept and predictions go to ``predicted_entities``/
    ``predicted_triggers`` unless ``replace=True``.
    """

    def __init__(self, loaded: LoadedModel, batch_size: int = 32, decoding: str | None = None):
        self.loaded = loaded
        self.predictor = Predictor.from_loaded(loaded, batch_size, decoding)

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        device: str | None = None,
        batch_size: int = 32,
        decoding: str | None = None,
    ) -> Extractor:
        """Load a ``model/`` folder or a run folder; needs nothing else."""
        return cls(load_model_dir(path, device=device), batch_size, decoding)

    @property
    def schema(self) -> LabelSchema:
        """The model's labels per layer."""
        return self.loaded.schema

    def predict(
        self,
        items: Iterable[str | Document | dict],
        *,
        batch_size: int | None = None,
        replace: bool = False,
    ) -> list[Document]:
        """Predict spans for texts or documents; offsets index each input text exactly."""
        items = list(items)
        docs = [_as_document(x, i) for i, x in enumerate(items)]
        if batch_size:
            self.predictor.batch_size = batch_size
        preds = self.predictor.predict_texts([d.text for d in docs])
        out = []
        for item, doc, pred in zip(items, docs, preds, strict=True):
            if replace or isinstance(item, str):
                new = Document(
                    doc.id,
                    doc.text,
                    pred.spans["entities"],
                    pred.spans["triggers"],
                    dict(doc.extra),
                )
            else:
                extra = dict(doc.extra)
                for layer in LAYERS:
                    extra[f"predicted_{layer}"] = [s.to_dict(doc.text) for s in pred.spans[layer]]
                new = Document(doc.id, doc.text, list(doc.entities), list(doc.triggers), extra)
            out.append(new)
        return out
