"""ACE 2005 reader: our own fixtures in the LDC layout (tests/data/ace2005, make_fixtures.py).

Every offset below was worked out by hand from the fixture texts: ACE counts the
tag-stripped .sgm with escapes as written and END inclusive; the output counts the
decoded text, end exclusive.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from araevent import ace2005
from araevent.cli import main
from araevent.errors import DataError, UsageError
from conftest import ROOT

FIXTURE = ROOT / "tests" / "data" / "ace2005"
NW, BN, WL = "AFA20001107.1400.0087", "NTV20001127.1530.0311", "DIGRESSING_20041109.1126"
UNLISTED = "ANN20260105.0900.0001"
NW_APF = FIXTURE / "data/Arabic/nw/adj" / f"{NW}.apf.xml"

# (start, end, label, text) of the entities, extent spans
ENTITIES_EXTENT = {
    NW: [
        (62, 68, "ORG", "الشرطة"),
        (75, 80, "PER", "رجلين"),
        (85, 93, "LOC", "حي النور"),  # after &quot; (6 characters in ACE, 1 here)
        (98, 105, "GPE", "القاهرة"),
        (137, 157, "PER", "وزير الخارجية المصري"),  # after &lt;...&gt;
        (151, 157, "GPE", "المصري"),
        (159, 172, "PER", "نظيره الأردني"),  # after the proclitic ب of «بنظيره»
        (163, 164, "PER", "ه"),  # the pronoun suffix
        (165, 172, "GPE", "الأردني"),
        (189, 196, "GPE", "القاهرة"),
        (208, 214, "ORG", "الشرطة"),
        (215, 220, "PER", "رجلين"),
        (240, 246, "ORG", "الشركة"),  # written one character late: repaired
    ],
    BN: [
        (70, 80, "PER", "ثلاثة جنود"),
        (93, 98, "VEH", "قافلة"),
        (99, 109, "LOC", "شمال بغداد"),
        (104, 109, "GPE", "بغداد"),
        (129, 136, "PER", "المتحدث"),
    ],
    WL: [
        (81, 85, "PER", "سامي"),  # the POSTER
        (117, 121, "PER", "خالد"),
        (122, 135, "PER", "رئيسا للبلدية"),
        (129, 135, "ORG", "لبلدية"),  # after the proclitic ل of «للبلدية»
        # GPE [128, 139) «للبلدية أمس» crosses the PER above: dropped and reported
    ],
}
# trigger -> its arguments (start, end, role, text), extent spans
TRIGGERS_EXTENT = {
    NW: [
        (
            (69, 74, "Justice:Arrest-Jail", "تعتقل"),
            [
                (62, 68, "Agent", "الشرطة"),
                (75, 80, "Person", "رجلين"),
                (85, 93, "Place", "حي النور"),
            ],
        ),
        (
            (131, 136, "Contact:Meet", "اجتمع"),
            [
                (137, 157, "Entity", "وزير الخارجية المصري"),
                (159, 172, "Entity", "نظيره الأردني"),
                (173, 185, "Time-Within", "يوم الأربعاء"),
                (189, 196, "Place", "القاهرة"),
            ],
        ),
        (
            (201, 207, "Justice:Arrest-Jail", "اعتقلت"),  # after the proclitic و of «واعتقلت»
            [
                (208, 214, "Agent", "الشرطة"),
                (215, 220, "Person", "رجلين"),
                (227, 233, "Crime", "السرقة"),
            ],
        ),
        (
            (235, 239, "Transaction:Transfer-Money", "دفعت"),
            [(240, 246, "Giver", "الشركة"), (247, 256, "Money", "500 دولار")],
            # Recipient «الجيش» is nowhere in the text: dropped and reported
        ),
    ],
    BN: [
        (
            (63, 69, "Life:Die", "قُتِلَ"),
            [
                (70, 80, "Victim", "ثلاثة جنود"),
                (99, 109, "Place", "شمال بغداد"),
                (110, 120, "Time-Within", "صباح اليوم"),
            ],
        ),
        (
            (84, 88, "Conflict:Attack", "هجوم"),
            [
                (93, 98, "Target", "قافلة"),
                (99, 109, "Place", "شمال بغداد"),
                (110, 120, "Time-Within", "صباح اليوم"),
            ],
        ),
        # Victim is not a role of Conflict:Attack: dropped and reported
        ((140, 146, "Conflict:Attack", "الهجوم"), [(155, 169, "Time-Within", "الساعة السابعة")]),
    ],
    WL: [
        (
            (110, 116, "Personnel:Elect", "انتُخب"),
            [
                (117, 121, "Person", "خالد"),
                (122, 135, "Position", "رئيسا للبلدية"),
                (136, 139, "Time-Within", "أمس"),
            ],
        ),
    ],
}
ENTITIES_HEAD = {
    NW: [
        (62, 68, "ORG", "الشرطة"),
        (75, 80, "PER", "رجلين"),
        (88, 93, "LOC", "النور"),
        (98, 105, "GPE", "القاهرة"),
        (137, 141, "PER", "وزير"),
        (151, 157, "GPE", "المصري"),
        (159, 164, "PER", "نظيره"),
        (163, 164, "PER", "ه"),
        (165, 172, "GPE", "الأردني"),
        (189, 196, "GPE", "القاهرة"),
        (208, 214, "ORG", "الشرطة"),
        (215, 220, "PER", "رجلين"),
        (240, 246, "ORG", "الشركة"),
    ],
    BN: [
        (76, 80, "PER", "جنود"),
        (93, 98, "VEH", "قافلة"),
        (99, 103, "LOC", "شمال"),
        (104, 109, "GPE", "بغداد"),
        (129, 136, "PER", "المتحدث"),
    ],
    WL: [
        (81, 85, "PER", "سامي"),
        (117, 121, "PER", "خالد"),
        (122, 127, "PER", "رئيسا"),
        (129, 135, "GPE", "لبلدية"),  # heads do not cross: kept
        (129, 135, "ORG", "لبلدية"),
    ],
}
# with --span head, entity arguments are their mention's head; values and times keep extents
HEAD_ARGUMENTS = {
    (137, 157, "Entity"): (137, 141, "Entity", "وزير"),
    (159, 172, "Entity"): (159, 164, "Entity", "نظيره"),
    (85, 93, "Place"): (88, 93, "Place", "النور"),
    (70, 80, "Victim"): (76, 80, "Victim", "جنود"),
    (99, 109, "Place"): (99, 103, "Place", "شمال"),
}
TEXTS = {
    BN: "\n NTV20001127.1530.0311 \n NEWS STORY \n 2000-11-27 15:30:00 \n\n\n\n"
    "قُتِلَ ثلاثة جنود في هجوم على قافلة شمال بغداد صباح اليوم.\n\n\n"
    "وقال المتحدث إن الهجوم وقع عند الساعة السابعة.\n\n\n\n\n",
    WL: "\n DIGRESSING_20041109.1126 \n WEB TEXT \n 2004-11-09T11:26:00 \n\n\n"
    "عن الانتخابات\n\n\n\n سامي \n 2004-11-09T11:26:00 \n\n"
    "انتُخب خالد رئيسا للبلدية أمس.\n\n\n\n\n",
}


def convert(tmp_path: Path, *extra: str) -> tuple[dict, dict]:
    out = tmp_path / "out"
    assert main(["convert", str(FIXTURE), str(out), "--from", "ace2005", *extra]) == 0
    docs = {}
    for f in sorted(out.glob("*.jsonl")):
        for line in f.read_text("utf-8").splitlines():
            d = json.loads(line)
            docs[d["id"]] = {**d, "part": f.stem}
    return docs, json.loads((out / "stats.json").read_text("utf-8"))


def entities(doc: dict) -> list[tuple]:
    return [(e["start"], e["end"], e["label"], e["text"]) for e in doc["entities"]]


def triggers(doc: dict) -> list[tuple]:
    return [
        (
            (t["start"], t["end"], t["label"], t["text"]),
            [(a["start"], a["end"], a["role"], a["text"]) for a in t["arguments"]],
        )
        for t in doc["triggers"]
    ]


def test_extent_spans_exactly(tmp_path, capsys):
    docs, stats = convert(tmp_path)
    for doc_id in (NW, BN, WL):
        assert entities(docs[doc_id]) == ENTITIES_EXTENT[doc_id], doc_id
        assert triggers(docs[doc_id]) == TRIGGERS_EXTENT[doc_id], doc_id
    nw = docs[NW]
    assert '"حي النور"' in nw["text"] and "<أ ف ب>" in nw["text"] and "دولار & غرامة" in nw["text"]
    assert "&" + "quot;" not in nw["text"]
    # keys: entity TYPE details, the other span, event attributes, argument references
    assert nw["entities"][2] == {
        "start": 85,
        "end": 93,
        "label": "LOC",
        "text": "حي النور",
        "subtype": "Region-General",
        "mention_type": "NAM",
        "entity_id": "E2",
        "mention_id": "E2-1",
        "head": [88, 93],
    }
    meet = nw["triggers"][1]
    assert {k: meet[k] for k in ("modality", "polarity", "genericity", "tense", "mention_id")} == {
        "modality": "Asserted",
        "polarity": "Positive",
        "genericity": "Specific",
        "tense": "Past",
        "mention_id": "EV1-1",
    }
    assert meet["arguments"][2]["mention_id"] == "T1-1"
    assert nw["source"] == "nw" and docs[BN]["source"] == "bn"


def test_head_spans_exactly(tmp_path):
    docs, stats = convert(tmp_path, "--span", "head")
    for doc_id in (NW, BN, WL):
        assert entities(docs[doc_id]) == ENTITIES_HEAD[doc_id], doc_id
        want = [
            (t, [HEAD_ARGUMENTS.get(a[:3], a) for a in args]) for t, args in TRIGGERS_EXTENT[doc_id]
        ]
        assert triggers(docs[doc_id]) == want, doc_id
    assert docs[NW]["entities"][4]["extent"] == [137, 157]
    # the Recipient refers to the mention that was dropped
    assert stats["all"]["dropped"] == {
        "argument refers to a mention that was dropped or does not exist": 1,
        "argument overlaps its trigger": 1,
        "entity extent charseq not found": 1,
        "role Victim is not an ACE role of Conflict:Attack": 1,
    }


def test_turn_post_poster_quote_markup_is_stripped(tmp_path):
    docs, _ = convert(tmp_path)
    assert docs[BN]["text"] == TEXTS[BN]
    assert docs[WL]["text"] == TEXTS[WL]  # the QUOTE attribute (with a '>') is not text


def test_repairs_drops_and_counts(tmp_path, capsys):
    docs, stats = convert(tmp_path)
    captured = capsys.readouterr()
    a = stats["all"]
    assert a["repaired"] == {
        "entity extent charseq shifted by 1": 1,
        "entity head charseq shifted by 1": 1,
    }
    assert a["dropped"] == {
        "argument extent charseq not found": 1,
        "argument overlaps its trigger": 1,
        "entities span crosses another": 1,
        "entity extent charseq not found": 1,
        "role Victim is not an ACE role of Conflict:Attack": 1,
    }
    assert f"{NW_APF}: {NW}: entity mention E10-1: entity extent charseq not found: expected " in (
        captured.err
    )
    assert "expected 'الجيش' at [259, 264), found 'غرامة' (nor within 5 characters)" in captured.err
    assert (
        f"{WL}: mention E4-1: entities span crosses another: [128, 139) GPE crosses "
        "[122, 135) PER (mention E2-2)" in captured.err
    )
    assert f"{BN}: event mention EV2-2 argument E1-1 Victim: role Victim" in captured.err
    assert (
        f"{UNLISTED}: event mention EV2-1 argument E3-1 Person: argument overlaps its trigger: "
        "[99, 100)" in captured.err
    )
    # the pronoun suffix «ه» of «واعتقلوه» is a mention, but not an argument of its own anchor
    assert (99, 100, "PER", "ه") in entities(docs[UNLISTED])
    assert ((93, 100, "Justice:Arrest-Jail", "اعتقلوه"), []) in triggers(docs[UNLISTED])
    assert len(captured.err.strip().splitlines()) == len(stats["problems"]) == 5
    # counts: documents, characters, mentions by type, events by subtype, arguments by role
    assert a["documents"] == 4 and a["documents_by_source"] == {"bn": 1, "nw": 2, "wl": 1}
    assert a["characters"] == sum(len(d["text"]) for d in docs.values())
    assert a["entity_mentions"] == {"GPE": 7, "LOC": 2, "ORG": 4, "PER": 12, "VEH": 1}
    assert a["entity_mentions_by_mention_type"] == {"NAM": 9, "NOM": 15, "PRO": 2}
    assert a["value_mentions"] == {"Crime": 1, "Job-Title": 1, "Numeric": 1}
    assert a["time_mentions"] == {"TIMEX2": 5}
    assert a["event_mentions"]["Justice:Arrest-Jail"] == 3 and a["event_mentions_total"] == 10
    assert a["arguments"]["Time-Within"] == 5 and a["arguments_total"] == 24


def test_first_pass_copy_is_ignored(tmp_path):
    docs, stats = convert(tmp_path)
    assert stats["first_pass_files_ignored"] == 1
    # the fp1 copy has a Life:Die on «غرامة» that the adjudicated file does not
    assert [t["label"] for t in docs[NW]["triggers"]] == [
        "Justice:Arrest-Jail",
        "Contact:Meet",
        "Justice:Arrest-Jail",
        "Transaction:Transfer-Money",
    ]


def test_values_and_times_as_entities_only_when_asked(tmp_path):
    docs, _ = convert(tmp_path, "--values")
    nw = {(s, e, lab, t) for s, e, lab, t in entities(docs[NW])}
    assert {
        (106, 120, "TIME", "1 كانون الثاني"),
        (173, 185, "TIME", "يوم الأربعاء"),
        (227, 233, "VALUE", "السرقة"),
        (247, 256, "VALUE", "500 دولار"),
    } == nw - set(ENTITIES_EXTENT[NW])
    money = next(e for e in docs[NW]["entities"] if e["label"] == "VALUE" and e["start"] == 247)
    assert (money["value_type"], money["subtype"]) == ("Numeric", "Money")
    wl_time = next(e for e in docs[WL]["entities"] if e["label"] == "TIME")
    assert (wl_time["start"], wl_time["end"], wl_time["val"]) == (136, 139, "2004-11-08")


def test_named_mentions_only(tmp_path):
    docs, stats = convert(tmp_path, "--mentions", "named")
    assert {e["mention_type"] for d in docs.values() for e in d["entities"]} == {"NAM"}
    assert entities(docs[BN]) == [(104, 109, "GPE", "بغداد")]
    assert stats["all"]["not_selected"] == {"non-named entity mentions (--mentions named)": 17}
    # arguments do not depend on the entity layer
    assert triggers(docs[BN]) == TRIGGERS_EXTENT[BN]


def test_splits_and_unlisted_documents(tmp_path, capsys):
    docs, stats = convert(tmp_path)
    out = capsys.readouterr().out
    assert {d: v["part"] for d, v in docs.items()} == {
        NW: "train",
        BN: "dev",
        WL: "test",
        UNLISTED: "unlisted",
    }
    assert stats["unlisted"] == [UNLISTED]
    assert len(stats["listed_not_found"]["train"]) == 316
    assert stats["parts"]["dev"]["event_mentions_total"] == 3
    assert f"in no list of the split (1, written to unlisted.jsonl): {UNLISTED}" in out
    assert "wrote train.jsonl, dev.jsonl, test.jsonl, unlisted.jsonl and stats.json" in out

    giga, _ = convert(tmp_path / "g", "--split", "gigabert")
    assert {d: v["part"] for d, v in giga.items()} == {
        NW: "train",
        BN: "dev",
        WL: "dev",
        UNLISTED: "unlisted",
    }
    none, _ = convert(tmp_path / "n", "--split", "none")
    assert {v["part"] for v in none.values()} == {"all"} and len(none) == 4


def test_shipped_split_lists():
    xu, giga = ace2005.split_ids("xu2021"), ace2005.split_ids("gigabert")
    assert [len(xu[p]) for p in ("train", "dev", "test")] == [317, 20, 32]
    assert [len(giga[p]) for p in ("train", "dev", "test")] == [322, 40, 40]
    for lists in (xu, giga):
        ids = [i for p in lists.values() for i in p]
        assert len(ids) == len(set(ids))


def test_sgm_offsets_count_escapes_as_written():
    stripped, text, where = ace2005.sgm_text('<P a=">">x&amp;y &#1576;</P>')
    assert (stripped, text) == ("x&amp;y &#1576;", "x&y ب")
    assert where == [0, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 5]


def test_corpus_problems_are_one_line_errors(tmp_path, capsys):
    assert main(["convert", str(tmp_path), str(tmp_path / "o"), "--from", "ace2005"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"araevent convert: {tmp_path}: no adjudicated ACE files (data/Arabic/*/adj/*.apf.xml) "
        "(give the LDC2006T06 folder that holds data/, or its data/Arabic)"
    )
    copy = tmp_path / "c"
    shutil.copytree(FIXTURE / "data", copy / "data")
    bad = copy / "data/Arabic/wl/adj" / f"{WL}.apf.xml"
    bad.write_text("<source_file>\n<document>\n</source_file>\n", "utf-8")
    assert main(["convert", str(copy), str(tmp_path / "o"), "--from", "ace2005"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"araevent convert: {bad}:3: {WL}: not well-formed XML: mismatched tag")
    assert not (tmp_path / "o").exists()
    (bad.with_suffix("").with_suffix(".sgm")).unlink()
    with pytest.raises(DataError, match=f"no {WL}.sgm beside {WL}.apf.xml"):
        ace2005.read_corpus(copy)


def test_convert_usage_errors(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "a.jsonl"), str(tmp_path / "b")]) == 2
    assert "--to FORMAT is required" in capsys.readouterr().err
    args = ["convert", str(FIXTURE), str(tmp_path / "o"), "--from", "ace2005"]
    assert main([*args, "--nested", "outer", "--to", "jsonl"]) == 2
    assert capsys.readouterr().err.startswith(
        "araevent convert: --to, --nested do(es) not apply to --from ace2005"
    )
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "mine.txt").write_text("x", "utf-8")
    assert main(args) == 2
    assert "is a file or a folder that is not empty" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "dev.jsonl",
        "mine.txt",
        "stats.json",
        "test.jsonl",
        "train.jsonl",
        "unlisted.jsonl",
    ]


def test_cache_is_keyed_by_file_content_and_options(tmp_path):
    copy = tmp_path / "ldc"
    shutil.copytree(FIXTURE / "data", copy / "data")
    opts = ace2005.Options()
    first = ace2005.cached_conversion(copy, tmp_path / "cache", opts, "xu2021")
    assert (first / "train.jsonl").is_file()
    stamp = (first / "stats.json").stat().st_mtime_ns
    assert ace2005.cached_conversion(copy, tmp_path / "cache", opts, "xu2021") == first
    assert (first / "stats.json").stat().st_mtime_ns == stamp  # not converted again
    head = ace2005.cached_conversion(copy, tmp_path / "cache", ace2005.Options("head"), "xu2021")
    assert head != first
    sgm = copy / "data/Arabic/nw/adj" / f"{NW}.sgm"
    sgm.write_text(sgm.read_text("utf-8").replace("رجلين", "رجلان"), "utf-8")
    assert ace2005.cached_conversion(copy, tmp_path / "cache", opts, "xu2021") != first
    with pytest.raises(UsageError, match="span='heads': choose extent or head"):
        ace2005.Options("heads").check()


def test_values_join_the_label_set_only_when_read():
    plain = ace2005.training_label_set("ace2005", values=False)
    assert not plain.allows("entities", "VALUE")
    both = ace2005.training_label_set("ace2005", values=True)
    assert both.allows("entities", "VALUE") and both.allows("entities", "TIME")
    assert both.allows("entities", "PER") and both.allows_role("Life:Die", "Time-Within")
    assert ace2005.training_label_set("any", values=True).allows("entities", "ANYTHING")


@pytest.mark.slow
def test_train_on_ace2005_end_to_end(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["OMP_NUM_THREADS"] = "1"
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "data=ace2005",
        f"data.ldc_root={FIXTURE}",
        "debug=tiny",
        "trainer.epochs=1",
        f"data.cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={run}",
    ]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((run / "metrics.json").read_text("utf-8"))
    # dev is the bn document, test the wl one; nested outer keeps the outer of nested spans
    assert metrics["dev/entities/span/support"] == len(ENTITIES_EXTENT[BN]) - 1
    assert metrics["dev/triggers/classification/span/support"] == len(TRIGGERS_EXTENT[BN])
    assert metrics["test/entities/span/support"] == len(ENTITIES_EXTENT[WL]) - 1
    assert metrics["test/triggers/classification/span/support"] == len(TRIGGERS_EXTENT[WL])
    (cached,) = (tmp_path / "cache").iterdir()
    assert cached.name.startswith("xu2021-")
    config = (run / ".hydra" / "config.yaml").read_text("utf-8")
    assert f"ldc_root: {FIXTURE}" in config
