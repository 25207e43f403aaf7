"""Red-flag detectors: each a small function of the scan's data returning findings."""
