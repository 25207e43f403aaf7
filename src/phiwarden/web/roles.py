"""Roles and what each may do: deny by default, one documented matrix.

Every route declares one permission; a role not listed against a permission is refused.
``docs/permissions.md`` is rendered from :data:`MATRIX` and a test checks every route
against every role.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """phiwarden's own roles (not EHR roles)."""

    ADMIN = "admin"
    PRIVACY_OFFICER = "privacy_officer"
    INVESTIGATOR = "investigator"
    REGISTRAR = "registrar"
    BILLING = "billing"
    AUDITOR = "auditor"
    CALL_CENTER = "call_center"
    HR = "hr"


class Permission(StrEnum):
    """What a route needs."""

    STATUS = "status"
    ALERTS_READ = "alerts:read"
    ALERTS_DECIDE = "alerts:decide"
    CASES_READ = "cases:read"
    CASES_OPEN = "cases:open"
    CASES_WORK = "cases:work"
    TASKS_SIGN = "tasks:sign"
    DOCUMENTS_READ = "documents:read"
    REFERRAL = "referral"
    BILLING_READ = "billing:read"
    BILLING_EDIT = "billing:edit"
    FLAGS_READ = "flags:read"
    FLAGS_RESOLVE = "flags:resolve"
    SCREEN = "screen"
    PATIENTS_READ = "patients:read"
    SSN_REVEAL = "ssn:reveal"
    WORKFORCE_READ = "workforce:read"
    WATCH_READ = "watch:read"
    WATCH_EDIT = "watch:edit"
    BREACH_READ = "breach:read"
    BREACH_OPEN = "breach:open"
    BREACH_SCAN = "breach:scan"
    BREACH_REVIEW = "breach:review"
    BREACH_DECIDE = "breach:decide"
    BREACH_NOTIFY = "breach:notify"
    LOOKUP = "lookup"
    INVESTIGATION_OPEN = "investigation:open"
    INVESTIGATION_WORK = "investigation:work"
    INVESTIGATION_DETERMINE = "investigation:determine"
    SANCTIONS_READ = "sanctions:read"
    CORRECTIVE_EDIT = "corrective:edit"
    CALLER_VERIFY = "caller:verify"
    PROGRAM_READ = "program:read"
    PROGRAM_EDIT = "program:edit"
    AUDIT_READ = "audit:read"
    USERS_ADMIN = "users:admin"


R = Role
#: Permission -> the roles that hold it. Anything not here is denied.
MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.STATUS: frozenset(Role),
    Permission.ALERTS_READ: frozenset({R.ADMIN, R.PRIVACY_OFFICER, R.INVESTIGATOR, R.AUDITOR}),
    Permission.ALERTS_DECIDE: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.CASES_READ: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR, R.AUDITOR}),
    Permission.CASES_OPEN: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR, R.REGISTRAR}),
    Permission.CASES_WORK: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.TASKS_SIGN: frozenset(
        {R.PRIVACY_OFFICER, R.INVESTIGATOR, R.REGISTRAR, R.BILLING, R.HR}
    ),
    Permission.DOCUMENTS_READ: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR, R.AUDITOR}),
    Permission.REFERRAL: frozenset({R.PRIVACY_OFFICER}),
    Permission.BILLING_READ: frozenset({R.PRIVACY_OFFICER, R.BILLING, R.AUDITOR}),
    Permission.BILLING_EDIT: frozenset({R.PRIVACY_OFFICER, R.BILLING}),
    Permission.FLAGS_READ: frozenset(
        {R.ADMIN, R.PRIVACY_OFFICER, R.INVESTIGATOR, R.REGISTRAR, R.BILLING, R.AUDITOR}
    ),
    Permission.FLAGS_RESOLVE: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR, R.BILLING}),
    Permission.SCREEN: frozenset({R.REGISTRAR, R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.PATIENTS_READ: frozenset(
        {R.PRIVACY_OFFICER, R.INVESTIGATOR, R.REGISTRAR, R.BILLING, R.AUDITOR}
    ),
    Permission.SSN_REVEAL: frozenset({R.PRIVACY_OFFICER}),
    Permission.WORKFORCE_READ: frozenset({R.ADMIN, R.PRIVACY_OFFICER, R.INVESTIGATOR, R.AUDITOR}),
    Permission.WATCH_READ: frozenset(
        {R.ADMIN, R.PRIVACY_OFFICER, R.INVESTIGATOR, R.REGISTRAR, R.BILLING, R.AUDITOR}
    ),
    Permission.WATCH_EDIT: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.BREACH_READ: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR, R.AUDITOR}),
    Permission.BREACH_OPEN: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.BREACH_SCAN: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.BREACH_REVIEW: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.BREACH_DECIDE: frozenset({R.PRIVACY_OFFICER}),
    Permission.BREACH_NOTIFY: frozenset({R.PRIVACY_OFFICER}),
    Permission.LOOKUP: frozenset({R.PRIVACY_OFFICER, R.CALL_CENTER}),
    # investigations: the investigator works the ones assigned to them; the privacy officer
    # determines; HR sees the sanctions (and signs the tasks given to HR), nothing else
    Permission.INVESTIGATION_OPEN: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.INVESTIGATION_WORK: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.INVESTIGATION_DETERMINE: frozenset({R.PRIVACY_OFFICER}),
    Permission.SANCTIONS_READ: frozenset({R.PRIVACY_OFFICER, R.HR, R.AUDITOR}),
    Permission.CORRECTIVE_EDIT: frozenset({R.PRIVACY_OFFICER, R.INVESTIGATOR}),
    Permission.CALLER_VERIFY: frozenset({R.PRIVACY_OFFICER, R.CALL_CENTER}),
    Permission.PROGRAM_READ: frozenset({R.ADMIN, R.PRIVACY_OFFICER, R.AUDITOR}),
    Permission.PROGRAM_EDIT: frozenset({R.PRIVACY_OFFICER}),
    Permission.AUDIT_READ: frozenset({R.ADMIN, R.PRIVACY_OFFICER, R.AUDITOR}),
    Permission.USERS_ADMIN: frozenset({R.ADMIN}),
}


def allowed(role: str, permission: Permission) -> bool:
    """True when ``role`` holds ``permission``; unknown roles hold nothing."""
    try:
        return Role(role) in MATRIX.get(permission, frozenset())
    except ValueError:
        return False
