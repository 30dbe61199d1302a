"""The argument annotation of data/sample: triggers annotated, arguments per role, reach.

Usage:
    python scripts/argument_stats.py               # per split: triggers annotated, roles
    python scripts/argument_stats.py --reach RUN   # how far arguments lie from their triggers

``--reach`` counts, in the subwords of RUN's argument model, how far each argument's
far edge lies from the centre of its trigger, and how many arguments a trigger-centred
instance of a given width would leave out (the reason instances are whole windows;
docs/arguments.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
SPLITS = ("train", "dev", "test")
WIDTHS = (32, 48, 64, 96, 124)  # instance widths in subwords (124: the tiny model's window)


def roles() -> None:
    """Print, per split, the triggers annotated and the arguments per role."""
    for split in SPLITS:
        docs = [json.loads(x) for x in (SAMPLE / f"{split}.jsonl").read_text("utf-8").splitlines()]
        trigs = [t for d in docs for t in d["triggers"]]
        done = [t for t in trigs if "arguments" in t]
        roles = Counter(a["role"] for t in done for a in t["arguments"])
        n_args = sum(roles.values())
        line = f"{split}: {len(done)}/{len(trigs)} triggers annotated, {n_args} arguments"
        per_role = ", ".join(f"{r} {k}" for r, k in roles.most_common())
        sys.stdout.write(f"{line}\n  {per_role}\n")


def reach(run: str) -> None:
    """A markdown table: per split, arguments beyond half of each instance width."""
    import numpy as np

    from araevent.arguments import argument_folder, load_arguments
    from araevent.formats import read_documents
    from araevent.schema import Span
    from araevent.tagging import UnitAlignment

    folder = argument_folder(run)
    if folder is None:
        sys.exit(f"{run}: no arguments/ model (train one with python train.py)")
    pre = load_arguments(folder).predictor.preprocessor
    head = "| split | arguments | doc subwords (median) |"
    head += "".join(f" beyond ±{w // 2} |" for w in WIDTHS)
    sys.stdout.write(head + "\n")
    sys.stdout.write("|---|---:|---:|" + "---:|" * len(WIDTHS) + "\n")
    for split in SPLITS:
        docs = read_documents(SAMPLE / f"{split}.jsonl").documents
        far, lengths = [], []
        for doc, enc in zip(docs, pre.encode([d.text for d in docs]), strict=True):
            prefix = np.concatenate([[0], np.cumsum([len(g) for g in enc.encoding.subwords])])
            lengths.append(int(prefix[-1]))
            where = UnitAlignment(enc.units)
            for trig in doc.triggers:
                got = where.align(trig)
                if isinstance(got, str):
                    continue
                centre = (prefix[got[0]] + prefix[got[1] + 1]) / 2
                for arg in trig.arguments or ():
                    span = where.align(Span(arg.start, arg.end, arg.role))
                    if not isinstance(span, str):
                        far.append(max(centre - prefix[span[0]], prefix[span[1] + 1] - centre))
        far_a = np.array(far)
        cells = "".join(f" {int((far_a > w / 2).sum())} |" for w in WIDTHS)
        sys.stdout.write(f"| {split} | {len(far)} | {int(np.median(lengths))} |{cells}\n")


def main() -> None:
    """Roles per split, or with ``--reach RUN`` the reach table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reach", metavar="RUN", help="a run folder with an arguments/ model")
    a = ap.parse_args()
    if a.reach:
        reach(a.reach)
    else:
        roles()


if __name__ == "__main__":
    main()
