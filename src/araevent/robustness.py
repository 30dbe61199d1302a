"""Robustness: what each orthographic perturbation costs a model, layer by layer.

The clean documents and each perturbed copy (:mod:`araevent.perturb`, gold spans
carried with the text) are predicted by the same :class:`~araevent.predict.Predictor`
and scored by exact character spans. ΔF1 is perturbed minus clean micro F1, with
a paired bootstrap 95% interval over documents (the same resampled documents on
both sides). Gold spans that a perturbation destroys (noise cutting across a
span edge) are left out of the perturbed gold and counted.

The report folder holds ``report.md``, ``metrics.json`` (``robustness/<perturbation>/
<layer>/span/{f1,delta,delta_ci_low,delta_ci_high,p_value}`` and
``robustness/clean/<layer>/span/f1``), ``robustness.png`` (ΔF1 per perturbation
and layer) and ``corpora/`` (``clean.jsonl`` and ``<perturbation>.jsonl``: the
gold documents with ``predicted_entities``/``predicted_triggers``, re-scorable with
``araevent score corpora/X.jsonl corpora/X.jsonl``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from araevent.bootstrap import f1_from_counts, paired_bootstrap
from araevent.errors import UsageError
from araevent.evaluation import span_doc_counts
from araevent.modeling import LoadedModel
from araevent.perturb import PERTURBATIONS, perturb_corpus
from araevent.predict import Predictor
from araevent.provenance import file_hashes, git_commit, library_versions
from araevent.reporting import (
    check_output_folder,
    fmt,
    staged_folder,
    write_json,
    write_predictions,
)
from araevent.schema import Document, Span

ARGUMENTS = "arguments"
LAYER_OF = {
    "entities": "entities",
    "triggers/identification": "triggers",
    "triggers/classification": "triggers",
    ARGUMENTS: ARGUMENTS,
}
SHORT = {
    "entities": "entities",
    "triggers/identification": "trigger id.",
    "triggers/classification": "trigger cls.",
    ARGUMENTS: "arguments",
}
CLEAN = "clean"


@dataclass
class Row:
    """One perturbation in one view: clean and perturbed F1 and the paired test."""

    perturbation: str
    view: str
    f1_clean: float
    f1_perturbed: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    changed: int
    destroyed: int
    gold: int


@dataclass
class Robustness:
    """Everything one robustness run measured."""

    views: list[str]
    documents: int
    clean: dict[str, float]
    rows: list[Row]
    rates: dict[str, float]
    stats: dict[str, Counter] = field(default_factory=dict)
    corpora: dict[str, tuple[list[Document], list[dict[str, list[Span]]]]] = field(
        default_factory=dict, repr=False
    )

    def metrics(self) -> dict[str, float]:
        """Flat ``robustness/...`` keys for ``metrics.json``."""
        out: dict[str, float] = {}
        for view, f1 in self.clean.items():
            out[f"robustness/{CLEAN}/{view}/span/f1"] = f1
        for r in self.rows:
            key = f"robustness/{r.perturbation}/{r.view}/span"
            out[f"{key}/f1"] = r.f1_perturbed
            out[f"{key}/delta"] = r.delta
            out[f"{key}/delta_ci_low"] = r.ci_low
            out[f"{key}/delta_ci_high"] = r.ci_high
            out[f"{key}/p_value"] = r.p_value
        return out


def argument_doc_counts(
    gold: Sequence[Document], pred: Sequence[dict[str, list[Span]]]
) -> np.ndarray:
    """Per-document ``[tp, fp, fn]`` of arguments: (trigger span and type, argument span, role).

    Only triggers annotated for arguments (``arguments`` not ``None``) count, on either side.
    """
    rows = np.zeros((len(gold), 3), dtype=np.int64)
    for d, (g, p) in enumerate(zip(gold, pred, strict=True)):
        gk, pk = _argument_keys(g.triggers), _argument_keys(p.get("triggers", []))
        rows[d] = (len(gk & pk), len(pk - gk), len(gk - pk))
    return rows


def _argument_keys(triggers: Sequence[Span]) -> set[tuple]:
    return {(*t.key, *a.key) for t in triggers for a in t.arguments or ()}


def has_arguments(spans: Sequence[dict[str, list[Span]]] | Sequence[Document]) -> bool:
    """Whether any trigger carries an ``arguments`` tuple (annotated or predicted)."""
    for item in spans:
        triggers = item.triggers if isinstance(item, Document) else item.get("triggers", [])
        if any(t.arguments is not None for t in triggers):
            return True
    return False


def view_counts(
    gold: Sequence[Document], pred: Sequence[dict[str, list[Span]]], view: str
) -> np.ndarray:
    """Per-document exact-span ``[tp, fp, fn]`` of one view (``arguments`` included)."""
    if view == ARGUMENTS:
        return argument_doc_counts(gold, pred)
    return span_doc_counts(gold, pred, view)


def measure(
    predict: Callable[[list[Document]], list[dict[str, list[Span]]]],
    docs: Sequence[Document],
    names: Sequence[str],
    views: Sequence[str],
    *,
    rate: float | None = None,
    seed: int = 0,
    bootstrap: int = 1000,
    log: Callable[[str], None] | None = None,
) -> Robustness:
    """Predict and score the clean documents and each perturbed copy.

    ``predict`` maps documents to predicted spans per layer. ``views`` are the
    scored views (``arguments`` is added when both the gold and the clean
    prediction carry arguments). ``rate`` replaces every perturbation's default.
    """
    docs = list(docs)
    clean_pred = predict(docs)
    views = list(views)
    if ARGUMENTS not in views and has_arguments(docs) and has_arguments(clean_pred):
        views.append(ARGUMENTS)
    clean_rows = {v: view_counts(docs, clean_pred, v) for v in views}
    result = Robustness(
        views=views,
        documents=len(docs),
        clean={v: float(f1_from_counts(clean_rows[v].sum(axis=0))) for v in views},
        rows=[],
        rates={n: PERTURBATIONS[n].rate if rate is None else rate for n in names},
    )
    result.corpora[CLEAN] = (docs, clean_pred)
    for name in names:
        perturbed, stats = perturb_corpus(docs, name, rate=rate, seed=seed)
        pred = predict(perturbed)
        result.stats[name] = stats
        result.corpora[name] = (perturbed, pred)
        for v in views:
            rows = view_counts(perturbed, pred, v)
            test = paired_bootstrap(rows, clean_rows[v], samples=bootstrap, seed=seed)
            layer = LAYER_OF[v]
            result.rows.append(
                Row(
                    name,
                    v,
                    test["f1_b"],
                    test["f1_a"],
                    test["delta"],
                    test["delta_ci_low"],
                    test["delta_ci_high"],
                    test["p_value"],
                    stats[f"changed/{layer}"],
                    stats[f"destroyed/{layer}"],
                    int(clean_rows[v][:, [0, 2]].sum()),
                )
            )
        if log is not None:
            shown = ", ".join(
                f"{SHORT[r.view]} {points(r.delta)}" for r in result.rows if r.perturbation == name
            )
            log(f"{name} (rate {result.rates[name]:g}): ΔF1 in points: {shown}")
    return result


# --- the report folder -------------------------------------------------------


def points(x: float) -> str:
    """A difference of scores in percentage points, signed, one decimal (never ``-0.0``)."""
    out = f"{100 * x:+.1f}"
    return "0.0" if out in ("+0.0", "-0.0") else out


def _delta_cell(r: Row) -> str:
    return f"{points(r.delta)} [{points(r.ci_low)}, {points(r.ci_high)}]"


def report_markdown(res: Robustness, title: str, notes: Sequence[str]) -> str:
    """``report.md``: one table of ΔF1 per perturbation and layer, then one table per layer."""
    by = {(r.perturbation, r.view): r for r in res.rows}
    names = list(res.rates)
    layers = sorted({LAYER_OF[v] for v in res.views})
    lines = [f"# {title}", ""]
    lines += [f"- {n}" for n in notes]
    lines += [
        "",
        "## ΔF1 in points (perturbed − clean, exact character spans; paired bootstrap 95% "
        "interval)",
        "",
    ]
    head = ["perturbation", "rate", *(f"{SHORT[v]} ΔF1" for v in res.views)]
    head += ["gold spans changed", "destroyed"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append("| clean F1 | | " + " | ".join(fmt(res.clean[v]) for v in res.views) + " | | |")
    for n in names:
        s = res.stats[n]
        changed = sum(s[f"changed/{layer}"] for layer in layers)
        destroyed = sum(s[f"destroyed/{layer}"] for layer in layers)
        cells = [n, f"{res.rates[n]:g}", *(_delta_cell(by[n, v]) for v in res.views)]
        lines.append("| " + " | ".join([*cells, str(changed), str(destroyed)]) + " |")
    for v in res.views:
        lines += ["", f"## {v}", ""]
        head = ["perturbation", "F1 clean", "F1 perturbed", "ΔF1", "95% interval", "p"]
        head += ["gold spans changed", "destroyed"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for n in names:
            r = by[n, v]
            cells = [
                n,
                fmt(r.f1_clean),
                fmt(r.f1_perturbed),
                points(r.delta),
                f"[{points(r.ci_low)}, {points(r.ci_high)}]",
                f"{r.p_value:.3f}",
                f"{r.changed} / {r.gold}",
                str(r.destroyed),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "![ΔF1 per perturbation and layer](robustness.png)", ""]
    return "\n".join(lines)


def plot_deltas(res: Robustness, path: Path) -> None:
    """A grouped bar chart of ΔF1 per perturbation and layer with the 95% intervals (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(res.rates)
    by = {(r.perturbation, r.view): r for r in res.rows}
    fig = Figure(figsize=(max(6.0, 0.8 * len(names) + 2.5), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(len(res.views), 1)
    x = np.arange(len(names))
    for k, v in enumerate(res.views):
        rows = [by[n, v] for n in names]
        delta = 100 * np.array([r.delta for r in rows])
        low = 100 * np.array([r.ci_low for r in rows])
        high = 100 * np.array([r.ci_high for r in rows])
        err = np.array([delta - low, high - delta])
        ax.bar(x + (k - (len(res.views) - 1) / 2) * width, delta, width, label=SHORT[v])
        ax.errorbar(
            x + (k - (len(res.views) - 1) / 2) * width,
            delta,
            yerr=np.clip(err, 0, None),
            fmt="none",
            ecolor="black",
            capsize=2,
            linewidth=0.8,
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("ΔF1 in points (perturbed − clean)")
    ax.set_title("F1 change per perturbation (95% paired bootstrap interval)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse before any work when ``out`` cannot take the report.

    Raises:
        UsageError: ``out`` is a file, a non-empty folder (without ``overwrite``),
            or its nearest existing parent is not a writable folder.
    """
    check_output_folder(out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UsageError(
            f"--output {out}: the folder is not empty (choose a new folder, or --overwrite "
            "to replace the report files in it)"
        )


def write_robustness(
    out_dir: str | Path, res: Robustness, *, title: str, notes: Sequence[str], meta: dict[str, Any]
) -> dict[str, Any]:
    """Write the report folder whole, or nothing (files are staged, then moved in).

    Returns:
        The ``metrics.json`` content.

    Raises:
        UsageError: the folder cannot be written.
    """
    out = Path(out_dir)
    metrics_doc = {
        **res.metrics(),
        "counts": {
            "documents": res.documents,
            **{n: dict(sorted(s.items())) for n, s in res.stats.items()},
        },
        "rates": res.rates,
        **meta,
    }
    with staged_folder(out) as stage:
        corpora = stage / "corpora"
        corpora.mkdir()
        for name, (docs, preds) in res.corpora.items():
            write_predictions(corpora / f"{name}.jsonl", docs, preds)
        plot_deltas(res, stage / "robustness.png")
        write_json(stage / "metrics.json", metrics_doc)
        (stage / "report.md").write_text(report_markdown(res, title, notes), encoding="utf-8")
    return metrics_doc


def run_robustness(
    loaded: LoadedModel,
    docs: Sequence[Document],
    out_dir: str | Path,
    *,
    names: Sequence[str],
    rate: float | None,
    seed: int,
    bootstrap: int,
    batch_size: int,
    model: str,
    source: str | Path,
    decoding: str | None = None,
    settings: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure ``names`` on ``docs`` with a loaded model and write the report folder.

    ``araevent robustness`` and ``evaluate.py robustness=true`` both run this.
    ``source`` is the gold file (hashed into ``metrics.json`` when it is a file);
    ``settings`` go into ``metrics.json``'s ``run``.

    Returns:
        The ``metrics.json`` content.
    """
    predictor = Predictor.from_loaded(loaded, batch_size, decoding)
    views = []
    if loaded.schema.layer_labels("entities"):
        views.append("entities")
    if loaded.schema.layer_labels("triggers"):
        views += ["triggers/identification", "triggers/classification"]

    def predict(batch):
        return [p.spans for p in predictor.predict_texts([d.text for d in batch])]

    res = measure(predict, docs, names, views, rate=rate, seed=seed, bootstrap=bootstrap, log=log)
    config = {
        "model": model,
        "perturb": list(names),
        "rate": rate,
        "seed": seed,
        "bootstrap": bootstrap,
        "decoding": predictor.decoding,
        **(settings or {}),
    }
    meta = {
        "run": {"task": "robustness", "views": res.views, **config},
        "versions": library_versions(),
        "git_commit": git_commit(),
        "data_hashes": file_hashes([source] if Path(source).is_file() else []),
    }
    notes = [
        f"model: {model}; input: {source} ({res.documents} documents); seed {seed}; "
        f"{bootstrap} bootstrap resamples",
        "F1: micro F1 of exact character spans; ΔF1 = F1 perturbed − F1 clean; the interval "
        "resamples documents, the same ones on both sides",
        "gold spans changed: gold spans whose characters the perturbation changed (out of the "
        "gold spans of the layer); destroyed: gold spans it cut across, left out of the "
        "perturbed gold",
        "corpora/: the clean and perturbed documents with the model's predictions",
    ]
    return write_robustness(
        out_dir,
        res,
        title=f"araevent robustness: {model} on {Path(source).name}",
        notes=notes,
        meta=meta,
    )
