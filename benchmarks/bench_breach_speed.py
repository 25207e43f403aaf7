"""Breach scan speed and memory (figures printed, never asserted): a mixed mailbox of at
least 500 MB scanned into the store by ``breach scan``'s process pool on both cores. It
is the generator's phished mailbox (messages carrying XLSX, CSV, PDF and DOCX attachments
full of patients' data) written out again and again, with ordinary mail between the
copies (newsletter PDFs, budget workbooks, minutes, photos: nine bytes to one of the
phished mailbox). Also: the same scan of a fifth of the size, to show that memory stays
flat as the mailbox grows; a mailbox of nothing but the phished one's copies (the densest
case: every message names patients); and
the fast path and plain Presidio (AnalyzerEngine, default recognizers, no NLP model) in
one process on one copy of the mailbox, the reference the issue names.

    .venv/bin/python benchmarks/bench_breach_speed.py [--mb 500] [--size small]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from measure import PeakRss
from phished import phished_hospital
from phiwarden.breach.incident import Incident, open_incident
from phiwarden.breach.scan import default_workers, scan_paths
from phiwarden.breach.scope import scope
from phiwarden.breach.units import plan, read_unit


def _grow(one: Path, target: Path, mb: int, ordinary: list[bytes] | None = None) -> int:
    """Write copies of ``one`` until ``target`` holds ``mb`` MB; with ``ordinary``,
    ordinary mail (no patient data) between the copies, nine bytes of it to one of the
    phished mailbox's. Its size."""
    data = one.read_bytes()
    with target.open("wb") as out:
        written, k = 0, 0
        while written < mb * 1_000_000:
            out.write(data)
            written += len(data)
            if ordinary:
                filler = 0
                while filler < 9 * len(data):
                    message = ordinary[k % len(ordinary)]
                    out.write(b"From staff@hospital.example.org Mon Jan  5 09:00:00 2026\n")
                    out.write(message.replace(b"\nFrom ", b"\n>From ") + b"\n")
                    filler += len(message)
                    k += 1
                written += filler
    return written


def ordinary_mail(seed: int = 7) -> list[bytes]:
    """Twenty ordinary messages with no patient data: a newsletter PDF, a budget XLSX,
    meeting minutes in DOCX, a photo (JPEG, not read without OCR), each with a short body."""
    import io
    from datetime import datetime
    from email.message import EmailMessage

    import numpy as np
    from PIL import Image

    from phiwarden.synth import mailbox_documents as docs

    rng = np.random.default_rng(seed)
    words = [
        *("the", "quarterly", "review", "of", "staffing", "budget", "parking", "facilities"),
        *("training", "schedule", "update", "committee", "policy", "room", "floor"),
        *("meeting", "agenda", "quality", "safety", "project", "team"),
    ]

    def prose(n: int) -> str:
        return " ".join(words[int(i)] for i in rng.integers(0, len(words), n)).capitalize() + "."

    out = []
    for k in range(20):
        msg = EmailMessage()
        msg["From"], msg["To"] = (
            "Facilities <facilities@hospital.example.org>",
            "staff@hospital.example.org",
        )
        msg["Subject"] = f"Update {k}: " + prose(4)
        msg["Message-ID"] = f"<ordinary.{k}@hospital.example.org>"
        msg.set_content("Hi all,\n\n" + " ".join(prose(18) for _ in range(6)))
        kind = k % 4
        if kind == 0:
            data = docs.pdf_letter(f"Newsletter {k}", [prose(60) for _ in range(40)])
            msg.add_attachment(data, maintype="application", subtype="pdf", filename=f"news{k}.pdf")
        elif kind == 1:
            rows = [
                [prose(3), *(round(float(x), 2) for x in rng.uniform(0, 9e4, 6))]
                for _ in range(400)
            ]
            data = docs.xlsx_workbook(
                "Budget",
                ["Line", "Q1", "Q2", "Q3", "Q4", "Plan", "Actual"],
                rows,
                datetime(2026, 1, 5),
            )
            msg.add_attachment(
                data,
                maintype="application",
                subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                filename=f"budget{k}.xlsx",
            )
        elif kind == 2:
            data = docs.docx_document(
                f"Minutes {k}",
                [prose(50) for _ in range(30)],
                [("Chair", "Facilities lead")],
                datetime(2026, 1, 5),
            )
            msg.add_attachment(
                data,
                maintype="application",
                subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                filename=f"minutes{k}.docx",
            )
        else:
            pixels = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, "JPEG", quality=70)
            msg.add_attachment(
                buffer.getvalue(), maintype="image", subtype="jpeg", filename=f"photo{k}.jpg"
            )
        out.append(msg.as_bytes())
    return out


def _scan(stores: object, box: Path, label: str) -> None:
    from datetime import date

    incident = open_incident(
        stores,  # type: ignore[arg-type]
        Incident(title=label, discovered=date.today(), type="hacking", location="email"),
        actor="bench",
    )
    rss = PeakRss(children=True)
    with rss:
        stats = scan_paths(stores, incident, [box], actor="bench")  # type: ignore[arg-type]
    with stores.engine.connect() as conn:  # type: ignore[attr-defined]
        people = scope(conn, incident)["people"]
    mb = stats.bytes / 1e6
    print(
        f"{label}: {mb:,.0f} MB, {stats.messages:,} messages, {stats.attachments:,} "
        f"attachments in {stats.seconds:.1f} s = {mb / stats.seconds:.2f} MB/s on "
        f"{default_workers()} processes; peak memory {rss.peak / 2**20:,.0f} MiB (all processes); "
        f"{len(people):,} people"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--size", default="medium", help="the hospital the mailbox is drawn from")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        stores, one, _truth = phished_hospital(d, args.size, args.seed)
        kinds: dict[str, int] = {}
        for unit in plan(one):
            for item in read_unit(unit):
                ext = item.where.rsplit("/", 1)[-1].split("#")[0].rsplit(".", 1)[-1]
                kinds[ext] = kinds.get(ext, 0) + 1
        print(
            f"one mailbox: {one.stat().st_size / 1e6:.1f} MB; parts: "
            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        )
        ordinary = ordinary_mail(args.seed)
        dense, small, big = d / "dense.mbox", d / "fifth.mbox", d / "big.mbox"
        _grow(one, small, args.mb // 5, ordinary)
        _grow(one, big, args.mb, ordinary)
        _scan(stores, small, f"mixed mailbox of {args.mb // 5} MB (1 byte in 10 phished)")
        _scan(stores, big, f"mixed mailbox of {args.mb} MB (1 byte in 10 phished)")
        big.unlink()
        _grow(one, dense, args.mb // 5)
        _scan(
            stores,
            dense,
            f"all-patient-data mailbox of {args.mb // 5} MB (copies of the phished one)",
        )
        from phiwarden.breach.people import Index, scope_items
        from phiwarden.breach.presidio import plain_hits

        index = Index.load(stores.engine, stores.protector)
        plain_hits("warm up 219-09-9999")
        for recognizer in ("fast", "plain-presidio"):
            t = time.perf_counter()
            scope_items((i for u in plan(one) for i in read_unit(u)), index, recognizer)
            seconds = time.perf_counter() - t
            print(
                f"{recognizer}, one process, the whole scan of one mailbox in memory: "
                f"{one.stat().st_size / 1e6 / seconds:.2f} MB/s"
            )
        stores.engine.dispose()


if __name__ == "__main__":
    main()
