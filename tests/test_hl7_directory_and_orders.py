"""HL7 v2 master files (MFN^M05 locations, MFN^M02 staff), care teams (ROL) and clinical
messages (ORM, ORU, RDE, SIU): any site's directory and orders, in its own codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from phiwarden.config import load_settings
from phiwarden.formats.terminology import CodeMap
from phiwarden.ingest import hl7v2
from phiwarden.ingest.loader import Loader
from phiwarden.store.schema import DOMAIN_TABLES, quarantine
from phiwarden.store.setup import Stores, initialise

MSH = "MSH|^~\\&|ENGINE|SITE|PHW|PHW|{ts}||{kind}|{control}|P|2.5.1\r"
LOCATIONS = (
    MSH.format(ts="20260101000000", kind="MFN^M05^MFN_M05", control="M1")
    + "MFI|LOC^Location master file^HL70175||UPD|||NE\r"
    "MFE|MAD||20260101|^^^NORTH|PL\r"
    "LOC|^^^NORTH|North Campus|L||^^Springfield^IL^^USA^B\r"
    "MFE|MAD||20260101|ED1^^^NORTH|PL\r"
    "LOC|ED1^^^NORTH|ED - North|D\r"
    "LDP|ED1^^^NORTH|ED1^Emergency Department\r"
    "MFE|MAD||20260101|PFS^^^NORTH|PL\r"
    "LOC|PFS^^^NORTH|Revenue Cycle / PFS|D\r"
    "MFE|MAD||20260101|LAB1^^^NORTH|PL\r"
    "LOC|LAB1^^^NORTH|Core Laboratory|D\r"
    "MFE|MAD||20260101|4W^^^NORTH|PL\r"
    "LOC|4W^^^NORTH|4 West Med/Surg|N\r"
)
STAFF = (
    MSH.format(ts="20260101000000", kind="MFN^M02^MFN_M02", control="M2")
    + "MFI|STF^Staff master file^HL70175||UPD|||NE\r"
    "MFE|MAD||20260101|E100|CE\r"
    "STF|E100|jdoe^^^SITE^UN~100^^^SITE^EI|Doe^Jane|RN2|||A|ED1||555-0100|1 Oak St^^Springfield^IL^62701"
    "|20200301||||||Staff Nurse II\r"
    "MFE|MAD||20260101|E200|CE\r"
    "STF|E200|bsmith^^^SITE^UN|Smith^Bob|MDATT|||A|ED1||||20190101\r"
    "PRA|E200||MD^Physician^HL70186\r"
    "MFE|MDC||20260115|E300|CE\r"
    "STF|E300|cpay^^^SITE^UN|Pay^Cal|X9|||I|PFS\r"
)
A04 = (
    MSH.format(ts="20260105080000", kind="ADT^A04^ADT_A01", control="A1")
    + "EVN|A04|20260105080000|||E100\r"
    "PID|1||M1^^^SITE^MR~P1^^^SITE^PI||Quill^Ada||19700102|F\r"
    "PV1|1|E|ED1^^^NORTH||||E200^Smith^Bob||||||||||||V1|||||||||||||||||||||||||20260105080000\r"
    "ROL|1|AD|NURSE^Nurse^L|E100^Doe^Jane\r"
    "ROL|2|AD|CP^Consulting Provider^HL70443|E200^Smith^Bob\r"
)
ORM = (
    MSH.format(ts="20260105090000", kind="ORM^O01^ORM_O01", control="O1")
    + "PID|1||M1^^^SITE^MR~P1^^^SITE^PI||Quill^Ada||19700102|F\r"
    "PV1|1|E|||||||||||||||||V1\r"
    "ORC|NW|ORD1|||||||20260105090000|||E200\r"
    "OBR|1|ORD1|ORD1^LAB1|CBC^Complete blood count^L|||||||||||||||||||LAB\r"
)
ORU = (
    MSH.format(ts="20260105110000", kind="ORU^R01^ORU_R01", control="O2")
    + "PID|1||M1^^^SITE^MR~P1^^^SITE^PI||Quill^Ada||19700102|F\r"
    "ORC|RE|ORD1|||||||20260105090000|||E200\r"
    "OBR|1|ORD1|ORD1^LAB1|CBC^Complete blood count^L|||||||||||||||||||LAB\r"
    "OBX|1|ST|^Hemoglobin^L||13.2||||||F|||20260105110000||E100|||||RES1\r"
    "OBX|2|ST|882-1^ABO and Rh group^LN||A+||||||F|||20260105110500\r"
)
RDE = (
    MSH.format(ts="20260105100000", kind="RDE^O11^RDE_O11", control="R1")
    + "PID|1||M1^^^SITE^MR~P1^^^SITE^PI||Quill^Ada||19700102|F\r"
    "ORC|NW|RX1|||||||20260105100000|||E200\r"
    "RXE||^Oxycodone Hydrochloride 5 MG Oral Tablet^L\r"
)
SIU = (
    MSH.format(ts="20260106080000", kind="SIU^S12^SIU_S12", control="S1")
    + "SCH|APT1||||||||||^^^20260110093000|||||||||E100|||||Booked\r"
    "PID|1||M1^^^SITE^MR~P1^^^SITE^PI||Quill^Ada||19700102|F\r"
    "RGS|1\r"
    "AIL|1||ED1\r"
    "AIP|1||E200\r"
)


def _load(tmp_path: Path, text: str, codes: CodeMap | None = None) -> tuple[Stores, Loader]:
    stores, _ = initialise(load_settings(tmp_path, f"sqlite:///{tmp_path / 'store.db'}"))
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir, codes)
    (tmp_path / "feed.hl7").write_bytes(text.encode())
    hl7v2.load(loader, tmp_path / "feed.hl7")
    return stores, loader


def _rows(stores: Stores, table: str) -> dict[str, dict[str, Any]]:
    t = DOMAIN_TABLES[table]
    key = next(iter(t.primary_key.columns)).name
    with stores.engine.connect() as conn:
        return {r[key]: dict(r) for r in conn.execute(select(t)).mappings()}


def test_master_files_load_the_directory_in_the_sites_own_codes(tmp_path: Path) -> None:
    stores, loader = _load(tmp_path, LOCATIONS + STAFF)
    assert loader.report.quarantined == 0
    assert _rows(stores, "facilities")["NORTH"]["state"] == "IL"
    kinds = {k: v["kind"] for k, v in _rows(stores, "departments").items()}
    assert kinds == {"ED1": "emergency", "PFS": "billing", "LAB1": "lab", "4W": "clinical"}
    staff = _rows(stores, "workforce")
    assert (staff["E100"]["login"], staff["E100"]["role"]) == ("jdoe", "nurse")  # job title
    assert str(staff["E100"]["hire_date"]) == "2020-03-01" and staff["E100"]["phone"]
    assert staff["E200"]["role"] == "physician"  # PRA-3 category
    # an unknown staff type in billing: the department's usual role; MDC terminates
    assert staff["E300"]["role"] == "biller"
    assert str(staff["E300"]["termination_date"]) == "2026-01-15"
    assert loader.codes.unmapped[("department_kind", "4 West Med/Surg")] == 1


def test_a_mapping_file_names_the_sites_staff_types(tmp_path: Path) -> None:
    mapping = tmp_path / "codes.toml"
    mapping.write_text(
        '[roles]\n"X9" = "coder"\n[department_kinds]\n"4 West Med/Surg" = "clinical"\n'
    )
    stores, loader = _load(tmp_path, LOCATIONS + STAFF, CodeMap.from_file(mapping))
    assert _rows(stores, "workforce")["E300"]["role"] == "coder"
    assert not loader.codes.unmapped


def test_visits_carry_their_care_team_and_clinical_messages_load(tmp_path: Path) -> None:
    stores, loader = _load(tmp_path, LOCATIONS + STAFF + A04 + ORM + ORU + RDE + SIU)
    assert loader.report.quarantined == 0
    team = {(r["user_id"], r["role"]) for r in _rows(stores, "care_team").values()}
    assert team == {("E100", "nurse"), ("E200", "consultant")}
    [order] = _rows(stores, "orders").values()
    assert (order["order_id"], order["kind"], order["performing_department_id"]) == (
        "ORD1",
        "lab",
        "LAB1",
    )
    assert order["encounter_id"] == "V1" and order["ordered_by_user_id"] == "E200"
    results = _rows(stores, "lab_results")
    assert results["RES1"]["value"] == "13.2" and results["RES1"]["resulted_by_user_id"] == "E100"
    assert results["ORD1-2"]["test"] == "ABO/Rh"
    [rx] = _rows(stores, "prescriptions").values()
    assert (rx["prescriber_user_id"], rx["dea_schedule"]) == ("E200", "II")
    [appointment] = _rows(stores, "appointments").values()
    assert str(appointment["start"]) == "2026-01-10 09:30:00"
    assert (appointment["department_id"], appointment["provider_user_id"]) == ("ED1", "E200")
    assert appointment["scheduled_by_user_id"] == "E100" and appointment["status"] == "scheduled"


def test_unknown_master_files_and_empty_orders_are_quarantined(tmp_path: Path) -> None:
    other = LOCATIONS.replace("MFI|LOC^Location", "MFI|CDM^Charge").replace("M1", "M9")
    empty = ORM.split("ORC|")[0]
    stores, loader = _load(tmp_path, other + empty)
    assert loader.report.quarantined == 2
    with stores.engine.connect() as conn:
        reasons = sorted(r for (r,) in conn.execute(select(quarantine.c.reason)))
    assert "master file CDM" in reasons[1] and "nothing to read" in reasons[0]
