"""Compare runs and reports in one markdown table, with a paired bootstrap test.

Each RUN_OR_REPORT is a training run folder, an evaluate.py or `araevent score`
report folder, or a metrics.json; globs are expanded (folders a glob matches
that hold no metrics.json are skipped and listed). Runs whose resolved configs
differ only by seed (and by output paths, tags, batch size for inference and
bootstrap settings) form one configuration: one row with the mean ± standard
deviation (over runs, n-1) of the main F1 scores, in percent.

A configuration's NAME is its label in the first column: the config values that
differ between the configurations compared (for example
`trainer.learning_rate=0.001`), after the report kind (train, evaluate, score)
when kinds are mixed, or `model.name=... data.name=...` when nothing else differs.
--baseline and --system take a NAME, a unique part of one, or the path of any
run in the configuration. The paired bootstrap reads each run's
predictions.jsonl (the test split for training runs, the scored split for
reports), sums every document's [tp, fp, fn] over the configuration's runs
(seeds), resamples documents with replacement (the same draw for both systems)
and reports the F1 difference with a two-sided p-value.

  araevent compare outputs/train/*
  araevent compare 'outputs/train/multirun/*/*' --baseline model.name=tiny \
      --system model.name=arabert-base --metric overall/seqeval_strict/f1
"""

from __future__ import annotations

import argparse
import glob
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from araevent.errors import DataError, UsageError

# top-level config keys that do not make a configuration different
IGNORED_KEYS = frozenset(
    {
        "seed",
        "paths",
        "resume",
        "test",
        "tags",
        "task_name",
        "hydra",
        "model_path",
        "batch_size",
        "device",
        "bootstrap",
        "output",
        "optimized_metric",
    }
)
MAIN_METRICS = (
    ("entities span F1", "entities/span/f1"),
    ("entities strict F1", "entities/seqeval_strict/f1"),
    ("trigger id. span F1", "triggers/identification/span/f1"),
    ("trigger id. strict F1", "triggers/identification/seqeval_strict/f1"),
    ("trigger cls. span F1", "triggers/classification/span/f1"),
    ("trigger cls. strict F1", "triggers/classification/seqeval_strict/f1"),
)
DEFAULT_TEST_METRIC = "overall/span/f1"


@dataclass
class Report:
    """One metrics.json and the folder it lives in."""

    folder: Path
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        """``train``, ``evaluate`` or ``score``."""
        return str(self.doc.get("run", {}).get("task", "train"))

    @property
    def seed(self) -> int | None:
        """The training seed (``None`` for a score report)."""
        if self.kind == "evaluate":
            return self.doc.get("model", {}).get("training_seed")
        if self.kind == "train":
            return (self.doc.get("config") or {}).get("seed", self.doc.get("run", {}).get("seed"))
        return None

    @property
    def predictions_split(self) -> str:
        """The split predictions.jsonl holds."""
        return "test" if self.kind == "train" else str(self.doc.get("run", {}).get("split"))

    def identity(self) -> dict[str, Any]:
        """What makes this run's configuration: its config without run-specific keys."""
        config = _strip(self.doc.get("config") or {})
        if self.kind == "evaluate":
            model = self.doc.get("model", {})
            training = model.get("training_config")
            return {
                "evaluate": config,
                "training": _strip(training) if training else {"model": model.get("path")},
            }
        if self.kind == "score":
            return {"score": config}
        return {"training": config}


@dataclass
class Group:
    """Runs that differ only by seed."""

    label: str
    reports: list[Report] = field(default_factory=list)


def _strip(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in IGNORED_KEYS}


def _flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(obj, dict) and obj:
        out: dict[str, str] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: json.dumps(obj, ensure_ascii=False, sort_keys=True)}


def expand(patterns: list[str]) -> tuple[list[Path], list[Path]]:
    """Folders or metrics.json files for the arguments; returns ``(found, skipped)``.

    A glob that matches nothing, or a named path with no metrics.json, is an error;
    folders a glob matches that hold no metrics.json are skipped.
    """
    found: list[Path] = []
    skipped: list[Path] = []
    for pattern in patterns:
        is_glob = glob.has_magic(pattern)
        paths = [Path(p) for p in sorted(glob.glob(pattern))] if is_glob else [Path(pattern)]
        if not paths:
            raise UsageError(f"{pattern}: matches nothing")
        for p in paths:
            f = p if p.name == "metrics.json" else p / "metrics.json"
            if f.is_file():
                if f not in found:
                    found.append(f)
            elif is_glob:
                skipped.append(p)
            else:
                raise UsageError(
                    f"{p}: no metrics.json there; pass a run folder, a report "
                    "folder or a metrics.json"
                )
    if not found:
        raise UsageError(f"no metrics.json in {' '.join(patterns)}")
    return found, skipped


def load_reports(files: list[Path]) -> list[Report]:
    """Read every metrics.json."""
    out = []
    for f in files:
        try:
            doc = json.loads(f.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc}", path=str(f)) from None
        if not isinstance(doc, dict):
            raise DataError("not a metrics.json object", path=str(f))
        out.append(Report(f.parent, doc))
    return out


def group_reports(reports: list[Report]) -> list[Group]:
    """Group runs whose identities are equal; label each group by what tells it apart.

    A label lists the config values of the group that another group sets
    differently (keys only one side has are not differences), after the kind of
    report (``train``, ``evaluate``, ``score``) when kinds are mixed; a group that
    differs in nothing else is labelled by its model and data names.
    """
    keyed: dict[str, list[Report]] = {}
    idents: dict[str, dict[str, Any]] = {}
    for r in reports:
        ident = r.identity()
        key = json.dumps(ident, sort_keys=True, ensure_ascii=False)
        keyed.setdefault(key, []).append(r)
        idents[key] = ident
    flats = {k: _flatten(v) for k, v in idents.items()}
    kinds = {k: members[0].kind for k, members in keyed.items()}
    mixed = len(set(kinds.values())) > 1
    groups = []
    for key, members in keyed.items():
        flat = flats[key]
        differing = [
            k
            for k in sorted(flat)
            if any(k in other and other[k] != flat[k] for o, other in flats.items() if o != key)
        ]
        parts = [kinds[key]] if mixed else []
        parts += [f"{_short(k)}={_value(flat[k])}" for k in differing]
        if not differing:
            parts += [
                f"{_short(k)}={_value(flat[k])}"
                for k in (
                    "training.model.name",
                    "training.data.name",
                    "evaluate.data.name",
                    "evaluate.split",
                    "score.pred",
                )
                if k in flat
            ]
        groups.append(Group(" ".join(parts) or members[0].folder.name, members))
    seen: dict[str, int] = {}
    for g in groups:
        seen[g.label] = seen.get(g.label, 0) + 1
    for g in groups:
        if seen[g.label] > 1:
            g.label = f"{g.label} [{g.reports[0].folder.name}]"
    return groups


def _short(key: str) -> str:
    return key.removeprefix("training.")


def _value(v: str) -> str:
    try:
        x = json.loads(v)
    except json.JSONDecodeError:
        return v
    return x if isinstance(x, str) else v


def choose_split(reports: list[Report], split: str | None) -> str:
    """The split whose scores the table shows: ``split``, else test, else dev."""
    candidates = [split] if split else ["test", "dev"]
    for s in candidates:
        if all(f"{s}/overall/span/f1" in r.doc for r in reports):
            return s
    lacking = [str(r.folder) for r in reports if f"{candidates[0]}/overall/span/f1" not in r.doc]
    raise UsageError(
        f"no {'/'.join(candidates)} scores in {', '.join(lacking[:5])}; "
        "choose a split they all have with --split"
    )


def mean_std(values: list[float]) -> str:
    """``mean ± std`` in percent (std over runs with n-1; the mean alone for one run)."""
    a = 100 * np.asarray(values, dtype=float)
    if len(a) == 1:
        return f"{a[0]:.1f}"
    return f"{a.mean():.1f} ± {a.std(ddof=1):.1f}"


def _metric_key(key: str, split: str) -> str:
    return key[len(split) + 1 :] if key.startswith(f"{split}/") else key


def compare_table(groups: list[Group], split: str, extra: list[str] = ()) -> str:
    """One markdown row per configuration: runs, seeds, mean ± std of each F1."""
    columns = list(MAIN_METRICS) + [(k, k) for k in extra if k not in dict(MAIN_METRICS).values()]
    head = ["configuration", "runs", "seeds", *(name for name, _ in columns)]
    rows = [f"| {' | '.join(head)} |", "|---|---:|---|" + "---:|" * len(columns)]
    for g in groups:
        seeds = sorted({r.seed for r in g.reports if r.seed is not None})
        cells = []
        for _, key in columns:
            values = [r.doc.get(f"{split}/{key}") for r in g.reports]
            if any(v is None for v in values):
                missing = next(
                    r.folder for r, v in zip(g.reports, values, strict=True) if v is None
                )
                raise UsageError(f"{missing}/metrics.json has no {split}/{key}")
            cells.append(mean_std(values))
        rows.append(
            f"| {g.label} | {len(g.reports)} | {', '.join(map(str, seeds)) or '–'} | "
            f"{' | '.join(cells)} |"
        )
    return "\n".join(rows)


def find_group(groups: list[Group], name: str) -> Group:
    """The group called ``name``: its label, a unique part of it, or a member's folder."""
    exact = [g for g in groups if g.label == name]
    if exact:
        return exact[0]
    path = Path(name)
    if path.exists():
        target = (path.parent if path.name == "metrics.json" else path).resolve()
        by_path = [g for g in groups if any(r.folder.resolve() == target for r in g.reports)]
        if by_path:
            return by_path[0]
    partial = [g for g in groups if name in g.label]
    if len(partial) == 1:
        return partial[0]
    labels = "; ".join(repr(g.label) for g in groups)
    what = "matches several configurations" if partial else "names no configuration"
    raise UsageError(f"{name!r} {what}; the names are: {labels}")


def _group_counts(group: Group, metric: str):
    """Per-document [tp, fp, fn] summed over the group's runs, from their predictions."""
    from araevent.evaluation import score, span_doc_counts
    from araevent.io import load_documents
    from araevent.pairing import corpus_units, predicted_spans

    view, family, stat = metric.rsplit("/", 2)
    gold_ref: dict[str, Any] | None = None
    total = None
    for r in group.reports:
        f = r.folder / "predictions.jsonl"
        if not f.is_file():
            raise UsageError(f"{r.folder} has no predictions.jsonl for the paired bootstrap")
        docs = sorted(load_documents([f], nested="outer"), key=lambda d: d.id)
        preds = [predicted_spans(d, str(f)) for d in docs]
        gold = {d.id: (d.text, sorted(s.key for s in (*d.entities, *d.triggers))) for d in docs}
        if gold_ref is None:
            gold_ref = gold
        elif gold != gold_ref:
            raise DataError(
                "its gold documents differ from the other runs' (ids, texts or spans)",
                path=str(f),
                fix="compare runs scored on the same split",
            )
        if family == "span":
            counts = span_doc_counts(docs, preds, view)
        else:
            scores = score(docs, preds, corpus_units(docs), bootstrap=0)
            counts = scores.doc_counts[f"{view}/seqeval_strict"]
        total = counts if total is None else total + counts
    return gold_ref, total


def paired_test(
    baseline: Group, system: Group, metric: str, samples: int, seed: int
) -> dict[str, Any]:
    """Paired bootstrap between two configurations on ``metric`` (``<view>/<family>/f1``)."""
    from araevent.bootstrap import paired_bootstrap
    from araevent.evaluation import VIEWS

    parts = metric.rsplit("/", 2)
    if (
        len(parts) != 3
        or parts[0] not in VIEWS
        or parts[1] not in ("span", "seqeval_strict")
        or parts[2] != "f1"
    ):
        raise UsageError(
            f"--metric {metric}: the paired bootstrap takes <view>/span/f1 or "
            f"<view>/seqeval_strict/f1 with a view of {', '.join(VIEWS)}"
        )
    gold_b, counts_b = _group_counts(baseline, metric)
    gold_s, counts_s = _group_counts(system, metric)
    if gold_b != gold_s:
        raise DataError(
            f"the predictions of {baseline.label!r} and {system.label!r} are not "
            "on the same gold documents",
            fix="compare runs scored on the same split",
        )
    return paired_bootstrap(counts_s, counts_b, samples, seed)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``araevent compare``."""
    parser.add_argument(
        "runs",
        nargs="+",
        metavar="RUN_OR_REPORT",
        help="run folders, report folders or metrics.json files (globs allowed)",
    )
    parser.add_argument(
        "--split", default=None, help="which split's scores to show (default: test, else dev)"
    )
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="KEY",
        help="extra column such as overall/seqeval_strict/f1 (repeatable); the "
        f"first is the paired bootstrap's metric (default "
        f"{DEFAULT_TEST_METRIC})",
    )
    parser.add_argument("--baseline", metavar="NAME", help="configuration to test against")
    parser.add_argument("--system", metavar="NAME", help="configuration tested")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="paired bootstrap resamples (default 1000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="paired bootstrap seed (default 0)")


def run(args: argparse.Namespace) -> int:
    """Print the comparison table (and the paired bootstrap when two systems are named)."""
    import sys

    if bool(args.baseline) != bool(args.system):
        raise UsageError("give both --baseline NAME and --system NAME for the paired bootstrap")
    if args.bootstrap < 1:
        raise UsageError(f"--bootstrap {args.bootstrap}: give 1 or more resamples")
    files, skipped = expand(args.runs)
    if skipped:
        print(
            f"skipped {len(skipped)} folder(s) without metrics.json: "
            f"{', '.join(map(str, skipped[:5]))}{' ...' if len(skipped) > 5 else ''}",
            file=sys.stderr,
        )
    reports = load_reports(files)
    split = choose_split(reports, args.split)
    metrics = [_metric_key(m, split) for m in args.metric]
    groups = group_reports(reports)
    print(
        f"{split}: mean ± std over runs (seeds), F1 in percent; {len(reports)} runs, "
        f"{len(groups)} configurations"
    )
    print()
    print(compare_table(groups, split, metrics))
    if args.baseline:
        metric = metrics[0] if metrics else DEFAULT_TEST_METRIC
        base, system = find_group(groups, args.baseline), find_group(groups, args.system)
        if base is system:
            raise UsageError(f"--baseline and --system both name {base.label!r}")
        for g in (base, system):
            splits = {r.predictions_split for r in g.reports}
            if len(splits) > 1:
                raise UsageError(
                    f"{g.label!r}: its runs' predictions cover different splits "
                    f"({', '.join(sorted(splits))})"
                )
        res = paired_test(base, system, metric, args.bootstrap, args.seed)
        print()
        print(
            f"Paired bootstrap on {metric} ({res['documents']} documents resampled "
            f"{args.bootstrap}×, seed {args.seed}; each configuration's runs pooled): "
            f"system `{system.label}` {100 * res['f1_a']:.1f} vs baseline `{base.label}` "
            f"{100 * res['f1_b']:.1f}, Δ = {100 * res['delta']:+.1f} "
            f"(95% CI {100 * res['delta_ci_low']:+.1f} to {100 * res['delta_ci_high']:+.1f}), "
            f"p = {res['p_value']:.4f} (two-sided)"
        )
    return 0
