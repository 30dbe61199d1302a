"""Kept for compatibility: ``from araevent.io import NAME`` finds NAME where it moved.

The readers are in :mod:`araevent.formats`, the writers in :mod:`araevent.writing`.
"""

from araevent import formats, writing
from araevent.formats import base, brat, conll, hub, jsonl


def __getattr__(name: str):
    for module in (formats, writing, base, jsonl, conll, brat, hub):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'araevent.io' has no attribute {name!r}")
