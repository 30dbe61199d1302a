"""Write ``src/araevent/resources/char_classes.json`` for this Python's Unicode version.

    python scripts/char_classes.py

The unit rules' character classes (whitespace, punctuation and symbols, marks, format
characters) as code-point ranges, so that training and saving a model never scan all
1.1 M code points; ``tests/test_text.py`` checks the file against a fresh scan.
"""

from __future__ import annotations

import sys
from pathlib import Path

from araevent.text import CHAR_CLASSES_FILE, char_classes_json

OUT = Path(__file__).resolve().parents[1] / "src" / "araevent" / "resources" / CHAR_CLASSES_FILE

if __name__ == "__main__":
    OUT.write_text(char_classes_json(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
