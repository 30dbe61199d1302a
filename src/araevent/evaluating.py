"""``evaluate.py``'s work: load a model folder, predict a split, score, write the report folder.

The prediction and scoring are training's (:class:`~araevent.predict.Predictor`
and :func:`araevent.evaluation.score_predictions`), so a reloaded model
reproduces its training-time scores. With no ``data=`` on the command line the
training run's recorded data config is scored on.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers.utils import logging as hf_logging

from araevent.arguments import evaluate_arguments
from araevent.errors import UsageError
from araevent.evaluation import score_predictions
from araevent.labels import LAYERS
from araevent.modeling import load_model_dir
from araevent.predict import Predictor
from araevent.provenance import peak_memory_mb, run_provenance
from araevent.reporting import write_json, write_report
from araevent.robustness import run_robustness
from araevent.schema import Document
from araevent.splits import load_split, recorded_data

log = logging.getLogger(__name__)


def _training_run_of(model_dir: Path) -> dict[str, Any]:
    """The training config and seed of a ``model/`` folder inside a training run folder."""
    run = model_dir.parent
    f = run / "metrics.json"
    if model_dir.name == "model" and f.is_file():
        doc = json.loads(f.read_text("utf-8"))
        config = doc.get("config")
        if isinstance(config, dict):
            return {
                "training_run": str(run),
                "training_config": config,
                "training_seed": config.get("seed", doc.get("run", {}).get("seed")),
            }
    return {"training_run": None, "training_config": None, "training_seed": None}


def _use_training_data(job, training: dict[str, Any]) -> str | None:
    """Score on the training run's data when the command line named none.

    Replaces ``job.data`` (and ``job.config["data"]``) with the ``data`` config the
    run folder recorded; returns the note saying which data is scored, or ``None``
    when the command line chose it.
    """
    recorded = (training.get("training_config") or {}).get("data")
    if job.data_given:
        return None
    if not isinstance(recorded, dict):
        return (
            f"data: {job.data.name}, the default (no training run folder with a data config "
            f"around {job.model_path}); pass data=... to choose the data"
        )
    job.data = recorded_data(
        recorded,
        f"{training['training_run']}/metrics.json",
        "pass data=... to choose the data to score on",
    )
    job.config = {**job.config, "data": recorded}
    return (
        f"data: the training run's data config (data={job.data.name}, recorded in "
        f"{training['training_run']}/metrics.json); pass data=... to score on other data"
    )


def _labels_not_in_model(docs: Sequence[Document], schema, layers: Sequence[str]) -> Counter:
    """Gold spans per label the model cannot predict, in the layers it has."""
    missing: Counter = Counter()
    for layer in layers:
        have = set(schema.layer_labels(layer))
        missing.update(s.label for d in docs for s in d.layer(layer) if s.label not in have)
    return Counter(dict(sorted(missing.items())))


def _check_label_overlap(
    docs: Sequence[Document], schema, layers: Sequence[str], location: str, data_name: str
) -> None:
    """Refuse gold none of whose span labels the model has (wrong data, not a weak model)."""
    gold = {s.label for d in docs for layer in LAYERS for s in d.layer(layer)}
    model = {label for layer in LAYERS for label in schema.layer_labels(layer)}
    if not gold or gold & model:
        return
    shown = ", ".join(sorted(gold)[:6]) + (f" and {len(gold) - 6} more" if len(gold) > 6 else "")
    raise UsageError(
        f"{location}: none of the {len(gold)} gold labels ({shown}) is a label of the "
        f"model ({', '.join(sorted(model)) or 'none'}) (score on the data the model was "
        f"trained on: leave data= out to use the run folder's, or pass data=... "
        f"instead of data={data_name})"
    )


def evaluate_model(job) -> dict[str, Any]:
    """``evaluate.py``: load a model folder, predict a split, score, write the report folder.

    ``job`` is a :class:`~araevent.config.EvaluateJob`. Prediction and scoring are
    the ones training's dev scorer uses (``Predictor`` with the model's raw tags
    passed to ``score``), so a reloaded model reproduces its training-time scores.
    """
    started = time.perf_counter()
    path = Path(job.model_path)
    if not path.exists():
        raise UsageError(
            f"model_path={job.model_path}: no such folder; evaluate.py takes the model/ "
            "folder (or the run folder) that train.py writes, not a Hub name"
        )
    hf_logging.disable_progress_bar()  # one line per result, not a weight-loading bar
    try:
        loaded = load_model_dir(path, device=job.device)
    except OSError as exc:
        raise UsageError(f"cannot load the model in {path}: {exc}".replace("\n", " ")) from None
    training = _training_run_of(loaded.path)
    data_note = _use_training_data(job, training)
    location = getattr(job.data, job.split, None)
    if not location:
        raise UsageError(
            f"data.{job.split} is not set in data={job.data.name}; "
            f"set data.{job.split}=PATH or choose split=train|dev|test"
        )
    docs = load_split(job.data, job.split)
    schema = loaded.schema
    layers = [layer for layer in LAYERS if schema.layer_labels(layer)]
    _check_label_overlap(docs, schema, layers, location, job.data.name)
    loaded_at = time.perf_counter()
    predictor = Predictor.from_loaded(loaded, job.batch_size, job.decoding)
    preds = predictor.predict_texts([d.text for d in docs])
    predicted_at = time.perf_counter()
    scores = score_predictions(
        docs, preds, schema.triggers, prefix=job.split, bootstrap=job.bootstrap, seed=job.seed
    )
    scored_at = time.perf_counter()
    inference = {
        "units": sum(len(p.units) for p in preds),
        "windows": sum(p.windows for p in preds),
        "documents_over_one_window": sum(p.windows > 1 for p in preds),
        "empty_units_as_unk": sum(p.empty_units for p in preds),
        "truncated_units": sum(p.truncated_units for p in preds),
    }
    scores.counts.update({f"inference/{k}": v for k, v in inference.items()})
    meta = loaded.meta
    notes = [
        f"model: {loaded.path} (base {meta.get('base_model')}; label set "
        f"{meta.get('label_set')}; decoding {predictor.decoding}); data: {job.data.name} "
        f"{job.split} ({location})",
        f"inference: {inference['windows']} windows for {len(docs)} documents "
        f"({inference['documents_over_one_window']} longer than one window), "
        f"{inference['empty_units_as_unk']} empty units fed as [UNK], "
        f"{inference['truncated_units']} units truncated",
    ]
    if data_note:
        notes.append(data_note)
    for layer in LAYERS:
        n = scores.counts.get(f"gold_spans/{layer}")
        if n and layer not in layers:
            notes.append(
                f"the model has no {layer} labels: the {n} gold {layer} spans are not shown "
                f"(metrics.json keeps every key; its {layer} and overall keys count them as "
                f"missed; data.layers=[...] leaves a layer out of the gold)"
            )
    missing = _labels_not_in_model(docs, schema, layers)
    if missing:
        notes.append(
            "gold labels the model does not have (their spans count as missed): "
            + ", ".join(f"{label} ({n})" for label, n in missing.items())
        )
    notes.append(
        "re-scoring predictions.jsonl with `araevent score` reproduces the span "
        "scores exactly; its seqeval scores use tags rebuilt from the decoded spans "
        "and the shipped known words, not the model's raw tags"
    )
    meta_doc = {
        "run": {
            "task": "evaluate",
            "split": job.split,
            "model_path": str(loaded.path),
            "decoding": predictor.decoding,
            "batch_size": job.batch_size,
            "device": str(next(loaded.model.parameters()).device),
            "torch_threads": torch.get_num_threads(),
            "bootstrap": job.bootstrap,
            "seed": job.seed,
            "load_time_s": round(loaded_at - started, 3),
            "predict_time_s": round(predicted_at - loaded_at, 3),
            "score_time_s": round(scored_at - predicted_at, 3),
            "inference": inference,
        },
        "model": {
            "path": str(loaded.path),
            "base_model": meta.get("base_model"),
            "label_set": meta.get("label_set"),
            "labels": schema.to_dict(),
            "preprocessing": meta.get("preprocessing"),
            **training,
        },
        **run_provenance(job.config, [location] if job.data.format != "hub" else []),
    }
    title = f"araevent evaluation: {meta.get('base_model')} on {job.data.name} {job.split}"
    doc = write_report(
        job.out_dir,
        title=title,
        split=job.split,
        docs=docs,
        preds=[p.spans for p in preds],
        scores=scores,
        meta=meta_doc,
        notes=notes,
        layers=layers or list(LAYERS),
    )
    doc = evaluate_arguments(job, loaded, docs, preds, doc)
    if job.robustness:
        rob = run_robustness(
            loaded,
            docs,
            Path(job.out_dir) / "robustness",
            names=job.robustness_perturb,
            rate=job.robustness_rate,
            seed=job.seed,
            bootstrap=job.bootstrap,
            batch_size=job.batch_size,
            model=str(loaded.path),
            source=location,
            decoding=job.decoding,
            settings={"data": job.data.name, "split": job.split},
            log=lambda line: log.info("robustness: %s", line),
        )
        doc.update({k: v for k, v in rob.items() if k.startswith("robustness/")})
        doc["run"]["robustness"] = {"folder": "robustness", "perturb": list(job.robustness_perturb)}
    doc["run"]["wall_time_s"] = round(time.perf_counter() - started, 3)
    doc["run"]["peak_rss_mb"] = peak_memory_mb()
    write_json(Path(job.out_dir) / "metrics.json", doc)
    return doc
