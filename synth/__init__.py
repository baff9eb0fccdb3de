"""The synthetic district generator (issue 2): a whole data home, reproducible by seed.

`generate(out, households=..., seed=..., as_of=...)` writes town submissions,
registry extracts and `ground_truth.csv`; see docs/synth.md.
"""

from synth.generate import DEFAULT_AS_OF, SynthSummary, generate

__all__ = ["DEFAULT_AS_OF", "SynthSummary", "generate"]
