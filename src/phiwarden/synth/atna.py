"""Write access events as IHE ATNA syslog (RFC 5424 + DICOM audit XML), and send them.

One file per day, ``atna_YYYYMMDD.log``, one message per line (non-transparent
framing: the XML has no line breaks, every line break in a value is written as a
character reference). Lines are built like ``fhir_audit``: per-row ids plus fragments
rendered once per distinct key, joined by one Arrow gather, so 100k events take well
under a second.

Each message is what an EHR's audit source would send, attribute-style DICOM PS3.15::

    <85>1 - synth-ehr phiwarden - IHE+RFC-3881 [phiwarden@32473 eventId="A1"] BOM
    <?xml ...?><AuditMessage><EventIdentification EventActionCode="R" ...>
    <EventID csd-code="110110" .../>...</AuditMessage>

The canonical event id travels in structured data so ids round-trip; print and search
(both ATNA action E) add an EventTypeCode of system ``urn:phiwarden:access-action``;
break-the-glass adds EventTypeCode 110127 and PurposeOfUse ETREAT, and a reason is a
base64 ParticipantObjectDetail ``BreakGlassReason``. EventDateTime is the canonical wall
clock without an offset (the synthetic hospital knows no zone), and the syslog TIMESTAMP
is NILVALUE. The senders at the end drive the receiver in tests and benchmarks.
"""

from __future__ import annotations

import base64
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.domain.canonical_io import read_parquet
from phiwarden.domain.enums import AUDIT_ACTION_CODES
from phiwarden.formats.atna import ACTION_SYSTEM, EVENT_ID_PARAM, SD_ID
from phiwarden.formats.syslog import BOM, octet_frame, sd_escape
from phiwarden.synth.fhir_audit import (
    Piece,
    assemble,
    event_files,
    fragments,
    write_string_buffer,
)

ACTION_CODES = AUDIT_ACTION_CODES
#: Canonical actions that ATNA's five codes would lose: carried as an EventTypeCode.
CARRIED_ACTIONS = frozenset({"print", "search"})
HEADER = f'<85>1 - synth-ehr phiwarden - IHE+RFC-3881 [{SD_ID} {EVENT_ID_PARAM}="'
_XML_HEAD = BOM.decode() + '<?xml version="1.0" encoding="UTF-8"?><AuditMessage>'
_XML_SPECIAL = '[&<>"\r\n\t]'
_XML_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\r": "&#13;",
    "\n": "&#10;",
    "\t": "&#9;",
}
_REQUIRED = ("event_id", "ts", "user_id", "patient_id")
_EPOCH = date(1970, 1, 1)


def xml_attr(value: str) -> str:
    """Escape a value for a double-quoted XML attribute, line breaks included."""
    return "".join(_XML_ENTITIES.get(ch, ch) for ch in value)


def _escaped(col: pa.Array, pattern: str, escape: Callable[[str], str]) -> pa.Array:
    """Escape the few values matching ``pattern`` in Python; the rest pass untouched."""
    needs = pc.fill_null(pc.match_substring_regex(col, pattern), False)
    if not pc.any(needs).as_py():
        return col
    values = [
        escape(v) if n else v for v, n in zip(col.to_pylist(), needs.to_pylist(), strict=True)
    ]
    return pa.array(values, pa.string())


@lru_cache(maxsize=1)
def _times_of_day() -> pa.Array:
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])


def _fraction(micros: int) -> str:
    return f".{micros:06d}" if micros else ""


def _event_head(action: str | None, days: int, outcome: str | None) -> str:
    code = "" if action is None else f' EventActionCode="{ACTION_CODES.get(action, "E")}"'
    day = (_EPOCH + timedelta(days=days)).isoformat()
    indicator = "4" if outcome == "failure" else "0"  # DICOM: 0 success, 4 minor failure
    return (
        f'"] {_XML_HEAD}<EventIdentification{code} EventOutcomeIndicator="{indicator}" '
        f'EventDateTime="{day}T'
    )


def _event_tail(action: str | None, btg: bool | None) -> str:
    out = '"><EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>'
    if action is not None and (action in CARRIED_ACTIONS or action not in ACTION_CODES):
        out += (
            f'<EventTypeCode csd-code="{xml_attr(action)}" codeSystemName="{ACTION_SYSTEM}"'
            f' originalText="{xml_attr(action)}"/>'
        )
    if btg:
        out += (
            '<EventTypeCode csd-code="110127" codeSystemName="DCM" '
            'originalText="Emergency Override Started"/><PurposeOfUse csd-code="ETREAT" '
            'codeSystemName="v3-ActReason" originalText="Emergency Treatment"/>'
        )
    return out + '</EventIdentification><ActiveParticipant UserID="'


def _participant_tail(workstation: str | None) -> str:
    out = '" UserIsRequestor="true"'
    if workstation is not None:
        out += f' NetworkAccessPointID="{xml_attr(workstation)}" NetworkAccessPointTypeCode="1"'
    return out + "/><AuditSourceIdentification"


def _source(department: str | None, system: str | None) -> str:
    out = f' AuditEnterpriseSiteID="{xml_attr(department)}"' if department is not None else ""
    if system is not None:
        out += f' AuditSourceID="{xml_attr(system)}"'
    return (
        out + '/><ParticipantObjectIdentification ParticipantObjectTypeCode="1" '
        'ParticipantObjectTypeCodeRole="1" ParticipantObjectID="'
    )


def _object_tail(reason: str | None) -> str:
    out = (
        '"><ParticipantObjectIDTypeCode csd-code="2" codeSystemName="RFC-3881" '
        'originalText="Patient Number"/>'
    )
    if reason is not None:
        encoded = base64.b64encode(reason.encode("utf-8")).decode("ascii")
        out += f'<ParticipantObjectDetail type="BreakGlassReason" value="{encoded}"/>'
    return out + "</ParticipantObjectIdentification></AuditMessage>\n"


def atna_lines(batch: pa.Table, *, id_prefix: str = "") -> pa.Array:
    """One syslog line (with its LF) per canonical access event of ``batch``.

    ``id_prefix`` is put before every event id (benchmarks resend one hospital's events
    as distinct messages). Raises ValueError for an event id with a line break.
    """

    def col(name: str) -> pa.Array:
        return batch.column(name).combine_chunks()

    ids = col("event_id")
    if pc.any(pc.fill_null(pc.match_substring_regex(ids, "[\r\n]"), False)).as_py():
        raise ValueError("an event id holds a line break: it cannot travel in a syslog line")
    if id_prefix:
        ids = pc.binary_join_element_wise(pa.scalar(id_prefix), ids, "")
    btg = col("break_the_glass")
    micros = col("ts").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    seconds, fraction = np.divmod(micros, 1_000_000)
    days, second_of_day = np.divmod(seconds, 86400)
    time_pieces: list[Piece] = [(_times_of_day(), second_of_day)]
    if fraction.any():
        time_pieces.append(fragments([pa.array(fraction)], _fraction))
    pieces: list[Piece] = [
        HEADER,
        _escaped(ids, r'["\\\]]', sd_escape),
        fragments([col("action"), pa.array(days), col("outcome")], _event_head),
        *time_pieces,
        fragments([col("action"), btg], _event_tail),
        _escaped(col("user_id"), _XML_SPECIAL, xml_attr),
        fragments([col("workstation")], _participant_tail),
        fragments([col("department_id"), col("source_system")], _source),
        _escaped(col("patient_id"), _XML_SPECIAL, xml_attr),
        fragments([col("btg_reason")], _object_tail),
    ]
    return assemble(pieces, len(batch))


def messages(batch: pa.Table, *, id_prefix: str = "") -> list[bytes]:
    """The messages of ``batch`` as bytes, without framing (for the senders)."""
    return [
        line.encode("utf-8")[:-1] for line in atna_lines(batch, id_prefix=id_prefix).to_pylist()
    ]


def _day_name(path: Path, day: pa.Table) -> str:
    name = path.parent.name
    if name.startswith("day=") and len(name) == 14:
        return name[4:].replace("-", "")
    first = day.column("ts")[0].as_py()
    return first.strftime("%Y%m%d") if first is not None else path.stem


def write_atna(canonical_dir: Path, out_dir: Path, batch_rows: int = 200_000) -> int:
    """Write every canonical access event as ATNA syslog lines, one file per day.

    Events missing an id, time, user or patient are left out (the canonical load
    quarantines them too). Returns the number of messages written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    written: set[Path] = set()
    for path in event_files(canonical_dir):
        day = read_parquet(path, ACCESS_EVENTS)
        mask = pc.is_valid(day.column(_REQUIRED[0]))
        for name in _REQUIRED[1:]:
            mask = pc.and_(mask, pc.is_valid(day.column(name)))
        day = day.filter(mask)
        if not len(day):
            continue
        target = out_dir / f"atna_{_day_name(path, day)}.log"
        with target.open("ab" if target in written else "wb") as out:
            for start in range(0, len(day), batch_rows):
                write_string_buffer(atna_lines(day.slice(start, batch_rows)), out)
        written.add(target)
        count += len(day)
    return count


def _pace(start: float, sent: int, rate: float | None) -> None:
    if rate:
        delay = start + sent / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def send_tcp(
    host: str,
    port: int,
    payloads: Sequence[bytes],
    *,
    ssl_context: ssl.SSLContext | None = None,
    rate: float | None = None,
    chunk: int = 50,
) -> int:
    """Send messages over one TCP (or TLS) connection, octet-counted; return the count.

    ``rate`` caps messages per second (None: as fast as the receiver reads). Returns
    once the receiver has closed the connection, that is, has taken every frame.
    """
    with socket.create_connection((host, port), timeout=30) as raw:
        sock: socket.socket = (
            ssl_context.wrap_socket(raw, server_hostname=host) if ssl_context else raw
        )
        start = time.monotonic()
        for i in range(0, len(payloads), chunk):
            sock.sendall(b"".join(octet_frame(m) for m in payloads[i : i + chunk]))
            _pace(start, i + chunk, rate)
        _close_gracefully(sock)
    return len(payloads)


def _close_gracefully(sock: socket.socket) -> None:
    """Say we are done and wait for the receiver to close: it has then read every frame.

    (Closing with unread bytes, such as TLS 1.3 session tickets, would send a reset that
    makes the peer drop data it has not read yet.)
    """
    try:
        if isinstance(sock, ssl.SSLSocket):
            sock = sock.unwrap()
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            continue
    except (OSError, ValueError):
        return


def send_udp(host: str, port: int, payloads: Sequence[bytes], *, rate: float | None = None) -> int:
    """Send one datagram per message (RFC 5426); return the count (UDP may drop some)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        start = time.monotonic()
        for i, payload in enumerate(payloads, start=1):
            sock.sendto(payload, (host, port))
            if i % 20 == 0:
                _pace(start, i, rate)
    return len(payloads)


__all__ = ["atna_lines", "messages", "send_tcp", "send_udp", "write_atna", "xml_attr"]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed ``localhost`` certificate and key (PEM) for TLS tests and benchmarks."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "node.pem", folder / "node.key"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile
