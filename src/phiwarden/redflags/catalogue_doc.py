"""Render ``docs/redflags.md`` from the Red Flags catalogue, so the docs cannot drift.

``python -m phiwarden.redflags.catalogue_doc > docs/redflags.md`` rewrites it; a test checks
the committed file is what this renders.
"""

from __future__ import annotations

from collections.abc import Iterable

from phiwarden.redflags.catalogue import CATALOGUE, Detection, Flag

INTRO = """\
# Red flags of identity theft

A **red flag** is a pattern, practice or specific activity that indicates the possible
existence of identity theft (FTC Red Flags Rule, 16 CFR 681). The hospital's Identity Theft
Prevention Program names the flags relevant to its covered accounts (patient billing and
payment plans), how each is detected, and what staff do when one is raised. phiwarden keeps
that list as data, in `src/phiwarden/redflags/catalogue.toml`: the 26 illustrative flags of
the rule's Appendix A, Supplement A (`FTC-01` to `FTC-26`, in the rule's order) and the
flags medical identity theft adds (`HC-*`). This page is rendered from that file.

## How flags are detected

- **automatic** — phiwarden's own data shows it: registrations, patients, accounts,
  eligibility responses, lab results, complaints, returned mail and access-monitoring alerts.
  `phiwarden redflags scan` finds these across the stores; `phiwarden redflags screen`
  checks a single registration before it is filed.
- **attestation** — registration staff see it and record it on the registration: an ID that
  looks altered, a photo that does not match the person, a person who cannot answer
  challenge questions. phiwarden cannot see the document; it keeps what staff attest.
- **notice** — someone tells the hospital: a consumer reporting agency (an alert, a credit
  freeze, an address discrepancy), a patient, a victim, a payer or law enforcement. Staff
  record the notice and phiwarden raises the flag from it.

```sh
phiwarden redflags scan [--json]           # every automatic flag across the stored data
phiwarden redflags screen FILE [--json]    # screen one registration before it is filed
phiwarden redflags watch add|list|remove   # the fraud watch list of addresses and phones (FTC-12)
phiwarden link                             # find one person across registrations, and different
                                           # people sharing one identifier
```

A raised flag carries its prescribed **action**; the **severity** orders the work queue
(high first). The actions are:

| action | what it means |
| --- | --- |
| `stop_and_verify` | stop the registration and billing, and require additional identification |
| `review_records` | review previous files; delay or do not open the account, or end services |
| `suspend_collection` | end treatment on credit and stop collecting until identity is resolved |
| `update_contact` | skip-trace the patient and update the contact information |
| `investigate_access` | investigation by the Privacy Officer and Administration; sanctions |
| `monitor` | monitor the account; no other response |

"""

_DETECTION_WORDS = {
    Detection.AUTOMATIC: "automatic",
    Detection.ATTESTATION: "attestation (recorded by staff)",
    Detection.NOTICE: "notice (someone tells the hospital)",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _bullets(items: Iterable[str]) -> list[str]:
    return [f"- {item}" for item in items]


def _section(flag: Flag) -> list[str]:
    return [
        f"\n### {flag.code}: {flag.title}\n",
        f"Category: `{flag.category}`. Detection: {_DETECTION_WORDS[flag.detection]}. "
        f"Severity: **{flag.severity}**.\n",
        f"**How it is detected.** {flag.how_detected}\n",
        f"**Action** (`{flag.action}`). {flag.action_text}\n",
        "**Prevention and mitigation:**\n",
        *_bullets(flag.prevention),
        "\n**Resolution:**\n",
        *_bullets(flag.resolution),
        f"\nSource: {flag.source}.",
    ]


def render_markdown() -> str:
    """The whole of docs/redflags.md."""
    lines = [INTRO + "## Summary\n"]
    lines.append("| code | category | title | detection | severity | action |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for f in CATALOGUE:
        lines.append(
            f"| {f.code} | {f.category} | {_cell(f.title)} | {f.detection} "
            f"| {f.severity} | `{f.action}` |"
        )
    lines.append("\n## The flags")
    for f in CATALOGUE:
        lines.extend(_section(f))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
