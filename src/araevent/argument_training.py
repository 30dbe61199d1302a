"""Training the argument model after the tagger, and scoring it into the run's files.

One instance per gold trigger (:mod:`araevent.arguments` builds them), the same
``SpanTrainer``, collator and checkpoints as the tagger (:mod:`araevent.trainers`),
the best checkpoint by dev Arg-C F1 with gold triggers; ``arguments/`` beside
``model/`` in the run folder.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import DataCollatorForTokenClassification, set_seed
from transformers.trainer_callback import PrinterCallback

from araevent.arguments import (
    BEST_METRIC,
    CONFIG_KEY,
    FOLDER,
    TASK,
    ArgumentPredictor,
    ArgumentSchema,
    ArgumentScorer,
    InstanceBuilder,
    add_counts,
    add_markers,
    append_report,
    argument_schema,
    evaluate_split,
    training_dataset,
)
from araevent.checkpoints import newest_complete_checkpoint
from araevent.errors import UsageError
from araevent.modeling import Preprocessor, attach_metadata, save_model_dir
from araevent.reporting import argument_summary_table as summary_table
from araevent.reporting import write_json
from araevent.runfolder import is_resume
from araevent.schema import Document
from araevent.trainers import (
    LogToLogger,
    SpanTrainer,
    base_model_name,
    schedule_callbacks,
    tokenizer_and_model,
)

log = logging.getLogger("araevent.training")  # one train.log for both trainings


@dataclass
class TrainedArguments:
    """The argument model after training, what scoring it needs, and what to record."""

    model: Any
    tokenizer: Any
    preprocessor: Preprocessor
    schema: ArgumentSchema
    scorer: ArgumentScorer
    info: dict[str, Any]


def epochs_of(job) -> float:
    """``arguments_epochs`` of the config, else the trainer's epochs."""
    n = job.config.get("arguments_epochs")
    return float(job.trainer.epochs if n is None else n)


def learning_rate_of(job) -> float:
    """``arguments_learning_rate`` of the config, else the trainer's learning rate."""
    lr = job.config.get("arguments_learning_rate")
    return float(job.trainer.learning_rate if lr is None else lr)


def encoder_from(job, tagger=None) -> str:
    """Where the argument model's encoder started (``run.arguments.encoder_from``)."""
    own = job.arguments_model
    if own is not None:
        return f"model@arguments_model={own.name} ({own.name_or_path or 'random init'})"
    return "the trained tagger" if tagger is not None else "the base model"


def predicted_triggers_wanted(job) -> bool:
    """``arguments_predicted_triggers``: mix the tagger's triggers into the training instances."""
    value = job.config.get("arguments_predicted_triggers", False)
    if value not in (True, False):
        raise UsageError(f"arguments_predicted_triggers={value}: choose true or false")
    return value


def train_argument_model(
    job,
    data: dict[str, list[Document]],
    events: Sequence[str],
    known,
    args,
    tagger=None,
    predictor=None,
):
    """Train the argument model on gold triggers with the tagger's Trainer and dev scoring.

    With ``tagger`` (the trained tagger), its encoder is the starting point (not its
    head): what it learnt of entities and triggers is most of what arguments need;
    unless ``job.arguments_model`` (``model@arguments_model=...``) names an encoder of
    its own, with its own tokenizer and preprocessing. ``predictor`` (the tagger's
    ``Predictor``) gives the training documents' predicted triggers, mixed into the
    instances when ``arguments_predicted_triggers`` is true.

    ``args`` are the tagger's ``TrainingArguments``; the argument model's differ in
    their checkpoint folder (``checkpoints/arguments``), epochs (``arguments_epochs``)
    and best-checkpoint metric (dev Arg-C F1 with gold triggers). Runs on every rank.
    """
    set_seed(job.seed)
    schema = argument_schema(data["train"], job.data.label_set, events)
    own = job.arguments_model  # model@arguments_model=...: an encoder of its own
    settings = job.model if own is None else own
    tok_folder = "tokenizer" if own is None else f"tokenizer-{FOLDER}"  # a tiny one's
    tokenizer, model = tokenizer_and_model(
        job, data["train"], schema.labels, known, args, settings, tok_folder
    )
    if own is None:
        tokenizer = copy.deepcopy(tokenizer)  # the tagger's tokenizer stays without markers
        if tagger is not None:
            model.base_model.load_state_dict(tagger.base_model.state_dict())
    add_markers(tokenizer, model, schema)
    pre_settings = settings.preprocessing
    configured = job.config.get("model" if own is None else "arguments_model") or {}
    attach_metadata(
        model,
        tokenizer,
        schema.labels,
        pre_settings,
        label_set=job.data.label_set,
        base_model=base_model_name(settings, configured.get("base_model")),
    )
    getattr(model.config, CONFIG_KEY).update({"task": TASK, "arguments": schema.to_dict()})
    pre = Preprocessor(tokenizer, known, pre_settings)
    builder = InstanceBuilder(pre, schema)
    predicted = None
    if predicted_triggers_wanted(job):
        if predictor is None:
            raise UsageError("arguments_predicted_triggers=true needs the trained tagger")
        tagged = predictor.predict_texts([d.text for d in data["train"]])
        predicted = [p.spans["triggers"] for p in tagged]
    train_ds, stats = training_dataset(builder, data["train"], predicted)
    log.info("argument features: %s", stats)
    if stats["arguments_off_unit_boundaries"] or stats["arguments_outside_window"]:
        log.warning(
            "arguments not trainable: %d off unit boundaries, %d outside their trigger's "
            "window, %d nested inside another (run.arguments.train_features in metrics.json)",
            stats["arguments_off_unit_boundaries"],
            stats["arguments_outside_window"],
            stats["arguments_nested_not_tagged"],
        )
    scorer = ArgumentScorer(
        data["dev"], pre, schema, job.trainer.eval_batch_size, pre_settings.decoding
    )
    folder = job.run_dir / "checkpoints" / FOLDER
    arg_args = dataclasses.replace(
        args,
        output_dir=str(folder),
        num_train_epochs=epochs_of(job),
        learning_rate=learning_rate_of(job),
        metric_for_best_model=BEST_METRIC if args.metric_for_best_model else None,
    )
    trainer = SpanTrainer(
        model=model,
        args=arg_args,
        train_dataset=train_ds,
        eval_dataset=train_ds.select([0]),
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        callbacks=[*schedule_callbacks(job.trainer), LogToLogger()],
        dev_scorer=scorer,
    )
    trainer.remove_callback(PrinterCallback)
    ckpt = None
    if is_resume(job.resume) and (job.resume is True or job.resume == "true"):
        found = newest_complete_checkpoint(folder)
        ckpt = str(found) if found else None
    result = trainer.train(resume_from_checkpoint=ckpt)
    info = {
        "epochs": epochs_of(job),
        "learning_rate": learning_rate_of(job),
        "global_steps": trainer.state.global_step,
        "best_dev_gold_triggers_arg_c_f1": trainer.state.best_metric,
        "train_runtime_s": round(result.metrics.get("train_runtime", 0.0), 2),
        "train_features": stats,
        "roles": len(schema.roles),
        "encoder_from": encoder_from(job, tagger),
        "predicted_triggers": predicted is not None,
        "input": "the trigger's window, [T] trigger [/T], then [SEP] [E:<event type>] [SEP]",
    }
    return TrainedArguments(trainer.model, tokenizer, pre, schema, scorer, info)


def finish_arguments(job, trained: TrainedArguments, data, tagger, known, metrics: dict) -> dict:
    """Save ``arguments/``, score dev (and test) in both protocols, add them to the run's files."""
    run_dir = Path(job.run_dir)
    save_model_dir(run_dir / FOLDER, trained.model, trained.tokenizer, known)
    s = trained.scorer
    predictor = ArgumentPredictor(
        trained.model, trained.preprocessor, trained.schema, s.batch_size, s.decoding
    )
    splits = ["dev"] + (["test"] if job.test and data.get("test") else [])
    blocks = []
    for split in splits:
        tagged = tagger.predict_texts([d.text for d in data[split]])
        m, counts, _ = evaluate_split(
            data[split],
            split,
            predictor,
            [p.spans["triggers"] for p in tagged],
            bootstrap=job.trainer.final_bootstrap if split == "dev" else 1000,
            seed=0,  # as the tagger's report and evaluate.py
        )
        metrics.update(m)
        add_counts(metrics, split, counts)
        blocks.append(summary_table(metrics, split))
    metrics.setdefault("run", {})["arguments"] = trained.info
    write_json(run_dir / "metrics.json", metrics)
    append_report(run_dir / "report.md", blocks)
    return metrics
