"""One FHIR ingest: index the files, then load resource type by resource type.

A folder is read as a whole. A first pass classifies every line of every NDJSON file by
resource type (and quarantines what is not a resource phiwarden reads); the second pass
loads one resource type at a time, in dependency order (``ORDER``), from every file that
holds it, so a reference to an Organization, Practitioner or Patient resolves whatever
file, line or Bundle it came from. A file whose first line is an AuditEvent is not
indexed (an audit export can be very large): its lines are classified while its events
stream, and any other resource in it is loaded just before the events of its batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from phiwarden.formats import fhir_codes as fc
from phiwarden.ingest import fhir_admin, fhir_clinical, fhir_person
from phiwarden.ingest.fhir_audit import AuditExtractor
from phiwarden.ingest.fhir_bundle import Entry, Unpacked, as_line, read_json_file, unpack
from phiwarden.ingest.fhir_directory import Directory
from phiwarden.ingest.fhir_events import EventBatch, event_batches, store_events
from phiwarden.ingest.fhir_ndjson import (
    BATCH_LINES,
    Classified,
    Span,
    classify,
    first_resource_type,
    loads,
    read_span,
    scan,
    to_lines,
)
from phiwarden.ingest.fhir_sink import Progress, Sink
from phiwarden.ingest.fhir_validate import problems
from phiwarden.ingest.loader import Loader

Mapper = Callable[[dict[str, Any], str, Directory, Sink], str | None]

#: Resource types in load order: referenced types before the types that refer to them.
ORDER: tuple[str, ...] = fc.RESOURCE_TYPES
CODES: dict[str, int] = {kind: i for i, kind in enumerate(ORDER)}
AUDIT = "AuditEvent"
MAPPERS: dict[str, Mapper] = {
    "Organization": fhir_admin.organization,
    "Location": fhir_admin.location,
    "Practitioner": fhir_admin.practitioner,
    "PractitionerRole": fhir_admin.practitioner_role,
    "Patient": fhir_person.patient,
    "RelatedPerson": fhir_person.related_person,
    "Coverage": fhir_person.coverage,
    "Communication": fhir_clinical.communication,
    "Appointment": fhir_clinical.appointment,
    "Encounter": fhir_clinical.encounter,
    "MedicationRequest": fhir_clinical.medication_request,
    "ServiceRequest": fhir_clinical.service_request,
    "Observation": fhir_clinical.observation,
}
#: What to do once every resource of a type is read (rows held for a later type).
FINISH: dict[str, Callable[[Directory, Sink], None]] = {
    "Location": fhir_admin.finish_organizations,
    "PractitionerRole": fhir_admin.finish_workforce,
}


@dataclass
class NdjsonFile:
    """An NDJSON file with its batches and line codes (None: classified while streaming)."""

    path: Path
    spans: list[tuple[Span, np.ndarray]] | None


@dataclass
class BundleFile:
    """The resources of a Bundle (a ``.json`` file or one NDJSON line)."""

    path: Path
    entries: list[Entry]
    digest: str


@dataclass
class Rejection:
    """A record to quarantine that never reached the loader's validation."""

    location: str
    record_type: str
    reason: str
    raw: str | None


class FhirRun:
    """Index FHIR files, then load them type by type through the shared loader."""

    def __init__(self, loader: Loader, progress: Progress | None) -> None:
        self.loader = loader
        self.sink = Sink(loader, progress)
        self.progress = progress
        self.directory = Directory(codes=loader.codes)
        self.files: list[NdjsonFile | BundleFile] = []

    # -- quarantine -------------------------------------------------------------------
    def reject(self, source: Path, rejections: list[Rejection]) -> None:
        """Quarantine records the loader never saw, in one transaction."""
        if not rejections:
            return
        with self.loader.engine.begin() as conn:
            for r in rejections:
                self.loader.quarantine(
                    conn,
                    source=str(source),
                    location=r.location,
                    record_type=r.record_type,
                    reason=r.reason,
                    raw=r.raw,
                )

    def _line_rejections(
        self, path: Path, span: Span, lines: pa.Array, found: Classified
    ) -> list[BundleFile]:
        """Quarantine the lines a batch cannot load; return the Bundles found on lines."""
        self.reject(
            path,
            [
                Rejection(f"line {span.first_line + i}", "FHIR", reason, lines[i].as_py())
                for i, reason in found.rejected
            ],
        )
        bundles = []
        for i, bundle in found.bundles:
            digest = hashlib.sha256(lines[i].as_py().encode()).hexdigest()
            bundles.append(
                self._bundle(path, unpack(bundle, f"line {span.first_line + i} "), digest)
            )
        return bundles

    def _bundle(self, path: Path, unpacked: Unpacked, digest: str) -> BundleFile:
        self.reject(path, [Rejection(w, "Bundle", r, None) for w, r in unpacked.rejected])
        return BundleFile(path, unpacked.entries, digest)

    # -- pass 1 -----------------------------------------------------------------------
    def index(self, paths: list[Path]) -> None:
        """Classify every line of every file; quarantine what cannot be loaded."""
        for path in paths:
            if path.suffix.lower() == ".json":
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                self.files.append(self._bundle(path, read_json_file(path), digest))
                continue
            if first_resource_type(path) == AUDIT:
                self.files.append(NdjsonFile(path, None))
                continue
            spans: list[tuple[Span, np.ndarray]] = []
            for span, data, ends in scan(path):
                lines, bad_utf8 = to_lines(data, ends)
                found = classify(lines, CODES, bad_utf8)
                bundles = self._line_rejections(path, span, lines, found)
                spans.append((span, found.codes))
                self.files.extend(bundles)
            self.files.append(NdjsonFile(path, spans))

    # -- pass 2 -----------------------------------------------------------------------
    def load(self) -> None:
        """Load every resource type in ``ORDER`` from every file."""
        for kind in ORDER:
            if kind == "Observation":
                with self.loader.engine.connect() as conn:
                    self.directory.known_orders = self.loader.known_keys(conn, "orders")
            for source in list(self.files):
                if isinstance(source, BundleFile):
                    self._bundle_type(source, kind)
                elif kind == AUDIT:
                    self._events(source)
                elif source.spans is not None:
                    self._ndjson_type(source, kind)
            self._finish(kind)

    def _finish(self, kind: str) -> None:
        self.sink.flush()
        if kind in FINISH:
            FINISH[kind](self.directory, self.sink)

    def resource(self, source: Path, kind: str, item: str | dict[str, Any], where: str) -> None:
        """Validate one resource (a JSON line or a parsed object) and map it to rows."""
        self.sink.begin(str(source), kind)
        raw = item if isinstance(item, str) else None
        if isinstance(item, str):
            try:
                item = loads(item)
            except (ValueError, RecursionError):
                self.reject(source, [Rejection(where, kind, "malformed JSON", raw)])
                return
        if not isinstance(item, dict) or item.get("resourceType") != kind:
            self.reject(source, [Rejection(where, kind, "not a FHIR resource", raw)])
            return
        reason = problems(kind, item) or MAPPERS[kind](item, where, self.directory, self.sink)
        if reason is not None:
            text = raw if raw is not None else _dump(item)
            self.reject(source, [Rejection(where, kind, reason, text)])
        self.sink.resource_done()

    def _ndjson_type(self, source: NdjsonFile, kind: str) -> None:
        code = CODES[kind]
        for span, codes in source.spans or []:
            wanted = np.flatnonzero(codes == code)
            if len(wanted):
                lines, _ = to_lines(read_span(source.path, span))
                self._lines(source.path, span, lines, wanted, kind)

    def _lines(
        self, path: Path, span: Span, lines: pa.Array, wanted: np.ndarray, kind: str
    ) -> None:
        texts = lines.take(pa.array(wanted, pa.int64())).to_pylist()
        for i, line in zip(wanted.tolist(), texts, strict=True):
            self.resource(path, kind, line, f"line {span.first_line + i}")

    def _bundle_type(self, source: BundleFile, kind: str) -> None:
        entries = [e for e in source.entries if e.resource.get("resourceType") == kind]
        if not entries:
            return
        if kind != AUDIT:
            for entry in entries:
                self.resource(source.path, kind, entry.resource, entry.location)
            return
        extractor = AuditExtractor()
        try:
            for number, start in enumerate(range(0, len(entries), BATCH_LINES)):
                part = entries[start : start + BATCH_LINES]
                self._bundle_events(source, part, extractor, f"{source.digest[:24]}-b{number:05d}")
        finally:
            extractor.close()

    def _bundle_events(
        self, source: BundleFile, part: list[Entry], extractor: AuditExtractor, key: str
    ) -> None:
        lines = [as_line(e) for e in part]
        keep = [i for i, line in enumerate(lines) if line is not None]
        events = extractor.extract(
            pa.array([lines[i] for i in keep], pa.string()), np.array(keep, np.int64)
        )
        self.reject(
            source.path,
            [
                *(
                    Rejection(part[i].location, AUDIT, "AuditEvent nested too deeply", None)
                    for i, line in enumerate(lines)
                    if line is None
                ),
                *(
                    Rejection(part[ref].location, AUDIT, reason, lines[ref])
                    for ref, reason in events.rejected
                ),
            ],
        )
        stored = store_events(
            self.loader,
            events,
            self.directory.role_practitioner,
            source=str(source.path),
            locate=lambda ref: part[ref].location,
            batch_key=key,
        )
        if self.progress is not None and stored:
            self.progress(AUDIT, stored, 0)

    # -- access events from NDJSON -----------------------------------------------------
    def _events(self, source: NdjsonFile) -> None:
        for batch in event_batches(source.path, source.spans, CODES):
            first = batch.span.first_line
            if source.spans is None:
                self._late_resources(source.path, batch)
            self.reject(
                source.path,
                [
                    Rejection(f"line {first + ref}", AUDIT, reason, batch.lines[ref].as_py())
                    for ref, reason in batch.events.rejected
                ],
            )
            store_events(
                self.loader,
                batch.events,
                self.directory.role_practitioner,
                source=str(source.path),
                locate=_line_locator(first),
                batch_key=batch.batch_key(),
            )
            if self.progress is not None:
                self.progress(AUDIT, int((batch.classified.codes == CODES[AUDIT]).sum()), 0)

    def _late_resources(self, path: Path, batch: EventBatch) -> None:
        """Load the other resources of a streamed batch (and its Bundles) before its events."""
        bundles = self._line_rejections(path, batch.span, batch.lines, batch.classified)
        codes = batch.classified.codes
        for kind in ORDER[:-1]:
            wanted = np.flatnonzero(codes == CODES[kind])
            if len(wanted):
                self._lines(path, batch.span, batch.lines, wanted, kind)
            if len(wanted) or kind in FINISH:  # rows held for a later type are loaded now
                self._finish(kind)
        for bundle in bundles:
            for kind in ORDER:
                self._bundle_type(bundle, kind)
                self._finish(kind)


def _line_locator(first_line: int) -> Callable[[int], str]:
    """Location of the line at index ``ref`` of a batch starting on ``first_line``."""
    return lambda ref: f"line {first_line + ref}"


def _dump(resource: dict[str, Any]) -> str | None:
    try:
        return json.dumps(resource, separators=(",", ":"))
    except (RecursionError, ValueError):
        return None
