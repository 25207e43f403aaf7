"""Which function detects which automatic flag, in the order a scan runs them.

Adding a detector: write the function in ``detectors/`` and list it here with the
catalogue code it raises (the catalogue says how it is detected, for docs/redflags.md).
"""

from __future__ import annotations

from collections.abc import Callable

from phiwarden.redflags.data import ScanData
from phiwarden.redflags.detectors import (
    accounts,
    clinical,
    complaints,
    identity,
    insurance,
    registration,
    workforce,
)
from phiwarden.redflags.finding import Finding

DetectorFn = Callable[[ScanData], list[Finding]]

#: (codes raised, function). registration_checks raises FTC-10, 11, 12, 13 and 16.
DETECTORS: tuple[tuple[tuple[str, ...], DetectorFn], ...] = (
    (("FTC-10", "FTC-11", "FTC-12", "FTC-13", "FTC-16"), registration.registration_checks),
    (("FTC-10",), registration.deceased),
    (("FTC-14",), identity.shared_ssn),
    (("FTC-15",), identity.shared_contact),
    (("FTC-17",), identity.inconsistent_with_file),
    (("HC-INSURANCE",), insurance.insurance_identity),
    (("HC-CLINICAL",), clinical.blood_type),
    (("HC-CLINICAL",), clinical.sex_across_registrations),
    (("FTC-22",), accounts.dormant),
    (("FTC-23",), accounts.returned_mail),
    (("HC-COMPLAINT",), complaints.care_not_received),
    (("HC-WORKFORCE",), workforce.access_alerts),
)
