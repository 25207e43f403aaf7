"""Load a batch of HL7 v2 messages through the shared loader, one outcome per message.

ADT (``hl7_adt``), master files (``hl7_master``) and clinical messages (``hl7_orders``)
share the path.

Used by the file reader and by the MLLP listener alike. A batch is parsed and mapped
message by message; a message that cannot be read goes to quarantine whole, with its
location and the reason. The records of the others are loaded table by table in
reference order (patients before the visits and registrations that name them), one
transaction per table, so many messages share a commit. The outcome of each message
says whether all its records were stored (AA) or what was quarantined (AE / AR).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from phiwarden.domain.canonical import CanonicalTable
from phiwarden.ingest import hl7_master, hl7_orders
from phiwarden.ingest.hl7_ack import Header, peek_header
from phiwarden.ingest.hl7_adt import TABLES as ADT_TABLES
from phiwarden.ingest.hl7_adt import Mapped, map_message
from phiwarden.ingest.hl7_er7 import Hl7Error, Message, decode, parse_message
from phiwarden.ingest.hl7_update import apply_link, apply_update
from phiwarden.ingest.loader import Loader
from phiwarden.store import repositories as repo

#: Every table an HL7 feed fills, in load order (referenced records first).
TABLES: tuple[CanonicalTable, ...] = (*hl7_master.TABLES, *ADT_TABLES, *hl7_orders.TABLES)
#: Record type of a message quarantined whole.
MESSAGE_RECORD = "hl7v2_message"
#: Longest location the quarantine keeps.
MAX_LOCATION = 64
#: Tables whose stored keys the loader keeps (other records refer to them). A row whose
#: key is already stored is counted as a duplicate without a round trip to the store:
#: most ADT messages repeat the patient and visit they are about.
SKIP_KNOWN = ("patients", "encounters")


@dataclass(frozen=True)
class Inbound:
    """One message to load: its bytes and where it came from (for the quarantine)."""

    data: bytes
    location: str


@dataclass(frozen=True)
class Outcome:
    """What became of a message: AA stored, AE / AR rejected with a reason."""

    header: Header
    ack_code: str = "AA"
    reason: str = ""
    error_code: str = ""

    @property
    def accepted(self) -> bool:
        """True when every record of the message was stored."""
        return self.ack_code == "AA"


class RecordingLoader(Loader):
    """A loader that remembers why it quarantined records, so a NAK can say why."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasons: dict[str, str] = {}

    def quarantine(self, conn: Any, *, location: str, reason: str, **kwargs: Any) -> None:
        """Quarantine as usual and keep the first reason given for each location."""
        self.reasons.setdefault(location, reason)
        super().quarantine(conn, location=location, reason=reason, **kwargs)


_SCHEMAS: dict[str, pa.Schema] = {
    t.name: pa.schema([(f.name, pa.string()) for f in t.schema]) for t in TABLES
}


def _arrow(rows: list[dict[str, str | None]], table: CanonicalTable) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=_SCHEMAS[table.name])


class AdtBatchLoader:
    """Loads batches of ADT messages from one source into a Loader."""

    def __init__(self, loader: Loader, source: str) -> None:
        self.loader = loader
        self.source = source
        self._known: dict[str, set[str]] = {}
        #: department id -> kind, for roles that follow from the department (MFN)
        self._kinds: dict[str, str] | None = None

    def _known_keys(self) -> dict[str, set[str]]:
        """The loader's sets of stored keys (read once, then kept up to date by it)."""
        if not self._known:
            with self.loader.engine.connect() as conn:
                for name in ("workforce", *SKIP_KNOWN):
                    self._known[name] = self.loader.known_keys(conn, name)
        return self._known

    def _reject(self, message: Inbound, header: Header, error: Hl7Error) -> Outcome:
        self.loader.reject_unparseable(
            source=self.source,
            location=message.location[:MAX_LOCATION],
            record_type=MESSAGE_RECORD,
            reason=error.reason,
            raw=decode(message.data),
        )
        return Outcome(header, error.ack_code, error.reason, error.error_code)

    def _department_kinds(self) -> dict[str, str]:
        if self._kinds is None:
            with self.loader.engine.connect() as conn:
                t = repo.domain_table("departments")
                self._kinds = {
                    str(d): str(k) for d, k in conn.execute(select(t.c.department_id, t.c.kind))
                }
        return self._kinds

    def _dispatch(self, msg: Message, workforce: set[str]) -> Mapped:
        kind = msg.message_type[0]
        if kind == "MFN":
            rows = hl7_master.map_master(msg, self.loader.codes, self._department_kinds())
        elif kind in hl7_orders.KINDS:
            rows = hl7_orders.map_clinical(msg, self.loader.codes)
        else:
            return map_message(msg, workforce)
        return Mapped(msg.control_id, kind, {k: v for k, v in rows.items() if v})

    def _map(self, message: Inbound, header: Header, workforce: set[str]) -> Mapped | Outcome:
        try:
            return self._dispatch(parse_message(decode(message.data)), workforce)
        except Hl7Error as exc:
            return self._reject(message, header, exc)
        except Exception as exc:  # a reader bug must not stop the feed: keep the message
            reason = f"cannot read the message ({type(exc).__name__}); please report this"
            return self._reject(message, header, Hl7Error(reason, error_code="207"))

    def load(self, messages: Sequence[Inbound], batch_key: str) -> list[Outcome]:
        """Load a batch; returns one outcome per message, in order."""
        known = self._known_keys()
        if isinstance(self.loader, RecordingLoader):
            self.loader.reasons.clear()
        headers = [peek_header(m.data) for m in messages]
        results = [
            self._map(m, h, known["workforce"]) for m, h in zip(messages, headers, strict=True)
        ]
        mapped = [(i, r) for i, r in enumerate(results) if isinstance(r, Mapped)]
        failed: dict[int, tuple[str, str]] = {}
        for table in TABLES:
            rows: list[dict[str, str | None]] = []
            owners: list[int] = []
            stored = known.get(table.name, set())
            for i, found in mapped:
                for row in found.rows.get(table.name, ()):
                    if row[table.key] in stored:
                        self.loader.report.duplicates_skipped += 1
                        continue
                    rows.append(row)
                    owners.append(i)
            if not rows:
                continue

            def locate(k: int, owners: list[int] = owners, name: str = table.name) -> str:
                where = messages[owners[k]].location[:MAX_LOCATION]
                failed.setdefault(owners[k], (name, where))
                return where

            self.loader.load(
                table,
                _arrow(rows, table),
                source=self.source,
                locate=locate,
                batch_key=f"{batch_key}-{table.name}",
            )
        self._apply_changes([m for i, m in mapped if i not in failed])
        return [
            r if isinstance(r, Outcome) else self._outcome(headers[i], failed.get(i))
            for i, r in enumerate(results)
        ]

    def _apply_changes(self, mapped: list[Mapped]) -> None:
        """Apply the batch's updates and links in message order, in one transaction."""
        if not any(m.updates or m.links for m in mapped):
            return
        report = self.loader.report
        with self.loader.engine.begin() as conn:
            for m in mapped:
                for change in m.updates:
                    fields = apply_update(conn, self.loader.protector, change)
                    report.loaded["patient_history"] += len(fields)
                for link in m.links:
                    report.loaded["patient_links"] += int(apply_link(conn, link))

    def _outcome(self, header: Header, failure: tuple[str, str] | None) -> Outcome:
        if failure is None:
            return Outcome(header)
        table, where = failure
        known = self.loader.reasons.get(where) if isinstance(self.loader, RecordingLoader) else None
        reason = f"{table} record quarantined: {known or 'see the quarantine'}"
        return Outcome(header, "AE", reason, _error_code(known or ""))


def _error_code(reason: str) -> str:
    """HL7 table 0357 code for a loader's rejection reason."""
    if reason.startswith("unknown reference"):
        return "204"
    if reason.startswith("missing required"):
        return "101"
    return "102" if "cannot read" in reason else "207"
