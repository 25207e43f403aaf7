"""X12 271 ingest: same identities as canonical, any separators, bad parts quarantined, fuzz."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from phiwarden.domain.canonical import ELIGIBILITY_RESPONSES
from phiwarden.domain.canonical_io import read_csv
from phiwarden.ingest import canonical, x12
from phiwarden.ingest.loader import Loader
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores
from phiwarden.synth.x12 import write_x12

REFERENCES = (
    "facilities",
    "departments",
    "workforce",
    "patients",
    "encounters",
    "coverages",
    "registrations",
)
COMPARED = [f.name for f in ELIGIBILITY_RESPONSES.schema if f.name != "response_id"]


@pytest.fixture(scope="module")
def exported(small_hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small hospital's 271 files, one per day."""
    out = tmp_path_factory.mktemp("x12")
    assert write_x12(small_hospital / "canonical", out) > 0
    return out


def _loader(stores: Stores) -> Loader:
    return Loader(stores.engine, stores.protector, stores.settings.lake_dir)


def _references(stores: Stores, hospital: Path) -> None:
    loader = _loader(stores)
    for name in REFERENCES:
        canonical.load_file(loader, hospital / "canonical" / f"{name}.csv")


def _stored(stores: Stores) -> list[dict[str, Any]]:
    table = repo.domain_table(ELIGIBILITY_RESPONSES.name)
    with stores.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table)).mappings()]
    for row in rows:
        token = row.pop("ssn_encrypted")
        row["ssn"] = stores.protector.decrypt(token) if token else None
    return rows


def _identities(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(r[c] for c in COMPARED) for r in rows)


def _quarantine(stores: Stores) -> set[tuple[str, str]]:
    with stores.engine.connect() as conn:
        return {(r["location"], r["reason"]) for r in repo.list_quarantine(conn)}


def test_271_files_give_the_canonical_responses_once(
    stores: Stores, small_hospital: Path, exported: Path, tmp_path: Path
) -> None:
    _references(stores, small_hospital)
    canonical.load_file(_loader(stores), small_hospital / "canonical" / "eligibility_responses.csv")
    loader = _loader(stores)
    x12.load(loader, exported)
    rows = _stored(stores)
    ours = [r for r in rows if r["response_id"].startswith("X12-")]
    theirs = [r for r in rows if not r["response_id"].startswith("X12-")]
    expected = read_csv(
        small_hospital / "canonical" / "eligibility_responses.csv", ELIGIBILITY_RESPONSES
    ).num_rows
    assert loader.report.loaded["eligibility_responses"] == len(ours) == len(theirs) == expected
    assert loader.report.quarantined == 0
    assert _identities(ours) == _identities(theirs)
    assert {r["loop"] for r in ours} == {"2100C", "2100D"}
    again = _loader(stores)
    x12.load(again, exported)
    assert sum(again.report.loaded.values()) == 0 and again.report.duplicates_skipped == len(ours)
    _check_other_separators(stores, exported, tmp_path)


def _check_other_separators(stores: Stores, exported: Path, tmp_path: Path) -> None:
    """The same interchange with other separators gives the same responses (same ids)."""
    first = sorted(exported.glob("*.x12"))[0]
    responses = sum(
        1 for line in first.read_text(encoding="ascii").splitlines() if line.startswith("ST*")
    )
    text = first.read_text(encoding="ascii").replace("*^*00501", "*U*00501")  # no repetition
    for n, (element, component, terminator) in enumerate(SEPARATORS):
        other = tmp_path / f"other{n}.edi"
        other.write_text(_reseparate(text, element, component, terminator), encoding="ascii")
        assert x12.sniff(other)
        loader = _loader(stores)
        x12.load(loader, other)
        assert loader.report.quarantined == 0
        assert loader.report.duplicates_skipped == responses > 0


def _reseparate(text: str, element: str, component: str, terminator: str) -> str:
    out = text.replace("~\n", "\x00").replace(":", "\x01").replace("*", element)
    return out.replace("\x01", component).replace("\x00", terminator)


IDENTITY = (
    "first_name",
    "last_name",
    "ssn",
    "address_line",
    "city",
    "state",
    "zip",
    "aaa_code",
    "ins_changed",
    "coverage_id",
    "registration_id",
)
SEPARATORS = [("|", ">", "~"), ("^", "\\", "\r\n"), ("\x1d", "\x1f", "\x1c")]


def _isa(control: int) -> str:
    return (
        f"ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*HOSPITAL       *260105*1200"
        f"*^*00501*{control:09d}*0*P*:~"
    )


def _interchange(control: int, *transactions: list[str], gs_count: int | None = None) -> str:
    lines = [_isa(control), f"GS*HB*CH*HOSP*20260105*1200*{control}*X*005010X279A1~"]
    for number, body in enumerate(transactions, start=1):
        segs = [f"ST*271*{number:04d}*005010X279A1", *body]
        lines += [s + "~" for s in segs] + [f"SE*{len(segs) + 1}*{number:04d}~"]
    lines += [f"GE*{gs_count or len(transactions)}*{control}~", f"IEA*1*{control:09d}~"]
    return "\n".join(lines) + "\n"


HEAD = [
    "BHT*0022*11*ABC123*20260105*083015",
    "HL*1**20*1",
    "NM1*PR*2*ACME HEALTH*****PI*842610001",
    "HL*2*1*21*1",
    "NM1*1P*2*RIVERBEND MEDICAL CENTER*****SV*F01",
]


def _subscriber(hl: int, trace: str, *, children: bool = False) -> list[str]:
    return [
        f"HL*{hl}*2*22*{1 if children else 0}",
        "TRN*1*PAYER-TRACE-9*9877281234",
        f"TRN*2*{trace}*9PHIWARDEN",
        "NM1*IL*1*DOE*JANE*Q***MI*W199887766",
        "REF*SY*123456789",
        "REF*1L*GROUP-77",
        "N3*12 ELM ST*APT 4",
        "N4*DALLAS*TX*75201*US",
        "AAA*N**75*C",
        "DMG*D8*19800203*F",
        "INS*Y*18*001*25",
        "DTP*346*D8*20260101",
        "EB*1*FAM*30**GOLD PLAN",
        "REF*18*PLAN-9",
        "LS*2120",
        "NM1*P3*1*SMITH*ALAN****XX*1234",
        "N3*99 CLINIC RD",
        "N4*AUSTIN*TX*73301",
        "LE*2120",
    ]


def test_real_world_shaped_271(stores: Stores, small_hospital: Path, tmp_path: Path) -> None:
    _references(stores, small_hospital)
    body = [
        *HEAD,
        *_subscriber(3, "RG000000001", children=True),
        "HL*4*3*23*0",
        "NM1*03*1*DOE*TIM",
        "DMG*D8*20150607*M",
        "INS*N*19*001*25",
        "EB*1*IND*30",
        *_subscriber(5, "NOT-A-REGISTRATION"),
        *_subscriber(6, "RG000000002"),
    ]
    path = tmp_path / "payer.x12"
    path.write_text(_interchange(905, body))
    loader = _loader(stores)
    x12.load(loader, path)
    stored = _stored(stores)
    rows = {r["loop"]: r for r in stored if r["registration_id"] is not None}
    # the response naming a registration the store does not hold loads without it (a gap)
    assert loader.report.loaded["eligibility_responses"] == 3
    assert [r["registration_id"] for r in stored].count(None) == 1
    assert loader.report.gap_examples[("eligibility_responses", "registration_id")] == [
        "NOT-A-REGISTRATION"
    ]
    dependent, subscriber = rows["2100D"], rows["2100C"]
    assert (
        dependent["registration_id"],
        dependent["payer"],
        dependent["member_id"],
        dependent["first_name"],
        dependent["last_name"],
        str(dependent["dob"]),
        dependent["sex"],
        dependent["aaa_code"],
        dependent["ins_changed"],
        dependent["address_line"],
        str(dependent["received_at"]),
    ) == (
        "RG000000001",
        "ACME HEALTH",
        "W199887766",
        "TIM",
        "DOE",
        "2015-06-07",
        "M",
        "75",
        True,
        None,
        "2026-01-05 08:30:15",
    )
    # a registration the store does not hold: the response loads without it (a gap)
    assert _quarantine(stores) == set()
    # identity is read up to the first EB: the provider in the 2120C loop is not the person
    assert {k: subscriber[k] for k in IDENTITY} == {
        "first_name": "JANE",
        "last_name": "DOE",
        "ssn": "123-45-6789",
        "address_line": "12 ELM ST APT 4",
        "city": "DALLAS",
        "state": "TX",
        "zip": "75201",
        "aaa_code": "75",
        "ins_changed": True,
        "coverage_id": None,
        "registration_id": "RG000000002",
    }


def test_bad_parts_are_quarantined_and_neighbours_load(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    _references(stores, small_hospital)
    good = [*HEAD, *_subscriber(3, "RG000000003")]
    bad_parent = [*HEAD, *_subscriber(3, "RG000000004")]
    bad_parent[-len(_subscriber(3, "x"))] = "HL*3*9*22*0"
    bad_date = [*HEAD, *_subscriber(3, "RG000000005")]
    bad_date = [s.replace("DMG*D8*19800203", "DMG*D8*19801302") for s in bad_date]
    second = _interchange(2, good, bad_parent, bad_date, good)
    second = second.replace("ST*271*0001", "ST*270*0001").replace("SE*26*0004", "SE*99*0004")
    text = _interchange(1, good) + second + _interchange(3, good).split("GE*")[0]
    path = tmp_path / "mixed.x12"
    path.write_text(text)
    loader = _loader(stores)
    x12.load(loader, path)
    assert loader.report.loaded["eligibility_responses"] == 1
    assert _quarantine(stores) == {
        ("segment 33", "transaction set '270' is not a 271 eligibility response"),
        ("segment 65", "transaction set '0002': HL 3 (level 22) must have a parent of level 21"),
        ("segment 91", "dob: cannot read as date32[day]"),
        ("segment 136", "SE01 says 99 segments, transaction set '0004' has 26"),
        ("segment 139", "interchange has no IEA trailer (is the file cut short?)"),
    }


def test_sniff(exported: Path, tmp_path: Path) -> None:
    assert x12.sniff(exported) and x12.sniff(sorted(exported.glob("*.x12"))[0])
    plain = tmp_path / "notes.txt"
    plain.write_text("ISA is not how this starts")
    assert not x12.sniff(plain)
    inquiry = tmp_path / "270.x12"
    inquiry.write_text(_isa(1) + "\nGS*HS*A*B*20260105*1200*1*X*005010X279A1~\nST*270*0001~")
    assert not x12.sniff(inquiry)


SEGMENT = re.compile(r"segment \d+")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_interchanges_never_crash(
    stores: Stores, small_hospital: Path, exported: Path, tmp_path: Path, data: st.DataObject
) -> None:
    with stores.engine.connect() as conn:
        if not repo.table_counts(conn)["registrations"]:
            _references(stores, small_hospital)
    text = sorted(exported.glob("*.x12"))[0].read_text(encoding="ascii")
    segments = text.split("~\n")[:60]
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(segments) - 1))
        kind = data.draw(st.sampled_from(["text", "element", "drop", "dup", "cut"]))
        if kind == "text":
            segments[at] = data.draw(st.text(max_size=40))
        elif kind == "element":
            parts = segments[at].split("*")
            parts[data.draw(st.integers(0, len(parts) - 1))] = data.draw(
                st.text(alphabet=st.characters(codec="latin-1"), max_size=300)
            )
            segments[at] = "*".join(parts)
        elif kind == "drop" and len(segments) > 1:
            del segments[at]
        elif kind == "dup":
            segments.insert(at, segments[at])
        else:
            segments = segments[: at + 1]
    raw = "~\n".join(segments).encode("latin-1", "replace")
    if data.draw(st.booleans()):
        pos = data.draw(st.integers(0, len(raw)))
        raw = raw[:pos] + data.draw(st.binary(max_size=20)) + raw[pos:]
    path = tmp_path / f"fuzz_{data.draw(st.integers(0, 10**9))}.x12"
    path.write_bytes(raw)
    x12.load(_loader(stores), path)
    with stores.engine.connect() as conn:
        assert all(SEGMENT.fullmatch(r["location"]) for r in repo.list_quarantine(conn))
