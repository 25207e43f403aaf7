"""Phished-mailbox case: the mbox really shows what the ground truth says, and no more."""

from __future__ import annotations

import csv
import io
import mailbox
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from pypdf import PdfReader

from canonical_fixture import build_canonical
from phiwarden.domain.canonical import COVERAGES, PATIENTS
from phiwarden.synth import mailbox_documents as docs
from phiwarden.synth.export_io import load_rows
from phiwarden.synth.mailbox import ELEMENTS, write_mailbox
from phiwarden.synth.mailbox_documents import drivers_license

SEED = 11


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _attachment_text(name: str, data: bytes) -> str:
    if name.endswith(".pdf"):
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    if name.endswith(".docx"):
        document = docx.Document(io.BytesIO(data))
        parts = [p.text for p in document.paragraphs]
        parts += [cell.text for t in document.tables for row in t.rows for cell in row.cells]
        return "\n".join(parts)
    if name.endswith(".xlsx"):
        wb = openpyxl.load_workbook(io.BytesIO(data))
        cells = []
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for v in row:
                    cells.append(v.strftime("%m/%d/%Y") if isinstance(v, datetime) else str(v))
        return "\n".join(cells)
    if name.endswith(".csv"):
        return "\n".join(",".join(r) for r in csv.reader(io.StringIO(data.decode("utf-8"))))
    raise AssertionError(f"unexpected attachment {name}")


def read_parts(path: Path) -> list[tuple[str, str]]:
    """Every text-bearing part of the mbox as (label, whitespace-normalised text)."""
    parts: list[tuple[str, str]] = []
    for msg in mailbox.mbox(path):
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            filename = part.get_filename()
            if filename:
                parts.append((filename, _norm(_attachment_text(filename, payload))))
            else:
                charset = part.get_content_charset() or "utf-8"
                parts.append((f"body:{msg['Subject']}", _norm(payload.decode(charset))))
    return parts


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mailbox")
    canonical = build_canonical(root, n_patients=300)
    truth = write_mailbox(canonical, root / "out", SEED)
    return {
        "root": root,
        "canonical": canonical,
        "truth": truth,
        "parts": read_parts(root / "out" / "compromised.mbox"),
    }


def _values(canonical: Path) -> dict[str, dict[str, str | None]]:
    """The values each element would show, per MRN, computed independently of the module."""
    cov: dict[str, dict[str, Any]] = {}
    for row in load_rows(canonical, COVERAGES):
        cov.setdefault(row["patient_id"], row)
    out = {}
    for p in load_rows(canonical, PATIENTS):
        c = cov.get(p["patient_id"])
        out[p["mrn"]] = {
            "name": f"{p['first_name']} {p['last_name']}",
            "dob": p["dob"].strftime("%m/%d/%Y"),
            "ssn": p["ssn"],
            "mrn": p["mrn"],
            "phone": p["phone"],
            "address": p["address_line"],
            "insurance": c["member_id"] if c else None,
            "drivers_license": drivers_license(p["patient_id"], p["state"], SEED),
            "diagnosis": None,
        }
    return out


def test_ground_truth_shape(case: dict[str, Any]) -> None:
    truth = case["truth"]
    mrns = [t["mrn"] for t in truth]
    assert mrns == sorted(set(mrns))
    assert 20 <= len(truth) <= 30
    for entry in truth:
        assert entry["elements"] == sorted(set(entry["elements"]))
        assert set(entry["elements"]) <= set(ELEMENTS)
        assert {"name", "dob"} <= set(entry["elements"])
    seen = set().union(*(set(t["elements"]) for t in truth))
    assert seen == set(ELEMENTS)


def test_every_claimed_element_is_in_a_part_with_the_name(case: dict[str, Any]) -> None:
    values = _values(case["canonical"])
    parts = case["parts"]
    for entry in case["truth"]:
        v = values[entry["mrn"]]
        for element in entry["elements"]:
            if v[element] is None:
                continue
            assert any(v["name"] in text and v[element] in text for _, text in parts), (
                entry["mrn"],
                element,
                v[element],
            )


def test_nothing_distinctive_is_exposed_without_a_claim(case: dict[str, Any]) -> None:
    values = _values(case["canonical"])
    claimed = {t["mrn"]: set(t["elements"]) for t in case["truth"]}
    everything = "\n".join(text for _, text in case["parts"])
    checked = 0
    for mrn, v in values.items():
        for element in ("ssn", "mrn", "phone", "insurance", "drivers_license"):
            value = v[element]
            if value is None or element in claimed.get(mrn, set()):
                continue
            assert value not in everything, (mrn, element)
            checked += 1
    assert checked > 1000


def test_mailbox_contents_and_readme(case: dict[str, Any]) -> None:
    out = case["root"] / "out"
    box = mailbox.mbox(out / "compromised.mbox")
    messages = list(box)
    assert 30 <= len(messages) <= 150
    assert len({m["Message-ID"] for m in messages}) == len(messages)
    kinds = {name.rsplit(".", 1)[1] for name, _ in case["parts"] if not name.startswith("body:")}
    assert kinds == {"pdf", "docx", "xlsx", "csv"}
    assert any("storage limit" in m["Subject"] for m in messages)
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "Mailbox owner" in readme and "discovery date" in readme


def test_deterministic_bytes_and_truth(case: dict[str, Any], tmp_path: Path) -> None:
    again = write_mailbox(case["canonical"], tmp_path / "again", SEED)
    assert again == case["truth"]
    first = (case["root"] / "out" / "compromised.mbox").read_bytes()
    assert (tmp_path / "again" / "compromised.mbox").read_bytes() == first
    other = write_mailbox(case["canonical"], tmp_path / "other", SEED + 1)
    assert other != case["truth"]


def test_small_hospital_exposes_everyone_available(tmp_path: Path) -> None:
    canonical = build_canonical(tmp_path, n_patients=12)
    truth = write_mailbox(canonical, tmp_path / "out", 3)
    assert len(truth) == 12


def test_office_packages_carry_fixed_times() -> None:
    when = datetime(2024, 2, 5, 9, 30)
    for data in (
        docs.docx_document("T", ["p"], [("a", "b")], when),
        docs.xlsx_workbook("S", ["h"], [["v"]], when),
    ):
        package = zipfile.ZipFile(io.BytesIO(data))
        assert {i.date_time for i in package.infolist()} == {(2024, 2, 5, 9, 30, 0)}
        core = package.read("docProps/core.xml").decode()
        assert "2024-02-05T09:30:00Z</dcterms:modified>" in core
    assert docs.pdf_letter("T", ["p"]) == docs.pdf_letter("T", ["p"])
