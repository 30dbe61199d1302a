"""Hugging Face datasets: a split of a Hub dataset read as documents.

Rows are either in the document schema (``id``, ``text``, ``entities``,
``triggers``), read by the schema's parser, or a tokens column plus an IOB2 tag
column, read as CoNLL lines (one row a sentence). A row's number stands for
the line in messages (``hf://NAME/SPLIT:ROW``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from araevent.errors import DataError, UsageError
from araevent.formats.base import ReadResult
from araevent.formats.conll import read_conll_lines
from araevent.formats.jsonl import with_schema_fix
from araevent.labels import LAYERS, LabelSet, get_label_set
from araevent.schema import DEFAULT_NESTED, Document, parse_document


def load_hub_split(data_settings: Any, split_name: str) -> list[Document]:
    """Load one split of a Hub dataset as documents.

    Rows are either in the document schema (``id``, ``text``, ``entities``,
    ``triggers``) or a tokens column plus an IOB2 tag column (``ClassLabel``
    ids are mapped to names through the dataset's features).

    Args:
        data_settings: ``araevent.config.DataSettings`` with ``hub`` holding
            ``hub_name``, ``hub_config``, ``revision``, ``tokens_column``, ``tags_column``.
        split_name: the dataset split (``train``, ``validation``, ...).

    Returns:
        The split's documents.

    Raises:
        UsageError: the dataset cannot be loaded (offline, unknown name or split).
        DataError: a row breaks the schema or holds malformed tags.
    """
    import datasets

    hub = dict(data_settings.hub or {})
    name = hub.get("hub_name")
    config = hub.get("hub_config")
    if not name:
        raise UsageError("data.hub_name is not set; name a Hugging Face dataset")
    try:
        ds = datasets.load_dataset(name, config, split=split_name, revision=hub.get("revision"))
    except (OSError, ValueError) as exc:  # ConnectionError, DatasetNotFoundError, bad split
        raise UsageError(
            f"cannot load split {split_name!r} of the Hugging Face dataset {name!r}"
            f"{f' (config {config!r})' if config else ''} ({type(exc).__name__}: {exc}); "
            "if the Hub is not reachable, use local files instead: "
            "data=jsonl data.dir=DIR (or data=conll, data=brat)"
        ) from None
    return hub_documents(
        ds,
        source=f"hf://{name}/{split_name}",
        id_prefix=split_name,
        tokens_column=hub.get("tokens_column") or "tokens",
        tags_column=hub.get("tags_column") or "ner_tags",
        label_set=get_label_set(data_settings.label_set),
        nested=data_settings.nested,
        layers=tuple(data_settings.layers),
        conll_layers=data_settings.conll_layers,
    )


def hub_documents(
    ds: Any,
    *,
    source: str,
    id_prefix: str,
    tokens_column: str = "tokens",
    tags_column: str = "ner_tags",
    label_set: LabelSet | None = None,
    nested: str = DEFAULT_NESTED,
    layers: Sequence[str] = LAYERS,
    conll_layers: Sequence[str] | None = None,
) -> list[Document]:
    """Documents from an in-memory ``datasets.Dataset`` (see :func:`load_hub_split`).

    Raises:
        DataError: the first bad row (row numbers count from 1), with the number of others.
        UsageError: the columns are neither the document schema nor tokens + tags.
    """
    columns = set(ds.column_names)
    result = ReadResult()
    layers = tuple(layers)
    if {"text"} <= columns and columns & set(LAYERS):
        for i, row in enumerate(ds, start=1):
            obj = drop_none(row)
            obj.setdefault("id", f"{id_prefix}-{i}")
            r = parse_document(
                obj, path=source, line=i, label_set=label_set, nested=nested, layers=layers
            )
            result.errors.extend(with_schema_fix(e) for e in r.errors)
            if r.document is not None:
                result.add(r.document, source, i)
    elif {tokens_column, tags_column} <= columns:
        feature = ds.features[tags_column]
        names = getattr(getattr(feature, "feature", None), "names", None)
        layer = tuple(conll_layers or ("entities",))
        if len(layer) != 1:
            raise UsageError(f"one tag column ({tags_column}) needs one layer, not {layer}")
        lines: list[tuple[int, str | None]] = []  # "line" numbers are row numbers
        for i, row in enumerate(ds, start=1):
            tokens, tags = row[tokens_column], row[tags_column]
            if len(tokens) != len(tags):
                result.errors.append(
                    DataError(
                        f"{len(tokens)} tokens but {len(tags)} tags",
                        path=source,
                        line=i,
                        fix="give every token one tag",
                    )
                )
                continue
            names_ = [
                names[t] if names is not None and isinstance(t, int) else str(t) for t in tags
            ]
            lines += [(i, f"{tok} {tag}") for tok, tag in zip(tokens, names_, strict=True)]
            lines.append((i, ""))
        read_conll_lines(
            lines,
            source,
            id_prefix,
            result,
            label_set=label_set,
            layers=layers,
            conll_layers=layer,
            repair=False,
        )
    else:
        raise UsageError(
            f"{source} has columns {sorted(columns)}: neither the document schema "
            f"(id, text, entities, triggers) nor {tokens_column} + {tags_column}; set "
            "data.tokens_column and data.tags_column"
        )
    if result.errors:
        result.errors.sort(key=lambda e: e.line or 0)  # stable: row order
        first, more = result.errors[0], len(result.errors) - 1
        suffix = f" (and {more} more errors)" if more else ""
        raise DataError(
            first.reason + suffix,
            path=first.path,
            line=first.line,
            doc_id=first.doc_id,
            fix=first.fix,
        )
    return result.documents


def drop_none(obj: Any) -> Any:
    """Arrow fills absent struct fields with ``None``; drop them so the schema sees them absent."""
    if isinstance(obj, dict):
        return {k: drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [drop_none(v) for v in obj]
    return obj
