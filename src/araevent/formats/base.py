"""What every format shares: the read result, lines, the nested policy and atomic files.

A reader never stops at the first problem: it fills a :class:`ReadResult` with
every document that is clean, every error (each naming the file, line, document
id and the fix), counters and notices. Writers are atomic: a temporary file in
the target's directory is moved into place only when everything has been written.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from araevent.errors import DataError, UsageError
from araevent.labels import LAYERS
from araevent.schema import CheckedSpans, Document, Span

DROP_REASONS = {
    "dropped_nested": "nested spans dropped (--nested {nested} keeps one span of each "
    "overlapping pair)",
    "dropped_layer": "spans dropped (their layer is not selected by --layers)",
    "dropped_arguments": "arguments dropped with their triggers (by --nested {nested} or --layers)",
}


@dataclass
class ReadResult:
    """What reading produced: clean documents, every error, counters and notices.

    ``locations`` maps each document id to the ``(path, line)`` it came from.
    """

    documents: list[Document] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)
    stats: collections.Counter = field(default_factory=collections.Counter)
    notes: list[str] = field(default_factory=list)
    locations: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    @property
    def dropped(self) -> dict[str, int]:
        """Spans the reading dropped, per reason (``nested``, ``layer``); empty when none."""
        return {
            key.removeprefix("dropped_"): self.stats[key] for key in DROP_REASONS if self.stats[key]
        }

    def add(self, doc: Document, path: str, line: int | None) -> None:
        """Append ``doc``, or record an error naming both places if its id is taken."""
        if doc.id in self.locations:
            first_path, first_line = self.locations[doc.id]
            first = f"{first_path}:{first_line}" if first_line is not None else first_path
            self.errors.append(
                DataError(
                    f"duplicate document id {doc.id!r}, first seen at {first}",
                    path=path,
                    line=line,
                    doc_id=doc.id,
                    fix="give every document a unique id",
                )
            )
            return
        self.locations[doc.id] = (path, line)
        self.documents.append(doc)


class Documents(list):
    """A list of documents that also says what reading dropped (``dropped``: reason → count)."""

    dropped: dict[str, int]

    def __init__(self, docs: Iterable[Document] = (), dropped: dict[str, int] | None = None):
        super().__init__(docs)
        self.dropped = dict(dropped or {})


def describe_dropped(dropped: dict[str, int], nested: str = "") -> list[str]:
    """One phrase per reason: ``3 nested/overlapping spans dropped by --nested outer``."""
    return [
        f"{n} {DROP_REASONS['dropped_' + reason].format(nested=nested)}"
        for reason, n in dropped.items()
    ]


def count_arguments(spans: Iterable[Span]) -> int:
    """How many arguments ``spans`` (triggers) carry."""
    return sum(len(s.arguments or ()) for s in spans)


# --- shared helpers -----------------------------------------------------------


def check_layers(layers: Sequence[str] | None, what: str) -> tuple[str, ...]:
    """``layers`` as a tuple of known layers, each at most once.

    Raises:
        UsageError: an unknown or repeated layer, or none.
    """
    layers = tuple(layers or ())
    bad = [x for x in layers if x not in LAYERS]
    if bad or len(set(layers)) != len(layers) or not layers:
        raise UsageError(
            f"{what} {list(layers)} is invalid; give each of {', '.join(LAYERS)} at most once"
        )
    return layers


def read_lines(
    path: Path, data: bytes | None = None, first_line: int = 1
) -> tuple[list[tuple[int, str | None]], dict[int, tuple[str, str]]]:
    """Numbered lines decoded one by one (a UTF-8 BOM is dropped); ``data`` is the file's bytes.

    ``first_line``: the number of ``data``'s first line (a BOM is dropped only from line 1).

    Returns:
        ``(lines, bad)``: a line that is not UTF-8 is ``None`` in ``lines`` and
        ``bad[n]`` holds ``(what is wrong, the line decoded with replacements)``.
    """
    data = path.read_bytes() if data is None else data
    if first_line == 1 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    lines: list[tuple[int, str | None]] = []
    bad: dict[int, tuple[str, str]] = {}
    for n, raw in enumerate(data.split(b"\n"), start=first_line):
        try:
            lines.append((n, raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            what = f"line is not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}"
            bad[n] = (what, raw.decode("utf-8", "replace"))
            lines.append((n, None))
    return lines, bad


def not_utf8(path: Path | str, line: int, what: str, doc_id: str | None) -> DataError:
    """The error of a line that is not UTF-8 (``what`` from :func:`read_lines`)."""
    return DataError(
        what, path=str(path), line=line, doc_id=doc_id, fix="re-save the file as UTF-8"
    )


def add_checked(result: ReadResult, checked: CheckedSpans) -> None:
    """Add the errors and counters of :func:`araevent.schema.check_spans` to ``result``."""
    result.errors += checked.errors
    result.stats["nested"] += checked.nested
    result.stats["dropped_nested"] += checked.dropped_nested
    result.stats["dropped_arguments"] += checked.dropped_arguments


# --- atomic files -------------------------------------------------------------


def umask() -> int:
    """The process umask (read without changing it for long)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
