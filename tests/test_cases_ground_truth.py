"""End to end on the generator's ground truth: every injected identity theft is taken
from its red flag through the whole procedure (allegation, documents, substantiation,
separation, sign-off, closing). Afterwards no victim's chart shows what was recorded in
the thief's visits, and the blood-type contradiction the thief caused no longer fires.
The medium hospital runs the same in benchmarks/bench_cases.py."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from phiwarden.cases import actions, casefile, theft, transition
from phiwarden.config import load_settings
from phiwarden.redflags.scan import run_scan
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise
from test_cases import PO, T0, _papers


def take_through(stores: Stores, flag_id: str) -> str:
    """One theft from its flag to a closed case; the case number."""
    case_id = theft.from_flag(stores, flag_id, actor="registrar", now=T0).case_id
    with stores.engine.connect() as conn:
        if casefile.get_case(conn, case_id)["state"] != "alleged":  # type: ignore[index]
            return case_id  # joined a case already taken through
    rev = _papers(stores, case_id, T0 + timedelta(days=2))
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


def test_every_injected_theft_goes_through_the_procedure(
    small_hospital: Path, tmp_path: Path
) -> None:
    from phiwarden.ingest.run import run_ingest

    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    run_ingest(
        [small_hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    before = run_scan(stores).findings
    truth = json.loads((small_hospital / "ground_truth.json").read_text())["identity_theft"]
    reg, enc = domain_table("registrations"), domain_table("encounters")
    labs, orders = domain_table("lab_results"), domain_table("orders")
    thefts: list[dict[str, Any]] = []
    with stores.engine.connect() as conn:
        for t in truth:
            row = conn.execute(
                select(reg.c.encounter_id, reg.c.patient_id).where(
                    reg.c.registration_id == t["registration_id"]
                )
            ).one()
            flag = conn.execute(
                select(red_flags.c.flag_id).where(
                    red_flags.c.registration_id == t["registration_id"]
                )
            ).first()
            if flag is None:  # found on the account or complaint, not the registration
                flag = conn.execute(
                    select(red_flags.c.flag_id).where(
                        red_flags.c.patient_id == row.patient_id,
                        red_flags.c.code.in_(("HC-COMPLAINT", "FTC-23", "FTC-24", "HC-CLINICAL")),
                    )
                ).first()
            assert flag is not None, f"the scan missed the {t['scenario']} theft"
            thefts.append({**t, "flag_id": flag[0], "encounter": row[0], "chart": row[1]})
    closed = {take_through(stores, t["flag_id"]) for t in thefts}
    assert len(closed) == len({t["chart"] for t in thefts})
    with stores.engine.connect() as conn:
        for t in thefts:
            owner = conn.execute(
                select(enc.c.patient_id).where(enc.c.encounter_id == t["encounter"])
            ).scalar_one()
            assert owner != t["chart"], f"{t['scenario']}: the visit is still on the chart"
            left = conn.execute(
                select(labs.c.result_id)
                .select_from(labs.join(orders, orders.c.order_id == labs.c.order_id))
                .where(orders.c.encounter_id == t["encounter"], labs.c.patient_id == t["chart"])
            ).all()
            assert not left, f"{t['scenario']}: the thief's results still show on the chart"
    victims = {t["chart"] for t in thefts if t["scenario"] == "blood_type_conflict"}
    assert victims and victims <= {f.patient_id for f in before if f.code == "HC-CLINICAL"}
    rescanned = run_scan(stores).findings
    assert not [f for f in rescanned if f.code == "HC-CLINICAL" and f.patient_id in victims]
    # the placeholder charts are never people to link with (so never merged with a victim)
    from phiwarden.identity.run import link_patient_index
    from phiwarden.store.case_tables import identity_placeholders
    from phiwarden.store.identity_tables import identity_index

    link_patient_index(stores)
    with stores.engine.connect() as conn:
        placeholders = {p for (p,) in conn.execute(select(identity_placeholders.c.patient_id))}
        indexed = {p for (p,) in conn.execute(select(identity_index.c.patient_id))}
    assert placeholders and not placeholders & indexed
