"""Billing accounts, their transactions, and complaints about bills.

Every patient with an encounter has an account, some inpatient stays have their own, and
encounters an injected theft groups together share a separate one. A charge posts a few
days after discharge; the payer pays weeks later with a contractual adjustment (CO-45);
copays are taken at check-in. Amounts are signed: charges positive, payments and
adjustments negative, so an account's balance is their sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import AccountStatus, TransactionKind
from phiwarden.synth.columns import (
    DAY,
    HOUR,
    MINUTE,
    NULL_DAY,
    NULL_TS,
    Frame,
    next_weekday,
    take,
    unique_ints,
)
from phiwarden.synth.coverage import PAYERS, Coverages
from phiwarden.synth.encounters import ED, IP, OP, TH, Encounters, Forced
from phiwarden.synth.ids import account_ids, contact_ids, encounter_ids, ids, patient_ids
from phiwarden.synth.population import Population
from phiwarden.synth.registration import Registrations
from phiwarden.synth.timeline import Window

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Obj = npt.NDArray[np.object_]

STATUSES = tuple(s.value for s in AccountStatus)
TX_KINDS = tuple(k.value for k in TransactionKind)
CHARGE, PAYER_PAY, PATIENT_PAY, ADJUST = (
    TX_KINDS.index(k.value)
    for k in (
        TransactionKind.CHARGE,
        TransactionKind.PAYER_PAYMENT,
        TransactionKind.PATIENT_PAYMENT,
        TransactionKind.ADJUSTMENT,
    )
)
ADJUSTMENT_CODES = ("CO-45", "CO-97", "OA-23")
COMPLAINT_KINDS = ("bill", "eob", "collection_notice", "credit_report")
LEGIT_COMPLAINTS = (
    "Disputes the amount billed; says the copay was already paid at check-in",
    "Explanation of benefits shows a lower allowed amount than the bill",
    "Received a collection notice for a balance the insurance should have paid",
    "Credit report shows a medical collection that was settled",
)
#: Median charge per encounter type (inpatient: per day of stay).
CHARGE_MEDIAN = {OP: 220.0, TH: 110.0, ED: 1600.0, IP: 3500.0}


@dataclass
class Billing:
    """Accounts, transactions and complaints (complaints and returned mail are editable)."""

    acct_patient: IntArray
    acct_opened: IntArray
    acct_status: IntArray
    acct_guarantor: IntArray
    acct_returned: IntArray
    acct_returned_at: IntArray
    enc_account: IntArray
    tx_account: IntArray
    tx_enc: IntArray
    tx_at: IntArray
    tx_kind: IntArray
    tx_amount: FloatArray
    tx_code: IntArray
    tx_payer: IntArray
    cp_patient: IntArray
    cp_account: IntArray
    cp_kind: IntArray
    cp_at: IntArray
    cp_text: Obj

    def last_activity(self) -> IntArray:
        """Latest transaction time per account (opening time if none)."""
        out = self.acct_opened.copy()
        np.maximum.at(out, self.tx_account, self.tx_at)
        return out


def _accounts(
    window: Window,
    pop: Population,
    enc: Encounters,
    forced: Forced,
    reg: Registrations,
    guarantor: IntArray,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    n = enc.n
    patients = unique_ints(enc.patient)
    default = np.full(pop.n, -1, dtype=np.int64)
    default[patients] = np.arange(len(patients))
    enc_acct = default[enc.patient]
    group = np.where(enc.forced >= 0, forced.account_group[np.maximum(enc.forced, 0)], -1)
    own = (enc.etype == IP) & (rng.random(n) < 0.5) & (group < 0)
    key = np.where(group >= 0, -1 - group, np.where(own, np.arange(n), -(10**12)))
    special = np.flatnonzero(key != -(10**12))
    _, first, inv = np.unique(key[special], return_index=True, return_inverse=True)
    enc_acct[special] = len(patients) + inv
    acct_patient = np.concatenate([patients, enc.patient[special[first]]])
    first_reg = np.full(pop.n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_reg, enc.patient, reg.at)
    history = (
        window.start
        - rng.integers(30, 3000, len(patients)) * DAY
        + rng.integers(8, 17, len(patients)) * HOUR
    )
    opened_default = np.where(
        pop.new[patients], first_reg[patients], np.minimum(history, first_reg[patients])
    )
    opened = np.concatenate([opened_default, reg.at[special[first]]])
    return acct_patient, opened, enc_acct, guarantor[acct_patient]


def build_billing(
    window: Window,
    pop: Population,
    cov: Coverages,
    enc: Encounters,
    forced: Forced,
    reg: Registrations,
    guarantor: IntArray,
    rng: np.random.Generator,
) -> Billing:
    """Accounts and transactions for all encounters, and a few legitimate complaints."""
    acct_patient, opened, enc_acct, acct_guarantor = _accounts(
        window, pop, enc, forced, reg, guarantor, rng
    )
    n_acct = len(acct_patient)
    txs: list[tuple[IntArray, IntArray, IntArray, FloatArray, IntArray, IntArray]] = []
    insured = reg.coverage >= 0
    payer = np.where(insured, cov.payer[np.maximum(reg.coverage, 0)], -1)
    done = np.flatnonzero(enc.end != NULL_TS)
    charge_at = next_weekday(enc.end[done] // DAY + rng.integers(1, 5, len(done))) * DAY + (
        (8.5 + rng.random(len(done)) * 8) * HOUR
    ).astype(np.int64)
    stay_days = np.maximum(1, (enc.end[done] - enc.start[done]) // DAY)
    median = np.array([CHARGE_MEDIAN[t] for t in range(4)])[enc.etype[done]]
    amount = np.round(
        median * np.where(enc.etype[done] == IP, stay_days, 1) * rng.lognormal(0, 0.4, len(done)), 2
    )
    posted = charge_at < window.end
    e, at, amount = done[posted], charge_at[posted], amount[posted]
    txs.append((e, at, np.full(len(e), CHARGE), amount, np.full(len(e), -1), payer[e]))
    cop = np.flatnonzero(insured & np.isin(enc.etype, (OP, TH, ED)) & (rng.random(enc.n) < 0.6))
    copay = -rng.choice([20.0, 25.0, 30.0, 40.0, 50.0, 75.0], size=len(cop))
    txs.append(
        (
            cop,
            reg.at[cop] + rng.integers(2, 15, len(cop)) * MINUTE,
            np.full(len(cop), PATIENT_PAY),
            copay,
            np.full(len(cop), -1),
            np.full(len(cop), -1),
        )
    )
    paid_at = at + rng.integers(14, 36, len(e)) * DAY
    by_payer = insured[e] & (paid_at < window.end)
    pe, pat, pamt = e[by_payer], paid_at[by_payer], amount[by_payer]
    txs.append(
        (
            pe,
            pat,
            np.full(len(pe), PAYER_PAY),
            -np.round(pamt * rng.uniform(0.45, 0.8, len(pe)), 2),
            np.full(len(pe), -1),
            payer[pe],
        )
    )
    code = rng.choice(len(ADJUSTMENT_CODES), size=len(pe), p=(0.85, 0.10, 0.05))
    txs.append(
        (
            pe,
            pat,
            np.full(len(pe), ADJUST),
            -np.round(pamt * rng.uniform(0.1, 0.3, len(pe)), 2),
            code,
            payer[pe],
        )
    )
    self_pay = ~insured[e] & (rng.random(len(e)) < 0.3)
    se, sat = e[self_pay], at[self_pay] + rng.integers(10, 30, int(self_pay.sum())) * DAY
    keep = sat < window.end
    txs.append(
        (
            se[keep],
            sat[keep],
            np.full(int(keep.sum()), PATIENT_PAY),
            -np.round(amount[self_pay][keep] * rng.uniform(0.1, 0.5, int(keep.sum())), 2),
            np.full(int(keep.sum()), -1),
            np.full(int(keep.sum()), -1),
        )
    )
    t_enc = np.concatenate([t[0] for t in txs])
    t_at = np.concatenate([t[1] for t in txs])
    order = np.lexsort((t_enc, t_at))
    bill = Billing(
        acct_patient=acct_patient,
        acct_opened=opened,
        acct_status=np.where(rng.random(n_acct) < 0.02, STATUSES.index("collections"), 0),
        acct_guarantor=acct_guarantor,
        acct_returned=np.zeros(n_acct, dtype=np.int64),
        acct_returned_at=np.full(n_acct, NULL_TS, dtype=np.int64),
        enc_account=enc_acct,
        tx_account=enc_acct[t_enc[order]],
        tx_enc=t_enc[order],
        tx_at=t_at[order],
        tx_kind=np.concatenate([t[2] for t in txs])[order],
        tx_amount=np.concatenate([t[3] for t in txs])[order],
        tx_code=np.concatenate([t[4] for t in txs])[order],
        tx_payer=np.concatenate([t[5] for t in txs])[order],
        cp_patient=np.zeros(0, np.int64),
        cp_account=np.zeros(0, np.int64),
        cp_kind=np.zeros(0, np.int64),
        cp_at=np.zeros(0, np.int64),
        cp_text=np.zeros(0, dtype=object),
    )
    _returned_mail_noise(bill, window, rng)
    _legit_complaints(bill, window, rng)
    return bill


def _returned_mail_noise(bill: Billing, window: Window, rng: np.random.Generator) -> None:
    """Honest noise: some mail comes back once; for a few accounts twice, with no activity since."""
    n = len(bill.acct_patient)
    once = rng.random(n) < 0.03
    bill.acct_returned[once] = 1
    bill.acct_returned_at[once] = np.minimum(
        bill.acct_opened[once] + rng.integers(10, 400, int(once.sum())) * DAY, window.start - DAY
    )
    twice = np.flatnonzero(~once & (rng.random(n) < 0.005))
    when = bill.last_activity()[twice] + rng.integers(5, 20, len(twice)) * DAY
    ok = when < window.end
    bill.acct_returned[twice[ok]] = 2
    bill.acct_returned_at[twice[ok]] = when[ok]


def _legit_complaints(bill: Billing, window: Window, rng: np.random.Generator) -> None:
    charges = np.flatnonzero(bill.tx_kind == CHARGE)
    chosen = charges[rng.random(len(charges)) < 0.004]
    at = bill.tx_at[chosen] + rng.integers(5, 25, len(chosen)) * DAY
    chosen, at = chosen[at < window.end], at[at < window.end]
    kind = rng.choice(len(COMPLAINT_KINDS), size=len(chosen), p=(0.5, 0.3, 0.15, 0.05))
    bill.cp_account = bill.tx_account[chosen]
    bill.cp_patient = bill.acct_patient[bill.cp_account]
    bill.cp_kind, bill.cp_at = kind, at
    bill.cp_text = np.array([LEGIT_COMPLAINTS[k] for k in kind], dtype=object)


def accounts_frame(bill: Billing) -> Frame:
    """The ``billing_accounts`` table columns."""
    n = len(bill.acct_patient)
    balance = np.zeros(n)
    np.add.at(balance, bill.tx_account, bill.tx_amount)
    return {
        "account_id": account_ids(np.arange(n)),
        "patient_id": patient_ids(bill.acct_patient),
        "guarantor_contact_id": contact_ids(bill.acct_guarantor),
        "opened_at": bill.acct_opened,
        "balance": np.round(balance, 2),
        "status": take(STATUSES, bill.acct_status),
        "suspended_until": np.full(n, NULL_DAY, dtype=np.int64),
        "returned_mail_count": bill.acct_returned,
        "last_returned_mail_at": bill.acct_returned_at,
        "last_activity_at": bill.last_activity(),
    }


def transactions_frame(bill: Billing) -> Frame:
    """The ``transactions`` table columns."""
    return {
        "transaction_id": ids("T", np.arange(len(bill.tx_account))),
        "account_id": account_ids(bill.tx_account),
        "encounter_id": encounter_ids(bill.tx_enc),
        "posted_at": bill.tx_at,
        "kind": take(TX_KINDS, bill.tx_kind),
        "amount": bill.tx_amount,
        "adjustment_code": take(ADJUSTMENT_CODES, bill.tx_code),
        "payer": take(PAYERS, bill.tx_payer),
    }


def complaints_frame(bill: Billing) -> Frame:
    """The ``complaints`` table columns."""
    order = np.argsort(bill.cp_at, kind="stable")
    return {
        "complaint_id": ids("CP", np.arange(len(order))),
        "patient_id": patient_ids(bill.cp_patient[order]),
        "account_id": account_ids(bill.cp_account[order]),
        "kind": take(COMPLAINT_KINDS, bill.cp_kind[order]),
        "received_at": bill.cp_at[order],
        "description": bill.cp_text[order],
    }
