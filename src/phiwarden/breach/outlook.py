"""Outlook's own files: a ``.pst`` (or ``.ost``) mailbox and a single ``.msg`` message.

A PST is read with libpff-python (``pypff``): folders are walked and messages taken one at
a time, each turned into a standard e-mail (headers, body, attachments) as bytes, so a
10 GB PST is never held in memory and every message is then read by the same code as an
mbox message. An ``.msg`` is read with extract-msg, which is GPL-3 and therefore an
optional extra (``pip install 'phiwarden[msg]'``); without it an ``.msg`` is listed as
unscannable with that reason.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from phiwarden.breach.extract import decode

MSG_EXTRA = "the optional extract-msg package is not installed (pip install 'phiwarden[msg]')"


@dataclass(frozen=True)
class PstMessage:
    """One message of a PST, rebuilt as RFC 822 bytes, with its place in the folders."""

    where: str
    raw: bytes
    when: datetime | None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return decode(value) if isinstance(value, bytes) else str(value)


def _body(mail: EmailMessage, plain: Any, html: Any) -> None:
    """The message's body: its plain text, else its HTML, else empty."""
    if plain:
        mail.set_content(_text(plain))
    elif html:
        mail.set_content(_text(html), subtype="html")
    else:
        mail.set_content("")


def _attachment(item: Any, n: int) -> tuple[str, bytes]:
    name = ""
    for getter in ("get_long_filename", "get_name"):
        try:
            name = _text(getattr(item, getter)()) if hasattr(item, getter) else name
        except Exception:
            continue
        if name:
            break
    size = item.get_size() or 0
    data = item.read_buffer(size) if size else b""
    return name or f"attachment{n}", bytes(data)


def _as_email(message: Any, unreadable: list[str]) -> EmailMessage:
    """A PST message as a standard e-mail: subject, sender, date, body, attachments."""
    mail = EmailMessage()
    subject = _text(message.subject).replace("\r", " ").replace("\n", " ")
    if subject:
        mail["Subject"] = subject
    sender = _text(message.sender_name)
    if sender:
        mail["From"] = sender.replace("\r", " ").replace("\n", " ")
    when = message.delivery_time or message.client_submit_time
    if isinstance(when, datetime):
        mail["Date"] = format_datetime(when)
    _body(mail, message.plain_text_body, message.html_body)
    for n in range(message.number_of_attachments):
        try:
            name, data = _attachment(message.get_attachment(n), n + 1)
        except Exception as exc:  # one bad attachment never loses the message
            unreadable.append(f"attachment {n + 1}: corrupt or unreadable ({type(exc).__name__})")
            continue
        mail.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return mail


def pst_messages(path: Path) -> Iterator[PstMessage | tuple[str, str]]:
    """Every message of a PST, folder by folder, as a :class:`PstMessage`; what could not
    be read as a ``(where, reason)`` pair. The file is opened once and read message by
    message."""
    import pypff

    pst = pypff.file()
    try:
        pst.open(str(path))
    except Exception as exc:
        raise ValueError(
            f"{path} is not a readable Outlook PST/OST ({' '.join(str(exc).split())[:120]}): "
            "export the mailbox again or give an mbox"
        ) from exc
    try:
        stack: list[tuple[Any, str]] = [(pst.get_root_folder(), path.name)]
        while stack:
            folder, place = stack.pop()
            try:
                count = folder.number_of_sub_messages
            except Exception as exc:
                yield place, f"corrupt folder ({type(exc).__name__})"
                continue
            for n in range(count):
                where = f"{place}#{n + 1}"
                try:
                    message = folder.get_sub_message(n)
                    unreadable: list[str] = []
                    mail = _as_email(message, unreadable)
                    when = message.delivery_time or message.client_submit_time
                except Exception as exc:
                    yield where, f"corrupt message ({type(exc).__name__})"
                    continue
                for reason in unreadable:
                    yield where, reason
                yield PstMessage(
                    where, mail.as_bytes(), when if isinstance(when, datetime) else None
                )
            subs = []
            for n in range(folder.number_of_sub_folders):
                try:
                    sub = folder.get_sub_folder(n)
                    subs.append((sub, f"{place}/{_text(sub.name) or n + 1}"))
                except Exception as exc:
                    yield f"{place}/{n + 1}", f"corrupt folder ({type(exc).__name__})"
            stack.extend(reversed(subs))
    finally:
        pst.close()


def msg_as_email(data: bytes) -> EmailMessage:
    """An Outlook ``.msg`` as a standard e-mail (ImportError when extract-msg is absent)."""
    import extract_msg

    message: Any = extract_msg.openMsg(io.BytesIO(data))
    try:
        mail = EmailMessage()
        for header, value in (
            ("Subject", message.subject),
            ("From", message.sender),
            ("To", message.to),
            ("Cc", message.cc),
        ):
            if value:
                mail[header] = " ".join(str(value).split())
        body = message.body
        _body(mail, body, None if body else message.htmlBody)
        attachment: Any
        for n, attachment in enumerate(message.attachments, start=1):
            data_ = attachment.data
            name = attachment.longFilename or attachment.shortFilename or f"attachment{n}"
            if isinstance(data_, bytes):
                mail.add_attachment(
                    data_, maintype="application", subtype="octet-stream", filename=name
                )
            elif data_ is not None and hasattr(data_, "exportBytes"):
                mail.add_attachment(
                    data_.exportBytes(),
                    maintype="application",
                    subtype="octet-stream",
                    filename=f"{name}.msg",
                )
        return mail
    finally:
        message.close()
