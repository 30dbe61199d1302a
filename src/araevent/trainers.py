"""What both trainings share: model, tokenizer, ``TrainingArguments``, the span ``Trainer``.

The ``Trainer`` subclass scores decoded spans on dev.

:mod:`araevent.training` trains the entity/trigger tagger with them and
:mod:`araevent.argument_training` the argument model; neither imports the other's
training code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    EarlyStoppingCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from araevent.config import ModelSettings, TrainJob
from araevent.errors import UsageError
from araevent.evaluation import Scores, score_predictions
from araevent.modeling import Preprocessor, load_pretrained, tiny_model, train_tiny_tokenizer
from araevent.predict import Prediction, Predictor
from araevent.schema import Document
from araevent.tagging import LabelSchema
from araevent.text import KnownWords, split_units

log = logging.getLogger("araevent.training")  # one train.log for both trainings


def tokenizer_and_model(
    job: TrainJob,
    train: Sequence[Document],
    schema: LabelSchema,
    known: KnownWords,
    args,
    model: ModelSettings | None = None,
    folder: str = "tokenizer",
):
    """Tiny: build the tokenizer on rank 0 (saved), others load it after a barrier.

    ``model``: these settings instead of ``job.model``; ``folder``: where in the run
    folder a tiny tokenizer is kept.
    """
    m = job.model if model is None else model
    if m.tiny is None:
        return load_pretrained(
            m.name_or_path, schema, revision=m.revision, max_length=m.preprocessing.max_length
        )
    tok_dir = job.run_dir / folder
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


def check_schedule(t) -> None:
    """``eval_every`` is a count of epochs (0: never); ``eval_steps`` replaces it by steps."""
    if not isinstance(t.eval_every, int) or t.eval_every < 0:
        raise UsageError(
            f"trainer.eval_every={t.eval_every}: give a whole number of epochs >= 0 "
            "(0: no dev scoring during training)"
        )
    if t.eval_steps is not None:
        if not isinstance(t.eval_steps, int) or t.eval_steps < 1:
            raise UsageError(f"trainer.eval_steps={t.eval_steps}: give a number of steps >= 1")
        if t.eval_every != 1:
            raise UsageError(
                f"trainer.eval_steps={t.eval_steps} with trainer.eval_every={t.eval_every}: "
                "choose one (eval_steps scores dev by steps; leave eval_every at 1)"
            )
    if not isinstance(t.final_bootstrap, int) or t.final_bootstrap < 0:
        raise UsageError(f"trainer.final_bootstrap={t.final_bootstrap}: give a count >= 0")


def dev_scored(t) -> bool:
    """Whether dev is scored during training (and so the best checkpoint is the model)."""
    return t.eval_every > 0 or t.eval_steps is not None


def training_arguments(job: TrainJob):
    """``TrainingArguments`` from the trainer settings.

    Dev scoring and checkpoints every epoch by default; every ``eval_steps`` steps
    when set; with ``eval_every: 0`` checkpoints every epoch, no dev scoring, no best
    model (:func:`schedule_callbacks` adds early stopping and the every-N-epochs rule).
    """
    t = job.trainer
    check_device(t)
    check_schedule(t)
    by_steps = t.eval_steps is not None
    scored = dev_scored(t)
    return TrainingArguments(
        output_dir=str(job.run_dir / "checkpoints"),
        eval_strategy=("steps" if by_steps else "epoch") if scored else "no",
        save_strategy="steps" if by_steps else "epoch",
        eval_steps=t.eval_steps,
        save_steps=t.eval_steps or 500,
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
        load_best_model_at_end=scored,
        metric_for_best_model="dev/overall/seqeval_strict/f1" if scored else None,
        greater_is_better=True,
        report_to=[],
        ddp_find_unused_parameters=False,
        dataloader_num_workers=t.dataloader_num_workers,
        remove_unused_columns=False,
        disable_tqdm=True,
    )


class EveryNEpochs(TrainerCallback):
    """Dev scoring and checkpoints at every ``n``-th epoch end and at the last step only."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_epoch_end(self, args, state, control, **kwargs):
        """Cancel the epoch strategy's evaluation and save between every ``n``-th epoch."""
        if round(state.epoch) % self.n and state.global_step < state.max_steps:
            control.should_evaluate = False
            control.should_save = False
        return control


def schedule_callbacks(t) -> list[TrainerCallback]:
    """Early stopping (when dev is scored) and the every-N-epochs rule (``eval_every`` > 1)."""
    if not dev_scored(t):
        return []
    out: list[TrainerCallback] = [EarlyStoppingCallback(early_stopping_patience=t.patience)]
    if t.eval_steps is None and t.eval_every > 1:
        out.append(EveryNEpochs(t.eval_every))
    return out


@dataclass
class SplitScorer:
    """Predicts a split with ``Predictor`` and scores it with ``score_predictions``.

    Dev during training (the early-stopping metric) and dev and test at the end
    of a run, exactly as ``evaluate.py`` scores a reloaded model.
    """

    docs: Sequence[Document]
    pre: Preprocessor
    schema: LabelSchema
    batch_size: int
    decoding: str

    def __call__(
        self, model, prefix: str = "dev", bootstrap: int = 0, seed: int = 0, scope: str = "all"
    ) -> tuple[Scores, list[Prediction]]:
        """Predict and score; returns ``(scores, predictions)`` (``scope``: see ``score``)."""
        predictor = Predictor(model, self.pre, self.schema, self.batch_size, self.decoding)
        preds = predictor.predict_texts([d.text for d in self.docs])
        scores = score_predictions(
            self.docs,
            preds,
            self.schema.triggers,
            prefix=prefix,
            bootstrap=bootstrap,
            seed=seed,
            scope=scope,
        )
        return scores, preds


class LogToLogger(TrainerCallback):
    """Send Trainer's logs to ``train.log`` (through logging) instead of stdout."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        """Log the step's losses and the overall dev scores (rank 0 only)."""
        if state.is_world_process_zero and logs:
            shown = {
                k: round(v, 4) if isinstance(v, float) else v
                for k, v in logs.items()
                if "/" not in k or k.endswith("overall/seqeval_strict/f1")
            }
            log.info("step %d: %s", state.global_step, shown)

    def on_epoch_end(self, args, state, control, **kwargs):
        """Ask for a log line at every epoch end."""
        # Log (and so reset the running loss) where checkpoints are saved: a
        # resumed run then logs the same loss history as an uninterrupted one.
        control.should_log = True
        return control


class SpanTrainer(Trainer):
    """A ``Trainer`` whose ``evaluate`` scores decoded spans on the dev documents."""

    def __init__(self, *args, dev_scorer: SplitScorer, **kwargs):
        super().__init__(*args, **kwargs)
        self.dev_scorer = dev_scorer

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        """Score the dev documents through ``dev_scorer`` (the datasets given are unused)."""
        start = time.perf_counter()
        model = self.accelerator.unwrap_model(self.model)
        was_training = model.training
        scores, _ = self.dev_scorer(model, scope="training")
        model.train(was_training)
        metrics = {
            k: v for k, v in scores.metrics.items() if "/span/" in k or "/seqeval_strict/" in k
        }
        metrics = {
            f"{metric_key_prefix}_{k}": v for k, v in metrics.items() if not k.endswith("support")
        }
        metrics[f"{metric_key_prefix}_runtime"] = round(time.perf_counter() - start, 4)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(
            self.args, self.state, self.control, metrics
        )
        self._memory_tracker.stop_and_update_metrics(metrics)
        return metrics
