"""The frame localizer: CLIP stage scores of one video's frames, then a localization mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from viddiff.data.video import Frames
from viddiff.errors import ViddiffError
from viddiff.retrieval.modes import LOCALIZATION_MODES, DifferenceQuery, Localization, localize
from viddiff.retrieval.scores import stage_scores

if TYPE_CHECKING:
    from viddiff.clip import ClipEmbedder


@dataclass(frozen=True)
class Stage:
    """One planned sub-action and the single-frame retrieval strings that describe it."""

    name: str
    retrieval_strings: tuple[str, ...]


class FrameLocalizer:
    """Choose, in each video separately, the frames every difference is judged on.

    Example:
        >>> localizer = FrameLocalizer("viterbi", embedder=ClipEmbedder(ClipConfig()))
        >>> placed = localizer.localize(frames, stages, queries, trim_start=12)
        >>> placed.frames["0"]   # indices into frames.images
    """

    def __init__(self, mode: str = "viterbi", *, embedder: ClipEmbedder | None = None, seed: int = 0):
        if mode not in LOCALIZATION_MODES:
            raise ViddiffError(f"unknown localization mode {mode!r}: choose from {', '.join(LOCALIZATION_MODES)}")
        if LOCALIZATION_MODES[mode].needs_embedder and embedder is None:
            raise ViddiffError(f"the {mode} localization mode needs a CLIP embedder")
        self.mode = mode
        self.embedder = embedder
        self.seed = seed

    def __deepcopy__(self, memo) -> FrameLocalizer:
        # Optimizers deep-copy programs; the CLIP model and its caches are shared, not copied.
        return self

    def stage_scores(self, frames: Frames, stages: Sequence[Stage]) -> np.ndarray:
        """K x T scores of the stages on the frames (min-max normalised per stage)."""
        if self.embedder is None:
            raise ViddiffError("stage scores need a CLIP embedder")
        if not stages or any(not s.retrieval_strings for s in stages):
            raise ViddiffError("every stage needs at least one retrieval string")
        strings = [text for stage in stages for text in stage.retrieval_strings]
        text_embeddings = self.embedder.embed_texts(strings)
        bounds = np.cumsum([0] + [len(s.retrieval_strings) for s in stages])
        per_stage = [text_embeddings[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        return stage_scores(self.embedder.embed_frames(frames.images), per_stage)

    def localize(
        self,
        frames: Frames,
        stages: Sequence[Stage],
        queries: Sequence[DifferenceQuery],
        *,
        key_points: Mapping[str, Sequence[int] | None] | None = None,
        trim_start: int = 0,
        seed_key: Sequence[int] = (),
    ) -> Localization:
        """The frames of every difference in one video.

        Args:
            key_points: annotated frame indices per difference (the oracle mode's input).
            trim_start: the video's trim start, to place annotated indices among the frames.
            seed_key: mixed into the random mode's seed, e.g. (sample hash, video index).
        """
        return localize(
            self.mode,
            queries,
            n_frames=len(frames),
            fps=frames.fps,
            scores=self.stage_scores(frames, stages) if LOCALIZATION_MODES[self.mode].needs_embedder else None,
            n_stages=len(stages),
            key_points=key_points,
            frame_positions=frames.source_indices - trim_start,
            seed=(self.seed, *seed_key),
        )


def key_point_times(
    key_points: Mapping[str, Sequence[int] | None], frames: Frames, trim_start: int, fps_original: float
) -> dict[str, list[float]]:
    """Annotated key points (frame indices in the trimmed clip) as times on the frames' clock.

    Counts from the first sampled frame at the original rate (exact for constant-rate video).
    """
    first_position = int(frames.source_indices[0]) - trim_start
    origin = float(frames.timestamps[0])
    return {
        key: [origin + (p - first_position) / fps_original for p in points]
        for key, points in key_points.items()
        if points
    }
