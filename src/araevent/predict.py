"""Inference: one predictor behind dev scoring, ``evaluate.py``, ``Extractor`` and the CLI.

One file (~500 lines): the Predictor, the Extractor and the pipeline-parity check share
the windowing and decoding of one inference path.

Windows from every document are sorted by length and batched; each unit takes
its probabilities from the window where it is farthest from both edges; tags
are decoded to character spans on the raw text by ``tagging.decode_spans``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as replace_fields
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch

from araevent.arguments import LoadedArguments, argument_folder, encodes_alike, load_arguments
from araevent.errors import DataError, UsageError
from araevent.labels import LAYERS
from araevent.modeling import EncodedDocument, LoadedModel, Preprocessor, load_model_dir
from araevent.schema import Argument, Document, Span, parse_document
from araevent.tagging import (
    Encoding,
    LabelSchema,
    TagDecoder,
    spans_by_layer,
)
from araevent.text import TATWEEL, KnownWords, Unit, is_diacritic

PREDICTED = {layer: f"predicted_{layer}" for layer in LAYERS}


@dataclass
class Prediction:
    """One document's units, predicted tags and spans per layer.

    ``empty_units`` had no subword and were fed as ``[UNK]``; ``truncated_units``
    had more subwords than a window and kept the first ones; ``unk_units`` were
    seen by the model as a single ``[UNK]`` (the empty ones, and words the
    tokenizer cannot split, such as one longer than its per-word limit).
    """

    units: list[Unit]
    tags: list[str]
    spans: dict[str, list[Span]]
    windows: int = 1
    empty_units: int = 0
    truncated_units: int = 0
    unk_units: int = 0
    encoding: Encoding | None = field(default=None, repr=False)  # for the argument model


@dataclass
class Predictor:
    """Batched, length-sorted inference under ``torch.inference_mode``."""

    model: torch.nn.Module
    preprocessor: Preprocessor
    schema: LabelSchema
    batch_size: int = 32
    decoding: str = "argmax"
    _decoder: TagDecoder | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.decoding not in ("argmax", "viterbi"):
            raise ValueError(f"decoding is 'argmax' or 'viterbi', not {self.decoding!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")
        self._decoder = TagDecoder(self.schema.tags, self.decoding)

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
        """Encode ``texts``; ``probs[d]`` in ``(encoded, probs)`` is ``[n_units, n_tags]``."""
        encoded = self.preprocessor.encode(texts)
        probs, bounds = self._probabilities(encoded)
        return encoded, [probs[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def _probabilities(self, encoded: Sequence) -> tuple[np.ndarray, list[int]]:
        """Tag probabilities of every unit of ``encoded``, documents one after another.

        Returns ``(probs, bounds)``: document ``d``'s units are rows
        ``bounds[d]:bounds[d + 1]``. All subword ids go into one array; each batch of
        length-sorted windows is gathered from it into one id matrix, and each unit's
        row is gathered from the logits of its window (``Encoding.owner``).
        """
        tok = self.preprocessor.tokenizer
        counts = [len(g) for ed in encoded for g in ed.encoding.subwords]
        bounds = np.cumsum([0] + [len(ed.units) for ed in encoded]).tolist()
        first = np.cumsum([0, *counts])  # each unit's first subword in ``flat``
        flat = np.fromiter(
            (i for ed in encoded for g in ed.encoding.subwords for i in g), np.int64, first[-1]
        )
        # windows as subword ranges of ``flat``, and each unit's window and position in it
        starts, stops, window_of = [], [], []
        for d, ed in enumerate(encoded):
            if not ed.units:
                continue
            enc, base = ed.encoding, bounds[d]
            window_of.append(np.asarray(enc.owner) + len(starts))
            for a, b in enc.windows:
                starts.append(first[base + a])
                stops.append(first[base + b])
        probs = np.zeros((bounds[-1], len(self.schema.tags)), dtype=np.float32)
        if not starts:
            return probs, bounds
        starts, stops = np.asarray(starts), np.asarray(stops)
        window_of = np.concatenate(window_of)
        position = first[:-1] - starts[window_of] + 1  # after [CLS]
        order = np.argsort(stops - starts, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        batch_size = self.batch_size
        unit_rank = rank[window_of]
        by_batch = np.argsort(unit_rank // batch_size, kind="stable")
        cuts = np.searchsorted(unit_rank[by_batch] // batch_size, np.arange(len(order) + 1))
        device = next(self.model.parameters()).device
        self.model.eval()
        with torch.inference_mode():
            for k, b in enumerate(range(0, len(order), batch_size)):
                rows = order[b : b + batch_size]
                lengths = stops[rows] - starts[rows]
                width = int(lengths.max()) + 2
                cols = np.arange(width - 2)
                inside = cols < lengths[:, None]
                ids = np.full((len(rows), width), tok.pad_token_id, dtype=np.int64)
                ids[:, 0] = tok.cls_token_id
                ids[:, 1:-1][inside] = flat[(starts[rows, None] + cols)[inside]]
                ids[np.arange(len(rows)), lengths + 1] = tok.sep_token_id
                mask = (np.arange(width) < lengths[:, None] + 2).astype(np.int64)
                logits = self.model(
                    input_ids=torch.from_numpy(ids).to(device),
                    attention_mask=torch.from_numpy(mask).to(device),
                ).logits
                units = by_batch[cuts[k] : cuts[k + 1]]
                at = torch.from_numpy(unit_rank[units] - b).to(device)
                pos = torch.from_numpy(position[units]).to(device)
                probs[units] = torch.softmax(logits[at, pos].float(), dim=-1).cpu().numpy()
        return probs, bounds

    def decode(self, units: list[Unit], probs: np.ndarray) -> tuple[list[str], list[Span]]:
        """Tags (argmax or IOB2-constrained Viterbi) and the decoded spans."""
        return self._decoder.decode(units, probs)

    def predict_texts(self, texts: Sequence[str]) -> list[Prediction]:
        """Predict every text; an empty or whitespace-only text gets no units and no spans."""
        encoded = self.preprocessor.encode(texts)
        probs, bounds = self._probabilities(encoded)
        decoded = self._decoder.decode_many([ed.units for ed in encoded], probs, bounds)
        unk = [self.preprocessor.tokenizer.unk_token_id]
        out = []
        for ed, (tags, spans) in zip(encoded, decoded, strict=True):
            enc = ed.encoding
            out.append(
                Prediction(
                    ed.units,
                    tags,
                    spans_by_layer(spans, self.schema),
                    len(enc.windows),
                    enc.empty_units,
                    enc.truncated_units,
                    sum(1 for g in enc.subwords if g == unk),
                    enc,
                )
            )
        return out


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_document(item: str | Document | dict, n: int) -> Document:
    if isinstance(item, Document):
        doc = item
    elif isinstance(item, str):
        doc = Document(id=str(n), text=item)
    elif isinstance(item, dict):
        result = parse_document(item, line=n + 1)
        if result.document is None:
            raise result.errors[0]
        doc = result.document
    else:
        raise TypeError(f"cannot predict on {type(item).__name__}; give a str, dict or Document")
    bad = LONE_SURROGATE.search(doc.text)
    if bad:  # the tokenizer cannot take it (JSON "\ud800" decodes to one)
        raise DataError(
            f"text has a lone surrogate U+{ord(bad.group()):04X} at offset {bad.start()}",
            doc_id=doc.id,
            fix="the text must be valid Unicode: pair it or remove it",
        )
    return doc


def predicted_spans(doc: Document) -> dict[str, list[Span]]:
    """The predictions an :class:`Extractor` put on ``doc``, as spans per layer.

    They are ``predicted_entities``/``predicted_triggers`` when the document kept
    its own spans, and its ``entities``/``triggers`` otherwise.
    """
    if not any(PREDICTED[layer] in doc.extra for layer in LAYERS):
        return {layer: list(doc.layer(layer)) for layer in LAYERS}
    return {layer: [_span_of(s) for s in doc.extra.get(PREDICTED[layer], [])] for layer in LAYERS}


def _span_of(obj: dict[str, Any]) -> Span:
    """A span serialised by :meth:`Span.to_dict`, its ``arguments`` included, back as a Span."""
    core = ("start", "end", "label", "role", "text", "score", "arguments")
    args = obj.get("arguments")
    arguments = None
    if args is not None:
        arguments = tuple(
            Argument(
                a["start"],
                a["end"],
                a["role"],
                a.get("score"),
                {k: v for k, v in a.items() if k not in core},
            )
            for a in args
        )
    extra = {k: v for k, v in obj.items() if k not in core}
    return Span(obj["start"], obj["end"], obj["label"], obj.get("score"), extra, arguments)


class Extractor:
    """The Python API: ``Extractor.from_pretrained(dir).predict(texts)``.

    Returns documents in the araevent schema with predicted spans (each with a
    ``score``, the mean probability of its units' tags) in ``entities``/``triggers``
    for plain texts; documents given as input keep their own spans and get the
    predictions in ``predicted_entities``/``predicted_triggers``, unless
    ``replace=True``. Offsets index each input text exactly as given.

    Example:
        >>> extractor = Extractor.from_pretrained("outputs/train/run/model")  # doctest: +SKIP
        >>> doc = extractor.predict(["التقى وزير الخارجية نظيره في القاهرة"])[0]  # doctest: +SKIP
        >>> [(s.start, s.end, s.label) for s in doc.entities]  # doctest: +SKIP
    """

    def __init__(
        self,
        loaded: LoadedModel,
        batch_size: int = 32,
        decoding: str | None = None,
        arguments: LoadedArguments | None = None,
    ) -> None:
        self.loaded = loaded
        self.predictor = Predictor.from_loaded(loaded, batch_size, decoding)
        self.arguments = arguments  # the argument model, when the run has one
        # the argument model reads the tagger's encodings when it encodes alike
        self.shared_encoding = arguments is not None and encodes_alike(
            loaded.preprocessor, arguments.predictor.preprocessor
        )
        self.stats: Counter[str] = Counter()

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        device: str | None = None,
        batch_size: int = 32,
        decoding: str | None = None,
        arguments: bool | None = None,
    ) -> Extractor:
        """Load a ``model/`` folder or a run folder; it needs nothing else.

        Args:
            path: the ``model/`` folder written by training, or its run folder.
            device: ``cpu``, ``cuda``, ``cuda:1``, ``mps``; the model stays where
                transformers loads it (the CPU) when ``None``.
            batch_size: windows per forward pass.
            decoding: ``argmax`` or ``viterbi``; the model's configured decoding when ``None``.
            arguments: load the run's argument model (``arguments/`` beside ``model/``):
                ``None`` when there is one, ``True`` (an error without), ``False`` never.

        Raises:
            UsageError: ``path`` holds no araevent model, or one line naming the folder
                and what in it is missing or broken.
        """
        loaded = load_model_dir(path, device=device)
        if loaded.meta.get("task") == "arguments":
            raise UsageError(f"{path} is an argument model; load its run folder or model/")
        found = argument_folder(loaded.path) if arguments is not False else None
        if arguments and found is None:
            raise UsageError(f"arguments=True but {path} has no arguments/ model beside model/")
        args = found and load_arguments(found, device=device, batch_size=batch_size)
        return cls(loaded, batch_size, decoding, args or None)

    @property
    def schema(self) -> LabelSchema:
        """The model's labels per layer."""
        return self.loaded.schema

    @property
    def known(self) -> KnownWords:
        """The known words of the model's proclitic split (for writing CoNLL units)."""
        return self.loaded.preprocessor.known

    def predict(
        self,
        items: Iterable[str | Document | dict[str, Any]],
        *,
        batch_size: int | None = None,
        replace: bool = False,
        use_gold_triggers: bool = False,
    ) -> list[Document]:
        """Predict spans for texts or documents, one output document per item, in order.

        Args:
            items: raw texts (ids ``"0"``, ``"1"``, ... by position), :class:`Document`
                objects, or dicts in the JSONL schema (checked as ``validate`` does).
            batch_size: windows per forward pass for this call (default: the extractor's).
            replace: put the predictions in ``entities``/``triggers`` of input documents
                instead of ``predicted_entities``/``predicted_triggers``.
            use_gold_triggers: predict only the arguments of the documents' own triggers
                (the argument model must be loaded); entities and triggers stay as given.

        Returns:
            Documents with the input text unchanged. Counts for this call (documents,
            units, windows, spans, empty, truncated and ``[UNK]`` units) are in
            :attr:`stats`.

        Raises:
            DataError: a dict breaks the document schema, or a text holds a lone
                surrogate (a JSON escape of half a pair decodes to one).
        """
        items = list(items)
        docs = [_as_document(x, i) for i, x in enumerate(items)]
        if use_gold_triggers:
            return self._gold_trigger_arguments(docs)
        predictor = self.predictor
        if batch_size is not None and batch_size != predictor.batch_size:
            predictor = Predictor(
                predictor.model,
                predictor.preprocessor,
                predictor.schema,
                batch_size,
                predictor.decoding,
            )
        texts = [d.text for d in docs]
        preds = predictor.predict_texts(texts)
        if self.arguments is not None:
            encoded = None
            if self.shared_encoding:
                encoded = [EncodedDocument(p.units, p.encoding) for p in preds]
            _, with_args = self.arguments.predictor.predict(
                texts, [p.spans["triggers"] for p in preds], encoded
            )
            for p, triggers in zip(preds, with_args, strict=True):
                p.spans["triggers"] = triggers
        stats: Counter[str] = Counter(documents=len(docs))
        out = []
        for item, doc, pred in zip(items, docs, preds, strict=True):
            stats["units"] += len(pred.units)
            stats["windows"] += pred.windows if pred.units else 0
            stats["empty_units"] += pred.empty_units
            stats["truncated_units"] += pred.truncated_units
            stats["unk_units"] += pred.unk_units
            for layer in LAYERS:
                stats[f"{layer}_predicted"] += len(pred.spans[layer])
            if self.arguments is not None:
                stats["arguments_predicted"] += sum(
                    len(t.arguments or ()) for t in pred.spans["triggers"]
                )
            extra = dict(doc.extra)
            if replace or isinstance(item, str):
                for key in PREDICTED.values():
                    extra.pop(key, None)
                out.append(
                    Document(
                        doc.id, doc.text, pred.spans["entities"], pred.spans["triggers"], extra
                    )
                )
                continue
            for layer in LAYERS:
                extra[PREDICTED[layer]] = [s.to_dict(doc.text) for s in pred.spans[layer]]
            out.append(Document(doc.id, doc.text, list(doc.entities), list(doc.triggers), extra))
        self.stats = stats
        return out

    def predict_stream(
        self,
        items: Iterable[str | Document | dict[str, Any]],
        *,
        chunk_size: int = 512,
        batch_size: int | None = None,
        replace: bool = False,
    ) -> Iterator[Document]:
        """Predict an iterable of any length chunk by chunk, yielding documents in order.

        At most ``chunk_size`` items are held at a time (their windows are length-sorted
        within the chunk), so memory does not grow with the input. Items and options are
        those of :meth:`predict`; raw texts get ids ``"0"``, ``"1"``, ... by position in
        the whole stream. :attr:`stats` holds the counts of every chunk so far.

        Raises:
            ValueError: ``chunk_size`` is below 1.
            DataError: as :meth:`predict`, for the chunk holding the bad item.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        total: Counter[str] = Counter()
        it = iter(items)
        position = 0
        while chunk := list(islice(it, chunk_size)):
            # a dict becomes a Document here so an error names its line in the stream
            chunk = [
                _as_document(x, position + i) if isinstance(x, dict) else x
                for i, x in enumerate(chunk)
            ]
            out = self.predict(chunk, batch_size=batch_size, replace=replace)
            total.update(self.stats)
            self.stats = Counter(total)
            for i, (item, doc) in enumerate(zip(chunk, out, strict=True)):
                if isinstance(item, str):  # predict numbered it within the chunk
                    doc = replace_fields(doc, id=str(position + i))
                yield doc
            position += len(chunk)
        self.stats = total

    def _gold_trigger_arguments(self, docs: list[Document]) -> list[Document]:
        """The documents with predicted arguments on their own triggers."""
        if self.arguments is None:
            raise UsageError("use_gold_triggers=True needs the argument model (arguments/)")
        _, triggers = self.arguments.predictor.predict(
            [d.text for d in docs], [d.triggers for d in docs]
        )
        self.stats = Counter(documents=len(docs), triggers=sum(len(t) for t in triggers))
        self.stats["arguments_predicted"] = sum(len(a.arguments) for t in triggers for a in t)
        return [
            Document(d.id, d.text, list(d.entities), t, dict(d.extra))
            for d, t in zip(docs, triggers, strict=True)
        ]


# --- parity with transformers.pipeline ----------------------------------------


def _has_marks(text: str) -> bool:
    return any(is_diacritic(c) or c == TATWEEL for c in text)


def _parity_reason(
    span: tuple, units: Sequence[Unit], long_doc: bool, word_aware: bool = True
) -> str:
    """The likely reason one span differs between ``Extractor`` and the pipeline.

    ``word_aware``: the tokenizer model has a continuing-subword prefix (WordPiece,
    BPE); without one (Unigram) the pipeline guesses word starts from spaces.
    """
    inside = [i for i, u in enumerate(units) if u.start < span[1] and u.end > span[0]]
    near = units[max(inside[0] - 1, 0) : inside[-1] + 2] if inside else []
    glued = any(a.end == b.start for a, b in zip(near, near[1:], strict=False))
    if not word_aware and glued:
        return "a unit with no space before it: the pipeline merges it into the word before"
    if any(_has_marks(u.text) for u in near):
        return "diacritics or tatweel in a unit of the span or next to it"
    if long_doc:
        return "document longer than one window"
    return "other"


def pipeline_parity(
    model_dir: str | Path, items: Sequence[str | Document], *, stride: int | None = None
) -> dict[str, Any]:
    """Exact span agreement between ``transformers.pipeline`` and :class:`Extractor`.

    The pipeline is ``pipeline("token-classification", aggregation_strategy="first")``
    over the model folder (B-/I- groups mapped back to labels, ``entity_group``,
    ``start``, ``end``); the Extractor decodes by argmax as the pipeline does.

    Args:
        model_dir: a model folder (or run folder) whose ``tokenizer.json`` carries the
            araevent pipeline (``modeling.araevent_tokenizer_pipeline``).
        items: raw texts or documents (only their text and id are used).
        stride: the pipeline's chunk overlap for long texts; the model's window stride
            by default.

    Returns:
        ``documents``, ``extractor_spans``, ``pipeline_spans``, ``identical_spans``,
        ``agreement`` (F1 of one span set against the other), ``documents_identical``
        (share of texts with equal span sets), ``reasons`` (differing spans by likely
        cause) and up to 12 ``examples``.
    """
    from transformers import pipeline

    extractor = Extractor.from_pretrained(model_dir, decoding="argmax")
    stride = extractor.loaded.meta["preprocessing"]["stride"] if stride is None else stride
    pipe = pipeline(
        "token-classification",
        model=str(extractor.loaded.path),
        aggregation_strategy="first",
        device="cpu",
        stride=stride,
    )
    # transformers groups subwords into words by this prefix, else by spaces in the text
    word_aware = bool(
        getattr(pipe.tokenizer.backend_tokenizer.model, "continuing_subword_prefix", None)
    )
    texts = [x if isinstance(x, str) else x.text for x in items]
    predicted = extractor.predict(items, replace=True)
    outputs = pipe(texts) if texts else []
    encoded = extractor.loaded.preprocessor.encode(texts)
    agree = n_ext = n_pipe = same = 0
    reasons: Counter[str] = Counter()
    examples: list[str] = []
    for doc, out, ed in zip(predicted, outputs, encoded, strict=True):
        mine = {(s.start, s.end, s.label) for s in (*doc.entities, *doc.triggers)}
        theirs = {(int(o["start"]), int(o["end"]), o["entity_group"]) for o in out}
        agree += len(mine & theirs)
        n_ext += len(mine)
        n_pipe += len(theirs)
        same += mine == theirs
        for span in sorted(mine ^ theirs):
            reason = _parity_reason(span, ed.units, len(ed.encoding.windows) > 1, word_aware)
            reasons[reason] += 1
            if len(examples) < 12:
                side = "extractor only" if span in mine else "pipeline only"
                text = doc.text[span[0] : span[1]]
                examples.append(f"{doc.id} {side}: {span} «{text}» ({reason})")
    return {
        "documents": len(texts),
        "extractor_spans": n_ext,
        "pipeline_spans": n_pipe,
        "identical_spans": agree,
        "agreement": round(2 * agree / max(n_ext + n_pipe, 1), 4),
        "documents_identical": round(same / max(len(texts), 1), 4),
        "reasons": dict(reasons),
        "examples": examples,
    }
