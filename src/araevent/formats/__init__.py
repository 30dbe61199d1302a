"""Readers and writers of the data formats: JSONL, CoNLL, brat, Label Studio, Hub datasets.

One module per format (:mod:`~araevent.formats.jsonl`, :mod:`~araevent.formats.conll`,
:mod:`~araevent.formats.brat`, :mod:`~araevent.formats.labelstudio`,
:mod:`~araevent.formats.hub`); what they share is in :mod:`~araevent.formats.base`,
reading any file by its name in :mod:`~araevent.formats.files`. Every reader
checks spans with :func:`araevent.schema.check_spans` and gives each span the
place it was read from (``span.origin``). Writing documents, CoNLL included
(which needs units and tags), is :mod:`araevent.writing`.
"""

from araevent.formats.base import (
    DROP_REASONS,
    Documents,
    ReadResult,
    atomic_write_bytes,
    count_arguments,
    describe_dropped,
)
from araevent.formats.brat import BRAT_NAMES, check_brat_target
from araevent.formats.files import (
    FORMATS,
    SUFFIXES,
    detect_format,
    load_documents,
    read_documents,
    read_many,
)
from araevent.formats.hub import hub_documents, load_hub_split
from araevent.formats.jsonl import decode_json_line, parse_line, read_jsonl_bytes
from araevent.formats.labelstudio import (
    config_path,
    label_config,
    read_labelstudio,
    to_task,
    write_tasks,
)

__all__ = [
    "BRAT_NAMES",
    "DROP_REASONS",
    "FORMATS",
    "SUFFIXES",
    "Documents",
    "ReadResult",
    "atomic_write_bytes",
    "check_brat_target",
    "config_path",
    "count_arguments",
    "decode_json_line",
    "describe_dropped",
    "detect_format",
    "hub_documents",
    "label_config",
    "load_documents",
    "load_hub_split",
    "parse_line",
    "read_documents",
    "read_jsonl_bytes",
    "read_labelstudio",
    "read_many",
    "to_task",
    "write_tasks",
]
