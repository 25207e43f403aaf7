"""The outcome of an access attempt: success or failure, from the codes exports use.

FHIR R4 ``AuditEvent.outcome`` and the DICOM/ATNA ``EventOutcomeIndicator`` share one
code set (DICOM PS3.15 A.5.3.1, FHIR value set ``audit-event-outcome``): 0 success,
4 minor failure, 8 serious failure, 12 major failure. Access-log exports write words
("Success", "Denied", "F"); those are read through the hospital's mapping file, and the
common ones below. A failed access is kept: repeated denials are a monitoring signal.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

SUCCESS = "success"
FAILURE = "failure"

#: Codes and words (upper case) that mean each outcome.
SUCCESS_CODES = ("0", "SUCCESS", "SUCCEEDED", "S", "OK", "ALLOWED", "GRANTED", "PASS", "PASSED")
FAILURE_CODES = (
    "4",
    "8",
    "12",
    "FAILURE",
    "FAILED",
    "FAIL",
    "F",
    "DENIED",
    "DENY",
    "REFUSED",
    "BLOCKED",
    "ERROR",
    "MINOR FAILURE",
    "SERIOUS FAILURE",
    "MAJOR FAILURE",
)


def normalise(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``success``/``failure`` per value (case and spaces ignored); other values are null."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(values.cast(pa.string())))
    is_failure = pc.is_in(text, pa.array(FAILURE_CODES, pa.string()))
    is_success = pc.is_in(text, pa.array(SUCCESS_CODES, pa.string()))
    out = pc.if_else(
        is_failure,
        pa.scalar(FAILURE),
        pc.if_else(is_success, pa.scalar(SUCCESS), pa.scalar(None, pa.string())),
    )
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def of_code(value: str | None) -> str | None:
    """One value as :func:`normalise` reads it (for readers that build rows one by one)."""
    text = (value or "").strip().upper()
    if text in FAILURE_CODES:
        return FAILURE
    return SUCCESS if text in SUCCESS_CODES else None
