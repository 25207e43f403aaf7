"""Synthetic hospital generator with ground truth, for demos, tests and benchmarks.

``generate(out_dir, SynthSpec.size("small"))`` writes a hospital's canonical tables,
its EHR access events (Parquet, one file per day) and ``ground_truth.json`` listing the
injected snooping cases and identity thefts. Only synthetic people, ever.
"""

from phiwarden.synth.generate import SynthResult, generate
from phiwarden.synth.spec import SynthSpec

__all__ = ["SynthResult", "SynthSpec", "generate"]
