"""Check one FHIR resource against the R4B models of ``fhir.resources``.

Operational resources (patients, practitioners, encounters ...) are few next to access
events, so each goes through its pydantic model before it is mapped: a resource that
breaks the FHIR rules is quarantined with a summary of what is wrong. The summary names
fields and rules only, never the offending values, so the reason carries no PHI.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

#: Errors listed in a quarantine reason; the rest are counted.
MAX_ERRORS = 3
_MAX_MESSAGE = 120


@cache
def model_class(resource_type: str) -> type[BaseModel]:
    """The R4B model of a resource type (imported on first use: the package is large)."""
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    found: type[BaseModel] = getattr(module, resource_type)
    return found


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "resource"


def summarise(error: ValidationError) -> str:
    """The first few errors as ``field: rule`` text, without the input values."""
    details = error.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for detail in details[:MAX_ERRORS]:
        message = str(detail.get("msg", "invalid")).splitlines()[0].strip()
        parts.append(f"{_location(tuple(detail.get('loc', ())))}: {message[:_MAX_MESSAGE]}")
    more = len(details) - MAX_ERRORS
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def problems(resource_type: str, resource: dict[str, Any]) -> str | None:
    """None when the resource is valid FHIR R4B, else a quarantine reason saying why not."""
    try:
        model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        return f"not valid FHIR R4B {resource_type}: {summarise(exc)}"
    except (ValueError, TypeError, RecursionError) as exc:
        return f"not valid FHIR R4B {resource_type}: {type(exc).__name__}"
    return None
