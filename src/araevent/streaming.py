"""Streaming input and output for ``araevent predict``: bounded memory, shards, resume.

One file (~590 lines): the three passes over the input, resume and the writers share the
chunking and the line numbering.

The input is read three times, a block of lines at a time, and never held whole:

1. a scan counts its lines and, for ``--input-format auto``, looks for a line
   that is a JSON object (the file is then JSONL);
2. a check reads the lines of this shard as documents and keeps only their
   errors, counts and 8-byte id hashes (for repeated ids), so a bad line anywhere
   is reported before anything is written;
3. the prediction pass reads them again and hands them to the model in chunks.

Standard input and pipes are copied to a temporary file first (on disk, not in
memory) so they can be read more than once. Outputs are written document by
document to a file beside the target that is moved into place at the end; a
JSONL one is kept as ``OUTPUT.partial`` after an interruption so ``--resume``
can continue it.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from araevent.errors import DataError, UsageError
from araevent.formats.base import umask as _umask
from araevent.formats.brat import BratTypes, brat_ann, brat_staging, finish_brat, write_staged
from araevent.formats.hub import drop_none as _drop_none
from araevent.formats.jsonl import parse_line, read_jsonl_bytes
from araevent.schema import KEEP_ALL, Document

BLOCK = 1024  # lines parsed at a time
PARTIAL = ".partial"  # suffix of an unfinished JSONL output kept for --resume
_SHARD = re.compile(r"(\d+)/(\d+)\Z")


def parse_shard(value: str | None) -> tuple[int, int]:
    """``K/N`` as ``(K, N)``; ``None`` is ``(1, 1)``.

    Raises:
        UsageError: not two numbers with 1 <= K <= N.
    """
    if value is None:
        return 1, 1
    m = _SHARD.match(value.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UsageError(
            f"--shard {value}: give K/N with 1 <= K <= N, e.g. --shard 1/4 for the first of "
            "four parts"
        )
    return int(m.group(1)), int(m.group(2))


def shard_lines(total: int, k: int, n: int, chunk: int = 1) -> tuple[int, int]:
    """The 0-based line range ``[start, stop)`` of shard ``k`` of ``n`` over ``total`` lines.

    Shards are contiguous runs of whole chunks of ``chunk`` lines, in order, so each
    chunk is predicted exactly as one process over the whole input predicts it and
    the parts concatenated in shard order are that process's output, byte for byte.
    """
    chunks = -(-total // chunk)
    return chunk * (chunks * (k - 1) // n), min(chunk * (chunks * k // n), total)


@dataclass
class Source:
    """An input that can be read more than once: a file, a ``.gz`` file, or a spooled copy."""

    name: str  # for messages
    path: Path
    spooled: bool = False

    def open(self) -> IO[bytes]:
        """A fresh binary reader (``.gz`` files are decompressed as they are read)."""
        if self.path.suffix == ".gz" and not self.spooled:
            return gzip.open(self.path, "rb")
        return open(self.path, "rb")

    def lines(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, bytes]]:
        """``(number, line)`` for the 0-based lines ``[start, stop)``.

        Lines are split at line feeds only and given without it; a UTF-8 BOM is
        dropped from line 1.

        Raises:
            UsageError: the file cannot be read (a broken ``.gz``, say).
        """
        try:
            with self.open() as f:
                for i, raw in enumerate(f):
                    if stop is not None and i >= stop:
                        return
                    if i < start:
                        continue
                    if raw.endswith(b"\n"):
                        raw = raw[:-1]
                    if i == 0 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    yield i + 1, raw
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Remove a spooled copy."""
        if self.spooled:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def open_source(source: str) -> Source:
    """The input ``source`` (``-`` is stdin) as a :class:`Source`; pipes are spooled to disk.

    ``hub:NAME`` or ``hub:NAME:SPLIT`` (or ``OWNER/NAME`` that is no local path) is a
    Hugging Face Hub dataset, streamed and spooled to disk row by row (split
    ``train`` unless named).

    Raises:
        UsageError: the file does not exist or cannot be read, or the Hub dataset cannot.
    """
    if source != "-":
        path = Path(source)
        saved = ("dataset_info.json", "dataset_dict.json")  # datasets' save_to_disk
        if path.is_dir() and any((path / name).is_file() for name in saved):
            return _spool_dataset(path)
        if source.startswith(HUB) or (not path.exists() and _HUB_NAME.match(source)):
            return _spool_hub(source)
        if not path.exists() or path.is_dir():
            what = "a folder, not a file" if path.is_dir() else "no such input file"
            raise UsageError(f"--input {path}: {what}")
        if path.is_file():
            if not os.access(path, os.R_OK):
                raise UsageError(f"cannot read {path}: Permission denied")
            return Source(str(path), path)
    name = "<stdin>" if source == "-" else source
    fd, tmp = tempfile.mkstemp(prefix="araevent-input-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            if source == "-":
                shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
            else:  # a pipe, such as <(zcat f.gz): it can be read only once
                with open(source, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
    except OSError as exc:
        Path(tmp).unlink()
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    return Source(name, Path(tmp), spooled=True)


HUB = "hub:"  # --input hub:NAME[:SPLIT]
_HUB_NAME = re.compile(r"[\w.-]+/[\w.-]+\Z")
_OFFLINE = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def _spool_hub(source: str) -> Source:
    """A Hub dataset split, streamed (``load_dataset(..., streaming=True)``) to a JSONL copy.

    Raises:
        UsageError: the Hub is offline, or the dataset or split cannot be read.
    """
    name, _, split = source.removeprefix(HUB).partition(":")
    split = split or "train"
    save = (
        f"where the Hub can be reached, save it with datasets.load_dataset({name!r}, "
        f"split={split!r}).save_to_disk(DIR) and pass --input DIR"
    )
    offline = [v for v in _OFFLINE if os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")]
    if offline:
        raise UsageError(
            f"--input {source}: the Hugging Face dataset {name} cannot be read offline "
            f"({offline[0]}={os.environ[offline[0]]}); {save}"
        )
    import datasets  # heavy; only for this kind of input

    try:
        rows = datasets.load_dataset(name, split=split, streaming=True)
        return _spool_rows(source, rows)
    except Exception as exc:  # network, Hub and datasets errors share no narrower base
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(
            f"--input {source}: cannot read the Hugging Face dataset {name} (split {split}): "
            f"{reason}; {save}"
        ) from None


def _spool_rows(name: str, rows) -> Source:
    """Rows (dicts) to a temporary JSONL file, one at a time: row ``i`` is line ``i + 1``."""
    fd, tmp = tempfile.mkstemp(prefix="araevent-input-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for row in rows:
                # Arrow gives every struct all its fields: a key a row lacked is None
                out.write(json.dumps(_drop_none(row), ensure_ascii=False, default=str) + "\n")
    except BaseException:
        Path(tmp).unlink()
        raise
    return Source(name, Path(tmp), spooled=True)


def _spool_dataset(path: Path) -> Source:
    """A ``datasets`` folder (``save_to_disk``) as a JSONL copy: row ``i`` is line ``i + 1``.

    Raises:
        UsageError: the folder holds several splits, or cannot be loaded.
    """
    import datasets  # heavy; only for this kind of input

    try:
        data = datasets.load_from_disk(str(path))
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise UsageError(f"--input {path}: cannot load the dataset: {exc}") from None
    if isinstance(data, datasets.DatasetDict):
        first = next(iter(data), "SPLIT")
        raise UsageError(
            f"--input {path} holds the splits {', '.join(data)}; pass one, e.g. "
            f"--input {path / first}"
        )
    return _spool_rows(str(path), data)  # memory-mapped Arrow rows, one at a time


def _is_object(raw: bytes) -> bool:
    if not raw.lstrip().startswith(b"{"):
        return False
    try:
        return isinstance(json.loads(raw.decode("utf-8", "replace")), dict)
    except (ValueError, RecursionError):
        return False


def scan(source: Source, fmt: str) -> tuple[int, str]:
    """The number of lines and the format (``auto``: JSONL when a line is a JSON object).

    Every line of such a file is read as JSONL and a broken one is reported, so a
    truncated or damaged line, the first one included, is never read as text.
    """
    total = 0
    for _, raw in source.lines():
        total += 1
        if fmt == "auto" and _is_object(raw):
            fmt = "jsonl"
    return total, "text" if fmt == "auto" else fmt


@dataclass
class Checked:
    """What the check pass found in the lines of one shard."""

    documents: int = 0
    counts: Counter = field(default_factory=Counter)  # blank lines, dropped nested spans
    errors: list[DataError] = field(default_factory=list)
    ids: array = field(default_factory=lambda: array("q"))  # hash of each id, in order


def _blocks(source: Source, start: int, stop: int) -> Iterator[tuple[int, list[bytes]]]:
    """``(first line number, lines)`` of at most :data:`BLOCK` lines."""
    block: list[bytes] = []
    first = start + 1
    for n, raw in source.lines(start, stop):
        if not block:
            first = n
        block.append(raw)
        if len(block) == BLOCK:
            yield first, block
            block = []
    if block:
        yield first, block


def _decode_text(source: Source, n: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"byte 0x{raw[exc.start]:02x} is not UTF-8",
            path=source.name,
            line=n,
            fix="re-save the input as UTF-8",
        ) from None


def check(source: Source, fmt: str, start: int, stop: int, nested: str) -> Checked:
    """Read lines ``[start, stop)`` as :func:`chunks` does, keeping only what was found.

    Raises:
        DataError: plain text that is not UTF-8 (naming its line).
    """
    out = Checked()
    if fmt == "text":
        for n, raw in source.lines(start, stop):
            if _decode_text(source, n, raw).strip():
                out.documents += 1
                out.ids.append(hash(str(n)))
            else:
                out.counts["blank"] += 1
        return out
    policy = "outer" if nested == "keep" else nested
    for first, block in _blocks(source, start, stop):
        result = read_jsonl_bytes(b"\n".join(block), source.name, nested=policy, first_line=first)
        out.errors += result.errors
        out.documents += len(result.documents)
        out.ids.extend(hash(d.id) for d in result.documents)
        if nested != "keep":
            out.counts["dropped_nested"] += result.stats["dropped_nested"]
    repeated = _repeated(out.ids)
    if repeated:  # ids repeated across blocks (a block reports its own)
        out.errors += _repeated_ids(source, start, stop, policy, repeated)
        out.errors.sort(key=lambda e: e.line or 0)
    return out


def _repeated(ids: array) -> set[int]:
    hashes = np.frombuffer(ids, dtype=np.int64) if len(ids) else np.zeros(0, np.int64)
    hashes = np.sort(hashes)
    return set(hashes[1:][hashes[1:] == hashes[:-1]].tolist())


def _repeated_ids(
    source: Source, start: int, stop: int, nested: str, repeated: set[int]
) -> list[DataError]:
    seen: dict[str, int] = {}
    errors = []
    for first, block in _blocks(source, start, stop):
        result = read_jsonl_bytes(b"\n".join(block), source.name, nested=nested, first_line=first)
        for doc in result.documents:
            if hash(doc.id) not in repeated:
                continue
            line = result.locations[doc.id][1]
            if doc.id in seen:
                errors.append(
                    DataError(
                        f"duplicate document id {doc.id!r}, first seen at "
                        f"{source.name}:{seen[doc.id]}",
                        path=source.name,
                        line=line,
                        doc_id=doc.id,
                        fix="give every document a unique id",
                    )
                )
            else:
                seen[doc.id] = line
    return errors


def chunks(
    source: Source, fmt: str, start: int, stop: int, nested: str, size: int
) -> Iterator[list[Document]]:
    """The documents of lines ``[start, stop)`` in order, a chunk of ``size`` lines at a time.

    Chunks are cut at multiples of ``size`` counted from line 1, whatever ``start``
    is, so every shard and every resumed run cuts the same chunks. Plain text: one
    document per non-blank line, its id the line number. JSONL: the documents as
    :func:`araevent.formats.jsonl.read_jsonl_bytes` reads them (``nested`` ``keep`` keeps every
    input span, overlapping ones included).
    """
    policy = "outer" if nested == "keep" else nested
    block: list[bytes] = []
    first = start + 1
    for n, raw in source.lines(start, stop):
        if not block:
            first = n
        block.append(raw)
        if n % size == 0 or n == stop:
            yield _chunk_documents(source, fmt, first, block, policy, nested)
            block = []
    if block:
        yield _chunk_documents(source, fmt, first, block, policy, nested)


def _chunk_documents(
    source: Source, fmt: str, first: int, block: list[bytes], policy: str, nested: str
) -> list[Document]:
    if fmt == "text":
        docs = []
        for n, raw in enumerate(block, start=first):
            text = _decode_text(source, n, raw)
            if text.strip():
                docs.append(Document(str(n), text))
        return docs
    result = read_jsonl_bytes(b"\n".join(block), source.name, nested=policy, first_line=first)
    if nested != "keep" or not result.stats["dropped_nested"]:
        return result.documents
    return [
        _all_input_spans(doc, block[result.locations[doc.id][1] - first].decode("utf-8"))
        for doc in result.documents
    ]


def _all_input_spans(doc: Document, line: str) -> Document:
    """``doc`` with every span of its JSONL line, overlapping ones included (--nested keep)."""
    r, _ = parse_line(line, path=None, line_no=None, nested=KEEP_ALL)
    assert r.document is not None, f"{doc.id}: read once, it cannot fail the second time"
    return r.document


# --- resume -------------------------------------------------------------------


@dataclass
class Resume:
    """An unfinished JSONL output: the file, its complete lines' ids and where they end."""

    path: Path
    ids: array
    end: int  # bytes of complete lines; anything after is a half-written line
    half_line: bool


def read_partial(path: Path) -> Resume:
    """The complete lines of an unfinished JSONL output (a half-written last line is not).

    Raises:
        UsageError: a complete line is not a JSON document with an id.
    """
    ids = array("q")
    end = 0
    half = False
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                half = True
                break
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None
            if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
                raise UsageError(
                    f"--resume: {path}:{n} is not a document line of araevent predict; "
                    "it is not this command's output (remove it, or choose another --output)"
                )
            ids.append(hash(obj["id"]))
            end += len(raw)
    return Resume(path, ids, end, half)


def check_resume(resume: Resume, expected: array, name: str) -> None:
    """Refuse to resume an output whose documents are not the first ones of this input.

    Raises:
        UsageError: more documents than the input has, or an id out of place.
    """
    done = len(resume.ids)
    if done > len(expected):
        raise UsageError(
            f"--resume: {resume.path} holds {done} documents but {name} has {len(expected)} "
            "(in this shard); it is not this input's output (remove it, or choose another "
            "--output)"
        )
    for i in range(done):
        if resume.ids[i] != expected[i]:
            raise UsageError(
                f"--resume: {resume.path}:{i + 1} is not document {i + 1} of {name}; the "
                "output comes from another input or shard (remove it, or choose another "
                "--output)"
            )


# --- writers ------------------------------------------------------------------


class Writer:
    """Writes documents one by one; :meth:`finish` moves the output into place."""

    def write(self, doc: Document) -> None:
        """Write one document."""
        raise NotImplementedError

    def finish(self) -> None:
        """Complete the output (nothing to do for stdout)."""

    def abort(self) -> str | None:
        """Remove what was written; a note for the user when something is kept."""
        return None


class StdoutWriter(Writer):
    """JSONL or CoNLL lines straight to standard output."""

    def __init__(self, render) -> None:
        self.render = render

    def write(self, doc: Document) -> None:
        """Write one document."""
        sys.stdout.write(self.render(doc))

    def finish(self) -> None:
        """Complete the output and move it into place."""
        sys.stdout.flush()


class FileWriter(Writer):
    """JSONL or CoNLL to a file beside the target, moved into place by :meth:`finish`.

    JSONL goes to ``OUTPUT.partial`` (kept after a failure for ``--resume``), CoNLL
    to a hidden temporary file (removed after a failure).
    """

    def __init__(self, target: Path, render, *, keep: bool, resume: Resume | None = None):
        self.target, self.render, self.keep = target, render, keep
        target.parent.mkdir(parents=True, exist_ok=True)
        if keep:
            self.tmp = partial_path(target)
            if resume is not None:
                with open(self.tmp, "r+b") as f:  # drop a half-written last line
                    f.truncate(resume.end)
            self.file = open(self.tmp, "ab" if resume is not None else "wb")  # noqa: SIM115
        else:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            self.tmp, self.file = Path(tmp), os.fdopen(fd, "wb")
            os.chmod(self.tmp, 0o666 & ~_umask())
        self.written = len(resume.ids) if resume is not None else 0

    def write(self, doc: Document) -> None:
        """Write one document."""
        self.file.write(self.render(doc).encode("utf-8"))
        self.file.flush()
        self.written += 1

    def finish(self) -> None:
        """Complete the output and move it into place."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.tmp, self.target)

    def abort(self) -> str | None:
        """Remove what was written; a note for the user when something is kept."""
        self.file.close()
        if self.keep and self.tmp.exists():
            return (
                f"{self.written} document(s) are in {self.tmp}; rerun with --resume to "
                "continue from there"
            )
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()
        return None


class BratWriter(Writer):
    """brat pairs written one by one into a staging folder, moved into the target at the end."""

    def __init__(self, target: Path, overwrite: bool, prepare=None) -> None:
        self.target, self.prepare = target, prepare or (lambda doc: doc)
        self.tmp = brat_staging(target, overwrite)
        self.types = BratTypes()
        self.names: list[str] = []

    def write(self, doc: Document) -> None:
        """Write one document."""
        doc = self.prepare(doc)
        ann = brat_ann(doc, self.types)
        for name, data in ((f"{doc.id}.txt", doc.text), (f"{doc.id}.ann", ann)):
            write_staged(self.tmp / name, data.encode("utf-8"))
            self.names.append(name)

    def finish(self) -> None:
        """Complete the output and move it into place."""
        write_staged(self.tmp / "annotation.conf", self.types.conf())
        finish_brat(self.tmp, self.target, [*self.names, "annotation.conf"])
        self.abort()

    def abort(self) -> str | None:
        """Remove what was written; a note for the user when something is kept."""
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)
        return None


class LabelStudioWriter(Writer):
    """One JSON list of tasks, written task by task (the list is closed by :meth:`finish`).

    The list is written to a hidden file beside the target and moved into place
    with its labelling config, so the target is always a whole, valid list.
    """

    def __init__(self, target: Path, task, labels: dict[str, Any], roles=()) -> None:
        self.target, self.task, self.labels, self.roles = target, task, labels, tuple(roles)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        self.tmp, self.file = Path(tmp), os.fdopen(fd, "w", encoding="utf-8")
        os.chmod(self.tmp, 0o666 & ~_umask())
        self.count = 0

    def write(self, doc: Document) -> None:
        """Write one document."""
        # json.dumps of the whole list, item by item: the same bytes, one task in memory
        item = json.dumps([self.task(doc)], ensure_ascii=False, indent=1)[2:-2]
        self.file.write(("[\n" if self.count == 0 else ",\n") + item)
        self.count += 1

    def finish(self) -> None:
        """Complete the output and move it into place."""
        from araevent.formats import labelstudio  # its atomic_write_bytes writes the config

        self.file.write("\n]\n" if self.count else "[]\n")
        self.file.close()
        conf = labelstudio.config_path(self.target)
        try:
            config = labelstudio.label_config(self.labels, self.roles)
            labelstudio.atomic_write_bytes(conf, config.encode())
        except OSError as exc:
            self.abort()
            raise UsageError(f"cannot write {conf}: {exc.strerror or exc}") from None
        os.replace(self.tmp, self.target)

    def abort(self) -> str | None:
        """Remove what was written; a note for the user when something is kept."""
        if not self.file.closed:
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()
        return None


def partial_path(target: Path) -> Path:
    """Where an unfinished JSONL output is kept: ``OUTPUT.partial``."""
    return target.with_name(target.name + PARTIAL)
