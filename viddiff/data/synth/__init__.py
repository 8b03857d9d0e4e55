"""A synthetic VidDiffBench: stick-figure videos of parameterised actions, labels by construction.

`generate_benchmark(out_dir, pairs, seed)` writes `dataset.jsonl` in the VidDiffBench schema,
so every part of viddiff can be tested and demonstrated offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.data.synth.actions import ACTIONS, JUMPING_JACK, KICK, SQUAT, ActionSpec, DifferenceSpec
    from viddiff.data.synth.generate import generate_benchmark

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "actions": ("ACTIONS", "JUMPING_JACK", "KICK", "SQUAT", "ActionSpec", "DifferenceSpec"),
        "generate": ("generate_benchmark",),
    },
)
