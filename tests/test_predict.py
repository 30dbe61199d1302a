"""The Extractor API and ``araevent predict``: offsets into the input exactly as given."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from pathlib import Path

import pytest

from araevent.cli import main
from araevent.errors import DataError
from araevent.schema import Document, Span
from conftest import sample_docs

DATA = Path(__file__).parent / "data"
LINES = DATA / "infer_lines.txt"
AUTO_HINT = (
    "nothing written (read as JSONL since a line is a JSON object; run araevent validate on "
    "it, or pass --input-format text if it is plain text)"
)


@pytest.fixture(scope="module")
def extractor(tiny_run: Path):
    from araevent.predict import Extractor

    return Extractor.from_pretrained(tiny_run)


def flat_docs(n: int) -> list[dict]:
    """Bundled dev documents whose spans do not overlap within a layer."""
    from araevent.schema import parse_document

    docs = [d for d in sample_docs("dev") if not parse_document(d, nested="error").errors]
    return docs[:n]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [d["text"] for d in sample_docs("dev", 20)]


def assert_valid(doc: Document, extractor) -> None:
    """Every span lies on unit edges of the text exactly as given, with a label and score."""
    units = extractor.loaded.preprocessor.units(doc.text)
    starts, ends = {u.start for u in units}, {u.end for u in units}
    for layer in ("entities", "triggers"):
        for s in doc.layer(layer):
            assert 0 <= s.start < s.end <= len(doc.text)
            assert s.start in starts and s.end in ends, (doc.id, s)
            assert extractor.schema.layer_of(s.label) == layer
            assert 0.0 < s.score <= 1.0


def keys(doc: Document) -> list[tuple[int, int, str]]:
    return [s.key for s in (*doc.entities, *doc.triggers)]


def test_top_level_import_and_plain_texts(extractor, texts):
    from araevent import Extractor

    assert Extractor is type(extractor)
    docs = extractor.predict(texts)
    assert [d.id for d in docs] == [str(i) for i in range(len(texts))]
    assert [d.text for d in docs] == texts
    assert sum(len(d.entities) + len(d.triggers) for d in docs) > 10
    for d in docs:
        assert_valid(d, extractor)
    assert extractor.stats["documents"] == len(texts)
    assert extractor.stats["entities_predicted"] == sum(len(d.entities) for d in docs)


def test_model_folder_and_run_folder_load_the_same(tiny_run: Path, extractor, texts):
    from araevent.predict import Extractor

    other = Extractor.from_pretrained(tiny_run / "model", batch_size=3)
    assert [keys(d) for d in other.predict(texts[:5])] == [
        keys(d) for d in extractor.predict(texts[:5])
    ]


def test_batching_and_order_do_not_change_predictions(extractor, texts):
    together = extractor.predict(texts)
    one_by_one = [extractor.predict([t], batch_size=1)[0] for t in texts[:6]]
    assert [keys(d) for d in one_by_one] == [keys(d) for d in together[:6]]
    reversed_ = extractor.predict(texts[::-1], batch_size=7)
    assert [keys(d) for d in reversed_[::-1]] == [keys(d) for d in together]
    assert extractor.predictor.batch_size == 32  # a per-call batch size does not stick


def test_documents_keep_their_spans_unless_replaced(extractor):
    gold = flat_docs(3)
    out = extractor.predict(gold)
    for obj, doc in zip(gold, out, strict=True):
        assert doc.id == obj["id"]
        assert [s.key for s in doc.entities] == [
            (s["start"], s["end"], s["label"]) for s in obj["entities"]
        ]
        for layer in ("entities", "triggers"):
            for s in doc.extra[f"predicted_{layer}"]:
                assert s["text"] == doc.text[s["start"] : s["end"]] and "score" in s
    replaced = extractor.predict(gold, replace=True)
    plain = extractor.predict([g["text"] for g in gold])
    assert [keys(d) for d in replaced] == [keys(d) for d in plain]
    assert not any("predicted_entities" in d.extra for d in replaced)


def test_a_bad_document_dict_is_a_data_error(extractor):
    with pytest.raises(DataError, match="entities"):
        extractor.predict([{"id": "x", "text": "نص", "entities": [{"start": 0, "end": 9}]}])


def shifted(doc: Document, by: int) -> list[tuple[int, int, str]]:
    return [(s.start + by, s.end + by, s.label) for s in (*doc.entities, *doc.triggers)]


def test_offsets_point_into_the_text_as_given(extractor, texts):
    base = extractor.predict(texts[:8])
    padded = extractor.predict(["   " + t + "\r" for t in texts[:8]])
    assert [keys(d) for d in padded] == [shifted(d, 3) for d in base]
    # a diacritic and a tatweel change nothing but the offsets after them
    text = texts[0]
    cut = text.index(" ", 10)
    marked = text[:cut] + "\u064e" + text[cut : cut + 3] + "\u0640" + text[cut + 3 :]
    doc = extractor.predict([marked])[0]
    assert_valid(doc, extractor)

    def back(i: int) -> int:
        return i - (i > cut) - (i > cut + 4)

    assert [(back(a), back(b), lab) for a, b, lab in keys(doc)] == keys(base[0])
    for s in (*doc.entities, *doc.triggers):
        assert marked[s.start : s.end].strip() == marked[s.start : s.end]


# --- the command line -----------------------------------------------------------


def run_cli(argv: list[str], capsys, stdin: bytes | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = main(["predict", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_plain_text_keeps_crlf_diacritics_and_leading_spaces(
    tiny_run, extractor, capsys, monkeypatch
):
    raw = LINES.read_bytes()
    code, out, err = run_cli(["--model", str(tiny_run)], capsys, raw, monkeypatch)
    assert code == 0, err
    docs = [json.loads(x) for x in out.splitlines()]
    lines = raw.decode("utf-8").split("\n")[:-1]
    expected = [(str(n), line) for n, line in enumerate(lines, start=1) if line.strip()]
    assert [(d["id"], d["text"]) for d in docs] == expected
    assert any(d["text"].endswith("\r") for d in docs) and any(d["text"][0] == " " for d in docs)
    for d in docs:
        for s in d["entities"] + d["triggers"]:
            assert d["text"][s["start"] : s["end"]] == s["text"]
    api = extractor.predict([t for _, t in expected])
    assert [
        [(s["start"], s["end"], s["label"]) for s in d["entities"] + d["triggers"]] for d in docs
    ] == [keys(d) for d in api]
    assert "2 blank line(s) skipped" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal


def test_cli_jsonl_input_and_replace(tiny_run, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    gold = flat_docs(4)
    src.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in gold), "utf-8")
    out_file = tmp_path / "out.jsonl"
    code, out, err = run_cli(
        ["--model", str(tiny_run), "--input", str(src), "--output", str(out_file), "--quiet"],
        capsys,
    )
    assert code == 0 and out == "" and err == ""
    docs = [json.loads(x) for x in out_file.read_text("utf-8").splitlines()]
    assert [d["entities"] for d in docs] == [
        [{**s, "text": g["text"][s["start"] : s["end"]]} for s in g["entities"]] for g in gold
    ]
    assert all("predicted_triggers" in d for d in docs)
    code, out, _ = run_cli(
        ["--model", str(tiny_run), "--input", str(src), "--replace", "--quiet"], capsys
    )
    replaced = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and not any("predicted_entities" in d for d in replaced)
    assert [d["entities"] for d in replaced] == [d["predicted_entities"] for d in docs]


def test_cli_nested_input_spans(tiny_run, tmp_path, capsys):
    nested = [d for d in sample_docs("dev") if d not in flat_docs(100)][:2]
    src = tmp_path / "nested.jsonl"
    src.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in nested), "utf-8")
    code, out, err = run_cli(["--model", str(tiny_run), "--input", str(src), "--quiet"], capsys)
    kept = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [len(d["entities"]) for d in kept] == [len(d["entities"]) for d in nested]
    code, out, err = run_cli(
        ["--model", str(tiny_run), "--input", str(src), "--nested", "error"], capsys
    )
    assert code == 1 and out == "" and "overlap" in err and "nothing written" in err
    code, out, err = run_cli(
        ["--model", str(tiny_run), "--input", str(src), "--nested", "outer"], capsys
    )
    assert code == 0 and len(out.splitlines()) == 2 and "nested input span(s) dropped" in err


def test_cli_forced_input_format_and_errors(tiny_run, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text('{"id": "a", "text": "نص"}\nنص عادي\n', "utf-8")
    code, out, err = run_cli(["--model", str(tiny_run), "--input", str(src)], capsys)
    assert (code, out) == (1, "")  # the first line is a JSON object: JSONL, line 2 is broken
    assert err.splitlines() == [
        f"{src}:2: invalid JSON: Expecting value at column 1 "
        "(each line must be one complete JSON object)",
        f"araevent predict: 1 error(s) in {src}; {AUTO_HINT}",
    ]
    code, out, _ = run_cli(
        ["--model", str(tiny_run), "--input", str(src), "--input-format", "text", "--quiet"],
        capsys,
    )
    assert code == 0
    assert [json.loads(x)["text"] for x in out.splitlines()] == [
        '{"id": "a", "text": "نص"}',
        "نص عادي",
    ]
    mixed = tmp_path / "mixed.txt"  # a JSON object on any line makes it JSONL
    mixed.write_text('نص عادي\n{"id": "a", "text": "نص"}\n', "utf-8")
    code, out, err = run_cli(["--model", str(tiny_run), "--input", str(mixed)], capsys)
    assert (code, out) == (1, "") and err.startswith(f"{mixed}:1: invalid JSON: ")
    code, _, err = run_cli(
        ["--model", str(tiny_run), "--input", str(mixed), "--input-format", "jsonl"], capsys
    )
    assert code == 1 and err.splitlines()[-1] == (
        f"araevent predict: 1 error(s) in {mixed}; nothing written (run araevent validate on it)"
    )
    plain = tmp_path / "plain.txt"
    plain.write_text("{ملاحظة} نص\nنص عادي\n", "utf-8")
    code, out, _ = run_cli(["--model", str(tiny_run), "--input", str(plain), "--quiet"], capsys)
    assert code == 0 and [json.loads(x)["id"] for x in out.splitlines()] == ["1", "2"]
    code, _, err = run_cli(["--model", str(tmp_path), "--input", str(plain)], capsys)
    assert code == 2 and "model folder" in err
    code, _, err = run_cli(
        ["--model", str(tiny_run), "--input", str(plain), "--format", "brat"], capsys
    )
    assert code == 2 and "--output" in err
    (tmp_path / "bad.txt").write_bytes(b"\xd8\xa7\n\xff\n")
    code, _, err = run_cli(["--model", str(tiny_run), "--input", str(tmp_path / "bad.txt")], capsys)
    assert code == 1 and "bad.txt:2" in err
    code, _, err = run_cli(["--model", str(tiny_run), "--input", str(tmp_path)], capsys)
    assert (code, err) == (2, f"araevent predict: --input {tmp_path}: a folder, not a file\n")
    missing = tmp_path / "missing.txt"
    code, _, err = run_cli(["--model", str(tiny_run), "--input", str(missing)], capsys)
    assert (code, err) == (2, f"araevent predict: --input {missing}: no such input file\n")


def test_cli_reads_a_pipe(tiny_run, tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("نص أول\n\nنص ثان\n", "utf-8"))
    writer.start()
    code, out, _ = run_cli(["--model", str(tiny_run), "--input", str(fifo), "--quiet"], capsys)
    writer.join()
    assert code == 0
    assert [(d["id"], d["text"]) for d in map(json.loads, out.splitlines())] == [
        ("1", "نص أول"),
        ("3", "نص ثان"),
    ]


@pytest.mark.parametrize("stdin", [False, True])
def test_cli_jsonl_with_a_truncated_line_is_reported_not_read_as_text(
    tiny_run, tmp_path, capsys, monkeypatch, stdin
):
    gold = flat_docs(3)
    lines = [json.dumps(d, ensure_ascii=False) for d in gold]
    data = "\ufeff" + "\n".join(lines) + "\n\n" + lines[0][:40] + "\n"  # BOM, blank line
    src = tmp_path / "in.jsonl"
    src.write_text(data, "utf-8")
    argv = ["--model", str(tiny_run), "--output", str(tmp_path / "out.jsonl")]
    if stdin:
        code, out, err = run_cli(argv, capsys, data.encode("utf-8"), monkeypatch)
        name = "<stdin>"
    else:
        code, out, err = run_cli([*argv, "--input", str(src)], capsys)
        name = str(src)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{name}:5: {gold[0]['id']}: invalid JSON: Unterminated string starting at at column 36 "
        "(each line must be one complete JSON object)",
        f"araevent predict: 1 error(s) in {name}; {AUTO_HINT}",
    ]
    assert not (tmp_path / "out.jsonl").exists()
    # the valid lines alone are read as documents with their ids and spans
    src.write_text("\n".join(lines) + "\n", "utf-8")
    code, out, _ = run_cli(["--model", str(tiny_run), "--input", str(src), "--quiet"], capsys)
    docs = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [d["id"] for d in docs] == [g["id"] for g in gold]
    assert [len(d["entities"]) for d in docs] == [len(g["entities"]) for g in gold]


def test_cli_jsonl_with_a_truncated_first_line_is_reported(tiny_run, tmp_path, capsys):
    gold = flat_docs(2)
    lines = [json.dumps(d, ensure_ascii=False) for d in gold]
    src = tmp_path / "in.jsonl"
    src.write_text(lines[0][-30:] + "\n" + lines[1] + "\n", "utf-8")  # lost its head
    code, out, err = run_cli(["--model", str(tiny_run), "--input", str(src)], capsys)
    assert (code, out) == (1, "")
    assert err.splitlines()[0].startswith(f"{src}:1: invalid JSON: ")
    assert err.splitlines()[1] == f"araevent predict: 1 error(s) in {src}; {AUTO_HINT}"


def test_cli_jsonl_reports_every_bad_line(tiny_run, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": "a", "text": "نص"}\n[1, 2]\n{"id": "a", "text": "نص آخر"}\n{"id": "b"}\n',
        "utf-8",
    )
    code, out, err = run_cli(["--model", str(tiny_run), "--input", str(src)], capsys)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith(f"{src}:2: a document is a JSON object, got list (")
    assert lines[1:3] == [
        f"{src}:3: a: duplicate document id 'a', first seen at {src}:1 "
        "(give every document a unique id)",
        f"{src}:4: b: document has no 'text' (every document needs its raw text as a string)",
    ]
    assert lines[3] == f"araevent predict: 3 error(s) in {src}; {AUTO_HINT}"


def test_cli_conll_brat_and_labelstudio(tiny_run, tmp_path, capsys):
    from araevent.formats import read_documents
    from araevent.formats.labelstudio import config_path, read_labelstudio

    code, jsonl, _ = run_cli(["--model", str(tiny_run), "--input", str(LINES), "--quiet"], capsys)
    predicted = [json.loads(x) for x in jsonl.splitlines()]
    want = {d["id"]: [(s["start"], s["end"], s["label"]) for s in d["entities"]] for d in predicted}
    code, conll, _ = run_cli(
        ["--model", str(tiny_run), "--input", str(LINES), "--format", "conll", "--quiet"], capsys
    )
    assert code == 0 and conll.count("\n\n") == len(predicted)
    code, _, _ = run_cli(
        [
            "--model",
            str(tiny_run),
            "--input",
            str(LINES),
            "--format",
            "brat",
            "--output",
            str(tmp_path / "brat"),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0 and (tmp_path / "brat" / "annotation.conf").is_file()
    back = read_documents(tmp_path / "brat", "brat", nested="error")
    assert back.errors == []
    assert {d.id: [s.key for s in d.entities] for d in back.documents} == want
    tasks = tmp_path / "ls" / "tasks.json"
    code, _, _ = run_cli(
        [
            "--model",
            str(tiny_run),
            "--input",
            str(LINES),
            "--format",
            "labelstudio",
            "--output",
            str(tasks),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0 and config_path(tasks).is_file()
    read = read_labelstudio(tasks, source="predictions")
    assert read.errors == []
    assert {d.id: [s.key for s in d.entities] for d in read.documents} == want


def test_prediction_spans_helper_reads_both_places():
    from araevent.predict import predicted_spans

    doc = Document("a", "نص هنا", [Span(0, 2, "PER")], [], {})
    assert predicted_spans(doc)["entities"] == [Span(0, 2, "PER")]
    doc.extra["predicted_entities"] = [{"start": 3, "end": 6, "label": "GPE", "score": 0.5}]
    assert [s.key for s in predicted_spans(doc)["entities"]] == [(3, 6, "GPE")]
    assert predicted_spans(doc)["triggers"] == []


@pytest.mark.parametrize(
    ("setup", "output", "message"),
    [
        (
            lambda d: (d / "afile").write_text("x"),
            "afile/tasks.json",
            "afile is a file, not a folder",
        ),
        (lambda d: (d / "adir").mkdir(), "adir", "adir is a folder; labelstudio output is a file"),
        (
            lambda d: (d / "t.label_config.xml").mkdir(),
            "t.json",
            "t.label_config.xml is a folder; labelstudio output is a file",
        ),
    ],
)
def test_cli_labelstudio_to_an_unusable_path_is_one_line(
    tiny_run, tmp_path, capsys, monkeypatch, setup, output, message
):
    setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run_cli(
        [
            "--model",
            str(tiny_run),
            "--input",
            str(LINES),
            "--format",
            "labelstudio",
            "--output",
            output,
        ],
        capsys,
    )
    assert (code, out) == (2, "")
    assert err == f"araevent predict: --output {output}: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("fmt", ["jsonl", "conll"])
def test_cli_file_output_onto_a_folder_is_one_line_before_any_work(tiny_run, tmp_path, capsys, fmt):
    argv = ["--model", str(tiny_run), "--input", str(LINES), "--format", fmt]
    code, out, err = run_cli([*argv, "--output", str(tmp_path)], capsys)
    assert (code, out) == (2, "")
    where = f"--output {tmp_path}: {tmp_path}"
    assert err == f"araevent predict: {where} is a folder; {fmt} output is a file\n"


def test_cli_labelstudio_write_failure_leaves_no_half_pair(tiny_run, tmp_path, capsys, monkeypatch):
    import araevent.formats.labelstudio as ls

    real = ls.atomic_write_bytes

    def refuse_config(path, data):
        if str(path).endswith(".label_config.xml"):
            raise PermissionError(13, "Permission denied", str(path))
        real(path, data)

    monkeypatch.setattr(ls, "atomic_write_bytes", refuse_config)
    tasks = tmp_path / "tasks.json"
    argv = ["--model", str(tiny_run), "--input", str(LINES), "--format", "labelstudio"]
    code, out, err = run_cli([*argv, "--output", str(tasks), "--quiet"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"araevent predict: cannot write {tmp_path / 'tasks.label_config.xml'}: Permission denied\n"
    )
    assert list(tmp_path.iterdir()) == []
