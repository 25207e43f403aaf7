"""X12 271 export: envelopes and counts are consistent, identities survive the round trip."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from canonical_fixture import build_canonical
from phiwarden.domain.canonical import ELIGIBILITY_RESPONSES
from phiwarden.domain.canonical_io import read_csv, write_csv
from phiwarden.synth.export_io import load_rows
from phiwarden.synth.x12 import clean, write_x12

Segments = list[list[str]]


def split_segments(text: str) -> Segments:
    """The test's own tiny X12 reader: ``~`` ends a segment, ``*`` separates elements."""
    return [seg.strip().split("*") for seg in text.split("~") if seg.strip()]


def transactions(segs: Segments) -> list[Segments]:
    out: list[Segments] = []
    for seg in segs:
        if seg[0] == "ST":
            out.append([])
        if out and (seg[0] not in ("GE", "IEA")):
            out[-1].append(seg)
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, Path]:
    root = tmp_path_factory.mktemp("x12")
    canonical = build_canonical(root)
    written = write_x12(canonical, root / "x12")
    return written, root / "x12", canonical


def test_one_file_per_day_with_valid_envelopes(exported: tuple[int, Path, Path]) -> None:
    written, out, _ = exported
    files = sorted(out.glob("271_*.x12"))
    assert [f.name for f in files] == ["271_20240301.x12", "271_20240302.x12", "271_20240303.x12"]
    total = 0
    controls = []
    for path in files:
        text = path.read_text(encoding="ascii")
        first_line = text.split("\n")[0]
        assert len(first_line) == 106 and first_line.startswith("ISA*")
        assert all(line.endswith("~") for line in text.splitlines())
        segs = split_segments(text)
        isa, gs, ge, iea = segs[0], segs[1], segs[-2], segs[-1]
        assert len(isa) == 17 and isa[16] == ":" and isa[11] == "^" and isa[12] == "00501"
        assert gs[0] == "GS" and gs[1] == "HB" and gs[8] == "005010X279A1"
        sets = transactions(segs)
        assert ge == ["GE", str(len(sets)), gs[6]]
        assert iea == ["IEA", "1", isa[13]] and int(isa[13]) == int(gs[6])
        controls.append(int(gs[6]))
        for ts in sets:
            st, se = ts[0], ts[-1]
            assert st[:2] == ["ST", "271"] and st[3] == "005010X279A1"
            assert se == ["SE", str(len(ts)), st[2]]
            assert ts[1][:3] == ["BHT", "0022", "11"]
            assert [s[3] for s in ts if s[0] == "HL"][:3] == ["20", "21", "22"]
        total += len(sets)
    assert total == written == 24
    assert controls == [1, 2, 3]


def test_identities_round_trip(exported: tuple[int, Path, Path]) -> None:
    _, out, canonical = exported
    rows = {r["response_id"]: r for r in load_rows(canonical, ELIGIBILITY_RESPONSES)}
    seen = set()
    for path in sorted(out.glob("271_*.x12")):
        for ts in transactions(split_segments(path.read_text(encoding="ascii"))):
            r = rows[ts[1][3]]
            seen.add(r["response_id"])
            by: dict[str, list[list[str]]] = {}
            for seg in ts:
                by.setdefault(seg[0], []).append(seg)
            dependent = r["loop"] == "2100D"
            person = next(s for s in by["NM1"] if s[1] == ("03" if dependent else "IL"))
            assert person[3:5] == [clean(r["last_name"]), clean(r["first_name"])]
            subscriber = next(s for s in by["NM1"] if s[1] == "IL")
            assert subscriber[8:10] == ["MI", r["member_id"]]
            assert by["TRN"] == [["TRN", "2", r["registration_id"], "9PHIWARDEN"]]
            assert by["DMG"][0] == ["DMG", "D8", r["dob"].strftime("%Y%m%d"), r["sex"]]
            refs = {s[1]: s[2] for s in by.get("REF", [])}
            assert refs.get("SY") == (r["ssn"].replace("-", "") if r["ssn"] else None)
            assert refs["EJ"] == r["coverage_id"]
            assert by["N4"][0][1:] == [r["city"], r["state"], r["zip"]]
            assert ("AAA" in by) == bool(r["aaa_code"])
            if r["aaa_code"]:
                assert by["AAA"][0] == ["AAA", "N", "", "75", "C"]
            assert ("EB" in by) == (not r["aaa_code"])
            assert ("INS" in by) == bool(r["ins_changed"])
            if r["ins_changed"]:
                assert by["INS"][0][3:] == ["001", "25"]
                assert by["INS"][0][1:3] == (["N", "19"] if dependent else ["Y", "18"])
            hl_codes = [s[3] for s in by["HL"]]
            assert hl_codes == (["20", "21", "22", "23"] if dependent else ["20", "21", "22"])
            receiver = next(s for s in by["NM1"] if s[1] == "1P")
            assert receiver[8] == "SV" and receiver[9] in {"F1", "F2"}
    assert seen == set(rows)


def test_values_are_made_x12_safe() -> None:
    assert clean("Müller*Smith~") == "Muller Smith"
    assert clean("a:b^c\nd") == "a b c d"
    assert clean(None) == ""


def test_rows_without_received_at_are_skipped(tmp_path: Path) -> None:
    canonical = build_canonical(tmp_path, n_patients=12)
    path = canonical / "eligibility_responses.csv"
    table = read_csv(path, ELIGIBILITY_RESPONSES)
    received = table.column("received_at").to_pylist()
    received[0] = None
    table = table.set_column(
        table.schema.get_field_index("received_at"),
        "received_at",
        pa.array(received, table.schema.field("received_at").type),
    )
    write_csv(table, path, ELIGIBILITY_RESPONSES)
    assert write_x12(canonical, tmp_path / "out") == len(received) - 1
