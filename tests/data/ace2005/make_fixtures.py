"""Write the ACE 2005 fixtures (LDC layout, our own Arabic text): python make_fixtures.py.

Each .sgm is built from segments: a tag (in a 1-tuple) or text as written (escapes
included). ACE offsets (START/END inclusive) count the text segments only, so they are
found here by searching the joined text segments, independently of the reader.
A mention is (id, extent, extent_occurrence, head, head_occurrence); a shift moves
the written offsets (not the charseq text) to make a mention the reader must repair.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).parent / "data" / "Arabic"


def sgm(doc_id, source, doctype, date, body):
    head = [
        ("<DOC>",),
        "\n",
        ("<DOCID>",),
        f" {doc_id} ",
        ("</DOCID>",),
        "\n",
        (f'<DOCTYPE SOURCE="{source}">',),
        f" {doctype} ",
        ("</DOCTYPE>",),
        "\n",
        ("<DATETIME>",),
        f" {date} ",
        ("</DATETIME>",),
        "\n",
        ("<BODY>",),
        "\n",
    ]
    return head + body + [("</BODY>",), "\n", ("</DOC>",), "\n"]


class Doc:
    def __init__(self, doc_id, segments):
        self.id = doc_id
        self.raw = "".join(s[0] if isinstance(s, tuple) else s for s in segments)
        self.stripped = "".join(s for s in segments if not isinstance(s, tuple))
        self.root = ET.Element("source_file", SOURCE="x", TYPE="text", ENCODING="UTF-8")
        self.doc = ET.SubElement(self.root, "document", DOCID=doc_id)

    def find(self, s, occ=0, shift=0):
        i = -1
        for _ in range(occ + 1):
            i = self.stripped.index(s, i + 1)
        return i + shift, i + shift + len(s) - 1

    def charseq(self, parent, tag, s, occ=0, shift=0, at=None):
        a, b = at or self.find(s, occ, shift)
        cs = ET.SubElement(ET.SubElement(parent, tag), "charseq", START=str(a), END=str(b))
        cs.text = s

    def entity(self, eid, etype, subtype, mentions):
        ent = ET.SubElement(self.doc, "entity", ID=eid, TYPE=etype, SUBTYPE=subtype, CLASS="SPC")
        for mid, mtype, ext, eocc, head, hocc, *more in mentions:
            opts = more[0] if more else {}
            m = ET.SubElement(ent, "entity_mention", ID=mid, TYPE=mtype, LDCTYPE=mtype)
            self.charseq(m, "extent", ext, eocc, **opts)
            self.charseq(m, "head", head, hocc, **opts)

    def value(self, vid, vtype, subtype, mentions, tag="value"):
        attrs = {"ID": vid, "TYPE": vtype} if tag == "value" else {"ID": vid, "VAL": vtype}
        if subtype:
            attrs["SUBTYPE"] = subtype
        val = ET.SubElement(self.doc, tag, **attrs)
        for mid, ext, occ in mentions:
            self.charseq(ET.SubElement(val, f"{tag}_mention", ID=mid), "extent", ext, occ)

    def event(self, eid, etype, subtype, mentions):
        ev = ET.SubElement(
            self.doc,
            "event",
            ID=eid,
            TYPE=etype,
            SUBTYPE=subtype,
            MODALITY="Asserted",
            POLARITY="Positive",
            GENERICITY="Specific",
            TENSE="Past",
        )
        for mid, anchor, occ, args in mentions:
            em = ET.SubElement(ev, "event_mention", ID=mid)
            self.charseq(em, "anchor", anchor, occ)
            for refid, role, ext, eocc, *more in args:
                a = ET.SubElement(em, "event_mention_argument", REFID=refid, ROLE=role)
                self.charseq(a, "extent", ext, eocc, **(more[0] if more else {}))

    def write(self, folder):
        out = HERE / folder
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{self.id}.sgm").write_text(self.raw, "utf-8")
        ET.indent(self.root)
        xml = ET.tostring(self.root, encoding="unicode")
        (out / f"{self.id}.apf.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE source_file SYSTEM "apf.v5.1.1.dtd">\n' + xml + "\n",
            "utf-8",
        )


def nw():
    d = Doc(
        "AFA20001107.1400.0087",
        sgm(
            "AFA20001107.1400.0087",
            "newswire",
            "NEWS STORY",
            "2000-11-07 14:00:00",
            [
                ("<HEADLINE>",),
                "\nالشرطة تعتقل رجلين في &quot;حي النور&quot;\n",
                ("</HEADLINE>",),
                "\n",
                ("<TEXT>",),
                "\n",
                ("<P>",),
                "\nالقاهرة 1 كانون الثاني &lt;أ ف ب&gt; - اجتمع وزير الخارجية المصري بنظيره "
                "الأردني يوم الأربعاء في القاهرة.\n",
                ("</P>",),
                "\n",
                ("<P>",),
                "\nواعتقلت الشرطة رجلين بتهمة السرقة ودفعت الشركة 500 دولار &amp; غرامة.\n",
                ("</P>",),
                "\n",
                ("</TEXT>",),
                "\n",
            ],
        ),
    )
    d.entity(
        "E1",
        "ORG",
        "Government",
        [("E1-1", "NOM", "الشرطة", 0, "الشرطة", 0), ("E1-2", "NOM", "الشرطة", 1, "الشرطة", 1)],
    )
    d.entity("E2", "LOC", "Region-General", [("E2-1", "NAM", "حي النور", 0, "النور", 0)])
    d.entity(
        "E3",
        "GPE",
        "Population-Center",
        [("E3-1", "NAM", "القاهرة", 0, "القاهرة", 0), ("E3-2", "NAM", "القاهرة", 1, "القاهرة", 1)],
    )
    d.entity(
        "E4",
        "PER",
        "Individual",
        [
            ("E4-1", "NOM", "وزير الخارجية المصري", 0, "وزير", 0),
            ("E4-2", "PRO", "ه", 0, "ه", 0, {"at": d.find("نظيره")[1:] * 2}),
        ],
    )
    d.entity("E5", "GPE", "Nation", [("E5-1", "NAM", "المصري", 0, "المصري", 0)])
    d.entity("E6", "PER", "Individual", [("E6-1", "NOM", "نظيره الأردني", 0, "نظيره", 0)])
    d.entity("E7", "GPE", "Nation", [("E7-1", "NAM", "الأردني", 0, "الأردني", 0)])
    d.entity(
        "E8",
        "PER",
        "Group",
        [("E8-1", "NOM", "رجلين", 0, "رجلين", 0), ("E8-2", "NOM", "رجلين", 1, "رجلين", 1)],
    )
    d.entity("E9", "ORG", "Commercial", [("E9-1", "NOM", "الشركة", 0, "الشركة", 0, {"shift": 1})])
    d.entity(
        "E10",
        "ORG",
        "Government",
        [("E10-1", "NAM", "الجيش", 0, "الجيش", 0, {"at": d.find("غرامة")})],
    )
    d.value("V1", "Crime", None, [("V1-1", "السرقة", 0)])
    d.value("V2", "Numeric", "Money", [("V2-1", "500 دولار", 0)])
    d.value("T1", "2000-11-08", None, [("T1-1", "يوم الأربعاء", 0)], tag="timex2")
    d.value("T2", "2000-01-01", None, [("T2-1", "1 كانون الثاني", 0)], tag="timex2")
    d.event(
        "EV1",
        "Contact",
        "Meet",
        [
            (
                "EV1-1",
                "اجتمع",
                0,
                [
                    ("E4-1", "Entity", "وزير الخارجية المصري", 0),
                    ("E6-1", "Entity", "نظيره الأردني", 0),
                    ("E3-2", "Place", "القاهرة", 1),
                    ("T1-1", "Time-Within", "يوم الأربعاء", 0),
                ],
            )
        ],
    )
    d.event(
        "EV2",
        "Justice",
        "Arrest-Jail",
        [
            (
                "EV2-1",
                "تعتقل",
                0,
                [
                    ("E1-1", "Agent", "الشرطة", 0),
                    ("E8-1", "Person", "رجلين", 0),
                    ("E2-1", "Place", "حي النور", 0),
                ],
            ),
            (
                "EV2-2",
                "اعتقلت",
                0,
                [
                    ("E1-2", "Agent", "الشرطة", 1),
                    ("E8-2", "Person", "رجلين", 1),
                    ("V1-1", "Crime", "السرقة", 0),
                ],
            ),
        ],
    )
    d.event(
        "EV3",
        "Transaction",
        "Transfer-Money",
        [
            (
                "EV3-1",
                "دفعت",
                0,
                [
                    ("E9-1", "Giver", "الشركة", 0),
                    ("V2-1", "Money", "500 دولار", 0),
                    ("E10-1", "Recipient", "الجيش", 0, {"at": d.find("غرامة")}),
                ],
            )
        ],
    )
    d.write("nw/adj")
    # a first-pass copy of the same document with an event the adjudication removed
    d.event("EV9", "Life", "Die", [("EV9-1", "غرامة", 0, [])])
    d.write("nw/fp1")


def bn():
    d = Doc(
        "NTV20001127.1530.0311",
        sgm(
            "NTV20001127.1530.0311",
            "broadcast news",
            "NEWS STORY",
            "2000-11-27 15:30:00",
            [
                ("<TEXT>",),
                "\n",
                ("<TURN>",),
                "\nقُتِلَ ثلاثة جنود في هجوم على قافلة شمال بغداد صباح اليوم.\n",
                ("</TURN>",),
                "\n",
                ("<TURN>",),
                "\nوقال المتحدث إن الهجوم وقع عند الساعة السابعة.\n",
                ("</TURN>",),
                "\n",
                ("</TEXT>",),
                "\n",
            ],
        ),
    )
    d.entity("E1", "PER", "Group", [("E1-1", "NOM", "ثلاثة جنود", 0, "جنود", 0)])
    d.entity("E2", "VEH", "Land", [("E2-1", "NOM", "قافلة", 0, "قافلة", 0)])
    d.entity("E3", "GPE", "Population-Center", [("E3-1", "NAM", "بغداد", 0, "بغداد", 0)])
    d.entity("E4", "LOC", "Region-General", [("E4-1", "NOM", "شمال بغداد", 0, "شمال", 0)])
    d.entity("E5", "PER", "Individual", [("E5-1", "NOM", "المتحدث", 0, "المتحدث", 0)])
    d.value("T1", "2000-11-27TMO", None, [("T1-1", "صباح اليوم", 0)], tag="timex2")
    d.value("T2", "2000-11-27T07", None, [("T2-1", "الساعة السابعة", 0)], tag="timex2")
    d.event(
        "EV1",
        "Life",
        "Die",
        [
            (
                "EV1-1",
                "قُتِلَ",
                0,
                [
                    ("E1-1", "Victim", "ثلاثة جنود", 0),
                    ("E4-1", "Place", "شمال بغداد", 0),
                    ("T1-1", "Time-Within", "صباح اليوم", 0),
                ],
            )
        ],
    )
    d.event(
        "EV2",
        "Conflict",
        "Attack",
        [
            (
                "EV2-1",
                "هجوم",
                0,
                [
                    ("E2-1", "Target", "قافلة", 0),
                    ("E4-1", "Place", "شمال بغداد", 0),
                    ("T1-1", "Time-Within", "صباح اليوم", 0),
                ],
            ),
            (
                "EV2-2",
                "الهجوم",
                0,
                [("T2-1", "Time-Within", "الساعة السابعة", 0), ("E1-1", "Victim", "ثلاثة جنود", 0)],
            ),
        ],
    )
    d.write("bn/adj")


def wl():
    d = Doc(
        "DIGRESSING_20041109.1126",
        sgm(
            "DIGRESSING_20041109.1126",
            "weblog",
            "WEB TEXT",
            "2004-11-09T11:26:00",
            [
                ("<HEADLINE>",),
                "\nعن الانتخابات\n",
                ("</HEADLINE>",),
                "\n",
                ("<TEXT>",),
                "\n",
                ("<POST>",),
                "\n",
                ("<POSTER>",),
                " سامي ",
                ("</POSTER>",),
                "\n",
                ("<POSTDATE>",),
                " 2004-11-09T11:26:00 ",
                ("</POSTDATE>",),
                "\n",
                ('<QUOTE PREVIOUSPOST="قال أحدهم: الانتخابات > كل شيء"/>',),
                "\nانتُخب خالد رئيسا للبلدية أمس.\n",
                ("</POST>",),
                "\n",
                ("</TEXT>",),
                "\n",
            ],
        ),
    )
    d.entity("E1", "PER", "Individual", [("E1-1", "NAM", "سامي", 0, "سامي", 0)])
    d.entity(
        "E2",
        "PER",
        "Individual",
        [("E2-1", "NAM", "خالد", 0, "خالد", 0), ("E2-2", "NOM", "رئيسا للبلدية", 0, "رئيسا", 0)],
    )
    d.entity("E3", "ORG", "Government", [("E3-1", "NOM", "لبلدية", 0, "لبلدية", 0)])
    d.entity("E4", "GPE", "Population-Center", [("E4-1", "NOM", "للبلدية أمس", 0, "لبلدية", 0)])
    d.value("V1", "Job-Title", None, [("V1-1", "رئيسا للبلدية", 0)])
    d.value("T1", "2004-11-08", None, [("T1-1", "أمس", 0)], tag="timex2")
    d.event(
        "EV1",
        "Personnel",
        "Elect",
        [
            (
                "EV1-1",
                "انتُخب",
                0,
                [
                    ("E2-1", "Person", "خالد", 0),
                    ("V1-1", "Position", "رئيسا للبلدية", 0),
                    ("T1-1", "Time-Within", "أمس", 0),
                ],
            )
        ],
    )
    d.write("wl/adj")


def unlisted():
    d = Doc(
        "ANN20260105.0900.0001",
        sgm(
            "ANN20260105.0900.0001",
            "newswire",
            "NEWS STORY",
            "2026-01-05 09:00:00",
            [
                ("<HEADLINE>",),
                "\nخبر قصير\n",
                ("</HEADLINE>",),
                "\n",
                ("<TEXT>",),
                "\n",
                ("<P>",),
                "\nزار الرئيس بيروت. واعتقلوه.\n",
                ("</P>",),
                "\n",
                ("</TEXT>",),
                "\n",
            ],
        ),
    )
    d.entity("E1", "PER", "Individual", [("E1-1", "NOM", "الرئيس", 0, "الرئيس", 0)])
    d.entity("E2", "GPE", "Population-Center", [("E2-1", "NAM", "بيروت", 0, "بيروت", 0)])
    # a pronoun suffix inside the anchor: an argument overlapping its trigger (dropped)
    suffix = {"at": d.find("اعتقلوه")[1:] * 2}
    d.entity("E3", "PER", "Individual", [("E3-1", "PRO", "ه", 0, "ه", 0, suffix)])
    d.event(
        "EV2",
        "Justice",
        "Arrest-Jail",
        [("EV2-1", "اعتقلوه", 0, [("E3-1", "Person", "ه", 0, suffix)])],
    )
    d.event(
        "EV1",
        "Movement",
        "Transport",
        [
            (
                "EV1-1",
                "زار",
                0,
                [("E1-1", "Artifact", "الرئيس", 0), ("E2-1", "Destination", "بيروت", 0)],
            )
        ],
    )
    d.write("nw/adj")


if __name__ == "__main__":
    nw()
    bn()
    wl()
    unlisted()
