"""Convert documents between JSONL, CoNLL, brat standoff and Label Studio.

Reads IN exactly as `araevent validate` does and refuses to write anything if
there is any error. The output is written atomically (a temporary file or
folder moved into place). CoNLL output has one unit per line, so spans that are
not on unit boundaries cannot be written: they are listed and nothing is
written; documents read from CoNLL keep their tokens as the lines. brat output
is a folder of X.txt/X.ann pairs plus annotation.conf; a folder that is not
empty is refused unless --overwrite (which replaces the files of the same names
and deletes nothing). Label Studio output (--to labelstudio) is a JSON list of
tasks, the documents' spans and arguments as annotations, plus the labelling
config beside it (X.label_config.xml); --from labelstudio reads an export back.
Spans dropped on the way (--nested outer|inner, --layers) are counted per
reason on stderr, and so are the arguments dropped with their triggers and
the arguments CoNLL cannot hold ("N arguments not written").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from araevent.ace2005 import add_convert_arguments, run_convert
from araevent.commands.validate import add_reading_arguments, known_words, read_inputs
from araevent.errors import UsageError
from araevent.formats import FORMATS, check_brat_target, describe_dropped, to_task, write_tasks
from araevent.labels import LAYERS
from araevent.writing import write_documents

WRITE_FORMATS = (*FORMATS, "labelstudio")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register convert's options."""
    parser.add_argument("input", type=Path, metavar="IN", help="file or brat folder to read")
    parser.add_argument(
        "output", type=Path, metavar="OUT", help="file to write (a folder for brat)"
    )
    parser.add_argument(
        "--to",
        choices=WRITE_FORMATS,
        help="output format (labelstudio: tasks for annotators, and their labelling config; "
        "not with --from ace2005)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="brat: write into a folder that is not empty (files of the same names are "
        "replaced, no other file is deleted)",
    )
    add_reading_arguments(parser)
    add_convert_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Read, refuse on any error, write atomically; 0 on success, 1 on data errors."""
    if args.format == "ace2005":
        out, problems = run_convert(args)
        for line in problems:
            print(line, file=sys.stderr)
        print("\n".join(out))
        return 0
    if args.to is None:
        raise UsageError("--to FORMAT is required (jsonl, conll, brat or labelstudio)")
    if args.to == "brat":
        check_brat_target(args.output, args.overwrite)
    result = read_inputs(args, [args.input])
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.errors:
        for err in result.errors:
            print(err, file=sys.stderr)
        print(
            f"araevent convert: {len(result.errors)} error(s) in {args.input}; nothing written "
            f"(run araevent validate {args.input})",
            file=sys.stderr,
        )
        return 1
    conll_layers = tuple(args.layers) if args.layers else None
    lost: dict[str, int] = {}
    if args.to == "labelstudio":
        write_labelstudio(result.documents, args.output)
    else:
        lost = write_documents(
            result.documents,
            args.output,
            args.to,
            conll_layers=conll_layers,
            known=known_words(args, result),
            overwrite=args.overwrite,
        )
    for what in describe_dropped(result.dropped, args.nested):
        print(f"araevent convert: {what}", file=sys.stderr)
    if lost.get("arguments_not_written"):
        print(
            f"araevent convert: {lost['arguments_not_written']} arguments not written "
            "(CoNLL holds no arguments; convert to jsonl, brat or labelstudio to keep them)",
            file=sys.stderr,
        )
    print(f"wrote {len(result.documents)} documents to {args.output} ({args.to})")
    return 0


def write_labelstudio(docs: list, path: Path) -> Path:
    """Tasks (the documents' spans and arguments as annotations) and their labelling config."""
    labels = {layer: sorted({s.label for d in docs for s in d.layer(layer)}) for layer in LAYERS}
    roles = sorted({a.role for d in docs for t in d.triggers for a in t.arguments or ()})
    try:
        return write_tasks([to_task(d) for d in docs], path, labels, roles)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from None
