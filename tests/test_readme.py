"""The README is a landing page whose examples are real, and every page's figures have a source."""

from __future__ import annotations

import importlib.util
import json
import re

from araevent.schema import parse_document
from conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _refresh_module():
    spec = importlib.util.spec_from_file_location("refresh_docs", ROOT / "scripts/refresh_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_readme_is_a_landing_page_and_its_links_resolve():
    assert len(README.splitlines()) <= 200
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            assert (page.parent / target).exists(), (page.name, target)


def test_every_marked_figure_is_regenerated_from_the_named_run(tmp_path):
    refresh = _refresh_module()
    metrics = {
        "test/entities/span/f1": 0.5,
        "test/entities/span/precision": 0.25,
        "test/entities/span/recall": 1.0,
        "test/entities/span/support": 4,
    }
    text = (
        "a\n<!-- table: test -->\nSTALE\n<!-- /table -->\n"
        "<!-- output: echo hi -->\n```\nSTALE\n```\n"
    )
    new = refresh.refresh(text, metrics, tmp_path, "python")
    assert "| entities | 25.0 | 100.0 | 50.0 |" in new and "STALE" not in new
    base = "test/gold_triggers/arguments"
    for view, value in (("identification", 0.5), ("classification", 0.25)):
        for m in ("precision", "recall", "f1"):
            metrics[f"{base}/{view}/span/{m}"] = value
    metrics[f"{base}/classification/span/support"] = 8
    args = refresh.refresh(
        "<!-- table: test arguments -->\n<!-- /table -->\n", metrics, tmp_path, "python"
    )
    row = "| argument model, gold triggers | 50.0 | 50.0 | 50.0 | 25.0 | 25.0 | 25.0 | 8 |"
    assert row in args.splitlines()
    assert new.endswith("<!-- output: echo hi -->\n```\nhi\n```\n")
    # every marker on the real pages is well formed (refresh exits on a marker without a block)
    for page in PAGES:
        text = page.read_text("utf-8")
        for m in refresh.MARKER.finditer(text):
            if m.group(1) == "table":
                assert refresh.TABLE_END in text[m.end() :], page.name
            else:
                assert refresh.FENCE.match(text, m.end()), (page.name, m.group(0))


def _tour_commands() -> list[list[str]]:
    """The quick tour's `araevent ...` lines, comments removed, split into arguments."""
    block = re.search(r"## A quick tour\n\n```bash\n(.*?)```", README, re.S).group(1)
    lines = [line.split("#")[0].split() for line in block.splitlines()]
    return [words[1:] for words in lines if words and words[0] == "araevent"]


def test_readme_tour_runs_against_a_trained_run(tiny_run, tmp_path, monkeypatch, capsys):
    """The quick tour's predict/validate/convert lines and its Python snippet, run as written
    with the run folder and input files put in place of the placeholders."""
    from araevent.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(ROOT / "data")
    (tmp_path / "news.txt").write_text("التقى وزير الخارجية الأردني نظيره الفرنسي في عمّان.\n")
    (tmp_path / "corpus.conll").write_text("التقى\tO\tB-Contact:Meet\nفي\tO\tO\nعمّان\tB-GPE\tO\n\n")
    ran = []
    for argv in _tour_commands():
        argv = [str(tiny_run) if a == "outputs/train/<run>" else a for a in argv]
        if argv[0] == "publish":
            continue  # tests/test_publish.py runs the dry run
        if argv[0] == "validate":
            argv = [a for a in argv if "*" not in a] + ["data/sample/dev.jsonl"]
            argv.insert(1, "--nested=outer")
        assert main(argv) == 0, argv
        ran.append(argv[0])
    assert sorted(set(ran)) == ["convert", "predict", "validate"]
    assert (tmp_path / "ls" / "tasks.json").exists()
    converted = json.loads((tmp_path / "corpus.jsonl").read_text("utf-8"))
    assert [t["label"] for t in converted["triggers"]] == ["Contact:Meet"]
    assert [e["text"] for e in converted["entities"]] == ["عمّان"]

    snippet = re.search(r"```python\n(from araevent import Extractor.*?)```", README, re.S)
    code = snippet.group(1).replace("outputs/train/<run>", str(tiny_run))
    capsys.readouterr()
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("[") and printed.rstrip().endswith("]")
