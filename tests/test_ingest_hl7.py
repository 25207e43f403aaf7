"""HL7 v2 ADT files: the synthetic feed round-trips, merges, SSNs, re-ingest, bad input, fuzz."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as hl7apy_parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from phiwarden.config import load_settings
from phiwarden.domain.canonical import PATIENTS
from phiwarden.formats.hl7_encoding import escape
from phiwarden.ingest import canonical, hl7v2
from phiwarden.ingest.hl7_batch import AdtBatchLoader, Inbound
from phiwarden.ingest.hl7_er7 import decode, parse_message, split_messages
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.run import run_ingest
from phiwarden.store import repositories as repo
from phiwarden.store.schema import DOMAIN_TABLES
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth.export_io import load_rows
from phiwarden.synth.hl7 import NOT_CARRIED, NOT_CARRIED_COLUMNS, write_hl7

REFERENCE = ("facilities", "departments", "workforce")
CARRIED = (
    "patients",
    "patient_merges",
    "patient_addresses",
    "patient_phones",
    "patient_contacts",
    "coverages",
    "encounters",
    "registrations",
)

A28 = (
    "MSH|^~\\&|REG|F01|PHW|PHW|20260105080000||ADT^A28^ADT_A05|C1|P|2.5.1\r"
    "EVN|A28|20260105080000\r"
    "PID|1||900001^^^H^MR~PX1^^^H^PI||Quill^Ada^^^^^L~Stone^Ada^^^^^M||19700102|F|||"
    "1 Elm St^^Springfield^IL^62701^USA^H||217-555-0101^PRN^PH|||||||123-45-6789\r"
    "PV1|1|N\r"
)
A40 = (
    "MSH|^~\\&|REG|F01|PHW|PHW|20260106090000||ADT^A40^ADT_A39|C2|P|2.5.1\r"
    "EVN|A40|20260106090000|||U00001^Jordan^Miles\r"
    "PID|1||900001^^^H^MR~PX1^^^H^PI||Quill^Ada||19700102|F\r"
    "MRG|900777^^^H^MR~PX7^^^H^PI\r"
)


def _stores(folder: Path, url: str | None = None) -> Stores:
    result, _ = initialise(load_settings(folder, url or f"sqlite:///{folder / 'store.db'}"))
    return result


def _loader(stores: Stores, hospital: Path) -> Loader:
    """A loader over stores that already hold the reference tables ADT does not carry."""
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    for table in REFERENCE:
        canonical.load_file(loader, hospital / "canonical" / f"{table}.csv")
    return Loader(stores.engine, stores.protector, stores.settings.lake_dir)


def _rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(DOMAIN_TABLES[table])).mappings()]


@pytest.fixture(scope="module")
def feed(small_hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small hospital's ADT feed, written next to a copy of its canonical folder."""
    root = tmp_path_factory.mktemp("hl7feed")
    shutil.copytree(small_hospital / "canonical", root / "canonical")
    assert write_hl7(root / "canonical", root / "hl7") > 0
    return root


@pytest.fixture(scope="module")
def canonical_store(feed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """The same hospital loaded from its canonical CSVs, the reference for comparisons."""
    stores = _stores(tmp_path_factory.mktemp("canonical_store"))
    canonical.load(
        Loader(stores.engine, stores.protector, stores.settings.lake_dir), feed / "canonical"
    )
    yield stores
    stores.engine.dispose()


def test_feed_round_trips_every_carried_table(
    stores: Stores, feed: Path, canonical_store: Stores
) -> None:
    loader = _loader(stores, feed)
    hl7v2.load(loader, feed / "hl7")
    assert loader.report.quarantined == 0
    with stores.engine.connect() as a, canonical_store.engine.connect() as b:
        got, want = repo.table_counts(a), repo.table_counts(b)
    for table in CARRIED:
        assert got[table] == want[table] > 0, table
    assert all(got[t] == 0 for t in NOT_CARRIED if t in got and t not in REFERENCE)
    skip = {"ssn_hash", "ssn_encrypted", *NOT_CARRIED_COLUMNS["patients"]}
    mine = {r["patient_id"]: r for r in _rows(stores.engine, "patients")}
    for ref in _rows(canonical_store.engine, "patients"):
        ours = mine[ref["patient_id"]]
        assert {k: v for k, v in ref.items() if k not in skip} == {
            k: v for k, v in ours.items() if k not in skip
        }
    for table, key in (("encounters", "encounter_id"), ("coverages", "coverage_id")):
        assert sorted(_rows(stores.engine, table), key=lambda r: r[key]) == sorted(
            _rows(canonical_store.engine, table), key=lambda r: r[key]
        )
    skip = {
        "presented_ssn_hash",
        "presented_ssn_encrypted",
        "id_number_hash",
        "id_number_encrypted",
        *NOT_CARRIED_COLUMNS["registrations"],
    }
    regs = {r["registration_id"]: r for r in _rows(stores.engine, "registrations")}
    for ref in _rows(canonical_store.engine, "registrations"):
        ours = regs[ref["registration_id"]]
        assert {k: v for k, v in ref.items() if k not in skip} == {
            k: v for k, v in ours.items() if k not in skip
        }

    def natural(rows: list[dict[str, Any]], drop: str) -> list[tuple[Any, ...]]:
        return sorted((tuple(v for k, v in r.items() if k != drop) for r in rows), key=repr)

    for table, derived_key in (
        ("patient_contacts", "contact_id"),
        ("patient_addresses", "address_id"),
        ("patient_phones", "phone_id"),
    ):
        assert natural(_rows(stores.engine, table), derived_key) == natural(
            _rows(canonical_store.engine, table), derived_key
        ), table


def test_ssn_is_stored_encrypted_and_matches(tmp_path: Path, feed: Path) -> None:
    stores = _stores(tmp_path)
    hl7v2.load(_loader(stores, feed), hl7v2.hl7_files(feed / "hl7")[0])
    first = next(p for p in load_rows(feed / "canonical", PATIENTS) if p["ssn"])
    with stores.engine.connect() as conn:
        found = repo.patients_with_ssn(conn, stores.protector, first["ssn"])
    assert [p["patient_id"] for p in found] == [first["patient_id"]]
    assert "ssn" not in found[0]
    assert stores.protector.decrypt(found[0]["ssn_encrypted"]) == first["ssn"]
    assert found[0]["ssn_last4"] == first["ssn"][-4:]


def test_reingest_adds_nothing(tmp_path: Path, feed: Path) -> None:
    stores = _stores(tmp_path)
    _loader(stores, feed)
    kwargs: dict[str, Any] = {
        "engine": stores.engine,
        "protector": stores.protector,
        "lake_dir": stores.settings.lake_dir,
        "fmt": "hl7v2",
    }
    first = run_ingest([feed / "hl7"], **kwargs)
    with stores.engine.connect() as conn:
        before = repo.table_counts(conn)
    again = run_ingest([feed / "hl7"], **kwargs)
    with stores.engine.connect() as conn:
        assert repo.table_counts(conn) == before
    assert sum(first.loaded.values()) > 0
    assert sum(again.loaded.values()) == 0 and again.quarantined == 0
    assert again.duplicates_skipped > 0


def test_a40_merges_the_prior_mrn_into_the_surviving_patient(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    user = {"user_id": ["U00001"], "login": ["mj"], "last_name": ["Jordan"], "role": ["clerk"]}
    loader.load("workforce", pa.table(user), source="t", locate=str, batch_key="w")
    (tmp_path / "merge.hl7").write_bytes((A28 + A40).encode())
    hl7v2.load(loader, tmp_path / "merge.hl7")
    [merge] = _rows(stores.engine, "patient_merges")
    assert merge["surviving_patient_id"] == "PX1"
    assert (merge["merged_mrn"], merge["merged_patient_id"]) == ("900777", "PX7")
    assert str(merge["merged_at"]) == "2026-01-06 09:00:00"
    assert merge["merged_by_user_id"] == "U00001"
    [patient] = _rows(stores.engine, "patients")
    assert (patient["last_name"], patient["previous_names"]) == ("Quill", "Stone, Ada")


def _bad_file(path: Path, framed: bool = False, newline: str = "\r") -> None:
    messages = [
        "junk before any header\r",
        A28,
        "MSH|^~\\&|REG|F01|||20260105||ADT^A04|C3|P|2.5.1\rPID|1||^^^H^MR||Doe^Jane||19800101\r",
        A28.replace("C1", "C4").replace("19700102", "19701399").replace("900001", "900004"),
        "MSH|^~\\&|LAB|F01|||20260105||ORU^R01|C5|P|2.5.1\rPID|1||900005^^^H^MR||Roe^R||19800101\r",
        "MSH|^^^^|bad encoding\r",
        A28.replace("C1", "C6").replace("900001", "900006").replace("PX1", "PX6"),
    ]
    text = [m.replace("\r", newline) for m in messages]
    data = "".join(f"\x0b{m}\x1c\r" if framed else m for m in text)
    path.write_bytes(data.encode())


@pytest.mark.parametrize(("framed", "newline"), [(False, "\r"), (True, "\r"), (False, "\n")])
def test_bad_messages_are_quarantined_with_location_and_neighbours_load(
    tmp_path: Path, framed: bool, newline: str
) -> None:
    stores = _stores(tmp_path)
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    path = tmp_path / "mixed.hl7"
    _bad_file(path, framed, newline)
    hl7v2.load(loader, path)
    with stores.engine.connect() as conn:
        quarantined = repo.list_quarantine(conn)
        patients = {r["patient_id"] for r in _rows(stores.engine, "patients")}
    assert patients == {"PX1", "PX6"}
    by_number = {int(q["location"].split()[1]): q for q in quarantined}
    assert sorted(by_number) == [1, 3, 4, 5, 6]
    assert all(q["source"] == str(path) and " at byte " in q["location"] for q in quarantined)
    reasons = {n: q["reason"] for n, q in by_number.items()}
    assert "MSH" in reasons[1]
    assert "medical record number" in reasons[3]
    assert "PID-7" in reasons[4] and "not a date" in reasons[4]
    assert "ORU" in reasons[5]
    assert "delimiters" in reasons[6]
    assert not any(phi in r for r in reasons.values() for phi in ("Doe", "19701399", "Quill"))


def test_a_message_whose_header_was_lost_is_not_merged_into_its_neighbour(
    tmp_path: Path,
) -> None:
    headless = A28.replace("C1", "C9").replace("PX1", "PX9").split("\r", 1)[1]
    path = tmp_path / "lost.hl7"
    path.write_bytes((A28 + headless).encode())
    with path.open("rb") as fh:
        messages = list(split_messages(fh))
    assert [m.number for m in messages] == [1, 2]
    assert messages[1].offset == len(A28) and messages[1].data.startswith(b"EVN|")
    for block in (1, 3, 64):
        with path.open("rb") as fh:
            assert list(split_messages(fh, block)) == messages
    stores = _stores(tmp_path)
    hl7v2.load(Loader(stores.engine, stores.protector, stores.settings.lake_dir), path)
    with stores.engine.connect() as conn:
        [bad] = repo.list_quarantine(conn)
    assert bad["location"] == f"message 2 at byte {len(A28)}" and "MSH" in bad["reason"]


def test_writer_is_deterministic_and_conforms_to_hl7apy(feed: Path, tmp_path: Path) -> None:
    write_hl7(feed / "canonical", tmp_path / "again")
    names = sorted(p.name for p in (feed / "hl7").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again").iterdir())
    assert all(n.startswith("adt_") and n.endswith(".hl7") for n in names)
    for name in names:
        assert (feed / "hl7" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    samples: dict[str, str] = {}
    for name in names:
        with (feed / "hl7" / name).open("rb") as fh:
            for raw in split_messages(fh):
                text = decode(raw.data)
                samples.setdefault(text.split("|")[8], text)
    assert {"ADT^A28^ADT_A05", "ADT^A40^ADT_A39", "ADT^A04^ADT_A01", "ADT^A08^ADT_A01"} <= set(
        samples
    )
    for text in samples.values():
        strict = hl7apy_parse(text, validation_level=VALIDATION_LEVEL.STRICT)
        strict.validate()
        loose = hl7apy_parse(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
        mine = parse_message(text)
        assert [s.name for s in loose.children] == [s.name for s in mine.segments]
        for theirs, ours in zip(loose.children, mine.segments, strict=True):
            fields: dict[int, list[str]] = {}
            for f in theirs.children:
                fields.setdefault(int(f.name.split("_")[1]), []).append(f.to_er7())
            for n, reps in fields.items():
                if not (theirs.name == "MSH" and n <= 2):
                    assert ours.raw(n) == "~".join(reps), (theirs.name, n)


def test_sniff(tmp_path: Path, feed: Path) -> None:
    (tmp_path / "feed.txt").write_bytes(b"\x0bMSH|^~\\&|A|B\r")
    (tmp_path / "patients.csv").write_text("patient_id,mrn\n")
    assert hl7v2.sniff(feed / "hl7") and hl7v2.sniff(tmp_path / "feed.txt")
    assert not hl7v2.sniff(tmp_path / "patients.csv") and not hl7v2.sniff(feed / "canonical")


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_escaped_values_read_back(value: str) -> None:
    header = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5.1\r"
    seg = parse_message(f"{header}PID|1||{escape(value)}^^^H^MR\r").segments[1]
    assert seg.get(3) == value.strip()


@pytest.fixture(scope="module")
def fuzz_loader(feed: Path, tmp_path_factory: pytest.TempPathFactory) -> AdtBatchLoader:
    stores = _stores(tmp_path_factory.mktemp("fuzz"))
    return AdtBatchLoader(_loader(stores, feed), "fuzz")


@pytest.fixture(scope="module")
def real_messages(feed: Path) -> list[bytes]:
    with hl7v2.hl7_files(feed / "hl7")[0].open("rb") as fh:
        return [m.data for m, _ in zip(split_messages(fh), range(40), strict=False)]


def _mutate(data: bytes, cuts: list[tuple[int, bytes]]) -> bytes:
    for pos, insert in cuts:
        at = pos % (len(data) + 1)
        data = data[:at] + insert + data[at + len(insert) :]
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.one_of(
        st.binary(max_size=300),
        st.tuples(
            st.integers(0, 39),
            st.lists(
                st.tuples(
                    st.integers(0, 4000),
                    st.sampled_from(
                        [
                            b"|",
                            b"^",
                            b"~",
                            b"\\",
                            b"&",
                            b"\r",
                            b"\x0b",
                            b"\x1c",
                            b"9",
                            b"",
                            b"\xff",
                            b"MSH|",
                            b"X" * 30,
                        ]
                    ),
                ),
                max_size=4,
            ),
            st.integers(1, 4000),
        ),
    )
)
def test_fuzz_never_raises_and_quarantines_cleanly(
    fuzz_loader: AdtBatchLoader, real_messages: list[bytes], case: Any, tmp_path_factory: Any
) -> None:
    if isinstance(case, bytes):
        data = case
    else:
        index, cuts, keep = case
        data = _mutate(real_messages[index], cuts)[:keep]
    path = tmp_path_factory.mktemp("f") / "fuzz.hl7"
    path.write_bytes(data)
    with path.open("rb") as fh:
        messages = [Inbound(m.data, m.location) for m in split_messages(fh)]
    before = fuzz_loader.loader.report.quarantined
    outcomes = fuzz_loader.load(messages, batch_key="fuzz")
    assert len(outcomes) == len(messages)
    rejected = [o for o in outcomes if not o.accepted]
    assert all(o.reason and o.ack_code in ("AE", "AR") for o in rejected)
    assert not any("please report" in o.reason for o in rejected)  # no reader bug hit
    assert fuzz_loader.loader.report.quarantined - before >= len(rejected)
    hl7v2.load(fuzz_loader.loader, path)
