"""Breach scan speed and memory (figures printed, never asserted): a mixed mailbox of at
least 500 MB (the generator's phished mailbox, whose messages carry XLSX, CSV, PDF and
DOCX attachments, written out again and again with new message numbers until it is big
enough) scanned into the store by ``breach scan``'s process pool on both cores; the same
scan of a fifth of the mailbox, to show that memory stays flat as the mailbox grows; and
the fast path and plain Presidio (AnalyzerEngine, default recognizers, no NLP model) in
one process on one copy of the mailbox, the reference the issue names.

    .venv/bin/python benchmarks/bench_breach_speed.py [--mb 500] [--size small]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from measure import PeakRss
from phiwarden.breach.incident import Incident, open_incident
from phiwarden.breach.scan import default_workers, scan_paths
from phiwarden.breach.scope import scope
from phiwarden.breach.units import plan, read_unit
from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.store.setup import initialise
from phiwarden.synth import generate
from phiwarden.synth.mailbox import write_mailbox
from phiwarden.synth.spec import SynthSpec


def _grow(one: Path, target: Path, mb: int) -> int:
    """Write copies of ``one`` until ``target`` holds ``mb`` MB; its size."""
    data = one.read_bytes()
    with target.open("wb") as out:
        written = 0
        while written < mb * 1_000_000:
            out.write(data)
            written += len(data)
    return written


def _scan(stores: object, box: Path, label: str) -> None:
    from datetime import date

    incident = open_incident(
        stores,  # type: ignore[arg-type]
        Incident(title=label, discovered=date.today(), type="hacking", location="email"),
        actor="bench",
    )
    rss = PeakRss(children=True)
    with rss:
        stats = scan_paths(stores, incident, [box], actor="bench")  # type: ignore[arg-type]
    with stores.engine.connect() as conn:  # type: ignore[attr-defined]
        people = scope(conn, incident)["people"]
    mb = stats.bytes / 1e6
    print(
        f"{label}: {mb:,.0f} MB, {stats.messages:,} messages, {stats.attachments:,} "
        f"attachments in {stats.seconds:.1f} s = {mb / stats.seconds:.2f} MB/s on "
        f"{default_workers()} processes; peak memory {rss.peak / 2**20:,.0f} MiB (all processes); "
        f"{len(people):,} people"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--size", default="medium", help="the hospital the mailbox is drawn from")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        generate(
            d / "h", replace(SynthSpec.size(args.size, seed=args.seed), formats=("canonical",))
        )
        stores, _ = initialise(load_settings(d / "data", f"sqlite:///{d / 's.db'}"))
        run_ingest(
            [d / "h" / "canonical"],
            engine=stores.engine,
            protector=stores.protector,
            lake_dir=stores.settings.lake_dir,
        )
        write_mailbox(d / "h" / "canonical", d / "mb", seed=args.seed)
        one = d / "mb" / "compromised.mbox"
        kinds: dict[str, int] = {}
        for unit in plan(one):
            for item in read_unit(unit):
                ext = item.where.rsplit("/", 1)[-1].split("#")[0].rsplit(".", 1)[-1]
                kinds[ext] = kinds.get(ext, 0) + 1
        print(
            f"one mailbox: {one.stat().st_size / 1e6:.1f} MB; parts: "
            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        )
        small, big = d / "fifth.mbox", d / "big.mbox"
        _grow(one, small, args.mb // 5)
        _grow(one, big, args.mb)
        _scan(stores, small, f"mailbox of {args.mb // 5} MB")
        _scan(stores, big, f"mailbox of {args.mb} MB")
        from phiwarden.breach.people import Index, scope_items
        from phiwarden.breach.presidio import plain_hits

        index = Index.load(stores.engine, stores.protector)
        plain_hits("warm up 219-09-9999")
        for recognizer in ("fast", "plain-presidio"):
            t = time.perf_counter()
            scope_items((i for u in plan(one) for i in read_unit(u)), index, recognizer)
            seconds = time.perf_counter() - t
            print(
                f"{recognizer}, one process, the whole scan of one mailbox in memory: "
                f"{one.stat().st_size / 1e6 / seconds:.2f} MB/s"
            )
        stores.engine.dispose()


if __name__ == "__main__":
    main()
