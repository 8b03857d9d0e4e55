"""DSPy signatures: declarative only. Each docstring is the instruction an optimizer may rewrite."""

from viddiff.signatures.differencer import CompareFrames, CompareFramesThreeWay
from viddiff.signatures.baselines import (
    DecideDifferencesFromFrames,
    DecideDifferencesFromVideos,
    FindDifferencesFromFrames,
    FindDifferencesFromVideos,
)
from viddiff.signatures.linker import LinkDifferences
from viddiff.signatures.matcher import FindOpposites, MatchDifferences
from viddiff.signatures.planner import PlanStages
from viddiff.signatures.proposer import ProposeDifferences
from viddiff.signatures.types import PlannedStage, ProposedDifference, StatedDifference, StatementPair

__all__ = [
    "CompareFrames",
    "CompareFramesThreeWay",
    "DecideDifferencesFromFrames",
    "DecideDifferencesFromVideos",
    "FindDifferencesFromFrames",
    "FindDifferencesFromVideos",
    "FindOpposites",
    "LinkDifferences",
    "MatchDifferences",
    "PlanStages",
    "PlannedStage",
    "ProposeDifferences",
    "ProposedDifference",
    "StatedDifference",
    "StatementPair",
]
