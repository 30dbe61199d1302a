"""Broken model folders: one line naming the folder and what is wrong, never a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from araevent.cli import main
from araevent.entrypoints import run_evaluation
from araevent.errors import UsageError
from araevent.modeling import load_model_dir
from conftest import compose

FIX = "(restore the folder from the run, or train again)"


def set_known_words(folder: Path, value) -> None:
    config = json.loads((folder / "config.json").read_text("utf-8"))
    config["araevent"]["known_words"] = value
    (folder / "config.json").write_text(json.dumps(config), "utf-8")


def only_bin(folder: Path) -> None:
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")


def truncated_weights(folder: Path) -> None:
    f = folder / "model.safetensors"
    f.write_bytes(f.read_bytes()[:1000])


def classifier_dropped(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    kept = {k: v for k, v in tensors.items() if not k.startswith("classifier.")}
    save_file(kept, folder / "model.safetensors", metadata={"format": "pt"})


def classifier_reshaped(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    tensors["classifier.weight"] = tensors["classifier.weight"][:5]
    tensors["classifier.bias"] = tensors["classifier.bias"][:5]
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


def fifo_known_words(folder: Path) -> None:
    os.mkfifo(folder / "words.fifo")
    set_known_words(folder, "words.fifo")


BROKEN = {
    "only a .bin": (
        only_bin,
        "it has pytorch_model.bin but no model.safetensors; araevent loads safetensors "
        "weights only (convert them: load the model and save_pretrained(safe_serialization=True))",
    ),
    "no weights": (
        lambda f: (f / "model.safetensors").unlink(),
        f"model.safetensors is missing {FIX}",
    ),
    "truncated safetensors": (
        truncated_weights,
        f"the weights are damaged: Error while deserializing header: invalid header length {FIX}",
    ),
    "weights without the classifier": (
        classifier_dropped,
        "the weights lack 2 tensor(s) the config needs (first: classifier.bias); "
        f"they would be random {FIX}",
    ),
    "weights of another shape": (
        classifier_reshaped,
        "2 tensor(s) in the weights do not have the shape config.json gives "
        f"(first: classifier.bias) {FIX}",
    ),
    "config.json not JSON": (
        lambda f: (f / "config.json").write_text('{"broken', "utf-8"),
        f"config.json is not valid JSON: Unterminated string starting at at line 1 column 2 {FIX}",
    ),
    "config.json a list": (
        lambda f: (f / "config.json").write_text("[1, 2]", "utf-8"),
        f"config.json holds a list, not a JSON object {FIX}",
    ),
    "config.json without layers": (
        lambda f: (f / "config.json").write_text('{"araevent": {"preprocessing": {}}}', "utf-8"),
        "config.json 'araevent' block lacks layers.entities/layers.triggers (lists of labels) "
        f"or preprocessing {FIX}",
    ),
    "unknown model type": (
        lambda f: (f / "config.json").write_text(
            (f / "config.json").read_text("utf-8").replace('"bert"', '"nosuchmodel"'), "utf-8"
        ),
        # transformers' own words follow; they change between its versions
        re.compile(r"the model does not load: .*`nosuchmodel`.* \(restore the folder .*\)"),
    ),
    "no tokenizer": (
        lambda f: [(f / n).unlink() for n in ("tokenizer.json", "tokenizer_config.json")],
        f"tokenizer.json is missing {FIX}",
    ),
    "broken tokenizer": (
        lambda f: (f / "tokenizer.json").write_text('{"x": 1}', "utf-8"),
        f"the tokenizer does not load: KeyError: 'added_tokens' {FIX}",
    ),
    "known words missing": (
        lambda f: (f / "known_words.txt").unlink(),
        f"the known-words file known_words.txt named in config.json is missing {FIX}",
    ),
}
OUTSIDE = 'only a file name inside the model folder is accepted (set it to "known_words.txt" and put the file beside config.json)'  # noqa: E501


@pytest.fixture
def model_copy(tiny_run: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_run / "model", folder)
    return folder


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_model_folder_is_one_usage_error(model_copy, case):
    breaks, message = BROKEN[case]
    breaks(model_copy)
    with pytest.raises(UsageError) as caught:
        load_model_dir(model_copy)
    prefix = f"model folder {model_copy}: "
    if isinstance(message, re.Pattern):
        text = str(caught.value)
        assert text.startswith(prefix) and "\n" not in text
        assert message.fullmatch(text.removeprefix(prefix))
    else:
        assert str(caught.value) == prefix + message


@pytest.mark.parametrize("value", ["/dev/zero", "/etc/passwd", "../known_words.txt", "a/b.txt", 3])
def test_known_words_must_be_a_file_name_inside_the_folder(model_copy, value):
    set_known_words(model_copy, value)
    with pytest.raises(UsageError) as caught:
        load_model_dir(model_copy)
    assert str(caught.value) == (
        f"model folder {model_copy}: config.json araevent.known_words is {value!r}; {OUTSIDE}"
    )


def test_known_words_fifo_is_refused_without_reading_it(model_copy):
    fifo_known_words(model_copy)
    with pytest.raises(UsageError) as caught:
        load_model_dir(model_copy)
    assert str(caught.value) == (
        f"model folder {model_copy}: the known-words file words.fifo named in config.json "
        f"is not a regular file {FIX}"
    )


def test_known_words_under_another_name_inside_the_folder_loads(model_copy):
    (model_copy / "known_words.txt").rename(model_copy / "words.txt")
    set_known_words(model_copy, "words.txt")
    loaded = load_model_dir(model_copy)
    assert sorted(loaded.preprocessor.known) == sorted(
        w for w in (model_copy / "words.txt").read_text("utf-8").splitlines() if w
    )


def test_cli_and_evaluate_get_the_same_one_line(model_copy, fixture_corpus, tmp_path, capsys):
    truncated_weights(model_copy)
    src = tmp_path / "in.txt"
    src.write_text("نص\n", "utf-8")
    code = main(["predict", "--model", str(model_copy), "--input", str(src)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == (
        f"araevent predict: model folder {model_copy}: the weights are damaged: "
        f"Error while deserializing header: invalid header length {FIX}\n"
    )
    out = tmp_path / "eval"
    cfg = compose(
        "evaluate",
        [f"model_path={model_copy}", f"data.dir={fixture_corpus}", f"paths.output_dir={out}"],
    )
    with pytest.raises(SystemExit) as exit_:
        run_evaluation(cfg, out)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        f"error: model folder {model_copy}: the weights are damaged: "
        f"Error while deserializing header: invalid header length {FIX}\n"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nothing", "no such model folder: {p}/nothing"),
        (
            lambda p: p / "in.txt",
            "{p}/in.txt is a file; give the model/ folder train.py wrote, or its run",
        ),  # noqa: E501
        (lambda p: p, "{p} is neither a model folder nor a run folder with model/config.json"),
    ],
)
def test_model_path_that_is_no_folder(tmp_path, make, message):
    (tmp_path / "in.txt").write_text("نص\n", "utf-8")
    with pytest.raises(UsageError) as caught:
        load_model_dir(make(tmp_path))
    assert str(caught.value) == message.format(p=tmp_path)


def test_a_hub_id_is_not_a_folder_and_the_line_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        load_model_dir("me/araevent-tiny")
    assert str(caught.value) == (
        "no such model folder: me/araevent-tiny "
        "(a Hub model? download it first: snapshot_download('me/araevent-tiny'))"
    )


def test_unknown_device_is_one_line(tiny_run):
    with pytest.raises(UsageError, match=r"^cannot put the model on device 'nodevice': "):
        load_model_dir(tiny_run, device="nodevice")


def test_broken_base_model_folder_for_training_is_one_line(model_copy):
    from araevent.modeling import load_pretrained
    from araevent.tagging import LabelSchema

    truncated_weights(model_copy)
    with pytest.raises(UsageError) as caught:
        load_pretrained(str(model_copy), LabelSchema.build(["PER"], []))
    assert str(caught.value) == (
        f"cannot load model from {model_copy}: Error while deserializing header: invalid "
        "header length (check its config.json, weights and tokenizer files)"
    )
