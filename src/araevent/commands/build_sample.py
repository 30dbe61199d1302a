"""Build the bundled corpus data/sample/{split}.jsonl from its markup sources.

Each data/sample/src/<split>/*.txt holds one document per line in inline markup
(data/AUTHORING.md). With --check nothing is written: the built JSONL is
compared with the committed files, and the exit status is 1 if any split differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from araevent.errors import UsageError
from araevent.markup import build_corpus
from araevent.writing import write_documents


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register build-sample's options."""
    parser.add_argument(
        "--src",
        type=Path,
        default=Path("data/sample/src"),
        help="folder with one sub-folder of markup files per split",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data/sample"), help="folder for {split}.jsonl"
    )
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files instead of writing"
    )


def run(args: argparse.Namespace) -> int:
    """Build (or check) every split; 1 when --check finds a difference."""
    if not args.src.is_dir():
        raise UsageError(f"no such folder: {args.src}")
    splits = build_corpus(args.src)
    if not splits:
        raise UsageError(f"{args.src} has no split folders (train/, dev/, test/)")
    if not args.check:
        for split, docs in splits.items():
            write_documents(docs, args.out / f"{split}.jsonl", "jsonl")
            print(f"{split}: {len(docs)} documents -> {args.out / f'{split}.jsonl'}")
        return 0
    stale = 0
    for split, docs in splits.items():
        target = args.out / f"{split}.jsonl"
        built = [json.dumps(d.to_dict(), ensure_ascii=False) for d in docs]
        if not target.is_file():
            print(
                f"split {split}: {target} is missing (run araevent build-sample)", file=sys.stderr
            )
            stale += 1
            continue
        committed = target.read_text(encoding="utf-8").splitlines()
        if built == committed:
            print(f"split {split}: {len(docs)} documents, up to date")
            continue
        stale += 1
        first = next(
            (i for i, (a, b) in enumerate(zip(built, committed, strict=False)) if a != b),
            min(len(built), len(committed)),
        )
        print(
            f"split {split}: {target} differs from what {args.src / split} builds "
            f"(first at line {first + 1}; {len(built)} built, {len(committed)} committed); "
            "run araevent build-sample",
            file=sys.stderr,
        )
    return 1 if stale else 0
