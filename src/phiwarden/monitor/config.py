"""Tunable settings of access monitoring: explanation margins, detector weights, thresholds.

Defaults suit a hospital like the synthetic one; a hospital tunes them in a TOML file
(``PHIWARDEN_MONITOR_CONFIG`` or ``<data dir>/monitor.toml``) whose keys are the field
names below, e.g.::

    alert_threshold = 1.2
    [weights]
    same_last_name = 0.3

``docs/monitoring.md`` explains each one.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CONFIG_ENV = "PHIWARDEN_MONITOR_CONFIG"


@dataclass(frozen=True)
class MonitorConfig:
    """Every knob of the monitor, in hours, days, counts and weights."""

    #: care relationship: accesses from this long before an encounter starts ...
    encounter_before_hours: float = 24.0
    #: ... to this long after it ends (open encounters: until the window ends)
    encounter_after_hours: float = 48.0
    #: orders, results, prescriptions, appointments, registrations, merges: +/- this long
    record_margin_hours: float = 24.0
    #: the user who ordered reviews results for this long after ordering
    order_followup_days: float = 7.0
    #: lab/radiology/pharmacy work an order or prescription for this long
    workflow_days: float = 3.0
    #: billing, coding and HIM open a discharged patient up to this long after discharge
    after_discharge_days: float = 21.0
    #: call-centre accesses this long around a call with the patient
    call_margin_hours: float = 2.0
    #: covering: a same-role user's explained opening of the patient this close in time
    cover_minutes: float = 30.0
    #: an alert needs at least this score (sum of weighted reasons)
    alert_threshold: float = 1.0
    #: weights of each detector code (catalogue defaults apply to codes not listed)
    weights: dict[str, float] = field(default_factory=dict)
    #: volume: robust z-score over the user's own days and over peers' days
    volume_z: float = 6.0
    #: volume: fewest unexplained patients in a day that can count as unusual
    volume_min_patients: int = 10
    #: after hours: fewest patients opened outside the user's shift, unexplained
    after_hours_min_patients: int = 3
    #: office hours (local 0-23) of office departments' users with no recorded shift
    office_start_hour: int = 7
    office_end_hour: int = 19
    #: users with no recorded shift (and not in an office department): the shortest run
    #: of hours holding this share of their openings, if at most this long, when they
    #: have this many openings (monitor/shifts.py)
    shift_learn_coverage: float = 0.8
    shift_learn_max_hours: int = 14
    shift_learn_min_openings: int = 50
    #: consecutive MRNs: shortest run of consecutive MRNs among a user's unexplained patients
    consecutive_mrn_run: int = 3
    #: first access this many days after the patient's last encounter ended (or none)
    long_after_days: int = 180
    #: focus: fewest unexplained patients sharing the attribute, and lift over peers
    focus_min_patients: int = 3
    focus_min_share: float = 0.5
    focus_min_lift: float = 5.0
    #: ... or a count of them whose Poisson surprise over the other users' share is at
    #: least this (-log10 p), however diluted by other unexplained work
    focus_min_surprise: float = 10.0
    #: spread: fewest states, and how many more than the peer group's 95th percentile
    spread_min_states: int = 3
    spread_over_peers: int = 2
    #: low and slow: fewest weeks and unrelated unexplained patients, and the surprise
    #: (-log10 p) of their count over the peers' rate per opening
    low_slow_min_weeks: int = 3
    low_slow_min_patients: int = 3
    low_slow_min_surprise: float = 4.0
    #: failed access: fewest failed attempts at unexplained patients in the window
    failed_min_attempts: int = 3
    #: days of stored history a new day's volume is compared with
    baseline_days: int = 60
    #: mined explanations (monitor/mined.py): a role keeps a path mined from the log when
    #: this many of its openings were left unexplained, the path explains this share of
    #: them, and that is this many times what chance gives
    mined_min_openings: int = 200
    mined_min_support: float = 0.6
    mined_min_lift: float = 5.0
    #: mined ``facility_upcoming``: accesses this many days before a visit at the facility
    mined_upcoming_days: float = 30.0

    def weight(self, code: str, default: float) -> float:
        """The configured weight of a detector, else its catalogue default."""
        return float(self.weights.get(code, default))


def load_config(data_dir: Path | None = None, path: Path | None = None) -> MonitorConfig:
    """Defaults, overridden by the TOML file given, named by the environment, or in data_dir."""
    chosen = path or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    if chosen is None and data_dir is not None and (data_dir / "monitor.toml").is_file():
        chosen = data_dir / "monitor.toml"
    if chosen is None:
        return MonitorConfig()
    try:
        raw: dict[str, Any] = tomllib.loads(Path(chosen).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"monitor settings {chosen}: {exc}; fix or remove the file") from exc
    known = {f.name: f for f in fields(MonitorConfig)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(
            f"monitor settings {chosen}: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    base = MonitorConfig()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        current = getattr(base, key)
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise ValueError(f"monitor settings {chosen}: [{key}] must be a table")
            values[key] = {str(k): float(v) for k, v in value.items()}
        else:
            try:
                values[key] = type(current)(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"monitor settings {chosen}: {key} must be a {type(current).__name__}"
                ) from exc
    return replace(base, **values)
