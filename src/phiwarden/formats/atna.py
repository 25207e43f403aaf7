"""phiwarden's structured-data element in the IHE ATNA syslog messages it reads and the
synthetic hospital writes: the SD-ID, the parameter carrying the EHR's event id, and the
code system of the access action. Shared by ``ingest`` and ``synth``, owned by neither."""

from __future__ import annotations

SD_ID = "phiwarden@32473"
EVENT_ID_PARAM = "eventId"
ACTION_SYSTEM = "urn:phiwarden:access-action"
