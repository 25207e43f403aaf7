"""Render ``docs/permissions.md`` from the role matrix, so the docs cannot drift.

``python -m phiwarden.web.permissions_doc > docs/permissions.md`` rewrites it; a test checks
the committed file is what this renders.
"""

from __future__ import annotations

from phiwarden.web.roles import MATRIX, Role

INTRO = """\
# Roles and permissions

phiwarden's own users (`phiwarden users add NAME --role ROLE`) have one role each.
Everything is denied unless this matrix allows it; every API route and page declares one
permission, and `tests/test_api.py` checks every role against every route.

Systems call the API with a bearer token (`phiwarden users token NAME`, revoked with
`phiwarden users revoke TOKEN_ID`); people sign in to the pages (sessions expire after 8
hours; five failed sign-ins lock a user for 15 minutes; sign-ins are rate limited per
address). Every read of a patient, alert, flag or workforce history and every decision is
appended to the hash-chained audit trail; `phiwarden audit verify` checks it.

"""


def render() -> str:
    """The whole of docs/permissions.md."""
    roles = list(Role)
    lines = [
        INTRO,
        "| permission | " + " | ".join(r.value for r in roles) + " |",
        "| --- |" + " --- |" * len(roles),
    ]
    for permission, allowed in MATRIX.items():
        cells = ["yes" if r in allowed else "" for r in roles]
        lines.append(f"| `{permission.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
