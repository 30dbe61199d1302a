"""Label Studio: pre-annotation tasks, their labelling config, and the export reader.

One file (~740 lines): tasks, labelling config and the export reader share the control
names and the region layout, and must stay each other's inverse.

Tasks carry the text in ``data.text`` and the document id in ``data.doc_id``;
other document keys ride along in ``data``. Spans are ``labels`` results on one
``<Text name="text">``: entities from the ``<Labels name="entities">`` control,
triggers from ``<Labels name="triggers">``. The model's spans go to
``predictions`` (each result with its score); spans the documents already hold
go to ``annotations``. Offsets are code points, as Label Studio stores them
since its frontend fixed astral characters; older versions count UTF-16 units,
which differ only after a character beyond U+FFFF (an emoji). The reader
decides per task, never per span: a task where some span reads right only as
UTF-16 units is converted whole (counted in ``stats["utf16_offsets"]``); a
task whose spans read right both ways follows the rest of the export, and
where the export says nothing either way it is read as UTF-16 units (what the
browser measures) and reported as ambiguous (``offsets="code_points"`` or
``"utf16"`` decides instead). A task whose spans need both is an error.

Arguments are relations (``type: relation``) from the trigger's region
(``from_id``) to the argument's region (``to_id``), the role as the relation's
one label; the config lists the roles in a ``<Relations>`` block. An argument
span that is no entity is a region of the ``<Labels name="arguments">``
control (label ``Argument``). A trigger with relations is annotated for
arguments; one without is not (``arguments`` is ``None``) unless its region
carries the per-region choice ``NoArguments`` (``<Choices
name="no_arguments">``): annotated, with none.

The reader takes Label Studio's JSON export (a list of tasks) and builds one
document per task from its annotation (the one marked ground truth, else the
last that was not cancelled). Other results (and argument regions that no
relation uses) are counted and reported, not imported.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from araevent.errors import DataError, UsageError
from araevent.formats.base import ReadResult, add_checked, atomic_write_bytes
from araevent.labels import LAYERS, PRESETS, LabelSet, is_valid_label
from araevent.schema import (
    DEFAULT_NESTED,
    NESTED_POLICIES,
    Argument,
    Document,
    Origin,
    Span,
    check_spans,
    is_score,
)

TEXT_NAME = "text"
ID_KEY = "doc_id"
DEFAULT_FROM_NAMES = {"entities": "entities", "triggers": "triggers", "label": "entities"}
OFFSET_UNITS = ("auto", "code_points", "utf16")
ARGUMENTS_NAME = "arguments"  # the control of argument spans that are no entity
ARGUMENT_LABEL = "Argument"
NO_ARGUMENTS_NAME = "no_arguments"  # the per-region choice of a trigger with no arguments
NO_ARGUMENTS = "NoArguments"
_SURROGATE = re.compile("[\ud800-\udfff]")
_PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000",
    "#ffd8b1", "#000075", "#a9a9a9",
)  # fmt: skip


def config_path(tasks_path: str | os.PathLike) -> Path:
    """Where the labelling config goes beside a tasks file: ``X.json`` → ``X.label_config.xml``."""
    p = Path(tasks_path)
    return p.with_name(f"{p.stem}.label_config.xml")


def label_config(labels: Mapping[str, Sequence[str]], roles: Sequence[str] = ()) -> str:
    """The labelling config (XML): one ``<Labels>`` control per layer over one ``<Text>``.

    Args:
        labels: span types per layer (``{"entities": [...], "triggers": [...]}``);
            a layer with no types gets no control.
        roles: argument roles; when given, the ``arguments`` control (argument spans
            that are no entity), a ``<Relations>`` block of the roles and the per-region
            ``no_arguments`` choice for triggers annotated with none.

    Returns:
        The XML, right-to-left, with each label's description (from the presets) as its hint.
    """
    hints: dict[str, str] = {}
    for preset in PRESETS.values():
        for layer in LAYERS:
            hints.update((preset.entities if layer == "entities" else preset.triggers) or {})
    lines = ["<View>"]
    colour = 0
    for layer in LAYERS:
        names = sorted(set(labels.get(layer, ())))
        if not names:
            continue
        lines.append(f'  <Labels name="{layer}" toName="{TEXT_NAME}" showInline="true">')
        for name in names:
            background = _PALETTE[colour % len(_PALETTE)]
            attrs = f"value={quoteattr(name)} background={quoteattr(background)}"
            if name in hints:
                attrs += f" hint={quoteattr(hints[name])}"
            lines.append(f"    <Label {attrs}/>")
            colour += 1
        lines.append("  </Labels>")
    if roles:
        lines += [
            f'  <Labels name="{ARGUMENTS_NAME}" toName="{TEXT_NAME}" showInline="true">',
            f'    <Label value="{ARGUMENT_LABEL}" background="#808080" '
            'hint="an argument span that is no entity"/>',
            "  </Labels>",
            "  <Relations>",
            *(f"    <Relation value={quoteattr(r)}/>" for r in sorted(set(roles))),
            "  </Relations>",
            f'  <Choices name="{NO_ARGUMENTS_NAME}" toName="{TEXT_NAME}" perRegion="true">',
            f'    <Choice value="{NO_ARGUMENTS}" hint="this trigger has no arguments"/>',
            "  </Choices>",
        ]
    lines += [
        '  <View style="direction: rtl; text-align: right">',
        f'    <Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>',
        "  </View>",
        "</View>",
        "",
    ]
    return "\n".join(lines)


def _region(rid: str, control: str, kind: str, start: int, end: int, value: dict, text: str):
    return {
        "id": rid,
        "from_name": control,
        "to_name": TEXT_NAME,
        "type": kind,
        "value": {"start": start, "end": end, "text": text[start:end], **value},
    }


def _results(spans: Mapping[str, Sequence[Span]], text: str, scores: bool) -> list[dict]:
    """Regions of the spans, then argument regions, relations and ``NoArguments`` choices."""
    out = []
    region_of: dict[tuple[int, int], str] = {}  # an entity's span -> its region
    for layer in LAYERS:
        for i, s in enumerate(sorted(spans.get(layer, ()), key=lambda s: (s.start, s.end))):
            item = _region(f"{layer[0]}{i}", layer, "labels", s.start, s.end, {}, text)
            item["value"]["labels"] = [s.label]
            if scores and s.score is not None:
                item["score"] = round(float(s.score), 6)
            out.append(item)
            if layer == "entities":
                region_of.setdefault((s.start, s.end), item["id"])
    triggers = sorted(spans.get("triggers", ()), key=lambda s: (s.start, s.end))
    only = sorted({(a.start, a.end) for t in triggers for a in t.arguments or ()} - set(region_of))
    for i, (a, b) in enumerate(only):
        region_of[(a, b)] = f"a{i}"
        out.append(_region(f"a{i}", ARGUMENTS_NAME, "labels", a, b, {}, text))
        out[-1]["value"]["labels"] = [ARGUMENT_LABEL]
    for i, t in enumerate(triggers):
        for arg in sorted(t.arguments or (), key=lambda x: (x.start, x.end, x.role)):
            out.append(
                {
                    "type": "relation",
                    "from_id": f"t{i}",
                    "to_id": region_of[(arg.start, arg.end)],
                    "direction": "right",
                    "labels": [arg.role],
                }
            )
        if t.arguments == ():
            value = {"choices": [NO_ARGUMENTS]}
            out.append(_region(f"t{i}", NO_ARGUMENTS_NAME, "choices", t.start, t.end, value, text))
    return out


def to_task(
    doc: Document,
    predictions: Mapping[str, Sequence[Span]] | None = None,
    *,
    model_version: str = "araevent",
) -> dict[str, Any]:
    """One Label Studio task: own spans as an annotation, ``predictions`` as a prediction.

    The document's spans (if any) become the task's annotation; ``predictions``
    (spans per layer) its prediction, scored by its least confident span.

    Raises:
        DataError: a document key clashes with ``data.text`` or ``data.doc_id``.
    """
    clash = [k for k in (TEXT_NAME, ID_KEY) if k in doc.extra]
    if clash:
        raise DataError(
            f"document key {clash[0]!r} clashes with the Label Studio task's data.{clash[0]}",
            doc_id=doc.id,
            fix="rename that key before writing Label Studio tasks",
        )
    task: dict[str, Any] = {"data": {TEXT_NAME: doc.text, ID_KEY: doc.id, **doc.extra}}
    own = {layer: doc.layer(layer) for layer in LAYERS}
    if any(own.values()):
        task["annotations"] = [{"result": _results(own, doc.text, scores=False)}]
    if predictions is not None:
        prediction: dict[str, Any] = {
            "model_version": model_version,
            "result": _results(predictions, doc.text, scores=True),
        }
        scores = [s.score for spans in predictions.values() for s in spans if s.score is not None]
        if scores:
            prediction["score"] = round(float(min(scores)), 6)
        task["predictions"] = [prediction]
    return task


def write_tasks(
    tasks: Sequence[dict[str, Any]],
    path: str | os.PathLike,
    labels: Mapping[str, Sequence[str]],
    roles: Sequence[str] = (),
) -> Path:
    """Write tasks as one JSON list (atomically) and the labelling config beside them.

    ``roles`` (argument roles) add the argument controls to the config (see :func:`label_config`).

    Returns:
        The config's path (see :func:`config_path`).
    """
    data = json.dumps(list(tasks), ensure_ascii=False, indent=1) + "\n"
    atomic_write_bytes(path, data.encode("utf-8"))
    conf = config_path(path)
    atomic_write_bytes(conf, label_config(labels, roles).encode("utf-8"))
    return conf


# --- reading an export --------------------------------------------------------


def _utf16_to_code_points(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Code-point offsets of a UTF-16 range of ``text``, or ``None`` if it splits a pair."""
    units = 0
    cps: dict[int, int] = {}
    for i, ch in enumerate(text):
        cps[units] = i
        units += 2 if ord(ch) > 0xFFFF else 1
    cps[units] = len(text)
    if start not in cps or end not in cps:
        return None
    return cps[start], cps[end]


def _pick_annotation(task: dict[str, Any], source: str) -> tuple[dict | None, int]:
    """The annotation (or prediction) to read, and how many candidates there were."""
    if source == "predictions":
        found = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    else:
        found = [
            a
            for a in (task.get("annotations") or task.get("completions") or [])
            if isinstance(a, dict) and not a.get("was_cancelled")
        ]
    if not found:
        return None, 0
    truth = [a for a in found if a.get("ground_truth")]
    return (truth or found)[-1], len(found)


def read_labelstudio(
    path: str | os.PathLike,
    *,
    source: str = "annotations",
    from_names: Mapping[str, str] | None = None,
    label_set: LabelSet | None = None,
    nested: str = DEFAULT_NESTED,
    text_key: str = TEXT_NAME,
    offsets: str = "auto",
) -> ReadResult:
    """Read a Label Studio JSON export into documents, collecting every problem.

    Args:
        path: the export (a JSON list of tasks; one task object is accepted too).
        source: ``annotations`` (what annotators saved) or ``predictions``.
        from_names: control name → layer, added to the defaults ``entities``,
            ``triggers`` and Label Studio's NER template name ``label`` (entities).
        label_set: allowed labels per layer; ``None`` allows any well-formed label.
        nested: overlapping spans in one layer: ``keep`` (nested ones; crossing ones
            are errors), ``error``, ``outer`` or ``inner``.
        text_key: the ``data`` key that holds the text.
        offsets: what the offsets count: ``auto`` (decided per task, see the module
            notes), ``code_points`` or ``utf16``.

    Returns:
        The documents, every error (naming the file, task and result), counters
        (``tasks``, ``unannotated``, ``several_annotations``, ``utf16_offsets``,
        ``ambiguous_offsets``, ``dropped_nested``, ``dropped_arguments`` (the arguments of
        the triggers the nested policy dropped), ``unimported_<type>``, among them
        ``unimported_argument region`` for argument regions no relation uses) and notes.

    Raises:
        UsageError: the file is missing, is not JSON, or an option is invalid.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"no such file: {p}")
    if source not in ("annotations", "predictions"):
        raise UsageError(f"source is 'annotations' or 'predictions', not {source!r}")
    if nested not in NESTED_POLICIES:
        raise UsageError(f"unknown nested policy {nested!r}; choose {', '.join(NESTED_POLICIES)}")
    if offsets not in OFFSET_UNITS:
        raise UsageError(f"offsets is one of {', '.join(OFFSET_UNITS)}, not {offsets!r}")
    layers_of = {**DEFAULT_FROM_NAMES, **(from_names or {})}
    bad = sorted(set(layers_of.values()) - set(LAYERS))
    if bad:
        raise UsageError(f"from_names maps to {bad}; layers are {', '.join(LAYERS)}")
    try:
        tasks = json.loads(p.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UsageError(
            f"{p} is not a Label Studio JSON export ({why}); export the project as JSON"
        ) from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise UsageError(f"{p} holds {type(tasks).__name__}, not a list of Label Studio tasks")
    result = ReadResult()
    read: list[tuple[int, _Task]] = []
    task_of: dict[int, int] = {}  # id(error) -> task number: errors are listed in task order
    for n, task in enumerate(tasks, start=1):
        result.stats["tasks"] += 1
        before = len(result.errors)
        got = _read_task(
            task, n, str(p), result, source=source, layers_of=layers_of, text_key=text_key,
        )  # fmt: skip
        task_of.update((id(e), n) for e in result.errors[before:])
        if got is not None:
            read.append((n, got))
    units = {t.units(offsets) for _, t in read} - {"either", "mixed"}
    export_units = units.pop() if len(units) == 1 else None
    ambiguous: list[str] = []
    for n, t in read:
        before = len(result.errors)
        doc = _task_document(t, offsets, export_units, ambiguous, result, nested, label_set)
        if doc is not None:
            result.add(doc, str(p), None)
        task_of.update((id(e), n) for e in result.errors[before:])
    result.errors.sort(key=lambda e: task_of[id(e)])
    for key, what in (
        ("unannotated", f"task(s) without {source}: skipped"),
        (
            "several_annotations",
            "task(s) with several annotations: read the ground truth, else the last one",
        ),
        ("utf16_offsets", "task(s) with UTF-16 offsets: converted to code points"),
    ):
        if result.stats[key]:
            result.notes.append(f"{p}: {result.stats[key]} {what}")
    if ambiguous:
        shown = ", ".join(ambiguous[:10]) + (", ..." if len(ambiguous) > 10 else "")
        result.notes.append(
            f"{p}: {len(ambiguous)} task(s) whose offsets read the same as code points and as "
            f"UTF-16 units, and nothing in the export says which ({shown}): read as UTF-16 "
            "units; pass offsets='code_points' if your Label Studio stores code points"
        )
    unimported = {k: v for k, v in result.stats.items() if k.startswith("unimported_")}
    if unimported:
        what = ", ".join(
            f"{v} {k.removeprefix('unimported_')}" for k, v in sorted(unimported.items())
        )
        result.notes.append(f"{p}: results not imported (araevent reads span labels only): {what}")
    if result.stats["dropped_nested"]:
        result.notes.append(
            f"{p}: {result.stats['dropped_nested']} nested span(s) dropped (nested={nested})"
        )
    result.stats["documents"] = len(result.documents)
    return result


@dataclass
class _Raw:
    """One span result as exported, before the offsets are decided."""

    what: str  # "task 3 result 1", for messages
    layer: str  # entities, triggers, or ARGUMENTS_NAME
    label: str
    start: int
    end: int
    span_text: Any
    score: float | None
    rid: Any = None  # the region id relations refer to

    def bounds(self, text: str, units: str) -> tuple[int, int] | None:
        """Code-point bounds if the offsets, read as ``units``, fit the text and the span text."""
        if units == "utf16":
            got = _utf16_to_code_points(text, self.start, self.end)
            if got is None:
                return None
        else:
            got = (self.start, self.end)
        a, b = got
        ok = 0 <= a < b <= len(text) and (self.span_text is None or text[a:b] == self.span_text)
        return got if ok else None


@dataclass
class _Relation:
    """One relation result: an argument of the trigger region ``trigger`` in region ``argument``."""

    what: str
    trigger: Any
    argument: Any
    role: str


@dataclass
class _Task:
    """A task whose data and results are well formed; its offsets are not yet decided."""

    task_id: Any
    doc_id: str
    text: str
    extra: dict[str, Any]
    where: dict[str, Any]
    number: int  # the task's place in the export, from 1
    spans: list[_Raw] = field(default_factory=list)
    relations: list[_Relation] = field(default_factory=list)
    no_arguments: set[Any] = field(default_factory=set)  # trigger regions marked NoArguments

    def units(self, offsets: str) -> str:
        """``code_points``, ``utf16``, ``either`` (no span tells) or ``mixed`` (spans need both)."""
        if offsets != "auto":
            return offsets
        need = set()
        for r in self.spans:
            cp, u16 = r.bounds(self.text, "code_points"), r.bounds(self.text, "utf16")
            if cp is not None and u16 is None:
                need.add("code_points")
            elif u16 is not None and cp is None:
                need.add("utf16")
        if len(need) == 2:
            return "mixed"
        return need.pop() if need else "either"

    def converts(self) -> bool:
        """Whether reading the offsets as UTF-16 units moves any span."""
        return any(
            _utf16_to_code_points(self.text, r.start, r.end) != (r.start, r.end) for r in self.spans
        )


def _doc_id(data: dict, task_id: Any) -> tuple[str | None, str | None]:
    """``(doc_id, None)`` from ``data.doc_id`` (else ``data.id``, else the task id) or an error."""
    for key in (ID_KEY, "id"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            return None, f"data.{key} is {value!r}: not a non-empty string or an integer"
        return str(value), None
    return f"task-{task_id}", None


def _read_task(
    task: Any,
    n: int,
    path: str,
    result: ReadResult,
    *,
    source: str,
    layers_of: Mapping[str, str],
    text_key: str,
) -> _Task | None:
    """Check one task's data and results; ``None`` (errors recorded, or counted as unannotated)."""
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        result.errors.append(
            DataError(f"task {n} has no data object", path=path, fix="export the project as JSON")
        )
        return None
    task_id = task.get("id", n)
    doc_id, problem = _doc_id(data, task_id)
    if problem is not None:
        result.errors.append(
            DataError(
                f"task {task_id}: {problem}",
                path=path,
                fix="give every task a string (or integer) data.doc_id",
            )
        )
        return None
    where = {"path": path, "doc_id": doc_id}
    text = data.get(text_key)
    if not isinstance(text, str) or not text.strip():
        result.errors.append(
            DataError(
                f"task {task_id}: data.{text_key} is not a non-empty string",
                fix="pass the data key that holds the text (text_key)",
                **where,
            )
        )
        return None
    for key, value in ((ID_KEY, doc_id), (text_key, text)):
        at = _SURROGATE.search(value)
        if at is not None:
            result.errors.append(
                DataError(
                    f"task {task_id}: data.{key} holds a lone surrogate "
                    f"(U+{ord(at.group()):04X}) at character {at.start()}",
                    fix="remove it or write the whole character",
                    path=path,
                    doc_id=doc_id.encode("utf-8", "backslashreplace").decode("utf-8"),
                )
            )
            return None
    chosen, count = _pick_annotation(task, source)
    if chosen is None:
        result.stats["unannotated"] += 1
        return None
    result.stats["several_annotations"] += count > 1
    items = chosen.get("result")
    if items is None:
        items = []
    if not isinstance(items, list):
        result.errors.append(
            DataError(
                f"task {task_id}: result is {type(items).__name__}, not a list",
                fix="export the project as JSON: result is a list of regions",
                **where,
            )
        )
        return None
    n_errors = len(result.errors)
    extra = {k: v for k, v in data.items() if k not in (text_key, ID_KEY)}
    out = _Task(task_id, doc_id, text, extra, where, n)
    for k, item in enumerate(items):
        raw = _read_result(item, f"task {task_id} result {k}", where, result, layers_of)
        if isinstance(raw, _Raw):
            out.spans.append(raw)
        elif isinstance(raw, _Relation):
            out.relations.append(raw)
        elif raw is not None:  # a trigger region marked NoArguments
            out.no_arguments.add(raw)
    return out if len(result.errors) == n_errors else None


def _read_result(
    item: Any,
    what: str,
    where: dict[str, Any],
    result: ReadResult,
    layers_of: Mapping[str, str],
) -> _Raw | _Relation | str | None:
    """One result as a span whose offsets are not yet decided, or a relation.

    A ``NoArguments`` choice gives its region id; ``None``: none of these, or bad.
    """

    def error(problem: str, fix: str) -> None:
        result.errors.append(DataError(f"{what}: {problem}", fix=fix, **where))

    if not isinstance(item, dict):
        error(f"is {type(item).__name__}, not an object", "export the project as JSON")
        return None
    kind = item.get("type")
    if kind == "relation":
        return _read_relation(item, what, error)
    value = item.get("value")
    choices = value.get("choices") if isinstance(value, dict) else None
    if (
        kind == "choices"
        and item.get("from_name") == NO_ARGUMENTS_NAME
        and choices == [NO_ARGUMENTS]
    ):
        return item.get("id")
    if kind != "labels":
        result.stats[f"unimported_{kind if isinstance(kind, str) and kind else 'unknown'}"] += 1
        return None
    value, from_name = item.get("value"), item.get("from_name")
    if not isinstance(value, dict):
        error(
            f"value is {type(value).__name__}, not an object",
            'a labels result has "value": {"start": int, "end": int, "labels": [str]}',
        )
        return None
    layer = layers_of.get(from_name) if isinstance(from_name, str) else None
    if from_name == ARGUMENTS_NAME and from_name not in layers_of:
        layer = ARGUMENTS_NAME
    if layer is None:
        error(
            f"from_name {from_name!r} is not a known control",
            f"name the controls {' and '.join(LAYERS)}, or map yours with from_names",
        )
        return None
    labels, start, end = value.get("labels"), value.get("start"), value.get("end")
    if not (isinstance(labels, list) and len(labels) == 1 and isinstance(labels[0], str)):
        error(f"labels {labels!r} is not one label", "give every span exactly one label")
        return None
    label = labels[0]
    if layer == ARGUMENTS_NAME and not is_valid_label(label):  # span labels: check_spans
        error(f"{layer} label {label!r} is malformed", "labels match [A-Za-z][A-Za-z0-9_.:-]*")
        return None
    score = item.get("score")
    if score is not None and not is_score(score):
        error(f"score {score!r} is not a number", "a score is a finite number (or leave it out)")
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        error(f"offsets [{start!r}, {end!r}) are not integers", "offsets are integers")
        return None
    return _Raw(what, layer, label, start, end, value.get("text"), score, item.get("id"))


def _read_relation(item: dict, what: str, error: Any) -> _Relation | None:
    """An argument relation: from the trigger's region to the argument's (``left``: reversed)."""
    ends = (item.get("from_id"), item.get("to_id"))
    if item.get("direction") == "left":
        ends = ends[::-1]
    labels = item.get("labels")
    if not (isinstance(labels, list) and len(labels) == 1 and isinstance(labels[0], str)):
        error(
            f"relation labels {labels!r} is not one role",
            "give every argument relation exactly one role (the <Relations> labels)",
        )
        return None
    if not is_valid_label(labels[0]):
        error(f"role {labels[0]!r} is malformed", "roles match [A-Za-z][A-Za-z0-9_.:-]*")
        return None
    return _Relation(what, *ends, labels[0])


def _with_arguments(
    t: _Task,
    triggers: list[Span],
    regions: dict[Any, tuple[str, Span]],
    result: ReadResult,
    names: dict[int, str],
) -> list[Span]:
    """The task's triggers with the arguments its relations give (errors recorded).

    ``names`` (``id(span)`` → how errors name it) is extended to the new trigger spans.
    """
    args: dict[Any, list[Argument]] = {}
    used: set[Any] = set()
    for rel in t.relations:
        trigger, target = regions.get(rel.trigger), regions.get(rel.argument)
        if trigger is None or trigger[0] != "triggers" or target is None:
            bad = rel.trigger if trigger is None or trigger[0] != "triggers" else rel.argument
            result.errors.append(
                DataError(
                    f"{rel.what}: relation {rel.trigger!r} -> {rel.argument!r}: region {bad!r} "
                    f"is not {'a trigger' if bad == rel.trigger else 'a span'} of this task",
                    fix="an argument is a relation from a trigger region to a span region",
                    **t.where,
                )
            )
            continue
        used.add(rel.argument)
        a, b = target[1].start, target[1].end
        args.setdefault(rel.trigger, []).append(Argument(a, b, rel.role, origin=target[1].origin))
    unused = sum(
        1 for rid, (kind, _) in regions.items() if kind == ARGUMENTS_NAME and rid not in used
    )
    if unused:
        result.stats["unimported_argument region"] += unused
    out = []
    for rid, (layer, span) in regions.items():
        if layer != "triggers":
            continue
        got = args.get(rid)
        annotated = got is not None or rid in t.no_arguments
        new = replace(span, arguments=tuple(got or ()) if annotated else None)
        names[id(new)] = names[id(span)]
        out.append(new)
    return out + [s for s in triggers if not any(s is x for _, x in regions.values())]


def _task_document(
    t: _Task,
    offsets: str,
    export_units: str | None,
    ambiguous: list[str],
    result: ReadResult,
    nested: str,
    label_set: LabelSet | None = None,
) -> Document | None:
    """The document of a checked task, its offsets read in the units the task needs."""
    units = t.units(offsets)
    if units == "mixed":
        result.errors.append(
            DataError(
                f"task {t.task_id}: some spans read right only as code points and others only "
                "as UTF-16 units",
                fix="re-export the task, or pass offsets='code_points' or offsets='utf16'",
                **t.where,
            )
        )
        return None
    if units == "either":
        units = export_units or "utf16"
        if export_units is None and t.converts():  # the two readings differ: ambiguous
            ambiguous.append(str(t.task_id))
    n_errors = len(result.errors)
    spans: dict[str, list[Span]] = {layer: [] for layer in (*LAYERS, ARGUMENTS_NAME)}
    regions: dict[Any, tuple[str, Span]] = {}
    names: dict[int, str] = {}  # id(span) -> how errors name it: task 3 result 1: entities
    for r in t.spans:
        bounds = r.bounds(t.text, units)
        if bounds is None:
            unit_name = "UTF-16 units" if units == "utf16" else "code points"
            result.errors.append(
                DataError(
                    f"{r.what}: [{r.start}, {r.end}) does not match its text {r.span_text!r} "
                    f"in a text of {len(t.text)} characters (offsets read as {unit_name})",
                    fix="offsets are code points (or UTF-16 units) of data.text, end exclusive",
                    **t.where,
                )
            )
            continue
        span = Span(*bounds, r.label, r.score, origin=Origin(t.where["path"], None, t.number))
        names[id(span)] = f"{r.what}: {r.layer}"
        if r.rid is not None:
            regions.setdefault(r.rid, (r.layer, span))
        spans[r.layer].append(span)
    result.stats["utf16_offsets"] += units == "utf16" and t.converts()
    spans["triggers"] = _with_arguments(t, spans["triggers"], regions, result, names)
    checked = check_spans(
        {layer: spans[layer] for layer in LAYERS},
        t.text,
        label_set=label_set,
        nested=nested,
        where=t.where,
        name=lambda _layer, _i, span: names[id(span)],
        prefix=f"task {t.task_id}: ",
    )
    add_checked(result, checked)
    if len(result.errors) > n_errors:
        return None
    kept = checked.spans
    return Document(t.doc_id, t.text, kept["entities"], kept["triggers"], t.extra)
