"""Streaming predict: bounded chunks, input order, shards, resume and every output format."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import araevent.streaming as streaming
from araevent.cli import main
from araevent.errors import DataError, UsageError
from conftest import ROOT, sample_docs, write_jsonl


@pytest.fixture(scope="module")
def extractor(tiny_run: Path):
    from araevent.predict import Extractor

    return Extractor.from_pretrained(tiny_run)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """60 JSONL documents with their own spans (the bundled training split, ids kept)."""
    docs = sample_docs("train", 60)
    return write_jsonl(tmp_path_factory.mktemp("stream") / "in.jsonl", docs)


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(["predict", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def predict_file(tiny_run: Path, src: Path, out: Path, *extra: str) -> bytes:
    argv = ["--model", str(tiny_run), "--input", str(src), "--output", str(out), "--quiet"]
    assert main(["predict", *argv, *extra]) == 0
    return out.read_bytes()


def test_predict_stream_yields_in_order_with_ids_by_position(extractor):
    texts = [d["text"] for d in sample_docs("dev", 7)]
    whole = extractor.predict(texts)
    streamed = list(extractor.predict_stream(iter(texts), chunk_size=3))
    assert [d.id for d in streamed] == [str(i) for i in range(7)]
    assert [d.to_dict() for d in streamed] == [d.to_dict() for d in whole]
    assert extractor.stats["documents"] == 7


def test_predict_stream_holds_one_chunk_at_a_time(extractor):
    pulled = []

    def items():
        for i, d in enumerate(sample_docs("dev", 10)):
            pulled.append(i)
            yield d["text"]

    stream = extractor.predict_stream(items(), chunk_size=4)
    first = next(stream)
    assert (first.id, len(pulled)) == ("0", 4)  # only the first chunk was read
    assert [d.id for d in stream] == [str(i) for i in range(1, 10)]
    assert len(pulled) == 10


def test_predict_stream_names_the_bad_item_by_its_place_in_the_stream(extractor):
    items = [*sample_docs("dev", 5), {"id": "x", "text": 3}]
    with pytest.raises(DataError) as err:
        list(extractor.predict_stream(items, chunk_size=2))
    assert err.value.line == 6 and err.value.doc_id == "x"
    with pytest.raises(ValueError, match="chunk_size must be at least 1, not 0"):
        next(extractor.predict_stream(["x"], chunk_size=0))


def split_scores(obj, scores: list[float]):
    """``obj`` without its ``score`` keys, which are appended to ``scores``."""
    if isinstance(obj, dict):
        if "score" in obj:
            scores.append(obj["score"])
        return {k: split_scores(v, scores) for k, v in obj.items() if k != "score"}
    if isinstance(obj, list):
        return [split_scores(v, scores) for v in obj]
    return obj


@pytest.mark.parametrize("fmt", ["jsonl", "conll", "labelstudio"])
def test_chunk_size_changes_no_span_and_no_order(tiny_run, corpus, tmp_path, fmt):
    ids = [d["id"] for d in sample_docs("train", 60)]
    small = predict_file(
        tiny_run, corpus, tmp_path / f"a.{fmt}", "--format", fmt, "--chunk-size", "7"
    )
    whole = predict_file(tiny_run, corpus, tmp_path / f"b.{fmt}", "--format", fmt)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    if fmt == "conll":  # tags only: the same bytes
        assert small == whole and whole.count(b"\n\n") == 60
        return
    if fmt == "jsonl":
        a, b = ([json.loads(x) for x in out.decode().splitlines()] for out in (small, whole))
        assert [d["id"] for d in b] == ids
    else:
        a, b = json.loads(small), json.loads(whole)
        assert [t["data"]["doc_id"] for t in b] == ids
        assert (tmp_path / "b.label_config.xml").is_file()
    # padding to another batch's width moves a score by float rounding only
    scores_a, scores_b = [], []
    assert split_scores(a, scores_a) == split_scores(b, scores_b)
    assert scores_b and scores_a == pytest.approx(scores_b, abs=1e-5)


def test_brat_is_written_document_by_document_into_place(extractor, tiny_run, corpus, tmp_path):
    from araevent.writing import write_documents

    out = tmp_path / "brat"
    argv = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out), "--quiet"]
    assert main(["predict", *argv, "--format", "brat", "--chunk-size", "7"]) == 0
    ref = extractor.predict(sample_docs("train", 60), replace=True)
    write_documents(ref, tmp_path / "ref", "brat")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "ref").iterdir())
    assert len(names) == 2 * 60 + 1
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes(), name
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_bad_line_late_in_the_input_stops_before_anything_is_written(
    tiny_run, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(streaming, "BLOCK", 2)  # the repeated id is in another block
    docs = sample_docs("train", 5)
    src = write_jsonl(tmp_path / "in.jsonl", [*docs, docs[1]])
    out = tmp_path / "out.jsonl"
    argv = ["--model", str(tiny_run), "--input", str(src), "--output", str(out)]
    code, stdout, err = run_cli([*argv, "--chunk-size", "1"], capsys)
    assert (code, stdout) == (1, "")
    first = err.splitlines()[0]
    assert first.startswith(f"{src}:6: {docs[1]['id']}: duplicate document id ")
    assert f"first seen at {src}:2" in first
    assert "1 error(s) in" in err and "nothing written" in err
    assert list(tmp_path.iterdir()) == [src]


def test_gzip_input_reads_as_the_plain_file(tiny_run, corpus, tmp_path):
    packed = tmp_path / "in.jsonl.gz"
    packed.write_bytes(gzip.compress(corpus.read_bytes()))
    plain = predict_file(tiny_run, corpus, tmp_path / "a.jsonl")
    assert predict_file(tiny_run, packed, tmp_path / "b.jsonl") == plain
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"not gzip\n")
    code = main(["predict", "--model", str(tiny_run), "--input", str(broken)])
    assert code == 2


def test_shard_options_are_checked(tiny_run, corpus, capsys):
    for bad in ("3/2", "0/2", "1", "a/b"):
        code, _, err = run_cli(
            ["--model", str(tiny_run), "--input", str(corpus), "--shard", bad], capsys
        )
        assert code == 2
        assert err == (
            f"araevent predict: --shard {bad}: give K/N with 1 <= K <= N, e.g. --shard 1/4 "
            "for the first of four parts\n"
        )
    assert streaming.shard_lines(10, 1, 3) == (0, 3)
    assert streaming.shard_lines(10, 3, 3) == (6, 10)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "araevent.cli", "predict", *args]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}


def test_shards_concatenated_are_the_single_output(tiny_run, corpus, tmp_path):
    whole = predict_file(tiny_run, corpus, tmp_path / "whole.jsonl", "--chunk-size", "7")
    parts = [
        predict_file(
            tiny_run, corpus, tmp_path / f"{k}.jsonl", "--chunk-size", "7", "--shard", f"{k}/3"
        )
        for k in (1, 2, 3)
    ]
    # 60 lines are 9 chunks of 7 lines (the last one 4): three chunks per shard
    assert [p.count(b"\n") for p in parts] == [21, 21, 18]
    assert b"".join(parts) == whole
    empty = predict_file(tiny_run, corpus, tmp_path / "e.jsonl", "--shard", "1/2")
    assert empty == b""  # one chunk of 512 lines, which is the last shard's


@pytest.mark.slow
def test_two_shards_as_two_processes_give_the_single_output(tiny_run, corpus, tmp_path):
    whole = predict_file(tiny_run, corpus, tmp_path / "whole.jsonl", "--chunk-size", "10")
    procs = [
        subprocess.Popen(
            cli(
                "--model",
                str(tiny_run),
                "--input",
                str(corpus),
                "--shard",
                f"{k}/2",
                "--output",
                str(tmp_path / f"part-{k}.jsonl"),
                "--chunk-size",
                "10",
                "--quiet",
            ),
            env=child_env(),
            stderr=subprocess.PIPE,
        )
        for k in (1, 2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    parts = [(tmp_path / f"part-{k}.jsonl").read_bytes() for k in (1, 2)]
    assert parts[0].count(b"\n") == 30 and parts[1].count(b"\n") == 30
    assert parts[0] + parts[1] == whole


@pytest.mark.slow
def test_resume_after_the_process_is_killed(tiny_run, corpus, tmp_path, capsys):
    whole = predict_file(tiny_run, corpus, tmp_path / "whole.jsonl", "--chunk-size", "2")
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    args = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out)]
    args += ["--chunk-size", "2"]
    proc = subprocess.Popen(cli(*args, "--quiet"), env=child_env())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.exists() and partial.read_bytes().count(b"\n") >= 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    done = partial.read_bytes().count(b"\n")
    assert 3 <= done < 60
    code, _, err = run_cli([*args, "--resume"], capsys)
    assert code == 0, err
    assert f"{done} already in the output (resumed" in err
    again = done % 2  # a line of its chunk was not written: the chunk is predicted again
    assert f"araevent predict: {60 - done + again} document(s)" in err
    assert out.read_bytes() == whole and not partial.exists()


def test_resume_rewrites_a_half_written_last_line(tiny_run, corpus, tmp_path, capsys):
    whole = predict_file(tiny_run, corpus, tmp_path / "whole.jsonl")
    out = tmp_path / "out.jsonl"
    cut = whole.index(b"\n", whole.index(b"\n") + 1) + 1  # two lines
    (tmp_path / "out.jsonl.partial").write_bytes(whole[: cut + 40])
    args = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out), "--resume"]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert f"{out}.partial: the half-written last line is written again" in err
    assert "araevent predict: 60 document(s)" in err
    assert "2 already in the output (resumed; 2 of them predicted again with their " in err
    assert out.read_bytes() == whole
    # a finished output resumes to itself, predicting nothing
    code, _, err = run_cli(args, capsys)
    assert code == 0 and "predict: 0 document(s)" in err
    assert "60 already in the output (resumed)" in err
    assert out.read_bytes() == whole and not (tmp_path / "out.jsonl.partial").exists()


def test_resume_refuses_another_inputs_output(tiny_run, corpus, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    other = write_jsonl(tmp_path / "other.jsonl", sample_docs("dev", 3))
    predict_file(tiny_run, other, out)
    before = out.read_bytes()
    args = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out), "--resume"]
    code, stdout, err = run_cli(args, capsys)
    assert (code, stdout) == (2, "")
    assert err == (
        f"araevent predict: --resume: {out}:1 is not document 1 of {corpus}; the output comes "
        "from another input or shard (remove it, or choose another --output)\n"
    )
    assert out.read_bytes() == before
    code, _, err = run_cli([*args[:-1], "--format", "conll", "--resume"], capsys)
    assert code == 2
    assert "--resume continues a JSONL output file; it needs --format jsonl" in err


def test_a_stale_partial_is_replaced_without_resume(tiny_run, corpus, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    partial.write_text('{"id": "old", "text": "x"}\n')
    code, _, err = run_cli(
        ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out)], capsys
    )
    assert code == 0
    assert f"starting over; {partial} of an earlier run will be replaced" in err
    assert not partial.exists() and out.read_bytes().count(b"\n") == 60


def test_scale_corpus_repeats_the_test_split_with_new_ids(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up while being built
    spec.loader.exec_module(bench)
    scale_corpus = bench.scale_corpus
    test = sample_docs("test")
    docs = [
        json.loads(x)
        for x in scale_corpus(tmp_path / "c.jsonl", 2 * len(test) + 3).read_text().splitlines()
    ]
    assert len(docs) == 2 * len(test) + 3
    assert len({d["id"] for d in docs}) == len(docs)
    assert [d["text"] for d in docs[len(test) :][: len(test)]] == [d["text"] for d in test]


def test_a_saved_datasets_folder_is_read_row_by_row(tiny_run, corpus, tmp_path, capsys):
    import datasets

    folder = tmp_path / "ds"
    datasets.Dataset.from_list(sample_docs("train", 60)).save_to_disk(str(folder))
    from_file = predict_file(tiny_run, corpus, tmp_path / "a.jsonl")
    assert predict_file(tiny_run, folder, tmp_path / "b.jsonl") == from_file
    splits = tmp_path / "splits"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(sample_docs("train", 2))}
    ).save_to_disk(str(splits))
    code, _, err = run_cli(["--model", str(tiny_run), "--input", str(splits)], capsys)
    assert (code, err) == (
        2,
        f"araevent predict: --input {splits} holds the splits train; pass one, e.g. "
        f"--input {splits / 'train'}\n",
    )


def test_a_hub_dataset_name_offline_is_one_sentence(tiny_run, capsys, monkeypatch):
    for given in ("someone/arabic-news", "hub:someone/arabic-news"):
        code, out, err = run_cli(["--model", str(tiny_run), "--input", given], capsys)
        assert (code, out) == (2, "")
        assert err == (
            f"araevent predict: --input {given}: the Hugging Face dataset someone/arabic-news "
            "cannot be read offline (HF_HUB_OFFLINE=1); where the Hub can be reached, save it "
            "with datasets.load_dataset('someone/arabic-news', split='train').save_to_disk(DIR) "
            "and pass --input DIR\n"
        )
    import datasets

    def unreachable(name, split, streaming):
        raise OSError("Couldn't reach 'someone/arabic-news' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    code, out, err = run_cli(["--model", str(tiny_run), "--input", "hub:someone/a:test"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(
        "araevent predict: --input hub:someone/a:test: cannot read the Hugging Face dataset "
        "someone/a (split test): Couldn't reach 'someone/arabic-news' on the Hub "
        "(LocalEntryNotFoundError); where the Hub can be reached, save it with "
    )


def test_a_hub_dataset_online_is_streamed_row_by_row(tiny_run, tmp_path, monkeypatch, whole10):
    import datasets

    calls, pulled = [], []

    def load_dataset(name, split, streaming):
        calls.append((name, split, streaming))
        for row in sample_docs("train", 60):
            pulled.append(row["id"])
            yield {**row, "extra_column": None}  # Arrow's None for a key a row lacks

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    hub = predict_file(tiny_run, "hub:someone/news:dev", tmp_path / "b.jsonl", "--chunk-size", "10")
    assert hub == whole10  # the rows of the corpus, read from the file
    assert calls == [("someone/news", "dev", True)] and len(pulled) == 60


@pytest.mark.parametrize("fmt", ["jsonl", "labelstudio", "brat"])
def test_an_interrupted_run_leaves_only_a_resumable_jsonl_part(
    tiny_run, corpus, tmp_path, capsys, monkeypatch, fmt
):
    from araevent.predict import Extractor

    real = Extractor.predict
    calls = []

    def stop_at_the_third_chunk(self, items, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, items, **kw)

    monkeypatch.setattr(Extractor, "predict", stop_at_the_third_chunk)
    out = tmp_path / "out" / f"x.{fmt}"
    argv = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out)]
    with pytest.raises(KeyboardInterrupt):
        main(["predict", *argv, "--format", fmt, "--chunk-size", "10", "--quiet"])
    err = capsys.readouterr().err
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    if fmt != "jsonl":
        assert (left, err) == ([], "")
        return
    partial = tmp_path / "out" / "x.jsonl.partial"
    assert left == ["x.jsonl.partial"] and partial.read_bytes().count(b"\n") == 20
    assert err == (
        f"araevent predict: stopped; 20 document(s) are in {partial}; rerun with --resume "
        "to continue from there\n"
    )


# --- torchrun / accelerate launch: one shard per process, merged by rank 0 -----------


@pytest.fixture(scope="module")
def whole10(tiny_run, corpus, tmp_path_factory) -> bytes:
    """The single-process output with --chunk-size 10."""
    out = tmp_path_factory.mktemp("whole") / "whole.jsonl"
    return predict_file(tiny_run, corpus, out, "--chunk-size", "10")


@pytest.mark.slow
def test_torchrun_processes_merge_their_parts_into_the_single_output(
    tiny_run, corpus, tmp_path, whole10
):
    out = tmp_path / "out" / "merged.jsonl"
    args = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
        + ["-m", "araevent.cli", "predict", *args, "--chunk-size", "10"],
        env=child_env(),
        capture_output=True,
        timeout=300,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "shard 1/2 (lines 1-30)" in err and "shard 2/2 (lines 31-60)" in err
    assert f"araevent predict: 2 parts merged -> {out}" in err
    assert out.read_bytes() == whole10
    assert [p.name for p in out.parent.iterdir()] == ["merged.jsonl"]  # the parts are gone


class FakeGroup:
    """The processes of a two-process launch as rank 0 sees them at each meeting."""

    others: list[str | None] = []  # what rank 1 says at each meeting (None: all went well)

    def __init__(self, launch, wait_s):
        self.stopped = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def meet(self, failure):
        said = FakeGroup.others.pop(0)
        failed = [(0, failure)] if failure else []
        failed += [(1, said)] if said else []
        self.stopped = bool(failed)
        return failed


@pytest.fixture
def rank0(monkeypatch):
    import araevent.commands.predict as command

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setattr(command, "Group", FakeGroup)
    return FakeGroup


def test_a_failed_rank_leaves_no_merged_output_and_resume_completes_it(
    tiny_run, corpus, tmp_path, capsys, whole10, rank0
):
    out = tmp_path / "out.jsonl"
    argv = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out)]
    argv += ["--chunk-size", "10", "--quiet"]
    rank0.others = [None, "RuntimeError('out of memory')"]  # rank 1 fails while predicting
    code, _, err = run_cli(argv, capsys)
    assert (code, err) == (
        1,
        "araevent predict: rank 1 (shard 2/2) failed: RuntimeError('out of memory'); nothing "
        f"merged into {out} (the finished parts stay beside it; rerun the same command with "
        "--resume)\n",
    )
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl.part-1-of-2"]
    # rank 1's rerun writes its part; rank 0 resumes its finished part and merges
    lines = whole10.splitlines(keepends=True)
    (tmp_path / "out.jsonl.part-2-of-2").write_bytes(b"".join(lines[30:]))
    rank0.others = [None, None]
    code, _, err = run_cli([*argv, "--resume"], capsys)
    assert code == 0, err
    assert out.read_bytes() == whole10
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_bad_line_in_another_ranks_shard_writes_nothing(
    tiny_run, corpus, tmp_path, capsys, rank0
):
    out = tmp_path / "out.jsonl"
    rank0.others = ["1 error(s) in lines 31-60 of in.jsonl"]
    argv = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(out)]
    code, _, err = run_cli([*argv, "--chunk-size", "10"], capsys)
    assert (code, err) == (
        1,
        "araevent predict: rank 1 (shard 2/2) failed: 1 error(s) in lines 31-60 of in.jsonl; "
        f"nothing written to {out}\n",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--format", "brat"],
            "--format brat parts cannot be merged into one output under WORLD_SIZE=2 (torchrun "
            "or accelerate launch); use --format jsonl or conll, or give each process --shard "
            "K/N and its own --output",
        ),
        (
            ["--output", "-"],
            "--output - under WORLD_SIZE=2 (torchrun or accelerate launch): each process needs "
            "a file; pass --output FILE",
        ),
    ],
)
def test_a_launch_refuses_what_it_cannot_merge(
    tiny_run, corpus, tmp_path, capsys, rank0, extra, message
):
    argv = ["--model", str(tiny_run), "--input", str(corpus), "--output", str(tmp_path / "o")]
    code, out, err = run_cli([*argv, *extra], capsys)
    assert (code, out, err) == (2, "", f"araevent predict: {message}\n")


def test_the_launch_is_read_from_the_launchers_variables():
    from araevent.ranks import Group, Launch, launched, part_path

    assert launched({}) is None and launched({"WORLD_SIZE": "1", "RANK": "0"}) is None
    got = launched({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"})
    assert got == Launch(2, 4, 0) and got.shard == (3, 4)
    with pytest.raises(UsageError, match="WORLD_SIZE=4 and RANK=None are set"):
        launched({"WORLD_SIZE": "4"})
    assert part_path(Path("d/o.jsonl"), 3, 12) == Path("d/o.jsonl.part-03-of-12")
    # gloo's monitored barrier names the processes that did not come
    lost = Group(Launch(0, 4, 0), 60)._lost("[Rank 0]: Ranks 1, 3 failed to pass monitoredBarrier")
    assert lost.startswith("rank 1, 3 did not finish its shard within 60 s (--wait-timeout)")
