"""How surprising a count is by chance, and what chance is for one user.

The Poisson tail (:func:`surprise`) is shared by scoring and the detectors. What a user
meets by chance (:func:`peer_chance`) is taken from the user's peers: the same role
opens the same kind of patients (a registrar checks in whoever arrives, a call-centre
agent takes whoever calls), so how often *their* unexplained patients carry an attribute
(a VIP, an employee, the user's surname or street) is the fair comparison. Without
enough peers it is the share of the whole patient index.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping

import pyarrow as pa

from phiwarden.monitor.signals import Inputs

#: Fewest unexplained pairs a user's peers (the user left out) must have for their rate
#: to stand for chance.
PEER_MIN_PAIRS = 500

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


def peer_chance(
    inputs: Inputs,
    patient_keys: Mapping[str, Hashable],
    user_keys: Mapping[str, Hashable | None] | None = None,
) -> dict[str, float]:
    """Per user: how often one of their unexplained patients has the user's key by chance.

    ``patient_keys`` maps a patient to its key (only patients that have one);
    ``user_keys`` maps a user to the key that counts for them (a surname's sound); None
    means every user looks for the same key, ``True`` (a VIP, an employee).
    """
    pairs = inputs.pairs.select("user_id", "patient_id").to_pyarrow()
    roles = inputs.of_users("role")
    group_n: Counter[str] = Counter()
    user_n: Counter[str] = Counter()
    group_hits: Counter[tuple[str, Hashable]] = Counter()
    user_hits: Counter[tuple[str, Hashable]] = Counter()
    users, patients = pairs["user_id"].to_pylist(), pairs["patient_id"].to_pylist()
    for user, patient in zip(users, patients, strict=True):
        group = str(roles.get(user))
        group_n[group] += 1
        user_n[user] += 1
        key = patient_keys.get(patient)
        if key is not None:
            group_hits[(group, key)] += 1
            user_hits[(user, key)] += 1
    population = Counter(patient_keys.values())
    total = max(inputs.ctx.arrow["patient_index"].num_rows, 1)
    out: dict[str, float] = {}
    for user in inputs.ctx.arrow["workforce"]["user_id"].to_pylist():
        key = True if user_keys is None else user_keys.get(user)
        if key is None:
            continue
        group = str(roles.get(user))
        peers = group_n[group] - user_n[user]
        if peers >= PEER_MIN_PAIRS:
            out[user] = (group_hits[(group, key)] - user_hits[(user, key)]) / peers
        else:
            out[user] = population[key] / total
    return out


def peer_chance_of_key(inputs: Inputs, column: str) -> dict[str, float]:
    """:func:`peer_chance` for a key both people have (``last_sound``, ``street_key``)."""
    a = inputs.ctx.arrow
    return peer_chance(
        inputs,
        keys_of(a["patient_index"], column, "patient_id"),
        keys_of(a["workforce"], column, "user_id"),
    )


def keys_of(table: pa.Table, key: str, ident: str) -> dict[str, Hashable]:
    """``ident`` -> ``key`` of an Arrow table's rows whose key is set."""
    ids, values = table[ident].to_pylist(), table[key].to_pylist()
    return {i: v for i, v in zip(ids, values, strict=True) if v is not None}
