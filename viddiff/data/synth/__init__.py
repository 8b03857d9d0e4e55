"""A synthetic VidDiffBench: stick-figure videos of parameterised actions, labels by construction.

`generate_benchmark(out_dir, pairs, seed)` writes `dataset.jsonl` in the VidDiffBench schema,
so every part of viddiff can be tested and demonstrated offline.
"""

from viddiff.data.synth.actions import ACTIONS, JUMPING_JACK, KICK, SQUAT, ActionSpec, DifferenceSpec
from viddiff.data.synth.generate import generate_benchmark

__all__ = [
    "ACTIONS",
    "JUMPING_JACK",
    "KICK",
    "SQUAT",
    "ActionSpec",
    "DifferenceSpec",
    "generate_benchmark",
]
