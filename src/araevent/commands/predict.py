"""Predict entity and trigger spans with a trained model folder.

One file (~510 lines): the command's options, its checks and the single, sharded,
resumed and launched runs share one argument namespace and one prediction loop.

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

The input (a file, a .gz file, or stdin) is streamed (see araevent.streaming and
docs/scale.md): every line is checked first, then read, predicted and written a
chunk of --chunk-size lines at a time, in input order, so memory does not grow
with the input. --shard K/N predicts the K-th of N runs of whole chunks (the
parts concatenated in order are the single output); --resume continues the
OUTPUT.partial an interrupted JSONL run left. Under torchrun or accelerate launch
(WORLD_SIZE above 1) and without --shard, each process predicts shard RANK+1 of
WORLD_SIZE into OUTPUT.part-K-of-N and rank 0 merges the parts into OUTPUT when
every process is done (JSONL and CoNLL). --input hub:NAME[:SPLIT] streams a
Hugging Face Hub dataset (split train unless named); offline it fails.

Output (--output FILE, or - for stdout) formats:
  jsonl        documents in the araevent schema (the default)
  conll        one unit per line with the predicted tags (the model's units)
  brat         a folder of X.txt/X.ann pairs and annotation.conf (predictions)
  labelstudio  a JSON list of tasks with the predictions (and the documents' own
               spans as annotations), plus FILE's .label_config.xml beside it
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from araevent.errors import DataError, UsageError
from araevent.labels import LAYERS
from araevent.ranks import WAIT_S, Group, Launch, launched, merge_parts, part_path
from araevent.schema import NESTED_POLICIES, Document
from araevent.streaming import (
    BratWriter,
    Checked,
    FileWriter,
    LabelStudioWriter,
    Resume,
    Source,
    StdoutWriter,
    Writer,
    check,
    check_resume,
    chunks,
    open_source,
    parse_shard,
    partial_path,
    read_partial,
    scan,
    shard_lines,
)
from araevent.writing import conll_text

OUTPUT_FORMATS = ("jsonl", "conll", "brat", "labelstudio")
CHUNK = 512  # input lines per chunk: read, predicted (length-sorted) and written together


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
        "--input",
        default="-",
        metavar="FILE",
        help="text or JSONL to read (.gz too), a saved datasets folder, or hub:NAME[:SPLIT]; "
        "- is stdin (default)",
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
        "--chunk-size",
        type=int,
        default=CHUNK,
        metavar="N",
        help=f"input lines read, predicted and written together; memory grows with it, not "
        f"with the input (default: {CHUNK})",
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="predict only the K-th of N runs of whole chunks of input lines (1/4 .. 4/4); "
        "the parts concatenated in order are the whole output (SLURM arrays, machines)",
    )
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=WAIT_S,
        metavar="S",
        help="under torchrun or accelerate launch: how long a process that is done waits for "
        f"the others before it gives up (default: {WAIT_S} s)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="JSONL output: continue OUTPUT.partial left by an interrupted run (the "
        "documents written completely are skipped)",
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
        from araevent.formats import check_brat_target

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
        from araevent.formats.labelstudio import config_path

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
    """Check the input, load the model, predict and write chunk by chunk; 0 on success."""
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}")
    if args.chunk_size < 1:
        raise UsageError(f"--chunk-size must be at least 1, not {args.chunk_size}")
    shard = parse_shard(args.shard)
    check_output(args.format, args.output, args.overwrite)
    check_file_target(args.format, args.output)
    if args.resume and (args.format != "jsonl" or args.output == "-"):
        raise UsageError(
            "--resume continues a JSONL output file; it needs --format jsonl and --output FILE"
        )
    launch = None if args.shard else launched()
    if launch is not None:
        return run_rank(args, launch)
    source = open_source(args.input)
    try:
        return predict_source(args, source, shard)
    finally:
        source.close()


MERGED_FORMATS = ("jsonl", "conll")  # whose parts concatenated are the whole output


def run_rank(args: argparse.Namespace, launch: Launch) -> int:
    """One process of a torchrun / accelerate launch: its shard to its part; rank 0 merges.

    See :mod:`araevent.ranks`. Every process reports its own errors; rank 0 also
    says which process failed and that nothing was merged.
    """
    k, n = launch.shard
    launcher = f"WORLD_SIZE={n} (torchrun or accelerate launch)"
    if args.format not in MERGED_FORMATS:
        raise UsageError(
            f"--format {args.format} parts cannot be merged into one output under {launcher}; "
            "use --format jsonl or conll, or give each process --shard K/N and its own --output"
        )
    if args.output == "-" or args.input == "-":
        which = "--output" if args.output == "-" else "--input"
        raise UsageError(
            f"{which} - under {launcher}: each process needs a file; pass {which} FILE"
        )
    target = Path(args.output)
    part = part_path(target, k, n)
    device = args.device
    if device == "cuda":  # one GPU per process
        device = f"cuda:{launch.local_rank}"
    mine = argparse.Namespace(**{**vars(args), "output": str(part), "shard": f"{k}/{n}"})
    mine.device = device
    again = "rerun the same command" + (" with --resume" if args.format == "jsonl" else "")
    checked = []  # one item once every process has checked its lines
    with Group(launch, args.wait_timeout) as group:

        def meet(failure: str | None) -> bool:
            failed = group.meet(failure)
            others = [(r, why) for r, why in failed if r != launch.rank]
            if launch.rank == 0 and others:
                who = "; ".join(f"rank {r} (shard {r + 1}/{n}) failed: {why}" for r, why in others)
                when = f"nothing written to {target}"
                if checked:
                    when = (
                        f"nothing merged into {target} (the finished parts stay beside it; {again})"
                    )
                print(f"araevent predict: {who}; {when}", file=sys.stderr)
            checked.append(True)
            return not failed

        try:
            source = open_source(args.input)
            try:
                code = predict_source(mine, source, launch.shard, meet=meet)
            finally:
                source.close()
        except Exception as exc:
            if not group.stopped:  # tell the others, then report it as usual
                what = str(exc) if isinstance(exc, DataError | UsageError) else repr(exc)
                with contextlib.suppress(UsageError):  # this error is the one to report
                    meet(what.splitlines()[0] if what else type(exc).__name__)
            raise
        if group.stopped:
            return 1
        if not meet(None if code == 0 else f"exit {code}"):
            return 1
        if launch.rank == 0:
            merge_parts([part_path(target, i, n) for i in range(1, n + 1)], target)
            if not args.quiet:
                print(f"araevent predict: {n} parts merged -> {target}", file=sys.stderr)
    return 0


def predict_source(
    args: argparse.Namespace, source: Source, shard: tuple[int, int], meet=None
) -> int:
    """Predict the documents of this shard of ``source`` (see :mod:`araevent.streaming`).

    ``meet(failure)``, under a launcher, is called once every line is checked (with
    ``None``, or what failed) and says whether every process may go on.
    """
    total, fmt = scan(source, args.input_format)
    start, stop = shard_lines(total, *shard, chunk=args.chunk_size)
    checked = check(source, fmt, start, stop, args.nested)
    if checked.errors:
        for err in checked.errors:
            print(err, file=sys.stderr)
        hint = "run araevent validate on it"
        if args.input_format == "auto":
            hint = (
                f"read as JSONL since a line is a JSON object; {hint}, "
                "or pass --input-format text if it is plain text"
            )
        print(
            f"araevent predict: {len(checked.errors)} error(s) in {source.name}; "
            f"nothing written ({hint})",
            file=sys.stderr,
        )
        if meet is not None:
            meet(f"{len(checked.errors)} error(s) in lines {start + 1}-{stop} of {source.name}")
        return 1
    resume = find_resume(args, checked, source.name)
    if meet is not None and not meet(None):
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
    done = len(resume.ids) if resume else 0
    writer = make_writer(args, extractor, resume)
    bar = tqdm(
        total=checked.documents - done,
        unit="doc",
        file=sys.stderr,
        delay=1.0,
        disable=args.quiet or not sys.stderr.isatty(),
    )
    stats: Counter[str] = Counter()
    seen = 0  # documents of this shard read so far
    try:
        with bar:
            for chunk in chunks(source, fmt, start, stop, args.nested, args.chunk_size):
                seen += len(chunk)
                if seen <= done:  # written completely before: not predicted again
                    continue
                # plain text has no spans of its own: the predictions are its spans
                out = extractor.predict(chunk, replace=args.replace or fmt == "text")
                stats.update(extractor.stats)
                # the unfinished chunk of a resumed run is predicted whole, as the first
                # run did (so the scores match), and only its unwritten documents written
                again = max(done - (seen - len(chunk)), 0)
                stats["predicted_again"] += again
                for doc in out[again:]:
                    writer.write(doc)
                bar.update(len(chunk) - again)
        writer.finish()
    except BaseException:
        kept = writer.abort()
        if kept:
            print(f"araevent predict: stopped; {kept}", file=sys.stderr)
        raise
    predicted = time.perf_counter()
    if not args.quiet:
        stats.update(checked.counts)
        stats["resumed"] = done
        if shard != (1, 1):
            stats["shard_lines"] = (start + 1, stop)
        timing = {"load_s": loaded - started, "predict_s": predicted - loaded}
        print(summary(stats, timing, args), file=sys.stderr)
    return 0


def find_resume(args: argparse.Namespace, checked: Checked, name: str) -> Resume | None:
    """With --resume, the unfinished (or finished) output to continue, checked against the input.

    Raises:
        UsageError: the output is not this input's (see :func:`araevent.streaming.check_resume`).
    """
    if args.format != "jsonl" or args.output == "-":
        return None
    target = Path(args.output)
    partial = partial_path(target)
    if not args.resume:
        if partial.exists():
            print(
                f"araevent predict: starting over; {partial} of an earlier run will be "
                "replaced (--resume continues it)",
                file=sys.stderr,
            )
        return None
    found = partial if partial.exists() else target if target.is_file() else None
    if found is None:
        return None
    resume = read_partial(found)
    check_resume(resume, checked.ids, name)
    if found == target:  # a finished output: continue it as an unfinished one
        os.replace(target, partial)
        resume.path = partial
    if resume.half_line and not args.quiet:
        print(
            f"araevent predict: {found}: the half-written last line is written again",
            file=sys.stderr,
        )
    return resume


def make_writer(args: argparse.Namespace, extractor, resume: Resume | None) -> Writer:
    """The writer of ``args.format`` to ``args.output``."""
    from araevent.predict import PREDICTED, predicted_spans

    schema = extractor.schema

    def predictions_only(d: Document) -> Document:  # brat and CoNLL hold one set of spans
        p = predicted_spans(d)
        extra = {k: v for k, v in d.extra.items() if k not in PREDICTED.values()}
        return Document(d.id, d.text, p["entities"], p["triggers"], extra)

    if args.format == "labelstudio":
        from araevent.formats.labelstudio import to_task

        path = extractor.loaded.path.resolve()  # name the run, not the whole local path
        version = f"araevent:{path.parent.name if path.name == 'model' else path.name}"

        def task(d: Document) -> dict:
            extra = {k: v for k, v in d.extra.items() if k not in PREDICTED.values()}
            own = Document(d.id, d.text, [], [], extra)
            if any(key in d.extra for key in PREDICTED.values()):
                own = Document(d.id, d.text, d.entities, d.triggers, extra)
            return to_task(own, predicted_spans(d), model_version=version)

        roles = extractor.arguments.predictor.schema.roles if extractor.arguments else ()
        return LabelStudioWriter(Path(args.output), task, schema.to_dict(), roles)
    if args.format == "brat":
        return BratWriter(Path(args.output), args.overwrite, predictions_only)
    if args.format == "conll":
        layers = tuple(layer for layer in LAYERS if schema.layer_labels(layer)) or ("entities",)

        def render(d: Document) -> str:
            return conll_text([predictions_only(d)], conll_layers=layers, known=extractor.known)

    else:

        def render(d: Document) -> str:
            return json.dumps(d.to_dict(), ensure_ascii=False) + "\n"

    if args.output == "-":
        return StdoutWriter(render)
    keep = args.format == "jsonl"
    return FileWriter(Path(args.output), render, keep=keep, resume=resume)


def summary(stats: dict[str, int], timing: dict[str, float], args: argparse.Namespace) -> str:
    """One line for stderr: documents, spans, unusual units, speed and destination."""
    n = stats.get("documents", 0)
    parts = [f"{n} document(s)"]
    if stats.get("blank"):
        parts.append(f"{stats['blank']} blank line(s) skipped")
    if stats.get("dropped_nested"):
        parts.append(f"{stats['dropped_nested']} nested input span(s) dropped ({args.nested})")
    spans = f"{stats.get('entities_predicted', 0)} entities"
    if "arguments_predicted" in stats:
        spans += f", {stats.get('triggers_predicted', 0)} triggers and "
        spans += f"{stats['arguments_predicted']} arguments predicted"
    else:
        spans += f" and {stats.get('triggers_predicted', 0)} triggers predicted"
    parts.append(spans)
    if args.format == "conll" and stats.get("arguments_predicted"):
        parts.append(
            f"{stats['arguments_predicted']} arguments not written (CoNLL holds no arguments; "
            "use --format jsonl, brat or labelstudio to keep them)"
        )
    if stats.get("empty_units"):
        parts.append(f"{stats['empty_units']} empty unit(s) fed as [UNK]")
    if stats.get("truncated_units"):
        parts.append(f"{stats['truncated_units']} unit(s) longer than a window truncated")
    if stats.get("resumed"):
        again = stats.get("predicted_again", 0)
        note = f"; {again} of them predicted again with their unfinished chunk" if again else ""
        parts.append(f"{stats['resumed']} already in the output (resumed{note})")
    if stats.get("shard_lines"):
        first, last = stats["shard_lines"]
        parts.append(f"shard {args.shard} (lines {first}-{last})")
    where = "stdout" if args.output == "-" else args.output
    seconds = timing["predict_s"]
    return (
        f"araevent predict: {', '.join(parts)} in {seconds:.1f} s ({n / max(seconds, 1e-9):.0f} "
        f"docs/s; model loaded in {timing['load_s']:.1f} s) -> {where} ({args.format})"
    )
