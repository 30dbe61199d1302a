"""araevent benchmarks: speed, memory and scaling, measured side by side (issue 8).

    python benchmarks/bench.py            # the full run: writes results.json and results.md here
    python benchmarks/bench.py --quick    # the smallest sizes (what the smoke test runs)
    python benchmarks/bench.py --only scale --sizes 5000,20000   # predict at scale only

From Python: ``run_benchmarks(out_dir, quick=True)`` returns the results dict it writes.

What is measured (every number a median over repetitions after a warm-up):

- ``train_run`` / ``evaluate_run``: ``python train.py`` (tiny, defaults) and
  ``python evaluate.py model_path=DIR split=test`` in their own subprocesses: wall
  time and peak resident memory (the process tree's RSS sampled every 20 ms, and
  the kernel's ``ru_maxrss`` of the process itself).
- ``training_throughput``: the tiny model on ``data/sample`` train, one epoch per
  run through Hugging Face ``Trainer`` with the project's features and collator,
  with ``group_by_length`` and with ``random`` sampling, alternated: samples/s,
  non-padding tokens/s and the padding share.
- ``inference``: ``Extractor.predict`` against ``transformers.pipeline(
  "token-classification", aggregation_strategy="first")`` at batch size 1 and 32
  (``stride`` set when a text exceeds the window) and a bare batched forward loop
  (the tokenizer's windows sorted by length, batch 64, argmax: the practical
  ceiling), alternated in one process on the same model object and the same
  texts; for the trained tiny model and for an AraBERT-base-shaped random model
  (``arabert-base-shaped.json``).
- ``scaling``: ``Extractor.predict`` on 1x, 4x, 16x the test split and on
  documents of 1x, 4x, 16x the window length.
- ``profile``: cProfile of one ``Extractor.predict`` call, split into stages.
- ``argument_cost``: ``Extractor.predict`` with and without the run's argument model
  (and with it encoding every text a second time), alternated: docs/s.
- ``scale`` (``--only scale``, written to scale.json/scale.md): ``araevent predict``
  in a subprocess over 5,000 / 50,000 / 200,000 documents (``--sizes``): docs/s,
  peak RSS and its spread over the sizes, and two ``--shard K/2`` processes and a
  two-process ``torchrun`` (merged by rank 0) compared with the single output.

Numbers depend on the machine and on what else runs on it; the header records the
cores, torch threads, library versions and the load average around each section.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import gc
import json
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
CONFIGS = ROOT / "configs"
BASE_SHAPED_CONFIG = BENCH_DIR / "arabert-base-shaped.json"
# asafaya/bert-mini-arabic's shape (config.json on the Hub), the tiny model's vocabulary
MINI_SHAPE = {
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 1024,
}
AQMAR_CORPUS = ROOT.parent / "shared" / "data" / "aqmar" / "AQMAR_Arabic_NER_corpus-1.0.txt"
SCHEMA_VERSION = 1
SCALE_FACTORS = (1, 4, 16)
BARE_BATCH = 64
PIPELINE_BATCHES = (1, 32)
# the targets of issue 8, the inference ones raised by issue 17; shown in results.md,
# never asserted
TARGETS = {
    "tiny_vs_pipeline_bs1": 4.0,
    "tiny_vs_pipeline_bs32": 3.0,
    "tiny_bare_over_extractor_max": 1.25,
    "base_vs_pipeline_min": 1.0,
    "train_wall_s_max": 120.0,
    "evaluate_peak_rss_mb_max": 1024.0,
    # issue 17: python train.py (what make train runs after set-up), and training on
    # AQMAR against the Hugging Face recipe (benchmarks/aqmar.py --vs-run-ner)
    "make_train_wall_s_max": 45.0,
    "vs_run_ner_tokens_per_s_min": 1.1,
    "vs_run_ner_wall_max": 1.1,
}


# --- environment and subprocesses ------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of the measured subprocesses: offline, no tokenizer threads."""
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    env.setdefault("PYTHONPATH", str(ROOT / "src"))
    return env


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other people's jobs show up here)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine_info() -> dict[str, Any]:
    """Cores, memory, torch threads and the versions that shape the numbers."""
    from importlib import metadata

    import psutil
    import torch

    from araevent.provenance import library_versions

    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = library_versions()
    for name in ("sklearn-crfsuite", "psutil"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_average_start": load_average(),
    }


def measure_process(
    cmd: Sequence[str], log_path: Path, timeout_s: float = 1800, env: dict | None = None
) -> dict:
    """Run ``cmd`` from the repository root; wall time and peak memory.

    ``peak_rss_mb``: the largest sum of RSS over the process and its children,
    sampled every 20 ms; ``ru_maxrss_mb``: the kernel's high-water mark for the
    process itself (catches a spike between two samples); ``cpu_s``: its user plus
    system CPU time, which other people's load changes far less than wall time.
    """
    import psutil

    start = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            list(cmd), cwd=ROOT, env={**child_env(), **(env or {})}, stdout=log, stderr=log
        )
        ps = psutil.Process(proc.pid)
        peak = 0
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                tree = [ps, *ps.children(recursive=True)]
                rss = 0
                for p in tree:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        rss += p.memory_info().rss
                peak = max(peak, rss)
            except psutil.NoSuchProcess:
                pass
            if time.perf_counter() - start > timeout_s:
                proc.kill()
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak / 2**20, 1),
        "ru_maxrss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "returncode": proc.returncode,
        "log": str(log_path),
    }


def _summary(runs: list[dict]) -> dict[str, Any]:
    ok = [r for r in runs if r["returncode"] == 0] or runs
    return {
        "median_wall_s": round(statistics.median(r["wall_s"] for r in ok), 2),
        "median_cpu_s": round(statistics.median(r["cpu_s"] for r in ok), 2),
        "median_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in ok), 1),
        "max_peak_rss_mb": round(max(max(r["peak_rss_mb"], r["ru_maxrss_mb"]) for r in ok), 1),
        "all_succeeded": all(r["returncode"] == 0 for r in runs),
    }


def train_runs(work: Path, reps: int, quick: bool, threads: int | None = None) -> dict[str, Any]:
    """``python train.py`` (tiny, defaults) in subprocesses; the first run's model is kept.

    ``threads`` sets ``OMP_NUM_THREADS`` (torch's intra-op threads) for the runs.
    """
    extra = ["debug=tiny", "trainer.max_steps=3"] if quick else []
    env = {"OMP_NUM_THREADS": str(threads)} if threads else None
    name = f"train-{threads}t" if threads else "train"
    runs = []
    for k in range(reps):
        run_dir = work / f"{name}-{k}"
        cmd = [sys.executable, "train.py", f"hydra.run.dir={run_dir}", *extra]
        proc = measure_process(cmd, work / f"{name}-{k}.out", env=env)
        runs.append({**proc, "run_dir": str(run_dir)})
        if runs[-1]["returncode"] != 0:
            tail = Path(runs[-1]["log"]).read_text("utf-8", "replace")[-2000:]
            raise RuntimeError(f"train.py failed (exit {runs[-1]['returncode']}):\n{tail}")
        runs[-1]["phases"] = train_phases(run_dir)
    return {
        "command": [
            *([f"OMP_NUM_THREADS={threads}"] if threads else []),
            "python",
            "train.py",
            *extra,
        ],
        "overrides": extra,
        "runs": runs,
        **_summary(runs),
        "model_dir": str(Path(runs[0]["run_dir"]) / "model"),
    }


def train_phases(run_dir: Path) -> dict[str, Any]:
    """Where a ``train.py`` run's time went, from its metrics.json.

    ``Trainer.train`` seconds and epochs of the tagger and of the argument model;
    ``rest_s``: the run's own wall time (``run.wall_time_s``, from the start of
    training to metrics.json) minus both trainings: reading, features, dev scoring at
    the end, test scoring with bootstrap intervals, saving.
    """
    run = json.loads((run_dir / "metrics.json").read_text("utf-8"))["run"]
    args = run.get("arguments") or {}
    tagger_s, args_s = run["train_runtime_s"], args.get("train_runtime_s", 0.0)
    return {
        "tagger_train_s": tagger_s,
        "tagger_epochs": round(run["global_steps"] / max(run["steps_per_epoch"], 1), 2),
        "arguments_train_s": args_s,
        "arguments_epochs": args.get("epochs"),
        "rest_s": round(run["wall_time_s"] - tagger_s - args_s, 2),
    }


def evaluate_runs(work: Path, model_dir: str, reps: int) -> dict[str, Any]:
    """``python evaluate.py model_path=DIR split=test``, ``reps`` times."""
    runs = []
    for k in range(reps):
        out = work / f"evaluate-{k}"
        cmd = [
            sys.executable,
            "evaluate.py",
            f"model_path={model_dir}",
            "split=test",
            f"hydra.run.dir={out}",
        ]
        runs.append(measure_process(cmd, work / f"evaluate-{k}.out"))
    return {
        "command": ["python", "evaluate.py", "model_path=DIR", "split=test"],
        "runs": runs,
        **_summary(runs),
    }


# --- training throughput ------------------------------------------------------------


def compose(overrides: Sequence[str] = ()):
    """``configs/train.yaml`` composed as ``train.py`` would, with ``overrides``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from araevent.config import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = hydra_compose("train", overrides=list(overrides))
    GlobalHydra.instance().clear()
    return cfg


def training_throughput(work: Path, reps: int, quick: bool) -> dict[str, Any]:
    """One epoch of the tiny model per run, ``group_by_length`` against ``random``."""
    import torch
    from transformers import DataCollatorForTokenClassification, Trainer, set_seed
    from transformers.utils import logging as hf_logging

    from araevent.config import train_job
    from araevent.modeling import Preprocessor, train_tiny_tokenizer
    from araevent.splits import load_split
    from araevent.text import KnownWords, span_vocabulary, split_units
    from araevent.trainers import build_tiny_model, training_arguments
    from araevent.training import build_features, label_schema

    hf_logging.disable_progress_bar()
    overrides = ["debug=tiny"] if quick else []
    job = train_job(compose(overrides), work / "throughput")
    train = load_split(job.data, "train")
    schema = label_schema(train, job.data)
    known = KnownWords.shipped().union(span_vocabulary(train))
    m = job.model
    norm = m.preprocessing.normalization
    tokenizer = train_tiny_tokenizer(
        ([norm(u.text) for u in split_units(d.text, known)] for d in train),
        vocab_size=m.tiny.vocab_size,
        min_frequency=m.tiny.min_frequency,
        max_length=m.preprocessing.max_length,
    )
    pre = Preprocessor(tokenizer, known, m.preprocessing)
    ds, _ = build_features(pre, train, schema, job.data.layers)
    tokens = int(sum(ds["length"]))
    max_steps = 3 if quick else -1
    base_args = training_arguments(job)

    def make_trainer(strategy: str, steps: int) -> Trainer:
        set_seed(job.seed)
        model = build_tiny_model(tokenizer, schema, m)
        args = dataclasses.replace(
            base_args,
            output_dir=str(work / "throughput" / strategy),
            eval_strategy="no",
            save_strategy="no",
            load_best_model_at_end=False,
            num_train_epochs=1,
            max_steps=steps,
            train_sampling_strategy=strategy,
            logging_strategy="no",
            report_to=[],
        )
        return Trainer(
            model=model,
            args=args,
            train_dataset=ds,
            data_collator=DataCollatorForTokenClassification(tokenizer),
            processing_class=tokenizer,
        )

    strategies = ("group_by_length", "random")
    padded = {}
    for s in strategies:  # padding per epoch, from the trainer's own sampler and collator
        loader = make_trainer(s, max_steps).get_train_dataloader()
        padded[s] = int(sum(batch["input_ids"].numel() for batch in loader))
    make_trainer("random", 2).train()  # warm-up
    times: dict[str, list[float]] = {s: [] for s in strategies}
    steps: dict[str, int] = {}
    for r in range(reps):
        for s in strategies if r % 2 == 0 else strategies[::-1]:
            trainer = make_trainer(s, max_steps)
            gc.collect()
            start = time.perf_counter()
            trainer.train()
            times[s].append(time.perf_counter() - start)
            steps[s] = trainer.state.global_step
    samples = len(ds)
    out: dict[str, Any] = {
        "data": str(job.data.train),
        "model": {k: v for k, v in dataclasses.asdict(m.tiny).items()},
        "batch_size": job.trainer.batch_size,
        "samples_per_epoch": samples,
        "non_padding_tokens_per_epoch": tokens,
        "epochs_per_run": 1 if max_steps < 0 else None,
        "max_steps": max_steps,
        "reps": reps,
        "torch_threads": torch.get_num_threads(),
        "strategies": {},
    }
    for s in strategies:
        med = statistics.median(times[s])
        frac = steps[s] * job.trainer.batch_size / samples if max_steps > 0 else 1.0
        frac = min(frac, 1.0)
        out["strategies"][s] = {
            "times_s": [round(x, 3) for x in times[s]],
            "median_s": round(med, 3),
            "steps": steps[s],
            "samples_per_s": round(samples * frac / med, 1),
            "non_padding_tokens_per_s": round(tokens * frac / med, 1),
            "padded_tokens_per_epoch": padded[s],
            "padding_share": round(1 - tokens / padded[s], 3) if padded[s] else None,
        }
    g, r_ = out["strategies"]["group_by_length"], out["strategies"]["random"]
    out["speedup_group_by_length"] = round(g["samples_per_s"] / r_["samples_per_s"], 2)
    return out


# --- inference ------------------------------------------------------------------------


def bare_loop(model, tokenizer, texts: Sequence[str], stride: int | None, batch: int = BARE_BATCH):
    """The ceiling: tokenizer windows sorted by length, batches of ``batch``, argmax ids."""
    import torch

    kw: dict[str, Any] = {"truncation": True, "max_length": tokenizer.model_max_length}
    if stride is not None:
        kw.update(return_overflowing_tokens=True, stride=stride)
    ids = tokenizer(list(texts), **kw)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: list[list[int] | None] = [None] * len(ids)
    pad = tokenizer.pad_token_id
    with torch.inference_mode():
        for b in range(0, len(order), batch):
            rows = order[b : b + batch]
            width = len(ids[rows[-1]])
            x = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                x[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            pred = model(input_ids=x, attention_mask=mask).logits.argmax(-1)
            for r, i in enumerate(rows):
                out[i] = pred[r, : len(ids[i])].tolist()
    return out


def pipeline_stride(tokenizer, texts: Sequence[str], stride: int) -> int | None:
    """The pipeline's ``stride`` when some text exceeds the window, else ``None``."""
    lengths = [len(x) for x in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
    return stride if max(lengths, default=0) > tokenizer.model_max_length else None


def text_stats(loaded, texts: Sequence[str]) -> dict[str, int]:
    """Units, subwords and windows of ``texts`` under araevent's preprocessing."""
    encoded = loaded.preprocessor.encode(texts)
    return {
        "documents": len(texts),
        "characters": sum(len(t) for t in texts),
        "units": sum(len(e.units) for e in encoded),
        "subwords": sum(sum(len(g) for g in e.encoding.subwords) for e in encoded),
        "windows": sum(len(e.encoding.windows) for e in encoded),
        "documents_over_one_window": sum(len(e.encoding.windows) > 1 for e in encoded),
    }


def time_alternating(
    methods: dict[str, Callable[[], Any]], reps: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Warm every method up, then time them in rotating order, ``reps`` rounds."""
    for _ in range(warmup):
        for fn in methods.values():
            fn()
    names = list(methods)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            gc.collect()
            start = time.perf_counter()
            methods[n]()
            times[n].append(time.perf_counter() - start)
    return times


def inference_comparison(loaded, texts: Sequence[str], reps: int, label: str) -> dict[str, Any]:
    """Extractor against the pipeline (bs 1, 32) and the bare loop on one model object."""
    import torch
    from transformers import pipeline

    from araevent.predict import Extractor

    model, tok = loaded.model, loaded.tokenizer
    model.eval()
    stride = loaded.preprocessor.settings.stride
    p_stride = pipeline_stride(tok, texts, stride)
    pipe = pipeline(
        "token-classification",
        model=model,
        tokenizer=tok,
        aggregation_strategy="first",
        device=torch.device("cpu"),
    )
    stride_kw = {"stride": p_stride} if p_stride is not None else {}
    texts = list(texts)
    extractor = Extractor(loaded)  # the default batch size
    extractor64 = Extractor(loaded, batch_size=BARE_BATCH)
    methods: dict[str, Callable[[], Any]] = {
        "extractor": lambda: extractor.predict(texts),
        f"extractor_bs{BARE_BATCH}": lambda: extractor64.predict(texts),
        **{
            f"pipeline_bs{b}": (lambda b=b: pipe(texts, batch_size=b, **stride_kw))
            for b in PIPELINE_BATCHES
        },
        "bare_loop": lambda: bare_loop(model, tok, texts, p_stride),
    }
    stats = text_stats(loaded, texts)
    times = time_alternating(methods, reps)
    out: dict[str, Any] = {
        "model": label,
        **stats,
        "window_subwords": loaded.preprocessor.settings.max_length,
        "araevent_stride": stride,
        "pipeline_stride": p_stride,
        "extractor_batch_size": extractor.predictor.batch_size,
        "reps": reps,
        "methods": {},
    }
    for name, ts in times.items():
        med = statistics.median(ts)
        out["methods"][name] = {
            "times_s": [round(t, 4) for t in ts],
            "median_s": round(med, 4),
            "docs_per_s": round(len(texts) / med, 2),
            "units_per_s": round(stats["units"] / med, 1),
        }
    dps = {n: v["docs_per_s"] for n, v in out["methods"].items()}
    out["ratios"] = {
        "extractor_vs_pipeline_bs1": round(dps["extractor"] / dps["pipeline_bs1"], 2),
        "extractor_vs_pipeline_bs32": round(dps["extractor"] / dps["pipeline_bs32"], 2),
        "bare_vs_pipeline_bs1": round(dps["bare_loop"] / dps["pipeline_bs1"], 2),
        "bare_vs_pipeline_bs32": round(dps["bare_loop"] / dps["pipeline_bs32"], 2),
        "bare_over_extractor": round(dps["bare_loop"] / dps["extractor"], 2),
        f"bare_over_extractor_bs{BARE_BATCH}": round(
            dps["bare_loop"] / dps[f"extractor_bs{BARE_BATCH}"], 2
        ),
    }
    return out


def argument_cost(model_dir: str | Path, texts: Sequence[str], reps: int) -> dict[str, Any]:
    """``Extractor.predict`` docs/s with and without the run's argument model, alternated.

    Three extractors on the same texts: without arguments (``arguments=False``), with
    them, and with them but the argument model encoding every text again (what it did
    before it took the tagger's encodings). ``None`` when the run has no ``arguments/``.
    """
    from araevent.predict import Extractor

    with_args = Extractor.from_pretrained(model_dir)
    if with_args.arguments is None:
        return None
    without = Extractor.from_pretrained(model_dir, arguments=False)
    twice = Extractor.from_pretrained(model_dir)
    twice.shared_encoding = False
    methods = {
        "without arguments": lambda: without.predict(texts),
        "with arguments": lambda: with_args.predict(texts),
        "with arguments, encoding twice": lambda: twice.predict(texts),
    }
    times = time_alternating(methods, reps)
    docs = with_args.predict(texts)
    # what each model's encoder reads: the tagger's windows, the argument instances
    encoded = without.predictor.preprocessor.encode(list(texts))
    tagger_subwords = sum(
        sum(len(g) for g in e.encoding.subwords[a:b]) + 2
        for e in encoded
        for a, b in e.encoding.windows
    )
    _, instances = with_args.arguments.predictor.builder.build(
        list(texts), [d.triggers for d in docs], encoded=encoded
    )
    instance_subwords = sum(len(x.input_ids) for x in instances)
    rows = {
        name: {
            "median_s": round(statistics.median(t), 4),
            "docs_per_s": round(len(texts) / statistics.median(t), 1),
            "runs_s": [round(x, 4) for x in t],
        }
        for name, t in times.items()
    }
    base = rows["without arguments"]["median_s"]
    return {
        "documents": len(texts),
        "triggers_predicted": sum(len(d.triggers) for d in docs),
        "arguments_predicted": sum(len(t.arguments or ()) for d in docs for t in d.triggers),
        "shared_encoding": with_args.shared_encoding,
        "tagger_windows": sum(len(e.encoding.windows) for e in encoded),
        "tagger_subwords": tagger_subwords,
        "argument_instances": len(instances),
        "argument_subwords": instance_subwords,
        "argument_over_tagger_subwords": round(instance_subwords / tagger_subwords, 2),
        "reps": reps,
        "methods": rows,
        "time_with_over_without": round(rows["with arguments"]["median_s"] / base, 2),
        "time_twice_over_with": round(
            rows["with arguments, encoding twice"]["median_s"] / rows["with arguments"]["median_s"],
            2,
        ),
    }


def argument_cost_markdown(ac: dict[str, Any] | None) -> list[str]:
    """The results.md section of :func:`argument_cost`."""
    head = ["", "## The cost of arguments: Extractor.predict with and without the argument model"]
    if ac is None:
        return [*head, "", "The run has no argument model (arguments/): not measured."]
    return [
        *head,
        "",
        f"{ac['documents']} test documents, {ac['triggers_predicted']} predicted triggers, "
        f"{ac['arguments_predicted']} predicted arguments; medians of {ac['reps']} alternated "
        "runs in one process. The argument model runs one instance per predicted trigger "
        "(its window, the trigger marked), batched and length-sorted; it reads the tagger's "
        f"encodings (shared: {ac['shared_encoding']}); *encoding twice* is the same with the "
        "argument model encoding every text itself.",
        "",
        _table(
            ["Extractor.predict", "median s", "docs/s"],
            [[n, r["median_s"], r["docs_per_s"]] for n, r in ac["methods"].items()],
        ),
        "",
        f"Time with arguments / without: {ac['time_with_over_without']}x; encoding twice / "
        f"once: {ac['time_twice_over_with']}x.",
        "",
        f"What the encoders read: the tagger {ac['tagger_windows']} windows, "
        f"{ac['tagger_subwords']:,} subwords; the argument model {ac['argument_instances']} "
        f"instances (one per predicted trigger, each its trigger's whole window), "
        f"{ac['argument_subwords']:,} subwords: {ac['argument_over_tagger_subwords']}x the "
        "tagger's. The argument model has the tagger's shape, so its forward passes cost about "
        "that many times the tagger's; arguments costing no more than the tagger's forward "
        "pass would need instances about that many times shorter than the windows, which the "
        "distances between triggers and their arguments do not allow (docs/arguments.md).",
    ]


def vs_run_ner_markdown(vs: dict[str, Any]) -> list[str]:
    """The results.md section of ``aqmar.training_vs_run_ner``."""
    rows = [
        [
            system,
            i + 1,
            r["wall_s"],
            r["cpu_s"],
            r["train_runtime_s"],
            r["non_padding_tokens_per_epoch"],
            r["non_padding_tokens_per_s"],
            r["global_steps"],
        ]
        for system, runs in vs["runs"].items()
        for i, r in enumerate(runs)
    ]
    lines = [
        "",
        "## Training on AQMAR against the Hugging Face token-classification recipe",
        "",
        f"{vs['reps']} alternated runs each, {vs['epochs']} epochs, tiny-shaped model, batch 16, "
        f"group_by_length, OMP_NUM_THREADS={vs['threads']}, dev scored once at the end. "
        f"araevent: `{vs['araevent_command']}`; the recipe: `{vs['baseline_command']}` "
        "(`run_ner.py` written small and offline: each sentence's words, truncated at the "
        "window, first subword labelled). Tokens/s: each system's own non-padding subwords "
        "over its `Trainer.train` time.",
        "",
        _table(
            ["system", "run", "wall s", "CPU s", "train s", "tokens/epoch", "tokens/s", "steps"],
            rows,
        ),
        "",
        f"Medians: araevent / recipe tokens/s {vs['tokens_per_s_ratio']}x, wall time "
        f"{vs['wall_ratio']}x.",
    ]
    prof = vs.get("profile")
    if prof:
        a, b = prof["araevent"]["parts"], prof["run_ner"]["parts"]
        lines += [
            "",
            "Where `Trainer.train`'s time goes: one more run of each under cProfile "
            "(`python -m cProfile`; cumulative seconds of the loop's parts, so the profiler's "
            "own cost is included; per 1,000 of each system's non-padding tokens):",
            "",
            _table(
                [
                    "part",
                    "araevent s",
                    "araevent ms / 1k tokens",
                    "recipe s",
                    "recipe ms / 1k tokens",
                ],
                [
                    [
                        k,
                        a[k]["seconds"],
                        a[k]["ms_per_1000_tokens"],
                        b[k]["seconds"],
                        b[k]["ms_per_1000_tokens"],
                    ]
                    for k in a
                ],
            ),
        ]
    return lines


def thread_sensitivity(loaded, texts: Sequence[str], reps: int) -> dict[str, Any]:
    """Extractor and the bare loop with 1 and with the default number of torch threads."""
    import torch

    from araevent.predict import Extractor

    default = torch.get_num_threads()
    texts = list(texts)
    extractor = Extractor(loaded)
    p_stride = pipeline_stride(loaded.tokenizer, texts, loaded.preprocessor.settings.stride)
    rows = []
    try:
        for n in sorted({1, default}):
            torch.set_num_threads(n)
            times = time_alternating(
                {
                    "extractor": lambda: extractor.predict(texts),
                    "bare_loop": lambda: bare_loop(loaded.model, loaded.tokenizer, texts, p_stride),
                },
                reps,
            )
            row: dict[str, Any] = {"torch_threads": n}
            for name, ts in times.items():
                med = statistics.median(ts)
                row[name] = {
                    "times_s": [round(t, 4) for t in ts],
                    "median_s": round(med, 4),
                    "docs_per_s": round(len(texts) / med, 2),
                }
            rows.append(row)
    finally:
        torch.set_num_threads(default)
    return {"documents": len(texts), "reps": reps, "rows": rows}


def base_shaped_model(tiny, train_texts: Sequence[str], quick: bool):
    """An AraBERT-base-shaped random model with araevent's metadata, held in memory.

    Tokenizer: a WordPiece built locally (``araevent.modeling.train_tiny_tokenizer``) from
    the sample training text under arabert-base's normalisation, padded with
    ``[unusedN]`` entries to the config's 64,000 ids. Labels, known words: the tiny
    model's. Preprocessing (window, stride, normalisation): ``configs/model/arabert-base.yaml``.
    """
    import torch
    from tokenizers import models
    from transformers import BertConfig, BertForTokenClassification

    from araevent.config import model_settings
    from araevent.modeling import (
        LoadedModel,
        Preprocessor,
        attach_metadata,
        train_tiny_tokenizer,
    )

    settings = model_settings(compose(["model=arabert-base"]).model)
    pre = settings.preprocessing
    config = BertConfig.from_json_file(str(BASE_SHAPED_CONFIG))
    if quick:  # the smallest shape that still exercises the 64,000-id embedding
        config.num_hidden_layers, config.hidden_size = 1, 64
        config.num_attention_heads, config.intermediate_size = 2, 128
    norm = pre.normalization
    units = [[norm(u.text) for u in tiny.preprocessor.units(t)] for t in train_texts]
    tokenizer = train_tiny_tokenizer(
        units, vocab_size=config.vocab_size, min_frequency=1, max_length=pre.max_length
    )
    vocab = tokenizer.backend_tokenizer.get_vocab()
    learned = len(vocab)
    for i in range(config.vocab_size - learned):
        vocab[f"[unused{i}]"] = learned + i
    tokenizer.backend_tokenizer.model = models.WordPiece(
        vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100
    )
    assert len(tokenizer) == config.vocab_size, (len(tokenizer), config.vocab_size)
    schema = tiny.schema
    config.num_labels = len(schema.tags)
    config.id2label, config.label2id = schema.id2label, schema.label2id
    config.pad_token_id = tokenizer.pad_token_id
    torch.manual_seed(0)
    model = BertForTokenClassification(config).eval()
    attach_metadata(
        model,
        tokenizer,
        schema,
        pre,
        label_set=tiny.meta.get("label_set", "any"),
        base_model="arabert-base-shaped (random)",
    )
    loaded = LoadedModel(
        model,
        tokenizer,
        schema,
        Preprocessor(tokenizer, tiny.preprocessor.known, pre),
        model.config.araevent,
        BASE_SHAPED_CONFIG,
    )
    info = {
        "config": str(BASE_SHAPED_CONFIG.relative_to(ROOT)),
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "layers": config.num_hidden_layers,
        "tokenizer": (
            f"WordPiece built locally from data/sample train ({learned} learned entries) "
            f"padded with [unusedN] to {config.vocab_size}"
        ),
        "learned_vocab": learned,
        "max_length": pre.max_length,
        "stride": pre.stride,
    }
    return loaded, info


def mini_shaped_model(tiny, quick: bool):
    """A bert-mini-arabic-shaped random model (``MINI_SHAPE``) over the tiny model's tokenizer.

    Vocabulary, labels, known words and preprocessing (window, stride, normalisation)
    are the tiny model's, so only the encoder's size differs from the tiny row.
    """
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from araevent.modeling import LoadedModel

    shape = dict(MINI_SHAPE)
    if quick:
        shape.update(num_hidden_layers=1)
    schema = tiny.schema
    config = BertConfig(
        vocab_size=len(tiny.tokenizer),
        max_position_embeddings=tiny.preprocessor.settings.max_length,
        pad_token_id=tiny.tokenizer.pad_token_id,
        num_labels=len(schema.tags),
        id2label=schema.id2label,
        label2id=schema.label2id,
        **shape,
    )
    torch.manual_seed(0)
    model = BertForTokenClassification(config).eval()
    loaded = LoadedModel(model, tiny.tokenizer, schema, tiny.preprocessor, tiny.meta, tiny.path)
    info = {
        "shape": "asafaya/bert-mini-arabic (random weights)",
        **shape,
        "vocab_size": config.vocab_size,
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "max_length": tiny.preprocessor.settings.max_length,
    }
    return loaded, info


def aqmar_test_texts(limit: int | None = None) -> list[str] | None:
    """The AQMAR test split's sentences (``benchmarks/aqmar.py``'s split), or None without it."""
    if not AQMAR_CORPUS.is_file():
        return None
    from aqmar import documents, read_corpus, split

    sentences, _ = read_corpus(AQMAR_CORPUS)
    docs, _ = documents(split(sentences)["test"], "test")
    return [d.text for d in docs][:limit]


def aqmar_model(work: Path, quick: bool) -> tuple[Path, str] | None:
    """A tiny model trained on the AQMAR train split (``benchmarks/aqmar.py``'s splits).

    ``python train.py`` with the recipe of ``aqmar.py --vs-run-ner`` (3 epochs, no dev
    scoring per epoch, no test, no argument model); ``quick``: 2 steps. Returns the run
    folder and the command, or ``None`` without the corpus.
    """
    if not AQMAR_CORPUS.is_file():
        return None
    from aqmar import VS_RUN_NER_EPOCHS, train_command, write_splits

    # the splits of the run_ner comparison, which reads them from there later
    data, run = write_splits(work / "vs-run-ner" / "data"), work / "aqmar-run"
    cmd = train_command("araevent", run, data, VS_RUN_NER_EPOCHS)
    if quick:
        cmd.append("trainer.max_steps=2")
    proc = measure_process(cmd, work / "aqmar-run.out")
    if proc["returncode"] != 0:
        tail = Path(proc["log"]).read_text("utf-8", "replace")[-2000:]
        raise RuntimeError(f"training the AQMAR model failed:\n{tail}")
    shown = [
        c if not c.startswith(("hydra.run.dir=", "data.dir=")) else c.split("=")[0] + "=..."
        for c in cmd[1:]
    ]
    return run, "python " + " ".join(shown)


# --- scaling and profile ---------------------------------------------------------


def long_documents(loaded, texts: Sequence[str], factor: int, n_docs: int) -> list[str]:
    """``n_docs`` texts of about ``factor`` windows each, by joining the given texts."""
    cap = loaded.preprocessor.max_subwords
    out, k = [], 0
    for _ in range(n_docs):
        parts: list[str] = []
        while True:
            parts.append(texts[k % len(texts)])
            k += 1
            enc = loaded.preprocessor.encode([" ".join(parts)])[0]
            if sum(len(g) for g in enc.encoding.subwords) >= factor * cap:
                break
        out.append(" ".join(parts))
    return out


def scaling(loaded, texts: Sequence[str], reps: int, n_long: int) -> dict[str, Any]:
    """Extractor (and the bare loop) time against corpus size and document length."""
    from araevent.predict import Extractor

    extractor = Extractor(loaded)
    stride = loaded.preprocessor.settings.stride

    def run(series: list[tuple[int, list[str]]], kind: str) -> list[dict]:
        rows = []
        for factor, docs in series:
            p_stride = pipeline_stride(loaded.tokenizer, docs, stride)
            times = time_alternating(
                {
                    "extractor": lambda d=docs: extractor.predict(d),
                    "bare_loop": lambda d=docs, s=p_stride: bare_loop(
                        loaded.model, loaded.tokenizer, d, s
                    ),
                },
                reps,
            )
            st = text_stats(loaded, docs)
            row = {"kind": kind, "factor": factor, **st}
            for name, ts in times.items():
                row[f"{name}_median_s"] = round(statistics.median(ts), 4)
            rows.append(row)
        first = rows[0]
        for row in rows:
            for name in ("extractor", "bare_loop"):
                row[f"{name}_relative_time"] = round(
                    row[f"{name}_median_s"] / first[f"{name}_median_s"], 2
                )
            row["relative_subwords"] = round(row["subwords"] / first["subwords"], 2)
            row["relative_windows"] = round(row["windows"] / first["windows"], 2)
            row["extractor_ms_per_1k_subwords"] = round(
                1000 * row["extractor_median_s"] / (row["subwords"] / 1000), 2
            )
        return rows

    corpus = [(f, list(texts) * f) for f in SCALE_FACTORS]
    lengths = [(f, long_documents(loaded, texts, f, n_long)) for f in SCALE_FACTORS]
    return {
        "reps": reps,
        "test_split": run(corpus, "corpus"),
        "document_length": run(lengths, "document_length"),
        "long_documents_per_size": n_long,
    }


_TEXT, _MODELING, _PREDICT, _TAGGING = (
    f"araevent/{m}.py" for m in ("text", "modeling", "predict", "tagging")
)
STAGES = {
    # stage: (function or "f|g", its file, the caller file counted or None) as cProfile
    # names them
    "split_units (text.py)": ("split_units", _TEXT, None),
    "Preprocessor.encode (units, ids, windows)": ("encode", _MODELING, None),
    "tokenizer call (Preprocessor._subwords)": ("_subwords", _MODELING, None),
    "windows (make_windows, choose_windows)": ("make_windows|choose_windows", _TAGGING, None),
    "glue + forward (Predictor._probabilities)": ("_probabilities", _PREDICT, None),
    "model forward": ("_wrapped_call_impl", "torch/nn/modules/module.py", _PREDICT),
    "softmax": ("softmax", "~", None),
    "TagDecoder.decode_many (argmax, Viterbi, spans)": ("decode_many", _TAGGING, None),
    "of which Viterbi (viterbi_iob2_batch)": ("viterbi_iob2_batch", _TAGGING, None),
    "of which decode_spans": ("decode_spans", _TAGGING, None),
}


def profile_extractor(loaded, texts: Sequence[str], out_path: Path | None) -> dict[str, Any]:
    """cProfile one ``Extractor.predict``: stage totals and the top functions."""
    from araevent.predict import Extractor

    extractor = Extractor(loaded)
    extractor.predict(texts)  # warm-up
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    extractor.predict(texts)
    prof.disable()
    wall = time.perf_counter() - start
    st = pstats.Stats(prof)
    if out_path is not None:
        st.dump_stats(str(out_path))
    rows = st.stats  # type: ignore[attr-defined]
    stages = {}
    for stage, (func, frag, caller) in STAGES.items():
        cum = 0.0
        names = func.split("|")  # one function or several
        for (file, _line, name), (_cc, _nc, _tt, ct, callers) in rows.items():
            if frag not in file or not (name in names or name.endswith(f"method torch.{func}>")):
                continue
            if caller is None:
                cum += ct
            else:
                cum += sum(v[3] for c, v in callers.items() if caller in c[0])
        stages[stage] = round(cum, 4)
    top = sorted(rows.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    return {
        "documents": len(texts),
        "wall_s_profiled": round(wall, 4),
        "profiled_total_s": round(st.total_tt, 4),  # type: ignore[attr-defined]
        "stages_cumulative_s": stages,
        "top_by_own_time": [
            {
                "function": f"{Path(f).name}:{ln}({n})",
                "calls": nc,
                "own_s": round(tt, 4),
                "cumulative_s": round(ct, 4),
            }
            for (f, ln, n), (_cc, nc, tt, ct, _callers) in top
        ],
    }


# --- targets and report --------------------------------------------------------------


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issues 8 and 17 with its measured value and whether it is met."""
    base = res["inference"]["base"]["ratios"]
    rows = []
    for key, where in (("tiny", "tiny"), ("aqmar", "tiny, AQMAR test texts")):
        if key not in res["inference"]:
            continue
        ratios = res["inference"][key]["ratios"]
        rows += [
            (
                f"Extractor docs/s >= {TARGETS['tiny_vs_pipeline_bs1']}x pipeline bs 1 ({where})",
                TARGETS["tiny_vs_pipeline_bs1"],
                ratios["extractor_vs_pipeline_bs1"],
                ">=",
            ),
            (
                f"Extractor docs/s >= {TARGETS['tiny_vs_pipeline_bs32']}x pipeline bs 32 ({where})",
                TARGETS["tiny_vs_pipeline_bs32"],
                ratios["extractor_vs_pipeline_bs32"],
                ">=",
            ),
            (
                f"bare loop / Extractor <= {TARGETS['tiny_bare_over_extractor_max']} ({where})",
                TARGETS["tiny_bare_over_extractor_max"],
                ratios["bare_over_extractor"],
                "<=",
            ),
        ]
    rows += [
        (
            "Extractor no slower than pipeline bs 1 (base-shaped)",
            TARGETS["base_vs_pipeline_min"],
            base["extractor_vs_pipeline_bs1"],
            ">=",
        ),
        (
            "Extractor no slower than pipeline bs 32 (base-shaped)",
            TARGETS["base_vs_pipeline_min"],
            base["extractor_vs_pipeline_bs32"],
            ">=",
        ),
        (
            "python train.py wall time < 120 s",
            TARGETS["train_wall_s_max"],
            res["train_run"]["median_wall_s"],
            "<",
        ),
        (
            "evaluation peak RSS < 1 GB",
            TARGETS["evaluate_peak_rss_mb_max"],
            res["evaluate_run"]["max_peak_rss_mb"],
            "<",
        ),
        (
            "python train.py (make train) wall time <= 45 s (issue 17)",
            TARGETS["make_train_wall_s_max"],
            res["train_run"]["median_wall_s"],
            "<=",
        ),
    ]
    vs = res.get("training_vs_run_ner")
    if vs:
        rows += [
            (
                "AQMAR training non-padding tokens/s >= 1.1x the run_ner recipe",
                TARGETS["vs_run_ner_tokens_per_s_min"],
                vs["tokens_per_s_ratio"],
                ">=",
            ),
            (
                "AQMAR training wall time <= 1.1x the run_ner recipe",
                TARGETS["vs_run_ner_wall_max"],
                vs["wall_ratio"],
                "<=",
            ),
        ]
    ops = {
        ">=": lambda m, t: m >= t,
        "<=": lambda m, t: m <= t,
        "<": lambda m, t: m < t,
    }
    return [
        {"target": name, "threshold": t, "measured": m, "op": op, "met": bool(ops[op](m, t))}
        for name, t, m, op in rows
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def _inference_md(inf: dict[str, Any]) -> str:
    rows = [
        [name, f"{v['median_s']:.3f}", v["docs_per_s"], v["units_per_s"], v["times_s"]]
        for name, v in inf["methods"].items()
    ]
    head = (
        f"{inf['documents']} documents, {inf['units']} units, {inf['subwords']} subwords, "
        f"{inf['windows']} araevent windows of {inf['window_subwords']} "
        f"({inf['documents_over_one_window']} documents over one window); pipeline stride: "
        f"{inf['pipeline_stride']}; Extractor batch size {inf['extractor_batch_size']}; "
        f"{inf['reps']} repetitions after a warm-up, alternated."
    )
    ratios = _table(["ratio (docs/s)", "value"], list(inf["ratios"].items()))
    table = _table(["method", "median s", "docs/s", "units/s", "all runs (s)"], rows)
    return f"{head}\n\n{table}\n\n{ratios}"


def render_markdown(res: dict[str, Any]) -> str:
    """results.md from the results dict."""
    m = res["machine"]
    v = m["versions"]
    lines = [
        "# araevent benchmarks",
        "",
        f"Written by `benchmarks/bench.py`{' --quick' if res['quick'] else ''} on "
        f"{res['created']}. **Measured on a shared 2-core machine**: other people's tests "
        "and training runs were running at the same time, so absolute numbers are noisy; "
        "every number is a median of repeated, alternated runs, and the load average is "
        "recorded around each section.",
        "",
        f"- CPU: {m['cpu']}; {m['logical_cores']} logical / {m['physical_cores']} physical "
        f"cores; {m['memory_gb']} GB",
        f"- torch threads: {m['torch_threads']} (inter-op {m['torch_interop_threads']}); "
        f"Python {m['python']}; {m['platform']}",
        "- versions: " + ", ".join(f"{k} {x}" for k, x in v.items()),
        "- load average (1/5/15 min) per section: "
        + "; ".join(f"{k} {x}" for k, x in res["load_average"].items()),
        "",
        "## Targets (issues 8 and 17; not asserted by tests)",
        "",
        _table(
            ["target", "threshold", "measured", "met"],
            [
                [
                    t["target"],
                    f"{t['op']} {t['threshold']}",
                    t["measured"],
                    "yes" if t["met"] else "**no**",
                ]
                for t in res["targets"]
            ],
        ),
    ]
    if res.get("notes"):
        lines += ["", *[f"- {n}" for n in res["notes"]]]
    tr, ev, tr1 = res["train_run"], res["evaluate_run"], res["train_run_one_thread"]
    lines += [
        "",
        "## Wall time and peak memory (subprocesses)",
        "",
        _table(
            [
                "command",
                "runs",
                "median wall s",
                "median CPU s",
                "median peak RSS MB",
                "max peak RSS MB",
            ],
            [
                [
                    "`" + " ".join(tr["command"]) + "`",
                    len(tr["runs"]),
                    tr["median_wall_s"],
                    tr["median_cpu_s"],
                    tr["median_peak_rss_mb"],
                    tr["max_peak_rss_mb"],
                ],
                [
                    "`" + " ".join(tr1["command"]) + "`",
                    len(tr1["runs"]),
                    tr1["median_wall_s"],
                    tr1["median_cpu_s"],
                    tr1["median_peak_rss_mb"],
                    tr1["max_peak_rss_mb"],
                ],
                [
                    "`" + " ".join(ev["command"]) + "`",
                    len(ev["runs"]),
                    ev["median_wall_s"],
                    ev["median_cpu_s"],
                    ev["median_peak_rss_mb"],
                    ev["max_peak_rss_mb"],
                ],
            ],
        ),
        "",
        "Peak RSS: the process tree's resident memory sampled every 20 ms; the max column "
        "also takes the kernel's `ru_maxrss`. CPU s: user + system time of the process, far "
        "less sensitive to other people's jobs than wall time (on an idle machine the wall "
        "time lies between CPU s / torch threads and CPU s). `train.py` wall time includes "
        "Python start-up, "
        "imports, the tokenizer build, training with configs/trainer/cpu.yaml's epochs and "
        "early stopping, dev scoring "
        "every epoch and the test report — everything after `make setup`.",
    ]
    phased = [(label, r) for label, t in (("2 threads", tr), ("1 thread", tr1)) for r in t["runs"]]
    if all("phases" in r for _, r in phased):
        lines += [
            "",
            "Where each `python train.py` run's time went (its metrics.json): `Trainer.train` "
            "of the tagger (early stopping) and of the argument model (`arguments_epochs`), "
            "and the rest of the run (reading, features, the final dev and test scores with "
            "bootstrap intervals, saving); start-up and imports are the wall time's remainder.",
            "",
            _table(
                [
                    "run",
                    "wall s",
                    "tagger train s",
                    "tagger epochs",
                    "arguments train s",
                    "arguments epochs",
                    "rest s",
                ],
                [
                    [
                        label,
                        r["wall_s"],
                        r["phases"]["tagger_train_s"],
                        r["phases"]["tagger_epochs"],
                        r["phases"]["arguments_train_s"],
                        r["phases"]["arguments_epochs"],
                        r["phases"]["rest_s"],
                    ]
                    for label, r in phased
                ],
            ),
        ]
    tt = res["training_throughput"]
    lines += [
        "",
        "## Training throughput (tiny model, data/sample train)",
        "",
        f"{tt['samples_per_epoch']} windows ({tt['non_padding_tokens_per_epoch']} non-padding "
        f"tokens) per epoch, batch {tt['batch_size']}, one epoch per run, {tt['reps']} runs "
        "per strategy after a warm-up, alternated; Trainer with the project's features and "
        "collator, no evaluation or checkpointing.",
        "",
        _table(
            [
                "sampling",
                "median s/epoch",
                "samples/s",
                "non-padding tokens/s",
                "padding share",
                "runs (s)",
            ],
            [
                [
                    s,
                    x["median_s"],
                    x["samples_per_s"],
                    x["non_padding_tokens_per_s"],
                    x["padding_share"],
                    x["times_s"],
                ]
                for s, x in tt["strategies"].items()
            ],
        ),
        "",
        f"group_by_length speed-up: {tt['speedup_group_by_length']}x.",
    ]
    base_info = res["inference"]["base"]["shape"]
    lines += [
        "",
        "## Inference: tiny model (trained by the `train.py` run above), data/sample test",
        "",
        _inference_md(res["inference"]["tiny"]),
        "",
        "## Inference: AraBERT-base-shaped random model",
        "",
        f"`{base_info['config']}`: {base_info['parameters_m']}M parameters, vocabulary "
        f"{base_info['vocab_size']}, hidden {base_info['hidden_size']}, {base_info['layers']} "
        f"layers, window {base_info['max_length']} (stride {base_info['stride']}, from "
        f"configs/model/arabert-base.yaml). Tokenizer: {base_info['tokenizer']}.",
        "",
        _inference_md(res["inference"]["base"]),
    ]
    mini = res["inference"].get("mini")
    if mini:
        sh = mini["shape"]
        lines += [
            "",
            "## Inference: bert-mini-arabic-shaped random model, data/sample test",
            "",
            f"{sh['shape']}: {sh['parameters_m']}M parameters, hidden {sh['hidden_size']}, "
            f"{sh['num_hidden_layers']} layers, {sh['num_attention_heads']} heads, intermediate "
            f"{sh['intermediate_size']}; the tiny model's vocabulary ({sh['vocab_size']}), "
            f"tokenizer and window ({sh['max_length']}).",
            "",
            _inference_md(mini),
        ]
    if res["inference"].get("aqmar"):
        lines += [
            "",
            "## Inference: tiny model on the AQMAR test texts (../shared/data/aqmar)",
            "",
            "The test split of `benchmarks/aqmar.py` (its last 10% of sentences, tokens "
            "joined by one space); the model is a tiny model trained on that script's "
            "AQMAR train split: "
            f"`{res['inference']['aqmar'].get('model_command', '(not recorded)')}`.",
            "",
            _inference_md(res["inference"]["aqmar"]),
        ]
    th = res["threads"]
    lines += [
        "",
        f"## Torch threads: tiny model, {th['documents']} test documents",
        "",
        "The same model and texts with 1 and with the default number of intra-op threads "
        f"({th['reps']} repetitions each, alternated). On a shared machine a second OpenMP "
        "thread waits for a core that someone else holds, at every parallel region.",
        "",
        _table(
            ["torch threads", "Extractor s", "Extractor docs/s", "bare loop s", "bare loop docs/s"],
            [
                [
                    r["torch_threads"],
                    r["extractor"]["median_s"],
                    r["extractor"]["docs_per_s"],
                    r["bare_loop"]["median_s"],
                    r["bare_loop"]["docs_per_s"],
                ]
                for r in th["rows"]
            ],
        ),
    ]
    sc = res["scaling"]
    for key, title in (
        ("test_split", "Scaling: 1x, 4x, 16x the test split (tiny)"),
        (
            "document_length",
            f"Scaling: {sc['long_documents_per_size']} documents of 1x, 4x, 16x the window (tiny)",
        ),
    ):
        lines += [
            "",
            f"## {title}",
            "",
            _table(
                [
                    "factor",
                    "docs",
                    "subwords",
                    "windows",
                    "Extractor s",
                    "relative",
                    "ms / 1k subwords",
                    "bare loop s",
                    "relative",
                ],
                [
                    [
                        r["factor"],
                        r["documents"],
                        r["subwords"],
                        r["windows"],
                        r["extractor_median_s"],
                        r["extractor_relative_time"],
                        r["extractor_ms_per_1k_subwords"],
                        r["bare_loop_median_s"],
                        r["bare_loop_relative_time"],
                    ]
                    for r in sc[key]
                ],
            ),
        ]
    pr = res["profile"]
    lines += [
        "",
        f"## Profile: one Extractor.predict over {pr['documents']} test documents (cProfile)",
        "",
        f"Profiled wall time {pr['wall_s_profiled']} s (cProfile adds overhead).",
        "",
        _table(["stage", "cumulative s"], list(pr["stages_cumulative_s"].items())),
        "",
        _table(
            ["function", "calls", "own s", "cumulative s"],
            [
                [t["function"], t["calls"], t["own_s"], t["cumulative_s"]]
                for t in pr["top_by_own_time"]
            ],
        ),
    ]
    if "argument_cost" in res:
        lines += argument_cost_markdown(res["argument_cost"])
    if res.get("training_vs_run_ner"):
        lines += vs_run_ner_markdown(res["training_vs_run_ner"])
    if res.get("analysis"):
        lines += ["", "## Analysis", "", res["analysis"]]
    return "\n".join(lines) + "\n"


def write_results(res: dict[str, Any], out_dir: Path) -> None:
    """results.json and results.md in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(
        json.dumps(res, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    (out_dir / "results.md").write_text(render_markdown(res), "utf-8")


# --- inference at scale (issue 19) ----------------------------------------------------

SCALE_SIZES = (5_000, 50_000, 200_000)
_SPEED = re.compile(r"in ([0-9.]+) s \(([0-9.]+) docs/s")


def scale_corpus(path: Path, n: int) -> Path:
    """``n`` documents: the bundled test split repeated, each copy with new ids."""
    lines = (ROOT / "data" / "sample" / "test.jsonl").read_text("utf-8").splitlines()
    docs = [json.loads(x) for x in lines if x.strip()]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            d = docs[i % len(docs)]
            f.write(json.dumps({**d, "id": f"{d['id']}-{i // len(docs)}"}, ensure_ascii=False))
            f.write("\n")
    return path


def _predict_cmd(model_dir: str, src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "araevent.cli", "predict", "--model", model_dir] + [
        "--input",
        str(src),
        "--output",
        str(out),
        *extra,
    ]


def scale_runs(work: Path, model_dir: str, sizes: Sequence[int]) -> dict[str, Any]:
    """``araevent predict`` over growing inputs in subprocesses: docs/s and peak RSS.

    Also, over the smallest input, two ``--shard K/2`` processes run side by side
    (their parts concatenated) and two processes under ``torchrun`` (merged by rank
    0), each compared byte for byte with the single run.
    """
    rows = []
    single = work / f"scale-{sizes[0]}.out.jsonl"
    for n in sizes:
        src = scale_corpus(work / f"scale-{n}.jsonl", n)
        out = work / f"scale-{n}.out.jsonl"
        load = load_average()
        proc = measure_process(_predict_cmd(model_dir, src, out), work / f"scale-{n}.log")
        log = Path(proc["log"]).read_text("utf-8", "replace")
        if proc["returncode"] != 0:
            raise RuntimeError(
                f"araevent predict failed (exit {proc['returncode']}):\n{log[-2000:]}"
            )
        m = _SPEED.search(log)
        rows.append(
            {
                "documents": n,
                "predict_s": float(m.group(1)) if m else None,
                "docs_per_s": float(m.group(2)) if m else None,
                **{k: proc[k] for k in ("wall_s", "peak_rss_mb", "ru_maxrss_mb", "cpu_s")},
                "load_average": [load, load_average()],
            }
        )
        src.unlink()
        if out != single:
            out.unlink()
    rss = [r["peak_rss_mb"] for r in rows]
    res: dict[str, Any] = {
        "command": ["araevent", "predict", "--model", "MODEL", "--input", "N.jsonl"],
        "rows": rows,
        "rss_growth": round(max(rss) / min(rss) - 1, 4),
    }
    n = sizes[0]
    src = scale_corpus(work / "shard-in.jsonl", n)
    procs = [
        subprocess.Popen(
            _predict_cmd(model_dir, src, work / f"shard-{k}.jsonl", "--shard", f"{k}/2", "--quiet"),
            cwd=ROOT,
            env=child_env(),
        )
        for k in (1, 2)
    ]
    codes = [p.wait() for p in procs]
    parts = b"".join((work / f"shard-{k}.jsonl").read_bytes() for k in (1, 2))
    res["two_shards"] = {
        "documents": n,
        "exit_codes": codes,
        "identical_to_single": codes == [0, 0] and parts == single.read_bytes(),
    }
    merged = work / "torchrun.jsonl"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    cmd = _predict_cmd(model_dir, src, merged, "--quiet")
    import torch

    # torchrun gives each process one thread unless told; the single run's count keeps
    # the arithmetic the same
    env = {**child_env(), "OMP_NUM_THREADS": str(torch.get_num_threads())}
    code = subprocess.run([*launch, "2", *cmd[1:]], cwd=ROOT, env=env).returncode
    res["torchrun_two_processes"] = {
        "documents": n,
        "exit_code": code,
        "identical_to_single": code == 0 and merged.read_bytes() == single.read_bytes(),
    }
    return res


def scale_markdown(res: dict[str, Any]) -> str:
    """The scale section as markdown."""
    rows = [
        [r["documents"], r["docs_per_s"], r["predict_s"], r["wall_s"], r["peak_rss_mb"]]
        + [" / ".join(str(x[0]) for x in r.get("load_average", []))]
        for r in res["rows"]
    ]
    shards = res["two_shards"]
    lines = [
        "# araevent predict at scale",
        "",
        f"{res['created']}; {res['machine']['logical_cores']} logical cores, torch "
        f"threads {res['machine']['torch_threads']}; the bundled test split repeated "
        "with new ids, one `araevent predict` process per size (JSONL in and out); "
        "`python benchmarks/bench.py --only scale`.",
        "",
        _table(
            ["documents", "docs/s", "predict s", "wall s", "peak RSS MB", "load before / after"],
            rows,
        ),
        "",
        f"Peak RSS spread over the sizes (largest / smallest - 1): {res['rss_growth']:+.1%}.",
        f"Two `--shard K/2` processes over {shards['documents']} documents, parts "
        f"concatenated: identical to the single run: {shards['identical_to_single']}.",
    ]
    launched = res.get("torchrun_two_processes")
    if launched:
        lines.append(
            f"`torchrun --nproc_per_node 2` over {launched['documents']} documents, merged by "
            f"rank 0: identical to the single run: {launched['identical_to_single']}."
        )
    return "\n".join([*lines, ""])


def run_scale(
    out_dir: str | Path = BENCH_DIR,
    *,
    sizes: Sequence[int] = SCALE_SIZES,
    model_dir: str | None = None,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """The scale section alone: writes ``scale.json`` and ``scale.md`` to ``out_dir``.

    Without ``model_dir`` a tiny model is trained first (3 steps: the same network,
    so the same speed, as a fully trained tiny model).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="araevent-scale-"))
        work = Path(work_dir)
        work.mkdir(parents=True, exist_ok=True)
        if model_dir is None:
            model_dir = train_runs(work, 1, quick=True)["model_dir"]
        res = {
            "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_info(),
            **scale_runs(work, model_dir, sizes),
        }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scale.json").write_text(json.dumps(res, indent=2) + "\n", "utf-8")
    (out_dir / "scale.md").write_text(scale_markdown(res), "utf-8")
    return res


# --- entry point ----------------------------------------------------------------------


def run_benchmarks(
    out_dir: str | Path = BENCH_DIR,
    *,
    quick: bool = False,
    reps: int | None = None,
    work_dir: str | Path | None = None,
    analysis: str | None = None,
    train_reps: int | None = None,
) -> dict[str, Any]:
    """Run every benchmark and write ``results.json`` and ``results.md`` to ``out_dir``.

    ``quick=True`` runs the smallest sizes (a 3-step train.py, 4 test documents, a
    one-layer base-shaped model, one repetition): the shape of the results, not
    their values. ``analysis`` is markdown appended to results.md.
    """
    import torch

    from araevent.formats import load_documents
    from araevent.modeling import load_model_dir

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    out_dir = Path(out_dir)
    cleanup = None
    if work_dir is None:
        cleanup = tempfile.TemporaryDirectory(prefix="araevent-bench-")
        work_dir = cleanup.name
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    n_reps = reps or (1 if quick else 5)
    sub_reps = 1 if quick else 3
    train_reps = train_reps or sub_reps
    loads: dict[str, list[float]] = {}
    res: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "quick": quick,
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "load_average": loads,
    }

    def section(name: str, fn: Callable[[], Any]) -> Any:
        loads[f"{name} start"] = load_average()
        t0 = time.perf_counter()
        value = fn()
        loads[f"{name} end ({time.perf_counter() - t0:.0f} s)"] = load_average()
        return value

    try:
        res["train_run"] = section("train.py", lambda: train_runs(work, train_reps, quick))
        res["train_run_one_thread"] = section(
            "train.py, 1 thread", lambda: train_runs(work, 1, quick, threads=1)
        )
        model_dir = res["train_run"]["model_dir"]
        res["evaluate_run"] = section("evaluate", lambda: evaluate_runs(work, model_dir, sub_reps))
        res["training_throughput"] = section(
            "training throughput", lambda: training_throughput(work, n_reps, quick)
        )
        torch.manual_seed(0)
        tiny = load_model_dir(model_dir)
        sample = ROOT / "data" / "sample"
        test = [d.text for d in load_documents([sample / "test.jsonl"], "jsonl", nested="outer")]
        train = [d.text for d in load_documents([sample / "train.jsonl"], "jsonl", nested="outer")]
        if quick:
            test = test[:4]
        res["inference"] = {}
        res["inference"]["tiny"] = section(
            "inference tiny", lambda: inference_comparison(tiny, test, n_reps, "tiny")
        )
        res["threads"] = section(
            "threads", lambda: thread_sensitivity(tiny, test, 1 if quick else 3)
        )
        base, base_info = base_shaped_model(tiny, train, quick)
        base_texts = test
        base_reps = 1 if quick else 3
        res["inference"]["base"] = section(
            "inference base",
            lambda m=base: inference_comparison(m, base_texts, base_reps, "arabert-base-shaped"),
        )
        res["inference"]["base"]["shape"] = base_info
        del base
        gc.collect()
        mini, mini_info = mini_shaped_model(tiny, quick)
        res["inference"]["mini"] = section(
            "inference mini",
            lambda m=mini: inference_comparison(m, test, n_reps, "bert-mini-arabic-shaped"),
        )
        res["inference"]["mini"]["shape"] = mini_info
        del mini
        aqmar = aqmar_test_texts(4 if quick else None)
        trained = aqmar is not None and section("train AQMAR", lambda: aqmar_model(work, quick))
        if trained:
            aqmar_tiny = load_model_dir(trained[0] / "model")
            res["inference"]["aqmar"] = section(
                "inference AQMAR",
                lambda: inference_comparison(aqmar_tiny, aqmar, n_reps, "tiny, AQMAR test texts"),
            )
            res["inference"]["aqmar"]["model_command"] = trained[1]
            del aqmar_tiny
        res["scaling"] = section(
            "scaling",
            lambda: scaling(tiny, test, 1 if quick else 3, 2 if quick else 8),
        )
        res["profile"] = section(
            "profile", lambda: profile_extractor(tiny, test, work / "extractor.prof")
        )
        res["argument_cost"] = section(
            "argument cost", lambda: argument_cost(model_dir, test, n_reps)
        )
        if trained and not quick:  # AQMAR is here; minutes, so not in --quick
            from aqmar import training_vs_run_ner

            res["training_vs_run_ner"] = section(
                "training vs run_ner",
                lambda: training_vs_run_ner(work / "vs-run-ner", sub_reps, threads=1),
            )
    finally:
        if cleanup is not None:
            res.setdefault("work_dir", "(temporary, removed)")
            cleanup.cleanup()
    res.setdefault("work_dir", str(work))
    res["targets"] = targets(res)
    res["notes"] = [
        "Extractor: araevent's units (proclitic split), per-unit normalisation, windows with "
        "stride, span decoding to character offsets; pipeline and bare loop: the saved "
        "tokenizer on the raw text. Units/s counts araevent units of the same texts for "
        "every method.",
    ]
    if analysis:
        res["analysis"] = analysis
    write_results(res, out_dir)
    return res


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smallest sizes, one repetition")
    ap.add_argument("--out", default=str(BENCH_DIR), help="folder for results.json/.md")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per measurement")
    ap.add_argument(
        "--train-reps", type=int, default=None, help="python train.py runs (default 3; quick 1)"
    )
    ap.add_argument("--work-dir", default=None, help="keep run folders and logs here")
    ap.add_argument("--analysis", default=None, help="a markdown file appended to results.md")
    ap.add_argument(
        "--render", action="store_true", help="rewrite results.md from --out's results.json only"
    )
    ap.add_argument(
        "--only",
        choices=("scale",),
        default=None,
        help="scale: only araevent predict over growing inputs (scale.json/.md)",
    )
    ap.add_argument(
        "--sizes",
        default=",".join(map(str, SCALE_SIZES)),
        help="--only scale: document counts, comma-separated",
    )
    ap.add_argument("--model", default=None, help="--only scale: a model folder to use")
    a = ap.parse_args(argv)
    if a.only == "scale":
        sizes = [int(x) for x in a.sizes.split(",")]
        res = run_scale(a.out, sizes=sizes, model_dir=a.model, work_dir=a.work_dir)
        for r in res["rows"]:
            print(f"{r['documents']:>8} docs: {r['docs_per_s']} docs/s, {r['peak_rss_mb']} MB")
        print(
            f"rss spread {res['rss_growth']:+.1%}; shards identical: "
            f"{res['two_shards']['identical_to_single']}; torchrun merge identical: "
            f"{res['torchrun_two_processes']['identical_to_single']}"
        )
        print(f"wrote {Path(a.out) / 'scale.md'} and scale.json")
        return
    analysis = Path(a.analysis).read_text("utf-8") if a.analysis else None
    if a.render:
        res = json.loads((Path(a.out) / "results.json").read_text("utf-8"))
        if analysis:
            res["analysis"] = analysis
        write_results(res, Path(a.out))
        print(f"rewrote {Path(a.out) / 'results.md'}")
        return
    res = run_benchmarks(
        a.out,
        quick=a.quick,
        reps=a.reps,
        work_dir=a.work_dir,
        analysis=analysis,
        train_reps=a.train_reps,
    )
    for t in res["targets"]:
        print(f"{'met ' if t['met'] else 'MISS'}  {t['target']}: {t['measured']}")
    print(f"wrote {Path(a.out) / 'results.md'} and results.json")


if __name__ == "__main__":
    main()
