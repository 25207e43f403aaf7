"""Every injected identity theft of a synthetic hospital (default: the medium one, 63,000
patients) taken from its red flag through the whole procedure: allegation, the victim's
documents, substantiation, separation to the placeholder chart, every task signed off,
closing. Printed: how many thefts were flagged and taken through, how many charts still
show a thief's visit or results afterwards (should be 0), whether HC-CLINICAL still fires
on a blood-type victim after a re-scan (should not), and the time per case.

    .venv/bin/python benchmarks/bench_cases_truth.py [--size medium] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from phiwarden.cases import actions, casefile, documents, theft, transition
from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.redflags.scan import run_scan
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth import case_documents, generate
from phiwarden.synth.spec import SynthSpec

PO = {"actor": "bench", "role": "privacy_officer"}
T0 = datetime(2026, 12, 1, 9)
#: flags that find a theft on the victim's own account rather than its registration
ACCOUNT_CODES = ("HC-COMPLAINT", "FTC-23", "FTC-24", "HC-CLINICAL")


def thefts(stores: Stores, truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each injected theft with its flag (None when the scan missed it), visit and chart."""
    reg = domain_table("registrations")
    out = []
    with stores.engine.connect() as conn:
        for t in truth:
            row = conn.execute(
                select(reg.c.encounter_id, reg.c.patient_id).where(
                    reg.c.registration_id == t["registration_id"]
                )
            ).one()
            flag = (
                conn.execute(
                    select(red_flags.c.flag_id).where(
                        red_flags.c.registration_id == t["registration_id"]
                    )
                ).first()
                or conn.execute(
                    select(red_flags.c.flag_id).where(
                        red_flags.c.patient_id == row.patient_id,
                        red_flags.c.code.in_(ACCOUNT_CODES),
                    )
                ).first()
            )
            out.append(
                {**t, "flag_id": flag[0] if flag else None, "encounter": row[0], "chart": row[1]}
            )
    return out


def take_through(stores: Stores, flag_id: str) -> str:
    """One theft from its flag to a closed case; the case number."""
    case_id = theft.from_flag(stores, flag_id, actor="bench", now=T0).case_id
    with stores.engine.connect() as conn:
        case = casefile.get_case(conn, case_id)
    assert case is not None
    if case["state"] != "alleged":
        return case_id
    rev = case["revision"]
    for kind, content in (
        ("photo_id", case_documents.photo_id("Synthetic Victim", date(1980, 1, 1))),
        ("affidavit", case_documents.affidavit("Synthetic Victim", "2026-11-01")),
        ("police_report", case_documents.police_report("Synthetic Victim", "2026-11-01")),
    ):
        rev = documents.upload(stores, case_id, kind, kind, content, actor="bench", revision=rev)[
            "revision"
        ]
    rev = transition.fire(stores, case_id, "substantiate", revision=rev, **PO)["revision"]
    transition.fire(stores, case_id, "separate", revision=rev, inputs={"offender": "unknown"}, **PO)
    with stores.engine.connect() as conn:
        case = casefile.get_case(conn, case_id)
    assert case is not None
    for task in case["tasks"]:
        if task["status"] == "open":
            actions.sign_task(stores, case_id, task["task_id"], revision=None, **PO)
    transition.fire(stores, case_id, "close", revision=None, inputs={"summary": "separated"}, **PO)
    return case_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        spec = SynthSpec.size(args.size, seed=args.seed)
        result = generate(folder / "h", replace(spec, formats=("canonical",)))
        print(
            f"{args.size} hospital: {result.counts.get('patients', 0):,} patients "
            f"({time.perf_counter() - t:.0f} s to generate)"
        )
        stores, _ = initialise(load_settings(folder / "data", f"sqlite:///{folder / 's.db'}"))
        t = time.perf_counter()
        run_ingest(
            [folder / "h" / "canonical"],
            engine=stores.engine,
            protector=stores.protector,
            lake_dir=stores.settings.lake_dir,
        )
        before = run_scan(stores).findings
        print(f"ingested and scanned in {time.perf_counter() - t:.0f} s")
        truth = json.loads((folder / "h" / "ground_truth.json").read_text())["identity_theft"]
        found = thefts(stores, truth)
        flagged = [f for f in found if f["flag_id"]]
        missed = dict(Counter(f["scenario"] for f in found if not f["flag_id"]))
        print(
            f"injected thefts: {len(found)} ({dict(Counter(f['scenario'] for f in found))}); "
            f"with a red flag: {len(flagged)}"
            + (f" (no flag to open a case from: {missed})" if missed else "")
        )
        t = time.perf_counter()
        cases = {take_through(stores, f["flag_id"]) for f in flagged}
        seconds = time.perf_counter() - t
        print(
            f"taken through the procedure to closed: {len(cases)} case(s) for "
            f"{len({f['chart'] for f in flagged})} chart(s) in {seconds:.1f} s "
            f"({1000 * seconds / max(1, len(cases)):.0f} ms a case)"
        )
        enc, labs, orders = (domain_table(n) for n in ("encounters", "lab_results", "orders"))
        still = 0
        with stores.engine.connect() as conn:
            for f in flagged:
                owner = conn.execute(
                    select(enc.c.patient_id).where(enc.c.encounter_id == f["encounter"])
                ).scalar_one()
                left = conn.execute(
                    select(labs.c.result_id)
                    .select_from(labs.join(orders, orders.c.order_id == labs.c.order_id))
                    .where(orders.c.encounter_id == f["encounter"], labs.c.patient_id == f["chart"])
                ).first()
                still += owner == f["chart"] or left is not None
        print(f"charts still showing a thief's visit or results: {still}")
        victims = {f["chart"] for f in flagged if f["scenario"] == "blood_type_conflict"}
        fired_before = {x.patient_id for x in before if x.code == "HC-CLINICAL"} & victims
        after = {x.patient_id for x in run_scan(stores).findings if x.code == "HC-CLINICAL"}
        print(
            f"HC-CLINICAL on blood-type victims: {len(fired_before)} before, "
            f"{len(after & victims)} after separation"
        )
        stores.engine.dispose()


if __name__ == "__main__":
    main()
