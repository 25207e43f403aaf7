"""The documentation matches the code it describes."""

from __future__ import annotations

from pathlib import Path

from phiwarden.domain.canonical_doc import render

ROOT = Path(__file__).resolve().parent.parent


def test_inputs_doc_is_rendered_from_the_canonical_layout() -> None:
    committed = (ROOT / "docs" / "inputs.md").read_text()
    assert committed == render(), (
        "docs/inputs.md is stale: run python -m phiwarden.domain.canonical_doc > docs/inputs.md"
    )


def test_readme_opens_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text()[:3000]
    assert "make demo" in head and "make test" in head


def test_permissions_doc_is_current() -> None:
    from phiwarden.web.permissions_doc import render as render_permissions

    committed = (ROOT / "docs" / "permissions.md").read_text()
    assert committed == render_permissions(), (
        "docs/permissions.md is stale: run python -m phiwarden.web.permissions_doc > docs/permissions.md"
    )
