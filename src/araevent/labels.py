"""Label-set presets and the label-name syntax.

A preset says which labels are *allowed*; the labels a model learns are the
training data's labels plus any the preset adds. Nothing else in the package
hard-codes a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABEL_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*\Z")
LAYERS = ("entities", "triggers")

ACE2005_ENTITIES: dict[str, str] = {
    "PER": "A person, named: «محمد علي».",
    "ORG": "An organisation: a ministry, company, party, agency, team or court by name.",
    "GPE": "A geo-political entity: a country, city or province with a government.",
    "LOC": "A geographical place with no government: a river, sea, mountain, region.",
    "FAC": "A facility: a building, airport, port, bridge, road, stadium, prison by name.",
    "VEH": "A vehicle, named: a ship, aircraft or car model.",
    "WEA": "A weapon, named: a missile system, rifle or bomb model.",
}

ACE2005_EVENTS: dict[str, str] = {
    "Life:Be-Born": "Someone is born.",
    "Life:Marry": "Two people marry.",
    "Life:Divorce": "A marriage is dissolved.",
    "Life:Injure": "Someone is physically harmed.",
    "Life:Die": "Someone dies or is killed.",
    "Movement:Transport": "People or goods move from one place to another.",
    "Transaction:Transfer-Ownership": "Goods, property or an organisation change owner.",
    "Transaction:Transfer-Money": "Money is given, lent, paid or donated.",
    "Business:Start-Org": "An organisation is founded.",
    "Business:Merge-Org": "Organisations merge.",
    "Business:Declare-Bankruptcy": "An organisation declares bankruptcy.",
    "Business:End-Org": "An organisation ceases to exist.",
    "Conflict:Attack": "A violent physical act: a strike, bombing, shelling, assault.",
    "Conflict:Demonstrate": "A public protest, march or sit-in.",
    "Contact:Meet": "Two or more parties meet face to face.",
    "Contact:Phone-Write": "Parties communicate by phone, letter or message.",
    "Personnel:Start-Position": "Someone starts a job or post.",
    "Personnel:End-Position": "Someone leaves a job or post: resigns, is dismissed, retires.",
    "Personnel:Nominate": "Someone is nominated for a post.",
    "Personnel:Elect": "Someone is elected.",
    "Justice:Arrest-Jail": "Someone is arrested or jailed.",
    "Justice:Release-Parole": "Someone is released from custody.",
    "Justice:Trial-Hearing": "A trial or court hearing takes place.",
    "Justice:Charge-Indict": "Someone is charged or indicted.",
    "Justice:Sue": "A lawsuit is filed.",
    "Justice:Convict": "Someone is found guilty.",
    "Justice:Sentence": "A court sentences someone.",
    "Justice:Fine": "A court or authority imposes a fine.",
    "Justice:Execute": "Someone is executed by a state.",
    "Justice:Extradite": "Someone is handed over to another country's justice.",
    "Justice:Acquit": "Someone is found not guilty.",
    "Justice:Appeal": "A decision is appealed to a higher court.",
    "Justice:Pardon": "Someone is pardoned.",
}

TIME_ROLES = (
    "Time-Within",
    "Time-Holds",
    "Time-Starting",
    "Time-Ending",
    "Time-Before",
    "Time-After",
    "Time-At-Beginning",
    "Time-At-End",
)

ACE2005_ROLES: dict[str, str] = {
    "Agent": "Who caused the event or carried it out (a killer, an arresting authority).",
    "Victim": "Who was harmed or died.",
    "Instrument": "The weapon or device used.",
    "Place": "Where the event happened.",
    "Person": "The person the event is about (born, married, hired, arrested, executed).",
    "Artifact": "What or who was moved or changed owner.",
    "Vehicle": "The vehicle of a transport.",
    "Price": "What was paid for a transport or a transfer of ownership.",
    "Origin": "Where the movement started.",
    "Destination": "Where the movement ended.",
    "Buyer": "Who acquired the goods.",
    "Seller": "Who gave the goods up.",
    "Beneficiary": "Who benefits from a transaction, if not the buyer or recipient.",
    "Giver": "Who gave the money.",
    "Recipient": "Who received the money.",
    "Money": "The amount of money given, paid or fined.",
    "Org": "The organisation founded, merged, bankrupt or ended.",
    "Attacker": "Who attacked.",
    "Target": "What or who was attacked.",
    "Entity": "The party that meets, demonstrates, communicates, hires, elects or is fined.",
    "Position": "The job or post.",
    "Crime": "The crime the justice event is about.",
    "Defendant": "Who is tried, charged, sued, convicted, sentenced, acquitted or pardoned.",
    "Prosecutor": "Who brings the charge or appeal.",
    "Adjudicator": "The judge or court.",
    "Plaintiff": "Who sues.",
    "Sentence": "The punishment imposed.",
    **{role: "When the event happened (ACE time role)." for role in TIME_ROLES},
}

_P, _T = ("Place",), TIME_ROLES
ACE2005_EVENT_ROLES: dict[str, tuple[str, ...]] = {
    "Life:Be-Born": ("Person", *_P, *_T),
    "Life:Marry": ("Person", *_P, *_T),
    "Life:Divorce": ("Person", *_P, *_T),
    "Life:Injure": ("Agent", "Victim", "Instrument", *_P, *_T),
    "Life:Die": ("Agent", "Victim", "Instrument", *_P, *_T),
    "Movement:Transport": ("Agent", "Artifact", "Vehicle", "Price", "Origin", "Destination", *_T),
    "Transaction:Transfer-Ownership": (
        "Buyer",
        "Seller",
        "Beneficiary",
        "Artifact",
        "Price",
        *_P,
        *_T,
    ),
    "Transaction:Transfer-Money": ("Giver", "Recipient", "Beneficiary", "Money", *_P, *_T),
    "Business:Start-Org": ("Agent", "Org", *_P, *_T),
    "Business:Merge-Org": ("Org", *_P, *_T),
    "Business:Declare-Bankruptcy": ("Org", *_P, *_T),
    "Business:End-Org": ("Org", *_P, *_T),
    "Conflict:Attack": ("Attacker", "Target", "Instrument", *_P, *_T),
    "Conflict:Demonstrate": ("Entity", *_P, *_T),
    "Contact:Meet": ("Entity", *_P, *_T),
    "Contact:Phone-Write": ("Entity", *_T),
    "Personnel:Start-Position": ("Person", "Entity", "Position", *_P, *_T),
    "Personnel:End-Position": ("Person", "Entity", "Position", *_P, *_T),
    "Personnel:Nominate": ("Person", "Agent", "Position", *_P, *_T),
    "Personnel:Elect": ("Person", "Entity", "Position", *_P, *_T),
    "Justice:Arrest-Jail": ("Person", "Agent", "Crime", *_P, *_T),
    "Justice:Release-Parole": ("Person", "Entity", "Crime", *_P, *_T),
    "Justice:Trial-Hearing": ("Defendant", "Prosecutor", "Adjudicator", "Crime", *_P, *_T),
    "Justice:Charge-Indict": ("Defendant", "Prosecutor", "Adjudicator", "Crime", *_P, *_T),
    "Justice:Sue": ("Plaintiff", "Defendant", "Adjudicator", "Crime", *_P, *_T),
    "Justice:Convict": ("Defendant", "Adjudicator", "Crime", *_P, *_T),
    "Justice:Sentence": ("Defendant", "Adjudicator", "Crime", "Sentence", *_P, *_T),
    "Justice:Fine": ("Entity", "Adjudicator", "Money", "Crime", *_P, *_T),
    "Justice:Execute": ("Person", "Agent", "Crime", *_P, *_T),
    "Justice:Extradite": ("Agent", "Person", "Destination", "Origin", "Crime", *_T),
    "Justice:Acquit": ("Defendant", "Adjudicator", "Crime", *_P, *_T),
    "Justice:Appeal": ("Defendant", "Prosecutor", "Adjudicator", "Crime", *_P, *_T),
    "Justice:Pardon": ("Defendant", "Adjudicator", "Crime", *_P, *_T),
}


@dataclass(frozen=True)
class LabelSet:
    """The labels a preset allows per layer; ``None`` means any well-formed label."""

    name: str
    entities: dict[str, str] | None
    triggers: dict[str, str] | None
    roles: dict[str, tuple[str, ...]] | None = None  # event type -> its argument roles

    def allows(self, layer: str, label: str) -> bool:
        """Whether ``label`` is allowed in ``layer``."""
        allowed = self.entities if layer == "entities" else self.triggers
        return allowed is None or label in allowed

    def roles_of(self, event: str) -> tuple[str, ...]:
        """The roles an event type allows (empty when the preset allows any)."""
        return () if self.roles is None else self.roles.get(event, ())

    def allows_role(self, event: str, role: str) -> bool:
        """Whether ``role`` is an argument role of ``event`` in this preset."""
        return self.roles is None or role in self.roles.get(event, ())

    def labels(self, layer: str) -> list[str]:
        """The labels this preset adds to ``layer`` (empty for ``any``)."""
        allowed = self.entities if layer == "entities" else self.triggers
        return list(allowed or {})


PRESETS: dict[str, LabelSet] = {
    "ace2005": LabelSet("ace2005", ACE2005_ENTITIES, ACE2005_EVENTS, ACE2005_EVENT_ROLES),
    "any": LabelSet("any", None, None),
}


def get_label_set(name: str) -> LabelSet:
    """Return the preset called ``name``."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown label set {name!r}; choose one of {', '.join(sorted(PRESETS))}"
        ) from None


def is_valid_label(label: str) -> bool:
    """Whether ``label`` matches ``[A-Za-z][A-Za-z0-9_.:-]*``."""
    return bool(LABEL_RE.match(label))
