"""What every system provides to a Task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from viddiff.config import RunConfig
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Difference, Sample
from viddiff.data.sources import read_sample_frames
from viddiff.data.video import Frames, Size
from viddiff.programs.records import DifferencePrediction
from viddiff.run_log import SampleRecord

if TYPE_CHECKING:
    import dspy


class System(Protocol):
    """A way of answering samples: its LM roles, its DSPy program, and how it runs one sample."""

    name: str
    fps_table: str
    """Per-domain sampling rates it uses: `method` or `baseline` (see `viddiff.data.video.sampling_fps`)."""

    def roles(self, config: RunConfig, *, scoring: bool) -> tuple[str, ...]:
        """LM roles the system calls (plus the matcher when `scoring` an open-set run)."""
        ...

    def closed_differences(self, sample: Sample) -> dict[str, Difference]:
        """The differences it is asked to decide in closed set."""
        ...

    def build_lm(self, role: str, config: RunConfig, api_key: str) -> dspy.LM:
        """The DSPy LM of one role of the run."""
        ...

    def build(self, config: RunConfig, lms: Mapping[str, dspy.LM]) -> dspy.Module:
        """The program, with one LM per role."""
        ...

    def prepare(self, program: dspy.Module, sample: Sample, config: RunConfig, *, frame_cache: FrameCache | None) -> tuple[Frames, Frames]:
        """The sample's videos, read and made ready for the LM calls (VidDiff: their frames
        embedded, so the embeddings are cached); the runner does it ahead of the LM work."""
        ...

    def run_sample(
        self,
        program: dspy.Module,
        sample: Sample,
        config: RunConfig,
        *,
        frame_cache: FrameCache | None,
        lms: Mapping[str, dspy.LM],
        videos: tuple[Frames, Frames] | None = None,
    ) -> SampleRecord:
        """Answer one sample (`videos`: as `prepare` made them; None reads them). Raises on
        failure; the runner records the error."""
        ...


class SystemBase:
    """What systems share: every role's LM through DSPy's own providers (`viddiff.lms.build_lm`),
    and videos prepared by reading them at the system's rates."""

    fps_table: str

    def build_lm(self, role: str, config: RunConfig, api_key: str) -> dspy.LM:
        from viddiff.lms import build_lm

        return build_lm(config.lms[role], api_key)

    def prepare(self, program: dspy.Module, sample: Sample, config: RunConfig, *, frame_cache: FrameCache | None) -> tuple[Frames, Frames]:
        return read_videos(sample, config, fps_table=self.fps_table, cache=frame_cache)


def read_videos(
    sample: Sample, config: RunConfig, *, fps_table: str, cache: FrameCache | None = None, size: Size | None | str = "config"
) -> tuple[Frames, Frames]:
    """Videos A and B of a sample, sampled as the config says (rate or stride), at `size`
    (default: the config's `image_size`)."""
    size = config.image_size if size == "config" else size
    return tuple(
        read_sample_frames(sample, which, fps=config.fps, fps_table=fps_table, size=size, cache=cache, sampling=config.frame_sampling)
        for which in (0, 1)
    )


def sample_record(sample: Sample, **fields) -> SampleRecord:
    """A record of `sample`: its identity and labels, and `fields`."""
    return SampleRecord(
        sample_key=sample.sample_key,
        row_index=sample.row_index,
        split=sample.split,
        domain=sample.domain,
        action=sample.action,
        labels=sample.labels,
        **fields,
    )


def answered_record(
    sample: Sample, predictions: list[DifferencePrediction], usage: dict, videos: tuple[Frames, Frames], **fields
) -> SampleRecord:
    """The record of a sample the system answered: `partial` when a difference was left
    undecided, with its LM usage (the runner prices it) and the warnings of its videos (then
    `warnings`)."""
    return sample_record(
        sample,
        status="ok" if all(p.error is None for p in predictions) else "partial",
        predictions=predictions,
        usage=usage,
        **{**fields, "warnings": [w for frames in videos for w in frames.warnings] + list(fields.get("warnings", ()))},
    )


def system_for(name: str) -> System:
    """The system of a config's `system` key."""
    from viddiff.systems.frames import FramesSystem
    from viddiff.systems.video import VideoSystem
    from viddiff.systems.viddiff import VidDiffSystem

    systems = {"viddiff": VidDiffSystem(), "frames": FramesSystem(), "video": VideoSystem()}
    return systems[name]
