"""AQMAR: the tiny model (through train.py) against a CRF baseline on real Arabic NER data.

    python benchmarks/aqmar.py                 # writes benchmarks/aqmar.md and aqmar.json
    python benchmarks/aqmar.py --epochs 30 --work-dir /tmp/aqmar

The corpus is ``../shared/data/aqmar/AQMAR_Arabic_NER_corpus-1.0.txt`` (CC BY-SA 3.0; never
copied into this repository). Without it the script prints why and exits 0.

1. Read the CoNLL file, repair the malformed tag lines by the explicit table
   ``REPAIRS`` (each line checked against its token and tag; any other malformed
   tag stops the run, naming its line), then turn every ``I-X`` that continues
   nothing into ``B-X`` (counted, listed). The project's own reader
   (``araevent.formats.read_documents(..., repair=True)``) runs on the raw file as a
   cross-check.
2. Split by sentence order: the first 80% train, the next 10% dev, the last 10% test.
3. Write the splits as CoNLL and train the tiny model with ``python train.py
   data=conll data.dir=... data.label_set=any`` (the code path users run).
4. Train a CRF (sklearn-crfsuite, L-BFGS) on word, affix, shape, neighbour and
   proclitic features; pick ``c1``/``c2`` on dev from a small grid.
5. Score both on test the same way: seqeval strict IOB2 over the corpus tokens (a
   predicted span covers every token it overlaps), and exact character spans with
   ``araevent.evaluation.score``; bootstrap intervals and a paired bootstrap test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ROOT, load_average, machine_info, measure_process  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "aqmar" / "AQMAR_Arabic_NER_corpus-1.0.txt"
TYPES = ("PER", "LOC", "ORG", "MIS0", "MIS1", "MIS2", "MIS3")  # the corpus README's types
SPLIT = (0.8, 0.9)  # train: sentences [0, 80%), dev: [80%, 90%), test: [90%, 100%)
C1_GRID = (0.0, 0.05, 0.2)
C2_GRID = (0.01, 0.1)
CRF_ITERATIONS = 150
DEFAULT_EPOCHS = 30
# torch threads for the tiny model's training: one, like crfsuite (single-threaded), so
# both systems get one core; on a shared 2-core machine a second OpenMP thread mostly
# waits for a core someone else holds (benchmarks/results.md, "Torch threads")
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class Repair:
    """One malformed tag line of AQMAR v1.0 and what it becomes."""

    line: int
    token: str
    tag: str
    new: str
    reason: str


# Every malformed line of the v1.0 file (README "Known defects"), decided from its context.
REPAIRS = (
    Repair(
        1554,
        "الإلكترونات",
        "B-MIS",
        "B-MIS1",
        "no class digit; the same word is B-MIS1 ten times in this article",
    ),
    Repair(
        12746,
        "الشمالي",
        "IO",
        "O",
        "not a tag; the previous token is O, so there is nothing to continue",
    ),
    Repair(19867, "الأمريكية", "I--ORG", "I-ORG", "doubled hyphen; continues B-ORG"),
    Repair(19995, "كرة", "B-MISS1", "B-MIS1", "typo; the next token is I-MIS1"),
    Repair(21849, "16", "OO", "O", "doubled O"),
    Repair(28876, "DNS", "B-MIS-2", "B-MIS2", "stray hyphen in the class name"),
    Repair(40667, "لجنو", "B-MIS-1", "B-MIS1", "stray hyphen in the class name"),
    Repair(40669, "لينكس", "B-MIS-1", "B-MIS1", "stray hyphen in the class name"),
    Repair(
        43850,
        "الرومانية",
        "B-MIS",
        "I-MIS0",
        "no class digit; continues «الأرقام» B-MIS0, tagged B-MIS0 I-MIS0 at line 43818",
    ),
    Repair(
        46531,
        "O",
        "B-ENGLISH",
        "B-MIS2",
        "a language note, not a class; the chemical symbols C and H beside it are B-MIS2",
    ),
    Repair(47503, "الكلاسيكية", "I-MIS", "I-MIS1", "no class digit; continues B-MIS1"),
    Repair(
        59094,
        "O'Donnell",
        "B-SPANISH",
        "B-LOC",
        "a language note, not a class; stadium names are LOC in this corpus (ملعب الفالادي)",
    ),
    Repair(67327, "AT", "B-MIS", "B-MIS1", "no class digit; the next tokens are I-MIS1"),
    Repair(70348, "الألعاب", "B-MIS1`", "B-MIS1", "stray backquote; the next token is I-MIS1"),
    Repair(75160, "ICCCM", "B-MIS-2", "B-MIS2", "stray hyphen in the class name"),
)


# --- reading and repairing -------------------------------------------------------------


@dataclass
class Token:
    line: int
    text: str
    raw_tag: str
    tag: str


def valid_tag(tag: str) -> bool:
    """``O`` or ``B-``/``I-`` one of the corpus README's types."""
    return tag == "O" or (tag[:2] in ("B-", "I-") and tag[2:] in TYPES)


def read_corpus(path: Path) -> tuple[list[list[Token]], dict[str, Any]]:
    """Sentences of repaired tokens, and what was repaired (every change counted)."""
    table = {r.line: r for r in REPAIRS}
    sentences: list[list[Token]] = []
    cur: list[Token] = []
    applied: list[Repair] = []
    for n, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        fields = raw.split()
        if not fields:
            if cur:
                sentences.append(cur)
                cur = []
            continue
        if len(fields) != 2:
            raise SystemExit(f"{path}:{n}: expected 'token TAG', got {raw!r}")
        token, tag = fields
        new = tag
        if not valid_tag(tag):
            r = table.get(n)
            if r is None or (r.token, r.tag) != (token, tag):
                raise SystemExit(
                    f"{path}:{n}: malformed tag {tag!r} on {token!r} with no repair in "
                    "benchmarks/aqmar.py REPAIRS (is this AQMAR v1.0?)"
                )
            new = r.new
            applied.append(r)
        cur.append(Token(n, token, tag, new))
    if cur:
        sentences.append(cur)
    missing = [r for r in REPAIRS if r not in applied]
    if missing:
        raise SystemExit(f"{path}: repairs for lines {[r.line for r in missing]} did not apply")
    orphans = []
    for sent in sentences:
        prev = "O"
        for tok in sent:
            if tok.tag.startswith("I-") and prev[2:] != tok.tag[2:]:
                orphans.append((tok.line, tok.text, prev, tok.tag))
                tok.tag = "B-" + tok.tag[2:]
            prev = tok.tag
    info = {
        "sentences": len(sentences),
        "tokens": sum(len(s) for s in sentences),
        "table_repairs": len(applied),
        "orphan_i_to_b": len(orphans),
        "orphans": orphans,
        "orphans_by_type": dict(Counter(o[3][2:] for o in orphans)),
    }
    return sentences, info


def project_reader_check(path: Path) -> dict[str, Any]:
    """What ``araevent.formats.read_documents(..., repair=True)`` reports on the raw file."""
    from araevent.formats import read_documents

    r = read_documents(
        path, fmt="conll", label_set=None, nested="error", conll_layers=("entities",), repair=True
    )
    labels = Counter(s.label for d in r.documents for s in d.entities)
    return {
        "documents": len(r.documents),
        "errors": [str(e) for e in r.errors],
        "stats": dict(r.stats),
        "labels_outside_types": {k: v for k, v in labels.items() if k not in TYPES},
    }


def split(sentences: list[list[Token]]) -> dict[str, list[list[Token]]]:
    """The fixed split by sentence order."""
    n = len(sentences)
    a, b = int(SPLIT[0] * n), int(SPLIT[1] * n)
    return {"train": sentences[:a], "dev": sentences[a:b], "test": sentences[b:]}


def write_conll(path: Path, sentences: list[list[Token]]) -> None:
    """``token TAG`` lines, a blank line after each sentence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join("".join(f"{t.text} {t.tag}\n" for t in s) + "\n" for s in sentences)
    path.write_text(text, "utf-8")


def spans_of(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(first, last, type)`` of a well-formed IOB2 sequence."""
    out, cur = [], None
    for i, t in enumerate(tags + ["O"]):
        if cur and not (t.startswith("I-") and t[2:] == cur[2]):
            out.append(cur)
            cur = None
        if t.startswith("B-") or (t.startswith("I-") and cur is None):
            cur = [i, i, t[2:]]
        elif cur:
            cur[1] = i
    return [tuple(c) for c in out]


# --- documents, units, scoring ---------------------------------------------------------


def documents(sentences: list[list[Token]], prefix: str):
    """Each sentence as an araevent document (tokens joined by one space) and its token units."""
    from araevent.schema import Document, Span
    from araevent.text import Unit

    docs, units = [], []
    for k, sent in enumerate(sentences):
        starts, pos = [], 0
        for t in sent:
            starts.append(pos)
            pos += len(t.text) + 1
        text = " ".join(t.text for t in sent)
        ents = [
            Span(starts[a], starts[b] + len(sent[b].text), label)
            for a, b, label in spans_of([t.tag for t in sent])
        ]
        docs.append(Document(f"{prefix}-{k + 1}", text, ents, []))
        units.append([Unit(s, s + len(t.text), t.text) for s, t in zip(starts, sent, strict=True)])
    return docs, units


def to_token_spans(spans, units) -> tuple[list, int]:
    """Each predicted span widened to the tokens it overlaps; counts spans not on token edges."""
    from araevent.schema import Span

    out, off = [], 0
    taken: set[int] = set()
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        idx = [i for i, u in enumerate(units) if u.start < s.end and s.start < u.end]
        if not idx:
            continue
        a, b = idx[0], idx[-1]
        if units[a].start != s.start or units[b].end != s.end:
            off += 1
        if taken.intersection(range(a, b + 1)):
            continue  # two predictions in one token: the first one keeps it
        taken.update(range(a, b + 1))
        out.append(Span(units[a].start, units[b].end, s.label, s.score))
    return out, off


def evaluate_system(name: str, gold, units, pred_spans: list[list]) -> dict[str, Any]:
    """seqeval strict on corpus tokens and exact character spans, the same for every system."""
    from araevent.evaluation import score

    projected, off = [], 0
    for spans, us in zip(pred_spans, units, strict=True):
        p, o = to_token_spans(spans, us)
        projected.append(p)
        off += o
    tokens = score(gold, [{"entities": p} for p in projected], units, prefix="test")
    chars = score(gold, [{"entities": p} for p in pred_spans], units, prefix="test")
    mt, mc = tokens.metrics, chars.metrics
    strict = "test/entities/seqeval_strict"
    span = "test/entities/span"
    return {
        "system": name,
        "token_strict": {
            k: round(mt[f"{strict}/{k}"], 4)
            for k in ("precision", "recall", "f1", "f1_ci_low", "f1_ci_high", "macro_f1")
        },
        "char_span": {
            k: round(mc[f"{span}/{k}"], 4)
            for k in ("precision", "recall", "f1", "f1_ci_low", "f1_ci_high", "macro_f1")
        },
        "token_strict_per_type": {
            t: round(v["f1"], 4) for t, v in tokens.per_type["entities"]["seqeval_strict"].items()
        },
        "predicted_spans_off_token_edges": off,
        "_rows": tokens.doc_counts["entities/seqeval_strict"],
        "_char_rows": chars.doc_counts["entities"],
    }


def token_f1(gold_sents: list[list[Token]], pred_tags: list[list[str]]) -> float:
    """seqeval strict micro F1 over token tag sequences (model selection on dev)."""
    from araevent.evaluation import seqeval_scores

    return seqeval_scores([[t.tag for t in s] for s in gold_sents], pred_tags, True)["micro"]["f1"]


# --- the tiny model --------------------------------------------------------------------


def train_tiny(work: Path, epochs: int, extra: list[str], threads: int | None) -> dict[str, Any]:
    """``python train.py data=conll`` on the written splits, in a subprocess.

    ``threads`` sets ``OMP_NUM_THREADS``: one thread, like the CRF, by default.
    """
    run_dir = work / "tiny-run"
    overrides = [
        "data=conll",
        f"data.dir={work / 'data'}",
        "data.label_set=any",
        f"trainer.epochs={epochs}",
        *extra,
    ]
    cmd = [sys.executable, "train.py", f"hydra.run.dir={run_dir}", *overrides]
    env = {"OMP_NUM_THREADS": str(threads)} if threads else None
    proc = measure_process(cmd, work / "tiny-train.out", timeout_s=3 * 3600, env=env)
    if proc["returncode"] != 0:
        tail = Path(proc["log"]).read_text("utf-8", "replace")[-3000:]
        raise SystemExit(f"train.py failed (exit {proc['returncode']}):\n{tail}")
    metrics = json.loads((run_dir / "metrics.json").read_text("utf-8"))
    run = metrics.get("run", {})
    return {
        "command": (f"OMP_NUM_THREADS={threads} " if threads else "")
        + "python train.py "
        + " ".join(o.replace(str(work), "$WORK") for o in overrides),
        "threads": threads,
        "run_dir": str(run_dir),
        "wall_s": proc["wall_s"],
        "peak_rss_mb": proc["peak_rss_mb"],
        "global_steps": run.get("global_steps"),
        "steps_per_epoch": run.get("steps_per_epoch"),
        "best_dev_strict_f1_units": run.get("best_dev_strict_f1"),
        "train_runtime_s": run.get("train_runtime_s"),
        "train_features": run.get("train_features"),
        "test_units_strict_f1": metrics.get("test/entities/seqeval_strict/f1"),
        "test_span_f1_run": metrics.get("test/entities/span/f1"),
    }


def predict_tiny(run_dir: str, docs) -> list[list]:
    """Predicted entity spans of each document from the trained model folder."""
    from araevent.predict import Extractor

    ex = Extractor.from_pretrained(Path(run_dir) / "model")
    preds = ex.predictor.predict_texts([d.text for d in docs])
    return [p.spans["entities"] for p in preds]


# --- the CRF baseline ------------------------------------------------------------------


def _shape(w: str) -> str:
    out = []
    for c in w:
        k = (
            "d"
            if c.isdigit()
            else "a"
            if "\u0600" <= c <= "\u06ff"
            else "L"
            if c.isalpha()
            else "p"
        )
        if not out or out[-1] != k:
            out.append(k)
    return "".join(out)


class Featurizer:
    """Word, affix, shape, neighbour and proclitic features of each token.

    The proclitic split is araevent's rule (``text.proclitic_lengths``) with the
    shipped known words plus the training entities' words, so «وروسيا» gives the
    stem «روسيا» and the proclitic «و»; normalisation is the tiny model's.
    """

    def __init__(self, known) -> None:
        from araevent.text import Normalization

        self.known = known
        self.norm = Normalization()

    def token(self, w: str) -> dict[str, Any]:
        from araevent.text import proclitic_lengths

        n = self.norm(w)
        cuts = len(proclitic_lengths(w, self.known))
        stem = n[cuts:] if cuts < len(n) else n
        has_al = stem.startswith("ال")
        core = stem[2:] if has_al and len(stem) > 3 else stem
        return {
            "w": n,
            "stem": stem,
            "core": core,
            "pro": n[:cuts],
            "al": has_al,
            "p2": core[:2],
            "p3": core[:3],
            "s1": stem[-1:],
            "s2": stem[-2:],
            "s3": stem[-3:],
            "shape": _shape(w),
            "len": min(len(stem), 10),
            "known": stem in self.known,
        }

    def sentence(self, words: list[str]) -> list[dict[str, Any]]:
        base = [self.token(w) for w in words]
        feats = []
        for i, b in enumerate(base):
            f: dict[str, Any] = {"bias": 1.0}
            f.update({f"0:{k}": v for k, v in b.items()})
            for off in (-2, -1, 1, 2):
                j = i + off
                if 0 <= j < len(base):
                    nb = base[j]
                    for k in ("w", "stem", "s2", "al", "shape"):
                        f[f"{off}:{k}"] = nb[k]
                    if abs(off) == 1:
                        f[f"{off}:pro"] = nb["pro"]
                        f[f"{off}:core"] = nb["core"]
                else:
                    f[f"{off}:edge"] = True
            if i > 0:
                f["-1|0:stem"] = f"{base[i - 1]['stem']}|{b['stem']}"
            if i + 1 < len(base):
                f["0|+1:stem"] = f"{b['stem']}|{base[i + 1]['stem']}"
            feats.append(f)
        return feats


def train_crf(parts: dict[str, list[list[Token]]], known, quick: bool) -> dict[str, Any]:
    """Fit the grid on train, pick c1/c2 by dev strict F1, predict test."""
    import sklearn_crfsuite

    fz = Featurizer(known)
    X = {k: [fz.sentence([t.text for t in s]) for s in v] for k, v in parts.items()}
    Y = {k: [[t.tag for t in s] for s in v] for k, v in parts.items()}
    grid = [(c1, c2) for c1 in C1_GRID for c2 in C2_GRID]
    iters = 20 if quick else CRF_ITERATIONS
    if quick:
        grid = grid[:1]
    results, best = [], None
    for c1, c2 in grid:
        start = time.perf_counter()
        crf = sklearn_crfsuite.CRF(
            algorithm="lbfgs",
            c1=c1,
            c2=c2,
            max_iterations=iters,
            all_possible_transitions=True,
        )
        crf.fit(X["train"], Y["train"])
        f1 = token_f1(parts["dev"], crf.predict(X["dev"]))
        row = {
            "c1": c1,
            "c2": c2,
            "dev_strict_f1": round(f1, 4),
            "fit_s": round(time.perf_counter() - start, 1),
        }
        results.append(row)
        print(f"CRF c1={c1} c2={c2}: dev strict F1 {f1:.4f} ({row['fit_s']} s)", flush=True)
        if best is None or f1 > best[0]:
            best = (f1, crf, row)
    assert best is not None
    _, crf, row = best
    return {
        "grid": results,
        "chosen": row,
        "max_iterations": iters,
        "features": len(crf.state_features_),
        "test_tags": crf.predict(X["test"]),
    }


def tags_to_spans(tags: list[str], units) -> list:
    from araevent.schema import Span

    return [Span(units[a].start, units[b].end, label) for a, b, label in spans_of(list(tags))]


# --- report ----------------------------------------------------------------------------


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(x) for x in r) + " |" for r in rows])


def _f(x: float) -> str:
    return f"{100 * x:.1f}"


def _r(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _code(s: str) -> str:
    """A markdown code span that survives a backquote inside ``s``."""
    return f"`` {s} ``" if "`" in s else f"`{s}`"


def _prf(x: dict[str, float]) -> str:
    ci = f"({_f(x['f1_ci_low'])}–{_f(x['f1_ci_high'])})"
    return f"{_f(x['precision'])} / {_f(x['recall'])} / **{_f(x['f1'])}** {ci}"


def _reader_errors(errors: list[str]) -> str:
    """``line tag`` of each error the project's reader named."""
    out = []
    for e in errors:
        where = e.split(": ", 1)[0].rsplit(":", 1)[-1]
        tag = e.split("malformed tag ")[-1].split(" ")[0] if "malformed tag" in e else "?"
        out.append(f"line {where} {tag}")
    return "; ".join(out)


def render(res: dict[str, Any]) -> str:
    """aqmar.md."""
    m = res["machine"]
    corpus = res["corpus"]
    lines = [
        "# AQMAR: tiny model against a CRF",
        "",
        f"Written by `benchmarks/aqmar.py` on {res['created']}; measured on a shared 2-core "
        f"machine ({m['cpu']}, the tiny model trained with "
        f"{res['tiny'].get('threads') or 'the default number of'} torch thread(s), torch "
        f"{m['versions']['torch']}, transformers {m['versions']['transformers']}, "
        f"sklearn-crfsuite {m['versions']['sklearn-crfsuite']}) while other people's jobs ran "
        f"(load average {res['load_average']}), so times are indicative.",
        "",
        "## Data",
        "",
        f"`../shared/data/aqmar/{CORPUS.name}` (AQMAR Arabic Wikipedia NER v1.0, CC BY-SA 3.0; "
        f"not copied into this repository): {corpus['sentences']} sentences, "
        f"{corpus['tokens']} tokens, types {', '.join(TYPES)}. Split by sentence order: the "
        "first 80% train, the next 10% dev, the last 10% test (the corpus is 28 articles in "
        "order, so dev and test are mostly articles not seen in training).",
        "",
        _table(
            ["split", "sentences", "tokens", "entities", *TYPES],
            [
                [
                    k,
                    v["sentences"],
                    v["tokens"],
                    v["entities"],
                    *[v["types"].get(t, 0) for t in TYPES],
                ]
                for k, v in res["splits"].items()
            ],
        ),
        "",
        "## Tag repairs",
        "",
        f"{corpus['table_repairs']} malformed tag lines, each repaired by an explicit table "
        "entry in `benchmarks/aqmar.py` (`REPAIRS`; the line's token and tag are checked, "
        "any other malformed tag stops the run):",
        "",
        _table(
            ["line", "token", "tag", "becomes", "why"],
            [
                [r["line"], r["token"], _code(r["tag"]), _code(r["new"]), r["reason"]]
                for r in res["repairs"]
            ],
        ),
        "",
        "By original tag: "
        + ", ".join(
            f"{_code(k)} ×{v['count']} → " + " or ".join(_code(x) for x in v["new"])
            for k, v in res["repair_counts"].items()
        )
        + ".",
        "",
        f"Then every `I-X` that continues nothing became `B-X`: **{corpus['orphan_i_to_b']}** "
        f"tags ({', '.join(f'{k} {v}' for k, v in sorted(corpus['orphans_by_type'].items()))}); "
        f"lines: {', '.join(str(o[0]) for o in corpus['orphans'])}.",
        "",
        "Cross-check with the project's reader, `read_documents(path, fmt='conll', "
        f"label_set=None, repair=True)` on the raw file: "
        f"{res['reader']['stats'].get('repaired_i')} `I-` tags repaired, "
        f"{len(res['reader']['errors'])} errors named by line "
        f"({_reader_errors(res['reader']['errors'])}); "
        "labels it accepts that are not AQMAR types: "
        + ", ".join(f"`{k}` ×{v}" for k, v in res["reader"]["labels_outside_types"].items())
        + " (syntactically valid names; `label_set=None` allows any, so only a type list "
        "catches them). Its orphan count is higher than ours because it runs before the "
        "table repairs (an `I-MIS1` after `B-MISS1` is an orphan there).",
        "",
        "## Results (test)",
        "",
        "Both systems are scored the same way: **seqeval strict IOB2 over the corpus tokens** "
        "(a predicted span tags every token it overlaps, first B- then I-), and **exact "
        "character spans** with `araevent.evaluation.score` (tokens joined by one space are "
        "the text). 95% intervals: bootstrap over sentences (1,000 resamples).",
        "",
    ]
    rows = []
    for s in res["systems"]:
        t, c = s["token_strict"], s["char_span"]
        rows.append(
            [
                s["system"],
                _f(s["dev_strict_f1"]),
                _prf(t),
                _f(t["macro_f1"]),
                _prf(c),
                s["predicted_spans_off_token_edges"],
                s["train_time"],
            ]
        )
    lines += [
        _table(
            [
                "system",
                "dev strict F1",
                "test strict P / R / F1 (95% CI), tokens",
                "macro F1",
                "test char-span P / R / F1 (95% CI)",
                "pred. spans off token edges",
                "training",
            ],
            rows,
        ),
        "",
        _table(
            ["type", *[s["system"] for s in res["systems"]]],
            [
                [t, *[_f(s["token_strict_per_type"].get(t, 0.0)) for s in res["systems"]]]
                for t in TYPES
            ],
        ),
        "",
    ]
    pb = res["paired"]
    lines += [
        f"Paired bootstrap (token strict F1, tiny − CRF): Δ = {100 * pb['delta']:+.1f} points, "
        f"95% interval {100 * pb['delta_ci_low']:+.1f} to {100 * pb['delta_ci_high']:+.1f}, "
        f"p = {pb['p_value']:.3f}.",
        "",
        "### How each was trained",
        "",
        f"- tiny: `{res['tiny']['command']}` — {res['tiny']['global_steps']} steps "
        f"({res['tiny']['steps_per_epoch']} per epoch), best dev strict F1 over araevent units "
        f"{_r(res['tiny']['best_dev_strict_f1_units'])}, wall {res['tiny']['wall_s']} s, peak RSS "
        f"{res['tiny']['peak_rss_mb']} MB. The run's own test report (over araevent units) "
        f"gives strict F1 {_r(res['tiny']['test_units_strict_f1'])}.",
        f"- CRF: sklearn-crfsuite L-BFGS, {res['crf']['max_iterations']} iterations, "
        f"{res['crf']['features']} state features; grid c1 ∈ {list(C1_GRID)}, c2 ∈ "
        f"{list(C2_GRID)} on dev: "
        + ", ".join(f"({g['c1']}, {g['c2']}) {_f(g['dev_strict_f1'])}" for g in res["crf"]["grid"])
        + f"; chosen c1={res['crf']['chosen']['c1']}, c2={res['crf']['chosen']['c2']}.",
    ]
    if res.get("analysis"):
        lines += ["", "## Verdict", "", res["analysis"]]
    return "\n".join(lines) + "\n"


# --- entry point -----------------------------------------------------------------------


def run_aqmar(
    out_dir: Path,
    *,
    epochs: int = DEFAULT_EPOCHS,
    work_dir: Path | None = None,
    quick: bool = False,
    train_overrides: list[str] | None = None,
    analysis: str | None = None,
    threads: int | None = DEFAULT_THREADS,
) -> dict[str, Any] | None:
    """Everything above; returns the results (``None`` when the corpus is absent)."""
    if not CORPUS.is_file():
        print(
            f"skipped: {CORPUS} is absent (the AQMAR corpus lives in ../shared, next to the "
            "checkout; it is not part of this repository)"
        )
        return None
    from araevent.text import KnownWords

    cleanup = None
    if work_dir is None:
        cleanup = tempfile.TemporaryDirectory(prefix="araevent-aqmar-")
        work_dir = Path(cleanup.name)
    work = Path(work_dir)
    sentences, corpus = read_corpus(CORPUS)
    parts = split(sentences)
    if quick:
        parts = {k: v[:40] for k, v in parts.items()}
    for name, sents in parts.items():
        write_conll(work / "data" / f"{name}.conll", sents)
    splits_info = {}
    for name, sents in parts.items():
        ents = [sp for s in sents for sp in spans_of([t.tag for t in s])]
        splits_info[name] = {
            "sentences": len(sents),
            "tokens": sum(len(s) for s in sents),
            "entities": len(ents),
            "types": dict(Counter(e[2] for e in ents)),
            "first_line": sents[0][0].line,
        }
    counts: dict[str, dict[str, Any]] = {}
    for r in REPAIRS:
        c = counts.setdefault(r.tag, {"new": [], "count": 0})
        if r.new not in c["new"]:
            c["new"].append(r.new)
        c["count"] += 1
    res: dict[str, Any] = {
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "quick": quick,
        "corpus": corpus,
        "repairs": [r.__dict__ for r in REPAIRS],
        "repair_counts": counts,
        "reader": project_reader_check(CORPUS),
        "splits": splits_info,
    }
    overrides = list(train_overrides or [])
    if quick:
        overrides += ["debug=tiny", "trainer.max_steps=3"]
    print(f"training the tiny model ({epochs} epochs) ...", flush=True)
    res["tiny"] = train_tiny(work, epochs, overrides, threads)
    gold, units = documents(parts["test"], "test")
    dev_gold, dev_units = documents(parts["dev"], "dev")
    tiny_pred = predict_tiny(res["tiny"]["run_dir"], gold)
    tiny_dev = predict_tiny(res["tiny"]["run_dir"], dev_gold)
    tiny_dev_tags = []
    for spans, us in zip(tiny_dev, dev_units, strict=True):
        from araevent.tagging import spans_to_tags

        projected, _ = to_token_spans(spans, us)
        tiny_dev_tags.append(spans_to_tags(us, projected)[0])
    tiny_eval = evaluate_system("tiny (train.py)", gold, units, tiny_pred)
    tiny_eval["dev_strict_f1"] = token_f1(parts["dev"], tiny_dev_tags)
    tiny_eval["train_time"] = f"{res['tiny']['wall_s']:.0f} s"

    print("training the CRF grid ...", flush=True)
    train_docs, _ = documents(parts["train"], "train")
    from araevent.text import span_vocabulary

    known = KnownWords.shipped().union(span_vocabulary(train_docs))
    start = time.perf_counter()
    crf = train_crf(parts, known, quick)
    crf_wall = time.perf_counter() - start
    crf_pred = [tags_to_spans(t, u) for t, u in zip(crf.pop("test_tags"), units, strict=True)]
    crf_eval = evaluate_system("CRF", gold, units, crf_pred)
    crf_eval["dev_strict_f1"] = crf["chosen"]["dev_strict_f1"]
    crf_eval["train_time"] = f"{crf_wall:.0f} s (grid of {len(crf['grid'])})"
    crf["grid_wall_s"] = round(crf_wall, 1)
    res["crf"] = crf

    from araevent.bootstrap import paired_bootstrap

    res["paired"] = paired_bootstrap(tiny_eval["_rows"], crf_eval["_rows"], 1000, 0)
    res["paired_char"] = paired_bootstrap(tiny_eval["_char_rows"], crf_eval["_char_rows"], 1000, 0)
    for s in (tiny_eval, crf_eval):
        s.pop("_rows")
        s.pop("_char_rows")
    res["systems"] = [tiny_eval, crf_eval]
    res["load_average"] = load_average()
    if analysis:
        res["analysis"] = analysis
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "aqmar.json").write_text(
        json.dumps(res, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    (out_dir / "aqmar.md").write_text(render(res), "utf-8")
    if cleanup is not None:
        cleanup.cleanup()
    return res


# --- training speed against the Hugging Face recipe --------------------------------------

VS_RUN_NER_EPOCHS = 3
# araevent's side: the tiny model, no dev scoring per epoch (the last epoch is the model,
# dev scored once at the end, as the baseline), no test scoring, no argument model
VS_RUN_NER_OVERRIDES = (
    "data=conll",
    "data.label_set=any",
    "model=tiny",
    "trainer.eval_every=0",
    "trainer.final_bootstrap=0",
    "test=false",
    "arguments=false",
)


# where Trainer.train's time goes: (name, pstats pattern of the function); each the
# cumulative time of its calls inside the training loop
PROFILE_PARTS = (
    ("Trainer.train", "trainer.py", "train"),
    ("training_step", "trainer.py", "training_step"),
    ("forward and loss", "trainer.py", "compute_loss"),
    ("backward", "accelerator.py", "backward"),
    ("dropout", "functional.py", "dropout"),
    ("batches (fetch, collate)", "trainer.py", "get_batch_samples"),
    ("clip grad norm", "trainer.py", "_clip_grad_norm"),
    ("optimizer and scheduler step", "lr_scheduler.py", "wrapper"),
    ("log, save, evaluate", "trainer.py", "_maybe_log_save_evaluate"),
)


def training_profile(prof: Path, tokens: int) -> dict[str, Any]:
    """Seconds (under cProfile) of the training loop's parts, and per 1,000 tokens."""
    import pstats

    stats = pstats.Stats(str(prof)).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    seconds = {
        label: sum(v[3] for (f, _, n), v in stats.items() if n == name and f.endswith(file))
        for label, file, name in PROFILE_PARTS
    }
    seconds["outside training_step"] = seconds["Trainer.train"] - seconds["training_step"]
    parts = {
        label: {"seconds": round(s, 3), "ms_per_1000_tokens": round(1e6 * s / tokens, 3)}
        for label, s in seconds.items()
    }
    return {"tokens": tokens, "parts": parts}


def write_splits(data: Path) -> Path:
    """The AQMAR train/dev/test splits as CoNLL files in ``data`` (kept when already there)."""
    if not (data / "train.conll").is_file():
        for name, sents in split(read_corpus(CORPUS)[0]).items():
            write_conll(data / f"{name}.conll", sents)
    return data


def train_command(system: str, out: Path, data: Path, epochs: int) -> list[str]:
    """The command of one training run: araevent's ``train.py`` or the run_ner recipe."""
    if system == "araevent":
        overrides = [*VS_RUN_NER_OVERRIDES, f"data.dir={data}", f"trainer.epochs={epochs}"]
        return [sys.executable, "train.py", f"hydra.run.dir={out}", *overrides]
    return [
        sys.executable,
        str(ROOT / "benchmarks" / "run_ner_baseline.py"),
        f"--data-dir={data}",
        f"--out={out}",
        f"--epochs={epochs}",
    ]


def training_vs_run_ner(
    work: Path, reps: int = 3, epochs: int = VS_RUN_NER_EPOCHS, threads: int | None = None
) -> dict[str, Any]:
    """``train.py`` against ``run_ner_baseline.py`` on the AQMAR splits, alternated.

    Both train the tiny-shaped model for ``epochs`` epochs at the same batch size with
    ``group_by_length`` and score dev once at the end, each in its own process.
    Measured per run: the process's wall time, and non-padding tokens per second of
    ``Trainer.train`` (each system's own subwords, specials included, times the epochs,
    over its ``train_runtime``). Ratios are araevent over the baseline: tokens/s
    (higher is better) and wall time (lower is better). Then one more run of each
    under cProfile: where ``Trainer.train``'s time goes (:func:`training_profile`).
    """
    data = write_splits(work / "data")
    env = {"OMP_NUM_THREADS": str(threads)} if threads else None
    runs: dict[str, list[dict[str, Any]]] = {"araevent": [], "run_ner": []}
    for r in range(reps):
        order = ("araevent", "run_ner") if r % 2 == 0 else ("run_ner", "araevent")
        for system in order:
            out = work / f"{system}-{r}"
            cmd = train_command(system, out, data, epochs)
            load = load_average()
            proc = measure_process(cmd, work / f"{system}-{r}.out", env=env)
            if proc["returncode"] != 0:
                tail = Path(proc["log"]).read_text("utf-8", "replace")[-3000:]
                raise RuntimeError(f"{system} failed (exit {proc['returncode']}):\n{tail}")
            if system == "araevent":
                info = json.loads((out / "metrics.json").read_text("utf-8"))["run"]
                tokens = info["train_features"]["non_padding_tokens"]
                runtime = info["train_runtime_s"]
                steps = info["global_steps"]
            else:
                info = json.loads((out / "baseline.json").read_text("utf-8"))
                tokens = info["non_padding_tokens_per_epoch"]
                runtime, steps = info["train_runtime_s"], info["global_steps"]
            runs[system].append(
                {
                    "wall_s": proc["wall_s"],
                    "cpu_s": proc["cpu_s"],
                    "train_runtime_s": runtime,
                    "non_padding_tokens_per_epoch": tokens,
                    "non_padding_tokens_per_s": round(tokens * epochs / runtime, 1),
                    "global_steps": steps,
                    "load_average_before": load,
                }
            )
    med = {
        system: {
            k: round(statistics.median(x[k] for x in rs), 2)
            for k in ("wall_s", "cpu_s", "train_runtime_s", "non_padding_tokens_per_s")
        }
        for system, rs in runs.items()
    }
    profile = {}
    for system in ("araevent", "run_ner"):  # one more run each, under cProfile
        out, prof = work / f"{system}-profile", work / f"{system}.prof"
        script = train_command(system, out, data, epochs)[1:]
        cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), *script]
        proc = measure_process(cmd, work / f"{system}-profile.out", env=env)
        if proc["returncode"] != 0:
            raise RuntimeError(f"{system} (profiled) failed (exit {proc['returncode']})")
        tokens = runs[system][0]["non_padding_tokens_per_epoch"] * epochs
        profile[system] = training_profile(prof, tokens)
    a, b = med["araevent"], med["run_ner"]
    tps = "non_padding_tokens_per_s"
    return {
        "epochs": epochs,
        "reps": reps,
        "threads": threads,
        "araevent_command": "python train.py "
        + " ".join(VS_RUN_NER_OVERRIDES)
        + f" data.dir=$WORK/data trainer.epochs={epochs}",
        "baseline_command": "python benchmarks/run_ner_baseline.py --data-dir $WORK/data "
        f"--out $WORK/run --epochs {epochs}",
        "runs": runs,
        "median": med,
        "profile": profile,
        "tokens_per_s_ratio": round(a[tps] / b[tps], 3),
        "wall_ratio": round(a["wall_s"] / b["wall_s"], 3),
        "targets": {"tokens_per_s_ratio_min": 1.1, "wall_ratio_max": 1.1},
        "load_average_end": load_average(),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="train.py trainer.epochs")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent), help="output folder")
    ap.add_argument("--work-dir", default=None, help="keep the splits and the run folder here")
    ap.add_argument("--quick", action="store_true", help="40 sentences per split, 3 steps")
    ap.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help="OMP_NUM_THREADS for train.py (0: unset)",
    )
    ap.add_argument("--analysis", default=None, help="a markdown file appended as the verdict")
    ap.add_argument("overrides", nargs="*", help="extra train.py overrides (key=value)")
    ap.add_argument(
        "--render", action="store_true", help="rewrite aqmar.md from --out's aqmar.json only"
    )
    ap.add_argument(
        "--vs-run-ner",
        type=int,
        default=0,
        metavar="REPS",
        help="only the training speed against run_ner_baseline.py, REPS alternated runs",
    )
    a = ap.parse_args(argv)
    if a.vs_run_ner:
        work = Path(a.work_dir or tempfile.mkdtemp(prefix="araevent-vs-run-ner-"))
        res = training_vs_run_ner(work, a.vs_run_ner, threads=a.threads or None)
        (Path(a.out) / "training_vs_run_ner.json").write_text(json.dumps(res, indent=1) + "\n")
        print(json.dumps({k: res[k] for k in ("median", "tokens_per_s_ratio", "wall_ratio")}))
        return
    analysis = Path(a.analysis).read_text("utf-8") if a.analysis else None
    if a.render:
        res = json.loads((Path(a.out) / "aqmar.json").read_text("utf-8"))
        if analysis:
            res["analysis"] = analysis
            (Path(a.out) / "aqmar.json").write_text(
                json.dumps(res, indent=2, ensure_ascii=False) + "\n", "utf-8"
            )
        (Path(a.out) / "aqmar.md").write_text(render(res), "utf-8")
        print(f"rewrote {Path(a.out) / 'aqmar.md'}")
        return
    res = run_aqmar(
        Path(a.out),
        epochs=a.epochs,
        work_dir=Path(a.work_dir) if a.work_dir else None,
        quick=a.quick,
        train_overrides=a.overrides,
        analysis=analysis,
        threads=a.threads or None,
    )
    if res:
        for s in res["systems"]:
            print(
                f"{s['system']}: token strict F1 {s['token_strict']['f1']:.4f}, "
                f"char span F1 {s['char_span']['f1']:.4f}"
            )


if __name__ == "__main__":
    main()
