"""Publishing to the Hugging Face Hub: the upload folder, its model card, and the upload.

:func:`load_source` reads a run folder (or a bare model folder), :func:`build_folder`
writes the folder that goes up (safetensors weights, tokenizer, ``config.json`` with
labels, layers and preprocessing, ``known_words.txt``, the ``README.md`` model card,
and whatever ``include`` names), checks that it holds only those files, no absolute
local path and no token, and parses the card back with ``huggingface_hub``.
:func:`upload` sends it with ``HfApi``. Nothing here talks to the Hub before
:func:`upload`, and the card is never checked with ``ModelCard.validate()`` (it calls
the Hub).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from araevent.errors import UsageError
from araevent.modeling import CONFIG_KEY, load_model_dir
from araevent.text import KNOWN_WORDS_FILE

CARD_FILE = "README.md"
METRICS_FILE = "metrics.json"
TASK_TYPE = "token-classification"
TASK_NAME = "Arabic entity and event trigger extraction"
SAMPLE_DATA = "sample"
# Files a model folder may send up as they are; anything else needs --include.
WEIGHT_PATTERNS = ("*.safetensors", "model.safetensors.index.json")
MODEL_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    KNOWN_WORDS_FILE,
)
JSON_CONFIGS = ("config.json", "tokenizer_config.json")
# (metrics.json view, card name) and (score family, card name): what model-index carries.
CARD_VIEWS = (
    ("entities", "entity"),
    ("triggers/identification", "trigger identification"),
    ("triggers/classification", "trigger classification"),
)
CARD_FAMILIES = (("seqeval_strict", "seqeval strict IOB2"), ("span", "exact character span"))
TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{30,}")
# An absolute POSIX path under a usual top-level folder, or a Windows drive path.
ABSOLUTE_PATH_PATTERN = re.compile(
    r"(?<![\w.~/-])/(?:home|root|tmp|Users|usr|work|workspace|mnt|data|scratch|var|private|"
    r"opt|srv|media|nfs|gpfs|lustre|cluster|net|storage|content)(?:/|\b)"
    r"|\b[A-Za-z]:\\"
)

# TensorBoard's event file name: events.out.tfevents.<time>.<host name>.<pid>.<n>
TENSORBOARD_DIR = "tensorboard"
TFEVENTS = re.compile(r"(?P<head>events\.out\.tfevents\.\d+)\.(?P<host>.+)\.(?P<tail>\d+\.\d+)")
HOST_PLACEHOLDER = "host"

LOCAL_PATH = re.compile(r"(?:/|[A-Za-z]:[\\/])[^\n/\\]+(?:[\\/][^\n/\\]*)+")


@dataclass
class Source:
    """What a run folder (or a bare model folder) tells the card."""

    model_dir: Path
    run_dir: Path | None
    model_config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    run_config: dict[str, Any] = field(default_factory=dict)

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


@dataclass
class PublishFolder:
    """A built and checked upload folder."""

    path: Path
    files: list[str]
    card: Any
    eval_results: list[Any]


def is_local_path(value: str) -> bool:
    """True when ``value`` looks like an absolute path of two or more parts (POSIX or Windows).

    A lone ``/`` (a vocabulary entry, say) is not one.
    """
    return LOCAL_PATH.fullmatch(value) is not None


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a valid ``OWNER/NAME``; otherwise a :class:`UsageError`."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise UsageError(f"--repo-id {repo_id!r} is not a Hub repository id: {exc}") from None
    if repo_id.count("/") != 1:
        raise UsageError(f"--repo-id {repo_id!r}: give OWNER/NAME, e.g. me/arabert-ace-events")
    return repo_id


def _read_json(path: Path) -> dict[str, Any]:
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
        from omegaconf import OmegaConf

        return OmegaConf.to_container(OmegaConf.load(hydra_config), resolve=False)
    return {}


def load_source(path: str | Path) -> Source:
    """Read a run folder or a model folder (whose parent may be its run folder).

    Raises:
        UsageError: the folder does not load as :class:`~araevent.Extractor` loads it (one
            line naming the folder and what is missing or broken), or its metrics.json
            cannot be read.
    """
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # transformers' "Loading weights" bar
    try:
        model_dir = load_model_dir(path).path  # what would not load must not go up
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    model_config = _read_json(model_dir / "config.json")
    run_dir = model_dir.parent if model_dir.name == "model" else None
    if run_dir is None or not (run_dir / METRICS_FILE).is_file():
        return Source(model_dir, run_dir, model_config)
    metrics = _read_json(run_dir / METRICS_FILE)
    return Source(model_dir, run_dir, model_config, metrics, _run_config(run_dir, metrics))


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


def scored_splits(metrics: dict[str, Any]) -> list[str]:
    """Splits with at least one model-index score in ``metrics.json``, in file order."""
    out: list[str] = []
    for key in metrics:
        parts = key.split("/")
        if len(parts) < 4 or parts[-1] != "f1" or parts[0] in out:
            continue
        view, family = "/".join(parts[1:-2]), parts[-2]
        if view in dict(CARD_VIEWS) and family in dict(CARD_FAMILIES):
            out.append(parts[0])
    return out


def eval_results(source: Source) -> list[Any]:
    """One ``EvalResult`` per split, view and family scored in ``metrics.json``."""
    from huggingface_hub import EvalResult

    dataset_id, dataset_name = dataset_ref(source)
    results = []
    for split in scored_splits(source.metrics):
        hub_split = source.data.get(split) if source.data.get("format") == "hub" else split
        for view, view_name in CARD_VIEWS:
            for family, family_name in CARD_FAMILIES:
                value = source.metrics.get(f"{split}/{view}/{family}/f1")
                if not isinstance(value, int | float) or math.isnan(value):
                    continue
                results.append(
                    EvalResult(
                        task_type=TASK_TYPE,
                        task_name=TASK_NAME,
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
    from huggingface_hub import ModelCardData

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


def _pct(x: Any) -> str:
    return f"{100 * x:.1f}" if isinstance(x, int | float) else "–"


def _code(x: Any) -> str:
    return f"`{x}`"


def _pipeline_differences(source: Source) -> list[str]:
    """What the saved tokenizer does differently from araevent, read from ``tokenizer.json``."""
    path = source.model_dir / "tokenizer.json"
    if not path.is_file():
        return []
    tok = _read_json(path)
    out = []
    norm = source.meta.get("preprocessing", {}).get("normalization") or {}
    steps = [k for k, v in norm.items() if v]
    if steps and not tok.get("normalizer"):
        out.append(
            "the tokenizer has no normaliser, so the pipeline sees the raw text without "
            f"araevent's normalisation ({', '.join(steps)}): a word written with diacritics "
            "or tatweel can be tagged differently"
        )
    pre = tok.get("pre_tokenizer") or {}
    kinds = [p.get("type") for p in pre.get("pretokenizers", [pre])]
    if "Split" not in kinds:
        out.append(
            f"the tokenizer's pre-tokeniser ({', '.join(map(str, kinds))}) does not split "
            "proclitics, so the pipeline tags whole words where araevent tags «و» and "
            "«روسيا» in «وروسيا» apart"
        )
    return out


def _parity_text(source: Source) -> str:
    parity = source.metrics.get("parity", source.meta.get("parity"))
    if parity is None:
        text = "Pipeline parity with araevent was not measured for this model."
    elif isinstance(parity, dict) and "agreement" in parity:
        text = (
            f"Measured on the {parity.get('split', 'evaluation')} split "
            f"({parity.get('documents')} documents): the pipeline and araevent agree on "
            f"{100 * parity['agreement']:.1f}% of exact character spans "
            f"({parity.get('identical_spans')} identical; araevent "
            f"{parity.get('extractor_spans')}, pipeline {parity.get('pipeline_spans')}; "
            "both decoding by argmax)."
        )
        reasons = parity.get("reasons") or {}
        if reasons:
            text += (
                " Differing spans by cause: "
                + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
                + "."
            )
    elif isinstance(parity, dict):
        rows = "\n".join(f"- {k}: {v}" for k, v in parity.items())
        text = f"Measured agreement between the pipeline and araevent:\n\n{rows}"
    else:
        text = f"Measured agreement between the pipeline and araevent: {parity}."
    differences = _pipeline_differences(source)
    if differences:
        text += "\n\nWhere they can differ: " + "; ".join(differences) + "."
    return text


def _usage(source: Source, repo_id: str, revision: str | None) -> str:
    rev = f', revision="{revision}"' if revision else ""
    return f"""## Usage

With araevent (character offsets into the raw text, both layers, a score per span):

```python
from huggingface_hub import snapshot_download
from araevent import Extractor

extractor = Extractor.from_pretrained(snapshot_download("{repo_id}"{rev}))
doc = extractor.predict(["التقى وزير الخارجية نظيره الفرنسي في عمان."])[0]
for span in doc.entities + doc.triggers:
    print(span.label, doc.text[span.start : span.end], span.start, span.end)
```

With the `transformers` pipeline (one list over both layers; the layer of each label
is in `config.json` under `araevent.layers`):

```python
from transformers import pipeline

tagger = pipeline("token-classification", model="{repo_id}"{rev},
                  aggregation_strategy="first")
tagger("التقى وزير الخارجية نظيره الفرنسي في عمان.")
```

{_parity_text(source)}
"""


def _labels(source: Source) -> str:
    layers = source.meta.get("layers", {})
    n_tags = len(source.model_config.get("id2label", {}))
    rows = ["| layer | labels | names |", "|---|---:|---|"]
    for layer in ("entities", "triggers"):
        names = layers.get(layer, [])
        rows.append(f"| {layer} | {len(names)} | {', '.join(names) or '–'} |")
    return "\n".join(
        [
            "## Labels",
            "",
            f"One token-classification head over {n_tags} IOB2 tags: `O` and `B-`/`I-` for "
            "every label of both layers (label set preset "
            f"`{source.meta.get('label_set', '?')}`). When an entity and a trigger fall on the "
            "same unit the trigger wins in training.",
            "",
            *rows,
            "",
        ]
    )


def _model_line(source: Source) -> str:
    model = source.run_config.get("model") or {}
    if source.is_tiny:
        tiny = model.get("tiny") or {}
        size = ", ".join(f"{k} {v}" for k, v in tiny.items() if k != "min_frequency")
        return (
            "none: a small BERT initialised at random and trained from scratch, with a "
            f"WordPiece vocabulary built on the training split ({size or 'sizes unknown'})"
        )
    base = str(source.meta.get("base_model") or model.get("name_or_path") or "unknown")
    if is_local_path(base) or base.startswith("."):
        return f"a local folder named {_code(Path(base).name)}"
    rev = model.get("revision")
    return _code(base) + (f" at revision {_code(rev)}" if rev else "")


def _data_files(source: Source) -> str:
    hashes = {Path(k).name: v for k, v in (source.metrics.get("data_hashes") or {}).items()}
    files = []
    for split in ("train", "dev", "test"):
        value = source.data.get(split)
        if not value:
            continue
        shown = Path(str(value)).name
        sha = hashes.get(shown)
        files.append(f"{split} {_code(shown)}" + (f" (sha256 {sha[:12]}…)" if sha else ""))
    return "; ".join(files) or "–"


def _training(source: Source) -> str:
    if not source.run_config:
        return (
            "## Training\n\n| setting | value |\n|---|---|\n"
            f"| base model | {_model_line(source)} |\n\n"
            "No run configuration was found beside this model folder, so the other training "
            "settings are not recorded here.\n"
        )
    cfg = source.run_config
    data, trainer = source.data, cfg.get("trainer") or {}
    pre = source.meta.get("preprocessing", {})
    run = source.metrics.get("run") or {}
    feats = run.get("train_features") or {}
    norm = ", ".join(k for k, v in (pre.get("normalization") or {}).items() if v) or "none"
    precision = "bf16" if trainer.get("bf16") else "fp16" if trainer.get("fp16") else "fp32"
    versions = source.metrics.get("versions") or {}
    rows = [
        ("base model", _model_line(source)),
        (
            "data",
            f"{_code(data.get('name'))} ({data.get('format')}), layers "
            f"{', '.join(data.get('layers') or [])}, label set {data.get('label_set')}, "
            f"nested spans: {data.get('nested')}",
        ),
        ("data files", _data_files(source)),
        (
            "training set",
            f"{feats.get('documents', '?')} documents, {feats.get('units', '?')} "
            f"units, {feats.get('windows', '?')} windows; "
            f"{feats.get('collisions_entity_dropped', '?')} entities dropped under "
            f"a trigger, {feats.get('spans_off_unit_boundaries', '?')} spans off "
            "unit boundaries",
        ),
        (
            "preprocessing",
            f"max_length {pre.get('max_length')}, stride {pre.get('stride')}, "
            f"decoding {pre.get('decoding')}; normalisation: {norm}",
        ),
        (
            "optimisation",
            f"{trainer.get('epochs')} epochs, learning rate "
            f"{trainer.get('learning_rate')}, batch size {trainer.get('batch_size')}"
            f" x {trainer.get('gradient_accumulation_steps', 1)} accumulation x "
            f"{run.get('world_size', 1)} process(es), warmup ratio "
            f"{trainer.get('warmup_ratio')}, weight decay "
            f"{trainer.get('weight_decay')}, max grad norm "
            f"{trainer.get('max_grad_norm')}, {precision}",
        ),
        (
            "selection",
            "checkpoint with the best dev overall strict F1 "
            f"({_pct(run.get('best_dev_strict_f1'))}) after {run.get('global_steps', '?')} "
            f"steps; early-stopping patience {trainer.get('patience')} evaluations",
        ),
        ("seed", str(cfg.get("seed"))),
        (
            "run",
            f"{_code(source.name)}, git commit "
            f"{_code(source.metrics.get('git_commit') or 'unknown')}",
        ),
        (
            "libraries",
            ", ".join(
                f"{k} {versions[k]}"
                for k in ("araevent", "transformers", "torch", "tokenizers")
                if k in versions
            )
            or "–",
        ),
    ]
    table = ["| setting | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows]]
    return "\n".join(["## Training", "", *table, ""])


def _evaluation(source: Source) -> str:
    from araevent.reporting import main_table

    splits = scored_splits(source.metrics)
    if not splits:
        return (
            "## Evaluation\n\nThis model folder has no metrics.json beside it: it was not "
            "scored, and the card carries no results.\n"
        )
    out = [
        "## Evaluation",
        "",
        "Scores in percent. *span*: exact character-span precision, recall and F1 against "
        "the raw-text gold (95% bootstrap interval over documents); *strict*: seqeval over "
        'unit tag sequences, `mode="strict", scheme=IOB2`; *default*: seqeval\'s default '
        "mode. Trigger identification scores the span only, classification span and type.",
        "",
    ]
    for split in splits:
        counts = (source.metrics.get("counts") or {}).get(split, {})
        out += [f"### {split}", "", main_table(source.metrics, split), ""]
        if counts:
            out += [
                f"{counts.get('documents')} documents, {counts.get('gold_spans')} gold "
                f"spans ({counts.get('gold_spans_off_units', 0)} not on unit boundaries: "
                "the span scores count them as missed, seqeval cannot see them).",
                "",
            ]
    if "dev" in splits:
        out += ["The dev split also chose the checkpoint, so its scores are optimistic.", ""]
    return "\n".join(out)


def _limitations(source: Source) -> str:
    out = ["## Limitations", ""]
    if source.is_tiny:
        out.append(
            f"- **This is araevent's tiny test model**: a BERT of "
            f"{parameter_count(source):,} parameters, initialised at random and trained from "
            "scratch in minutes on a CPU. It shows that the pipeline works end to end; it "
            "is not useful for real text."
        )
    if source.is_sample_data:
        out.append(
            "- **It was trained and scored on the bundled sample corpus**: short "
            "news-style Arabic sentences written for araevent's tests, not real news "
            "and not ACE 2005. Its scores say nothing about performance on real data."
        )
    if not source.data:
        out.append("- The training data is not recorded beside this model folder.")
    out += [
        "- Predictions are made per unit (a whitespace word with a one-letter proclitic "
        "such as و ف ب ك ل split off); a gold span that starts or ends inside a unit cannot "
        "be predicted.",
        "- Text longer than one window is read in overlapping windows of "
        f"{source.meta.get('preprocessing', {}).get('max_length', '?')} subwords; labels the "
        "training data did not hold are never predicted.",
        "- Nested names keep one span per layer; entity arguments of events and relations "
        "are not predicted.",
        "",
    ]
    return "\n".join(out)


def card_text(source: Source, repo_id: str, revision: str | None = None) -> str:
    """The Markdown body of the model card (everything below the YAML block)."""
    from araevent import __version__

    name = repo_id.split("/")[-1]
    layers = source.meta.get("layers", {})
    origin = f"run {_code(source.name)}" if source.metrics else f"folder {_code(source.name)}"
    intro = (
        f"# {name}\n\nAn Arabic token-classification model that marks "
        f"{len(layers.get('entities', []))} entity types and "
        f"{len(layers.get('triggers', []))} event-trigger types ({parameter_count(source):,} "
        f"parameters), trained with araevent {__version__} ({origin}). "
        "Predicted spans are character offsets into the raw text.\n"
    )
    if source.is_tiny or source.is_sample_data:
        what = " on the bundled sample corpus" if source.is_sample_data else ""
        model = "the tiny test model" if source.is_tiny else "a model"
        intro += f"\n> This is {model} trained{what}: see Limitations before using it.\n"
    return "\n".join(
        [
            intro,
            _usage(source, repo_id, revision),
            _labels(source),
            _training(source),
            _evaluation(source),
            _limitations(source),
        ]
    )


def build_card(source: Source, repo_id: str, license_id: str, revision: str | None = None):
    """The full model card (``huggingface_hub.ModelCard``)."""
    from huggingface_hub import ModelCard

    data = card_data(source, repo_id, license_id)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{card_text(source, repo_id, revision)}")


# ---------------------------------------------------------------- the folder


def _strip_local_paths(obj: Any) -> Any:
    """Replace every absolute path string in a JSON value by its last component."""
    if isinstance(obj, dict):
        return {k: _strip_local_paths(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip_local_paths(v) for v in obj]
    if isinstance(obj, str) and is_local_path(obj):
        return Path(obj.replace("\\", "/")).name
    return obj


def _model_files(model_dir: Path) -> list[Path]:
    files = [p for pattern in WEIGHT_PATTERNS for p in sorted(model_dir.glob(pattern))]
    if not any(p.suffix == ".safetensors" for p in files):
        raise UsageError(
            f"{model_dir} has no safetensors weights; save the model with "
            "save_pretrained(safe_serialization=True)"
        )
    known = _read_json(model_dir / "config.json").get(CONFIG_KEY, {}).get("known_words")
    names = [*MODEL_FILES]
    if isinstance(known, str) and known and Path(known).name == known:  # as the loader takes it
        names.append(known)
    files += [model_dir / n for n in dict.fromkeys(names) if (model_dir / n).is_file()]
    return files


def _upload_name(rel: str) -> str:
    """``rel`` with the host name in a TensorBoard event file name replaced by ``host``.

    Raises:
        UsageError: a ``tfevents`` file name whose host part cannot be told.
    """
    folder, _, name = rel.rpartition("/")
    if "tfevents" not in name:
        return rel
    m = TFEVENTS.fullmatch(name)
    if m is None:
        raise UsageError(
            f"--include: cannot tell the host name in the TensorBoard file name {rel}; "
            f"rename it to events.out.tfevents.<time>.{HOST_PLACEHOLDER}.<pid>.<n>"
        )
    name = f"{m['head']}.{HOST_PLACEHOLDER}.{m['tail']}"
    return f"{folder}/{name}" if folder else name


def _included(source: Source, patterns: Sequence[str]) -> dict[str, Path]:
    """Files named by ``--include`` globs, keyed by their path in the upload folder.

    Globs are relative to the run folder (the model folder without one); files under
    ``model/`` land beside the weights. ``tensorboard/`` goes up only when a pattern
    starts with it (its event files go up with the host name in their names replaced).
    """
    root = (source.run_dir or source.model_dir).resolve()
    model_dir = source.model_dir.resolve()
    tensorboard = root / TENSORBOARD_DIR
    out: dict[str, Path] = {}
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise UsageError(f"--include {pattern!r}: give a glob relative to {root.name}/")
        matched = sorted(root.glob(pattern))
        files = [
            f
            for m in matched
            for f in ([m] if m.is_file() else sorted(m.rglob("*")))
            if f.is_file()
        ]
        if not files:
            raise UsageError(f"--include {pattern!r} matches no file in {root}")
        asked_tensorboard = Path(pattern).parts[0] == TENSORBOARD_DIR
        for f in files:
            f = f.resolve()
            if not f.is_relative_to(root):
                raise UsageError(f"--include {pattern!r}: {f.name} lies outside {root}")
            if f.is_relative_to(tensorboard) and not asked_tensorboard:
                raise UsageError(
                    f"--include {pattern!r} matches {TENSORBOARD_DIR}/ (its event files name "
                    f"the training machine); to upload them, say so: --include {TENSORBOARD_DIR}"
                )
            base = model_dir if f.is_relative_to(model_dir) else root
            out[_upload_name(f.relative_to(base).as_posix())] = f
    if CARD_FILE in out:
        raise UsageError(f"--include: {CARD_FILE} is the generated model card; rename the file")
    return out


def _host_names() -> list[str]:
    """This machine's host name and its first label (``node1`` of ``node1.example.org``)."""
    host = socket.gethostname()
    return [h for h in dict.fromkeys((host, host.split(".")[0])) if h]


def _name_leaks(rel: str, needles: Sequence[str], token: str | None) -> list[str]:
    """What the path ``rel`` itself gives away: a local path, the host name, a token."""
    hits = [repr(s) for s in needles if s in rel]
    hits += [
        f"the host name {h!r}"
        for h in _host_names()
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(h)}(?![A-Za-z0-9])", rel)
    ]
    if (token and token in rel) or TOKEN_PATTERN.search(rel):
        hits.append("a Hugging Face token")
    return [f"{rel}: {h} in the file name" for h in hits]


def leaks(folder: Path, local: Sequence[str] = (), token: str | None = None) -> list[str]:
    """``file: what`` for every absolute local path, host name or token found in ``folder``.

    Every file (weights included) is searched for the exact strings in ``local`` and for
    ``token``; text files also for absolute-path and token patterns. The names of the
    files araevent does not write itself (``--include`` ones) are searched for the same
    and for this machine's host name. The token itself is never part of the answer.
    """
    needles = [s for s in local if len(s) >= 6]
    own = {*MODEL_FILES, CARD_FILE}
    found = []
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = f.relative_to(folder).as_posix()
        if "/" in rel or not (rel in own or any(f.match(w) for w in WEIGHT_PATTERNS)):
            found += _name_leaks(rel, needles, token)
        raw = f.read_bytes()
        hits = [repr(s) for s in needles if s.encode("utf-8") in raw]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        hits += [repr(m.group(0)) for m in ABSOLUTE_PATH_PATTERN.finditer(text)][:3]
        if (token and token.encode("utf-8") in raw) or TOKEN_PATTERN.search(text):
            hits.append("a Hugging Face token")
        found += [f"{rel}: {h}" for h in dict.fromkeys(hits)]
    return found


def local_strings(source: Source) -> list[str]:
    """Absolute local paths that must not appear in the upload folder."""
    paths = {str(source.model_dir.resolve()), str(Path.cwd().resolve()), str(Path.home())}
    if source.run_dir is not None:
        paths.add(str(source.run_dir.resolve()))
    for value in source.data.values():
        if isinstance(value, str) and is_local_path(value):
            paths.add(str(Path(value).parent))
    return sorted(p for p in paths if p not in ("/", ""))


def check_card(path: Path, expected: list[Any]) -> Any:
    """Parse ``README.md`` back with ``huggingface_hub`` and compare its results.

    Returns:
        The parsed ``ModelCard``.

    Raises:
        UsageError: the card does not parse or its model-index differs from ``expected``.
    """
    from huggingface_hub import ModelCard

    try:
        card = ModelCard.load(path)
    except ValueError as exc:
        raise UsageError(f"{path}: the generated model card does not parse: {exc}") from None
    got = list(card.data.eval_results or [])
    key = lambda r: (r.dataset_split, r.metric_config, r.metric_value)  # noqa: E731
    if sorted(map(key, got)) != sorted(map(key, expected)):
        raise UsageError(f"{path}: model-index holds {len(got)} results, expected {len(expected)}")
    return card


def _write_folder(
    source: Source,
    out: Path,
    included: dict[str, Path],
    card: Any,
) -> list[str]:
    for f in _model_files(source.model_dir):
        original = _read_json(f) if f.name in JSON_CONFIGS else None
        cleaned = _strip_local_paths(original)
        if cleaned != original:  # a config naming a local path: keep only its last part
            text = json.dumps(cleaned, ensure_ascii=False, indent=2) + "\n"
            (out / f.name).write_text(text, "utf-8")
        else:
            shutil.copyfile(f, out / f.name)
    for rel, f in included.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, out / rel)
    card.save(out / CARD_FILE)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    expected = {f.name for f in _model_files(source.model_dir)} | set(included) | {CARD_FILE}
    assert set(files) == expected, sorted(set(files) ^ expected)
    return files


def build_folder(
    source: Source,
    out_dir: str | Path,
    *,
    repo_id: str,
    license_id: str = "apache-2.0",
    revision: str | None = None,
    include: Sequence[str] = (),
    token: str | None = None,
) -> PublishFolder:
    """Write the upload folder to ``out_dir`` (missing or empty), checked, or nothing at all.

    The folder is built beside ``out_dir`` and moved into place only once it holds
    exactly the expected files, no absolute local path and no ``token``, and its card
    parses back with the model-index results of ``metrics.json``.

    Raises:
        UsageError: ``out_dir`` is not empty, an ``include`` glob matches nothing, or the
            folder would carry an absolute local path or the token.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder; choose a new one")
    shipped = {f.name for f in _model_files(source.model_dir)}
    included = {k: v for k, v in _included(source, include).items() if k not in shipped}
    card = build_card(source, repo_id, license_id, revision)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        files = _write_folder(source, tmp, included, card)
        found = leaks(tmp, local_strings(source), token)
        if found:
            raise UsageError(
                f"nothing written: the upload folder would publish local paths, a host name "
                f"or a token "
                f"({'; '.join(found[:5])}); leave such files out of --include"
            )
        parsed = check_card(tmp / CARD_FILE, eval_results(source))
        if out.exists():
            out.rmdir()
        tmp.chmod(0o755)  # mkdtemp made it private
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PublishFolder(out, files, parsed, list(parsed.data.eval_results or []))


# ---------------------------------------------------------------- the upload


def find_token() -> str | None:
    """The Hub token from ``HF_TOKEN`` or the ``hf auth login`` cache, if there is one."""
    from huggingface_hub import get_token

    return get_token() or None


def require_token() -> str:
    """The Hub token; a :class:`UsageError` in one sentence if there is none."""
    token = find_token()
    if not token:
        raise UsageError(
            "no Hugging Face token found: set HF_TOKEN or run `hf auth login` to upload, "
            "or pass --dry-run DIR to build the folder without uploading"
        )
    return token


def connect(token: str):
    """An ``HfApi`` for ``token``; refuses in offline mode instead of failing mid-upload."""
    from huggingface_hub import HfApi, constants

    if constants.is_offline_mode():
        raise UsageError(
            "HF_HUB_OFFLINE is set (the Makefile sets it by default), so nothing can be "
            "uploaded; run again with HF_HUB_OFFLINE=0"
        )
    return HfApi(token=token)


def commit_message(source: Source) -> str:
    """The upload's commit message: it names the run."""
    return f"araevent: publish run {source.name}"


def _network_errors() -> tuple[type[BaseException], ...]:
    """What an ``HfApi`` call raises when the Hub refuses or cannot be reached."""
    import importlib

    from huggingface_hub.errors import HfHubHTTPError

    errors: list[type[BaseException]] = [HfHubHTTPError, OSError]
    for name in ("httpx2", "httpx"):  # huggingface_hub 2.x and 1.x transports
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except ImportError:
            continue
    return tuple(errors)


def upload(
    folder: PublishFolder,
    source: Source,
    repo_id: str,
    *,
    token: str,
    private: bool = False,
    revision: str | None = None,
    api: Any = None,
) -> str:
    """Create the repo (and the branch), upload the folder; returns the commit URL.

    Raises:
        UsageError: offline mode, or the Hub refused a step (one line naming the step).
    """
    api = api if api is not None else connect(token)
    step = "create_repo"
    try:
        api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
        if revision:
            step = "create_branch"
            api.create_branch(repo_id=repo_id, repo_type="model", branch=revision, exist_ok=True)
        step = "upload_folder"
        info = api.upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=str(folder.path),
            revision=revision,
            commit_message=commit_message(source),
            commit_description=f"Files: {', '.join(folder.files)}",
        )
    except _network_errors() as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"uploading to {repo_id} failed at {step}: {reason}") from None
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{repo_id}")
