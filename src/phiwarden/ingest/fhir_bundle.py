"""FHIR Bundles (collection, transaction, batch, searchset) as lists of resources.

A Bundle's entries are loaded like NDJSON lines, with two things only a Bundle has:

- **ids from fullUrl**: an entry without ``id`` (a transaction creating resources) takes
  the id in its ``fullUrl`` (the uuid of ``urn:uuid:...``, or the last segment of a URL)
  or in its ``request.url`` (``PUT Patient/123``);
- **references to fullUrls**: a reference to another entry's ``fullUrl`` (``urn:uuid:``
  references inside a transaction) is rewritten to ``Type/id`` before mapping.

Search ``outcome`` entries and OperationOutcomes are skipped; a DELETE entry carries no
resource. A Bundle inside a Bundle (a document in a collection) is expanded in place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phiwarden.ingest.fhir_ndjson import loads
from phiwarden.ingest.fhir_values import obj, text

_TYPED_ID = re.compile(r"(?:^|/)([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
_URN = re.compile(r"^urn:(?:uuid|oid):([A-Za-z0-9\-.]{1,64})$")
_MAX_NESTING = 4


@dataclass(frozen=True)
class Entry:
    """One resource of a Bundle and where it sits (``entry N``, within a line if any)."""

    resource: dict[str, Any]
    location: str


@dataclass
class Unpacked:
    """The resources of a Bundle (or of a lone resource file) and the entries rejected."""

    entries: list[Entry] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def _entry_id(entry: dict[str, Any], kind: str) -> str | None:
    full_url = text(entry.get("fullUrl")) or ""
    urn = _URN.match(full_url)
    if urn:
        return urn.group(1)
    for candidate in (full_url, text(obj(entry.get("request")).get("url")) or ""):
        typed = _TYPED_ID.search(candidate.split("?")[0])
        if typed and typed.group(1) == kind:
            return typed.group(2)
    return None


def _rewrite(resource: dict[str, Any], targets: dict[str, str]) -> None:
    """Replace references to fullUrls by ``Type/id`` (iteratively: input may nest deeply)."""
    stack: list[Any] = [resource]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref in targets:
                node["reference"] = targets[ref]
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))


def unpack(bundle: dict[str, Any], prefix: str = "", depth: int = 0) -> Unpacked:
    """The resources of a Bundle with ids filled in and fullUrl references resolved."""
    out = Unpacked()
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        out.rejected.append((prefix.strip() or "bundle", "Bundle.entry is not a list"))
        return out
    kept: list[tuple[dict[str, Any], str]] = []
    targets: dict[str, str] = {}
    for i, entry in enumerate(raw_entries):
        where = f"{prefix}entry {i + 1}"
        node = obj(entry)
        resource = node.get("resource")
        if resource is None and node:
            method = text(obj(node.get("request")).get("method"))
            if method != "DELETE":
                out.rejected.append((where, "Bundle entry without a resource"))
            continue
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str) or not isinstance(resource, dict):
            out.rejected.append((where, "Bundle entry is not a FHIR resource"))
            continue
        if kind == "OperationOutcome" or obj(node.get("search")).get("mode") == "outcome":
            continue
        if kind == "Bundle":
            if depth >= _MAX_NESTING:
                out.rejected.append((where, "Bundles nested too deeply"))
            else:
                inner = unpack(resource, f"{where} ", depth + 1)
                out.entries += inner.entries
                out.rejected += inner.rejected
            continue
        ident = text(resource.get("id")) or _entry_id(node, kind)
        if ident is not None:
            resource["id"] = ident
            full_url = text(node.get("fullUrl"))
            if full_url:
                targets[full_url] = f"{kind}/{ident}"
        kept.append((resource, where))
    for resource, where in kept:
        if targets:
            _rewrite(resource, targets)
        out.entries.append(Entry(resource, where))
    return out


def read_json_file(path: Path) -> Unpacked:
    """The resources of a ``.json`` file holding a Bundle or a single resource."""
    try:
        document = loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        detail = f" ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        return Unpacked(rejected=[("file", f"malformed JSON{detail}")])
    kind = document.get("resourceType") if isinstance(document, dict) else None
    if not isinstance(kind, str) or not isinstance(document, dict):
        return Unpacked(rejected=[("file", "not a FHIR resource or Bundle: no resourceType")])
    if kind == "Bundle":
        return unpack(document)
    if kind == "OperationOutcome":
        return Unpacked()
    return Unpacked(entries=[Entry(document, "resource")])


def entries_of(resources: list[Entry], kind: str) -> list[Entry]:
    """The entries of one resource type, in Bundle order."""
    return [e for e in resources if e.resource.get("resourceType") == kind]


def as_line(entry: Entry) -> str | None:
    """An entry as one compact JSON line (AuditEvents take the columnar path like NDJSON).

    None when it cannot be written back (nested deeper than Python can recurse).
    """
    try:
        return json.dumps(entry.resource, separators=(",", ":"))
    except (RecursionError, ValueError):
        return None
