"""What the breach benchmarks share: a synthetic hospital in a SQLite store and its phished
mailbox with the ground truth."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth import generate
from phiwarden.synth.mailbox import write_mailbox
from phiwarden.synth.spec import SynthSpec


def phished_hospital(root: Path, size: str, seed: int) -> tuple[Stores, Path, list[dict[str, Any]]]:
    """A ``size`` hospital ingested into ``root``; its mailbox file and the exposed people."""
    generate(root / "h", replace(SynthSpec.size(size, seed=seed), formats=("canonical",)))
    stores, _ = initialise(load_settings(root / "data", f"sqlite:///{root / 's.db'}"))
    run_ingest(
        [root / "h" / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    truth = write_mailbox(root / "h" / "canonical", root / "mb", seed=seed)
    return stores, root / "mb" / "compromised.mbox", truth
