"""Systems a task can run: each builds its DSPy program and turns one sample into one record.

`viddiff`: the VidDiff method (proposer, stage planner, CLIP + Viterbi localizer, differencer);
`frames`: the frames baseline (every sampled frame of both videos in one call); `video`: the video
baseline (both trimmed clips as videos in one Gemini call).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.systems.base import System, read_videos, system_for
    from viddiff.systems.frames import FramesSystem
    from viddiff.systems.video import VideoSystem
    from viddiff.systems.viddiff import VidDiffSystem

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "base": ("System", "read_videos", "system_for"),
        "frames": ("FramesSystem",),
        "video": ("VideoSystem",),
        "viddiff": ("VidDiffSystem",),
    },
)
