"""The linkage model: comparisons, blocking, unsupervised training, and its parameters.

Each comparison is declared once as a list of levels (null, exact, Jaro-Winkler,
Levenshtein, else). The same declaration builds the Splink comparison that is trained and
predicts in batch, and the Python scorer that the real-time matcher uses with the trained
m and u probabilities, so one registration is scored exactly as the batch would score it
without retraining or rescanning anything.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import JaroWinkler, Levenshtein

#: A level: ("null", col) | ("exact", col) | ("jw", col, threshold) | ("lev", col, max)
#: | ("swap", col, other) (first and last name written the other way round)
#: | ("both", col, other) (both columns equal) | ("else",)
Level = tuple[Any, ...]

COMPARISONS: dict[str, tuple[Level, ...]] = {
    "first_name": (
        ("null", "first_name"),
        ("exact", "first_name"),
        ("exact", "first_formal"),
        ("swap", "first_name", "last_name"),
        ("jw", "first_name", 0.92),
        ("jw", "first_name", 0.8),
        ("else",),
    ),
    "last_name": (
        ("null", "last_name"),
        ("exact", "last_name"),
        ("jw", "last_name", 0.92),
        ("exact", "last_phonetic"),
        ("jw", "last_name", 0.8),
        ("else",),
    ),
    "dob": (
        ("null", "dob"),
        ("exact", "dob"),
        ("lev", "dob", 1),
        ("lev", "dob", 2),
        ("else",),
    ),
    "ssn": (
        ("null", "ssn_hash"),
        ("exact", "ssn_hash"),
        ("exact", "ssn_last4"),
        ("else",),
    ),
    # Address and phone in one comparison: a household shares both, and counting them
    # as two independent agreements would make relatives one person.
    "contact": (
        ("null", "address_key"),
        ("both", "address_key", "phone"),
        ("exact", "address_key"),
        ("jw", "address_key", 0.9),
        ("exact", "phone"),
        ("exact", "postcode"),
        ("else",),
    ),
    "sex": (("null", "sex"), ("exact", "sex"), ("else",)),
}

#: Pairs are only compared when they share one of these (the issue's blocking keys).
BLOCKING: tuple[tuple[str, ...], ...] = (
    ("ssn_hash",),
    ("dob", "last_phonetic"),
    ("dob", "first_formal"),
    ("phone",),
    ("address_key",),
    ("first_formal", "last_phonetic", "postcode"),
    ("dob", "postcode"),
)

#: Starting m probabilities (share of true duplicate pairs at each level after the null
#: level), kept as they are when there are too few duplicates for EM to learn from.
#: Differing SSNs are common among true duplicates (REFERENCE §2), differing first name
#: and birth date together are not.
PRIOR_M: dict[str, tuple[float, ...]] = {
    "first_name": (0.80, 0.05, 0.01, 0.08, 0.04, 0.02),
    "last_name": (0.85, 0.05, 0.03, 0.03, 0.04),
    "dob": (0.93, 0.04, 0.028, 0.002),
    "ssn": (0.85, 0.05, 0.10),
    "contact": (0.50, 0.15, 0.10, 0.05, 0.10, 0.10),
    "sex": (0.97, 0.03),
}
MATCH_THRESHOLD = 0.95


def splink_settings() -> Any:
    """The Splink settings of the model, untrained."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons: list[Any] = []
    for name, levels in COMPARISONS.items():
        built: list[Any] = []
        for i, level in enumerate(levels):
            kind = level[0]
            if kind == "null":
                built.append(cll.NullLevel(level[1]))
                continue
            if kind == "exact":
                made: Any = cll.ExactMatchLevel(level[1])
            elif kind == "jw":
                made = cll.JaroWinklerLevel(level[1], level[2])
            elif kind == "lev":
                made = cll.LevenshteinLevel(level[1], level[2])
            elif kind == "both":
                made = cll.And(cll.ExactMatchLevel(level[1]), cll.ExactMatchLevel(level[2]))
            elif kind == "swap":
                made = cll.ColumnsReversedLevel(level[1], level[2], symmetrical=True)
            else:
                made = cll.ElseLevel()
            made = made.configure(m_probability=PRIOR_M[name][i - 1])
            built.append(made)
        comparisons.append(cl.CustomComparison(built, output_column_name=name))
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in BLOCKING],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


#: EM needs this many expected true pairs to learn m; below, the starting m values stay.
MIN_EXPECTED_MATCHES = 50


@contextmanager
def _em_floor() -> Iterator[None]:
    """Work around Splink 5.0.0: its EM maximisation step can set a level's m to exactly
    0.0 (a level whose pairs all score as certain non-matches), which its own validator
    then refuses with "m_probability value 0.0 is below the minimum" and training dies
    (seen at 1M records). Floor the estimates at 1e-300 for the duration of training."""
    from splink.internals import expectation_maximisation as em

    original = em.populate_m_u_from_lookup

    def floored(
        training_fixed_probabilities: set[str],
        comparison_level: Any,
        output_column_name: str,
        m_u_records_lookup: dict[str, dict[int, Any]],
    ) -> None:
        for row in m_u_records_lookup.get(output_column_name, {}).values():
            for key in ("m_probability", "u_probability"):
                value = row.get(key)
                if isinstance(value, float) and value < 1e-300:
                    row[key] = 1e-300
        original(
            training_fixed_probabilities, comparison_level, output_column_name, m_u_records_lookup
        )

    em.populate_m_u_from_lookup = floored
    try:
        yield
    finally:
        em.populate_m_u_from_lookup = original


def train(linker: Any, n_records: int, seed: int = 42) -> dict[str, Any]:
    """Unsupervised training: prior from near-certain rules, u by sampling, m by EM.

    A clean index (duplicates already merged) has almost no true pairs; EM then has
    nothing to learn from and drifts to nonsense, so it only runs when the near-certain
    rules expect at least ``MIN_EXPECTED_MATCHES`` duplicates. Returns what was done.
    """
    from splink import block_on

    rules = [block_on("ssn_hash", "dob"), block_on("first_name", "last_name", "dob")]
    linker.training.estimate_probability_two_random_records_match(rules, recall=0.7)
    settings = linker._settings_obj
    total_pairs = n_records * (n_records - 1) / 2
    expected = settings._probability_two_random_records_match * total_pairs
    # A prior of zero would make every pair impossible: floor it at one duplicate per
    # thousand records.
    floor = 1.0 / max(1000.0 * n_records, 1.0)
    if settings._probability_two_random_records_match < floor:
        settings._probability_two_random_records_match = floor
    pairs = max(1e5, min(5e6, total_pairs))
    linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed)
    em = expected >= MIN_EXPECTED_MATCHES
    if em:
        # Not sampled: Splink samples records, and a true pair survives only if both of
        # its records are drawn, which starves EM of matches (measured: the m of a
        # one-digit birth-date typo fell to ~0 and recall at 1M to 0.83).
        with _em_floor():
            for rule in (block_on("dob"), block_on("first_formal", "last_phonetic", "postcode")):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, fix_probability_two_random_records_match=True
                )
    return {"expected_duplicates": round(expected), "em": em}


@dataclass(frozen=True)
class Parameters:
    """What the trained model knows: the prior and each level's log2 Bayes factor."""

    prior: float
    weights: dict[str, tuple[float, ...]]

    @classmethod
    def from_splink(cls, model: Mapping[str, Any]) -> Parameters:
        """Read the prior and the m/u of every level from Splink's saved model."""
        weights: dict[str, tuple[float, ...]] = {}
        for comp in model["comparisons"]:
            name = comp["output_column_name"]
            out: list[float] = []
            for level in comp["comparison_levels"]:
                if level.get("is_null_level"):
                    out.append(0.0)
                    continue
                m = float(level.get("m_probability") or 1e-6)
                u = float(level.get("u_probability") or 1e-6)
                out.append(math.log2(max(m, 1e-9) / max(u, 1e-9)))
            weights[name] = tuple(out)
        return cls(prior=float(model["probability_two_random_records_match"]), weights=weights)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON values (the store's ``identity_models.parameters``)."""
        return {"prior": self.prior, "weights": {k: list(v) for k, v in self.weights.items()}}

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Parameters:
        """Parameters from :meth:`as_dict`'s form."""
        return cls(
            prior=float(body["prior"]),
            weights={k: tuple(float(x) for x in v) for k, v in body["weights"].items()},
        )

    def to_json(self) -> str:
        """The parameters as JSON text."""
        return json.dumps(self.as_dict())

    @classmethod
    def from_json(cls, text: str) -> Parameters:
        """Parameters written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: Path) -> None:
        """Write the parameters to ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())


def _level(levels: tuple[Level, ...], a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    for i, level in enumerate(levels):
        kind = level[0]
        if kind == "else":
            return i
        x, y = a.get(level[1]), b.get(level[1])
        if kind == "null":
            if x is None or y is None:
                return i
            continue
        if x is None or y is None:
            continue
        if kind == "swap":
            if x == b.get(level[2]) and y == a.get(level[2]):
                return i
            continue
        if kind == "both":
            if x == y and a.get(level[2]) is not None and a.get(level[2]) == b.get(level[2]):
                return i
            continue
        if kind == "exact" and x == y:
            return i
        if kind == "jw" and JaroWinkler.similarity(x, y) >= level[2]:
            return i
        if kind == "lev" and Levenshtein.distance(x, y) <= level[2]:
            return i
    return len(levels) - 1


@dataclass(frozen=True)
class Score:
    """One scored pair: match probability, total weight and the level of each comparison."""

    probability: float
    weight: float
    levels: dict[str, int]


def score(params: Parameters, a: Mapping[str, Any], b: Mapping[str, Any]) -> Score:
    """Score two normalised records with the trained parameters, as Splink's predict does."""
    weight = math.log2(params.prior / (1 - params.prior))
    levels: dict[str, int] = {}
    for name, spec in COMPARISONS.items():
        i = _level(spec, a, b)
        levels[name] = i
        weight += params.weights[name][i]
    probability = 1.0 / (1.0 + 2.0 ** (-weight))
    return Score(probability, weight, levels)


def describe(levels: Mapping[str, int]) -> list[str]:
    """Words for the agreeing levels of a scored pair (evidence in a screening answer)."""
    out: list[str] = []
    for name, i in levels.items():
        level = COMPARISONS[name][i]
        if level[0] in ("null", "else"):
            continue
        if level[0] == "swap":
            out.append("first and last name swapped")
            continue
        if level[0] == "both":
            out.append(f"same {level[1].replace('_', ' ')} and {level[2]}")
            continue
        how = {"exact": "same", "jw": "similar", "lev": "nearly the same"}[level[0]]
        out.append(f"{how} {level[1].replace('_', ' ')}")
    return out
