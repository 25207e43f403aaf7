"""Word lists for synthetic people and places, read from ``synth/data/``.

Names, streets and towns are modest hand-written lists; people are made by drawing from
them with skewed weights so that common surnames repeat, as they do in a real index.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class City:
    """A town people live in: its state, ZIP codes and telephone area codes."""

    state: str
    name: str
    zips: tuple[str, ...]
    area_codes: tuple[str, ...]


@dataclass(frozen=True)
class Vocab:
    """All word lists, as Arrow arrays for vectorised lookups."""

    female: pa.Array
    male: pa.Array
    surnames: pa.Array
    streets: pa.Array
    cities: tuple[City, ...]

    @property
    def states(self) -> tuple[str, ...]:
        """States with towns, in file order."""
        return tuple(dict.fromkeys(c.state for c in self.cities))

    def city_index(self, state: str, name: str) -> int:
        """Position of a town in :attr:`cities`."""
        for i, city in enumerate(self.cities):
            if city.state == state and city.name == name:
                return i
        raise KeyError(f"{name}, {state}")


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [s.strip() for s in text.splitlines() if s.strip() and not s.startswith("#")]


@lru_cache(maxsize=1)
def vocab() -> Vocab:
    """The word lists (read once)."""
    cities = []
    for line in _lines("cities.txt"):
        state, name, zips, codes = line.split("|")
        cities.append(City(state, name, tuple(zips.split()), tuple(codes.split())))
    return Vocab(
        female=pa.array(_lines("first_female.txt")),
        male=pa.array(_lines("first_male.txt")),
        surnames=pa.array(_lines("surnames.txt")),
        streets=pa.array(_lines("streets.txt")),
        cities=tuple(cities),
    )


def zipf_weights(n: int, exponent: float = 0.9) -> npt.NDArray[np.float64]:
    """Probabilities for ``n`` ranked words, the first most common."""
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return w / w.sum()


def draw_names(rng: np.random.Generator, sex: npt.ArrayLike, exponent: float = 0.7) -> pa.Array:
    """First names for people of the given sexes (0 female, 1 male)."""
    v = vocab()
    fi = rng.choice(len(v.female), size=np.size(sex), p=zipf_weights(len(v.female), exponent))
    mi = rng.choice(len(v.male), size=np.size(sex), p=zipf_weights(len(v.male), exponent))
    female = v.female.take(pa.array(fi))
    male = v.male.take(pa.array(mi))
    return pc.if_else(pa.array(np.asarray(sex) == 1), male, female)


def draw_surnames(rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
    """Indices into the surname list, skewed towards common surnames."""
    v = vocab()
    return rng.choice(len(v.surnames), size=n, p=zipf_weights(len(v.surnames), 0.8))
