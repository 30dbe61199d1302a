"""araevent: Arabic event and entity extraction with character-exact spans."""

from araevent.schema import Document, Span

__version__ = "0.1.0"

__all__ = ["Document", "Extractor", "Span", "__version__"]


def __getattr__(name: str):
    # Extractor pulls in torch and transformers; import it only when asked for.
    if name == "Extractor":
        from araevent.predict import Extractor

        return Extractor
    raise AttributeError(f"module 'araevent' has no attribute {name!r}")
