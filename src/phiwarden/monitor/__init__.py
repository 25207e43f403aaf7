"""Access monitoring: explain every access, detect snooping, one scored alert per user.

``run_monitor(stores)`` reviews the lake's new days; ``population(stores, user, since,
until)`` lists everyone a user touched. See ``docs/monitoring.md``.
"""

from phiwarden.monitor.population import population
from phiwarden.monitor.run import MonitorResult, run_monitor

__all__ = ["MonitorResult", "population", "run_monitor"]
