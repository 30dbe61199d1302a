"""Fine-tuning with the Hugging Face ``Trainer`` over unit-tag windows.

The project adds the span pipeline, dev scoring through the same predictor and
decoder as ``evaluate.py`` (an ``evaluate`` override, never Trainer's eval
loop, whose batch order ``group_by_length`` changes), and a self-describing run
folder (:func:`finish_run`: dev and test scored, ``metrics.json``, ``report.md``,
``predictions.jsonl``). Reading the splits is :mod:`araevent.splits`; complete
checkpoints and resuming are :mod:`araevent.checkpoints`. Training does only
training: pipeline parity for the model card is ``araevent publish
--measure-parity`` (:mod:`araevent.parity`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from datasets import Dataset, disable_progress_bars
from transformers import (
    DataCollatorForTokenClassification,
    set_seed,
)
from transformers.trainer_callback import PrinterCallback
from transformers.utils import logging as hf_logging

from araevent.argument_training import (
    finish_arguments,
    predicted_triggers_wanted,
    train_argument_model,
)
from araevent.arguments import wanted as wants_arguments
from araevent.augmentation import AugmentedTrainSet, AugmentEpochs, document_windows
from araevent.checkpoints import disk_full, resolve_resume
from araevent.compare import write_doc_counts
from araevent.config import DataSettings, TrainJob, rank
from araevent.errors import UsageError
from araevent.evaluation import Scores
from araevent.labels import LAYERS, get_label_set
from araevent.modeling import (
    EncodedDocument,
    Preprocessor,
    attach_metadata,
    save_model_dir,
    tokenizer_coverage,
)
from araevent.predict import Predictor
from araevent.provenance import display_path, run_provenance
from araevent.reporting import report_markdown, write_json, write_predictions
from araevent.runfolder import claim
from araevent.schema import Document
from araevent.splits import SPLITS, read_split, report_reading
from araevent.tagging import LabelSchema
from araevent.text import KnownWords, span_vocabulary
from araevent.trainers import (
    LogToLogger,
    SpanTrainer,
    SplitScorer,
    base_model_name,
    schedule_callbacks,
    tokenizer_and_model,
    training_arguments,
)

log = logging.getLogger(__name__)


def label_schema(train: Sequence[Document], data: DataSettings) -> LabelSchema:
    """The training data's labels plus any the preset adds, per selected layer."""
    preset = get_label_set(data.label_set)
    labels = {}
    for layer in ("entities", "triggers"):
        if layer not in data.layers:
            labels[layer] = []
            continue
        seen = {s.label for d in train for s in d.layer(layer)}
        labels[layer] = sorted(seen | set(preset.labels(layer)))
    return LabelSchema.build(labels["entities"], labels["triggers"])


def build_features(
    pre: Preprocessor,
    docs: Sequence[Document],
    schema: LabelSchema,
    layers: Sequence[str],
    encoded: Sequence[EncodedDocument] | None = None,
):
    """Every window of every document as one training example, in one pass over the documents.

    Returns ``(dataset, stats)``; stats count collisions (entity dropped, trigger
    kept), spans off unit boundaries, empty and truncated units, windows.
    ``encoded``: ``pre.encode`` of the documents' texts, when the caller has it.
    """
    disable_progress_bars()  # the counts below go to train.log; no bars on stderr
    label2id = schema.label2id
    tok = pre.tokenizer
    stats: Counter[str] = Counter()
    columns: dict[str, list] = {"input_ids": [], "labels": [], "length": []}
    if encoded is None:
        encoded = pre.encode([d.text for d in docs])
    for d, ed in zip(docs, encoded, strict=True):
        windows, tagged = document_windows(
            d, ed, layers, label2id, tok.cls_token_id, tok.sep_token_id
        )
        stats["documents"] += 1
        stats["units"] += len(ed.units)
        stats["windows"] += len(ed.encoding.windows)
        stats["collisions_entity_dropped"] += len(tagged.collisions)
        stats["nested_spans_not_tagged"] += len(tagged.nested_untagged)
        stats["spans_off_unit_boundaries"] += len(tagged.off_boundary)
        stats["empty_units_as_unk"] += ed.encoding.empty_units
        stats["truncated_units"] += ed.encoding.truncated_units
        for problem in tagged.off_boundary:
            log.warning("not trainable: %s", problem.describe(d.text))
        for f in windows:
            for k, v in f.items():
                columns[k].append(v)
            stats["non_padding_tokens"] += f["length"]
    return Dataset.from_dict(columns), dict(stats)


def train(job: TrainJob) -> dict[str, Any]:
    """Run one training job in its claimed run folder; returns ``metrics.json``'s content.

    Raises:
        UsageError: the run folder holds another run (see :mod:`araevent.runfolder`),
            the disk filled up, or the settings cannot work.
        DataError: a data file is malformed.
    """
    with claim(job.run_dir, job.config, job.resume, rank()):
        try:
            return _train(job)
        except (OSError, RuntimeError) as exc:
            if not disk_full(exc):
                raise
            where = getattr(exc, "filename", None) or job.run_dir
            raise UsageError(
                f"{job.run_dir}: the disk is full (no space left on device writing {where}) "
                "(free some space, then rerun the same command with resume=true: it "
                "continues from the last complete checkpoint)"
            ) from None


def _train(job: TrainJob) -> dict[str, Any]:
    started = time.time()
    set_seed(job.seed)
    args = training_arguments(job)  # checks the device settings first: one line when they fail
    log.info(
        "torch threads: %d of %d CPUs available (set OMP_NUM_THREADS to change)",
        torch.get_num_threads(),
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    )
    data, reading = {}, {}
    for split in SPLITS:
        if getattr(job.data, split):
            data[split], stats = read_split(job.data, split)
            reading[split] = report_reading(split, stats, job.data)
    if not data.get("train") or not data.get("dev"):
        raise UsageError("training needs a train and a dev split (data.train, data.dev)")
    schema = label_schema(data["train"], job.data)
    with_arguments = wants_arguments(job.config, data["train"])
    if with_arguments:
        predicted_triggers_wanted(job)  # a bad value fails before the tagger trains
    known = KnownWords.shipped().union(span_vocabulary(data["train"]))
    tokenizer, model = tokenizer_and_model(job, data["train"], schema, known, args)
    attach_metadata(
        model,
        tokenizer,
        schema,
        job.model.preprocessing,
        label_set=job.data.label_set,
        base_model=base_model_name(job.model, job.config.get("model", {}).get("base_model")),
    )
    pre = Preprocessor(tokenizer, known, job.model.preprocessing)
    train_encoded = pre.encode([d.text for d in data["train"]])  # features and coverage
    train_ds, train_stats = build_features(
        pre, data["train"], schema, job.data.layers, train_encoded
    )
    log.info("train features: %s", train_stats)
    train_set = train_ds
    if job.data.augment_prob > 0:
        train_set = AugmentedTrainSet(
            data["train"],
            pre,
            schema,
            job.data.layers,
            job.data.augment,
            job.data.augment_prob,
            job.seed,
        )
    log.info(
        "labels: %d entity types, %d trigger types, %d tags",
        len(schema.entities),
        len(schema.triggers),
        len(schema.tags),
    )
    scorer = SplitScorer(
        data["dev"], pre, schema, job.trainer.eval_batch_size, job.model.preprocessing.decoding
    )
    callbacks = schedule_callbacks(job.trainer)
    if "tensorboard" in job.trainer.report_to and args.process_index == 0:
        # Optional: tensorboard is imported only when trainer.report_to asks for it.
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        callbacks.append(TensorBoardCallback(SummaryWriter(str(job.run_dir / "tensorboard"))))
    hf_logging.disable_progress_bar()
    callbacks.append(LogToLogger())
    if isinstance(train_set, AugmentedTrainSet):
        callbacks.append(AugmentEpochs(train_set))
    trainer = SpanTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=train_ds.select([0]),
        data_collator=DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=None),
        processing_class=tokenizer,
        callbacks=callbacks,
        dev_scorer=scorer,
    )
    trainer.remove_callback(PrinterCallback)
    ckpt = resolve_resume(job.resume, job.run_dir)
    if ckpt:
        log.info("resuming from %s", ckpt)
    result = trainer.train(resume_from_checkpoint=ckpt)
    model = trainer.model
    tagger = Predictor(model, pre, schema, scorer.batch_size, scorer.decoding)
    trained_arguments = (
        train_argument_model(job, data, schema.triggers, known, args, model, tagger)
        if with_arguments
        else None
    )
    world_size = args.world_size
    if args.process_index != 0:
        return {}
    save_model_dir(job.run_dir / "model", model, tokenizer, known)
    steps_per_epoch = math.ceil(
        len(train_ds)
        / (job.trainer.batch_size * world_size * job.trainer.gradient_accumulation_steps)
    )
    info = {
        "world_size": world_size,
        "global_steps": trainer.state.global_step,
        "steps_per_epoch": steps_per_epoch,
        "best_checkpoint": (
            display_path(trainer.state.best_model_checkpoint, job.run_dir)
            if trainer.state.best_model_checkpoint
            else None
        ),
        "best_dev_strict_f1": trainer.state.best_metric,
        "train_runtime_s": round(result.metrics.get("train_runtime", 0.0), 2),
        "train_features": train_stats,
        "loss_history": [
            {"step": h["step"], "loss": h["loss"]} for h in trainer.state.log_history if "loss" in h
        ],
        "torch_threads": torch.get_num_threads(),
        "augmentation": (
            {
                "perturbations": list(job.data.augment),
                "probability": job.data.augment_prob,
                "last_epoch": train_set.epoch,
                "last_epoch_counts": dict(sorted(train_set.stats.items())),
            }
            if isinstance(train_set, AugmentedTrainSet)
            else None
        ),
        "reading": reading,
        "tokenizer_coverage": {
            s: tokenizer_coverage(
                pre, [d.text for d in data[s]], train_encoded if s == "train" else None
            )
            for s in data
            if s != "dev"
        },
    }
    metrics = finish_run(job, model, pre, schema, data, scorer, info, started)
    if trained_arguments is None:
        return metrics
    return finish_arguments(job, trained_arguments, data, tagger, known, metrics)


def finish_run(job, model, pre, schema, data, scorer, info: dict, started: float) -> dict:
    """Score dev (and test), write metrics.json, report.md, predictions.jsonl."""
    run_dir = job.run_dir
    sections: dict[str, Scores] = {}
    dev_scores, _ = scorer(model, prefix="dev", bootstrap=job.trainer.final_bootstrap)
    sections["dev"] = dev_scores
    if job.test and data.get("test"):
        test_scorer = SplitScorer(data["test"], pre, schema, scorer.batch_size, scorer.decoding)
        test_scores, test_preds = test_scorer(model, prefix="test", bootstrap=1000)
        sections["test"] = test_scores
        write_predictions(run_dir / "predictions.jsonl", data["test"], test_preds)
        write_doc_counts(run_dir, "test", data["test"], test_scores)
    metrics: dict[str, Any] = {}
    for scores in sections.values():
        metrics.update(scores.metrics)
    d = job.data
    metrics_doc = {
        **metrics,
        "counts": {split: s.counts for split, s in sections.items()},
        "per_type": {split: s.per_type for split, s in sections.items()},
        "run": {
            **info,
            "wall_time_s": round(time.time() - started, 2),
            "seed": job.seed,
            "tags": job.tags,
            "model": job.model.name,
            "data": d.name,
            "layers": [layer for layer in LAYERS if schema.layer_labels(layer)],
        },
        **run_provenance(job.config, [d.train, d.dev, d.test] if d.format != "hub" else []),
    }
    write_json(run_dir / "metrics.json", metrics_doc)
    notes = [
        f"model: {job.model.name}; data: {d.name}; seed {job.seed}; "
        f"world size {info.get('world_size')}; best dev strict F1 "
        f"{info.get('best_dev_strict_f1')}"
    ]
    (run_dir / "report.md").write_text(
        report_markdown(
            f"araevent run {run_dir.name}", sections, notes, layers=metrics_doc["run"]["layers"]
        ),
        encoding="utf-8",
    )
    return metrics_doc
