"""Errors raised for bad user input and bad data."""

from __future__ import annotations


class AraEventError(Exception):
    """Base class for every error araevent reports to a user."""


class DataError(AraEventError):
    """A data file is malformed: the message names the file, line, document and the fix."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        doc_id: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.doc_id = doc_id
        self.fix = fix
        self.reason = message
        super().__init__(format_location(path, line, doc_id, message, fix))


class UsageError(AraEventError):
    """The user asked for something that cannot work (bad option, missing file)."""


def format_location(
    path: str | None, line: int | None, doc_id: str | None, message: str, fix: str | None = None
) -> str:
    """Render ``path:line: doc-id: message (fix)`` leaving out the parts that are unknown."""
    parts = []
    if path is not None:
        parts.append(f"{path}:{line}" if line is not None else str(path))
    if doc_id is not None:
        parts.append(str(doc_id))
    parts.append(message + (f" ({fix})" if fix else ""))
    return ": ".join(parts)
