"""Progress of the argument annotation of data/sample: triggers annotated, arguments per role.

Usage: python scripts/argument_stats.py   (after `araevent build-sample`)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def main() -> None:
    """Print, per split, the triggers annotated and the arguments per role."""
    for split in ("train", "dev", "test"):
        docs = [json.loads(x) for x in (SAMPLE / f"{split}.jsonl").read_text("utf-8").splitlines()]
        trigs = [t for d in docs for t in d["triggers"]]
        done = [t for t in trigs if "arguments" in t]
        roles = Counter(a["role"] for t in done for a in t["arguments"])
        n_args = sum(roles.values())
        line = f"{split}: {len(done)}/{len(trigs)} triggers annotated, {n_args} arguments"
        per_role = ", ".join(f"{r} {k}" for r, k in roles.most_common())
        sys.stdout.write(f"{line}\n  {per_role}\n")


if __name__ == "__main__":
    main()
