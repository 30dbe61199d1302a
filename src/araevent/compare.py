"""Runs and reports side by side: grouping by configuration, and a paired bootstrap.

A configuration is the runs whose resolved configs differ only by seed (and by
output paths, tags, inference batch size and bootstrap settings). :func:`group_reports`
forms and names them, :func:`compare_table` gives one markdown row per configuration,
and :func:`paired_test` tests two configurations on one F1 with the per-document counts
each run saved beside its metrics.json (``doc_counts.json``, :func:`write_doc_counts`).
``araevent compare`` (``commands/compare.py``) is the command line over them.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from araevent.bootstrap import paired_bootstrap
from araevent.errors import DataError, UsageError
from araevent.evaluation import VIEWS, Scores, span_doc_counts
from araevent.formats import load_documents
from araevent.pairing import predicted_spans
from araevent.schema import Document

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


def metric_key(key: str, split: str) -> str:
    """``key`` without its ``<split>/`` prefix (``test/overall/span/f1`` -> ``overall/span/f1``)."""
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


DOC_COUNTS_FILE = "doc_counts.json"


def _gold_digest(doc: Document) -> str:
    """A short digest of a gold document (text and spans): equal only for the same gold."""
    spans = sorted(s.key for s in (*doc.entities, *doc.triggers))
    blob = json.dumps([doc.id, doc.text, spans], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def doc_counts_record(split: str, docs: Sequence[Document], scores: Scores) -> dict[str, Any]:
    """``doc_counts.json``: the per-document ``[tp, fp, fn]`` behind every F1 of a split.

    Keys are ``<view>/span`` and ``<view>/seqeval_strict`` (as in ``metrics.json``,
    without the split and ``/f1``); the strict rows are those the scores were computed
    from (the model's own tags for a trained model), so a paired test on them tests
    the very numbers the report shows.
    """
    counts = {
        (f"{key}/span" if key in VIEWS else key): np.asarray(rows).astype(int).tolist()
        for key, rows in scores.doc_counts.items()
    }
    return {
        "split": split,
        "documents": [d.id for d in docs],
        "gold": [_gold_digest(d) for d in docs],
        "counts": counts,
    }


def write_doc_counts(
    folder: str | Path, split: str, docs: Sequence[Document], scores: Scores
) -> None:
    """Write ``doc_counts.json`` into ``folder`` (beside its metrics.json)."""
    record = doc_counts_record(split, docs, scores)
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    (Path(folder) / DOC_COUNTS_FILE).write_text(text + "\n", encoding="utf-8")


def _saved_counts(report: Report, key: str) -> tuple[list[tuple[str, str]], np.ndarray] | None:
    """``(documents, rows)`` from the report's doc_counts.json, sorted by document id."""
    f = report.folder / DOC_COUNTS_FILE
    if not f.is_file():
        return None
    try:
        doc = json.loads(f.read_text("utf-8"))
        ids, gold, rows = doc["documents"], doc["gold"], doc["counts"].get(key)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"not a doc_counts.json ({exc})", path=str(f), fix="re-run evaluate.py on the model"
        ) from None
    if rows is None:
        raise DataError(f"no per-document counts for {key}", path=str(f))
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    return [(ids[i], gold[i]) for i in order], np.asarray(rows, dtype=int)[order]


def _predicted_counts(report: Report, key: str) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Character-span counts rebuilt from predictions.jsonl (a folder without doc_counts.json)."""
    view, family = key.rsplit("/", 1)
    f = report.folder / "predictions.jsonl"
    if family != "span":
        raise UsageError(
            f"{report.folder} has no {DOC_COUNTS_FILE}: the strict paired test needs the "
            "per-document counts the run was scored with (re-run evaluate.py on its model, "
            "or test on --metric <view>/span/f1)"
        )
    if not f.is_file():
        raise UsageError(f"{report.folder} has no predictions.jsonl for the paired bootstrap")
    docs = sorted(load_documents([f], nested="outer"), key=lambda d: d.id)
    rows = span_doc_counts(docs, [predicted_spans(d, str(f)) for d in docs], view)
    return [(d.id, _gold_digest(d)) for d in docs], rows


def group_counts(group: Group, metric: str) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Per-document ``[tp, fp, fn]`` summed over the group's runs, and their documents.

    Read from each run's doc_counts.json (the counts its reported scores came from);
    a folder written before doc_counts.json existed falls back to its predictions.jsonl
    for character spans (exact) and is refused for seqeval.
    """
    key = metric.removesuffix("/f1")
    gold_ref: list[tuple[str, str]] | None = None
    total = None
    for r in group.reports:
        found = _saved_counts(r, key) or _predicted_counts(r, key)
        gold, counts = found
        if gold_ref is None:
            gold_ref = gold
        elif gold != gold_ref:
            raise DataError(
                "its gold documents differ from the other runs' (ids, texts or spans)",
                path=str(r.folder),
                fix="compare runs scored on the same split",
            )
        total = counts if total is None else total + counts
    return gold_ref, total


def paired_test(
    baseline: Group, system: Group, metric: str, samples: int, seed: int
) -> dict[str, Any]:
    """Paired bootstrap between two configurations on ``metric`` (``<view>/<family>/f1``)."""
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
    gold_b, counts_b = group_counts(baseline, metric)
    gold_s, counts_s = group_counts(system, metric)
    if gold_b != gold_s:
        raise DataError(
            f"the predictions of {baseline.label!r} and {system.label!r} are not "
            "on the same gold documents",
            fix="compare runs scored on the same split",
        )
    return paired_bootstrap(counts_s, counts_b, samples, seed)
