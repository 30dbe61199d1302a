"""araevent publish: the upload folder for real, the upload through a recording HfApi."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from araevent import hub, hub_card, hub_folder
from araevent.cli import main
from conftest import ROOT, sample_docs

FAKE_TOKEN = "hf_FakeTokenForTheTestsOnly0123456789abcd"
REPO = "me/araevent-tiny"
MODEL_FILES = {
    "config.json",
    "known_words.txt",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
}
CARD_METRICS = [(view, family) for view, _ in hub.CARD_VIEWS for family, _ in hub.CARD_FAMILIES]
ARGUMENT_METRICS = [(view, "span") for view, _ in hub.ARGUMENT_VIEWS]
# the run's argument model (arguments/ beside model/) goes up as a subfolder
ARGUMENT_FILES = {f"arguments/{f}" for f in MODEL_FILES}


@pytest.fixture(scope="module")
def parity_run(tiny_run: Path, tmp_path_factory) -> Path:
    """A copy of the shared run (``--measure-parity`` writes into its metrics.json)."""
    run = tmp_path_factory.mktemp("parity") / tiny_run.name  # the card names the run
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
    return run


@pytest.fixture(scope="module")
def published(parity_run: Path, tmp_path_factory) -> Path:
    """``araevent publish RUN --measure-parity --dry-run DIR --include report.md``, a token set."""
    out = tmp_path_factory.mktemp("publish") / "upload"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_TOKEN", FAKE_TOKEN)
        code = main(
            [
                "publish",
                str(parity_run),
                "--measure-parity",
                "--repo-id",
                REPO,
                "--dry-run",
                str(out),
                "--include",
                "report.md",
            ]
        )
    assert code == 0
    return out


@pytest.fixture
def no_login(monkeypatch, tmp_path):
    """No token anywhere: not in the environment, not in the login cache."""
    from huggingface_hub import constants

    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))


class RecordingApi:
    """Stands in for ``HfApi``: records every call; ``upload_folder`` also lists the folder."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, bytes] = {}

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))

    def create_branch(self, **kwargs):
        self.calls.append(("create_branch", kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        folder = Path(kwargs["folder_path"])
        self.uploaded = {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file()
        }

        class Info:
            commit_url = f"https://huggingface.co/{kwargs['repo_id']}/commit/0123abc"

        return Info()


@pytest.fixture
def recording_api(monkeypatch):
    api = RecordingApi()
    tokens: list[str] = []

    def connect(token: str) -> RecordingApi:
        tokens.append(token)
        return api

    monkeypatch.setattr(hub, "connect", connect)
    api.tokens = tokens
    return api


def metrics_of(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text("utf-8"))


# ---------------------------------------------------------------- the folder


def test_folder_holds_only_the_expected_files(published: Path, tiny_run: Path):
    files = {p.relative_to(published).as_posix() for p in published.rglob("*")}
    assert files == MODEL_FILES | {"README.md", "report.md", "arguments"} | ARGUMENT_FILES
    # what the run folder holds beside them stays home
    assert any(tiny_run.glob("checkpoints/*/optimizer.pt"))
    assert not [p for p in published.iterdir() if p.name.startswith(".")]
    assert (published / "model.safetensors").read_bytes() == (
        tiny_run / "model/model.safetensors"
    ).read_bytes()


def test_card_parses_and_carries_the_metrics(published: Path, tiny_run: Path):
    from huggingface_hub import ModelCard

    card = ModelCard.load(published / "README.md")
    data = card.data
    assert (data.language, data.library_name, data.pipeline_tag, data.license) == (
        "ar",
        "transformers",
        "token-classification",
        "apache-2.0",
    )
    assert data.base_model is None  # the tiny model has no Hub base model
    assert "araevent" in data.tags and "tiny" in data.tags
    assert data.datasets == ["sample"]
    assert data.model_name == "araevent-tiny"
    metrics = metrics_of(tiny_run)
    got = {(r.dataset_split, r.metric_config): r for r in data.eval_results}
    expected = {
        (split, f"{view}/{family}")
        for split in ("dev", "test")
        for view, family in CARD_METRICS + ARGUMENT_METRICS
    }
    assert set(got) == expected
    for (split, config), result in got.items():
        assert result.metric_value == pytest.approx(metrics[f"{split}/{config}/f1"], abs=5e-5)
        assert result.metric_type == "f1" and result.task_type == "token-classification"
        assert result.dataset_type == "sample" and "sample corpus" in result.dataset_name


def test_card_body_has_usage_labels_training_evaluation_limitations(
    published, tiny_run, parity_run
):
    from araevent.reporting import main_table

    text = (published / "README.md").read_text("utf-8")
    for heading in ("## Usage", "## Labels", "## Training", "## Evaluation", "## Limitations"):
        assert f"\n{heading}\n" in text, heading
    assert f'Extractor.from_pretrained(snapshot_download("{REPO}"))' in text
    assert 'pipeline("token-classification"' in text and 'aggregation_strategy="first"' in text
    parity = metrics_of(parity_run)["parity"]
    assert f"agree on {100 * parity['agreement']:.1f}% of exact character spans" in text
    assert "tiny test model" in text and "bundled sample corpus" in text
    config = json.loads((tiny_run / "model/config.json").read_text("utf-8"))["araevent"]
    for label in config["layers"]["entities"] + config["layers"]["triggers"]:
        assert label in text
    metrics = metrics_of(tiny_run)
    for split in ("dev", "test"):
        assert main_table(metrics, split) in text
    cfg = metrics["config"]["trainer"]
    assert f"{cfg['epochs']} epochs, learning rate {cfg['learning_rate']}" in text
    assert f"run `{tiny_run.name}`" in text


def test_folder_has_no_absolute_path_and_no_token(
    published: Path, tiny_run: Path, fixture_corpus: Path
):
    assert fixture_corpus.as_posix() in (tiny_run / "metrics.json").read_text("utf-8")
    forbidden = [
        str(tiny_run),
        str(tiny_run.resolve()),
        str(fixture_corpus),
        str(ROOT),
        os.getcwd(),
        "/tmp/",
        FAKE_TOKEN,
    ]
    for path in (p for p in published.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        for needle in forbidden:
            assert needle.encode() not in raw, (path.name, needle)
    assert hub.leaks(published, hub.local_strings(hub.load_source(tiny_run)), FAKE_TOKEN) == []


def test_published_folder_loads_in_pipeline_and_extractor(published: Path, tiny_run: Path):
    from transformers import pipeline

    from araevent import Extractor

    texts = [d["text"] for d in sample_docs("dev", 5)]
    from_folder = Extractor.from_pretrained(published).predict(texts)
    from_run = Extractor.from_pretrained(tiny_run).predict(texts)
    assert [(d.entities, d.triggers) for d in from_folder] == [
        (d.entities, d.triggers) for d in from_run
    ]
    assert any(d.entities or d.triggers for d in from_folder)
    tagger = pipeline("token-classification", model=str(published), aggregation_strategy="first")
    labels = set(Extractor.from_pretrained(published).schema.entities) | set(
        Extractor.from_pretrained(published).schema.triggers
    )
    groups = [r for text in texts for r in tagger(text)]
    assert groups and {g["entity_group"] for g in groups} <= labels
    for text, result in zip(texts, map(tagger, texts), strict=True):
        for g in result:
            assert text[g["start"] : g["end"]].strip()


def test_argument_model_loads_from_its_subfolder_as_the_card_says(published: Path, tiny_run):
    from huggingface_hub import ModelCard
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = AutoModelForTokenClassification.from_pretrained(published, subfolder="arguments")
    tokenizer = AutoTokenizer.from_pretrained(published, subfolder="arguments")
    run_config = json.loads((tiny_run / "arguments/config.json").read_text("utf-8"))
    assert model.config.id2label == {int(k): v for k, v in run_config["id2label"].items()}
    assert "B-Victim" in model.config.id2label.values()
    # the card's example input: the trigger between markers, the event type after [SEP]
    inputs = tokenizer(
        "[T] قتل [/T] الجيش ثلاثة مدنيين في حلب", "[E:Life:Die]", return_tensors="pt"
    )
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    assert {"[T]", "[/T]", "[E:Life:Die]"} <= set(tokens) and tokenizer.unk_token not in tokens
    assert model(**inputs).logits.shape[-1] == len(model.config.id2label)
    card = ModelCard.load(published / "README.md")
    text = card.text
    assert 'subfolder="arguments"' in text and "use_gold_triggers=True" in text
    assert {r.task_name for r in card.data.eval_results} == {hub_card.TASK_NAME_WITH_ARGUMENTS}
    assert "| test arguments | Arg-I P |" in text


def test_dry_run_prints_what_it_built(tiny_run, tmp_path, capsys):
    assert (
        main(
            [
                "publish",
                str(tiny_run / "model"),
                "--repo-id",
                REPO,
                "--dry-run",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    n = 2 * (len(CARD_METRICS) + len(ARGUMENT_METRICS))  # dev and test
    assert f"{n} model-index results (dev, test)" in out and "nothing uploaded" in out
    files = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")}
    assert files == MODEL_FILES | {"README.md", "arguments"} | ARGUMENT_FILES


# ---------------------------------------------------------------- refusals


def test_include_that_would_leak_a_path_writes_nothing(tiny_run, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "publish",
            str(tiny_run),
            "--repo-id",
            REPO,
            "--dry-run",
            str(out),
            "--include",
            "metrics.json",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "metrics.json" in err and "local paths" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo-id", "no-owner"], "give OWNER/NAME"),
        (["--repo-id", REPO, "--include", "nothing-*.txt"], "matches no file"),
        (["--repo-id", REPO, "--include", "../x"], "relative to"),
    ],
)
def test_usage_errors_are_one_line(tiny_run, tmp_path, capsys, args, message):
    code = main(["publish", str(tiny_run), *args, "--dry-run", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err


def test_non_empty_dry_run_folder_is_refused(tiny_run, tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine", "utf-8")
    assert main(["publish", str(tiny_run), "--repo-id", REPO, "--dry-run", str(tmp_path)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_missing_token_stops_before_any_network_call(tiny_run, no_login, recording_api, capsys):
    code = main(["publish", str(tiny_run), "--repo-id", REPO])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        "araevent publish: no Hugging Face token found: set HF_TOKEN or run `hf auth login` "
        "to upload, or pass --dry-run DIR to build the folder without uploading"
    )
    assert recording_api.calls == [] and recording_api.tokens == []


def test_offline_mode_stops_a_real_upload(tiny_run, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main(["publish", str(tiny_run), "--repo-id", REPO]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HF_HUB_OFFLINE=0" in err
    assert FAKE_TOKEN not in err


def test_hub_refusal_is_one_line_naming_the_step(tiny_run, monkeypatch, recording_api, capsys):
    from huggingface_hub.errors import HfHubHTTPError

    def refuse(**kwargs):
        response = SimpleNamespace(headers={}, request=None)
        raise HfHubHTTPError("403 Forbidden: you cannot write to me\nmore", response=response)

    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setattr(recording_api, "upload_folder", refuse)
    assert main(["publish", str(tiny_run), "--repo-id", REPO]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"araevent publish: uploading to {REPO} failed at upload_folder: "
        "403 Forbidden: you cannot write to me"
    )


# ---------------------------------------------------------------- the upload


def test_upload_calls_hfapi_in_order_with_the_run_named(
    tiny_run, monkeypatch, recording_api, capsys
):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    code = main(
        [
            "publish",
            str(tiny_run),
            "--repo-id",
            REPO,
            "--private",
            "--revision",
            "exp-1",
            "--license",
            "mit",
        ]
    )
    assert code == 0
    assert recording_api.tokens == [FAKE_TOKEN]
    names = [name for name, _ in recording_api.calls]
    assert names == ["create_repo", "create_branch", "upload_folder"]
    create, branch, upload = (kw for _, kw in recording_api.calls)
    assert create == {"repo_id": REPO, "repo_type": "model", "private": True, "exist_ok": True}
    assert branch == {"repo_id": REPO, "repo_type": "model", "branch": "exp-1", "exist_ok": True}
    assert upload["repo_id"] == REPO and upload["revision"] == "exp-1"
    assert upload["repo_type"] == "model"
    assert tiny_run.name in upload["commit_message"]
    assert set(recording_api.uploaded) == MODEL_FILES | {"README.md"} | ARGUMENT_FILES
    card = recording_api.uploaded["README.md"].decode("utf-8")
    assert "license: mit" in card and 'revision="exp-1"' in card
    assert all(FAKE_TOKEN.encode() not in raw for raw in recording_api.uploaded.values())
    assert not Path(upload["folder_path"]).exists()  # the temporary folder is gone
    assert f"uploaded run {tiny_run.name}" in capsys.readouterr().out


def test_upload_to_main_creates_no_branch(tiny_run, monkeypatch, recording_api):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    assert main(["publish", str(tiny_run), "--repo-id", REPO]) == 0
    assert [name for name, _ in recording_api.calls] == ["create_repo", "upload_folder"]
    assert recording_api.calls[0][1]["private"] is False
    assert recording_api.calls[1][1]["revision"] is None


# ---------------------------------------------------------------- other sources


def test_bare_model_folder_with_a_local_base_model(tiny_run, tmp_path):
    model = shutil.copytree(tiny_run / "model", tmp_path / "weights")
    config = json.loads((model / "config.json").read_text("utf-8"))
    config["araevent"]["base_model"] = "/srv/models/bert-base-arabertv02"
    (model / "config.json").write_text(json.dumps(config), "utf-8")
    source = hub.load_source(model)
    assert source.run_dir is None and source.metrics == {}
    # naming a shipped file again does not bring back the unsanitised copy
    folder = hub.build_folder(source, tmp_path / "out", repo_id=REPO, include=["config.json"])
    assert set(folder.files) == MODEL_FILES | {"README.md"}
    assert folder.eval_results == [] and folder.card.data.base_model is None
    written = (tmp_path / "out/config.json").read_text("utf-8")
    assert "/srv/" not in written and '"base_model": "bert-base-arabertv02"' in written
    text = (tmp_path / "out/README.md").read_text("utf-8")
    assert "a local folder named `bert-base-arabertv02`" in text
    assert "was not scored" in text


def test_parity_is_read_from_metrics(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run / "model", run / "model")
    parity = json.loads((ROOT / "tests/data/pub_parity.json").read_text("utf-8"))
    (run / "metrics.json").write_text(json.dumps({**metrics_of(tiny_run), **parity}), "utf-8")
    text = hub.card_text(hub.load_source(run), REPO)
    assert "not measured" not in text
    assert "- unit_tag_agreement: 0.9871" in text and "- documents: 99" in text


def test_hub_dataset_names_its_id_and_splits(tiny_run):
    source = hub.load_source(tiny_run)
    source.run_config = {
        **source.run_config,
        "data": {
            "name": "hub",
            "format": "hub",
            "hub_name": "org/arabic-events",
            "hub_config": "ar",
            "train": "train",
            "dev": "validation",
            "test": "test",
        },
    }
    data = hub.card_data(source, REPO, "apache-2.0")
    assert data.datasets == ["org/arabic-events"]
    assert {r.dataset_split for r in data.eval_results} == {"validation", "test"}
    assert {r.dataset_type for r in data.eval_results} == {"org/arabic-events"}
    assert "sample corpus" not in hub.card_text(source, REPO)


def test_make_publish_wraps_the_command():
    out = subprocess.run(
        ["make", "-n", "publish", "RUN=outputs/train/x", "REPO=me/m", "ARGS=--dry-run /tmp/d"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m araevent.cli publish outputs/train/x --repo-id me/m --dry-run /tmp/d" in out


# ---------------------------------------------------------------- TensorBoard and names

HOST = "build-node7.example.org"


@pytest.fixture
def run_with_events(tiny_run, tmp_path, monkeypatch) -> Path:
    """A run folder whose TensorBoard event file is named on host ``HOST``."""
    monkeypatch.setattr(hub_folder.socket, "gethostname", lambda: HOST)
    run = tmp_path / "run"
    shutil.copytree(tiny_run / "model", run / "model")
    shutil.copyfile(tiny_run / "report.md", run / "report.md")
    (run / "tensorboard").mkdir()
    (run / "tensorboard" / f"events.out.tfevents.1796196447.{HOST}.5543.0").write_bytes(b"\0ok")
    return run


@pytest.mark.parametrize("pattern", ["*", "**/*", "tensor*"])
def test_a_broad_include_does_not_sweep_in_tensorboard(run_with_events, tmp_path, capsys, pattern):
    out = tmp_path / "out"
    code = main(
        [
            "publish",
            str(run_with_events),
            "--repo-id",
            REPO,
            "--dry-run",
            str(out),
            "--include",
            pattern,
        ]
    )
    assert (code, capsys.readouterr().err) == (
        2,
        f"araevent publish: --include {pattern!r} matches tensorboard/ (its event files name "
        "the training machine); to upload them, say so: --include tensorboard\n",
    )
    assert not out.exists()


def test_tensorboard_named_goes_up_without_the_host_name(run_with_events, tmp_path):
    source = hub.load_source(run_with_events)
    folder = hub.build_folder(source, tmp_path / "out", repo_id=REPO, include=["tensorboard"])
    events = "tensorboard/events.out.tfevents.1796196447.host.5543.0"
    assert set(folder.files) == MODEL_FILES | {"README.md", events}
    assert (tmp_path / "out" / events).read_bytes() == b"\0ok"
    assert not any(HOST.split(".")[0] in f for f in folder.files)


def test_a_host_name_in_an_included_file_name_writes_nothing(run_with_events, tmp_path, capsys):
    (run_with_events / "notes-build-node7.txt").write_text("notes", "utf-8")
    out = tmp_path / "out"
    code = main(
        [
            "publish",
            str(run_with_events),
            "--repo-id",
            REPO,
            "--dry-run",
            str(out),
            "--include",
            "notes-*",
        ]
    )
    assert (code, capsys.readouterr().err) == (
        2,
        "araevent publish: nothing written: the upload folder would publish local paths, a host "
        "name or a token (notes-build-node7.txt: the host name 'build-node7' in the file name); "
        "leave such files out of --include\n",
    )
    assert not out.exists()


def test_an_event_file_name_without_a_host_part_is_refused(run_with_events, tmp_path):
    (run_with_events / "tensorboard" / "events.out.tfevents.odd").write_bytes(b"\0")
    with pytest.raises(hub.UsageError, match=r"^--include: cannot tell the host name in the "):
        hub.build_folder(
            hub.load_source(run_with_events),
            tmp_path / "out",
            repo_id=REPO,
            include=["tensorboard"],
        )
    assert not (tmp_path / "out").exists()


def test_a_broken_model_folder_is_not_published(tiny_run, tmp_path, capsys):
    model = shutil.copytree(tiny_run / "model", tmp_path / "model")
    (model / "tokenizer.json").unlink()
    out = tmp_path / "out"
    assert main(["publish", str(model), "--repo-id", REPO, "--dry-run", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"araevent publish: model folder {model}: tokenizer.json is missing "
        "(restore the folder from the run, or train again)\n"
    )
    assert not out.exists()


def test_known_words_under_another_name_go_up_and_load(tiny_run, tmp_path):
    from araevent.predict import Extractor

    model = shutil.copytree(tiny_run / "model", tmp_path / "model")
    (model / "known_words.txt").rename(model / "words.txt")
    config = json.loads((model / "config.json").read_text("utf-8"))
    config["araevent"]["known_words"] = "words.txt"
    (model / "config.json").write_text(json.dumps(config), "utf-8")
    folder = hub.build_folder(hub.load_source(model), tmp_path / "out", repo_id=REPO)
    assert set(folder.files) == MODEL_FILES - {"known_words.txt"} | {"words.txt", "README.md"}
    loaded = Extractor.from_pretrained(folder.path)  # a missing words.txt would not load
    assert sorted(loaded.known) == sorted(
        w for w in (model / "words.txt").read_text("utf-8").splitlines() if w
    )


def test_measure_parity_saves_it_in_the_run_folder(published, parity_run, tiny_run):
    metrics = metrics_of(parity_run)
    parity = metrics.pop("parity")
    assert parity["split"] == "test" and parity["documents"] == 20
    assert (
        0 <= parity["identical_spans"] <= min(parity["extractor_spans"], parity["pipeline_spans"])
    )
    assert metrics == metrics_of(tiny_run)  # the rest is as training wrote it


def test_without_measure_parity_the_card_says_not_measured(tiny_run):
    assert "parity" not in metrics_of(tiny_run)
    text = hub.card_text(hub.load_source(tiny_run), REPO)
    assert "Pipeline parity with araevent was not measured for this model." in text


PARITY_FIX = (
    "(publish the run folder train.py wrote, from the folder it was trained in, "
    "or leave out --measure-parity)"
)


def test_measure_parity_needs_a_run_folder(tiny_run, tmp_path, capsys):
    shutil.copytree(tiny_run / "model", tmp_path / "weights")
    argv = ["publish", str(tmp_path / "weights"), "--repo-id", REPO, "--measure-parity"]
    assert main([*argv, "--dry-run", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"araevent publish: --measure-parity needs a run folder with a metrics.json {PARITY_FIX}\n"
    )
    assert not (tmp_path / "out").exists()


def test_measure_parity_names_a_split_that_is_not_there(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run / "model", run / "model")
    metrics = metrics_of(tiny_run)
    gone = tmp_path / "gone/test.jsonl"
    metrics["config"]["data"]["test"] = str(gone)
    (run / "metrics.json").write_text(json.dumps(metrics), "utf-8")
    argv = ["publish", str(run), "--repo-id", REPO, "--measure-parity"]
    assert main([*argv, "--dry-run", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"araevent publish: {run}/metrics.json: the test split ({gone}) is not there to "
        f"measure parity on {PARITY_FIX}\n"
    )
    assert metrics_of(run) == metrics and not (tmp_path / "out").exists()


def safetensors_bytes(metadata: dict, tensor: bytes) -> bytes:
    header = {
        "__metadata__": metadata,
        "w": {"dtype": "U8", "shape": [len(tensor)], "data_offsets": [0, len(tensor)]},
    }
    raw = json.dumps(header).encode("utf-8")
    return len(raw).to_bytes(8, "little") + raw + tensor


def test_the_leak_scan_reads_safetensors_headers_and_large_files_in_chunks(tmp_path, monkeypatch):
    secret = "/work/secret-place/run"
    folder = tmp_path / "up"
    folder.mkdir()
    # a path in the header metadata is found; the same bytes inside the tensor data are
    # numbers, never read (weights can be many GB)
    (folder / "model.safetensors").write_bytes(safetensors_bytes({"from": secret}, b"\0" * 8))
    (folder / "model-2.safetensors").write_bytes(
        safetensors_bytes({"format": "pt"}, secret.encode("utf-8"))
    )
    assert hub.leaks(folder, [secret]) == [
        f"model.safetensors: {secret!r}",
        "model.safetensors: '/work/'",
    ]
    # a file above the whole-file limit is read in overlapping chunks: a string across a
    # chunk border is still found
    monkeypatch.setattr(hub_folder, "WHOLE_FILE_LIMIT", 16)
    monkeypatch.setattr(hub_folder, "CHUNK_BYTES", 20)
    (folder / "model.safetensors").unlink()
    (folder / "notes.txt").write_bytes(b" " * 10 + secret.encode("utf-8") + b" " * 30)
    assert hub.leaks(folder, [secret]) == [
        f"notes.txt: {secret!r}",
        "notes.txt: '/work/'",
    ]
