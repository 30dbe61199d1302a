"""Regenerate every figure and example output in README.md and docs/ from one run.

    python scripts/refresh_docs.py            # train outputs/docs-run if absent, then refresh
    python scripts/refresh_docs.py --train    # retrain it first (after a change of the code)
    python scripts/refresh_docs.py --check    # exit 1 when a page would change (no rewrite)

The run is `python train.py hydra.run.dir=outputs/docs-run` (the defaults of `make
train`: tiny model, bundled corpus, seed 42). Markers in the Markdown say what to
regenerate; the fenced block that follows a marker is replaced:

- ``<!-- table: SPLIT -->`` ... ``<!-- /table -->``: the main table of SPLIT from the
  run's metrics.json (a Markdown table, no fence); ``<!-- table: SPLIT arguments -->``
  the argument table (Arg-I/Arg-C per protocol and the rule baseline);
- ``<!-- output: COMMAND -->``: what COMMAND prints (stdout, then stderr), run with
  ``bash`` in a scratch folder where ``data/``, ``outputs/``, ``scripts/`` and ``tests/``
  are the repository's,
  ``RUN`` is ``outputs/docs-run`` and the venv's ``araevent`` is on PATH;
- ``<!-- output: python -->``: the same for the ```python block just before it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "outputs/docs-run"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!-- (table|output): (.*?) -->\n")
TABLE_END = "<!-- /table -->"
FENCE = re.compile(r"( *```[a-z]*\n)(.*?)( *```)", re.S)


def train(python: str) -> None:
    """Train the docs run from scratch."""
    shutil.rmtree(ROOT / RUN, ignore_errors=True)
    subprocess.run([python, "train.py", f"hydra.run.dir={RUN}"], cwd=ROOT, check=True)


def run_command(command: str, scratch: Path, python: str) -> str:
    """What ``command`` prints in the scratch folder, stdout then stderr."""
    env = {
        **os.environ,
        "RUN": RUN,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TQDM_DISABLE": "1",
    }
    done = subprocess.run(
        ["bash", "-c", command], cwd=scratch, env=env, capture_output=True, text=True
    )
    if done.returncode not in (0, 1, 2):
        sys.exit(f"refresh_docs: {command!r} failed:\n{done.stderr}")
    return done.stdout + done.stderr


def refresh(text: str, metrics: dict, scratch: Path, python: str) -> str:
    """``text`` with every marked block regenerated."""
    from araevent.reporting import argument_summary_table, main_table

    out, pos = [], 0
    for m in MARKER.finditer(text):
        kind, arg = m.group(1), m.group(2)
        if kind == "table":
            end = text.index(TABLE_END, m.end())
            split, _, what = arg.partition(" ")
            table = argument_summary_table(metrics, split) if what else main_table(metrics, split)
            out.append(text[pos : m.end()] + (table or "") + "\n")
            pos = end
            continue
        fence = FENCE.match(text, m.end())
        if fence is None:
            sys.exit(f"refresh_docs: no fenced block after {m.group(0).strip()}")
        if arg == "python":
            code = FENCE.findall(text[: m.start()])[-1][1]
            body = run_command(f"{python} - <<'PYEOF'\n{code}PYEOF", scratch, python)
        else:
            body = run_command(arg, scratch, python)
        out.append(text[pos : m.end()] + fence.group(1) + body + fence.group(3))
        pos = fence.end()
    out.append(text[pos:])
    return "".join(out)


def main() -> int:
    """Refresh (or check) every page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="retrain the docs run first")
    parser.add_argument("--check", action="store_true", help="only say whether pages change")
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    if args.train or not (ROOT / RUN / "metrics.json").exists():
        train(python)
    metrics = json.loads((ROOT / RUN / "metrics.json").read_text("utf-8"))
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for name in ("data", "outputs", "scripts", "tests"):
            (scratch / name).symlink_to(ROOT / name)
        for page in PAGES:
            old = page.read_text("utf-8")
            new = refresh(old, metrics, scratch, python)
            if new != old:
                changed.append(page.relative_to(ROOT))
                if not args.check:
                    page.write_text(new, encoding="utf-8")
    summary = ("would change: " if args.check else "refreshed: ") + ", ".join(map(str, changed))
    sys.stdout.write(summary + "\n")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
