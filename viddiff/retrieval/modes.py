"""Localization modes: which sampled frames each difference is judged on, in one video.

`viterbi` (default) aligns the planned stages to the frames; `uniform` splits the frames
evenly among the stages (the "without Viterbi" ablation: the paper does not define it; this
is the published code's even split, neighbours overlapping by two frames, see
`even_segments`); `random` draws seeded frames as the published ablation did (one uniform
frame, or 3 frames at the `select_frames` spacing around a uniform centre, see
`random_frames`); `oracle` uses the annotated key-point frames. Every mode returns a
`Localization`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from viddiff.retrieval.alignment import Segment, align_stages, even_segments
from viddiff.retrieval.selection import nearest_frames, random_frames, select_frames


@dataclass(frozen=True)
class LocalizationMode:
    """What a localization mode needs: every part of viddiff asks this table, never the name."""

    name: str
    needs_stages: bool
    """The planner writes stages and links differences to them (an LM call per sample)."""
    needs_embedder: bool
    """CLIP embeds frames and retrieval strings."""
    needs_key_points: bool
    """Annotated key points choose the frames (benchmark samples only)."""
    summary: str


LOCALIZATION_MODES: dict[str, LocalizationMode] = {
    mode.name: mode
    for mode in (
        LocalizationMode("viterbi", True, True, False, "CLIP stage scores aligned to the frames by Viterbi (the method)"),
        LocalizationMode("uniform", True, False, False, "the frames split evenly among the stages (no-Viterbi ablation)"),
        LocalizationMode("random", False, False, False, "seeded random frames (ablation)"),
        LocalizationMode("oracle", False, False, True, "the annotated key-point frames (ablation; benchmark samples only)"),
    )
}
"""Localization modes by name."""


@dataclass(frozen=True)
class DifferenceQuery:
    """What the localizer needs to know of one difference."""

    key: str
    num_frames: str
    """'1' (one frame) or 'gt_1' (three frames)."""
    linked_stages: tuple[int, ...] = ()
    """Indices of the stages where the difference is visible; empty = the middle stage."""


@dataclass(frozen=True)
class Localization:
    """Frames chosen for each difference in one video."""

    mode: str
    frames: dict[str, list[int]]
    """Difference key -> indices into the sampled frames."""
    segments: list[Segment] | None = None
    """The stages' frame ranges (viterbi and uniform modes; uniform neighbours overlap by two frames)."""
    unserved: tuple[str, ...] = ()
    """Keys the mode could not place (oracle: no annotated key point)."""


def localize(
    mode: str,
    queries: Sequence[DifferenceQuery],
    *,
    n_frames: int,
    fps: float,
    scores: np.ndarray | None = None,
    n_stages: int | None = None,
    key_points: Mapping[str, Sequence[int] | None] | None = None,
    frame_positions: np.ndarray | None = None,
    seed: int | Sequence[int] | None = None,
) -> Localization:
    """Choose the frames of every difference with the named mode.

    Args:
        mode: one of `LOCALIZATION_MODES`.
        queries: the differences to place.
        n_frames: T, the number of sampled frames; fps: their rate (sets the spacing of
            3-frame differences in the viterbi, uniform and random modes).
        scores: K x T stage scores (viterbi).
        n_stages: K (uniform; taken from `scores` when given).
        key_points: difference key -> annotated frame indices in the trimmed clip at the
            original rate (oracle; a key-point id equal to the difference key is the link).
        frame_positions: each sampled frame's index in the trimmed clip at the original rate
            (oracle), e.g. `frames.source_indices - trim_start`.
        seed: seed of the random mode, e.g. (run seed, sample hash, video index).

    Raises:
        ValueError: an unknown mode, or the mode's inputs missing.
    """
    if mode not in LOCALIZATION_MODES:
        raise ValueError(f"unknown localization mode {mode!r}: choose from {', '.join(LOCALIZATION_MODES)}")
    if mode == "random":
        if seed is None:
            raise ValueError("the random mode needs a seed")
        rng = np.random.default_rng(seed)
        return Localization(mode, {q.key: random_frames(rng, q.num_frames, fps, n_frames) for q in queries})
    if mode == "oracle":
        return _oracle(queries, key_points, frame_positions)
    if mode == "viterbi":
        if scores is None:
            raise ValueError("the viterbi mode needs stage scores")
        segments = align_stages(scores)
    else:
        stages = scores.shape[0] if scores is not None else n_stages
        if stages is None:
            raise ValueError("the uniform mode needs the number of stages")
        segments = even_segments(stages, n_frames)
    frames = {q.key: select_frames(segments, q.linked_stages, q.num_frames, fps, n_frames) for q in queries}
    return Localization(mode, frames, segments=segments)


def _oracle(
    queries: Sequence[DifferenceQuery],
    key_points: Mapping[str, Sequence[int] | None] | None,
    frame_positions: np.ndarray | None,
) -> Localization:
    if key_points is None or frame_positions is None:
        raise ValueError("the oracle mode needs annotated key points and the sampled frames' positions")
    frames, unserved = {}, []
    for q in queries:
        points = key_points.get(q.key)
        if not points:
            unserved.append(q.key)
            continue
        wanted = points[:1] if q.num_frames == "1" else points
        frames[q.key] = sorted(set(nearest_frames(wanted, frame_positions)))
    return Localization("oracle", frames, unserved=tuple(unserved))
