"""Epic-style (and mapped) access-log CSV ingest: same events as canonical, quarantine, fuzz."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.ingest import access_log, canonical
from phiwarden.ingest.access_log_mapping import BUNDLED, MappingError, read_mapping
from phiwarden.ingest.loader import Loader
from phiwarden.lake.layout import list_files
from phiwarden.store import repositories as repo
from phiwarden.store.schema import DOMAIN_TABLES
from phiwarden.store.setup import Stores
from phiwarden.synth.access_log import HEADER, write_access_log

REFERENCES = ("facilities", "departments", "workforce", "patients", "patient_merges")
FIELDS = (
    "ts",
    "user_id",
    "patient_id",
    "action",
    "workstation",
    "department_id",
    "break_the_glass",
    "btg_reason",
)


@pytest.fixture(scope="module")
def export(small_hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small hospital's Epic-style export, one CSV per day."""
    out = tmp_path_factory.mktemp("epic")
    assert write_access_log(small_hospital / "canonical", out) > 0
    return out


def _loader(stores: Stores, lake: Path | None = None) -> Loader:
    return Loader(stores.engine, stores.protector, lake or stores.settings.lake_dir)


def _references(stores: Stores, hospital: Path) -> None:
    loader = _loader(stores)
    for name in REFERENCES:
        canonical.load_file(loader, hospital / "canonical" / f"{name}.csv")


def _lake(lake_dir: Path) -> pa.Table:
    files = list_files(lake_dir)
    if not files:
        return ACCESS_EVENTS.schema.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=ACCESS_EVENTS.schema) for f in files])


def _events(table: pa.Table) -> Counter[tuple[Any, ...]]:
    return Counter(zip(*(table.column(f).to_pylist() for f in FIELDS), strict=True))


def _quarantine(stores: Stores) -> set[tuple[str, str, str]]:
    with stores.engine.connect() as conn:
        return {
            (Path(r["source"]).name, r["location"], r["reason"]) for r in repo.list_quarantine(conn)
        }


def test_export_loads_the_same_events_as_canonical_and_once(
    stores: Stores, small_hospital: Path, export: Path, tmp_path: Path
) -> None:
    _references(stores, small_hospital)
    reference_lake = tmp_path / "canonical-lake"
    reference = _loader(stores, reference_lake)
    for part in sorted((small_hospital / "canonical" / "access_events").rglob("*.parquet")):
        canonical.load_file(reference, part)
    loader = _loader(stores)
    access_log.load(loader, export)
    ours, theirs = _lake(stores.settings.lake_dir), _lake(reference_lake)
    assert loader.report.loaded["access_events"] == ours.num_rows == theirs.num_rows > 1000
    assert loader.report.quarantined == 0
    assert _events(ours) == _events(theirs)
    ids = ours.column("event_id").to_pylist()
    assert len(set(ids)) == len(ids) and all(i.startswith("EPIC-") for i in ids)
    again = _loader(stores)
    access_log.load(again, export)
    assert sum(again.report.loaded.values()) == 0
    assert again.report.duplicates_skipped == ours.num_rows
    assert _lake(stores.settings.lake_dir).num_rows == ours.num_rows


MAPPING = """
name = "other-ehr"
source_system = "other"
event_id_prefix = "OTH-"
[csv]
delimiter = ";"
encoding = "latin-1"
[columns]
ts = "Zeitpunkt"
user = "Benutzer"
patient = "Fallnummer"
action = "Aktion"
workstation = "Terminal"
btg_flag = "Notfall"
btg_reason = "Begründung"
event_id = "Protokoll-ID"
[timestamp]
formats = ["%d.%m.%Y %H:%M"]
[user]
match = ["user_id"]
[action.values]
"Geöffnet" = "view"
"Gedruckt" = "print"
[btg_flag]
true_values = ["ja"]
"""


def test_custom_mapping_with_other_columns_and_time_format(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    _references(stores, small_hospital)
    mapping = tmp_path / "other.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    rows = [
        "Protokoll-ID;Zeitpunkt;Benutzer;Fallnummer;Aktion;Terminal;Notfall;Begründung",
        "L1;05.01.2026 08:30;U00001;10000031;Geöffnet;PC-7;nein;",
        "L2;05.01.2026 23:59;U00002;10000083;GEDRUCKT ;PC-8;ja;Notaufnahme (Schockraum)",
        "L3;30.02.2026 10:00;U00002;10000083;Geöffnet;PC-8;nein;",
        "L4;06.01.2026 07:00;U00002;10000083;Gelöscht;PC-8;nein;",
    ]
    export = tmp_path / "other.csv"
    export.write_bytes("\r\n".join(rows).encode("latin-1"))
    loader = _loader(stores)
    access_log.load_with_mapping(loader, export, mapping)
    assert loader.report.loaded["access_events"] == 2
    got = sorted(_lake(stores.settings.lake_dir).to_pylist(), key=lambda r: r["event_id"])
    assert [
        (
            r["event_id"],
            str(r["ts"]),
            r["user_id"],
            r["patient_id"],
            r["action"],
            r["workstation"],
            r["break_the_glass"],
            r["btg_reason"],
            r["source_system"],
        )
        for r in got
    ] == [
        ("L1", "2026-01-05 08:30:00", "U00001", "P0000001", "view", "PC-7", False, None, "other"),
        (
            "L2",
            "2026-01-05 23:59:00",
            "U00002",
            "P0000002",
            "print",
            "PC-8",
            True,
            "Notaufnahme (Schockraum)",
            "other",
        ),
    ]
    generic = tmp_path / "generic.csv"  # the generic layout needs no mapping of its own
    generic.write_text(
        "timestamp,user,mrn,action,workstation,department,emergency_access,reason\n"
        "2026-01-06T07:00:00,mjordan,10000031,read,WS-1,D001,N,\n"
        "2026-01-06T07:05:00,U00002,10000083,print,WS-2,D002,Y,Trauma bay\n"
    )
    generic_loader = _loader(stores)
    access_log.load(generic_loader, generic)
    assert generic_loader.report.loaded["access_events"] == 2
    assert {
        (r["user_id"], r["action"], r["break_the_glass"], r["btg_reason"])
        for r in _lake(stores.settings.lake_dir).to_pylist()
        if r["event_id"].startswith("EV-")
    } == {("U00001", "view", False, None), ("U00002", "print", True, "Trauma bay")}
    reasons = {loc: why for _, loc, why in _quarantine(stores)}
    assert reasons == {
        "line 4": "Zeitpunkt '30.02.2026 10:00' matches no timestamp format (%d.%m.%Y %H:%M)",
        "line 5": "Aktion 'Gelöscht' is not mapped: add it to [action.values] of other.toml",
    }


def _epic_lines(export: Path, n: int) -> list[str]:
    first = sorted(export.glob("access_log_*.csv"))[0]
    return first.read_text(encoding="utf-8").splitlines()[: n + 1]


def _row(**values: str) -> str:
    return ",".join(f'"{values.get(c, "")}"' if values.get(c) else "" for c in HEADER)


def test_bad_rows_are_quarantined_with_line_and_reason(
    stores: Stores, small_hospital: Path, export: Path, tmp_path: Path
) -> None:
    _references(stores, small_hospital)
    for damaged in (False, True):  # bytes that are not UTF-8 take the slower Python reader
        _check_bad_rows(stores, export, tmp_path, damaged)


def _check_bad_rows(stores: Stores, export: Path, tmp_path: Path, damaged: bool) -> None:
    good = [line.encode() for line in _epic_lines(export, 6)]
    base = dict(
        ACCESS_TIME="2026-01-05 10:00:00",
        METRIC_NAME="Chart Review Accessed",
        PAT_MRN_ID="10000031",
        USER_LOGIN="mjordan",
    )
    lines = [
        *good[:3],  # header + lines 2-3
        _row(**{**base, "PAT_MRN_ID": "99999999"}).encode(),  # line 4
        b"a,b,c",  # line 5: malformed
        _row(**{**base, "USER_LOGIN": "nobody"}).encode(),  # line 6
        b"",  # line 7: blank, skipped
        _row(**{**base, "ACCESS_TIME": "2026-02-30 10:00:00"}).encode(),  # line 8
        _row(**{**base, "METRIC_NAME": "Teleported"}).encode(),  # line 9
        _row(**{**base, "ACCESS_TIME": ""}).encode(),  # line 10
        _row(**base).encode().replace(b"mjordan", b"mj\xffordan" if damaged else b"mjordan"),
        *good[3:],  # lines 12-15
    ]
    path = tmp_path / f"access_log_bad_{damaged}.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    loader = _loader(stores)
    access_log.load(loader, path)
    # The second (damaged) export repeats the first one's good accesses: their derived
    # event ids are the same, so the lake stores them once.
    # An unknown MRN or login is a directory gap, not a rejection: the access loads under
    # "mrn:99999999" / "login:nobody" and the report counts it.
    assert loader.report.loaded["access_events"] == (0 if damaged else 9)
    assert loader.report.duplicates_skipped == (8 if damaged else 0)
    if not damaged:
        assert loader.report.gap_examples[("access_events", "patient_id")] == ["mrn:99999999"]
        assert loader.report.gap_examples[("access_events", "user_id")] == ["login:nobody"]
    expected = {
        ("line 5", "line has 3 fields, the header has 17"),
        (
            "line 8",
            "ACCESS_TIME '2026-02-30 10:00:00' matches no timestamp format "
            "(ISO8601, %m/%d/%Y %H:%M:%S, %m/%d/%Y %I:%M:%S %p, %m/%d/%Y %H:%M)",
        ),
        (
            "line 9",
            "METRIC_NAME 'Teleported' is not mapped: add it to [action.values] of epic.toml",
        ),
        ("line 10", "missing ACCESS_TIME"),
    }
    if damaged:
        expected.add(("line 11", "not valid text in the file's encoding"))
    found = {(loc, why) for src, loc, why in _quarantine(stores) if src == path.name}
    assert found == expected
    again = _loader(stores)
    access_log.load(again, path)
    assert sum(again.report.loaded.values()) == 0
    assert sum(src == path.name for src, _, _ in _quarantine(stores)) == len(expected)


def test_sniff_and_mapping_errors(export: Path, small_hospital: Path, tmp_path: Path) -> None:
    assert access_log.sniff(export)
    assert access_log.sniff(sorted(export.glob("*.csv"))[0])
    generic = tmp_path / "generic.csv"
    generic.write_text("timestamp,user,mrn,action,workstation,department,emergency_access,reason\n")
    assert access_log.sniff(generic)
    assert not access_log.sniff(small_hospital / "canonical" / "patients.csv")
    assert not access_log.sniff(small_hospital / "canonical")
    assert read_mapping(BUNDLED["generic"]).user_match == ("login", "user_id")
    broken = tmp_path / "broken.toml"
    broken.write_text('[columns]\nts = "T"\nuser = "U"\npatient = "P"\n')
    with pytest.raises(MappingError, match="action"):
        read_mapping(broken)
    other = tmp_path / "other.csv"
    other.write_text("when,who,what\n2026-01-05 10:00:00,mjordan,view\n")
    with pytest.raises(MappingError, match="no column ACCESS_TIME"):
        access_log.load(_loader_for_errors(tmp_path), other)


def _loader_for_errors(tmp_path: Path) -> Loader:
    from phiwarden.config import load_settings
    from phiwarden.store.setup import initialise

    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    return _loader(stores)


LOCATION = re.compile(r"(line \d+|after record \d+)")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_exports_never_crash(
    stores: Stores, small_hospital: Path, export: Path, tmp_path: Path, data: st.DataObject
) -> None:
    with stores.engine.connect() as conn:
        if not repo.table_counts(conn)["patients"]:
            _references(stores, small_hospital)
    lines = [line.encode() for line in _epic_lines(export, 8)]
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(1, len(lines) - 1))
        kind = data.draw(st.sampled_from(["bytes", "chars", "cut", "dup", "drop"]))
        if kind == "bytes":
            lines[at] = data.draw(st.binary(max_size=80))
        elif kind == "chars":
            text = lines[at].decode("utf-8", "replace")
            pos = data.draw(st.integers(0, len(text)))
            lines[at] = (text[:pos] + data.draw(st.text(max_size=12)) + text[pos:]).encode()
        elif kind == "cut":
            lines[at] = lines[at][: data.draw(st.integers(0, len(lines[at])))]
        elif kind == "dup":
            lines.insert(at, lines[at])
        elif len(lines) > 2:
            del lines[at]
    path = tmp_path / f"access_log_fuzz_{data.draw(st.integers(0, 10**9))}.csv"
    path.write_bytes(b"\n".join(lines))
    loader = _loader(stores)
    access_log.load(loader, path)
    physical = len(re.split(rb"\r\n|\r|\n", path.read_bytes()))
    assert loader.report.loaded["access_events"] + loader.report.quarantined <= physical
    assert all(LOCATION.fullmatch(loc) for src, loc, _ in _quarantine(stores) if src == path.name)


TEMPLATES = Path(access_log.__file__).with_name("mappings") / "templates"


@pytest.mark.parametrize("name", ["cerner_p2sentinel", "meditech"])
def test_vendor_templates_are_valid_mappings(name: str) -> None:
    mapping = read_mapping(TEMPLATES / f"{name}.toml")
    assert mapping.action_values and mapping.action_default == "view"


def test_meditech_template_joins_date_and_time_and_matches_mnemonics(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    _references(stores, small_hospital)
    w, pt = DOMAIN_TABLES["workforce"], DOMAIN_TABLES["patients"]
    with stores.engine.connect() as conn:
        login = conn.execute(select(w.c.login).limit(1)).scalar_one()
        mrn = conn.execute(select(pt.c.mrn).limit(1)).scalar_one()
    export = tmp_path / "audit.csv"
    export.write_text(
        "Date,Time,User,Unit Number,Function,Terminal,Location\n"
        f"01/05/2026,08:30:15,{login},{mrn},Inquiry,T12,\n"
        f"01/05/2026,08:31:00,{login},{mrn},Print,T12,\n",
        encoding="utf-8",
    )
    loader = _loader(stores)
    access_log.load_with_mapping(loader, export, TEMPLATES / "meditech.toml")
    assert loader.report.quarantined == 0
    got = sorted(_lake(stores.settings.lake_dir).to_pylist(), key=lambda r: r["ts"])
    assert [(str(r["ts"]), r["action"], r["source_system"]) for r in got] == [
        ("2026-01-05 08:30:15", "view", "meditech"),
        ("2026-01-05 08:31:00", "print", "meditech"),
    ]
