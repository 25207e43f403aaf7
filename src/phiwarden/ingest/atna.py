"""IHE ATNA audit messages (DICOM PS3.15 / RFC 3881 XML in RFC 5424 syslog) to access events.

Mapping (REFERENCE.md section 4), one access event per patient participant object:

- ``event_id``: the ``eventId`` parameter of structured data element ``phiwarden@32473``
  when the sender carries one (the synthetic writer does, so ids round-trip), else
  ``atna-`` and a SHA-256 of the frame as received; ``-2``, ``-3``... for the second and
  later patients of one message.
- ``ts``: EventDateTime. A time with an offset is converted to the zone named by
  ``PHIWARDEN_TIMEZONE`` (IANA name) when it is set, else its wall clock is kept as
  written; the offset is then dropped (the lake holds naive local times).
- ``user_id``: UserID of the first ActiveParticipant with UserIsRequestor true (RFC 3881
  makes true the default); ``workstation``: its NetworkAccessPointID.
- ``patient_id``: ParticipantObjectID of each object with ParticipantObjectTypeCodeRole 1
  (patient) or ID type code 2 (patient number), first HL7 CX component (``P1^^^&1.2&ISO``
  gives ``P1``). A message with no patient object (a login, a backup) is not an access to
  a record: it is counted as ignored, not quarantined.
- ``action``: EventActionCode C/R/U/D/E -> create/view/update/delete/execute, refined by
  an EventTypeCode of system ``urn:phiwarden:access-action`` (print, search).
- ``source_system``: AuditSourceID; ``department_id``: AuditEnterpriseSiteID (unchecked).
- ``break_the_glass``: EventTypeCode 110127 "Emergency Override Started" or PurposeOfUse
  ETREAT; ``btg_reason``: the patient's ParticipantObjectDetail of type BreakGlassReason
  (or Reason; base64 value), else the 110127 code's text when it is not the code's name.
- ``outcome``: EventOutcomeIndicator, 0 success and 4/8/12 failure (a denied attempt).

Attribute-style (DICOM) and element-style (RFC 3881) spellings both read: each field is
an attribute or a child element of that name, a code is ``csd-code`` or ``code``, its text
``originalText`` or ``displayName``. Namespaces are ignored; DTDs are refused.

Inputs: files of captured frames (:func:`sniff`, :func:`load`; LF or octet-counted, a
bare AuditMessage per line also reads) and the receiver's spool (:func:`load_segment`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.domain.enums import ACTIONS_BY_AUDIT_CODE
from phiwarden.formats import outcome
from phiwarden.formats.atna import ACTION_SYSTEM, EVENT_ID_PARAM, SD_ID
from phiwarden.formats.syslog import BOM
from phiwarden.ingest import spool
from phiwarden.ingest.canonical import file_digest
from phiwarden.ingest.formats import Progress
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.syslog import FramingError, SyslogError, parse_syslog, read_frames
from phiwarden.store.setup import Stores

ACTIONS = ACTIONS_BY_AUDIT_CODE
BTG_EVENT_TYPE = "110127"
BTG_DISPLAY = "emergency override started"
REASON_DETAIL_TYPES = frozenset({"breakglassreason", "btg_reason", "btgreason", "reason"})
COLUMNS: tuple[str, ...] = tuple(ACCESS_EVENTS.schema.names)
#: Frames per lake batch in a file or spool segment. Fixed: batch keys name their frames.
FILE_BATCH_FRAMES = 20_000
SEGMENT_BATCH_RECORDS = 50_000
#: The quarantine source of messages that came through the receiver.
RECEIVER_SOURCE = "atna-receiver"
MAX_QUARANTINED_BYTES = 64 * 1024
_SNIFF_BYTES = 64 * 1024

Row = dict[str, str | None]


class AtnaError(ValueError):
    """A message that cannot be read as an audit message (the reason goes to quarantine)."""


class NotAnAccess(AtnaError):
    """A well-formed audit message that records no access to a patient's record."""


def configured_zone() -> tzinfo | None:
    """The zone offset-aware times are converted to (``PHIWARDEN_TIMEZONE``), or None."""
    name = os.environ.get("PHIWARDEN_TIMEZONE", "").strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"PHIWARDEN_TIMEZONE={name!r} is not an IANA time zone name") from exc


def _strip_namespaces(root: ET.Element) -> None:
    """Drop ``{namespace}`` from every tag so plain names find elements."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.rpartition("}")[2]


def _kids(el: ET.Element, name: str) -> list[ET.Element]:
    return el.findall(name)


def _kid(el: ET.Element, name: str) -> ET.Element | None:
    return el.find(name)


def _field(el: ET.Element, name: str) -> str | None:
    """A field written as an attribute (DICOM) or a child element's text (RFC 3881)."""
    value = el.get(name)
    if value is None:
        child = _kid(el, name)
        value = child.text if child is not None else None
    value = value.strip() if value else None
    return value or None


def _code(el: ET.Element) -> str | None:
    value = el.get("csd-code") or el.get("code") or _field(el, "code") or (el.text or "")
    return value.strip() or None


def _display(el: ET.Element) -> str | None:
    value = el.get("originalText") or el.get("displayName") or _field(el, "displayName")
    return value.strip() if value and value.strip() else None


def _system(el: ET.Element) -> str:
    return (el.get("codeSystemName") or el.get("codeSystem") or "").strip()


def _truthy(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() in ("true", "1")


def _timestamp(text: str | None, zone: tzinfo | None) -> str:
    if text is None:
        raise AtnaError("EventIdentification has no EventDateTime")
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AtnaError(f"EventDateTime {text[:40]!r} is not an ISO 8601 date-time") from exc
    if when.tzinfo is not None:
        when = (when.astimezone(zone) if zone is not None else when).replace(tzinfo=None)
    return when.isoformat()


def _requestor(root: ET.Element) -> ET.Element:
    for participant in _kids(root, "ActiveParticipant"):
        if _truthy(_field(participant, "UserIsRequestor"), True) and _field(participant, "UserID"):
            return participant
    raise AtnaError("no ActiveParticipant with a UserID and UserIsRequestor true")


def _is_patient(obj: ET.Element) -> bool:
    role = _field(obj, "ParticipantObjectTypeCodeRole")
    id_type = _kid(obj, "ParticipantObjectIDTypeCode")
    if role is not None:
        return role == "1"
    return id_type is not None and _code(id_type) == "2"


def _reason(obj: ET.Element) -> str | None:
    for detail in _kids(obj, "ParticipantObjectDetail"):
        kind = (_field(detail, "type") or "").lower()
        value = _field(detail, "value")
        if kind in REASON_DETAIL_TYPES and value:
            try:
                return base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return value
    return None


def _event_codes(ident: ET.Element, requestor: ET.Element) -> tuple[bool, str | None, str | None]:
    """(break-the-glass, reason text from the 110127 code, phiwarden action name)."""
    btg, text, action = False, None, None
    for code in _kids(ident, "EventTypeCode"):
        value = _code(code)
        if _system(code) == ACTION_SYSTEM and value:
            action = value
        elif value == BTG_EVENT_TYPE:
            btg = True
            display = _display(code)
            if display and display.lower() != BTG_DISPLAY:
                text = display
    purposes = _kids(ident, "PurposeOfUse") + _kids(requestor, "PurposeOfUse")
    if any(_code(p) == "ETREAT" for p in purposes):
        btg = True
    return btg, text, action


def parse_audit_message(xml: bytes, *, event_id: str, zone: tzinfo | None = None) -> list[Row]:
    """Map one AuditMessage document to access-event rows (strings, as ``Loader`` takes).

    Raises NotAnAccess when no patient object is named, AtnaError when unreadable.
    """
    head = xml[:512].lstrip()
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise AtnaError("audit messages carry no DTD; refusing a document with one")
    if not head.startswith(b"<"):
        raise AtnaError("the payload is not XML")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise AtnaError(f"the payload is not well-formed XML: {exc}") from exc
    except (LookupError, UnicodeError) as exc:  # an XML declaration naming an unknown encoding
        raise AtnaError(f"the payload declares an encoding that cannot be read: {exc}") from exc
    if b"xmlns" in xml:
        _strip_namespaces(root)
    if root.tag != "AuditMessage":
        raise AtnaError(f"the XML root is <{str(root.tag)[:40]}>, not <AuditMessage>")
    ident = _kid(root, "EventIdentification")
    if ident is None:
        raise AtnaError("AuditMessage has no EventIdentification")
    patients = [o for o in _kids(root, "ParticipantObjectIdentification") if _is_patient(o)]
    if not patients:
        raise NotAnAccess("no patient participant object: not an access to a record")
    ts = _timestamp(_field(ident, "EventDateTime"), zone)
    requestor = _requestor(root)
    btg, btg_text, action = _event_codes(ident, requestor)
    if action is None:
        code = _field(ident, "EventActionCode")
        if code is not None and code.upper() not in ACTIONS:
            raise AtnaError(f"EventActionCode {code[:12]!r} is not one of C, R, U, D, E")
        action = ACTIONS.get(code.upper()) if code else None
    source = _kid(root, "AuditSourceIdentification")
    rows: list[Row] = []
    for number, obj in enumerate(patients, start=1):
        object_id = (_field(obj, "ParticipantObjectID") or "").split("^", 1)[0].strip()
        reason = _reason(obj) or btg_text
        rows.append(
            {
                "event_id": event_id if number == 1 else f"{event_id}-{number}",
                "ts": ts,
                "user_id": _field(requestor, "UserID"),
                "patient_id": object_id or None,
                "action": action,
                "source_system": _field(source, "AuditSourceID") if source is not None else None,
                "workstation": _field(requestor, "NetworkAccessPointID"),
                "department_id": (
                    _field(source, "AuditEnterpriseSiteID") if source is not None else None
                ),
                "break_the_glass": "true" if btg else "false",
                "btg_reason": reason,
                "outcome": outcome.of_code(_field(ident, "EventOutcomeIndicator")),
            }
        )
    return rows


def frame_event_id(frame: bytes) -> str:
    """The id of a message that carries none: a hash of the frame as received."""
    return "atna-" + hashlib.sha256(frame).hexdigest()[:32]


def parse_frame(frame: bytes, *, zone: tzinfo | None = None) -> list[Row]:
    """Access-event rows of one frame: an RFC 5424 message, or a bare AuditMessage document.

    Raises AtnaError (SyslogError is turned into one) with a reason for the quarantine.
    """
    body = frame.lstrip()
    event_id: str | None = None
    if body.startswith(b"<") and body[1:2].isdigit():
        try:
            message = parse_syslog(body)
        except SyslogError as exc:
            raise AtnaError(str(exc)) from exc
        event_id = message.structured_data.get(SD_ID, {}).get(EVENT_ID_PARAM) or None
        body = message.msg
    elif body.startswith(BOM):
        body = body[len(BOM) :]
    elif not body.startswith(b"<"):
        raise AtnaError("not an RFC 5424 message (no <PRI>) nor an AuditMessage document")
    return parse_audit_message(body, event_id=event_id or frame_event_id(frame), zone=zone)


def rows_table(rows: Sequence[Row]) -> pa.Table:
    """Rows as an all-string Arrow table in canonical column order (``Loader`` validates)."""
    return pa.table(
        {c: pa.array([r[c] for r in rows], pa.string()) for c in COLUMNS},
    )


def quarantine_text(frame: bytes) -> str:
    """The raw frame as text for the quarantine (bounded, undecodable bytes replaced)."""
    return frame[:MAX_QUARANTINED_BYTES].decode("utf-8", "replace")


def _looks_like_atna(head: bytes) -> bool:
    body = head.lstrip(b"\r\n\x00\xef\xbb\xbf \t")
    first = body[:1]
    return (first == b"<" or first.isdigit()) and b"<AuditMessage" in head


def sniff(path: Path) -> bool:
    """True for a file of captured syslog frames with audit messages, or a folder of them."""
    if path.is_dir():
        return any(sniff(p) for p in _files(path)[:3])
    try:
        with path.open("rb") as fh:
            return _looks_like_atna(fh.read(_SNIFF_BYTES))
    except OSError:
        return False


def _files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith((".", "_"))
        and p.suffix.lower() in (".log", ".syslog", ".txt", ".xml")
    )


def _load_file(loader: Loader, path: Path, progress: Progress | None, zone: tzinfo | None) -> None:
    source = str(path)
    digest = file_digest(path)[:20]
    with path.open("rb") as fh:
        batch: list[tuple[str, bytes]] = []
        number = batch_no = 0
        for offset, item in read_frames(fh):
            number += 1
            if isinstance(item, FramingError):
                loader.reject_unparseable(
                    source=source,
                    location=f"frame {number} (byte {offset})",
                    record_type=ACCESS_EVENTS.name,
                    reason=str(item),
                    raw=None,
                )
                continue
            batch.append((f"frame {number} (byte {offset})", item))
            if len(batch) >= FILE_BATCH_FRAMES:
                load_frames(
                    loader, batch, source=source, batch_key=f"{digest}-{batch_no:05d}", zone=zone
                )
                if progress:
                    progress(ACCESS_EVENTS.name, len(batch), 0)
                batch, batch_no = [], batch_no + 1
        if batch:
            load_frames(
                loader, batch, source=source, batch_key=f"{digest}-{batch_no:05d}", zone=zone
            )
            if progress:
                progress(ACCESS_EVENTS.name, len(batch), 0)


def load_frames(
    loader: Loader,
    frames: Iterable[tuple[str, bytes]],
    *,
    source: str,
    batch_key: str,
    zone: tzinfo | None,
) -> int:
    """Parse ``(location, frame)`` items and load their events as one lake batch.

    Unreadable frames are quarantined at their location; messages that are not accesses
    are skipped. Returns how many frames were skipped that way.
    """
    rows: list[Row] = []
    where: list[str] = []
    ignored = 0
    for location, frame in frames:
        try:
            parsed = parse_frame(frame, zone=zone)
        except NotAnAccess:
            ignored += 1
            continue
        except AtnaError as exc:
            loader.reject_unparseable(
                source=source,
                location=location,
                record_type=ACCESS_EVENTS.name,
                reason=str(exc),
                raw=quarantine_text(frame),
            )
            continue
        rows.extend(parsed)
        where.extend([location] * len(parsed))
    if rows:
        loader.load(
            ACCESS_EVENTS,
            rows_table(rows),
            source=source,
            locate=where.__getitem__,
            batch_key=batch_key,
        )
    return ignored


def load_segment(stores: Stores, path: Path, *, zone: tzinfo | None = None) -> spool.Counts:
    """Load one sealed spool segment of the receiver into the lake, then delete it.

    Messages go to the lake in batches keyed ``atna-<segment>-<offset>`` (a replay after
    a crash writes nothing twice); bad ones, and framing errors the listener spooled,
    go to quarantine at ``spool <segment> byte <offset>``. Returns the counts.
    """
    segment = spool.read_segment(path)
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    ignored = 0
    for start in range(0, len(segment.records), SEGMENT_BATCH_RECORDS):
        chunk = segment.records[start : start + SEGMENT_BATCH_RECORDS]
        frames: list[tuple[str, bytes]] = []
        for record in chunk:
            location = f"spool {segment.name} byte {record.offset}"
            if record.kind == spool.KIND_MESSAGE:
                frames.append((location, record.payload))
                continue
            reason, _, raw = record.payload.partition(b"\0")
            loader.reject_unparseable(
                source=RECEIVER_SOURCE,
                location=location,
                record_type=ACCESS_EVENTS.name,
                reason=reason.decode("utf-8", "replace"),
                raw=raw.decode("utf-8", "replace"),
            )
        key = f"atna-{segment.name}-{chunk[0].offset}"
        ignored += load_frames(loader, frames, source=RECEIVER_SOURCE, batch_key=key, zone=zone)
    if segment.damaged:
        loader.reject_unparseable(
            source=RECEIVER_SOURCE,
            location=f"spool {segment.name} byte {segment.end}",
            record_type=ACCESS_EVENTS.name,
            raw=None,
            reason="spool segment unreadable from here (disk damage); later records lost",
        )
    spool.mark_done(path)
    return {
        "loaded": loader.report.loaded[ACCESS_EVENTS.name],
        "quarantined": loader.report.quarantined,
        "duplicates_skipped": loader.report.duplicates_skipped,
        "ignored": ignored,
        "segments_flushed": 1,
    }


def load(loader: Loader, path: Path, progress: Progress | None = None) -> None:
    """Load a file of captured ATNA syslog frames, or every such file in a folder."""
    zone = configured_zone()
    files = [p for p in _files(path) if sniff(p)] if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"{path}: no ATNA syslog files here (expected *.log)")
    for file in files:
        _load_file(loader, file, progress, zone)
