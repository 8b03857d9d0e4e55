"""The VidDiff system: the program of `viddiff.programs.VidDiff` over one benchmark sample."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from viddiff.config import RunConfig
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Difference, Sample
from viddiff.data.video import Frames, ShorterSide, Size
from viddiff.programs.records import DifferencePrediction
from viddiff.retrieval.localization_error import localization_errors
from viddiff.retrieval.localizer import FrameLocalizer, key_point_times
from viddiff.retrieval.modes import LOCALIZATION_MODES
from viddiff.run_log import SampleRecord, StageRecord
from viddiff.systems.base import SystemBase, answered_record, read_videos

if TYPE_CHECKING:  # the program's modules load DSPy: only a system that builds or runs one needs them
    import dspy

    from viddiff.programs.viddiff import StageLocalization, VidDiff


class VidDiffSystem(SystemBase):
    """Proposer (open set), stage planner and linker, frame localizer, one differencer call per difference."""

    name = "viddiff"
    fps_table = "method"

    def roles(self, config: RunConfig, *, scoring: bool) -> tuple[str, ...]:
        """The differencer always, the proposer in open mode, the planner when the localization
        mode plans stages, and the matcher in open mode when scoring or matching before deciding."""
        roles = ["differencer"]
        if config.mode == "open":
            roles.insert(0, "proposer")
        if LOCALIZATION_MODES[config.localization].needs_stages:
            roles.insert(-1, "planner")
        if config.mode == "open" and (scoring or config.open_protocol == "published"):
            roles.append("matcher")
        return tuple(roles)

    def closed_differences(self, sample: Sample) -> dict[str, Difference]:
        """Every labelled difference, 'c' included (the published VidDiff code asked them all)."""
        return sample.candidates

    def build(self, config: RunConfig, lms: Mapping[str, dspy.LM]) -> VidDiff:
        from viddiff.programs.viddiff import VidDiff

        return self._build(VidDiff, config, lms)

    def build_localization(self, config: RunConfig, lms: Mapping[str, dspy.LM]) -> StageLocalization:
        """The program up to the localizer (`StageLocalization`): what the planner is compiled
        against when the objective is the distance to annotated key points."""
        from viddiff.programs.viddiff import StageLocalization

        return self._build(StageLocalization, config, lms)

    def _build(self, program_class: type[VidDiff], config: RunConfig, lms: Mapping[str, dspy.LM]) -> VidDiff:
        from viddiff.programs.images import ImageEncoding

        embedder = None
        if LOCALIZATION_MODES[config.localization].needs_embedder:
            from viddiff.clip import ClipEmbedder, EmbeddingCache

            embedder = ClipEmbedder(config.clip, cache=EmbeddingCache(config.cache_path / "clip"))
        return program_class(
            FrameLocalizer(config.localization, embedder=embedder, seed=config.seed),
            lms={role: lm for role, lm in lms.items() if role != "matcher"},
            three_way=config.three_way,
            chain_of_thought=config.chain_of_thought,
            frames=config.frames,
            images=ImageEncoding.of(config),
            num_threads=config.difference_threads,
        )

    def prepare(self, program: VidDiff, sample: Sample, config: RunConfig, *, frame_cache: FrameCache | None) -> tuple[Frames, Frames]:
        """The videos, their frames embedded by the localizer's CLIP when its mode uses one (the
        embeddings land in the cache the localizer reads). With CLIP, frames are read no larger
        than CLIP sees them; the differencer reads its few chosen frames again at `image_size`."""
        embedder = program.localizer.embedder
        if embedder is None:
            return read_videos(sample, config, fps_table=self.fps_table, cache=frame_cache)
        videos = read_videos(sample, config, fps_table=self.fps_table, cache=frame_cache, size=_clip_read_size(embedder, config.image_size))
        for frames in videos:
            embedder.embed_frames(frames.images)
        return videos

    def run_sample(
        self,
        program: VidDiff,
        sample: Sample,
        config: RunConfig,
        *,
        frame_cache: FrameCache | None,
        lms: Mapping[str, dspy.LM],
        videos: tuple[Frames, Frames] | None = None,
    ) -> SampleRecord:
        videos = videos or self.prepare(program, sample, config, frame_cache=frame_cache)
        seed = sample.seed(config.seed)
        task: dict = {"differences": self.closed_differences(sample)} if config.mode == "closed" else {"n_differences": sample.n_differences_open}
        matches = None
        if config.mode == "open" and config.open_protocol == "published":
            proposals = program.propose(sample.action_description, sample.n_differences_open, seed)
            matches = _match(sample, proposals, lms.get("matcher"))
            task = {"differences": {k: d for k, d in proposals.items() if k in matches.values()}}
        result = program(
            videos=videos,
            action_description=sample.action_description,
            key_points=sample.retrieval_frames,
            trim_starts=tuple((v.frames_trim or (0, None))[0] for v in sample.videos),
            seed=seed,
            **task,
        )
        predictions: list[DifferencePrediction] = result.predictions
        return answered_record(
            sample,
            predictions,
            result.get_lm_usage() or {},
            videos,
            stages=[StageRecord(name=s.name, retrieval_strings=list(s.retrieval_strings)) for s in result.stages],
            links={k: list(v) for k, v in result.links.items()},
            segments=[loc.segments for loc in result.localizations],
            localization_errors=sample_localization_errors(sample, videos, predictions),
            matches=matches,
        )


def _clip_read_size(embedder, image_size: int | None) -> Size | None:
    """The size to read frames at for CLIP: what it sees (`ClipEmbedder.read_size`) when that is
    smaller than the differencer's `image_size`, else `image_size`."""
    needed = embedder.read_size()
    pixels = needed.pixels if isinstance(needed, ShorterSide) else needed
    return needed if image_size is None or pixels < image_size else image_size


def _match(sample: Sample, proposals, lm: dspy.LM | None) -> dict[str, str | None]:
    """The published protocol: match proposals to the ground truth before deciding (no opposite check)."""
    import dspy

    from viddiff.programs.matcher import RecallMatcher

    ground_truth = {k: sample.differences[k].description for k in sample.labels}
    with dspy.context(lm=lm) if lm is not None else contextlib.nullcontext():
        return RecallMatcher(check_opposites=False)(
            sample.action_description, ground_truth, {k: d.description for k, d in proposals.items()}
        ).matches


def sample_localization_errors(
    sample: Sample, videos: tuple[Frames, Frames], predictions: list[DifferencePrediction]
) -> dict[str, list[float | None]]:
    """Seconds from each difference's chosen frames to its nearest annotated key point, per video
    (differences with a key point in at least one video; videos without a known frame rate are skipped)."""
    per_video = []
    for w, frames_of in ((0, "frames_a"), (1, "frames_b")):
        ref = sample.videos[w]
        if ref.fps_original is None or not sample.retrieval_frames[w]:
            per_video.append({})
            continue
        times = key_point_times(sample.retrieval_frames[w], videos[w], (ref.frames_trim or (0, None))[0], ref.fps_original)
        chosen = {p.key: list(getattr(p, frames_of)) for p in predictions}
        per_video.append(localization_errors(chosen, videos[w].timestamps, times))
    keys = [p.key for p in predictions if p.key in per_video[0] or p.key in per_video[1]]
    return {key: [per_video[0].get(key), per_video[1].get(key)] for key in keys}
