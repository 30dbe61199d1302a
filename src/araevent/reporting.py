"""Report folders and tables: metrics.json, report.md, predictions.jsonl, errors.jsonl.

One file (~580 lines): every table of report.md and the report folder's writer; each
table is short and they share the layout helpers.

Only rank 0 calls these. Every number comes from :func:`araevent.evaluation.score`;
this module only lays scores out. Training's run folder
(:func:`araevent.training.finish_run`), ``evaluate.py``
(:func:`araevent.evaluating.evaluate_model`) and ``araevent score`` use it;
:func:`write_report` writes the report folder that ``evaluate.py`` and
``araevent score`` share:

- ``metrics.json``: flat metric keys (``test/triggers/classification/span/f1``),
  then ``counts``, ``errors``, ``per_type``, ``confusion``, ``run``, and the
  provenance keys of :func:`araevent.provenance.run_provenance` (``versions``,
  ``git_commit``, ``data_hashes``, ``config``);
- ``report.md``: tables a paper can paste;
- ``predictions.jsonl``: gold documents plus ``predicted_entities``/``predicted_triggers``
  (``araevent score predictions.jsonl predictions.jsonl`` re-scores it);
- ``errors.jsonl``: every false positive and false negative with ±40 characters of context,
  and, when arguments are scored, every argument error (``layer: "arguments"``; ``error``
  is ``missed``, ``spurious``, ``wrong_role`` or ``wrong_span``) with its trigger;
- ``confusion_<layer>.png``: gold against predicted types, with missed and spurious.

Reports show the views of the layers a model has (``run.layers``; ``araevent
score``: the layers with a gold or predicted span); ``metrics.json`` keeps
every key. A report folder is written whole or, when a file cannot be, not at all.

Over 500 lines because it is one job, laid out once: each table of ``report.md``
beside the markdown that assembles them and the writer that puts them in the folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from araevent.compare import write_doc_counts
from araevent.errors import UsageError
from araevent.evaluation import (
    ARG_ERROR_KINDS,
    ARG_VIEWS,
    ARGUMENT_PROTOCOL,
    LAYERS,
    TAG_VIEWS,
    VIEWS,
    Scores,
)
from araevent.mistakes import (
    Confusion,
    argument_error_record,
    argument_mistakes,
    confusion,
    error_record,
    span_errors,
)
from araevent.schema import Document, Span

CONTEXT_CHARS = 40


def fmt(x: float) -> str:
    """A score as a percentage with one decimal."""
    return f"{100 * x:.1f}"


def _with_ci(m, key: str) -> str:
    value = m(f"{key}/f1")
    if value is None:
        return "–"
    lo, hi = m(f"{key}/f1_ci_low"), m(f"{key}/f1_ci_high")
    return fmt(value) + (f" ({fmt(lo)}–{fmt(hi)})" if lo is not None and hi is not None else "")


def shown_views(layers: Sequence[str] | None) -> tuple[str, ...]:
    """The views a report shows for these layers: ``overall`` only with both."""
    if not layers or set(LAYERS) <= set(layers):
        return VIEWS
    return tuple(v for v in TAG_VIEWS if v.split("/")[0] in layers)


def shown_layers(counts: dict[str, int]) -> list[str]:
    """The layers with a gold or a predicted span (all of them when none has any)."""
    have = [
        layer
        for layer in LAYERS
        if counts.get(f"gold_spans/{layer}") or counts.get(f"predicted_spans/{layer}")
    ]
    return have or list(LAYERS)


def main_table(metrics: dict[str, Any], split: str, views: Sequence[str] | None = None) -> str:
    """The markdown table a paper can paste: one row per view.

    Span columns are exact character spans; strict is seqeval ``mode="strict",
    scheme=IOB2`` over unit tags, default is conlleval; brackets hold bootstrap
    95% intervals; gold is the number of gold spans of the view. With corpus
    tokens (CoNLL) a column holds strict F1 over those tokens. ``views``
    defaults to those of the layers recorded in ``metrics["run"]["layers"]``.
    """
    if views is None:
        run = metrics.get("run")
        views = shown_views(run.get("layers") if isinstance(run, dict) else None)
    tokens = any(f"{split}/{v}/seqeval_strict_tokens/f1" in metrics for v in views)
    head = "| tokens strict F1 (95% CI) " if tokens else ""
    rows = [
        f"| {split} | span P | span R | span F1 (95% CI) | strict P | strict R "
        f"| strict F1 (95% CI) | default F1 {head}| gold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if tokens else "") + "---:|",
    ]
    for view in views:
        m = lambda k, v=view: metrics.get(f"{split}/{v}/{k}")  # noqa: E731
        if m("span/f1") is None:
            continue
        cells = [m(f"seqeval_strict/{s}") for s in ("precision", "recall")]
        strict = [fmt(x) if x is not None else "–" for x in cells]
        default = m("seqeval_default/f1")
        tok = f"{_with_ci(m, 'seqeval_strict_tokens')} | " if tokens else ""
        rows.append(
            f"| {view} | {fmt(m('span/precision'))} | {fmt(m('span/recall'))} | "
            f"{_with_ci(m, 'span')} | {' | '.join(strict)} | {_with_ci(m, 'seqeval_strict')} | "
            f"{fmt(default) if default is not None else '–'} | {tok}{int(m('span/support'))} |"
        )
    return "\n".join(rows)


def per_type_table(
    scores: Scores,
    view: str,
    split: str | None = None,
    strict_family: str = "seqeval_strict",
    name: str = "type",
) -> str:
    """Per-type character-span and strict scores for one view.

    ``strict_family`` names the strict columns' family (``strict`` for arguments,
    whose ``name`` is ``role``). With ``split`` (the metric key prefix), micro,
    macro and weighted rows follow.
    """
    span = scores.per_type.get(view, {}).get("span", {})
    strict = scores.per_type.get(view, {}).get(strict_family, {})
    rows = [
        f"| {name} | span P | span R | span F1 | strict P | strict R | strict F1 | gold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in sorted(set(span) | set(strict)):
        r, s = span.get(t), strict.get(t)
        sp = [fmt(r[k]) if r else "–" for k in ("precision", "recall", "f1")]
        st = [fmt(s[k]) if s else "–" for k in ("precision", "recall", "f1")]
        gold = r["support"] if r else s["support"]
        rows.append(f"| {t} | {' | '.join(sp)} | {' | '.join(st)} | {gold} |")
    if split is not None:
        m = scores.metrics
        for avg in ("micro", "macro", "weighted"):
            suffix = "f1" if avg == "micro" else f"{avg}_f1"
            pr = ["", ""]
            spr = ["", ""]
            if avg == "micro":
                pr = [fmt(m[f"{split}/{view}/span/{k}"]) for k in ("precision", "recall")]
                spr = [
                    fmt(m[f"{split}/{view}/{strict_family}/{k}"]) for k in ("precision", "recall")
                ]
            rows.append(
                f"| *{avg}* | {' | '.join(pr)} | {fmt(m[f'{split}/{view}/span/{suffix}'])} | "
                f"{' | '.join(spr)} | {fmt(m[f'{split}/{view}/{strict_family}/{suffix}'])} | "
                f"{m[f'{split}/{view}/span/support']} |"
            )
    return "\n".join(rows)


def error_counts(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{layer: {"false_positive": n, "false_positive/boundary": n, ...}}`` from error records.

    Argument records (``layer: "arguments"``) count under ``arguments`` by error:
    ``{"missed": n, "spurious": n, "wrong_role": n, "wrong_span": n}``.
    """
    out: dict[str, Counter] = {layer: Counter() for layer in LAYERS}
    for r in records:
        if r["layer"] == "arguments":
            out.setdefault("arguments", Counter({k: 0 for k in ARG_ERROR_KINDS}))[r["error"]] += 1
            continue
        out[r["layer"]][r["error"]] += 1
        out[r["layer"]][f"{r['error']}/{r['kind']}"] += 1
    return {layer: dict(sorted(c.items())) for layer, c in out.items()}


def argument_errors_table(counts: dict[str, int]) -> str:
    """Argument errors by kind (the classification view's false negatives and positives)."""
    return "\n".join(
        [
            "| arguments | missed | spurious | wrong role | wrong span |",
            "|---|---:|---:|---:|---:|",
            "| errors | " + " | ".join(str(counts.get(k, 0)) for k in ARG_ERROR_KINDS) + " |",
        ]
    )


def has_argument_scores(metrics: dict[str, Any], split: str) -> bool:
    """Whether the split's arguments were scored (the predictions carried arguments)."""
    return f"{split}/{ARG_VIEWS[0]}/span/f1" in metrics


def argument_table(metrics: dict[str, Any], split: str) -> str:
    """The argument rows: identification and classification, then their strict variants.

    P, R, F1 with the bootstrap 95% interval in brackets; gold is the number of
    gold keys the row compares (arguments of triggers annotated for arguments).
    """
    rows = [
        f"| {split} arguments | P | R | F1 (95% CI) | gold |",
        "|---|---:|---:|---:|---:|",
    ]
    for fam, what in (("span", ""), ("strict", ", strict (trigger span too)")):
        for view in ARG_VIEWS:
            m = lambda k, v=view: metrics.get(f"{split}/{v}/{k}")  # noqa: E731
            rows.append(
                f"| {view.split('/')[1]}{what} | {fmt(m(f'{fam}/precision'))} | "
                f"{fmt(m(f'{fam}/recall'))} | {_with_ci(m, fam)} | {int(m(f'{fam}/support'))} |"
            )
    return "\n".join(rows)


def argument_lines(split: str, c: dict[str, int]) -> list[str]:
    """The protocol line and what counts towards argument recall and precision."""
    if "arguments/gold_triggers_annotated" not in c:
        return []
    gold = (
        f"Only gold triggers annotated for arguments ({c['arguments/gold_triggers_annotated']}) "
        f"count towards argument recall ({c['arguments/gold']} gold arguments); gold triggers "
        f"not annotated for arguments: {c['arguments/gold_triggers_not_annotated']}."
    )
    if f"{ARG_VIEWS[0]}/span_tp" not in c:
        return [f"{split} arguments: not scored (no predicted trigger carries arguments). {gold}"]
    pred = (
        f" Predicted arguments scored: {c['arguments/predicted']}; not scored (their trigger "
        "is at the span of a gold trigger not annotated for arguments): "
        f"{c['arguments/predicted_not_scored']}; predicted triggers with no arguments list: "
        f"{c['arguments/predicted_triggers_not_annotated']}."
    )
    return [f"Protocol: {ARGUMENT_PROTOCOL}.", gold + pred]


def errors_table(counts: dict[str, dict[str, int]], layers: Sequence[str] = LAYERS) -> str:
    """False positives and negatives per layer, split into boundary, type confusion, other."""
    rows = [
        "| layer | error | total | boundary | type confusion | other |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for layer, c in counts.items():
        if layer not in layers:
            continue
        for error in ("false_positive", "false_negative"):
            total = c.get(error, 0)
            b, t = c.get(f"{error}/boundary", 0), c.get(f"{error}/type_confusion", 0)
            rows.append(
                f"| {layer} | {error.replace('_', ' ')} | {total} | {b} | {t} | {total - b - t} |"
            )
    return "\n".join(rows)


def _counts_line(c: dict[str, int], views: Sequence[str] = VIEWS) -> str:
    tag_views = [v for v in ("entities", "triggers/classification") if v in views]
    ill = ", ".join(f"{v.split('/')[0]} {c.get(f'{v}/ill_formed_predicted', 0)}" for v in tag_views)
    line = (
        f"{c['documents']} documents, {c['gold_spans']} gold spans scored "
        f"({c.get('gold_spans_off_units', 0)} not on unit boundaries: character-span "
        f"scores count them, seqeval cannot see them). Ill-formed predicted tag sequences: "
        f"{ill}."
    )
    for side in ("gold", "predicted"):
        n = sum(c.get(f"{v}/overlapping_{side}_not_in_tags", 0) for v in tag_views)
        if n:
            line += (
                f" {n} {side} spans overlap a longer one of their layer and are left out "
                "of the seqeval tags (character-span scores count them)."
            )
    return line


def _tokens_lines(split: str, c: dict[str, int], layers: Sequence[str]) -> list[str]:
    """What the token-level column means and what widening the spans to tokens did."""
    if "tokens" not in c:
        return []
    out = [
        f"**tokens strict F1** is seqeval strict (IOB2) over the corpus's own {c['tokens']} "
        "tokens: this is the number comparable with published results and other tools on "
        "this corpus. The other seqeval columns run over araevent's units, which split "
        "proclitics off words. Spans are widened to the tokens they overlap."
    ]
    for layer in layers:
        g = f"tokens/{layer}/predicted_"
        view = "entities" if layer == "entities" else "triggers/classification"
        out.append(
            f"{split} {layer}: {c.get(g + 'widened', 0)} predicted spans were not on token "
            f"edges and were widened ({c.get(g + 'inside_token', 0)} of them inside one "
            f"token), {c.get(g + 'no_token', 0)} covered no token (left out), "
            f"{c.get(f'tokens/{view}/predicted_merged', 0)} overlapped another once widened "
            f"(left out); gold spans widened: {c.get(f'tokens/{layer}/gold_widened', 0)}."
        )
    return out


def report_markdown(
    title: str,
    sections: dict[str, Scores],
    notes: Sequence[str] = (),
    extra: Sequence[str] = (),
    layers: Sequence[str] | None = None,
) -> str:
    """``report.md``: main table per split, per-type tables, counts, then ``extra`` blocks.

    Only the views of ``layers`` are shown (default: both layers).
    """
    views = shown_views(layers)
    out = [f"# {title}", ""]
    for split, scores in sections.items():
        out += [f"## {split}", "", main_table(scores.metrics, split, views), ""]
        out += [_counts_line(scores.counts, views), ""]
        for line in _tokens_lines(split, scores.counts, layers or LAYERS):
            out += [line, ""]
        for view in TAG_VIEWS:
            if view in views:
                out += [
                    f"### {split}: {view} per type",
                    "",
                    per_type_table(scores, view, split),
                    "",
                ]
        arg_lines = argument_lines(split, scores.counts)
        if has_argument_scores(scores.metrics, split):
            out += [f"### {split}: arguments", "", argument_table(scores.metrics, split), ""]
            out += [x for line in arg_lines for x in (line, "")]
            out += [
                f"### {split}: arguments per role (classification)",
                "",
                per_type_table(scores, ARG_VIEWS[1], split, "strict", "role"),
                "",
            ]
        else:
            out += [x for line in arg_lines for x in (line, "")]
    for block in extra:
        out += [block, ""]
    out += [f"- {n}" for n in notes]
    return "\n".join(out).rstrip() + "\n"


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically."""
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    os.replace(tmp, path)


def _spans_of(pred) -> dict[str, list[Span]]:
    return pred if isinstance(pred, dict) else pred.spans


def write_predictions(path: Path, docs: Sequence[Document], preds) -> None:
    """``predictions.jsonl``: gold spans plus ``predicted_entities``/``predicted_triggers``.

    ``preds[d]`` is a :class:`~araevent.predict.Prediction` or a ``{layer: spans}`` dict.
    Re-scorable with ``araevent score predictions.jsonl predictions.jsonl``.
    """
    rows = []
    for d, p in zip(docs, preds, strict=True):
        out = d.to_dict()
        spans = _spans_of(p)
        for layer in LAYERS:
            out[f"predicted_{layer}"] = [s.to_dict(d.text) for s in spans.get(layer, [])]
        rows.append(out)
    write_jsonl(path, rows)


def plot_confusion(conf: Confusion, path: Path, title: str) -> None:
    """A confusion heat map as PNG (matplotlib's Agg canvas; pyplot is never imported)."""
    # matplotlib is heavy (and only needed when a report has a confusion plot).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(conf.labels) + 1
    side = max(4.0, 0.38 * k + 2.5)
    fig = Figure(figsize=(side, side), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    m = conf.matrix
    ax.imshow(np.log1p(m), cmap="Blues", aspect="equal")
    ax.set_xticks(range(k), conf.columns, rotation=90, fontsize=8)
    ax.set_yticks(range(k), conf.rows, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    top = np.log1p(m.max()) if m.size else 0.0
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                dark = np.log1p(m[i, j]) > 0.6 * top
                ax.text(
                    j,
                    i,
                    str(m[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    fig.tight_layout()
    fig.savefig(path, format="png")


def write_report(
    out_dir: str | Path,
    *,
    title: str,
    split: str,
    docs: Sequence[Document],
    preds: Sequence[dict[str, list[Span]]],
    scores: Scores,
    meta: dict[str, Any],
    notes: Sequence[str] = (),
    layers: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write the report folder for one scored split; returns the ``metrics.json`` content.

    ``layers`` are the layers the report shows (default: those with a gold or a
    predicted span); ``metrics.json`` records them in ``run.layers`` and keeps
    every key. Files are written into a staging folder inside ``out_dir`` and
    moved in at the end: when anything cannot be written, nothing is.

    Raises:
        UsageError: the folder cannot be created or written.
    """
    out = Path(out_dir)
    layers = list(layers) if layers is not None else shown_layers(scores.counts)
    meta = {**meta, "run": {**meta.get("run", {}), "layers": layers}}
    with staged_folder(out) as stage:
        metrics_doc = _write_report_files(stage, title, split, docs, preds, scores, meta, notes)
    return metrics_doc


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A staging folder inside ``out`` whose entries move into ``out`` when the block ends.

    When anything cannot be written nothing is: a folder this created is removed,
    an existing one keeps what it had. An entry replaces one of the same name.

    Raises:
        UsageError: the folder cannot be created or written.
    """
    created = not out.exists()
    stage = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".report-", dir=out))
        yield stage
        for f in sorted(stage.iterdir()):
            target = out / f.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(f, target)
    except OSError as exc:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise UsageError(
            f"cannot write the report folder {out}: {exc.strerror or exc} "
            "(choose a writable folder)"
        ) from None
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


def _write_report_files(out, title, split, docs, preds, scores, meta, notes) -> dict[str, Any]:
    layers = meta["run"]["layers"]
    preds = [_spans_of(p) for p in preds]
    gold = [{"entities": d.entities, "triggers": d.triggers} for d in docs]
    records = [
        error_record(d, e, CONTEXT_CHARS)
        for d, g, p in zip(docs, gold, preds, strict=True)
        for e in span_errors(g, p)
    ]
    scored_arguments = has_argument_scores(scores.metrics, split)
    if scored_arguments:
        records += [
            argument_error_record(d, e, CONTEXT_CHARS)
            for d, p in zip(docs, preds, strict=True)
            for e in argument_mistakes(d.triggers, p.get("triggers", []))
        ]
    errs = error_counts(records)
    confusions = {layer: confusion(gold, preds, layer) for layer in LAYERS}
    write_predictions(out / "predictions.jsonl", docs, preds)
    write_jsonl(out / "errors.jsonl", records)
    plots = []
    for layer, conf in confusions.items():
        if conf.labels:
            name = f"confusion_{layer}.png"
            plot_confusion(conf, out / name, f"{split} {layer}: gold (rows) vs predicted")
            plots.append(f"![{layer} confusion]({name})")
    metrics_doc = {
        **scores.metrics,
        "counts": {split: scores.counts},
        "errors": {split: errs},
        "per_type": {split: scores.per_type},
        "confusion": {split: {layer: c.to_dict() for layer, c in confusions.items()}},
        **meta,
    }
    write_json(out / "metrics.json", metrics_doc)
    write_doc_counts(out, split, docs, scores)
    extra = [f"## {split}: errors (errors.jsonl)", "", errors_table(errs, layers)]
    if scored_arguments:
        extra += ["", argument_errors_table(errs.get("arguments", {}))]
    if plots:
        extra += ["", f"## {split}: confusion", "", *plots]
    text = report_markdown(title, {split: scores}, notes, ["\n".join(extra)], layers)
    (out / "report.md").write_text(text, encoding="utf-8")
    return metrics_doc


def check_output_folder(out: Path) -> None:
    """Fail before any work when ``--output`` cannot become a report folder.

    Raises:
        UsageError: ``out`` is a file, or the nearest existing folder above it
            cannot be written.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"--output {out}: a file is there (the report is a folder: choose a new path)"
        )
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"--output {out}: {parent} is a file, not a folder (choose another path)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--output {out}: {parent} is not writable (choose a writable folder)")


ARGUMENT_PROTOCOLS = (
    ("gold_triggers", "argument model, gold triggers"),
    ("gold_triggers/rule_baseline", "rule baseline, gold triggers (gold entities)"),
    ("end_to_end", "argument model, end to end (predicted triggers)"),
)


def argument_summary_table(metrics: dict[str, Any], split: str) -> str | None:
    """Arg-I and Arg-C (P, R, F1) of every protocol scored for ``split``; ``None`` if none."""
    rows = []
    for key, name in ARGUMENT_PROTOCOLS:
        base = f"{split}/{key}/arguments"
        if f"{base}/classification/span/f1" not in metrics:
            continue
        cells = [
            fmt(metrics[f"{base}/{view}/span/{m}"])
            for view in ("identification", "classification")
            for m in ("precision", "recall", "f1")
        ]
        gold = int(metrics[f"{base}/classification/span/support"])
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {gold} |")
    if not rows:
        return None
    head = [
        f"| {split} arguments | Arg-I P | Arg-I R | Arg-I F1 | Arg-C P | Arg-C R | Arg-C F1 "
        "| gold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return "\n".join(head + rows)
