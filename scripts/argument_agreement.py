"""Second-pass agreement of the argument annotation of data/sample.

    python scripts/argument_agreement.py sample    # draw the documents, write the blind input
    python scripts/argument_agreement.py score     # compare the second pass with the corpus

`sample` draws 10% of the documents of all splits (seeded) and writes
data/sample/agreement/blind.txt: each document's markup with its entities and
numbered triggers, the arguments left out; and first_pass.jsonl, the drawn
documents as the corpus had them then (the first pass, frozen, so that later
corpus edits do not move the comparison). A second annotator copies it to
data/sample/agreement/second_pass.txt and adds the arguments by reading, as for
the corpus. `score` compares the two passes: an argument agrees when its
trigger, its span and its role are the same; the table gives P/R/F1 of the
second pass against the first, overall, for spans only, and per role.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from araevent.markup import parse_markup  # noqa: E402

SAMPLE = ROOT / "data" / "sample"
OUT = SAMPLE / "agreement"
SEED, SHARE = 2026, 0.10


def _docs() -> list[dict]:
    return [
        json.loads(line)
        for split in ("train", "dev", "test")
        for line in (SAMPLE / f"{split}.jsonl").read_text("utf-8").splitlines()
    ]


def _escape(s: str) -> str:
    return "".join("\\" + c if c in "[]{}\\" else c for c in s)


def blind_markup(doc: dict) -> str:
    """The document's markup with entities and numbered triggers, no arguments."""
    spans = [(e["start"], e["end"], e["label"]) for e in doc["entities"]]
    spans += [(t["start"], t["end"], f"{t['label']}#{k}") for k, t in enumerate(doc["triggers"], 1)]
    opens: dict[int, list] = {}
    closes: dict[int, list] = {}
    for start, end, label in sorted(spans, key=lambda s: (s[0], -s[1])):
        opens.setdefault(start, []).append(end)
        closes.setdefault(end, []).append((start, label))
    out, text = [], doc["text"]
    for i in range(len(text) + 1):
        for _start, label in sorted(closes.get(i, []), key=lambda s: -s[0]):
            out.append("]{" + label + "}")
        out.extend("[" * len(opens.get(i, [])))
        if i < len(text):
            out.append(_escape(text[i]))
    return "".join(out)


def _keys(triggers) -> set[tuple]:
    return {
        (t.start, t.end, t.label, a.start, a.end, a.role)
        for t in triggers
        for a in t.arguments or ()
    }


def sample() -> None:
    """Write the blind input for the second annotator."""
    docs = _docs()
    chosen = sorted(random.Random(SEED).sample(range(len(docs)), round(SHARE * len(docs))))
    OUT.mkdir(exist_ok=True)
    lines = [f"# {docs[i]['id']}\n{blind_markup(docs[i])}" for i in chosen]
    (OUT / "blind.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = [json.dumps(docs[i], ensure_ascii=False) for i in chosen]
    (OUT / "first_pass.jsonl").write_text("\n".join(first) + "\n", encoding="utf-8")
    sys.stdout.write(f"{len(chosen)} documents -> {OUT / 'blind.txt'}\n")


def score() -> None:
    """Print the agreement table of the second pass against the corpus."""
    frozen = (OUT / "first_pass.jsonl").read_text("utf-8").splitlines()
    by_id = {d["id"]: d for d in map(json.loads, frozen)}
    lines = (OUT / "second_pass.txt").read_text("utf-8").splitlines()
    first, second = set(), set()
    n_docs = 0
    for header, markup in zip(lines[::2], lines[1::2], strict=True):
        doc = by_id[header.removeprefix("# ").strip()]
        text, _, triggers = parse_markup(markup)
        if text != doc["text"]:
            sys.exit(f"{doc['id']}: the second pass changed the text")
        n_docs += 1
        first |= {(doc["id"], *k) for k in _first_keys(doc)}
        second |= {(doc["id"], *k) for k in _keys(triggers)}
    rows = [("all (span and role)", first, second)]
    rows.append(("spans only", {k[:-1] for k in first}, {k[:-1] for k in second}))
    for role, _ in Counter(k[-1] for k in first).most_common():
        rows.append(
            (role, {k for k in first if k[-1] == role}, {k for k in second if k[-1] == role})
        )
    out = [f"{n_docs} documents; arguments: first pass {len(first)}, second pass {len(second)}"]
    out.append("| | first | second | agree | P | R | F1 |\n|---|---:|---:|---:|---:|---:|---:|")
    for name, a, b in rows:
        agree = len(a & b)
        p = agree / len(b) if b else 0.0
        r = agree / len(a) if a else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out.append(f"| {name} | {len(a)} | {len(b)} | {agree} | {p:.3f} | {r:.3f} | {f:.3f} |")
    sys.stdout.write("\n".join(out) + "\n")


def _first_keys(doc: dict) -> set[tuple]:
    return {
        (t["start"], t["end"], t["label"], a["start"], a["end"], a["role"])
        for t in doc["triggers"]
        for a in t.get("arguments") or ()
    }


if __name__ == "__main__":
    {"sample": sample, "score": score}[sys.argv[1] if len(sys.argv) > 1 else "score"]()
