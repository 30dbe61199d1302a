"""Score predicted spans against gold documents, with no model.

GOLD and PRED are document files in any format araevent reads. Documents are
matched by id (missing or extra ids are errors that name them), or by position
with --match order. In PRED, predicted_entities/predicted_triggers are used
when a document has them (as in the predictions.jsonl that evaluate.py and
training write), else its entities/triggers. Overlapping predicted spans of one
layer follow --nested, as gold ones do: an error naming them, or the outer or
inner one kept and the others counted.

Character-span scores compare exact spans on the raw text. seqeval scores
(strict IOB2 and default) run over unit tags rebuilt from the spans, with units
from the proclitic rule and the shipped known words plus GOLD's span vocabulary.
When GOLD carries its corpus tokens (CoNLL), seqeval strict also runs over those
tokens: that column is the one comparable with published results.

When PRED's triggers carry arguments, arguments are scored too (OneIE / ACE
protocol): identification (argument span and the trigger's event type match a
gold argument), classification (the role too), and the strict variants that
also require the trigger's span. Only gold triggers annotated for arguments
count towards argument recall.

With --output DIR the report folder is written (metrics.json, report.md,
predictions.jsonl, errors.jsonl, confusion plots): all of it, or nothing when
it cannot be; the main table is printed either way.

  araevent score data/sample/test.jsonl outputs/evaluate/DATE/predictions.jsonl --nested outer
  araevent score gold.jsonl pred.jsonl --output reports/pred --bootstrap 1000
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from araevent.errors import UsageError
from araevent.evaluation import score
from araevent.formats import describe_dropped, load_documents, read_many
from araevent.labels import get_label_set
from araevent.pairing import corpus_units, pair_documents
from araevent.provenance import run_provenance
from araevent.reporting import (
    argument_lines,
    argument_table,
    check_output_folder,
    has_argument_scores,
    main_table,
    shown_layers,
    shown_views,
    write_report,
)
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
    if args.bootstrap < 0:
        raise UsageError(f"--bootstrap {args.bootstrap}: give 0 or more resamples")
    for path in (args.gold, args.pred):
        if not path.exists():
            raise UsageError(f"{path}: no such file")
    if args.output is not None:
        check_output_folder(args.output)
    try:
        label_set = get_label_set(args.labels)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    gold = load_documents([args.gold], args.fmt, label_set=label_set, nested=args.nested)
    pred_fmt = args.pred_format or args.fmt
    read = read_many([args.pred], pred_fmt, nested=args.nested)
    if read.errors:  # raise the first one, worded as every reader's
        load_documents([args.pred], pred_fmt, nested=args.nested)
    for name, counts in (("gold", gold.dropped), ("predictions", read.dropped)):
        for what in describe_dropped(counts, args.nested):
            print(f"araevent score: {name}: {what}", file=sys.stderr)
    dropped: Counter = Counter()
    preds = pair_documents(
        gold,
        read.documents,
        match=args.match,
        gold_path=str(args.gold),
        pred_path=str(args.pred),
        pred_lines={i: line for i, (_, line) in read.locations.items()},
        nested=args.nested,
        stats=dropped,
    )
    scores = score(
        gold, preds, corpus_units(gold), prefix=args.split, bootstrap=args.bootstrap, seed=args.seed
    )
    scores.counts.update(dropped)
    layers = shown_layers(scores.counts)
    print(main_table(scores.metrics, args.split, shown_views(layers)))
    c = scores.counts
    print(f"{c['documents']} documents, {c['gold_spans']} gold spans scored")
    if has_argument_scores(scores.metrics, args.split):
        print(argument_table(scores.metrics, args.split))
    for line in argument_lines(args.split, c):
        print(line)
    if "tokens" in c:
        print(
            "tokens strict F1: seqeval strict over the corpus's own tokens, the number "
            "comparable with published results on this corpus"
        )
    n_dropped = sum(dropped.values())
    if n_dropped:
        print(
            f"{n_dropped} overlapping predicted spans dropped by --nested {args.nested} "
            "(not scored)"
        )
    if args.output is None:
        return 0
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
        **run_provenance(config, [args.gold, args.pred]),
    }
    notes = [
        f"gold: {args.gold}; prediction: {args.pred}; documents matched by {args.match}",
        "seqeval scores use unit tags rebuilt from the spans (units: the proclitic rule "
        "with the shipped known words plus the gold span vocabulary)",
    ]
    if n_dropped:
        notes.append(
            f"--nested {args.nested}: overlapping predicted spans dropped (not scored): "
            + ", ".join(f"{k.split('/')[1]} {v}" for k, v in dropped.items() if v)
        )
    write_report(
        args.output,
        title=f"araevent score: {args.pred.name} against {args.gold.name}",
        split=args.split,
        docs=gold,
        preds=preds,
        scores=scores,
        meta=meta,
        notes=notes,
        layers=layers,
    )
    print(f"report folder: {args.output}")
    return 0
