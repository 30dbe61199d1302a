"""Training augmentation: each epoch's training windows from freshly perturbed documents.

With ``data.augment=[name, ...]`` and ``data.augment_prob=P`` the tagger's training
set is an :class:`AugmentedTrainSet`: at the start of every epoch
(:class:`AugmentEpochs`) each training document is, with probability ``P``,
perturbed by one of the named perturbations (:func:`araevent.perturb.augment_documents`,
seeded by the run's seed, the epoch and the document id, so a resumed run sees the
same epochs), its gold spans carried with the text, and its windows rebuilt.

The set keeps its size and order from epoch to epoch (the ``Trainer`` counts its
steps once): a perturbed document whose window count differs from the clean one
keeps its clean windows, as does one that lost a gold span (letter noise across
a span edge) or has a gold span off its unit boundaries (a conjunction attached
to a word the proclitic rule does not split): their letters would be trained as
outside. Each is counted.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence

from torch.utils.data import Dataset
from transformers import TrainerCallback

from araevent.modeling import EncodedDocument, Preprocessor
from araevent.perturb import augment_documents
from araevent.schema import Document
from araevent.tagging import LabelSchema, TaggedDocument, tag_document, window_features

log = logging.getLogger("araevent.training")

Feature = dict[str, list[int] | int]


def document_windows(
    doc: Document,
    ed: EncodedDocument,
    layers: Sequence[str],
    label2id: dict[str, int],
    cls_id: int,
    sep_id: int,
) -> tuple[list[Feature], TaggedDocument]:
    """One training example per window of ``doc`` (``input_ids``, ``labels``, ``length``)."""
    tagged = tag_document(doc, ed.units, layers)
    tag_ids = [label2id[t] for t in tagged.tags]
    out: list[Feature] = []
    for w in range(len(ed.encoding.windows)):
        f = window_features(ed.encoding, w, cls_id, sep_id, tag_ids)
        out.append(
            {"input_ids": f["input_ids"], "labels": f["labels"], "length": len(f["input_ids"])}
        )
    return out, tagged


def _span_count(doc: Document) -> int:
    return len(doc.entities) + sum(1 + len(t.arguments or ()) for t in doc.triggers)


class AugmentedTrainSet(Dataset):
    """The training windows of one epoch: the clean documents, some of them perturbed.

    :meth:`set_epoch` rebuilds the windows of the documents the epoch perturbs; the
    same ``(seed, epoch)`` always gives the same windows, and ``probability`` 0 the
    clean windows.
    """

    def __init__(
        self,
        docs: Sequence[Document],
        pre: Preprocessor,
        schema: LabelSchema,
        layers: Sequence[str],
        names: Sequence[str],
        probability: float,
        seed: int,
    ) -> None:
        self.docs = list(docs)
        self.pre = pre
        self.layers = tuple(layers)
        self.label2id = schema.label2id
        self.names = tuple(names)
        self.probability = probability
        self.seed = seed
        self.clean: list[list[Feature]] = []
        self.clean_off: list[int] = []  # gold spans off unit boundaries, per clean document
        for d, ed in zip(self.docs, pre.encode([d.text for d in self.docs]), strict=True):
            windows, tagged = self._windows(d, ed)
            self.clean.append(windows)
            self.clean_off.append(len(tagged.off_boundary))
        self.epoch: int | None = None
        self.features = self.clean_features()
        self.stats: Counter = Counter()

    def _windows(self, doc: Document, ed: EncodedDocument) -> tuple[list[Feature], TaggedDocument]:
        tok = self.pre.tokenizer
        return document_windows(
            doc, ed, self.layers, self.label2id, tok.cls_token_id, tok.sep_token_id
        )

    def clean_features(self) -> list[Feature]:
        """The windows of the clean documents (what ``probability`` 0 trains on)."""
        return [f for ws in self.clean for f in ws]

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> Feature:
        return self.features[i]

    def epoch_features(self, epoch: int) -> tuple[list[Feature], Counter]:
        """The windows of ``epoch`` and its counts (``augmented/<name>``, spans changed, ...)."""
        docs, stats = augment_documents(
            self.docs, self.names, self.probability, seed=self.seed, epoch=epoch
        )
        changed = [k for k, (a, b) in enumerate(zip(self.docs, docs, strict=True)) if a is not b]
        per_doc = list(self.clean)
        encoded = self.pre.encode([docs[k].text for k in changed])
        for k, ed in zip(changed, encoded, strict=True):
            windows, tagged = self._windows(docs[k], ed)
            if _span_count(docs[k]) != _span_count(self.docs[k]):
                stats["kept_clean_span_destroyed"] += 1  # never train a lost span as O
                continue
            if len(tagged.off_boundary) > self.clean_off[k]:
                stats["kept_clean_span_off_units"] += 1  # nor one the units cannot hold
                continue
            if len(windows) != len(self.clean[k]):
                stats["kept_clean_window_count_changed"] += 1
                continue
            per_doc[k] = windows
        return [f for ws in per_doc for f in ws], stats

    def set_epoch(self, epoch: int) -> None:
        """Make the windows those of ``epoch`` (nothing to do when they already are)."""
        if epoch == self.epoch:
            return
        self.features, self.stats = self.epoch_features(epoch)
        self.epoch = epoch
        augmented = sum(v for k, v in self.stats.items() if k.startswith("augmented/"))
        log.info(
            "augmentation, epoch %d: %d of %d training documents perturbed (%s)",
            epoch,
            augmented,
            len(self.docs),
            ", ".join(f"{k}: {v}" for k, v in sorted(self.stats.items())) or "none",
        )


class AugmentEpochs(TrainerCallback):
    """Set the augmented training set's epoch at each epoch's start (a resumed run too)."""

    def __init__(self, dataset: AugmentedTrainSet) -> None:
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        """The epoch about to run: the whole epochs done so far."""
        self.dataset.set_epoch(math.floor((state.epoch or 0.0) + 1e-6))
