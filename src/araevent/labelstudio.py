"""Label Studio: pre-annotation tasks, their labelling config, and the export reader.

Tasks carry the text in ``data.text`` and the document id in ``data.doc_id``;
other document keys ride along in ``data``. Spans are ``labels`` results on one
``<Text name="text">``: entities from the ``<Labels name="entities">`` control,
triggers from ``<Labels name="triggers">``. The model's spans go to
``predictions`` (each result with its score); spans the documents already hold
go to ``annotations``. Offsets are code points, as Label Studio stores them
since its frontend fixed astral characters; an export whose offsets count
UTF-16 units (older versions, or text with emoji) is recognised by the span
text and converted (counted in ``stats["utf16_offsets"]``).

The reader takes Label Studio's JSON export (a list of tasks) and builds one
document per task from its annotation (the one marked ground truth, else the
last that was not cancelled). Relations and non-span results are counted and
reported, not imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from araevent.errors import DataError, UsageError
from araevent.io import ReadResult, atomic_write_bytes
from araevent.labels import LAYERS, PRESETS, LabelSet, is_valid_label
from araevent.schema import NESTED_POLICIES, Document, Span, overlapping_pairs, resolve_overlaps

TEXT_NAME = "text"
ID_KEY = "doc_id"
DEFAULT_FROM_NAMES = {"entities": "entities", "triggers": "triggers", "label": "entities"}
_PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000",
    "#ffd8b1", "#000075", "#a9a9a9",
)  # fmt: skip


def config_path(tasks_path: str | os.PathLike) -> Path:
    """Where the labelling config goes beside a tasks file: ``X.json`` → ``X.label_config.xml``."""
    p = Path(tasks_path)
    return p.with_name(f"{p.stem}.label_config.xml")


def label_config(labels: Mapping[str, Sequence[str]]) -> str:
    """The labelling config (XML): one ``<Labels>`` control per layer over one ``<Text>``.

    Args:
        labels: span types per layer (``{"entities": [...], "triggers": [...]}``);
            a layer with no types gets no control.

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
    lines += [
        '  <View style="direction: rtl; text-align: right">',
        f'    <Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>',
        "  </View>",
        "</View>",
        "",
    ]
    return "\n".join(lines)


def _results(spans: Mapping[str, Sequence[Span]], text: str, scores: bool) -> list[dict]:
    out = []
    for layer in LAYERS:
        for i, s in enumerate(sorted(spans.get(layer, ()), key=lambda s: (s.start, s.end))):
            item: dict[str, Any] = {
                "id": f"{layer[0]}{i}",
                "from_name": layer,
                "to_name": TEXT_NAME,
                "type": "labels",
                "value": {
                    "start": s.start,
                    "end": s.end,
                    "text": text[s.start : s.end],
                    "labels": [s.label],
                },
            }
            if scores and s.score is not None:
                item["score"] = round(float(s.score), 6)
            out.append(item)
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
    tasks: Sequence[dict[str, Any]], path: str | os.PathLike, labels: Mapping[str, Sequence[str]]
) -> Path:
    """Write tasks as one JSON list (atomically) and the labelling config beside them.

    Returns:
        The config's path (see :func:`config_path`).
    """
    data = json.dumps(list(tasks), ensure_ascii=False, indent=1) + "\n"
    atomic_write_bytes(path, data.encode("utf-8"))
    conf = config_path(path)
    atomic_write_bytes(conf, label_config(labels).encode("utf-8"))
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
    nested: str = "error",
    text_key: str = TEXT_NAME,
) -> ReadResult:
    """Read a Label Studio JSON export into documents, collecting every problem.

    Args:
        path: the export (a JSON list of tasks; one task object is accepted too).
        source: ``annotations`` (what annotators saved) or ``predictions``.
        from_names: control name → layer, added to the defaults ``entities``,
            ``triggers`` and Label Studio's NER template name ``label`` (entities).
        label_set: allowed labels per layer; ``None`` allows any well-formed label.
        nested: overlapping spans in one layer: ``error``, ``outer`` or ``inner``.
        text_key: the ``data`` key that holds the text.

    Returns:
        The documents, every error (naming the file, task and result), counters
        (``tasks``, ``unannotated``, ``several_annotations``, ``utf16_offsets``,
        ``unimported_<type>``) and notes.

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
    layers_of = {**DEFAULT_FROM_NAMES, **(from_names or {})}
    bad = sorted(set(layers_of.values()) - set(LAYERS))
    if bad:
        raise UsageError(f"from_names maps to {bad}; layers are {', '.join(LAYERS)}")
    try:
        tasks = json.loads(p.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"{p} is not a Label Studio JSON export ({exc}); export the project as JSON"
        ) from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise UsageError(f"{p} holds {type(tasks).__name__}, not a list of Label Studio tasks")
    result = ReadResult()
    for n, task in enumerate(tasks, start=1):
        result.stats["tasks"] += 1
        doc = _task_document(
            task,
            n,
            str(p),
            result,
            source=source,
            layers_of=layers_of,
            label_set=label_set,
            nested=nested,
            text_key=text_key,
        )
        if doc is not None:
            result.add(doc, str(p), None)
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
    unimported = {k: v for k, v in result.stats.items() if k.startswith("unimported_")}
    if unimported:
        what = ", ".join(
            f"{v} {k.removeprefix('unimported_')}" for k, v in sorted(unimported.items())
        )
        result.notes.append(f"{p}: results not imported (araevent reads span labels only): {what}")
    result.stats["documents"] = len(result.documents)
    return result


def _task_document(
    task: Any,
    n: int,
    path: str,
    result: ReadResult,
    *,
    source: str,
    layers_of: Mapping[str, str],
    label_set: LabelSet | None,
    nested: str,
    text_key: str,
) -> Document | None:
    """One task's document; ``None`` (with errors recorded, or counted as unannotated)."""
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        result.errors.append(
            DataError(f"task {n} has no data object", path=path, fix="export the project as JSON")
        )
        return None
    task_id = task.get("id", n)
    doc_id = str(data.get(ID_KEY) or data.get("id") or f"task-{task_id}")
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
    chosen, count = _pick_annotation(task, source)
    if chosen is None:
        result.stats["unannotated"] += 1
        return None
    result.stats["several_annotations"] += count > 1
    n_errors = len(result.errors)
    spans: dict[str, list[Span]] = {layer: [] for layer in LAYERS}
    utf16 = False
    for k, item in enumerate(chosen.get("result") or []):
        what = f"task {task_id} result {k}"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind != "labels":
            result.stats[f"unimported_{kind or 'unknown'}"] += 1
            continue
        value, from_name = item.get("value") or {}, item.get("from_name")
        layer = layers_of.get(from_name)
        if layer is None:
            result.errors.append(
                DataError(
                    f"{what}: from_name {from_name!r} is not a known control",
                    fix=f"name the controls {' and '.join(LAYERS)}, or map yours with from_names",
                    **where,
                )
            )
            continue
        labels, start, end = value.get("labels"), value.get("start"), value.get("end")
        if not (isinstance(labels, list) and len(labels) == 1 and isinstance(labels[0], str)):
            result.errors.append(
                DataError(
                    f"{what}: labels {labels!r} is not one label",
                    fix="give every span exactly one label",
                    **where,
                )
            )
            continue
        label = labels[0]
        if not is_valid_label(label) or (label_set and not label_set.allows(layer, label)):
            why = "malformed" if not is_valid_label(label) else f"not in the {label_set.name} set"
            result.errors.append(
                DataError(
                    f"{what}: {layer} label {label!r} is {why}",
                    fix="labels match [A-Za-z][A-Za-z0-9_.:-]*; fix the labelling config",
                    **where,
                )
            )
            continue
        bounds = _check_offsets(text, start, end, value.get("text"))
        if bounds is None:
            result.errors.append(
                DataError(
                    f"{what}: [{start}, {end}) does not match its text {value.get('text')!r} "
                    f"in a text of {len(text)} characters",
                    fix="offsets are code points (or UTF-16 units) of data.text, end exclusive",
                    **where,
                )
            )
            continue
        utf16 |= bounds != (start, end)
        spans[layer].append(Span(*bounds, label, item.get("score")))
    result.stats["utf16_offsets"] += utf16
    for layer in LAYERS:
        pairs = overlapping_pairs(spans[layer])
        result.stats["nested"] += len(pairs)
        if nested == "error":
            for a, b in pairs:
                result.errors.append(
                    DataError(
                        f"task {task_id}: {layer} overlap: [{a.start}, {a.end}) {a.label} and "
                        f"[{b.start}, {b.end}) {b.label}",
                        fix="remove one, or choose nested=outer or nested=inner",
                        **where,
                    )
                )
        kept, dropped = resolve_overlaps(spans[layer], nested)
        result.stats["dropped_nested"] += len(dropped)
        spans[layer] = kept
    if len(result.errors) > n_errors:
        return None
    extra = {k: v for k, v in data.items() if k not in (text_key, ID_KEY)}
    return Document(doc_id, text, spans["entities"], spans["triggers"], extra)


def _check_offsets(text: str, start: Any, end: Any, span_text: Any) -> tuple[int, int] | None:
    """Code-point bounds of a result, trying code points first and then UTF-16 units."""
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        return None
    candidates = [(start, end)]
    converted = _utf16_to_code_points(text, start, end)
    if converted is not None and converted != (start, end):
        candidates.append(converted)
    for a, b in candidates:
        if 0 <= a < b <= len(text) and (span_text is None or text[a:b] == span_text):
            return a, b
    return None
