"""Kept for compatibility: Label Studio moved to :mod:`araevent.formats.labelstudio`."""

from araevent.formats import labelstudio as _moved


def __getattr__(name: str):
    return getattr(_moved, name)
