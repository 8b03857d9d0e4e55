"""DSPy modules, one per stage, and `VidDiff`, which composes them."""

from viddiff.programs.differencer import FrameDifferencer
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

__all__ = [
    "DifferenceLinker",
    "DifferencePrediction",
    "DifferenceProposer",
    "FrameDifferencer",
    "RecallMatcher",
    "RepairError",
    "StagePlanner",
    "VidDiff",
    "clean_proposals",
    "clean_stages",
    "encode_frames",
    "normalize_num_frames",
    "one_to_one",
    "repair_links",
]
