"""The video baseline system: `viddiff.programs.baselines.VideoBaseline` over one benchmark
sample, through google-genai (the paper's Gemini-1.5-Pro row; today's Gemini models)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from viddiff.config import RunConfig
from viddiff.systems.frames import FramesSystem

if TYPE_CHECKING:
    import dspy

    from viddiff.programs.baselines import VideoBaseline


class VideoSystem(FramesSystem):
    """One call of the `baseline` role per sample with the two trimmed clips as videos, sampled at
    the baselines' per-domain rates and re-encoded as MP4, A then B. The baseline's LM goes
    through google-genai (`viddiff.gemini`); the matcher, if any, through DSPy's providers."""

    name = "video"

    def build(self, config: RunConfig, lms: Mapping[str, dspy.LM]) -> VideoBaseline:
        from viddiff.programs.baselines import VideoBaseline

        return VideoBaseline(mode=config.mode, lm=lms.get("baseline"))

    def build_lm(self, role: str, config: RunConfig, api_key: str) -> dspy.LM:
        """The baseline's LM, and a Gemini reflection LM (which GEPA shows the videos), through
        google-genai; other roles through DSPy's providers."""
        if not (role == "baseline" or (role == "reflection" and config.lms[role].model.startswith("gemini/"))):
            return super().build_lm(role, config, api_key)
        from viddiff.gemini import gemini_lm

        return gemini_lm(config.lms[role], api_key)
