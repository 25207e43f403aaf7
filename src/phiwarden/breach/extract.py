"""Text out of what a breach exposed: mailboxes (mbox, a folder of ``.eml``), files from a
share or a laptop image (a folder or a ZIP), and every attachment inside, recursively.

Each item read yields a :class:`Text` (where it is, and its text); each item that could not
be read yields an :class:`Unscannable` with its place and the reason: an image without OCR,
an encrypted PDF or ZIP, a corrupt part, a format not read. Nothing is skipped silently, and
a corrupt message or part never stops the walk. ZIPs and nesting are bounded
(:class:`Limits`) so that a ZIP bomb costs nothing. Extraction is a pure function of the
bytes, so the same walk can run in a process pool or on Spark.

Readers: the standard library for mbox, e-mail (RFC 2047/2231 headers in any charset, with
``email.policy.default``), HTML, CSV and text; pypdfium2 for PDF; python-docx for DOCX;
openpyxl in read-only mode for XLSX/XLSM; striprtf for RTF; libpff-python for Outlook
``.pst``/``.ost`` and extract-msg (an optional extra) for ``.msg`` (``outlook``); images
by OCR only where Tesseract and pytesseract are installed. How a source is cut into units
of work (one message, one file) is in ``units``.
"""

from __future__ import annotations

import email
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path


@dataclass(frozen=True)
class Text:
    """Text read from one place: a message body, an attachment, a file, a ZIP member."""

    where: str
    text: str
    #: when the text was written or sent (a message's Date, a file's modification time)
    when: datetime | None = None


@dataclass(frozen=True)
class Unscannable:
    """A place that could not be read, and why."""

    where: str
    reason: str


Item = Text | Unscannable


@dataclass
class Limits:
    """How much a walk may unpack: a ZIP bomb stops at these, as unscannable."""

    max_bytes: int = 512 * 1024 * 1024
    max_ratio: float = 100.0
    max_depth: int = 5
    max_members: int = 10_000
    unpacked: int = field(default=0)

    def take(self, size: int, where: str) -> str | None:
        """Count ``size`` unpacked bytes; the reason to stop when over the total."""
        if self.unpacked + size > self.max_bytes:
            return f"unpacking it would pass {self.max_bytes:,} bytes in all (a ZIP bomb?)"
        self.unpacked += size
        return None


class _HtmlText(HTMLParser):
    """The visible text of an HTML document (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "td", "th", "h1", "h2", "h3"):
            self.parts.append("\n" if tag != "td" and tag != "th" else "\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The text of HTML, with line breaks where blocks end."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def decode(data: bytes) -> str:
    """Bytes of unknown encoding as text: UTF-8, else Windows-1252, else Latin-1."""
    for charset in ("utf-8", "cp1252"):
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _pdf(data: bytes, where: str) -> Iterator[Item]:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            yield Unscannable(where, "the PDF is encrypted")
            return
        raise
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_bounded().replace("\r\n", "\n"))
            textpage.close()
            page.close()
    finally:
        document.close()
    yield Text(where, "\n".join(pages))


def _rtf(data: bytes, where: str) -> Iterator[Item]:
    from striprtf.striprtf import rtf_to_text

    yield Text(where, rtf_to_text(decode(data), errors="ignore"))


def ocr_available() -> bool:
    """True when images can be read: pytesseract installed and Tesseract on the PATH."""
    import shutil

    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return shutil.which("tesseract") is not None


def _image(data: bytes, where: str) -> Iterator[Item]:
    if not ocr_available():
        yield Unscannable(where, "an image, and no OCR (Tesseract) is installed")
        return
    import pytesseract
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        yield Text(where, pytesseract.image_to_string(image))


def _msg(data: bytes, where: str, limits: Limits, depth: int) -> Iterator[Item]:
    from phiwarden.breach.outlook import MSG_EXTRA, msg_as_email

    try:
        message = msg_as_email(data)
    except ImportError:
        yield Unscannable(where, f"an Outlook .msg, and {MSG_EXTRA}")
        return
    yield from extract_message(message, where, limits, depth + 1)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx(data: bytes, where: str) -> Iterator[Item]:
    """The text of a DOCX in document order, a table's cells separated by tabs and its
    rows by line breaks. Only ``word/document.xml`` is parsed (with lxml, as python-docx
    does): python-docx also parses the styles, numbering and settings parts, which made
    it 60% of the scan's time on the generator's mailbox."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("word/document.xml")
    parts: list[str] = []
    cell_depth = 0
    for event, element in etree.iterparse(
        io.BytesIO(xml), events=("start", "end"), resolve_entities=False, no_network=True
    ):
        tag = element.tag
        if event == "start":
            if tag == f"{_W}tc":
                cell_depth += 1
            continue
        if tag == f"{_W}t" and element.text:
            parts.append(element.text)
        elif tag in (f"{_W}tab",):
            parts.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            parts.append("\n")
        elif tag == f"{_W}p":
            parts.append(" " if cell_depth else "\n")
        elif tag == f"{_W}tc":
            cell_depth -= 1
            if parts and parts[-1] == " ":
                parts.pop()
            parts.append("\t")
        elif tag == f"{_W}tr":
            if parts and parts[-1] == "\t":
                parts.pop()
            parts.append("\n")
        if tag in (f"{_W}p", f"{_W}tbl"):
            element.clear()
    yield Text(where, "".join(parts))


def _cell(value: object) -> str:
    """A spreadsheet cell as text; a date at midnight as the date alone."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    return str(value)


def _xlsx(data: bytes, where: str) -> Iterator[Item]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            rows = ("\t".join(_cell(v) for v in row) for row in sheet.iter_rows(values_only=True))
            yield Text(f"{where}#{sheet.title}", "\n".join(rows))
    finally:
        book.close()


#: the signature of an OLE compound file (Outlook .msg, legacy Office)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".bmp")
_NOT_READ = {
    ".pst": "an Outlook PST inside another file: extract it and scan it on its own",
    ".ost": "an Outlook OST inside another file: extract it and scan it on its own",
    ".doc": "legacy Word .doc files are not read: save them as DOCX or PDF",
    ".xls": "legacy Excel .xls files are not read: save them as XLSX or CSV",
}


def extract_bytes(
    name: str, data: bytes, where: str, limits: Limits, depth: int = 0
) -> Iterator[Item]:
    """Everything readable in one file or attachment, by its content and name."""
    lower = name.lower()
    try:
        if data[:4] == b"%PDF" or lower.endswith(".pdf"):
            yield from _pdf(data, where)
        elif data[:2] == b"PK" and lower.endswith((".docx", ".docm")):
            yield from _docx(data, where)
        elif data[:2] == b"PK" and lower.endswith((".xlsx", ".xlsm")):
            yield from _xlsx(data, where)
        elif data[:2] == b"PK" or lower.endswith(".zip"):
            yield from _zip(data, where, limits, depth)
        elif lower.endswith((".eml", ".mht")) or (
            lower.endswith(".txt") is False and data[:5] == b"From:"
        ):
            yield from extract_message(email.message_from_bytes(data), where, limits, depth + 1)
        elif lower.endswith((".htm", ".html")):
            yield Text(where, html_text(decode(data)))
        elif (
            lower.endswith(_IMAGES)
            or data[:4] in (b"\x89PNG", b"GIF8")
            or data[:3] == b"\xff\xd8\xff"
        ):
            yield from _image(data, where)
        elif lower.endswith(tuple(_NOT_READ)):
            yield Unscannable(where, _NOT_READ[Path(lower).suffix])
        elif lower.endswith(".msg") or data[:8] == _OLE:
            yield from _msg(data, where, limits, depth)
        elif lower.endswith(".rtf") or data[:5] == b"{\\rtf":
            yield from _rtf(data, where)
        elif b"\x00" in data[:4096]:
            yield Unscannable(where, "a binary file of a format phiwarden does not read")
        else:
            yield Text(where, decode(data))
    except Exception as exc:  # a corrupt part never stops the walk; it is listed instead
        yield Unscannable(where, f"corrupt or unreadable ({type(exc).__name__})")


def _zip(data: bytes, where: str, limits: Limits, depth: int) -> Iterator[Item]:
    if depth >= limits.max_depth:
        yield Unscannable(where, f"nested more than {limits.max_depth} deep")
        return
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > limits.max_members:
            yield Unscannable(where, f"{len(members):,} members, over {limits.max_members:,}")
            return
        for member in members:
            inner = f"{where}!{member.filename}"
            if member.flag_bits & 0x1:
                yield Unscannable(inner, "the ZIP member is encrypted")
                continue
            ratio = member.file_size / max(1, member.compress_size)
            if ratio > limits.max_ratio:
                yield Unscannable(
                    inner,
                    f"compressed {ratio:,.0f} to 1, over {limits.max_ratio:,.0f} (a ZIP bomb?)",
                )
                continue
            over = limits.take(member.file_size, inner)
            if over:
                yield Unscannable(inner, over)
                continue
            yield from extract_bytes(
                member.filename, archive.read(member), inner, limits, depth + 1
            )


def message_date(message: Message) -> datetime | None:
    """When a message was sent (its Date header, naive UTC), or None when it has none."""
    from email.utils import parsedate_to_datetime

    value = message.get("Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def extract_message(message: Message, where: str, limits: Limits, depth: int = 0) -> Iterator[Item]:
    """The headers worth reading, the body (plain text, else HTML as text) and every
    attachment of one e-mail, recursively (an e-mail inside an e-mail included). Every
    text carries the message's date."""
    when = message_date(message)
    for item in _message_items(message, where, limits, depth):
        yield (
            Text(item.where, item.text, when) if isinstance(item, Text) and not item.when else item
        )


def header_text(value: object) -> str:
    """A header's text with RFC 2047 encoded words decoded, in any charset."""
    from email.header import decode_header, make_header

    try:
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except (LookupError, UnicodeDecodeError, ValueError):
        return " ".join(str(value).split())


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = data.decode(charset, errors="replace")
    except LookupError:
        text = decode(data)
    return html_text(text) if part.get_content_type() == "text/html" else text


def _parts(message: Message) -> tuple[list[Message], list[Message]]:
    """The inline text parts and the attachments of a message, in order. The standard
    library's older (compat32) interface: several times faster than the modern header
    objects on a large mailbox, with RFC 2047 and 2231 decoded here and by get_filename."""
    texts: list[Message] = []
    attachments: list[Message] = []

    def visit(part: Message) -> None:
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            attachments.append(part)
        elif part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    visit(sub)
        elif (
            ctype in ("text/plain", "text/html")
            and not str(part.get("Content-Disposition", "")).lower().startswith("attachment")
            and not part.get_filename()
        ):
            texts.append(part)
        else:
            attachments.append(part)

    visit(message)
    plain = [t for t in texts if t.get_content_type() == "text/plain"]
    return plain or texts, attachments


def _message_items(message: Message, where: str, limits: Limits, depth: int) -> Iterator[Item]:
    if depth > limits.max_depth:
        yield Unscannable(where, f"nested more than {limits.max_depth} deep")
        return
    headers = "\n".join(
        f"{k}: {header_text(message[k])}" for k in ("From", "To", "Cc", "Subject") if message[k]
    )
    if headers:
        yield Text(f"{where}/headers", headers)
    try:
        texts, attachments = _parts(message)
    except Exception as exc:
        yield Unscannable(where, f"corrupt message ({type(exc).__name__})")
        return
    for n, part in enumerate(texts, start=1):
        place = f"{where}/body" if n == 1 else f"{where}/body{n}"
        try:
            yield Text(place, _part_text(part))
        except Exception as exc:
            yield Unscannable(place, f"corrupt or unreadable ({type(exc).__name__})")
    for n, part in enumerate(attachments, start=1):
        try:
            name = header_text(part.get_filename() or "") or f"part{n}"
        except Exception:
            name = f"part{n}"
        inner = f"{where}/{name}"
        if part.get_content_type() == "message/rfc822":
            inner_message = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner_message, Message):
                yield from extract_message(inner_message, inner, limits, depth + 1)
                continue
        try:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        except Exception as exc:
            yield Unscannable(inner, f"corrupt or unreadable ({type(exc).__name__})")
            continue
        over = limits.take(len(data), inner)
        if over:
            yield Unscannable(inner, over)
            continue
        yield from extract_bytes(name, data, inner, limits, depth + 1)


def extract_path(path: Path, limits: Limits | None = None) -> Iterator[Item]:
    """Everything readable under ``path`` (a folder, an mbox, a PST, an ``.eml``, a ZIP,
    any single file), unit by unit, in one process."""
    from phiwarden.breach.units import plan, read_unit

    for unit in plan(path):
        yield from read_unit(unit, limits or Limits())
