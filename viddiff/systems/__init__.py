"""Systems a task can run: each builds its DSPy program and turns one sample into one record.

`viddiff`: the VidDiff method (proposer, stage planner, CLIP + Viterbi localizer, differencer).
"""

from viddiff.systems.base import System, read_videos, system_for
from viddiff.systems.viddiff import VidDiffSystem

__all__ = ["System", "VidDiffSystem", "read_videos", "system_for"]
