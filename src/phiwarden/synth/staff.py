"""Who is on duty: pick, for many work items at once, a user of a role on shift at a time.

The pick looks for someone of the role in the wanted department on shift at that hour,
then at the same facility, then anywhere in the system, then anyone of the role; a user
whose employment has ended by then is never picked.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from phiwarden.synth.columns import DAY, HOUR, NULL_DAY
from phiwarden.synth.organization import ROLES, Org
from phiwarden.synth.timeline import LEAD_DAYS, Window

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NEVER = np.iinfo(np.int64).max // 4


class _Lists:
    """Members grouped by an integer key, for vectorised random draws."""

    def __init__(self, keys: IntArray, users: IntArray) -> None:
        order = np.lexsort((users, keys))
        self.keys = keys[order]
        self.users = users[order]

    def draw(self, keys: IntArray, rng: np.random.Generator) -> IntArray:
        lo = np.searchsorted(self.keys, keys, "left")
        hi = np.searchsorted(self.keys, keys, "right")
        count = hi - lo
        pick = lo + (rng.random(len(keys)) * count).astype(np.int64)
        out = np.full(len(keys), -1, dtype=np.int64)
        ok = count > 0
        out[ok] = self.users[pick[ok]]
        return out


class Staffing:
    """On-shift lookups over the workforce."""

    def __init__(self, org: Org, window: Window) -> None:
        self.org = org
        self.term = np.where(org.term_day == NULL_DAY, NEVER, org.term_day)
        gone = self.term < window.start_day - LEAD_DAYS
        stable = self.term >= window.end_day
        hours = np.arange(24)
        s, e = org.shift_start[:, None], org.shift_end[:, None]
        on = np.where(s < e, (hours >= s) & (hours < e), (hours >= s) | (hours < e))
        on &= ~gone[:, None]
        user, hour = np.nonzero(on)
        nr = len(ROLES)
        role, dept, fac = org.role[user], org.dept[user], org.user_fac[user]
        level_keys = [
            (dept * nr + role) * 24 + hour,
            (fac * nr + role) * 24 + hour,
            role * 24 + hour,
        ]
        keep = stable[user]
        self.all = [_Lists(k, user) for k in level_keys]
        self.stable = [_Lists(k[keep], user[keep]) for k in level_keys]
        everyone = np.flatnonzero(~gone)
        self.by_role = _Lists(org.role[everyone], everyone)
        steady = np.flatnonzero(stable)
        self.by_role_stable = _Lists(org.role[steady], steady)

    def _keys(self, level: int, role: IntArray, dept: IntArray, hour: IntArray) -> IntArray:
        nr = len(ROLES)
        if level == 0:
            return (dept * nr + role) * 24 + hour
        if level == 1:
            return (self.org.dept_fac[dept] * nr + role) * 24 + hour
        return role * 24 + hour

    def pick(
        self, role: int | IntArray, dept: IntArray, t: IntArray, rng: np.random.Generator
    ) -> IntArray:
        """A user of ``role`` on shift at time ``t``, preferably in department ``dept``."""
        n = len(t)
        roles = np.broadcast_to(np.asarray(role, dtype=np.int64), n)
        hour = (t % DAY) // HOUR
        day = t // DAY
        out = np.full(n, -1, dtype=np.int64)
        for level in range(3):
            todo = np.flatnonzero(out < 0)
            if len(todo) == 0:
                break
            keys = self._keys(level, roles[todo], dept[todo], hour[todo])
            cand = self.all[level].draw(keys, rng)
            bad = (cand >= 0) & (self.term[np.maximum(cand, 0)] <= day[todo])
            if bad.any():
                cand[bad] = self.stable[level].draw(keys[bad], rng)
            out[todo] = cand
        todo = np.flatnonzero(out < 0)
        if len(todo):
            cand = self.by_role_stable.draw(roles[todo], rng)
            missing = cand < 0
            cand[missing] = self.by_role.draw(roles[todo][missing], rng)
            out[todo] = cand
        return out

    def active(self, users: IntArray, t: IntArray) -> BoolArray:
        """True where the user was still employed at time ``t``."""
        return self.term[users] > t // DAY

    def members(self, role: int, dept: int | None = None) -> IntArray:
        """Users of a role (in one department if given) employed throughout the window."""
        mask = (self.org.role == role) & (self.term == NEVER)
        if dept is not None:
            mask &= self.org.dept == dept
        return np.flatnonzero(mask)
