"""Where the Hydra config stops: resolvers and typed settings for the library below.

``train.py`` and ``evaluate.py`` call :func:`train_job` / :func:`data_settings` once;
nothing under them sees a ``DictConfig``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from araevent.modeling import Preprocessing
from araevent.text import Normalization


def rank() -> int:
    """This process's global rank under torchrun/accelerate (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


def hydra_subdir(task: str = "train") -> str | None:
    """Where Hydra saves the composed config: ``.hydra`` (on rank 0 only).

    For training, ``None`` (nothing saved) also when the run folder already holds
    a run (a resumption, or an invocation training will refuse), so ``.hydra/``
    always describes the invocation that started the run.
    """
    if rank() != 0:
        return None
    if task != "train":
        return ".hydra"
    from hydra.core.hydra_config import HydraConfig

    from araevent.runfolder import holds_run

    try:
        out = HydraConfig.get().runtime.output_dir
    except ValueError:  # composed outside a Hydra run (tests)
        return ".hydra"
    return None if out and holds_run(Path(out)) else ".hydra"


def register_resolvers() -> None:
    """Resolvers the Hydra configs use: a per-rank log name and :func:`hydra_subdir`."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("araevent_rank_suffix"):
        OmegaConf.register_new_resolver(
            "araevent_rank_suffix", lambda: "" if rank() == 0 else f".rank{rank()}"
        )
    if not OmegaConf.has_resolver("araevent_hydra_subdir"):
        OmegaConf.register_new_resolver("araevent_hydra_subdir", hydra_subdir)


@dataclass
class DataSettings:
    """Which files (or Hub dataset) to read, and how."""

    name: str
    format: str
    train: str | None
    dev: str | None
    test: str | None
    layers: tuple[str, ...]
    label_set: str
    nested: str
    conll_layers: tuple[str, ...] | None = None
    hub: dict[str, Any] = field(default_factory=dict)
    ace2005: dict[str, Any] = field(default_factory=dict)  # format ace2005: the LDC options
    # training augmentation (araevent.perturb): perturbation names, and the share of
    # training documents perturbed in each epoch (0: none)
    augment: tuple[str, ...] = ()
    augment_prob: float = 0.0


@dataclass
class TinySettings:
    """Sizes of the locally built model (``configs/model/tiny.yaml``)."""

    vocab_size: int
    min_frequency: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    dropout: float


@dataclass
class ModelSettings:
    """Which encoder, and the preprocessing saved with it."""

    name: str
    name_or_path: str | None
    revision: str | None
    preprocessing: Preprocessing
    tiny: TinySettings | None


@dataclass
class TrainerSettings:
    """Optimisation and Trainer options (``configs/trainer/*.yaml``)."""

    epochs: float
    learning_rate: float
    batch_size: int
    eval_batch_size: int
    gradient_accumulation_steps: int
    warmup_ratio: float
    weight_decay: float
    max_grad_norm: float
    bf16: bool
    fp16: bool
    patience: int
    sampling_strategy: str
    use_cpu: bool
    save_total_limit: int
    logging_steps: int
    max_steps: int
    report_to: list[str]
    dataloader_num_workers: int
    # dev scoring and checkpoints every N epochs (0: never, the last epoch is the model)
    eval_every: int = 1
    # dev scoring and checkpoints every N optimizer steps instead of epochs (None: epochs)
    eval_steps: int | None = None
    # resamples of the final dev re-score's 95% intervals (0: none; the test report keeps 1000)
    final_bootstrap: int = 1000


@dataclass
class TrainJob:
    """One training run, fully typed."""

    run_dir: Path
    model: ModelSettings
    data: DataSettings
    trainer: TrainerSettings
    seed: int
    resume: bool | str
    test: bool
    tags: list[str]
    config: dict[str, Any]
    # the argument model's own encoder (model@arguments_model=...); None: the tagger's
    arguments_model: ModelSettings | None = None


def data_settings(cfg) -> DataSettings:
    """Typed data settings from the ``data`` group."""
    hub = {}
    if cfg.format == "hub":
        hub = {
            k: cfg.get(k)
            for k in ("hub_name", "hub_config", "revision", "tokens_column", "tags_column")
        }
    conll = cfg.get("conll_layers")
    ace = {}
    if cfg.format == "ace2005":
        keys = ("ldc_root", "split", "span", "mentions", "values", "language", "cache_dir")
        ace = {k: cfg.get(k) for k in keys}
    augment, augment_prob = augmentation_settings(cfg.get("augment"), cfg.get("augment_prob"))
    return DataSettings(
        name=cfg.name,
        format=cfg.format,
        train=cfg.get("train"),
        dev=cfg.get("dev"),
        test=cfg.get("test"),
        layers=tuple(cfg.layers),
        label_set=cfg.label_set,
        nested=cfg.nested,
        conll_layers=tuple(conll) if conll else None,
        hub=hub,
        ace2005=ace,
        augment=augment,
        augment_prob=augment_prob,
    )


def augmentation_settings(names, prob) -> tuple[tuple[str, ...], float]:
    """``data.augment`` and ``data.augment_prob`` checked: known names, a probability.

    Raises:
        UsageError: an unknown name (the line lists the valid ones), a probability
            outside [0, 1], or a probability above 0 with no perturbation named.
    """
    from araevent.errors import UsageError
    from araevent.perturb import NAMES, PERTURBATIONS

    if isinstance(names, str):
        names = [names]
    names = tuple(str(n) for n in names or ())
    unknown = [n for n in names if n not in PERTURBATIONS]
    if unknown:
        raise UsageError(
            f"data.augment: unknown perturbation {', '.join(unknown)} "
            f"(choose any of {', '.join(NAMES)})"
        )
    prob = 0.0 if prob is None else float(prob)
    if not 0.0 <= prob <= 1.0:
        raise UsageError(f"data.augment_prob={prob}: give a probability between 0 and 1")
    if prob > 0 and not names:
        raise UsageError(
            f"data.augment_prob={prob} but data.augment names no perturbation "
            f"(add data.augment=[{NAMES[4]},...] or set data.augment_prob=0)"
        )
    return names, prob


def model_settings(cfg) -> ModelSettings:
    """Typed model settings from the ``model`` group."""
    from omegaconf import OmegaConf

    pre = Preprocessing(
        Normalization(**OmegaConf.to_container(cfg.normalization)),
        int(cfg.max_length),
        int(cfg.stride),
        str(cfg.decoding),
    )
    if cfg.name_or_path:  # a pretrained encoder (model/_pretrained.yaml sets tiny: null)
        tiny = None
    elif cfg.get("tiny"):
        tiny = TinySettings(**OmegaConf.to_container(cfg.tiny))
    else:
        from araevent.errors import UsageError

        raise UsageError(f"model {cfg.name}: set model.name_or_path or a model.tiny block")
    return ModelSettings(cfg.name, cfg.name_or_path, cfg.get("revision"), pre, tiny)


def require_complete(cfg) -> None:
    """Fail with one sentence naming every required (``???``) value left unset."""
    from omegaconf import OmegaConf

    from araevent.errors import UsageError

    def walk(node, prefix: str) -> list[str]:
        out = []
        keys = range(len(node)) if OmegaConf.is_list(node) else list(node.keys())
        for key in keys:
            if OmegaConf.is_missing(node, key):
                out.append(f"{prefix}{key}")
                continue
            child = node._get_node(key)
            if OmegaConf.is_interpolation(node, key):
                continue
            if OmegaConf.is_config(child):
                out += walk(child, f"{prefix}{key}.")
        return out

    missing = sorted(walk(cfg, ""))
    if missing:
        hint = " ".join(f"{k}=..." for k in missing)
        raise UsageError(
            f"required config values are not set: {', '.join(missing)} "
            f"(add {hint} to the command line)"
        )


def train_job(cfg, run_dir: str | Path) -> TrainJob:
    """Unpack the composed ``train.yaml`` once into typed settings."""
    from omegaconf import OmegaConf

    require_complete(cfg)
    t = OmegaConf.to_container(cfg.trainer, resolve=True)
    config = OmegaConf.to_container(cfg, resolve=True)
    # the folder actually used (hydra.run.dir), not the default timestamped path
    config.setdefault("paths", {})["output_dir"] = str(run_dir)
    return TrainJob(
        run_dir=Path(run_dir),
        model=model_settings(cfg.model),
        data=data_settings(cfg.data),
        trainer=TrainerSettings(**t),
        seed=int(cfg.seed),
        resume=cfg.resume,
        test=bool(cfg.test),
        tags=list(cfg.get("tags") or []),
        config=config,
        arguments_model=model_settings(cfg.arguments_model) if cfg.get("arguments_model") else None,
    )


@dataclass
class EvaluateJob:
    """One ``evaluate.py`` run, fully typed."""

    out_dir: Path
    model_path: str
    data: DataSettings
    split: str
    batch_size: int
    decoding: str | None
    bootstrap: int
    seed: int
    device: str | None
    config: dict[str, Any]
    # False: the command line named no data, so the training run's data config is used
    data_given: bool = True
    # the robustness report of the split (araevent.robustness): its perturbations and rate
    robustness: bool = False
    robustness_perturb: tuple[str, ...] = ()
    robustness_rate: float | None = None


def names_data(overrides: Sequence[str]) -> bool:
    """Whether command-line overrides touch the ``data`` group (``data=x``, ``data.dir=y``)."""
    return any(re.match(r"[+~]*data([.=@]|$)", o) for o in overrides)


def evaluate_job(cfg, out_dir: str | Path, overrides: Sequence[str] | None = None) -> EvaluateJob:
    """Unpack the composed ``evaluate.yaml`` once into typed settings.

    ``overrides`` are the command line's (``None``: unknown, ``cfg.data`` is used as
    given); when none of them names ``data``, the training run's data config is.
    """
    from omegaconf import OmegaConf

    from araevent.errors import UsageError

    require_complete(cfg)
    split = str(cfg.split)
    if split not in ("train", "dev", "test"):
        raise UsageError(f"split={split}: choose train, dev or test")
    decoding = cfg.get("decoding")
    if decoding not in (None, "argmax", "viterbi"):
        raise UsageError(f"decoding={decoding}: choose argmax, viterbi or null (the model's)")
    batch_size, bootstrap = int(cfg.batch_size), int(cfg.bootstrap)
    if batch_size < 1 or bootstrap < 0:
        raise UsageError(f"batch_size={batch_size} must be >= 1 and bootstrap={bootstrap} >= 0")
    device = cfg.get("device")
    robustness = bool(cfg.get("robustness", False))
    perturb: tuple[str, ...] = ()
    rate = cfg.get("robustness_rate")
    if robustness:
        perturb, rate = robustness_settings(cfg.get("robustness_perturb", "all"), rate, bootstrap)
    return EvaluateJob(
        out_dir=Path(out_dir),
        model_path=str(cfg.model_path),
        data=data_settings(cfg.data),
        split=split,
        batch_size=batch_size,
        decoding=decoding,
        bootstrap=bootstrap,
        seed=int(cfg.seed),
        device=str(device) if device else None,
        config=OmegaConf.to_container(cfg, resolve=True),
        data_given=overrides is None or names_data(overrides),
        robustness=robustness,
        robustness_perturb=perturb,
        robustness_rate=rate,
    )


def robustness_settings(perturb, rate, bootstrap: int) -> tuple[tuple[str, ...], float | None]:
    """``robustness_perturb`` (``all``, a name or a list) and ``robustness_rate`` checked.

    Raises:
        UsageError: an unknown perturbation (the line lists the valid ones), a rate
            outside [0, 1], or ``bootstrap`` 0 (the report is its intervals).
    """
    from araevent.errors import UsageError
    from araevent.perturb import resolve

    spec = perturb if isinstance(perturb, str) else ",".join(str(p) for p in perturb)
    try:
        names = tuple(resolve(spec))
    except ValueError as exc:
        raise UsageError(f"robustness_perturb={spec}: {exc}") from None
    if rate is not None and not 0.0 <= float(rate) <= 1.0:
        raise UsageError(f"robustness_rate={rate}: give a probability between 0 and 1")
    if bootstrap < 1:
        raise UsageError(
            "robustness=true needs bootstrap >= 1 (the report is the ΔF1 intervals); "
            f"bootstrap={bootstrap}"
        )
    return names, None if rate is None else float(rate)
