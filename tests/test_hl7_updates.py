"""HL7 v2 updates of a stored patient (A08, A31), kept as history, and links (A24, A37)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select

from phiwarden.config import load_settings
from phiwarden.ingest import hl7v2
from phiwarden.ingest.loader import Loader
from phiwarden.redflags.scan import run_scan
from phiwarden.store.schema import DOMAIN_TABLES, patient_history, patient_links, quarantine
from phiwarden.store.setup import Stores, initialise

MSH = "MSH|^~\\&|REG|F01|PHW|PHW|{ts}||ADT^{event}|{control}|P|2.5.1\r"
A28 = (
    MSH.format(ts="20260105080000", event="A28^ADT_A05", control="C1") + "EVN|A28|20260105080000\r"
    "PID|1||900001^^^H^MR~PX1^^^H^PI||Quill^Ada^^^^^L||19700102|F|||"
    "1 Elm St^^Springfield^IL^62701^USA^H||217-555-0101^PRN^PH||||||123-45-6789\r"
    "PV1|1|N\r"
)
#: Ada marries (new surname), moves, and her date of birth and SSN are corrected.
A08 = (
    MSH.format(ts="20260110100000", event="A08^ADT_A01", control="C2")
    + "EVN|A08|20260110100000|||U00001^Jordan^Miles\r"
    "PID|1||900001^^^H^MR~PX1^^^H^PI||Rivers^Ada^^^^^L||19700201|F|||"
    "9 Oak Ave^^Springfield^IL^62702^USA^H||217-555-0199^PRN^PH||||||123-45-6790\r"
    "PV1|1|N\r"
)
#: An update that leaves most fields empty: "no information", nothing is erased.
A31_SPARSE = (
    MSH.format(ts="20260111100000", event="A31^ADT_A05", control="C3") + "EVN|A31|20260111100000\r"
    "PID|1||900001^^^H^MR~PX1^^^H^PI||Rivers^Ada||19700201\r"
)
A28_BEN = (
    MSH.format(ts="20260105090000", event="A28^ADT_A05", control="C4") + "EVN|A28|20260105090000\r"
    "PID|1||900002^^^H^MR~PX2^^^H^PI||Quill^Ben||19680303|M\r"
)
LINK = (
    MSH.format(ts="20260112080000", event="A24^ADT_A24", control="C5")
    + "EVN|A24|20260112080000|||U00001\r"
    "PID|1||900001^^^H^MR~PX1^^^H^PI||Rivers^Ada||19700201|F\r"
    "PV1|1|N\r"
    "PID|2||900002^^^H^MR~PX2^^^H^PI||Quill^Ben||19680303|M\r"
)
UNLINK = (
    MSH.format(ts="20260113080000", event="A37^ADT_A37", control="C6")
    + "EVN|A37|20260113080000|||U00001\r"
    "PID|1||900001^^^H^MR~PX1^^^H^PI||Rivers^Ada||19700201|F\r"
    "PV1|1|N\r"
    "PID|2||900002^^^H^MR~PX2^^^H^PI||Quill^Ben||19680303|M\r"
    "PV1|1|N\r"
)


def _stores(folder: Path) -> Stores:
    stores, _ = initialise(load_settings(folder, f"sqlite:///{folder / 'store.db'}"))
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    user = {"user_id": ["U00001"], "login": ["mj"], "last_name": ["Jordan"], "role": ["clerk"]}
    loader.load("workforce", pa.table(user), source="t", locate=str, batch_key="w")
    return stores


def _feed(stores: Stores, folder: Path, name: str, text: str) -> Loader:
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    (folder / name).write_bytes(text.encode())
    hl7v2.load(loader, folder / name)
    return loader


def _rows(engine: Engine, table: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


@pytest.fixture
def updated(tmp_path: Path) -> Stores:
    stores = _stores(tmp_path)
    _feed(stores, tmp_path, "a28.hl7", A28)
    _feed(stores, tmp_path, "a08.hl7", A08)
    return stores


def test_a08_replaces_demographics_and_keeps_the_previous_values(updated: Stores) -> None:
    [patient] = _rows(updated.engine, DOMAIN_TABLES["patients"])
    assert (patient["last_name"], patient["address_line"], patient["phone"]) == (
        "Rivers",
        "9 Oak Ave",
        "217-555-0199",
    )
    assert str(patient["dob"]) == "1970-02-01" and patient["ssn_last4"] == "6790"
    assert patient["previous_names"] == "Quill, Ada"
    history = {h["field"]: h for h in _rows(updated.engine, patient_history)}
    assert set(history) == {"last_name", "dob", "ssn", "address_line", "zip", "phone"}
    assert (history["last_name"]["previous_value"], history["last_name"]["new_value"]) == (
        "Quill",
        "Rivers",
    )
    assert history["dob"]["previous_value"] == "1970-01-02"
    assert str(history["dob"]["changed_at"]) == "2026-01-10 10:00:00"
    assert history["dob"]["changed_by_user_id"] == "U00001"
    assert history["dob"]["source"] == "HL7 A08" and history["dob"]["message_id"] == "C2"
    # the SSN is history only masked and as its keyed hash, never in the clear
    ssn = history["ssn"]
    assert ssn["previous_value"] == "***-**-6789" and ssn["new_value"] == "***-**-6790"
    assert ssn["previous_hash"] == updated.protector.keyed_hash("123-45-6789")
    # the old address is closed, the new one is current
    addresses = {
        a["address_line"]: a for a in _rows(updated.engine, DOMAIN_TABLES["patient_addresses"])
    }
    assert str(addresses["1 Elm St"]["valid_to"]) == "2026-01-10"
    assert addresses["9 Oak Ave"]["valid_to"] is None


def test_the_same_update_again_and_an_empty_field_change_nothing(
    updated: Stores, tmp_path: Path
) -> None:
    before = _rows(updated.engine, patient_history)
    _feed(updated, tmp_path, "again.hl7", A08)
    loader = _feed(updated, tmp_path, "sparse.hl7", A31_SPARSE)
    assert _rows(updated.engine, patient_history) == before
    assert loader.report.quarantined == 0
    [patient] = _rows(updated.engine, DOMAIN_TABLES["patients"])
    assert patient["address_line"] == "9 Oak Ave" and patient["sex"] == "F"
    assert patient["phone"] == "217-555-0199" and patient["ssn_last4"] == "6790"


def test_a31_updates_like_a08(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    _feed(stores, tmp_path, "a28.hl7", A28)
    a31 = A08.replace("ADT^A08^ADT_A01", "ADT^A31^ADT_A05").replace("EVN|A08", "EVN|A31")
    loader = _feed(stores, tmp_path, "a31.hl7", a31)
    assert loader.report.loaded["patient_history"] == 6
    assert {h["source"] for h in _rows(stores.engine, patient_history)} == {"HL7 A31"}


def test_registration_is_compared_with_the_record_as_it_was(tmp_path: Path) -> None:
    """Ada registered with her old name and date of birth before the A08 corrected them."""
    stores = _stores(tmp_path)
    _feed(stores, tmp_path, "a28.hl7", A28)
    a04 = (
        MSH.format(ts="20260107080000", event="A04^ADT_A01", control="C9")
        + "EVN|A04|20260107080000|||U00001\r"
        "PID|1||900001^^^H^MR~PX1^^^H^PI||Quill^Ada^^^^^L||19700102|F\r"
        "PV1|1|O|||||||||||||||||V100\r"
    )
    _feed(stores, tmp_path, "a04.hl7", a04)
    _feed(stores, tmp_path, "a08.hl7", A08)
    found = run_scan(stores)
    assert not [f for f in found.findings if f.code == "FTC-17"], found.findings
    # after the correction, presenting the old date of birth is inconsistent again
    later = a04.replace("20260107080000", "20260115080000").replace("C9", "C10")
    _feed(stores, tmp_path, "later.hl7", later.replace("V100", "V101"))
    flagged = [f for f in run_scan(stores).findings if f.code == "FTC-17"]
    assert [f.registration_id for f in flagged] == ["V101-RG"]


def test_a24_links_and_a37_unlinks_two_charts(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    _feed(stores, tmp_path, "ada.hl7", A28)
    _feed(stores, tmp_path, "ben.hl7", A28_BEN)
    _feed(stores, tmp_path, "link.hl7", LINK)
    [link] = _rows(stores.engine, patient_links)
    assert (link["patient_id"], link["other_patient_id"]) == ("PX1", "PX2")
    assert str(link["linked_at"]) == "2026-01-12 08:00:00" and link["unlinked_at"] is None
    loader = _feed(stores, tmp_path, "unlink.hl7", UNLINK)
    assert loader.report.loaded["patient_links"] == 1
    [link] = _rows(stores.engine, patient_links)
    assert str(link["unlinked_at"]) == "2026-01-13 08:00:00"
    assert link["unlinked_by_user_id"] == "U00001"
    # replaying the older link does not undo the unlink
    _feed(stores, tmp_path, "link-again.hl7", LINK)
    [link] = _rows(stores.engine, patient_links)
    assert link["unlinked_at"] is not None


def test_a37_with_one_pid_is_quarantined_with_the_reason(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    bad = UNLINK.split("PID|2")[0]
    loader = _feed(stores, tmp_path, "bad.hl7", bad)
    assert loader.report.quarantined == 1
    with stores.engine.connect() as conn:
        reason = conn.execute(select(quarantine.c.reason)).scalar_one()
    assert "two PID segments" in reason
