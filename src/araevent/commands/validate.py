"""Check data files against the schema and the span pipeline, and print statistics.

Reads JSONL, CoNLL or brat (by extension unless --format says; a Label Studio
export with --format labelstudio), then splits every document into units and
tags it exactly as training will. The table (stdout) counts documents, units,
spans per layer and label, arguments per role, spans and arguments off unit
boundaries,
entity/trigger collisions, nested spans (and those the IOB2 tags cannot hold),
units with nothing left after normalisation (fed to the model as [UNK]) and the
longest document. Every problem goes to stderr as
`path:line: doc-id: what is wrong (how to fix)`. A file with no document is an
error. Properly nested spans of one layer are valid (--nested keep, the
default); crossing spans are an error. With --model RUN the units are the
model's own (its known_words.txt), so a dev or test span that the model can
never predict is reported as off unit boundaries.

Exit status: 0 clean, 1 data errors (or spans or arguments off unit boundaries),
2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from araevent.errors import UsageError
from araevent.formats import (
    BRAT_NAMES,
    FORMATS,
    ReadResult,
    count_arguments,
    read_labelstudio,
    read_many,
)
from araevent.labels import LAYERS, PRESETS, get_label_set
from araevent.modeling import resolve_model_dir
from araevent.schema import DEFAULT_NESTED, NESTED_POLICIES, Document
from araevent.tagging import UnitAlignment, tag_document
from araevent.text import KNOWN_WORDS_FILE, KnownWords, Normalization, span_vocabulary
from araevent.writing import document_units

READ_FORMATS = (*FORMATS, "labelstudio")
OFF_BOUNDARY_FIX = (
    "move the span to unit edges: units are words split at whitespace and punctuation, "
    "with proclitics split off by the rule in README"
)


def add_reading_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``validate`` and ``convert`` for reading data."""
    parser.add_argument(
        "--format",
        "--from",
        dest="format",
        choices=READ_FORMATS,
        help="input format (default: from the file extension; a folder is brat, a .json "
        "file holding a list is a Label Studio JSON export)",
    )
    parser.add_argument(
        "--labels",
        default="any",
        choices=sorted(PRESETS),
        help="label-set preset the labels must belong to (default: any)",
    )
    parser.add_argument(
        "--layers",
        nargs="+",
        choices=LAYERS,
        metavar="LAYER",
        help="layers to read (default: both); for CoNLL, the layer of each "
        "tag column in order (default: one column is entities)",
    )
    parser.add_argument(
        "--nested",
        default=DEFAULT_NESTED,
        choices=NESTED_POLICIES,
        help="overlapping spans in one layer: keep (default: nested spans are valid, "
        "crossing ones an error), error (any overlap), or keep the outer/inner one "
        "and count the dropped",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="CoNLL: turn I- tags that continue nothing into B- (counted)",
    )
    parser.add_argument(
        "--known-words",
        type=Path,
        metavar="FILE",
        help="extra known words (one per line) for the proclitic split",
    )


def read_inputs(args: argparse.Namespace, paths: list[Path]) -> ReadResult:
    """Read ``paths`` with the reading options in ``args``.

    Raises:
        UsageError: a path does not exist.
    """
    for p in paths:
        if not p.exists():
            raise UsageError(f"no such file or folder: {p}")
    layers = tuple(args.layers) if args.layers else LAYERS
    if args.format == "labelstudio" or (
        args.format is None and all(is_labelstudio_export(p) for p in paths)
    ):
        return _read_labelstudio(args, paths, layers)
    return read_many(
        paths,
        args.format,
        label_set=get_label_set(args.labels),
        nested=args.nested,
        layers=layers,
        conll_layers=layers if args.layers else None,
        repair=args.repair,
    )


def is_labelstudio_export(path: Path) -> bool:
    """Whether ``path`` is a ``.json`` file holding a JSON list (a JSONL line is an object)."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as f:
        head = f.read(64).removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"[")


def _read_labelstudio(
    args: argparse.Namespace, paths: list[Path], layers: tuple[str, ...]
) -> ReadResult:
    """Label Studio exports as one result; layers not in ``layers`` are emptied and counted."""
    out = ReadResult()
    for path in paths:
        r = read_labelstudio(path, label_set=get_label_set(args.labels), nested=args.nested)
        out.errors.extend(r.errors)
        for doc in r.documents:
            kept = Document(
                doc.id,
                doc.text,
                doc.entities if "entities" in layers else [],
                doc.triggers if "triggers" in layers else [],
                doc.extra,
            )
            r.stats["dropped_layer"] += sum(len(doc.layer(x)) for x in LAYERS if x not in layers)
            if "triggers" not in layers:
                r.stats["dropped_arguments"] += count_arguments(doc.triggers)
            out.add(kept, str(path), None)
        out.stats.update(r.stats)
        out.notes.extend(r.notes)
    out.stats["documents"] = len(out.documents)
    return out


def argument_lines(doc: Document, units: list) -> list[str]:
    """One line per argument of ``doc`` whose ends are not unit ends (it is never moved)."""
    where = UnitAlignment(units)
    lines = []
    for t in doc.triggers:
        for a in t.arguments or ():
            why = where.align(a)
            if not isinstance(why, str):
                continue
            lines.append(
                f"{doc.id}: argument [{a.start}, {a.end}) {a.role} «{doc.text[a.start : a.end]}» "
                f"of trigger [{t.start}, {t.end}) {t.label}: {why}"
            )
    return lines


def known_words(args: argparse.Namespace, result: ReadResult) -> KnownWords:
    """The shipped list, the corpus span vocabulary and ``--known-words``.

    With ``--model``, the model's own ``known_words.txt`` alone: the units it splits.

    Raises:
        UsageError: the ``--known-words`` file does not exist, or ``--model`` is no model.
    """
    if getattr(args, "model", None) is not None:
        if args.known_words is not None:
            raise UsageError(
                "--known-words and --model exclude each other: "
                "a model splits with its own known words"
            )
        model_dir = resolve_model_dir(args.model)
        saved = model_dir / KNOWN_WORDS_FILE
        return KnownWords.load(saved) if saved.is_file() else KnownWords.shipped()
    known = KnownWords.shipped().union(span_vocabulary(result.documents))
    if args.known_words is not None:
        if not args.known_words.is_file():
            raise UsageError(f"no such known-words file: {args.known_words}")
        known = known.union(KnownWords.load(args.known_words))
    return known


def nothing_to_tokenise(normalised: str) -> bool:
    """Whether a normalised unit holds no visible character, so a tokenizer yields no subword.

    True for an empty unit and for one of only marks or format characters (a lone RLM).
    """
    return all(unicodedata.category(c) in ("Cf", "Cc", "Mn", "Me") for c in normalised)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register validate's options."""
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="JSONL or CoNLL files, brat folders or .ann files",
    )
    add_reading_arguments(parser)
    parser.add_argument(
        "--model",
        type=Path,
        metavar="RUN",
        help="split units with this model's (or run's) known words, as it will: a "
        "dev or test span it can never predict is then off unit boundaries",
    )


def run(args: argparse.Namespace) -> int:
    """Validate, print the statistics table and every problem; 0 clean, 1 on data errors."""
    result = read_inputs(args, args.paths)
    layers = tuple(args.layers) if args.layers else LAYERS
    known = known_words(args, result)
    normalise = Normalization()
    stats = result.stats
    spans: Counter[tuple[str, str]] = Counter()
    roles: Counter[str] = Counter()
    annotated = [0, 0]  # triggers annotated for arguments, triggers not
    off_lines: list[str] = []
    off_args: list[str] = []
    longest = (0, "")
    units_total = empty_units = collisions = untagged = 0
    empty_memo: dict[str, bool] = {}
    for doc in result.documents:
        units = document_units(doc, known)
        tagged = tag_document(doc, units, layers)
        untagged += len(tagged.nested_untagged)
        units_total += len(units)
        for u in units:
            if u.text not in empty_memo:
                empty_memo[u.text] = nothing_to_tokenise(normalise(u.text))
            empty_units += empty_memo[u.text]
        collisions += len(tagged.collisions)
        longest = max(longest, (len(units), doc.id), key=lambda x: x[0])
        for layer in layers:
            spans.update((layer, s.label) for s in doc.layer(layer))
        path, line = result.locations[doc.id]
        where = f"{path}:{line}" if line is not None else path
        off_lines += [
            f"{where}: {o.describe(doc.text)} ({OFF_BOUNDARY_FIX})" for o in tagged.off_boundary
        ]
        if "triggers" in layers:
            roles.update(a.role for t in doc.triggers for a in t.arguments or ())
            annotated[0] += sum(t.arguments is not None for t in doc.triggers)
            annotated[1] += sum(t.arguments is None for t in doc.triggers)
            off_args += [f"{where}: {x} ({OFF_BOUNDARY_FIX})" for x in argument_lines(doc, units)]

    rows: list[tuple[str, str]] = [
        ("files", str(len(args.paths))),
        ("documents", str(len(result.documents))),
    ]
    if stats["sentences"]:
        rows.append(("sentences (CoNLL)", str(stats["sentences"])))
    rows += [
        ("units", str(units_total)),
        ("longest document (units)", f"{longest[0]}  {longest[1]}".rstrip()),
    ]
    for layer in layers:
        layer_spans = {lab: n for (lay, lab), n in spans.items() if lay == layer}
        rows.append((f"{layer} spans", str(sum(layer_spans.values()))))
        rows += [(f"  {lab}", str(n)) for lab, n in sorted(layer_spans.items())]
    if "triggers" in layers:
        rows.append(("arguments", str(sum(roles.values()))))
        rows += [(f"  {role}", str(n)) for role, n in sorted(roles.items())]
        rows.append(("triggers annotated for arguments", f"{annotated[0]} of {sum(annotated)}"))
    rows += [
        ("spans off unit boundaries", str(len(off_lines))),
        (
            "entity/trigger collisions",
            f"{collisions}  (trigger kept, entity dropped from tags)" if collisions else "0",
        ),
        *([("arguments off unit boundaries", str(len(off_args)))] if "triggers" in layers else []),
        ("nested span pairs", str(stats["nested"])),
        (f"nested spans dropped ({args.nested})", str(stats["dropped_nested"])),
        (
            "nested spans not in the tags",
            f"{untagged}  (IOB2 holds the outer span of a nested pair)" if untagged else "0",
        ),
        (
            "units empty after normalisation",
            f"{empty_units}  (fed as [UNK])" if empty_units else "0",
        ),
    ]
    if stats["dropped_layer"]:
        rows.append(("spans of layers not selected", str(stats["dropped_layer"])))
    if stats["dropped_arguments"]:
        rows.append(("arguments dropped with their triggers", str(stats["dropped_arguments"])))
    if stats["orphan_i"] or args.repair:
        rows.append(("I- tags continuing nothing", str(stats["orphan_i"])))
        rows.append(("  repaired to B-", str(stats["repaired_i"])))
    for key in sorted(k for k in stats if k.startswith("brat_unimported_")):
        kind = BRAT_NAMES.get(key.removeprefix("brat_unimported_"), key)
        rows.append((f"brat {kind}s not imported", str(stats[key])))
    rows.append(("errors", str(len(result.errors))))
    width = max(len(k) for k, _ in rows) + 2
    print("\n".join(f"{k:<{width}}{v}" for k, v in rows))
    for note in result.notes:
        print(f"note: {note}")

    for err in result.errors:
        print(err, file=sys.stderr)
    for line in off_lines + off_args:
        print(line, file=sys.stderr)
    if result.errors or off_lines or off_args:
        args_off = f", {len(off_args)} argument(s) off unit boundaries" if off_args else ""
        print(
            f"araevent validate: {len(result.errors)} error(s), {len(off_lines)} span(s) off "
            f"unit boundaries{args_off}",
            file=sys.stderr,
        )
        return 1
    return 0
