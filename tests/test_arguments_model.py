"""The argument model: instances, masked decoding, training into arguments/, Extractor."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from araevent.arguments import (
    FOLDER,
    ArgumentPredictor,
    InstanceBuilder,
    add_markers,
    argument_schema,
    rule_baseline,
    wanted,
)
from araevent.errors import UsageError
from araevent.modeling import Preprocessing, Preprocessor, tiny_model, train_tiny_tokenizer
from araevent.predict import Extractor
from araevent.schema import Argument, Document, Span, parse_document
from araevent.text import KnownWords, split_units
from conftest import compose, sample_docs

TEXT = "قتل الجيش ثلاثة مدنيين في حلب"
DIE = Span(
    0,
    3,
    "Life:Die",
    arguments=(Argument(4, 9, "Agent"), Argument(10, 22, "Victim"), Argument(26, 29, "Place")),
)
DOC = Document("d1", TEXT, [Span(26, 29, "GPE"), Span(4, 9, "ORG")], [DIE])


def _setup(label_set: str = "ace2005"):
    known = KnownWords.shipped()
    units = [[u.text for u in split_units(TEXT, known)]]
    tok = train_tiny_tokenizer(units, vocab_size=200, min_frequency=1, max_length=64)
    schema = argument_schema([DOC], label_set, ["Life:Die", "Transaction:Transfer-Ownership"])
    model = tiny_model(
        tok,
        schema.labels,
        hidden_size=16,
        num_layers=1,
        num_heads=2,
        intermediate_size=32,
        dropout=0.0,
        max_length=64,
    )
    add_markers(tok, model, schema)
    pre = Preprocessor(tok, known, Preprocessing(max_length=64, stride=8, decoding="viterbi"))
    return pre, schema, model


def test_instance_marks_the_trigger_and_tags_its_roles_over_units():
    pre, schema, _ = _setup()
    stats = Counter()
    units, [inst] = InstanceBuilder(pre, schema).build([TEXT], [[DIE]], tagged=True, stats=stats)
    tokens = pre.tokenizer.convert_ids_to_tokens(inst.input_ids)
    assert tokens == [
        "[CLS]",
        "[T]",
        "قتل",
        "[/T]",
        "الجيش",
        "ثلاثة",
        "مدنيين",
        "في",
        "حلب",
        "[SEP]",
        "[E:Life:Die]",
        "[SEP]",
    ]
    assert [tokens[p] for p in inst.first_positions] == [u.text for u in units[0]]
    tags = [schema.tags[inst.labels[p]] for p in inst.first_positions]
    assert tags == ["O", "B-Agent", "B-Victim", "I-Victim", "O", "B-Place"]
    assert all(inst.labels[i] == -100 for i in range(len(tokens)) if i not in inst.first_positions)
    assert stats["arguments"] == 3 and stats["arguments_off_unit_boundaries"] == 0


def test_argument_off_unit_boundaries_is_counted_not_tagged():
    pre, schema, _ = _setup()
    bad = Span(0, 3, "Life:Die", arguments=(Argument(5, 9, "Agent"),))  # inside «الجيش»
    stats = Counter()
    _, [inst] = InstanceBuilder(pre, schema).build([TEXT], [[bad]], tagged=True, stats=stats)
    assert stats["arguments_off_unit_boundaries"] == 1
    assert {schema.tags[inst.labels[p]] for p in inst.first_positions} == {"O"}


def test_triggers_not_annotated_get_no_training_instance():
    pre, schema, _ = _setup()
    stats = Counter()
    bare = Span(0, 3, "Life:Die")
    _, instances = InstanceBuilder(pre, schema).build([TEXT], [[bare]], tagged=True, stats=stats)
    assert instances == [] and stats["triggers_not_annotated"] == 1


@pytest.mark.parametrize(("label_set", "expected"), [("ace2005", "O"), ("any", "B-Buyer")])
def test_decoding_masks_roles_the_event_type_does_not_allow(label_set, expected):
    pre, schema, model = _setup(label_set)
    if label_set == "any":  # any: roles seen in training, plus Buyer as if seen
        schema = type(schema)(("Agent", "Buyer", "Place", "Victim"), schema.events, None)
    predictor = ArgumentPredictor(model, pre, schema, decoding="viterbi")
    units = pre.units(TEXT)
    probs = np.full((len(units), len(schema.tags)), 0.01, dtype=np.float32)
    probs[:, schema.tags.index("O")] = 0.3
    probs[1, schema.tags.index("B-Buyer")] = 0.6  # Buyer is no role of Life:Die in ACE 2005
    args = predictor.decode(units, probs, "Life:Die")
    got = [(a.start, a.end, a.role) for a in args]
    assert got == ([] if expected == "O" else [(4, 9, "Buyer")])


def test_decoding_puts_no_argument_on_the_trigger_itself():
    pre, schema, model = _setup()
    predictor = ArgumentPredictor(model, pre, schema, decoding="viterbi")
    units = pre.units(TEXT)
    probs = np.full((len(units), len(schema.tags)), 0.01, dtype=np.float32)
    probs[:, schema.tags.index("O")] = 0.3
    probs[0, schema.tags.index("B-Agent")] = 0.9  # unit 0 is the trigger «قتل»
    probs[1, schema.tags.index("B-Victim")] = 0.9
    got = [(a.start, a.end, a.role) for a in predictor.decode(units, probs, "Life:Die", (0, 0))]
    assert got == [(4, 9, "Victim")]


def test_decoding_many_instances_at_once_gives_each_its_own_arguments():
    pre, schema, model = _setup()
    predictor = ArgumentPredictor(model, pre, schema, decoding="viterbi")
    units = pre.units(TEXT)
    rng = np.random.default_rng(0)
    items = []
    for k in range(6):  # random rows: ill-formed argmax paths, so Viterbi runs on most
        n = len(units) - k % 3  # instances of different lengths
        probs = rng.random((n, len(schema.tags))).astype(np.float32)
        items.append((units[:n], probs / probs.sum(-1, keepdims=True), (k % 2, k % 2)))
    one_by_one = [predictor.decode(u, p, "Life:Die", t) for u, p, t in items]
    assert predictor.decode_many(items, "Life:Die") == one_by_one
    assert any(one_by_one) and len({tuple(a) for a in one_by_one}) > 1


def test_rule_baseline_takes_the_nearest_compatible_entity_in_the_sentence():
    schema = argument_schema([DOC], "ace2005", ["Life:Die"])
    [[trig]] = rule_baseline([DOC], schema)
    # Agent and Victim (PER/ORG/GPE) take the nearest party first, Place the GPE left over
    assert [(a.start, a.end, a.role) for a in trig.arguments] == [
        (4, 9, "Agent"),
        (26, 29, "Victim"),
    ]


def test_arguments_setting_true_without_arguments_is_one_usage_error():
    plain = Document("p", TEXT, [], [Span(0, 3, "Life:Die")])
    with pytest.raises(UsageError, match="arguments=true but no training trigger"):
        wanted({"arguments": True}, [plain])
    assert wanted({"arguments": "auto"}, [plain]) is False
    assert wanted({"arguments": False}, [DOC]) is False
    assert wanted({}, [DOC]) is True
    with pytest.raises(UsageError, match="arguments=maybe: choose auto, true or false"):
        wanted({"arguments": "maybe"}, [DOC])


def test_training_saves_arguments_loadable_by_plain_transformers(tiny_run):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    folder = tiny_run / FOLDER
    model = AutoModelForTokenClassification.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    labels = set(model.config.id2label.values())
    assert {"O", "B-Victim", "I-Victim", "B-Place"} <= labels
    assert tok.convert_tokens_to_ids("[T]") != tok.unk_token_id
    assert model.get_input_embeddings().num_embeddings == len(tok)
    metrics = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    for key in ("gold_triggers", "gold_triggers/rule_baseline", "end_to_end"):
        assert f"test/{key}/arguments/classification/span/f1" in metrics
    assert metrics["run"]["arguments"]["train_features"]["arguments"] > 0
    report = (tiny_run / "report.md").read_text("utf-8")
    assert "| argument model, gold triggers |" in report
    assert "| rule baseline, gold triggers (gold entities) |" in report


def test_extractor_returns_arguments_whose_offsets_index_the_raw_text(tiny_run, fixture_corpus):
    # a training document: the debug model has learnt some of its arguments
    doc = json.loads((fixture_corpus / "train.jsonl").read_text("utf-8").splitlines()[0])
    extractor = Extractor.from_pretrained(tiny_run / "model")
    assert extractor.arguments is not None
    [plain] = extractor.predict([doc["text"]])
    assert all(t.arguments is not None for t in plain.triggers)
    prefix = " \n  "  # whitespace before the text shifts every offset, and nothing else
    [shifted] = extractor.predict([prefix + doc["text"]])
    key = lambda d, k=0: [  # noqa: E731
        (t.start - k, t.label, [(a.start - k, a.end - k, a.role) for a in t.arguments])
        for t in d.triggers
    ]
    assert key(shifted, len(prefix)) == key(plain)
    [gold] = extractor.predict([doc], use_gold_triggers=True)
    assert [(t.start, t.end, t.label) for t in gold.triggers] == [
        (t["start"], t["end"], t["label"]) for t in doc["triggers"]
    ]
    roles = set(extractor.arguments.predictor.schema.roles)
    assert any(t.arguments for t in gold.triggers)
    for t in gold.triggers:
        assert t.arguments is not None
        for a in t.arguments:
            span = doc["text"][a.start : a.end]
            assert span and span == span.strip() and a.role in roles
    with pytest.raises(UsageError, match="is an argument model; load its run folder"):
        Extractor.from_pretrained(tiny_run / FOLDER)
    without = Extractor.from_pretrained(tiny_run, arguments=False)
    assert without.arguments is None
    with pytest.raises(UsageError, match="use_gold_triggers=True needs the argument model"):
        without.predict([doc], use_gold_triggers=True)


def test_evaluate_reproduces_the_training_report_argument_scores(
    tiny_run, fixture_corpus, tmp_path, capsys
):
    from araevent.entrypoints import run_evaluation

    trained = json.loads((tiny_run / "metrics.json").read_text("utf-8"))
    out = tmp_path / "eval"
    overrides = [f"data.dir={fixture_corpus}", f"paths.output_dir={out}", "bootstrap=0"]
    cfg = compose("evaluate", [f"model_path={tiny_run}", *overrides])
    metrics = run_evaluation(cfg, out)
    keys = [
        k
        for k in trained
        if k.startswith("test/") and "/arguments/" in k and k.endswith(("/precision", "/f1"))
    ]
    protocols = ("gold_triggers/arguments", "rule_baseline/arguments", "end_to_end/arguments")
    assert all(any(p in k for k in keys) for p in protocols)
    assert {k: metrics[k] for k in keys} == {k: trained[k] for k in keys}
    printed = capsys.readouterr().out
    assert "| test arguments | Arg-I P |" in printed
    assert "| rule baseline, gold triggers (gold entities) |" in printed


def test_cli_predict_writes_arguments_on_the_raw_text(tiny_run, fixture_corpus, tmp_path):
    from araevent.cli import main

    train = [
        json.loads(x) for x in (fixture_corpus / "train.jsonl").read_text("utf-8").splitlines()
    ]
    texts = ["  " + d["text"] for d in train[:3]]  # leading spaces stay in the text
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n", "utf-8")
    out = tmp_path / "out.jsonl"
    assert (
        main(["predict", "--model", str(tiny_run), "--input", str(src), "--output", str(out)]) == 0
    )
    docs = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert [d["text"] for d in docs] == texts
    args = [(d, a) for d in docs for t in d["triggers"] for a in t["arguments"]]
    assert args and all(d["text"][a["start"] : a["end"]] == a["text"] for d, a in args)


def test_cli_summary_counts_arguments_and_conll_says_it_cannot_hold_them(
    tiny_run, fixture_corpus, tmp_path, capsys
):
    from araevent.cli import main

    train = [
        json.loads(x) for x in (fixture_corpus / "train.jsonl").read_text("utf-8").splitlines()
    ]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(d["text"] for d in train[:3]) + "\n", "utf-8")
    out = tmp_path / "out.jsonl"
    assert (
        main(["predict", "--model", str(tiny_run), "--input", str(src), "--output", str(out)]) == 0
    )
    n = sum(
        len(t["arguments"])
        for x in out.read_text("utf-8").splitlines()
        for t in json.loads(x)["triggers"]
    )
    assert n > 0
    assert f"and {n} arguments predicted" in capsys.readouterr().err
    conll = tmp_path / "out.conll"
    argv = ["predict", "--model", str(tiny_run), "--input", str(src), "--output", str(conll)]
    assert main([*argv, "--format", "conll"]) == 0
    assert f"{n} arguments not written (CoNLL holds no arguments;" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["labelstudio", "brat"])
def test_predicted_arguments_survive_labelstudio_and_brat(tiny_run, fixture_corpus, tmp_path, fmt):
    from araevent.cli import main
    from araevent.formats import read_documents
    from araevent.formats.labelstudio import read_labelstudio

    train = [
        json.loads(x) for x in (fixture_corpus / "train.jsonl").read_text("utf-8").splitlines()
    ]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(d["text"] for d in train[:4]) + "\n", "utf-8")
    ref, out = tmp_path / "ref.jsonl", tmp_path / fmt
    base = ["predict", "--model", str(tiny_run), "--input", str(src)]
    assert main([*base, "--output", str(ref)]) == 0
    assert main([*base, "--output", str(out), "--format", fmt]) == 0
    if fmt == "labelstudio":
        assert "<Relations>" in (tmp_path / f"{fmt}.label_config.xml").read_text("utf-8")
        back = read_labelstudio(out, source="predictions")
    else:
        back = read_documents(out, "brat", nested="keep")
    assert back.errors == []

    def arguments(docs):
        return sorted(
            (d.id, t.start, t.end, a.start, a.end, a.role)
            for d in docs
            for t in d.triggers
            for a in t.arguments or ()
        )

    lines = ref.read_text("utf-8").splitlines()
    expected = [parse_document(json.loads(x), line=n).document for n, x in enumerate(lines, 1)]
    assert arguments(expected) and arguments(back.documents) == arguments(expected)


def test_extractor_reuses_the_tagger_encodings_and_predicts_the_same_arguments(
    tiny_run, monkeypatch
):
    from araevent.arguments import encodes_alike

    texts = [d["text"] for d in sample_docs("train", 6)]  # some arguments learnt
    extractor = Extractor.from_pretrained(tiny_run)
    assert extractor.shared_encoding
    args = extractor.arguments.predictor
    triggers = [d.triggers for d in extractor.predict(texts)]
    # the reference: the argument model encoding each text itself, trigger by trigger
    reference = [
        [args.predict([text], [[t]])[1][0][0] for t in trigs]
        for text, trigs in zip(texts, triggers, strict=True)
    ]
    assert any(t.arguments for trigs in reference for t in trigs)
    calls = []
    encode = Preprocessor.encode
    monkeypatch.setattr(
        Preprocessor, "encode", lambda self, t: calls.append(self) or encode(self, t)
    )
    again = [d.triggers for d in extractor.predict(texts)]
    assert calls == [extractor.loaded.preprocessor]  # one encoding, the tagger's

    def key(docs):  # scores to 4 places: batches of other widths round differently
        return [
            [
                (
                    t.start,
                    t.end,
                    t.label,
                    [(a.start, a.end, a.role, round(a.score, 4)) for a in t.arguments],
                )
                for t in trigs
            ]
            for trigs in docs
        ]

    assert key(again) == key(reference)
    other, _, _ = _setup()  # a tokenizer of its own: the argument model encodes itself
    assert not encodes_alike(extractor.loaded.preprocessor, other)


def test_arguments_model_setting_reaches_the_argument_trainer(monkeypatch):
    from araevent import argument_training
    from araevent.config import train_job

    seen = []

    def record(job, train, labels, known, args, settings, folder):
        seen.append((settings, folder))
        raise StopIteration

    monkeypatch.setattr(argument_training, "tokenizer_and_model", record)
    for overrides in (["debug=tiny"], ["debug=tiny", "model@arguments_model=tiny"]):
        job = train_job(compose("train", overrides), "/nonexistent/run")
        with pytest.raises(StopIteration):
            argument_training.train_argument_model(
                job, {"train": [DOC]}, ["Life:Die"], KnownWords.shipped(), None
            )
    (default, folder), (own, own_folder) = seen
    assert default.tiny.hidden_size == 64 and folder == "tokenizer"  # debug=tiny's tagger
    assert own.tiny.hidden_size == 128 and own_folder == "tokenizer-arguments"  # model=tiny
    assert argument_training.encoder_from(job).startswith("model@arguments_model=tiny")


def test_predicted_triggers_join_the_training_instances():
    from araevent.arguments import training_dataset

    pre, schema, _ = _setup()
    retyped = Span(0, 3, "Transaction:Transfer-Ownership", 0.9)
    spurious = Span(10, 15, "Life:Die", 0.8)  # «ثلاثة»: no gold trigger there
    ds, stats = training_dataset(
        InstanceBuilder(pre, schema), [DOC], [[Span(0, 3, "Life:Die"), retyped, spurious]]
    )
    assert stats["instances"] == 3 and len(ds) == 3  # the gold one, once, and two more
    assert stats["predicted_triggers_retyped"] == stats["predicted_triggers_spurious"] == 1
    tags = [{schema.tags[x] for x in labels if x >= 0} for labels in ds["labels"]]
    assert tags[0] == tags[1] != {"O"} and tags[2] == {"O"}  # retyped: the gold arguments
    unannotated = Document("u", TEXT, [], [Span(0, 3, "Life:Die")])
    _, stats = training_dataset(InstanceBuilder(pre, schema), [unannotated], [[spurious]])
    assert "instances" not in stats and stats["triggers_not_annotated"] == 2


def test_arguments_predicted_triggers_takes_true_or_false():
    from araevent.argument_training import predicted_triggers_wanted
    from araevent.config import train_job

    job = train_job(compose("train", ["arguments_predicted_triggers=true"]), "/nonexistent")
    assert predicted_triggers_wanted(job) is True
    job.config["arguments_predicted_triggers"] = "sometimes"
    with pytest.raises(UsageError, match="arguments_predicted_triggers=sometimes: choose true"):
        predicted_triggers_wanted(job)


def test_reach_table_counts_every_argument_and_fewer_beyond_wider_instances(tiny_run):
    """scripts/argument_stats.py --reach: the table docs/arguments.md shows."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, str(root / "scripts/argument_stats.py"), "--reach", str(tiny_run)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.strip("|").split("|") for line in out.splitlines()[2:]]
    assert [r[0].strip() for r in rows] == ["train", "dev", "test"]
    gold = {
        split: sum(
            len(t.get("arguments") or ())
            for line in (root / f"data/sample/{split}.jsonl").read_text("utf-8").splitlines()
            for t in json.loads(line)["triggers"]
        )
        for split in ("train", "dev", "test")
    }
    for r in rows:
        n, beyond = int(r[1]), [int(x) for x in r[3:]]
        assert 0.8 * gold[r[0].strip()] <= n <= gold[r[0].strip()]  # those on unit edges
        assert beyond == sorted(beyond, reverse=True) and beyond[0] > 0
