"""Measure what each Arabic orthographic variation costs a model.

Each perturbation (diacritics stripped or added, tatweel, Western/Eastern digits,
hamza alefs folded, final ي/ى, final ة → ه, the conjunction و/ف detached or
attached, Arabic/Latin punctuation, direction marks, letter noise) is applied to
the input documents with their gold spans carried along; the perturbed copy is
predicted and scored like the clean one. The report gives, per layer, F1 clean,
F1 perturbed and ΔF1 with a paired bootstrap 95% interval over documents, and
how many gold spans changed characters (or were destroyed by noise).

--rate replaces every perturbation's default rate (the probability that each
site is changed; defaults in docs/robustness.md). The output folder gets
report.md, metrics.json (robustness/<perturbation>/<layer>/span/{f1,delta,...}),
robustness.png and corpora/ (clean.jsonl and one file per perturbation, with
predicted_entities/predicted_triggers): all of it or, when it cannot be
written, nothing.

  araevent robustness --model outputs/train/RUN --input data/sample/test.jsonl --output DIR
  araevent robustness --model RUN --input test.jsonl --output DIR --perturb hamza,ya --rate 0.5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from araevent.errors import UsageError
from araevent.perturb import NAMES
from araevent.schema import NESTED_POLICIES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``araevent robustness``."""
    parser.add_argument(
        "--model", required=True, type=Path, metavar="RUN", help="a model/ folder or its run folder"
    )
    parser.add_argument(
        "--input", required=True, type=Path, metavar="FILE", help="gold documents (any format)"
    )
    parser.add_argument(
        "--output", required=True, type=Path, metavar="DIR", help="the report folder to write"
    )
    parser.add_argument(
        "--perturb",
        default="all",
        metavar="all|NAME,...",
        help=f"perturbations to run (default all: {', '.join(NAMES)})",
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="rate for every perturbation (default: each's own)"
    )
    parser.add_argument("--seed", type=int, default=0, help="perturbation and bootstrap seed")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)"
    )
    parser.add_argument(
        "--format", dest="fmt", default=None, help="input format (default: by name)"
    )
    parser.add_argument(
        "--nested",
        default="keep",
        choices=NESTED_POLICIES,
        help="overlapping gold spans in one layer: keep them all (default), report them "
        "(error), or keep the outer/inner one (dropped spans are counted)",
    )
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="windows per pass")
    parser.add_argument("--device", default=None, help="torch device (default: cpu)")
    parser.add_argument(
        "--overwrite", action="store_true", help="write into a non-empty folder (replacing reports)"
    )


def log_stderr(line: str) -> None:
    """One progress line on stderr."""
    print(f"araevent robustness: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Check the options, load the model and the documents, measure and write the report."""
    from araevent.formats import describe_dropped, load_documents
    from araevent.modeling import load_model_dir
    from araevent.perturb import resolve
    from araevent.robustness import check_output, run_robustness

    try:
        names = resolve(args.perturb)
    except ValueError as exc:
        raise UsageError(f"--perturb {args.perturb}: {exc}") from None
    if args.rate is not None and not 0.0 <= args.rate <= 1.0:
        raise UsageError(f"--rate {args.rate}: give a probability between 0 and 1")
    if args.bootstrap < 1:
        raise UsageError(
            f"--bootstrap {args.bootstrap}: give 1 or more resamples (the intervals are the report)"
        )
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: give at least 1")
    if not args.input.is_file():
        raise UsageError(f"--input {args.input}: no such file")
    if not args.model.exists():
        raise UsageError(f"--model {args.model}: no such folder (give a run or model/ folder)")
    check_output(args.output, args.overwrite)
    docs = load_documents([args.input], args.fmt, nested=args.nested)
    for what in describe_dropped(docs.dropped, args.nested):
        log_stderr(f"{args.input}: {what}")
    if not docs:
        raise UsageError(f"--input {args.input}: no documents")
    try:
        loaded = load_model_dir(args.model, device=args.device)
    except OSError as exc:
        raise UsageError(
            f"cannot load the model in {args.model}: {exc}".replace("\n", " ")
        ) from None
    run_robustness(
        loaded,
        docs,
        args.output,
        names=names,
        rate=args.rate,
        seed=args.seed,
        bootstrap=args.bootstrap,
        batch_size=args.batch_size,
        model=str(args.model),
        source=args.input,
        settings={"input": str(args.input), "nested": args.nested},
        log=log_stderr,
    )
    print(f"report folder: {args.output}")
    return 0
