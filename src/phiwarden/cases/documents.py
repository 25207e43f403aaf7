"""Case documents: uploads checked by their content, encrypted at rest, with their
SHA-256, and a stamped "Identity Theft" copy beside the original (seed 003 IX.5).

Only PDF, JPEG and PNG are taken, recognised from the bytes (``filetype``), never from
the file name, and up to :data:`MAX_BYTES`. The stamp is a red banner drawn on every PDF
page (reportlab overlay merged with pypdf) or on the image (Pillow); the original is
kept unchanged.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime
from typing import Any

import filetype
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from reportlab.lib.colors import Color
from reportlab.pdfgen import canvas
from sqlalchemy import insert, select, update

from phiwarden.cases.effects import Ctx, Refused, effect
from phiwarden.cases.engine import change
from phiwarden.store.case_tables import case_documents
from phiwarden.store.setup import Stores

MAX_BYTES = 10 * 1024 * 1024
ACCEPTED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
STAMP = "IDENTITY THEFT"


class BadUpload(ValueError):
    """An upload phiwarden will not keep, and why."""


def safe_name(filename: str) -> str:
    """The upload's file name reduced to letters, digits, dots, dashes and spaces (it is
    echoed in a download header and on pages)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^\w. -]", "_", base).strip(" .")[-120:]


def sniff(content: bytes) -> str:
    """The media type of an upload from its bytes; BadUpload if not PDF, JPEG or PNG."""
    if not content:
        raise BadUpload("the file is empty")
    if len(content) > MAX_BYTES:
        raise BadUpload(f"the file is {len(content):,} bytes; the limit is {MAX_BYTES:,}")
    kind = filetype.guess(content)
    if kind is None or kind.mime not in ACCEPTED:
        found = kind.mime if kind else "not a recognised type"
        raise BadUpload(f"only PDF, JPEG or PNG are accepted; this file is {found}")
    return str(kind.mime)


def _open_pdf(content: bytes) -> PdfReader:
    """The PDF's reader; BadUpload when it is encrypted or its pages cannot be parsed."""
    try:
        reader = PdfReader(io.BytesIO(content))
        encrypted = reader.is_encrypted
        if not encrypted:
            for page in reader.pages:
                page.mediabox  # noqa: B018  (reading each page's box parses it)
    except (PdfReadError, ValueError, KeyError) as exc:
        name = type(exc).__name__
        raise BadUpload(f"the PDF cannot be read ({name}): upload another copy") from exc
    if encrypted:
        raise BadUpload("the PDF is encrypted: upload an unencrypted copy")
    return reader


def _stamp_pdf(content: bytes, label: str) -> bytes:
    writer = PdfWriter(clone_from=_open_pdf(content))
    for page in writer.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        overlay = io.BytesIO()
        c = canvas.Canvas(overlay, pagesize=(w, h))
        c.setFillColor(Color(0.75, 0, 0, alpha=0.85))
        c.setFont("Helvetica-Bold", max(14, min(w, h) / 18))
        c.drawCentredString(w / 2, h - max(28, h / 14), label)
        c.save()
        page.merge_page(PdfReader(io.BytesIO(overlay.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _stamp_image(content: bytes, label: str, media_type: str) -> bytes:
    try:
        opened = Image.open(io.BytesIO(content))
        opened.load()
    except Exception as exc:  # Pillow raises many types for a corrupt image
        raise BadUpload("the image cannot be read: upload another copy") from exc
    image = opened.convert("RGB")
    draw = ImageDraw.Draw(image)
    size = max(14, image.width // 14)
    font = ImageFont.load_default(size=size)
    box = draw.textbbox((0, 0), label, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    x, y = (image.width - tw) // 2, max(4, image.height // 30)
    draw.rectangle((x - 8, y - 6, x + tw + 8, y + th + 12), fill=(255, 255, 255))
    draw.text((x, y), label, fill=(190, 0, 0), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG" if media_type == "image/png" else "JPEG", quality=90)
    return out.getvalue()


def stamped(content: bytes, media_type: str, case_id: str) -> bytes:
    """A copy of the document with the identity-theft banner."""
    label = f"{STAMP} - case {case_id}"
    if media_type == "application/pdf":
        return _stamp_pdf(content, label)
    return _stamp_image(content, label, media_type)


def upload(
    stores: Stores,
    case_id: str,
    kind: str,
    filename: str,
    content: bytes,
    *,
    actor: str,
    revision: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Keep an uploaded document on the case (checked, encrypted, hashed); the case after."""
    media_type = sniff(content)
    if media_type == "application/pdf":
        _open_pdf(content)  # refuse an unreadable or encrypted PDF now, not at stamping
    digest = hashlib.sha256(content).hexdigest()

    def work(ctx: Ctx) -> None:
        if kind not in ctx.procedure.documents and kind != "other":
            kinds = ", ".join([*ctx.procedure.documents, "other"])
            raise Refused(f"unknown document kind {kind!r}: use one of {kinds}")
        title = ctx.procedure.documents[kind].title if kind != "other" else "Other document"
        ctx.conn.execute(
            insert(case_documents).values(
                case_id=case_id,
                kind=kind,
                filename=safe_name(filename) or f"{kind}.{ACCEPTED[media_type]}",
                media_type=media_type,
                size=len(content),
                sha256=digest,
                content_encrypted=stores.protector.fernet.encrypt(content),
                uploaded_at=ctx.now,
                uploaded_by=ctx.actor,
            )
        )
        cites = ctx.procedure.documents[kind].cites if kind != "other" else None
        ctx.event("document", f"Document received: {title}", cites=cites, detail={"sha256": digest})
        if ctx.case["state"] not in ("alleged",):
            annotate_documents(ctx)

    return change(stores, case_id, revision, actor, work, now=now)


@effect("annotate_documents")
def annotate_documents(ctx: Ctx) -> None:
    """IX.5: once the papers are in, "Identity Theft" is noted on each (a stamped copy)."""
    rows = ctx.conn.execute(
        select(
            case_documents.c.document_id,
            case_documents.c.media_type,
            case_documents.c.content_encrypted,
        ).where(
            case_documents.c.case_id == ctx.case_id, case_documents.c.stamped_encrypted.is_(None)
        )
    ).all()
    for document_id, media_type, token in rows:
        copy = stamped(ctx.stores.protector.fernet.decrypt(token), media_type, ctx.case_id)
        ctx.conn.execute(
            update(case_documents)
            .where(case_documents.c.document_id == document_id)
            .values(
                stamped_encrypted=ctx.stores.protector.fernet.encrypt(copy),
                stamped_sha256=hashlib.sha256(copy).hexdigest(),
            )
        )
    if rows:
        ctx.event("document", f'{len(rows)} document(s) annotated "Identity Theft"', cites="IX.5")


def read_document(
    stores: Stores, case_id: str, document_id: int, copy: str = "original"
) -> tuple[dict[str, Any], bytes]:
    """A document's record and its bytes (the original, or the stamped copy)."""
    with stores.engine.connect() as conn:
        row = (
            conn.execute(
                select(case_documents).where(
                    case_documents.c.case_id == case_id, case_documents.c.document_id == document_id
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise LookupError(f"case {case_id} has no document {document_id}")
    token = row["stamped_encrypted"] if copy == "stamped" else row["content_encrypted"]
    if token is None:
        raise LookupError(
            f"document {document_id} has no stamped copy yet (it is stamped on substantiation)"
        )
    meta = {
        k: row[k]
        for k in (
            "document_id",
            "kind",
            "filename",
            "media_type",
            "size",
            "sha256",
            "stamped_sha256",
        )
    }
    return meta, stores.protector.fernet.decrypt(token)
