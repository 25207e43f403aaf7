"""Sending the letters: one PDF per letter written in a process pool, the mailing list
(``mailing.csv``), the people without a usable address (``insufficient.csv``), the letters
to mail again at a corrected address (``remail.csv``), and the record of every letter the
call centre and returned mail work from (``breach_letters``)."""

from __future__ import annotations

import csv
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from phiwarden.breach.letter_pdf import render_pdf
from phiwarden.breach.letters import Batch, Letter


def _write_batch(args: tuple[list[Letter], dict[str, Any], date, str]) -> int:
    letters, entity, today, out = args
    for letter in letters:
        (Path(out) / f"{letter.reference}.pdf").write_bytes(render_pdf(letter, entity, today))
    return len(letters)


MAILING = (
    "reference",
    "name",
    "address",
    "state",
    "variant",
    "language",
    "credit_monitoring",
    "enrolment_code",
    "elements",
)


def write(
    batch: Batch, out_dir: Path, entity: dict[str, Any], today: date, workers: int = 2
) -> dict[str, Any]:
    """Write one PDF per letter (in ``workers`` processes), ``mailing.csv`` and
    ``insufficient.csv``; what was written."""
    letters_dir = out_dir / "letters"
    letters_dir.mkdir(parents=True, exist_ok=True)
    everyone = batch.letters + batch.insufficient
    chunks = [everyone[i : i + 200] for i in range(0, len(everyone), 200)]
    jobs = [(chunk, entity, today, str(letters_dir)) for chunk in chunks]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            written = sum(pool.map(_write_batch, jobs))
    else:
        written = sum(_write_batch(job) for job in jobs)
    for name, rows in (("mailing.csv", batch.letters), ("insufficient.csv", batch.insufficient)):
        with (out_dir / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(MAILING)
            for letter in rows:
                writer.writerow(
                    [
                        letter.reference,
                        letter.name,
                        letter.address,
                        letter.state or "",
                        letter.variant,
                        letter.language,
                        "true" if letter.credit_code else "false",
                        letter.credit_code or "",
                        ";".join(letter.elements),
                    ]
                )
    return {
        "letters": written,
        "mailing": len(batch.letters),
        "insufficient": len(batch.insufficient),
        "duplicates_removed": batch.duplicates,
        "credit_monitoring": sum(1 for x in everyone if x.credit_code),
        "out": str(out_dir),
    }


def record_letters(engine: Any, incident_id: str, batch: Batch, now: datetime | None = None) -> int:
    """Keep every letter written (the call centre looks them up; returned mail and address
    corrections change them). A letter already recorded keeps its status; new ones are
    ``ready`` or, without a usable address, ``insufficient``. How many were new."""
    from sqlalchemy import insert

    from phiwarden.store.breach_tables import breach_letters

    at = (now or datetime.now()).replace(microsecond=0)
    rows = [
        {
            "reference": x.reference,
            "incident_id": incident_id,
            "person": x.person,
            "patient_id": x.person if not x.person.startswith("u:") else None,
            "name": x.name[:255],
            "address": x.address,
            "state": x.state,
            "variant": x.variant,
            "language": x.language,
            "credit_code": x.credit_code,
            "elements": x.elements,
            "status": "ready" if x.usable_address else "insufficient",
            "generated_at": at,
        }
        for x in batch.letters + batch.insufficient
    ]
    with engine.begin() as conn:
        known = set(
            conn.execute(
                select(breach_letters.c.reference).where(
                    breach_letters.c.incident_id == incident_id
                )
            ).scalars()
        )
        new = [r for r in rows if r["reference"] not in known]
        for start in range(0, len(new), 1_000):
            conn.execute(insert(breach_letters), new[start : start + 1_000])
    return len(new)


def write_remail(engine: Any, incident_id: str, out_dir: Path) -> int:
    """``remail.csv``: the letters a caller gave a corrected address for, to mail again
    (their PDF is in ``letters/`` under the same reference); how many."""
    from phiwarden.store.breach_tables import breach_letters

    t = breach_letters.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.reference, t.name, t.address, t.state, t.variant, t.language, t.credit_code)
            .where(t.incident_id == incident_id, t.status == "remail")
            .order_by(t.reference)
        ).all()
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "remail.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ("reference", "name", "address", "state", "variant", "language", "credit_monitoring")
        )
        for r in rows:
            writer.writerow(
                [
                    r.reference,
                    r.name,
                    r.address,
                    r.state or "",
                    r.variant,
                    r.language,
                    "true" if r.credit_code else "false",
                ]
            )
    return len(rows)
