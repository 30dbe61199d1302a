"""Frozen table of the proclitic rule (README, "The proclitic rule").

Each row of ``data/proclitic_table.tsv`` is ``word<TAB>units`` with the units joined by
`` | ``. The rows were written from the rule, with words looked up against the shipped
known-word list only; a failing row means the code and the rule disagree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from araevent.text import KnownWords, split_units

TABLE = Path(__file__).parent / "data" / "proclitic_table.tsv"
SEP = " | "


def _load() -> list[tuple[int, str, list[str]]]:
    rows = []
    for number, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        word, units = line.split("\t")
        rows.append((number, word, units.split(SEP)))
    return rows


ROWS = _load()
IDS = [str(number) for number, _, _ in ROWS]


def test_table_is_well_formed():
    assert len(ROWS) >= 200
    words = [word for _, word, _ in ROWS]
    assert len(words) == len(set(words)), "duplicate words in the table"
    for _, word, units in ROWS:
        assert word == word.strip() and word
        assert all(units), word
        assert "".join(units) == "".join(word.split()), word


@pytest.mark.parametrize(("number", "word", "expected"), ROWS, ids=IDS)
def test_units(number: int, word: str, expected: list[str]):
    units = split_units(word, KnownWords.shipped())
    assert [u.text for u in units] == expected, f"row {number}: {word!r}"


@pytest.mark.parametrize(("number", "word", "expected"), ROWS, ids=IDS)
def test_offsets(number: int, word: str, expected: list[str]):
    units = split_units(word, KnownWords.shipped())
    for u in units:
        assert word[u.start : u.end] == u.text, f"row {number}: {u}"
    assert [u.start for u in units] == sorted(u.start for u in units)
    assert "".join(u.text for u in units) == "".join(word.split()), f"row {number}: {word!r}"
