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
run in the configuration. The paired bootstrap reads each run's doc_counts.json
(the per-document [tp, fp, fn] its reported scores were computed from: the test
split for training runs, the scored split for reports), sums them over the
configuration's runs (seeds), resamples documents with replacement (the same draw
for both systems) and reports the F1 difference with a two-sided p-value. A folder
written before doc_counts.json existed is tested on character spans from its
predictions.jsonl; its seqeval scores cannot be tested (re-run evaluate.py).

  araevent compare outputs/train/*
  araevent compare 'outputs/train/multirun/*/*' --baseline model.name=tiny \
      --system model.name=arabert-base --metric overall/seqeval_strict/f1
"""

from __future__ import annotations

import argparse
import sys

from araevent.compare import (
    DEFAULT_TEST_METRIC,
    choose_split,
    compare_table,
    expand,
    find_group,
    group_reports,
    load_reports,
    metric_key,
    paired_test,
)
from araevent.errors import UsageError


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
    metrics = [metric_key(m, split) for m in args.metric]
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
