"""Run folders and reports: metrics.json, report.md, predictions.jsonl.

Only rank 0 calls these. Every number comes from :func:`araevent.evaluation.score`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from araevent.evaluation import VIEWS, Scores
from araevent.schema import Document

LIBRARIES = (
    "araevent",
    "torch",
    "transformers",
    "tokenizers",
    "datasets",
    "accelerate",
    "hydra-core",
    "seqeval",
    "huggingface-hub",
    "numpy",
)


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape results."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(cwd: str | Path = ".") -> str | None:
    """The checkout's commit (with ``-dirty`` when it has changes), or ``None``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return sha + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def file_hashes(paths: Sequence[str | Path | None]) -> dict[str, str]:
    """sha256 of each data file (every file under a folder)."""
    out = {}
    for p in paths:
        if p is None:
            continue
        path = Path(p)
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def fmt(x: float) -> str:
    """A score as a percentage with one decimal."""
    return f"{100 * x:.1f}"


def main_table(metrics: dict[str, float], split: str) -> str:
    """The markdown table a paper can paste: one row per view."""
    rows = [
        f"| {split} | span P | span R | span F1 (95% CI) | strict P | strict R | strict F1 "
        "| default F1 | gold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for view in VIEWS:
        m = lambda k, v=view: metrics.get(f"{split}/{v}/{k}")  # noqa: E731
        if m("span/f1") is None:
            continue
        ci = ""
        if m("span/f1_ci_low") is not None:
            ci = f" ({fmt(m('span/f1_ci_low'))}–{fmt(m('span/f1_ci_high'))})"
        strict = [m(f"seqeval_strict/{s}") for s in ("precision", "recall", "f1")]
        default = m("seqeval_default/f1")
        cells = [fmt(x) if x is not None else "–" for x in strict]
        rows.append(
            f"| {view} | {fmt(m('span/precision'))} | {fmt(m('span/recall'))} | "
            f"{fmt(m('span/f1'))}{ci} | {' | '.join(cells)} | "
            f"{fmt(default) if default is not None else '–'} | {int(m('span/support'))} |"
        )
    return "\n".join(rows)


def per_type_table(scores: Scores, view: str) -> str:
    """Per-type character-span and strict seqeval scores for one view."""
    span = scores.per_type.get(view, {}).get("span", {})
    strict = scores.per_type.get(view, {}).get("seqeval_strict", {})
    rows = [
        "| type | span P | span R | span F1 | strict F1 | gold |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t, r in sorted(span.items()):
        s = strict.get(t)
        rows.append(
            f"| {t} | {fmt(r['precision'])} | {fmt(r['recall'])} | {fmt(r['f1'])} | "
            f"{fmt(s['f1']) if s else '–'} | {r['support']} |"
        )
    return "\n".join(rows)


def report_markdown(title: str, sections: dict[str, Scores], notes: Sequence[str] = ()) -> str:
    """``report.md``: main table per split, per-type tables, counts."""
    out = [f"# {title}", ""]
    for split, scores in sections.items():
        out += [f"## {split}", "", main_table(scores.metrics, split), ""]
        c = scores.counts
        out.append(
            f"{c['documents']} documents, {c['gold_spans']} gold spans scored "
            f"({c.get('gold_spans_off_units', 0)} not on unit boundaries: character-span "
            "scores count them, seqeval cannot see them). Ill-formed predicted tag sequences: "
            f"entities {c.get('entities/ill_formed_predicted', 0)}, triggers "
            f"{c.get('triggers/classification/ill_formed_predicted', 0)}."
        )
        out.append("")
        for view in VIEWS[:3]:
            out += [f"### {split}: {view} per type", "", per_type_table(scores, view), ""]
    out += [f"- {n}" for n in notes]
    return "\n".join(out).rstrip() + "\n"


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)


def write_predictions(path: Path, docs: Sequence[Document], preds) -> None:
    """Write ``predictions.jsonl``: gold spans plus ``predicted_*`` spans, re-scorable."""
    lines = []
    for d, p in zip(docs, preds, strict=True):
        out = d.to_dict()
        for layer in ("entities", "triggers"):
            out[f"predicted_{layer}"] = [s.to_dict(d.text) for s in p.spans[layer]]
        lines.append(json.dumps(out, ensure_ascii=False))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    os.replace(tmp, path)


def finish_run(job, model, pre, schema, data, scorer, info: dict, started: float) -> dict:
    """Score dev (and test), write metrics.json, report.md, predictions.jsonl."""
    from araevent.training import DevScorer

    run_dir = job.run_dir
    sections: dict[str, Scores] = {}
    dev_scores, _ = scorer(model, prefix="dev", bootstrap=1000)
    sections["dev"] = dev_scores
    if job.test and data.get("test"):
        test_scorer = DevScorer(data["test"], pre, schema, scorer.batch_size, scorer.decoding)
        test_scores, test_preds = test_scorer(model, prefix="test", bootstrap=1000)
        sections["test"] = test_scores
        write_predictions(run_dir / "predictions.jsonl", data["test"], test_preds)
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
        },
        "versions": library_versions(),
        "git_commit": git_commit(),
        "data_hashes": file_hashes([d.train, d.dev, d.test] if d.format != "hub" else []),
        "config": job.config,
    }
    write_json(run_dir / "metrics.json", metrics_doc)
    notes = [
        f"model: {job.model.name}; data: {d.name}; seed {job.seed}; "
        f"world size {info.get('world_size')}; best dev strict F1 "
        f"{info.get('best_dev_strict_f1')}"
    ]
    (run_dir / "report.md").write_text(
        report_markdown(f"araevent run {run_dir.name}", sections, notes), encoding="utf-8"
    )
    return metrics_doc
