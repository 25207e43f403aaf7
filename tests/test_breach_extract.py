"""Extraction for breach scoping: the generator's phished mailbox read back (bodies and
every PDF, DOCX, XLSX and CSV attachment), e-mail inside e-mail, HTML bodies and RFC 2047
headers, and every unscannable reason: an image without OCR, an encrypted PDF or ZIP
member, a corrupt part, a ZIP bomb, nesting too deep, a format not read."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

from pypdf import PdfWriter

from phiwarden.breach.extract import Limits, Text, Unscannable, extract_bytes, extract_path
from phiwarden.synth.mailbox import write_mailbox
from test_cases import image, pdf


def _texts(items: list[object]) -> str:
    return "\n".join(i.text for i in items if isinstance(i, Text))


def test_the_phished_mailbox_is_read_back_whole(small_hospital: Path, tmp_path: Path) -> None:
    truth = write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    items = list(extract_path(tmp_path / "compromised.mbox"))
    assert not [i for i in items if isinstance(i, Unscannable)]
    kinds = {i.where.split("/")[-1].split("#")[0].rsplit(".", 1)[-1] for i in items}
    assert {"body", "headers"} <= kinds
    text = _texts(items)
    with_mrn = [p for p in truth if "mrn" in p["elements"]]  # type: ignore[operator]
    assert with_mrn
    for person in with_mrn:
        assert str(person["mrn"]) in text, f"MRN {person['mrn']} is in the mailbox but not read"


def _mail(subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@x.example", "b@x.example", subject
    msg.set_content(body)
    return msg


def test_nested_mail_html_and_encoded_headers(tmp_path: Path) -> None:
    inner = _mail("Patient list", "MRN 10000123 Jane Roe")
    outer = EmailMessage()
    outer["Subject"] = "=?iso-8859-1?q?Fwd:_r=E9sum=E9?="
    outer["From"] = "c@x.example"
    outer.set_content("see below")
    outer.add_alternative(
        "<html><body><p>Jos&eacute; <b>Núñez</b></p><script>x()</script></body></html>",
        subtype="html",
    )
    outer.add_attachment(inner)
    (tmp_path / "fwd.eml").write_bytes(outer.as_bytes())
    items = list(extract_path(tmp_path / "fwd.eml"))
    text = _texts(items)
    assert "Fwd: résumé" in text and "MRN 10000123 Jane Roe" in text
    html_only = EmailMessage()
    html_only.set_content("<p>Date of birth 01/02/1980</p><style>p{}</style>", subtype="html")
    assert "Date of birth 01/02/1980" in _texts(
        list(extract_bytes("m.eml", html_only.as_bytes(), "m", Limits()))
    )


def _zip(members: dict[str, bytes], encrypted: str | None = None) -> bytes:
    """A ZIP of ``members``; ``encrypted`` is marked as a traditionally encrypted member in
    the central directory (what a reader checks before asking for a password)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    raw = bytearray(buffer.getvalue())
    if encrypted:
        at = raw.find(b"PK\x01\x02")  # the first central-directory entry
        while at != -1:
            name_len = int.from_bytes(raw[at + 28 : at + 30], "little")
            if raw[at + 46 : at + 46 + name_len].decode() == encrypted:
                raw[at + 8] |= 0x1
            at = raw.find(b"PK\x01\x02", at + 4)
    return bytes(raw)


def test_every_unscannable_reason_is_listed_and_the_rest_still_read(tmp_path: Path) -> None:
    locked = PdfWriter()
    locked.add_blank_page(612, 792)
    locked.encrypt("secret")
    locked_pdf = io.BytesIO()
    locked.write(locked_pdf)
    share = tmp_path / "share"
    share.mkdir()
    (share / "scan.png").write_bytes(image("PNG"))
    (share / "locked.pdf").write_bytes(locked_pdf.getvalue())
    (share / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not a pdf")
    (share / "mail.msg").write_bytes(b"\xd0\xcf\x11\xe0 outlook")
    (share / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 legacy word")
    (share / "letter.rtf").write_bytes(rb"{\rtf1\ansi Member ID\~ABC123456 for \b Pat\b0  Doe}")
    (share / "empty.txt").write_bytes(b"")
    (share / "notes.txt").write_text("SSN 219-09-9999 for Pat Doe")
    (share / "letters.zip").write_bytes(
        _zip(
            {"a.pdf": pdf("Referral for MRN 10000777"), "b.txt": b"x", "c.txt": b"y"},
            encrypted="c.txt",
        )
    )
    (share / "bomb.zip").write_bytes(_zip({"zeros.txt": b"0" * 50_000_000}))
    items = list(extract_path(share))
    reasons = {i.where: i.reason for i in items if isinstance(i, Unscannable)}
    assert "no OCR" in reasons["scan.png"]
    assert reasons["locked.pdf"] == "the PDF is encrypted"
    assert reasons["broken.pdf"].startswith("corrupt or unreadable")
    assert reasons["mail.msg"].startswith("corrupt or unreadable")
    assert reasons["old.doc"].startswith("legacy Word .doc files are not read")
    assert reasons["empty.txt"] == "an empty file"
    assert "Member ID ABC123456 for Pat Doe" in " ".join(_texts(items).split())
    assert reasons["letters.zip!c.txt"] == "the ZIP member is encrypted"
    assert "ZIP bomb" in reasons["bomb.zip!zeros.txt"]
    text = _texts(items)
    assert "SSN 219-09-9999" in text and "MRN 10000777" in text


def test_nesting_and_total_size_are_bounded() -> None:
    nested = b"MRN 1"
    for depth in range(8):
        nested = _zip({f"level{depth}.zip" if depth else "deep.txt": nested})
    items = list(extract_bytes("n.zip", nested, "n.zip", Limits(max_depth=5)))
    assert any(isinstance(i, Unscannable) and "nested more than 5" in i.reason for i in items)
    small = Limits(max_bytes=1000)
    items = list(
        extract_bytes("z.zip", _zip({"a.txt": b"a" * 800, "b.txt": b"b" * 800}), "z.zip", small)
    )
    assert [type(i).__name__ for i in items] == ["Text", "Unscannable"]
