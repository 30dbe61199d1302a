"""Kept for compatibility: ``from araevent.io import NAME`` finds NAME where it moved.

The readers are in :mod:`araevent.formats`, the writers in :mod:`araevent.writing`.
"""

from araevent import formats, writing
from araevent.formats import base, brat, conll, hub, jsonl

_RENAMED = {"_drop_none": "drop_none", "_umask": "umask", "_check_layers": "check_layers"}


def __getattr__(name: str):
    for module in (formats, writing, base, jsonl, conll, brat, hub):
        if hasattr(module, _RENAMED.get(name, name)):
            return getattr(module, _RENAMED.get(name, name))
    raise AttributeError(f"module 'araevent.io' has no attribute {name!r}")
