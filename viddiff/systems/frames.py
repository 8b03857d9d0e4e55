"""The frames baseline system: `viddiff.programs.baselines.FramesBaseline` over one
benchmark sample (the paper's GPT-4o and Claude-3.5-Sonnet rows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from viddiff.config import RunConfig
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Difference, Sample
from viddiff.run_log import SampleRecord
from viddiff.data.video import Frames
from viddiff.systems.base import SystemBase, answered_record

if TYPE_CHECKING:  # the program's module loads DSPy: only a system that builds or runs one needs it
    import dspy

    from viddiff.programs.baselines import FramesBaseline

POSITIVE = ("a", "b")


class FramesSystem(SystemBase):
    """One call of the `baseline` role per sample, on every sampled frame of video A then B (at
    the baselines' per-domain rates, capped at `max_images`). Closed set: the a/b-labelled
    differences only, as the published baselines were asked."""

    name = "frames"
    fps_table = "baseline"

    def roles(self, config: RunConfig, *, scoring: bool) -> tuple[str, ...]:
        """The baseline, plus the matcher when scoring an open-set run."""
        return ("baseline", "matcher") if config.mode == "open" and scoring else ("baseline",)

    def closed_differences(self, sample: Sample) -> dict[str, Difference]:
        """The a/b-labelled differences only, as the published baselines were asked."""
        return {k: d for k, d in sample.candidates.items() if sample.labels[k] in POSITIVE}

    def build(self, config: RunConfig, lms: Mapping[str, dspy.LM]) -> FramesBaseline:
        from viddiff.programs.baselines import FramesBaseline
        from viddiff.programs.images import ImageEncoding

        return FramesBaseline(
            mode=config.mode,
            max_images=config.max_images,
            lm=lms.get("baseline"),
            images=ImageEncoding.of(config),
            frames_as=config.frames_as,
        )

    def build_lm(self, role: str, config: RunConfig, api_key: str) -> dspy.LM:
        """With `frames_as: video`, the baseline's LM goes through litellm: DSPy's own client
        has no `video_url` part."""
        if role != "baseline" or config.frames_as != "video":
            return super().build_lm(role, config, api_key)
        from viddiff.lms import build_lm

        return build_lm(config.lms[role], api_key, engine="litellm")

    def run_sample(
        self,
        program: FramesBaseline,
        sample: Sample,
        config: RunConfig,
        *,
        frame_cache: FrameCache | None,
        lms: Mapping[str, dspy.LM],
        videos: tuple[Frames, Frames] | None = None,
    ) -> SampleRecord:
        videos = videos or self.prepare(program, sample, config, frame_cache=frame_cache)
        task: dict = {"n_differences": sample.n_differences_open}
        if config.mode == "closed":
            task = {"differences": self.closed_differences(sample)}
        result = program(videos=videos, action_description=sample.action_description, seed=sample.seed(config.seed), **task)
        return answered_record(sample, result.predictions, result.get_lm_usage() or {}, videos, warnings=result.warnings)
