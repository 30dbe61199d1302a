"""Fine-tuning with the Hugging Face ``Trainer`` over unit-tag windows.

The project adds the span pipeline, dev scoring through the same predictor and
decoder as ``evaluate.py`` (an ``evaluate`` override, never Trainer's eval
loop, whose batch order ``group_by_length`` changes), and a self-describing run
folder.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import struct
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from araevent import arguments
from araevent.config import DataSettings, ModelSettings, TrainJob, rank
from araevent.errors import UsageError
from araevent.labels import get_label_set
from araevent.modeling import (
    Preprocessor,
    attach_metadata,
    load_pretrained,
    save_model_dir,
    tiny_model,
    tokenizer_coverage,
    train_tiny_tokenizer,
)
from araevent.runfolder import claim, is_resume
from araevent.schema import Document
from araevent.tagging import LabelSchema, tag_document, window_features
from araevent.text import KnownWords, span_vocabulary, split_units

log = logging.getLogger(__name__)
SPLITS = ("train", "dev", "test")


def load_split(data: DataSettings, split: str) -> list[Document]:
    """Read one split (files, a folder, or a Hub dataset) strictly."""
    return read_split(data, split)[0]


def read_split(data: DataSettings, split: str) -> tuple[list[Document], dict[str, int]]:
    """Read one split (files, a folder, or a Hub dataset) strictly.

    Returns the documents and the reader's counters (``dropped_nested`` and the
    like: what the nested policy ``data.nested`` dropped); a Hub split has only
    ``documents``.
    """
    location = getattr(data, split)
    if data.format == "hub":
        from araevent.io import load_hub_split

        docs = load_hub_split(data, location)
        return docs, {"documents": len(docs)}
    if data.format == "ace2005":
        from araevent.ace2005 import load_split as load_ace2005_split

        docs = load_ace2005_split(data, split)
        return docs, {"documents": len(docs)}
    from araevent.io import load_documents

    stats: Counter[str] = Counter()
    docs = load_documents(
        [location],
        data.format,
        stats=stats,
        label_set=get_label_set(data.label_set),
        nested=data.nested,
        layers=data.layers,
        conll_layers=data.conll_layers,
    )
    return docs, dict(stats)


DROP_WORDS = ("dropped", "unimported", "repaired")


def report_reading(split: str, stats: dict[str, int], data: DataSettings) -> dict[str, int]:
    """Log what reading ``split`` dropped or changed; return the nonzero counters."""
    kept = {k: v for k, v in sorted(stats.items()) if v}
    changed = {k: v for k, v in kept.items() if any(w in k for w in DROP_WORDS)}
    if changed:
        log.warning(
            "%s: reading dropped or changed %s (data.nested=%s; run.reading in metrics.json)",
            split,
            ", ".join(f"{k}={v}" for k, v in changed.items()),
            data.nested,
        )
    log.info("%s: %s", split, ", ".join(f"{k}={v}" for k, v in kept.items()))
    return kept


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
    pre: Preprocessor, docs: Sequence[Document], schema: LabelSchema, layers: Sequence[str]
):
    """Every window of every document as one training example, via batched ``map``.

    Returns ``(dataset, stats)``; stats count collisions (entity dropped, trigger
    kept), spans off unit boundaries, empty and truncated units, windows.
    """
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()  # the counts below go to train.log; no bars on stderr
    label2id = schema.label2id
    tok = pre.tokenizer
    stats: Counter[str] = Counter()
    by_id = {d.id: d for d in docs}

    def explode(batch: dict[str, list]) -> dict[str, list]:
        encoded = pre.encode(batch["text"])
        out: dict[str, list] = {"input_ids": [], "labels": [], "length": []}
        for doc_id, ed in zip(batch["id"], encoded, strict=True):
            tagged = tag_document(by_id[doc_id], ed.units, layers)
            tag_ids = [label2id[t] for t in tagged.tags]
            for w in range(len(ed.encoding.windows)):
                f = window_features(ed.encoding, w, tok.cls_token_id, tok.sep_token_id, tag_ids)
                out["input_ids"].append(f["input_ids"])
                out["labels"].append(f["labels"])
                out["length"].append(len(f["input_ids"]))
        return out

    for d, ed in zip(docs, pre.encode([d.text for d in docs]), strict=True):
        tagged = tag_document(d, ed.units, layers)
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
    ds = Dataset.from_dict({"id": [d.id for d in docs], "text": [d.text for d in docs]})
    ds = ds.map(explode, batched=True, batch_size=256, remove_columns=["id", "text"])
    return ds, dict(stats)


def _safetensors_problem(path: Path) -> str | None:
    """Why a ``.safetensors`` file cannot load (bad header or truncated), else ``None``."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8:
                return f"{path.name} is truncated"
            header = json.loads(f.read(n))
    except (OSError, ValueError, struct.error):
        return f"{path.name} has no valid safetensors header"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    if 8 + n + max(ends, default=0) > size:
        return f"{path.name} is truncated"
    return None


def checkpoint_problem(ckpt: Path) -> str | None:
    """Why ``ckpt`` is not a complete checkpoint, else ``None``.

    Complete: ``trainer_state.json`` parses, the safetensors weights (one file or
    the shards of an index) have valid headers and full length, and the
    optimizer/scheduler files present are whole zip archives (``torch.save``).
    """
    try:
        json.loads((ckpt / "trainer_state.json").read_text("utf-8"))
    except FileNotFoundError:
        return "no trainer_state.json"
    except (OSError, ValueError):
        return "trainer_state.json is not valid JSON (half-written)"
    index = ckpt / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text("utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError):
            return f"{index.name} is not valid JSON (half-written)"
    elif (ckpt / "model.safetensors").is_file():
        shards = ["model.safetensors"]
    else:
        return "no model.safetensors"
    for name in shards:
        problem = _safetensors_problem(ckpt / name)
        if problem:
            return problem
    for name in ("optimizer.pt", "scheduler.pt"):
        p = ckpt / name
        if p.exists() and not zipfile.is_zipfile(p):
            return f"{name} is truncated"
    return None


def _step(p: Path) -> int:
    try:
        return int(p.name.split("-")[-1])
    except ValueError:
        return -1


def newest_complete_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``checkpoint-N`` (see :func:`checkpoint_problem`).

    Newer incomplete ones (a run killed or out of disk while saving) are skipped
    with a warning naming them and why.
    """
    if not folder.is_dir():
        return None
    for ckpt in sorted(folder.glob("checkpoint-*"), key=_step, reverse=True):
        if _step(ckpt) < 0 or not ckpt.is_dir():
            continue
        problem = checkpoint_problem(ckpt)
        if problem is None:
            return ckpt
        log.warning("skipping incomplete checkpoint %s: %s", ckpt, problem)
    return None


def resolve_resume(resume: bool | str, run_dir: Path) -> str | None:
    """The checkpoint to resume from, or ``None``.

    ``resume=true``: this run's newest complete checkpoint; ``resume=PATH``: a
    checkpoint folder, or a run folder whose newest complete checkpoint is used.
    """
    if not is_resume(resume):
        return None
    if resume is True or resume == "true":
        ckpt = newest_complete_checkpoint(run_dir / "checkpoints")
        if ckpt is None:
            log.info("resume=true but %s has no complete checkpoint; starting fresh", run_dir)
        return str(ckpt) if ckpt else None
    path = Path(str(resume))
    if (path / "trainer_state.json").exists():
        problem = checkpoint_problem(path)
        if problem:
            raise UsageError(
                f"resume={resume}: incomplete checkpoint: {problem} "
                "(pass the run folder to use its newest complete checkpoint)"
            )
        return str(path)
    for folder in (path / "checkpoints", path):
        ckpt = newest_complete_checkpoint(folder)
        if ckpt:
            return str(ckpt)
    raise UsageError(
        f"resume={resume}: no complete checkpoint there "
        "(pass a checkpoint folder or a run folder that has one)"
    )


def _tokenizer_and_model(
    job: TrainJob, train: Sequence[Document], schema: LabelSchema, known: KnownWords, args
):
    """Tiny: build the tokenizer on rank 0 (saved), others load it after a barrier."""
    m = job.model
    if m.tiny is None:
        return load_pretrained(
            m.name_or_path, schema, revision=m.revision, max_length=m.preprocessing.max_length
        )
    from transformers import AutoTokenizer

    tok_dir = job.run_dir / "tokenizer"
    with args.main_process_first(desc="build the tiny tokenizer", local=False):
        if (tok_dir / "tokenizer.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        else:
            norm = m.preprocessing.normalization
            units = ([norm(u.text) for u in split_units(d.text, known)] for d in train)
            t = m.tiny
            tokenizer = train_tiny_tokenizer(
                units,
                vocab_size=t.vocab_size,
                min_frequency=t.min_frequency,
                max_length=m.preprocessing.max_length,
            )
            if args.process_index == 0:
                tokenizer.save_pretrained(tok_dir)
    return tokenizer, build_tiny_model(tokenizer, schema, m)


def build_tiny_model(tokenizer, schema: LabelSchema, m: ModelSettings):
    """The random-init tiny BERT sized by ``m.tiny`` (``configs/model/tiny.yaml``)."""
    t = m.tiny
    return tiny_model(
        tokenizer,
        schema,
        hidden_size=t.hidden_size,
        num_layers=t.num_layers,
        num_heads=t.num_heads,
        intermediate_size=t.intermediate_size,
        dropout=t.dropout,
        max_length=m.preprocessing.max_length,
    )


def check_device(t) -> None:
    """``trainer=gpu`` needs CUDA; mixed precision (bf16/fp16) is for GPUs only."""
    import torch

    from araevent.errors import UsageError

    if t.use_cpu and (t.bf16 or t.fp16):
        flag = "bf16" if t.bf16 else "fp16"
        raise UsageError(
            f"trainer.{flag}=true with trainer.use_cpu=true: mixed precision is for CUDA "
            f"GPUs (fp16 does not train on CPU, bf16 on CPU is slower than fp32 on most "
            f"CPUs); set trainer.{flag}=false"
        )
    if not t.use_cpu and not (torch.cuda.is_available() or torch.backends.mps.is_available()):
        raise UsageError(
            "trainer.use_cpu=false (trainer=gpu) but torch sees no GPU (CUDA or MPS) on "
            "this machine; train with trainer=cpu"
        )


def base_model_name(m: ModelSettings, configured: str | None) -> str:
    """What ``base_model`` records: the Hub id, also when trained from a local copy.

    ``configured`` is the model config's ``base_model`` (its Hub id); it names a
    local ``name_or_path`` only, never a different Hub model passed instead.
    """
    if not m.name_or_path:
        return f"araevent-{m.name}"
    if configured and Path(m.name_or_path).is_dir():
        return configured
    return m.name_or_path


def training_arguments(job: TrainJob):
    """``TrainingArguments`` from the trainer settings; evaluation and saving every epoch."""
    from transformers import TrainingArguments

    t = job.trainer
    check_device(t)
    return TrainingArguments(
        output_dir=str(job.run_dir / "checkpoints"),
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="steps",
        logging_steps=t.logging_steps,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        warmup_steps=t.warmup_ratio,
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        bf16=t.bf16,
        fp16=t.fp16,
        use_cpu=t.use_cpu,
        seed=job.seed,
        data_seed=job.seed,
        train_sampling_strategy=t.sampling_strategy,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model="dev/overall/seqeval_strict/f1",
        greater_is_better=True,
        report_to=[],
        ddp_find_unused_parameters=False,
        dataloader_num_workers=t.dataloader_num_workers,
        remove_unused_columns=False,
        disable_tqdm=True,
    )


class DevScorer:
    """Scores a split through ``Predictor`` and ``evaluation.score``, as ``evaluate.py`` does."""

    def __init__(
        self,
        docs: Sequence[Document],
        pre: Preprocessor,
        schema: LabelSchema,
        batch_size: int,
        decoding: str,
    ) -> None:
        self.docs = list(docs)
        self.pre = pre
        self.schema = schema
        self.batch_size = batch_size
        self.decoding = decoding

    def __call__(self, model, prefix: str = "dev", bootstrap: int = 0, seed: int = 0):
        """Predict and score; returns ``(scores, predictions)``."""
        from araevent.evaluation import score
        from araevent.predict import Predictor

        predictor = Predictor(model, self.pre, self.schema, self.batch_size, self.decoding)
        preds = predictor.predict_texts([d.text for d in self.docs])
        scores = score(
            self.docs,
            [p.spans for p in preds],
            [p.units for p in preds],
            pred_tags=[p.tags for p in preds],
            trigger_labels=set(self.schema.triggers),
            prefix=prefix,
            bootstrap=bootstrap,
            seed=seed,
        )
        return scores, preds


def _log_callback():
    from transformers import TrainerCallback

    class LogToLogger(TrainerCallback):
        """Send Trainer's logs to ``train.log`` (through logging) instead of stdout."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                shown = {
                    k: round(v, 4) if isinstance(v, float) else v
                    for k, v in logs.items()
                    if "/" not in k or k.endswith("overall/seqeval_strict/f1")
                }
                log.info("step %d: %s", state.global_step, shown)

        def on_epoch_end(self, args, state, control, **kwargs):
            # Log (and so reset the running loss) where checkpoints are saved: a
            # resumed run then logs the same loss history as an uninterrupted one.
            control.should_log = True
            return control

    return LogToLogger()


def make_trainer_class():
    """A ``Trainer`` whose ``evaluate`` scores decoded spans on the dev documents."""
    from transformers import Trainer

    class SpanTrainer(Trainer):
        def __init__(self, *args, dev_scorer: DevScorer, **kwargs):
            super().__init__(*args, **kwargs)
            self.dev_scorer = dev_scorer

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            start = time.perf_counter()
            model = self.accelerator.unwrap_model(self.model)
            was_training = model.training
            scores, _ = self.dev_scorer(model)
            model.train(was_training)
            metrics = {
                k: v for k, v in scores.metrics.items() if "/span/" in k or "/seqeval_strict/" in k
            }
            metrics = {
                f"{metric_key_prefix}_{k}": v
                for k, v in metrics.items()
                if not k.endswith("support")
            }
            metrics[f"{metric_key_prefix}_runtime"] = round(time.perf_counter() - start, 4)
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(
                self.args, self.state, self.control, metrics
            )
            self._memory_tracker.stop_and_update_metrics(metrics)
            return metrics

    return SpanTrainer


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (``torch.save`` and safetensors wrap ENOSPC)."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return True
    text = str(exc)
    return "No space left on device" in text or "StorageFull" in text or "file write failed" in text


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
    import torch
    from transformers import DataCollatorForTokenClassification, EarlyStoppingCallback, set_seed

    from araevent.reporting import display_path, finish_run

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
    with_arguments = arguments.wanted(job.config, data["train"])
    known = KnownWords.shipped().union(span_vocabulary(data["train"]))
    tokenizer, model = _tokenizer_and_model(job, data["train"], schema, known, args)
    attach_metadata(
        model,
        tokenizer,
        schema,
        job.model.preprocessing,
        label_set=job.data.label_set,
        base_model=base_model_name(job.model, job.config.get("model", {}).get("base_model")),
    )
    pre = Preprocessor(tokenizer, known, job.model.preprocessing)
    train_ds, train_stats = build_features(pre, data["train"], schema, job.data.layers)
    log.info("train features: %s", train_stats)
    log.info(
        "labels: %d entity types, %d trigger types, %d tags",
        len(schema.entities),
        len(schema.triggers),
        len(schema.tags),
    )
    scorer = DevScorer(
        data["dev"], pre, schema, job.trainer.eval_batch_size, job.model.preprocessing.decoding
    )
    callbacks = [EarlyStoppingCallback(early_stopping_patience=job.trainer.patience)]
    if "tensorboard" in job.trainer.report_to and args.process_index == 0:
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        callbacks.append(TensorBoardCallback(SummaryWriter(str(job.run_dir / "tensorboard"))))
    from transformers.trainer_callback import PrinterCallback
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    callbacks.append(_log_callback())
    trainer = make_trainer_class()(
        model=model,
        args=args,
        train_dataset=train_ds,
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
    trained_arguments = (
        arguments.train_argument_model(job, data, schema.triggers, known, args, model)
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
        "reading": reading,
        "tokenizer_coverage": {
            s: tokenizer_coverage(pre, [d.text for d in data[s]]) for s in data if s != "dev"
        },
    }
    metrics = finish_run(job, model, pre, schema, data, scorer, info, started)
    if trained_arguments is None:
        return metrics
    from araevent.predict import Predictor

    tagger = Predictor(model, pre, schema, scorer.batch_size, scorer.decoding)
    return arguments.finish_arguments(job, trained_arguments, data, tagger, known, metrics)
