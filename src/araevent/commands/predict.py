"""Predict entity and trigger spans with a trained model folder.

Input (--input FILE, or - for stdin) is plain text with one document per line
(ids are line numbers; blank lines are skipped and counted) or JSONL documents:
a file with a line that is a JSON object is JSONL, and any line of it that is
not a valid document is reported (nothing is predicted), so a truncated line is
never read as text; only --input-format text reads such a file as plain text.
Documents keep their own spans and get the predictions in predicted_entities /
predicted_triggers, unless --replace. Every offset indexes the input text
exactly as given: diacritics, tatweel, a carriage return before the line end
and leading spaces all stay in the text (a UTF-8 byte-order mark is dropped).
The summary and a progress bar (for long inputs, on a terminal) go to stderr.

Output (--output FILE, or - for stdout) formats:
  jsonl        documents in the araevent schema (the default)
  conll        one unit per line with the predicted tags (the model's units)
  brat         a folder of X.txt/X.ann pairs and annotation.conf (predictions)
  labelstudio  a JSON list of tasks with the predictions (and the documents' own
               spans as annotations), plus FILE's .label_config.xml beside it
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
import time
from pathlib import Path

from araevent.errors import DataError, UsageError
from araevent.io import read_jsonl_bytes
from araevent.labels import LAYERS
from araevent.schema import NESTED_POLICIES, Document, parse_span

OUTPUT_FORMATS = ("jsonl", "conll", "brat", "labelstudio")
CHUNK = 512  # documents per progress-bar step


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register predict's options."""
    parser.add_argument(
        "--model",
        required=True,
        type=Path,
        metavar="PATH",
        help="a model/ folder written by training, or its run folder",
    )
    parser.add_argument(
        "--input", default="-", metavar="FILE", help="text or JSONL to read; - is stdin (default)"
    )
    parser.add_argument(
        "--output",
        default="-",
        metavar="FILE",
        help="file (a folder for brat) to write; - is stdout (default)",
    )
    parser.add_argument(
        "--format", default="jsonl", choices=OUTPUT_FORMATS, help="output format (default: jsonl)"
    )
    parser.add_argument(
        "--input-format",
        default="auto",
        choices=("auto", "text", "jsonl"),
        help="auto (default): JSONL when a line is a JSON object (its broken lines are "
        "reported); text forces plain text",
    )
    parser.add_argument(
        "--nested",
        default="keep",
        choices=NESTED_POLICIES,
        help="JSONL input with overlapping spans in one layer: keep them all (default), "
        "report them (error), or keep the outer/inner one (dropped spans are counted)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="brat: write into a folder that is not empty (files of the same names are "
        "replaced, no other file is deleted)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="put predictions in entities/triggers, dropping the input's spans",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        metavar="N",
        help="windows per forward pass (default: 32)",
    )
    parser.add_argument(
        "--device", default=None, help="torch device, e.g. cpu, cuda, cuda:1 (default: cpu)"
    )
    parser.add_argument(
        "--decoding",
        default=None,
        choices=("argmax", "viterbi"),
        help="tag decoding (default: the model's)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar and no summary on stderr"
    )


def read_input(source: str) -> tuple[str, bytes]:
    """The input's name (for messages) and bytes; ``-`` is stdin.

    Raises:
        UsageError: the file does not exist or cannot be read.
    """
    if source == "-":
        return "<stdin>", sys.stdin.buffer.read()
    path = Path(source)
    if not path.exists() or path.is_dir():  # a pipe, such as <(zcat f.gz), is read
        what = "a folder, not a file" if path.is_dir() else "no such input file"
        raise UsageError(f"--input {path}: {what}")
    try:
        return str(path), path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _without_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def decode_lines(name: str, data: bytes) -> list[str]:
    """UTF-8 lines split at line feeds only (a carriage return stays); a BOM is dropped.

    Raises:
        DataError: a byte is not UTF-8 (naming its line).
    """
    data = _without_bom(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"byte 0x{data[exc.start]:02x} is not UTF-8",
            path=name,
            line=line,
            fix="re-save the input as UTF-8",
        ) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def looks_like_jsonl(data: bytes) -> bool:
    """Whether any non-blank line is a JSON object (the first one, in a JSONL file).

    Every line of such a file is read as JSONL and a broken one is reported, so a
    truncated or damaged line, the first one included, is never read as text; only
    ``--input-format text`` reads such a file as plain text.
    """
    for raw in _without_bom(data).split(b"\n"):
        line = raw.decode("utf-8", "replace")
        if not line.lstrip().startswith("{"):
            continue
        try:
            if isinstance(json.loads(line), dict):
                return True
        except (ValueError, RecursionError):
            continue
    return False


def _all_input_spans(doc: Document, line: str) -> Document:
    """``doc`` with every span of its JSONL line, overlapping ones included (--nested keep)."""
    obj = json.loads(line)
    where = {"path": None, "line": None, "doc_id": doc.id}
    spans = {
        layer: [
            parse_span(x, doc.text, where=where, layer=layer, index=i)[0]
            for i, x in enumerate(obj.get(layer, []))
        ]
        for layer in LAYERS
    }
    return Document(doc.id, doc.text, spans["entities"], spans["triggers"], doc.extra)


def parse_inputs(
    name: str, data: bytes, fmt: str, nested: str = "keep"
) -> tuple[str, list[Document], dict[str, int], list]:
    """Read the input as plain text or JSONL documents (``auto``: see :func:`looks_like_jsonl`).

    Returns:
        The format read (``text`` or ``jsonl``), the documents, counts (``blank``
        lines skipped, ``dropped_nested`` spans) and every error.

    Raises:
        DataError: plain text that is not UTF-8.
    """
    if fmt == "auto":
        fmt = "jsonl" if looks_like_jsonl(data) else "text"
    counts = {"blank": 0, "dropped_nested": 0}
    if fmt == "text":
        docs = []
        for n, line in enumerate(decode_lines(name, data), start=1):
            if line.strip():
                docs.append(Document(str(n), line))
            else:
                counts["blank"] += 1
        return fmt, docs, counts, []
    # keep: read as outer (every span is checked), then put the dropped spans back
    result = read_jsonl_bytes(data, name, nested="outer" if nested == "keep" else nested)
    docs = result.documents
    if nested == "keep" and result.stats["dropped_nested"]:
        lines = _without_bom(data).split(b"\n")
        docs = [
            _all_input_spans(d, lines[result.locations[d.id][1] - 1].decode("utf-8")) for d in docs
        ]
    else:
        counts["dropped_nested"] = result.stats["dropped_nested"]
    return fmt, docs, counts, result.errors


def check_output(fmt: str, output: str, overwrite: bool = False) -> None:
    """Refuse output targets the format cannot use, before any work is done.

    Raises:
        UsageError: brat or labelstudio to stdout, or brat to an existing file.
    """
    if fmt in ("brat", "labelstudio") and output == "-":
        what = "a folder of .txt/.ann pairs" if fmt == "brat" else "tasks.json and its config"
        raise UsageError(f"--format {fmt} writes {what}; pass --output PATH")
    if fmt == "brat" and Path(output).is_file():
        raise UsageError(f"--output {output} is a file; brat output is a folder")
    if fmt == "brat":
        from araevent.io import check_brat_target  # io pulls in numpy; loaded when needed

        check_brat_target(output, overwrite)


def check_file_target(fmt: str, output: str) -> None:
    """Refuse a file output (and Label Studio's config beside it) that cannot be written.

    Raises:
        UsageError: the target is a folder, or a file stands where a folder on its path must be.
    """
    if fmt == "brat" or output == "-":
        return
    targets = [Path(output)]
    if fmt == "labelstudio":
        from araevent.labelstudio import config_path

        targets.append(config_path(output))
    for target in targets:
        if target.is_dir():
            raise UsageError(f"--output {output}: {target} is a folder; {fmt} output is a file")
        for parent in target.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise UsageError(f"--output {output}: {parent} is a file, not a folder")
                break


def run(args: argparse.Namespace) -> int:
    """Load the model, predict every document, write the output; 0 on success."""
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}")
    check_output(args.format, args.output, args.overwrite)
    check_file_target(args.format, args.output)
    name, data = read_input(args.input)
    fmt, docs, counts, errors = parse_inputs(name, data, args.input_format, args.nested)
    if errors:
        for err in errors:
            print(err, file=sys.stderr)
        hint = "run araevent validate on it"
        if args.input_format == "auto":
            hint = (
                f"read as JSONL since a line is a JSON object; {hint}, "
                "or pass --input-format text if it is plain text"
            )
        print(
            f"araevent predict: {len(errors)} error(s) in {name}; nothing written ({hint})",
            file=sys.stderr,
        )
        return 1

    from tqdm import tqdm

    from araevent.predict import Extractor

    if args.quiet or not sys.stderr.isatty():
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # transformers' "Loading weights" bar
    started = time.perf_counter()
    extractor = Extractor.from_pretrained(
        args.model, device=args.device, batch_size=args.batch_size, decoding=args.decoding
    )
    loaded = time.perf_counter()
    out: list[Document] = []
    stats: dict[str, int] = {}
    bar = tqdm(
        total=len(docs),
        unit="doc",
        file=sys.stderr,
        delay=1.0,
        disable=args.quiet or not sys.stderr.isatty(),
    )
    with bar:
        for i in range(0, len(docs), CHUNK):
            # plain text has no spans of its own: the predictions are its spans
            chunk = docs[i : i + CHUNK]
            out += extractor.predict(chunk, replace=args.replace or fmt == "text")
            for key, value in extractor.stats.items():
                stats[key] = stats.get(key, 0) + value
            bar.update(len(chunk))
    predicted = time.perf_counter()
    write_output(out, args, extractor)
    if not args.quiet:
        timing = {"load_s": loaded - started, "predict_s": predicted - loaded}
        print(summary({**stats, **counts}, timing, args), file=sys.stderr)
    return 0


def write_output(docs: list[Document], args: argparse.Namespace, extractor) -> None:
    """Write ``docs`` in ``args.format`` to ``args.output``."""
    from araevent.io import conll_text, write_documents
    from araevent.predict import PREDICTED, predicted_spans

    schema = extractor.schema
    if args.format == "labelstudio":
        from araevent.labelstudio import to_task

        path = extractor.loaded.path.resolve()  # name the run, not the whole local path
        version = f"araevent:{path.parent.name if path.name == 'model' else path.name}"
        tasks = []
        for d in docs:
            extra = {k: v for k, v in d.extra.items() if k not in PREDICTED.values()}
            own = Document(d.id, d.text, [], [], extra)
            if any(key in d.extra for key in PREDICTED.values()):
                own = Document(d.id, d.text, d.entities, d.triggers, extra)
            tasks.append(to_task(own, predicted_spans(d), model_version=version))
        roles = extractor.arguments.predictor.schema.roles if extractor.arguments else ()
        write_labelstudio(tasks, Path(args.output), schema.to_dict(), roles)
        return
    if args.format in ("brat", "conll"):  # one set of spans: the predictions
        docs = [
            Document(
                d.id,
                d.text,
                p["entities"],
                p["triggers"],
                {k: v for k, v in d.extra.items() if k not in PREDICTED.values()},
            )
            for d in docs
            for p in [predicted_spans(d)]
        ]
    if args.format == "brat":
        write_documents(docs, args.output, "brat", overwrite=args.overwrite)
        return
    layers = tuple(layer for layer in LAYERS if schema.layer_labels(layer)) or ("entities",)
    if args.output != "-":
        write_documents(docs, args.output, args.format, conll_layers=layers, known=extractor.known)
    elif args.format == "conll":
        sys.stdout.write(conll_text(docs, conll_layers=layers, known=extractor.known))
    else:
        sys.stdout.writelines(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in docs)
    sys.stdout.flush()


def write_labelstudio(tasks: list[dict], path: Path, labels: dict, roles=()) -> None:
    """Write the tasks and their labelling config, or neither (a failure is one line).

    Raises:
        UsageError: either file cannot be written; a file this call created is removed.
    """
    from araevent.labelstudio import config_path, write_tasks

    conf = config_path(path)
    created = [p for p in (path, conf) if not p.exists()]
    try:
        write_tasks(tasks, path, labels, roles)
    except (OSError, UsageError) as exc:
        for p in created:
            if p.is_file():
                p.unlink()
        if isinstance(exc, UsageError):
            raise
        # name the target, not the temporary file beside it
        failed = conf if conf.name in Path(getattr(exc, "filename", "") or "").name else path
        raise UsageError(f"cannot write {failed}: {exc.strerror or exc}") from None


def summary(stats: dict[str, int], timing: dict[str, float], args: argparse.Namespace) -> str:
    """One line for stderr: documents, spans, unusual units, speed and destination."""
    n = stats.get("documents", 0)
    parts = [f"{n} document(s)"]
    if stats.get("blank"):
        parts.append(f"{stats['blank']} blank line(s) skipped")
    if stats.get("dropped_nested"):
        parts.append(f"{stats['dropped_nested']} nested input span(s) dropped ({args.nested})")
    parts.append(
        f"{stats.get('entities_predicted', 0)} entities and "
        f"{stats.get('triggers_predicted', 0)} triggers predicted"
    )
    if stats.get("empty_units"):
        parts.append(f"{stats['empty_units']} empty unit(s) fed as [UNK]")
    if stats.get("truncated_units"):
        parts.append(f"{stats['truncated_units']} unit(s) longer than a window truncated")
    where = "stdout" if args.output == "-" else args.output
    seconds = timing["predict_s"]
    return (
        f"araevent predict: {', '.join(parts)} in {seconds:.1f} s ({n / max(seconds, 1e-9):.0f} "
        f"docs/s; model loaded in {timing['load_s']:.1f} s) -> {where} ({args.format})"
    )
