"""HL7 v2 code tables phiwarden reads and writes, mapped to the canonical vocabulary.

Shared by the ADT reader and the synthetic ADT writer so that what one writes the other
reads back unchanged. Codes are HL7's own tables: 0004 patient class, 0063 relationship,
0131 contact role, 0200 name type, 0201/0202 telecommunication use and equipment,
0203 identifier type. Where HL7 has no code for a canonical value the value itself is
used, as HL7 allows for local codes.
"""

from __future__ import annotations

#: Canonical relationship (a contact's relationship to the patient) -> table 0063.
RELATIONSHIP_CODES: dict[str, str] = {
    "self": "SEL",
    "spouse": "SPO",
    "parent": "PAR",
    "child": "CHD",
    "sibling": "SIB",
    "friend": "FND",
    "other": "OTH",
    "guardian": "GRD",
    "grandparent": "GRP",
    "grandchild": "GCH",
    "partner": "DOM",
    "employer": "EMR",
}
#: Table 0063 -> canonical, including the specific codes a hospital may send.
RELATIONSHIP_WORDS: dict[str, str] = {
    "SEL": "self",
    "SPO": "spouse",
    "PAR": "parent",
    "MTH": "parent",
    "FTH": "parent",
    "CHD": "child",
    "SON": "child",
    "DAU": "child",
    "STPCHD": "child",
    "SIB": "sibling",
    "BRO": "sibling",
    "SIS": "sibling",
    "FND": "friend",
    "OTH": "other",
    "GRD": "guardian",
    "GRP": "grandparent",
    "GCH": "grandchild",
    "DOM": "partner",
    "EMR": "employer",
}
#: How the patient relates to a subscriber, given how the subscriber relates to the patient.
INVERSE_RELATIONSHIP: dict[str, str] = {
    "self": "self",
    "spouse": "spouse",
    "parent": "child",
    "child": "parent",
    "sibling": "sibling",
    "grandparent": "grandchild",
    "grandchild": "grandparent",
    "partner": "partner",
}

#: Canonical encounter type -> PV1-2 patient class (table 0004) and PV1-18 patient type.
PATIENT_CLASS: dict[str, tuple[str, str]] = {
    "outpatient": ("O", ""),
    "inpatient": ("I", ""),
    "emergency": ("E", ""),
    "telehealth": ("O", "TELEHEALTH"),
}
ENCOUNTER_TYPE: dict[str, str] = {
    "O": "outpatient",
    "I": "inpatient",
    "E": "emergency",
    "P": "outpatient",
    "R": "outpatient",
    "B": "inpatient",
}
TELEHEALTH_TYPES = frozenset({"TELEHEALTH", "TELE", "TH", "VIRTUAL", "V"})

#: NK1-7 contact role (table 0131): C emergency contact, N next of kin, E employer.
CONTACT_ROLE: dict[str, str] = {"emergency": "C", "next_of_kin": "N"}
ROLE_KIND: dict[str, str] = {"C": "emergency", "N": "next_of_kin"}
EMPLOYER_ROLE = "E"

#: Name types (table 0200) that mark a repetition of PID-5 as a previous name.
PREVIOUS_NAME_TYPES = frozenset({"M", "B", "NOUSE"})

#: Canonical phone kind -> (XTN-2 use code, XTN-3 equipment type); email is NET/Internet.
PHONE_USE: dict[str, tuple[str, str]] = {
    "home": ("PRN", "PH"),
    "mobile": ("PRN", "CP"),
    "work": ("WPN", "PH"),
}
EMAIL_USE = ("NET", "Internet")

#: Identifier types (table 0203) in PID-3 / CX-5.
MRN_TYPE, PATIENT_ID_TYPE, SSN_TYPE, RECORD_ID_TYPE = "MR", "PI", "SS", "RI"
#: Canonical identity document -> identifier type in PID-3 (drivers_license goes in PID-20).
ID_DOCUMENT_TYPES: dict[str, str] = {
    "drivers_license": "DL",
    "passport": "PPN",
    "state_id": "SID",
    "military_id": "MI",
    "permanent_resident_card": "PRC",
}
ID_DOCUMENT_KINDS: dict[str, str] = {v: k for k, v in ID_DOCUMENT_TYPES.items()}

#: LOINC code of the ABO/Rh blood group observation sent in an OBX.
BLOOD_TYPE_LOINC = "882-1"


def relationship_word(code: str, text: str) -> str | None:
    """A table-0063 code (or its text) as the canonical relationship word."""
    code, text = code.strip().upper(), text.strip().lower()
    if code == "OTH" and text:
        return text
    if code in RELATIONSHIP_WORDS:
        return RELATIONSHIP_WORDS[code]
    return text or (code.lower() if code else None)


def relationship_code(word: str) -> tuple[str, str]:
    """The table-0063 code and text for a canonical relationship word."""
    code = RELATIONSHIP_CODES.get(word.strip().lower())
    return (code, word) if code else ("OTH", word)
