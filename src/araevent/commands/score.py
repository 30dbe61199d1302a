"""Score predicted spans against gold documents, with no model.

GOLD and PRED are document files in any format araevent reads. Documents are
matched by id (missing or extra ids are errors that name them), or by position
with --match order. In PRED, predicted_entities/predicted_triggers are used
when a document has them (as in the predictions.jsonl that evaluate.py and
training write), else its entities/triggers.

Character-span scores compare exact spans on the raw text. seqeval scores
(strict IOB2 and default) run over unit tags rebuilt from the spans, with units
from the proclitic rule and the shipped known words plus GOLD's span vocabulary.

With --output DIR the report folder is written (metrics.json, report.md,
predictions.jsonl, errors.jsonl, confusion plots); the main table is printed
either way.

  araevent score data/sample/test.jsonl outputs/evaluate/DATE/predictions.jsonl --nested outer
  araevent score gold.jsonl pred.jsonl --output reports/pred --bootstrap 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from araevent.schema import NESTED_POLICIES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``araevent score``."""
    parser.add_argument("gold", type=Path, help="gold documents")
    parser.add_argument("pred", type=Path, help="predicted documents")
    parser.add_argument(
        "--format",
        dest="fmt",
        default=None,
        help="format of both files (default: from the file name)",
    )
    parser.add_argument("--pred-format", default=None, help="format of PRED if it differs")
    parser.add_argument(
        "--output", "-o", type=Path, default=None, help="write the report folder here"
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="bootstrap resamples for 95%% intervals (0: none; default 1000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument(
        "--split", default="test", help="name used as the metric key prefix (default test)"
    )
    parser.add_argument(
        "--match",
        choices=("id", "order"),
        default="id",
        help="pair documents by id (default) or by position",
    )
    parser.add_argument(
        "--nested",
        choices=NESTED_POLICIES,
        default="error",
        help="overlapping spans in one layer: error (default), keep the outer or the inner one",
    )
    parser.add_argument(
        "--labels",
        default="any",
        help="label-set preset the gold labels must belong to (default any)",
    )


def run(args: argparse.Namespace) -> int:
    """Read both files, score, print the table and write the report folder."""
    from araevent.errors import UsageError
    from araevent.evaluation import corpus_units, pair_documents, score
    from araevent.io import describe_dropped, load_documents
    from araevent.labels import get_label_set
    from araevent.reporting import file_hashes, git_commit, library_versions, main_table

    if args.bootstrap < 0:
        raise UsageError(f"--bootstrap {args.bootstrap}: give 0 or more resamples")
    for path in (args.gold, args.pred):
        if not path.exists():
            raise UsageError(f"{path}: no such file")
    try:
        label_set = get_label_set(args.labels)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    gold = load_documents([args.gold], args.fmt, label_set=label_set, nested=args.nested)
    pred_docs = load_documents([args.pred], args.pred_format or args.fmt, nested=args.nested)
    for name, docs in (("gold", gold), ("predictions", pred_docs)):
        for what in describe_dropped(docs.dropped, args.nested):
            print(f"araevent score: {name}: {what}", file=sys.stderr)
    preds = pair_documents(
        gold, pred_docs, match=args.match, gold_path=str(args.gold), pred_path=str(args.pred)
    )
    scores = score(
        gold, preds, corpus_units(gold), prefix=args.split, bootstrap=args.bootstrap, seed=args.seed
    )
    print(main_table(scores.metrics, args.split))
    c = scores.counts
    print(f"{c['documents']} documents, {c['gold_spans']} gold spans scored")
    if args.output is None:
        return 0
    from araevent.reporting import write_report

    config = {
        "task_name": "score",
        "gold": str(args.gold),
        "pred": str(args.pred),
        "format": args.fmt,
        "pred_format": args.pred_format,
        "split": args.split,
        "match": args.match,
        "nested": args.nested,
        "labels": args.labels,
        "bootstrap": args.bootstrap,
        "seed": args.seed,
    }
    meta = {
        "run": {
            "task": "score",
            "split": args.split,
            "gold": str(args.gold),
            "pred": str(args.pred),
            "bootstrap": args.bootstrap,
            "seed": args.seed,
        },
        "versions": library_versions(),
        "git_commit": git_commit(),
        "data_hashes": file_hashes([args.gold, args.pred]),
        "config": config,
    }
    notes = [
        f"gold: {args.gold}; prediction: {args.pred}; documents matched by {args.match}",
        "seqeval scores use unit tags rebuilt from the spans (units: the proclitic rule "
        "with the shipped known words plus the gold span vocabulary)",
    ]
    write_report(
        args.output,
        title=f"araevent score: {args.pred.name} against {args.gold.name}",
        split=args.split,
        docs=gold,
        preds=preds,
        scores=scores,
        meta=meta,
        notes=notes,
    )
    print(f"report folder: {args.output}")
    return 0
