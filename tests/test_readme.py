"""The README's examples are real: its JSON document parses and its commands exist."""

from __future__ import annotations

import json
import re

from araevent.schema import parse_document
from conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def test_readme_json_example_is_a_valid_document():
    block = re.search(r"```json\n(.*?)```", README, re.S).group(1)
    result = parse_document(json.loads(block))
    assert result.errors == []
    doc = result.document
    assert [doc.text[s.start : s.end] for s in doc.entities] == ["عمّان"]


def test_readme_names_the_two_commands_and_every_cli_command():
    from araevent.cli import COMMANDS

    assert "make train" in README and "make test" in README
    for name in COMMANDS:
        assert f"araevent {name}" in README, name
