"""`make demo` end to end through the CLI, twice in one folder: a second run reuses what the
first left (the investigation it already worked) instead of failing on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_twice_in_the_same_folder(tmp_path: Path) -> None:
    cli = [str(Path(sys.executable).with_name("phiwarden")), "--data-dir", str(tmp_path)]
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [*cli, "demo", "--no-serve"], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
        outputs.append(done.stdout)
    assert "violation level" in outputs[0]
    assert "worked by an earlier demo run" in outputs[1]
