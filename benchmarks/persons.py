"""Synthetic person records with planted duplicates, for the linkage benchmarks.

People are drawn from the synthetic hospital's name, street and town lists; about a third
live in households that share an address, phone and family name (the hard case for a
linker). A tenth of the people get a second record with the errors registration makes:
typos, nicknames, swapped first/last name, a missing or mistyped SSN, abbreviations,
another phone format, or a new address. The planted pairs are the ground truth.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from phiwarden.identity.names import nicknames
from phiwarden.identity.records import PERSON_COLUMNS
from phiwarden.synth.names import vocab

COLUMNS = PERSON_COLUMNS


def _typo(rng: np.random.Generator, s: str) -> str:
    if len(s) < 3:
        return s
    i = int(rng.integers(0, len(s) - 1))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    if kind == 1:
        return s[:i] + s[i + 1 :]
    return s[:i] + "aeiou"[int(rng.integers(0, 5))] + s[i + 1 :]


def generate(
    n_records: int, seed: int = 3, dup_share: float = 0.1
) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """``n_records`` rows (COLUMNS order) and the true duplicate pairs of record ids."""
    rng = np.random.default_rng(seed)
    v = vocab()
    female, male = v.female.to_pylist(), v.male.to_pylist()
    surnames, streets = v.surnames.to_pylist(), v.streets.to_pylist()
    n_people = round(n_records / (1 + dup_share))
    n_dups = n_records - n_people
    sex = rng.integers(0, 2, n_people)
    first_i = rng.integers(0, 140, n_people)
    # Surname frequencies fall off like 1/(rank + 50): the commonest is about 0.7% of
    # people, close to Smith in the US, rather than a Zipf law that piles a quarter of
    # everyone onto one name.
    weights = 1.0 / (np.arange(len(surnames)) + 50.0)
    last_i = rng.choice(len(surnames), n_people, p=weights / weights.sum())
    dob = np.datetime64("1930-01-01") + rng.integers(0, 32_000, n_people).astype("timedelta64[D]")
    ssn = rng.choice(np.arange(1_010_001, 733_999_999, 97, dtype=np.int64), n_people, replace=False)
    city_i = rng.integers(0, len(v.cities), n_people)
    house = rng.integers(1, 9999, n_people)
    street_i = rng.integers(0, len(streets), n_people)
    line_no = rng.choice(np.arange(2_000_000, 9_999_999, dtype=np.int64), n_people, replace=False)
    # households: a third of the people join the previous person's household
    joins = np.flatnonzero(rng.random(n_people) < 0.33)
    joins = joins[joins > 0]
    for arr in (city_i, house, street_i, line_no, last_i):
        arr[joins] = arr[joins - 1]
    suffixes = ("Street", "Avenue", "Road", "Drive", "Lane", "Court")
    rows: list[list[str]] = []
    for i in range(n_people):
        c = v.cities[int(city_i[i])]
        first = (female if sex[i] else male)[int(first_i[i])]
        s = f"{int(ssn[i]):09d}"
        rows.append(
            [
                f"P{i}",
                first,
                surnames[int(last_i[i])],
                str(dob[i]),
                "F" if sex[i] else "M",
                f"{s[:3]}-{s[3:5]}-{s[5:]}" if rng.random() > 0.1 else "",
                f"{int(house[i])} {streets[int(street_i[i])]} {suffixes[int(street_i[i]) % 6]}",
                c.name,
                c.state,
                c.zips[int(house[i]) % len(c.zips)],
                f"{c.area_codes[0]}-{str(line_no[i])[:3]}-{str(line_no[i])[3:]}",
            ]
        )
    inverse: dict[str, list[str]] = {}
    for nick, formal in nicknames().items():
        inverse.setdefault(formal.title(), []).append(nick.title())
    truth: list[tuple[str, str]] = []
    for k, i in enumerate(rng.choice(n_people, n_dups, replace=False)):
        r = list(rows[int(i)])
        r[0] = f"D{k}"
        for _ in range(int(rng.integers(1, 4))):
            what = int(rng.integers(0, 9))
            if what == 0:
                r[1] = _typo(rng, r[1])
            elif what == 1 and r[1] in inverse:
                r[1] = inverse[r[1]][0]
            elif what == 2:
                r[2] = _typo(rng, r[2])
            elif what == 3:
                d = list(r[3])
                j = int(rng.choice([2, 3, 5, 6, 8, 9]))
                d[j] = str(int(rng.integers(0, 10)))
                r[3] = "".join(d)
            elif what == 4:
                r[5] = ""
            elif what == 5:
                r[6] = r[6].replace("Street", "St").replace("Avenue", "Ave").replace("Road", "Rd")
            elif what == 6:
                digits = r[10].replace("-", "")
                r[10] = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
            elif what == 7:
                r[1], r[2] = r[2], r[1]
            else:
                street = streets[int(rng.integers(0, len(streets)))]
                r[6] = f"{int(rng.integers(1, 9999))} {street} Way"
        rows.append(r)
        truth.append((rows[int(i)][0], r[0]))
    order = rng.permutation(len(rows))
    return [rows[int(j)] for j in order], truth


def write_csv(path: Path, rows: list[list[str]]) -> None:
    """Write the rows with the ``phiwarden link --input`` header."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(rows)


def pairs_of(clusters: list[list[str]]) -> Iterator[tuple[str, str]]:
    """Every pair within each cluster, sorted."""
    for c in clusters:
        ids = sorted(c)
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                yield ids[a], ids[b]


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of found pairs."""
    tp = len(found & truth)
    p = tp / len(found) if found else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
