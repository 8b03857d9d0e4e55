"""DSPy modules, one per stage, and `VidDiff`, which composes them; `FramesBaseline` and
`VideoBaseline`, the single-call baselines (`BaselineAnswerer` is their one stage)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.programs.differencer import FrameDifferencer
    from viddiff.programs.baselines import BaselineAnswerer, FramesBaseline, VideoBaseline
    from viddiff.programs.images import encode_frames
    from viddiff.programs.linker import DifferenceLinker
    from viddiff.programs.planner import StagePlanner
    from viddiff.programs.proposer import DifferenceProposer
    from viddiff.programs.matcher import RecallMatcher
    from viddiff.programs.records import DifferencePrediction
    from viddiff.programs.repair import (
        RepairError,
        clean_proposals,
        clean_stages,
        normalize_num_frames,
        one_to_one,
        repair_links,
    )
    from viddiff.programs.viddiff import VidDiff

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "differencer": ("FrameDifferencer",),
        "baselines": ("BaselineAnswerer", "FramesBaseline", "VideoBaseline"),
        "images": ("encode_frames",),
        "linker": ("DifferenceLinker",),
        "planner": ("StagePlanner",),
        "proposer": ("DifferenceProposer",),
        "matcher": ("RecallMatcher",),
        "records": ("DifferencePrediction",),
        "repair": (
            "RepairError", "clean_proposals", "clean_stages", "normalize_num_frames", "one_to_one",
            "repair_links",
        ),
        "viddiff": ("VidDiff",),
    },
)
