"""The model card: what a run folder tells it, its YAML block, and its body from a template.

:func:`load_source` reads a run folder (or a bare model folder) into a :class:`Source`;
:func:`card_data` builds the YAML block (``ModelCardData`` with the model-index results
of ``metrics.json``); :func:`build_card` renders ``resources/model_card.md`` (a Jinja
template, through ``ModelCard.from_template``) with the values :func:`card_context`
works out. The prose lives in the template; this module only computes. The card is
never checked with ``ModelCard.validate()`` (it calls the Hub); :func:`check_card`
parses it back instead.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from omegaconf import OmegaConf
from transformers.utils import logging as hf_logging

from araevent import __version__
from araevent.arguments import FOLDER as ARGUMENTS_FOLDER
from araevent.arguments import argument_folder, load_arguments
from araevent.errors import UsageError
from araevent.labels import LAYERS
from araevent.modeling import CONFIG_KEY, load_model_dir
from araevent.reporting import argument_summary_table, main_table

CARD_FILE = "README.md"
CARD_TEMPLATE = Path(__file__).parent / "resources" / "model_card.md"
METRICS_FILE = "metrics.json"
TASK_TYPE = "token-classification"
TASK_NAME = "Arabic entity and event trigger extraction"
SAMPLE_DATA = "sample"
# (metrics.json view, card name) and (score family, card name): what model-index carries.
CARD_VIEWS = (
    ("entities", "entity"),
    ("triggers/identification", "trigger identification"),
    ("triggers/classification", "trigger classification"),
)
CARD_FAMILIES = (("seqeval_strict", "seqeval strict IOB2"), ("span", "exact character span"))
# The argument model's scores (arguments/ beside the weights): Arg-I/Arg-C in both protocols.
# One task name for every result: model-index groups results by task type and dataset.
TASK_NAME_WITH_ARGUMENTS = "Arabic entity, event trigger and argument extraction"
ARGUMENT_VIEWS = (
    ("gold_triggers/arguments/identification", "Arg-I, gold triggers,"),
    ("gold_triggers/arguments/classification", "Arg-C, gold triggers,"),
    ("end_to_end/arguments/identification", "Arg-I, end to end,"),
    ("end_to_end/arguments/classification", "Arg-C, end to end,"),
)
LOCAL_PATH = re.compile(r"(?:/|[A-Za-z]:[\\/])[^\n/\\]+(?:[\\/][^\n/\\]*)+")


@dataclass
class Source:
    """What a run folder (or a bare model folder) tells the card."""

    model_dir: Path
    run_dir: Path | None
    model_config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    run_config: dict[str, Any] = field(default_factory=dict)
    arguments_dir: Path | None = None  # the argument model beside the weights, if any

    @property
    def meta(self) -> dict[str, Any]:
        """The ``araevent`` block of ``config.json``."""
        return self.model_config.get(CONFIG_KEY) or {}

    @property
    def name(self) -> str:
        """The run's folder name (the model folder's when there is no run)."""
        return (self.run_dir or self.model_dir).resolve().name

    @property
    def data(self) -> dict[str, Any]:
        """The run's ``data`` settings (empty without a run config)."""
        return self.run_config.get("data") or {}

    @property
    def is_tiny(self) -> bool:
        """True for the locally built random-init BERT (``model=tiny``)."""
        model = self.run_config.get("model") or {}
        if model:
            return not model.get("name_or_path")
        return str(self.meta.get("base_model", "")).startswith("araevent-")

    @property
    def is_sample_data(self) -> bool:
        """True when the run trained on the bundled sample corpus (``data=sample``)."""
        return self.data.get("name") == SAMPLE_DATA


def is_local_path(value: str) -> bool:
    """True when ``value`` looks like an absolute path of two or more parts (POSIX or Windows).

    A lone ``/`` (a vocabulary entry, say) is not one.
    """
    return LOCAL_PATH.fullmatch(value) is not None


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a :class:`UsageError` naming the file otherwise."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} does not hold a JSON object")
    return data


def _run_config(run_dir: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    if isinstance(metrics.get("config"), dict):
        return metrics["config"]  # resolved when the run finished
    hydra_config = run_dir / ".hydra" / "config.yaml"
    if hydra_config.is_file():
        return OmegaConf.to_container(OmegaConf.load(hydra_config), resolve=False)
    return {}


def load_source(path: str | Path) -> Source:
    """Read a run folder or a model folder (whose parent may be its run folder).

    Raises:
        UsageError: the folder does not load as :class:`~araevent.Extractor` loads it (one
            line naming the folder and what is missing or broken), or its metrics.json
            cannot be read.
    """
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # transformers' "Loading weights" bar
    try:
        model_dir = load_model_dir(path).path  # what would not load must not go up
        arguments_dir = argument_folder(model_dir)
        if arguments_dir is not None:
            load_arguments(arguments_dir)
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    model_config = read_json(model_dir / "config.json")
    run_dir = model_dir.parent if model_dir.name == "model" else None
    if run_dir is None or not (run_dir / METRICS_FILE).is_file():
        return Source(model_dir, run_dir, model_config, arguments_dir=arguments_dir)
    metrics = read_json(run_dir / METRICS_FILE)
    run_config = _run_config(run_dir, metrics)
    return Source(model_dir, run_dir, model_config, metrics, run_config, arguments_dir)


# ---------------------------------------------------------------- model-index


def dataset_ref(source: Source) -> tuple[str, str]:
    """``(id, readable name)`` of the training data for ``datasets`` and model-index."""
    data = source.data
    name = str(data.get("name") or "unknown")
    if data.get("format") == "hub" and data.get("hub_name"):
        config = data.get("hub_config")
        return data["hub_name"], data["hub_name"] + (f" ({config})" if config else "")
    if name == SAMPLE_DATA:
        return name, "araevent bundled sample corpus"
    return name, f"local corpus '{name}' ({data.get('format', 'unknown format')})"


def scored_splits(metrics: dict[str, Any], views=CARD_VIEWS) -> list[str]:
    """Splits with at least one model-index score of ``views`` in ``metrics.json``, in order."""
    out: list[str] = []
    for key in metrics:
        parts = key.split("/")
        if len(parts) < 4 or parts[-1] != "f1" or parts[0] in out:
            continue
        view, family = "/".join(parts[1:-2]), parts[-2]
        if view in dict(views) and family in dict(CARD_FAMILIES):
            out.append(parts[0])
    return out


def card_views(source: Source) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``(task name, views)`` the model-index carries: the argument ones with ``arguments/``."""
    if source.arguments_dir is None:
        return TASK_NAME, CARD_VIEWS
    return TASK_NAME_WITH_ARGUMENTS, CARD_VIEWS + ARGUMENT_VIEWS


def eval_results(source: Source) -> list[Any]:
    """One ``EvalResult`` per split, view and family scored in ``metrics.json``."""
    dataset_id, dataset_name = dataset_ref(source)
    task_name, views = card_views(source)
    results = []
    for split in scored_splits(source.metrics, views):
        hub_split = source.data.get(split) if source.data.get("format") == "hub" else split
        for view, view_name in views:
            for family, family_name in CARD_FAMILIES:
                value = source.metrics.get(f"{split}/{view}/{family}/f1")
                if not isinstance(value, int | float) or math.isnan(value):
                    continue
                results.append(
                    EvalResult(
                        task_type=TASK_TYPE,
                        task_name=task_name,
                        dataset_type=dataset_id,
                        dataset_name=dataset_name,
                        dataset_split=str(hub_split or split),
                        metric_type="f1",
                        metric_name=f"{split} {view_name} F1 ({family_name})",
                        metric_config=f"{view}/{family}",
                        metric_value=round(float(value), 4),
                    )
                )
    return results


def base_model_id(source: Source) -> str | None:
    """The Hub id of the encoder fine-tuned, or ``None`` (tiny model, local folder)."""
    base = str(source.meta.get("base_model") or "")
    if not base or source.is_tiny or is_local_path(base) or base.startswith("."):
        return None
    return base


def card_data(source: Source, repo_id: str, license_id: str) -> Any:
    """The card's YAML metadata as ``ModelCardData`` (``model_name`` set for model-index)."""
    results = eval_results(source)
    tags = ["araevent", "arabic", "named-entity-recognition", "event-extraction", TASK_TYPE]
    model_type = source.model_config.get("model_type")
    if model_type:
        tags.append(str(model_type))
    if source.is_tiny:
        tags.append("tiny")
    return ModelCardData(
        language="ar",
        license=license_id,
        library_name="transformers",
        pipeline_tag=TASK_TYPE,
        base_model=base_model_id(source),
        tags=tags,
        datasets=[dataset_ref(source)[0]] if source.data else None,
        metrics=["f1"],
        model_name=repo_id.split("/")[-1] if results else None,
        eval_results=results or None,
    )


# ---------------------------------------------------------------- card text


def parameter_count(source: Source) -> int:
    """Parameters in the folder's safetensors weights, read from their headers."""
    total = 0
    for f in sorted(source.model_dir.glob("*.safetensors")):
        with f.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
        total += sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    return total


def _pipeline_differences(source: Source) -> dict[str, list[str]]:
    """What the saved tokenizer does differently from araevent, read from ``tokenizer.json``.

    ``unnormalised``: araevent's normalisation steps the tokenizer lacks (it has no
    normaliser); ``pretokenizer``: its pre-tokeniser kinds when none splits proclitics.
    """
    path = source.model_dir / "tokenizer.json"
    if not path.is_file():
        return {"unnormalised": [], "pretokenizer": []}
    tok = read_json(path)
    norm = source.meta.get("preprocessing", {}).get("normalization") or {}
    steps = [k for k, v in norm.items() if v]
    pre = tok.get("pre_tokenizer") or {}
    kinds = [p.get("type") for p in pre.get("pretokenizers", [pre])]
    return {
        "unnormalised": steps if steps and not tok.get("normalizer") else [],
        "pretokenizer": [str(k) for k in kinds] if "Split" not in kinds else [],
    }


def _model(source: Source) -> dict[str, Any]:
    """The base model row: ``kind`` tiny, local or hub, with what the card names."""
    model = source.run_config.get("model") or {}
    if source.is_tiny:
        tiny = model.get("tiny") or {}
        sizes = ", ".join(f"{k} {v}" for k, v in tiny.items() if k != "min_frequency")
        return {"kind": "tiny", "sizes": sizes}
    base = str(source.meta.get("base_model") or model.get("name_or_path") or "unknown")
    if is_local_path(base) or base.startswith("."):
        return {"kind": "local", "base": Path(base).name}
    return {"kind": "hub", "base": base, "revision": model.get("revision")}


def _data_files(source: Source) -> list[str]:
    hashes = {Path(k).name: v for k, v in (source.metrics.get("data_hashes") or {}).items()}
    files = []
    for split in ("train", "dev", "test"):
        value = source.data.get(split)
        if not value:
            continue
        shown = Path(str(value)).name
        sha = hashes.get(shown)
        files.append(f"{split} `{shown}`" + (f" (sha256 {sha[:12]}…)" if sha else ""))
    return files


def _arguments(source: Source) -> dict[str, Any] | None:
    """What the card says of the argument model in ``arguments/``; ``None`` without one."""
    if source.arguments_dir is None:
        return None
    config = read_json(source.arguments_dir / "config.json")
    block = (config.get(CONFIG_KEY) or {}).get("arguments") or {}
    info = (source.metrics.get("run") or {}).get("arguments") or {}
    best = info.get("best_dev_gold_triggers_arg_c_f1")
    return {
        "folder": ARGUMENTS_FOLDER,
        "roles": block.get("roles") or [],
        "events": block.get("events") or [],
        "n_tags": len(config.get("id2label", {})),
        "encoder_from": info.get("encoder_from"),
        "epochs": info.get("epochs"),
        "predicted_triggers": info.get("predicted_triggers"),
        "best_dev": f"{100 * best:.1f}" if isinstance(best, int | float) else "–",
    }


def card_context(source: Source, repo_id: str, revision: str | None = None) -> dict[str, Any]:
    """Every value ``resources/model_card.md`` shows, worked out from ``source``."""
    parity = source.metrics.get("parity", source.meta.get("parity"))
    reasons = (parity.get("reasons") or {}) if isinstance(parity, dict) else {}
    run = source.metrics.get("run") or {}
    best = run.get("best_dev_strict_f1")
    versions = source.metrics.get("versions") or {}
    pre = source.meta.get("preprocessing", {})
    counts = source.metrics.get("counts") or {}
    return {
        "source": source,
        "name": repo_id.split("/")[-1],
        "repo_id": repo_id,
        "rev": f', revision="{revision}"' if revision else "",
        "version": __version__,
        "scored_run": bool(source.metrics),
        "parameters": parameter_count(source),
        "meta": source.meta,
        "layers": {layer: source.meta.get("layers", {}).get(layer, []) for layer in LAYERS},
        "n_tags": len(source.model_config.get("id2label", {})),
        "parity": parity,
        "parity_reasons": sorted(reasons.items(), key=lambda kv: -kv[1]),
        **_pipeline_differences(source),
        "model": _model(source),
        "config": source.run_config,
        "data": source.data,
        "data_files": _data_files(source),
        "trainer": source.run_config.get("trainer") or {},
        "pre": pre,
        "normalisation": [k for k, v in (pre.get("normalization") or {}).items() if v],
        "run": run,
        "feats": run.get("train_features") or {},
        "best_dev": f"{100 * best:.1f}" if isinstance(best, int | float) else "–",
        "libraries": [
            f"{k} {versions[k]}"
            for k in ("araevent", "transformers", "torch", "tokenizers")
            if k in versions
        ],
        "metrics": source.metrics,
        "arguments": _arguments(source),
        "splits": [
            {
                "name": s,
                "table": main_table(source.metrics, s),
                "counts": counts.get(s, {}),
                "arguments": source.arguments_dir and argument_summary_table(source.metrics, s),
            }
            for s in scored_splits(source.metrics)
        ],
    }


def build_card(source: Source, repo_id: str, license_id: str, revision: str | None = None):
    """The full model card (``huggingface_hub.ModelCard``) rendered from the template."""
    return ModelCard.from_template(
        card_data(source, repo_id, license_id),
        template_path=str(CARD_TEMPLATE),
        **card_context(source, repo_id, revision),
    )


def card_text(source: Source, repo_id: str, revision: str | None = None) -> str:
    """The Markdown body of the model card (everything below the YAML block)."""
    return build_card(source, repo_id, "apache-2.0", revision).text.lstrip("\n")


def check_card(path: Path, expected: list[Any]) -> Any:
    """Parse ``README.md`` back with ``huggingface_hub`` and compare its results.

    Returns:
        The parsed ``ModelCard``.

    Raises:
        UsageError: the card does not parse or its model-index differs from ``expected``.
    """
    try:
        card = ModelCard.load(path)
    except ValueError as exc:
        raise UsageError(f"{path}: the generated model card does not parse: {exc}") from None
    got = list(card.data.eval_results or [])
    key = lambda r: (r.dataset_split, r.metric_config, r.metric_value)  # noqa: E731
    if sorted(map(key, got)) != sorted(map(key, expected)):
        raise UsageError(f"{path}: model-index holds {len(got)} results, expected {len(expected)}")
    return card
