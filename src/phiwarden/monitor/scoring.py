"""Combine detector signals into one scored alert per user, with reasons in plain words.

Each detector contributes its weight (times the strongest ``factor`` among its rows),
raised by half for a second patient and again for a third: one detector firing on many
patients counts more than on one, but cannot alone outweigh several independent
reasons. A user whose summed score reaches the threshold gets an alert; suppressions
(an investigator found that user, patient and reason appropriate) are removed first.

Detectors of common attributes (a VIP, an employee, a neighbour) are weighed against
chance: with ``n`` unexplained patients and the attribute on a share ``r`` of all users'
unexplained patients, ``n * r`` hits are expected. The weight is scaled by the Poisson
surprise of the observed count, -log10 P(X >= k), reaching full weight at
:data:`FULL_SURPRISE`: one VIP among a covering nurse's forty unexplained patients is
chance, three VIPs among five is not.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from phiwarden.monitor.catalogue import BY_CODE
from phiwarden.monitor.config import MonitorConfig
from phiwarden.monitor.store import AlertDraft

#: Evidence rows kept per reason (the patient list itself is complete).
EVIDENCE_LIMIT = 50
#: Reasons contributing less than this are chance and are not listed.
NEGLIGIBLE = 0.1
#: -log10 of the chance probability at which a common attribute counts in full: p <= 0.01.
#: Measured (bench_monitor at 3M and 10M): 3.0 (p <= 0.001) missed the VIP snoopers with
#: a single victim (recall 38/40 at 10M); 2.0 catches all 40 and adds no false alert.
FULL_SURPRISE = 2.0


def surprise(k: int, expected: float) -> float:
    """-log10 of the Poisson probability of at least ``k`` hits when ``expected`` are due."""
    if k <= 0:
        return 0.0
    if expected <= 0:
        return FULL_SURPRISE
    term = math.exp(-expected)
    below = 0.0
    for i in range(k):
        below += term
        term *= expected / (i + 1)
    tail = max(1.0 - below, 1e-300)
    return -math.log10(tail)


def _breadth(patients: int) -> float:
    return 1.0 + 0.5 * min(max(patients - 1, 0), 2)


def score_signals(
    signals: pa.Table,
    config: MonitorConfig,
    suppressed: Iterable[tuple[str, str, str]] = (),
    accesses: Mapping[tuple[str, str], int] | None = None,
) -> list[AlertDraft]:
    """Alerts (highest score first) from a table of (code, user_id, patient_id, factor, detail).

    ``accesses`` gives the unexplained access count of each (user, patient), reported as
    the alert's access count.
    """
    skip = set(suppressed)
    patients_of: dict[str, int] = defaultdict(int)
    for user, _patient in accesses or {}:
        patients_of[user] += 1
    total_pairs = max(len(accesses or {}), 1)
    hits_of: dict[str, set[tuple[str, str]]] = defaultdict(set)
    found: dict[str, dict[str, dict[str, tuple[float, str]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    cols = [
        signals.column(c).to_pylist() for c in ("code", "user_id", "patient_id", "factor", "detail")
    ]
    for code, user, patient, factor, detail in zip(*cols, strict=True):
        if (user, patient, code) in skip:
            continue
        found[user][code][patient] = (float(factor), str(detail))
        hits_of[code].add((user, patient))
    drafts: list[AlertDraft] = []
    order = list(BY_CODE)
    for user, by_code in found.items():
        reasons: list[dict[str, Any]] = []
        total = 0.0
        for code in sorted(by_code, key=order.index):
            hits = by_code[code]
            det = BY_CODE[code]
            weight = config.weight(code, det.weight) * max(f for f, _ in hits.values())
            contribution = weight * (_breadth(len(hits)) if det.per_patient else 1.0)
            if det.common and accesses:
                rate = len(hits_of[code]) / total_pairs
                chance = surprise(len(hits), patients_of[user] * rate)
                contribution *= min(1.0, chance / FULL_SURPRISE)
            total += contribution
            if contribution < NEGLIGIBLE:
                continue  # a chance finding: counted, not listed as a reason
            patients = sorted(hits)
            reasons.append(
                {
                    "code": code,
                    "title": det.title,
                    "text": det.reason.format(n=len(patients)),
                    "weight": round(contribution, 3),
                    "patient_ids": patients,
                    "evidence": [
                        {"patient_id": pid, "detail": hits[pid][1]}
                        for pid in patients[:EVIDENCE_LIMIT]
                    ],
                }
            )
        if total < config.alert_threshold:
            continue
        reasons.sort(key=lambda r: -float(r["weight"]))
        patients = sorted({pid for r in reasons for pid in r["patient_ids"]})
        n = sum((accesses or {}).get((user, pid), 0) for pid in patients)
        drafts.append(AlertDraft(user, round(total, 3), reasons, patients, n))
    drafts.sort(key=lambda d: (-d.score, d.user_id))
    return drafts
