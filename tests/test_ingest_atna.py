"""IHE ATNA: RFC 5424 framing and parsing, audit XML mapping, file ingest, fuzzing."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canonical_fixture import build_canonical
from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.formats.syslog import octet_frame
from phiwarden.ingest import formats
from phiwarden.ingest.atna import AtnaError, NotAnAccess, parse_frame, rows_table
from phiwarden.ingest.canonical import canonical_files
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.run import run_ingest
from phiwarden.ingest.syslog import Framer, SyslogError, parse_syslog, read_frames
from phiwarden.ingest.validate import validate
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores
from phiwarden.synth.atna import atna_lines, write_atna

BOM = "\ufeff"

DICOM = f"""<85>1 2026-01-05T09:15:02.120-05:00 ehr01.mercy.example EPIC 4242 IHE+DICOM - {BOM}<?xml version="1.0" encoding="UTF-8"?>
<AuditMessage xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <EventIdentification EventActionCode="R" EventDateTime="2026-01-05T09:15:00.123-05:00" EventOutcomeIndicator="0">
    <EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>
    <EventTypeCode csd-code="110127" codeSystemName="DCM" originalText="Emergency Override Started"/>
  </EventIdentification>
  <ActiveParticipant UserID="ehr-app" UserIsRequestor="false" NetworkAccessPointID="10.0.0.5" NetworkAccessPointTypeCode="2">
    <RoleIDCode csd-code="110153" codeSystemName="DCM" originalText="Source Role ID"/>
  </ActiveParticipant>
  <ActiveParticipant UserID="U1" AlternativeUserID="jdoe" UserIsRequestor="true" NetworkAccessPointID="WS-ED-07" NetworkAccessPointTypeCode="1">
    <RoleIDCode csd-code="158965000" codeSystemName="SNOMED-CT" originalText="Medical Practitioner"/>
  </ActiveParticipant>
  <AuditSourceIdentification AuditEnterpriseSiteID="D1" AuditSourceID="EPIC-PROD">
    <AuditSourceTypeCode csd-code="4" codeSystemName="DCM" originalText="Application Server"/>
  </AuditSourceIdentification>
  <ParticipantObjectIdentification ParticipantObjectID="P1^^^&amp;1.3.6.1.4.1.21367&amp;ISO" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1">
    <ParticipantObjectIDTypeCode csd-code="2" codeSystemName="RFC-3881" originalText="Patient Number"/>
    <ParticipantObjectDetail type="BreakGlassReason" value="{base64.b64encode(b"Trauma bay 2").decode()}"/>
  </ParticipantObjectIdentification>
</AuditMessage>""".replace("\n", "").encode()

RFC3881 = b"""<13>1 2026-01-05T14:00:00Z host app - IHE+RFC-3881 [origin ip="10.1.1.1"] <AuditMessage xmlns="urn:example:rfc3881">
<EventIdentification EventOutcomeIndicator="0"><EventActionCode>U</EventActionCode>
<EventDateTime>2026-01-05T14:00:00Z</EventDateTime>
<EventID code="110110" codeSystemName="DCM" displayName="Patient Record"/>
<PurposeOfUse code="ETREAT" codeSystemName="2.16.840.1.113883.5.8" displayName="Emergency Treatment"/>
</EventIdentification>
<ActiveParticipant><UserID>U2</UserID><NetworkAccessPointID>WS-9</NetworkAccessPointID></ActiveParticipant>
<AuditSourceIdentification AuditSourceID="LAB"/>
<ParticipantObjectIdentification ParticipantObjectID="P2" ParticipantObjectTypeCode="1">
<ParticipantObjectIDTypeCode code="2"/></ParticipantObjectIdentification>
<ParticipantObjectIdentification ParticipantObjectID="P3" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"/>
<ParticipantObjectIdentification ParticipantObjectID="1.2.840.99" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="3"/>
</AuditMessage>""".replace(b"\n", b"")

LOGIN = b"""<AuditMessage><EventIdentification EventActionCode="E" EventDateTime="2026-01-05T08:00:00" EventOutcomeIndicator="0"><EventID csd-code="110114" codeSystemName="DCM" originalText="User Authentication"/></EventIdentification><ActiveParticipant UserID="U1" UserIsRequestor="true"/><AuditSourceIdentification AuditSourceID="EHR"/></AuditMessage>"""


def test_dicom_message_maps_requestor_patient_and_break_the_glass() -> None:
    [row] = parse_frame(DICOM)
    assert row["event_id"] is not None and row["event_id"].startswith("atna-")
    assert row == {
        "event_id": row["event_id"],
        "ts": "2026-01-05T09:15:00.123000",  # offset dropped: the wall clock is kept
        "user_id": "U1",
        "patient_id": "P1",
        "action": "view",
        "source_system": "EPIC-PROD",
        "workstation": "WS-ED-07",
        "department_id": "D1",
        "break_the_glass": "true",
        "btg_reason": "Trauma bay 2",
        "outcome": "success",  # EventOutcomeIndicator 0
    }
    assert parse_frame(DICOM)[0]["event_id"] == row["event_id"]  # deterministic


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [("4", "failure"), ("8", "failure"), ("12", "failure"), ("0", "success")],
)
def test_event_outcome_indicator_is_kept(indicator: str, expected: str) -> None:
    frame = DICOM.replace(
        b'EventOutcomeIndicator="0"', f'EventOutcomeIndicator="{indicator}"'.encode()
    )
    [row] = parse_frame(frame)
    assert row["outcome"] == expected


def test_rfc3881_elements_namespace_purpose_of_use_and_several_patients() -> None:
    rows = parse_frame(RFC3881)
    assert [r["patient_id"] for r in rows] == ["P2", "P3"]
    first, second = rows
    assert second["event_id"] == f"{first['event_id']}-2"
    assert first["action"] == "update" and first["user_id"] == "U2"
    assert first["workstation"] == "WS-9" and first["source_system"] == "LAB"
    assert first["department_id"] is None
    assert first["break_the_glass"] == "true" and first["btg_reason"] is None
    assert first["ts"] == "2026-01-05T14:00:00"


def test_configured_zone_converts_offset_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIWARDEN_TIMEZONE", "America/Chicago")
    from phiwarden.ingest.atna import configured_zone

    [row] = parse_frame(DICOM, zone=configured_zone())
    assert row["ts"] == "2026-01-05T08:15:00.123000"  # -05:00 is 08:15 in Chicago (CST)
    monkeypatch.setenv("PHIWARDEN_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="IANA"):
        configured_zone()


def test_btg_reason_from_code_text_and_carried_action() -> None:
    xml = LOGIN.replace(
        b"</EventIdentification>",
        b'<EventTypeCode csd-code="110127" codeSystemName="DCM" originalText="Code blue"/>'
        b'<EventTypeCode csd-code="print" codeSystemName="urn:phiwarden:access-action"/>'
        b"</EventIdentification>",
    ).replace(
        b"</AuditMessage>",
        b'<ParticipantObjectIdentification ParticipantObjectID="P4" ParticipantObjectTypeCode="1"'
        b' ParticipantObjectTypeCodeRole="1"/></AuditMessage>',
    )
    [row] = parse_frame(xml)
    assert row["break_the_glass"] == "true" and row["btg_reason"] == "Code blue"
    assert row["action"] == "print"


def test_messages_that_are_not_accesses_or_are_broken() -> None:
    with pytest.raises(NotAnAccess):
        parse_frame(LOGIN)
    broken = {
        b"<85>1 - h a - - - <AuditMessage><nope": "well-formed",
        b"<85>1 - h a - - - <Other/>": "root",
        b"<999>1 - - - - - -": "PRI",
        b"<85>1 - h": "truncated header",
        b'<!DOCTYPE a [<!ENTITY x "y">]><AuditMessage/>': "DTD",
        LOGIN.replace(b'EventActionCode="E"', b'EventActionCode="Z"').replace(
            b"</AuditMessage>",
            b'<ParticipantObjectIdentification ParticipantObjectID="P4" '
            b'ParticipantObjectTypeCodeRole="1"/></AuditMessage>',
        ): "EventActionCode",
        DICOM.replace(b'EventDateTime="2026-01-05T09:15:00.123-05:00"', b'EventDateTime="soon"'): (
            "EventDateTime"
        ),
        DICOM.replace(b'UserIsRequestor="true"', b'UserIsRequestor="false"'): "UserIsRequestor",
    }
    for frame, reason in broken.items():
        with pytest.raises(AtnaError, match=reason):
            parse_frame(frame)


def test_syslog_header_structured_data_and_bom() -> None:
    msg = parse_syslog(b'<86>1 - host app 12 ID47 [a@1 x="q\\"\\]"][b@2] \xef\xbb\xbfhi')
    assert (msg.facility, msg.severity, msg.hostname, msg.procid) == (10, 6, "host", "12")
    assert msg.timestamp is None and msg.msgid == "ID47"
    assert msg.structured_data == {"a@1": {"x": 'q"]'}, "b@2": {}}
    assert msg.msg == b"hi"
    with pytest.raises(SyslogError):
        parse_syslog(b"<86>1 - host app 12 ID47 [a@1 x=unquoted] hi")


def test_framer_mixes_octet_counting_and_lf_and_reports_errors() -> None:
    one, two = b"<1>1 - - - - - - a", b"<1>1 - - - - - - b\nc"
    stream = octet_frame(one) + b"\n" + octet_frame(two) + b"<1>1 - - - - - - lf\r\n"
    framer = Framer()
    frames = [f for i in range(len(stream)) for _, f in framer.feed(stream[i : i + 1])]
    assert frames == [one, two, b"<1>1 - - - - - - lf"]
    assert framer.finish() is None and framer.error is None
    bad = list(read_frames(io.BytesIO(b"12x bad\n" + octet_frame(one) + b"\n999999999 z")))
    assert [type(f).__name__ for _, f in bad] == ["FramingError", "bytes", "FramingError"]
    assert bad[1] == (8, one)


def _cut(data: bytes, sizes: list[int]) -> tuple[list[tuple[int, bytes]], int | None]:
    """Frames of ``data`` fed in pieces of ``sizes`` (then the rest), and the error position."""
    framer, frames, pos = Framer(), [], 0
    for size in [*sizes, len(data)]:
        frames += framer.feed(data[pos : pos + size])
        pos += size
        if framer.error is not None:
            return frames, framer.position
    last = framer.finish()
    if framer.error is not None:
        return frames, framer.position
    return frames + ([last] if last else []), None


@given(
    st.lists(
        st.sampled_from([b"<1>1 - - - - - - x\n", b"12 <1>1 - - - -", b"\r\n", b"7", b" "])
    ).map(b"".join)
    | st.binary(max_size=200),
    st.lists(st.integers(1, 30), max_size=20),
)
@settings(max_examples=200, deadline=None)
def test_framing_does_not_depend_on_chunk_boundaries(data: bytes, sizes: list[int]) -> None:
    assert _cut(data, sizes) == _cut(data, [])


def _mutations() -> st.SearchStrategy[bytes]:
    def mutate(base: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
        out = bytearray(base)
        for pos, cut, insert in edits:
            pos %= len(out) + 1
            out[pos : pos + cut] = insert
        return bytes(out)

    edit = st.tuples(st.integers(0, 4000), st.integers(0, 6), st.binary(max_size=6))
    return st.builds(mutate, st.sampled_from([DICOM, RFC3881, LOGIN]), st.lists(edit, max_size=4))


@given(st.one_of(st.binary(max_size=400), _mutations()))
@settings(max_examples=300, deadline=None)
def test_fuzzed_frames_give_rows_or_a_clean_reason(frame: bytes) -> None:
    try:
        rows = parse_frame(frame)
    except AtnaError as exc:
        assert str(exc)
        return
    checked = validate(rows_table(rows), ACCESS_EVENTS)
    assert checked.table.num_rows + len(checked.rejections) == len(rows)


def test_synthetic_lines_round_trip_awkward_values(tmp_path: Path) -> None:
    canonical = build_canonical(tmp_path)
    events = ds.dataset(canonical / "access_events", partitioning="hive").to_table()
    events = events.drop_columns(["day"]).cast(ACCESS_EVENTS.schema)
    lines = atna_lines(events).to_pylist()
    assert all(line.count("\n") == 1 for line in lines)
    rows = [r for line in lines for r in parse_frame(line.encode())]
    parsed = validate(rows_table(rows), ACCESS_EVENTS)
    assert not parsed.rejections
    assert parsed.table.sort_by("event_id").equals(events.sort_by("event_id"))


def _load_reference_tables(stores: Stores, canonical: Path) -> None:
    needed = {"facilities", "departments", "workforce", "patients"}
    files = [p for p in canonical_files(canonical) if p.name.split(".")[0] in needed]
    run_ingest(
        files,
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
        fmt="csv",
    )


def _lake(stores: Stores) -> pa.Table:
    root = stores.settings.lake_dir / "access_events"
    table = ds.dataset(root, partitioning="hive").to_table()
    return table.drop_columns(["day"]).cast(ACCESS_EVENTS.schema).sort_by("event_id")


def test_file_ingest_equals_canonical_and_reingest_adds_nothing(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    canonical = small_hospital / "canonical"
    out = tmp_path / "atna"
    written = write_atna(canonical, out)
    assert sorted(p.name for p in out.iterdir())[0] == "atna_20260105.log"
    _load_reference_tables(stores, canonical)
    assert formats.module("atna").sniff(out) and not formats.module("csv").sniff(out)
    engine, protector, lake = stores.engine, stores.protector, stores.settings.lake_dir
    report = run_ingest([out], engine=engine, protector=protector, lake_dir=lake, fmt="atna")
    assert report.loaded["access_events"] == written and report.quarantined == 0
    expected = ds.dataset(canonical / "access_events", partitioning="hive").to_table()
    expected = expected.drop_columns(["day"]).cast(ACCESS_EVENTS.schema).sort_by("event_id")
    assert _lake(stores).equals(expected)
    again = run_ingest([out], engine=engine, protector=protector, lake_dir=lake, fmt="atna")
    assert again.loaded["access_events"] == 0 and again.duplicates_skipped == written
    assert _lake(stores).num_rows == written


def test_bad_messages_are_quarantined_with_their_location(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    canonical = small_hospital / "canonical"
    _load_reference_tables(stores, canonical)
    events = ds.dataset(canonical / "access_events", partitioning="hive").to_table()
    good = [
        line.encode() for line in atna_lines(events.slice(0, 3).drop_columns(["day"])).to_pylist()
    ]
    unknown = good[2].replace(b'UserID="', b'UserID="NOBODY')
    path = tmp_path / "capture.log"
    path.write_bytes(
        good[0]
        + b"garbage line\n"
        + octet_frame(good[1].rstrip(b"\n"))
        + b"\n"
        + unknown
        + b"<85>1 - h a - - - <AuditMessage><broken\n"
        + LOGIN
        + b"\n"
        + b"77 short"
    )
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    formats.module("atna").load(loader, path, None)
    # an access by a user missing from the directory loads, counted as a directory gap
    assert loader.report.loaded["access_events"] == 3
    assert loader.report.gaps[("access_events", "user_id")] == 1
    with stores.engine.connect() as conn:
        rows = {r["location"]: r["reason"] for r in repo.list_quarantine(conn)}
    assert "not an RFC 5424 message" in rows[f"frame 2 (byte {len(good[0])})"]
    assert "unknown reference" not in "".join(rows.values())
    assert any("well-formed" in r for r in rows.values())
    assert any("ends inside an octet-counted frame" in r for r in rows.values())
    assert len(rows) == 3  # the login is ignored: not an access to a record
    formats.module("atna").load(loader, path, None)  # again: nothing new anywhere
    with stores.engine.connect() as conn:
        assert len(repo.list_quarantine(conn)) == 3


@given(st.binary(min_size=1, max_size=600))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_files_only_quarantine(stores: Stores, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.log"
    path.write_bytes(data)
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    formats.module("atna").load(loader, path, None)
    assert loader.report.loaded["access_events"] == 0


def test_an_unknown_declared_encoding_is_a_clean_reason() -> None:
    """Found by the fuzzer: encoding="TF-8" raised LookupError instead of AtnaError."""
    frame = b'<?xml version="1.0" encoding="TF-8"?><AuditMessage></AuditMessage>'
    with pytest.raises(AtnaError, match="encoding"):
        parse_frame(frame)
