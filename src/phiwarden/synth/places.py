"""Where synthetic people live and how to reach them: towns, streets, ZIPs, phones.

Each town has a limited set of streets so that a street block (street and ZIP) holds a
dozen or so households: neighbours exist, as the neighbour-snooping scenario needs.
Phone numbers are unique across everyone the phone book has handed them to.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.synth.columns import concat, contains_sorted, first_occurrences, fixed_ids, take
from phiwarden.synth.names import vocab

IntArray = npt.NDArray[np.int64]
HOUSEHOLDS_PER_STREET = 12


class Places:
    """Towns served by the facilities, and the streets people live on in each town."""

    def __init__(self, facility_cities: list[int]) -> None:
        v = vocab()
        self.n_cities = len(v.cities)
        self.facility_cities = facility_cities
        city_fac = np.zeros(self.n_cities, dtype=np.int64)
        for c, city in enumerate(v.cities):
            same_city = [f for f, fc in enumerate(facility_cities) if fc == c]
            same_state = [
                f for f, fc in enumerate(facility_cities) if v.cities[fc].state == city.state
            ]
            city_fac[c] = (same_city or same_state or [0])[0]
        self.city_fac = city_fac
        self.streets: list[IntArray] = []
        n_streets = len(v.streets)
        self.zip_index = np.array(
            [
                [(s * 7 + c) % len(city.zips) for s in range(n_streets)]
                for c, city in enumerate(v.cities)
            ],
            dtype=np.int64,
        )

    def draw_cities(
        self,
        rng: np.random.Generator,
        n: int,
        fac_weights: npt.NDArray[np.float64],
        roam: float = 0.06,
    ) -> IntArray:
        """Towns for ``n`` households: near a facility (by its weight), a few anywhere."""
        fac = rng.choice(len(fac_weights), size=n, p=fac_weights / fac_weights.sum())
        out = np.zeros(n, dtype=np.int64)
        for f in range(len(fac_weights)):
            rows = np.flatnonzero(fac == f)
            towns = np.flatnonzero(self.city_fac == f)
            w = np.where(towns == self.facility_cities[f], 3.0, 1.0)
            out[rows] = rng.choice(towns, size=len(rows), p=w / w.sum())
        anywhere = rng.random(n) < roam
        out[anywhere] = rng.integers(0, self.n_cities, size=int(anywhere.sum()))
        return out

    def fit_streets(self, rng: np.random.Generator, household_cities: IntArray) -> None:
        """Give each town as many streets as its households need (about a dozen per block)."""
        counts = np.bincount(household_cities, minlength=self.n_cities)
        n_streets = len(vocab().streets)
        for c in range(self.n_cities):
            k = int(np.clip(counts[c] // HOUSEHOLDS_PER_STREET, 8, n_streets))
            self.streets.append(rng.permutation(n_streets)[:k].astype(np.int64))

    def draw_streets(self, rng: np.random.Generator, cities: IntArray) -> IntArray:
        """A street of each town for each household."""
        out = np.zeros(len(cities), dtype=np.int64)
        for c in np.unique(cities):
            rows = np.flatnonzero(cities == c)
            pool = self.streets[int(c)]
            out[rows] = pool[rng.integers(0, len(pool), size=len(rows))]
        return out

    def zips(self, cities: IntArray, streets: IntArray) -> pa.Array:
        """The ZIP code of a street in a town (one ZIP per street and town)."""
        v = vocab()
        flat = [z for city in v.cities for z in city.zips]
        start = np.cumsum([0] + [len(city.zips) for city in v.cities])[:-1]
        return take(flat, start[cities] + self.zip_index[cities, streets])

    def address_lines(
        self, rng: np.random.Generator, streets: IntArray, apartment_rate: float = 0.12
    ) -> pa.Array:
        """'1234 Oak St' lines (some with an apartment) on the given streets."""
        n = len(streets)
        house = rng.integers(100, 9990, size=n)
        apt = rng.integers(1, 48, size=n)
        has_apt = rng.random(n) < apartment_rate
        line = concat(pa.array(house).cast(pa.string()), " ", take(vocab().streets, streets))
        suffix = take(["", *[f" Apt {i}" for i in range(1, 48)]], np.where(has_apt, apt, 0))
        return concat(line, suffix)

    @staticmethod
    def city_names(cities: IntArray) -> pa.Array:
        """Town names."""
        return take([c.name for c in vocab().cities], cities)

    @staticmethod
    def states(cities: IntArray) -> pa.Array:
        """Two-letter states of towns."""
        return take([c.state for c in vocab().cities], cities)


class PhoneBook:
    """Hands out unique ``NPA-NXX-XXXX`` numbers with the area code of a town."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: IntArray = np.zeros(0, dtype=np.int64)
        codes = sorted({a for c in vocab().cities for a in c.area_codes})
        self.codes = [int(a) for a in codes]

    def allocate(self, cities: IntArray) -> pa.Array:
        """One new number per entry of ``cities``, with that town's area code."""
        towns = vocab().cities
        per_city = [np.array([int(a) for a in c.area_codes], dtype=np.int64) for c in towns]
        n = len(cities)
        area = np.zeros(n, dtype=np.int64)
        for c in np.unique(cities):
            rows = np.flatnonzero(cities == c)
            options = per_city[int(c)]
            area[rows] = options[self.rng.integers(0, len(options), size=len(rows))]
        out = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        while len(todo):
            exchange = self.rng.integers(201, 999, size=len(todo))
            exchange = np.where(exchange == 555, 556, exchange)
            line = self.rng.integers(0, 9999, size=len(todo), endpoint=True)
            cand = area[todo] * 10_000_000 + exchange * 10_000 + line
            ok = first_occurrences(cand) & ~contains_sorted(self.used, cand)
            out[todo[ok]] = cand[ok]
            self.used = np.sort(np.concatenate([self.used, cand[ok]]))
            todo = todo[~ok]
        return format_phones(out)


def format_phones(numbers: IntArray) -> pa.Array:
    """10-digit integers as ``NPA-NXX-XXXX``."""
    digits = fixed_ids("", numbers, 10)
    return concat(
        pc.utf8_slice_codeunits(digits, 0, 3),
        "-",
        pc.utf8_slice_codeunits(digits, 3, 6),
        "-",
        pc.utf8_slice_codeunits(digits, 6, 10),
    )
