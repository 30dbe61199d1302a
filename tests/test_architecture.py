"""The house: araevent's modules import only downward, and no import cycle exists.

Every ``araevent`` import in ``src/araevent`` counts, at module level and inside
functions (a function-level import hides a cycle; it does not remove it). A
module new to ``src/araevent`` must be given a layer in :data:`LAYERS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

SRC = ROOT / "src"
PACKAGE = SRC / "araevent"

# Bottom to top: a module may import its own layer and the layers below it.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"errors", "labels", "provenance", "resources"}),
    ("schema", {"schema"}),
    ("formats", {"formats", "markup", "ace2005", "streaming", "ranks"}),
    ("text", {"text"}),
    ("tagging", {"tagging", "perturb", "writing"}),
    ("scoring", {"bootstrap", "evaluation", "mistakes", "pairing"}),
    ("reports", {"reporting", "compare"}),
    ("modeling", {"modeling", "tokenizer_pipeline"}),
    ("settings", {"config", "runfolder", "splits", "checkpoints"}),
    ("inference", {"arguments", "predict"}),
    ("fitting", {"trainers", "augmentation"}),
    (
        "runs",
        {
            "training",
            "argument_training",
            "evaluating",
            "parity",
            "hub",
            "hub_card",
            "hub_folder",
            "robustness",
        },
    ),
    # io and labelstudio: kept for compatibility, they forward to formats and writing
    ("interface", {"araevent", "entrypoints", "cli", "commands", "io", "labelstudio"}),
]

# Upward imports that exist today, each with its reason; the test fails when one
# is gone, so that the entry is removed with it.
KNOWN_UPWARD = {
    ("hub_card", "araevent"): "the model card reads araevent.__version__ from the package",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def short(name: str) -> str:
    """``araevent.commands.score`` -> ``commands.score``; the package itself stays ``araevent``."""
    return name.removeprefix("araevent.") if name != "araevent" else name


def layer_of(name: str) -> int | None:
    s = short(name)
    for i, (_, members) in enumerate(LAYERS):
        if s in members or s.split(".")[0] in members - {"araevent"}:
            return i
    return None


def imports_of(path: Path, me: str | None = None) -> dict[str, int]:
    """``{imported araevent module: first line}`` for every import in the file, at any depth."""
    me = me or module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from araevent.commands import score`` imports the submodule.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for t in targets:
            while t and t not in MODULES and "." in t:
                t = t.rpartition(".")[0]
            if t in MODULES and t != me:
                out.setdefault(t, node.lineno)
    return out


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    missing = sorted(short(m) for m in MODULES if layer_of(m) is None)
    assert missing == [], f"declare these modules' layer in LAYERS of {__file__}: {missing}"


def upward_imports(graph: dict[str, dict[str, int]]) -> tuple[list[str], set[tuple[str, str]]]:
    """Each import of a layer above, as ``file:line: what``, and every upward edge seen."""
    upward, seen = [], set()
    for name, targets in graph.items():
        for target, line in targets.items():
            me, it = layer_of(name), layer_of(target)
            if me is None or it is None or it <= me:
                continue
            edge = (short(name), short(target))
            seen.add(edge)
            if edge not in KNOWN_UPWARD:
                where = MODULES[name].relative_to(ROOT) if name in MODULES else name
                upward.append(
                    f"{where}:{line}: {edge[0]} ({LAYERS[me][0]}) imports {edge[1]} "
                    f"({LAYERS[it][0]}), a layer above it"
                )
    return upward, seen


def test_imports_only_go_downward():
    upward, seen = upward_imports(GRAPH)
    assert upward == []
    stale = sorted(set(KNOWN_UPWARD) - seen)
    assert stale == [], f"remove these from KNOWN_UPWARD, they no longer happen: {stale}"


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(short(m) for m in cycle)


def test_the_checks_see_function_level_imports_upward_edges_and_cycles(tmp_path):
    # the import cycle this layout removed: reporting <-> training, through functions
    reporting, training = tmp_path / "reporting.py", tmp_path / "training.py"
    reporting.write_text(
        "import json\n\n\ndef finish_run():\n    from araevent.training import DevScorer\n"
    )
    training.write_text("def _train():\n    if True:\n        from araevent import reporting\n")
    graph = {
        "araevent.reporting": imports_of(reporting, "araevent.reporting"),
        "araevent.training": imports_of(training, "araevent.training"),
    }
    assert graph == {
        "araevent.reporting": {"araevent.training": 5},
        "araevent.training": {"araevent.reporting": 3},
    }
    assert find_cycle(graph) == ["araevent.reporting", "araevent.training", "araevent.reporting"]
    upward, _ = upward_imports(graph)
    assert upward == [
        "src/araevent/reporting.py:5: reporting (reports) imports training (runs), a layer above it"
    ]
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "d": {"a": 1}}) is None


MAX_LINES = 500  # a module longer than this says at its top why it is one file


def test_a_long_module_says_why_it_is_one_file():
    unexplained = []
    for path in MODULES.values():
        source = path.read_text("utf-8")
        n = len(source.splitlines())
        doc = ast.get_docstring(ast.parse(source)) or ""
        paragraphs = doc.split("\n\n")
        if n > MAX_LINES and not (len(paragraphs) > 1 and paragraphs[1].startswith("One file (")):
            unexplained.append(f"{path.relative_to(ROOT)} ({n} lines)")
    assert unexplained == [], (
        "split these modules, or say why each is one file in the second paragraph of its "
        f"docstring ('One file (~N lines): why'): {unexplained}"
    )
