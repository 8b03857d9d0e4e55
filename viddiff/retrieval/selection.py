"""Which frames of one video to show for one difference: from its stages, at random, or annotated."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral

import numpy as np

from viddiff.retrieval.alignment import Segment

NUM_FRAMES_OPTIONS = ("1", "gt_1")
GT_1_FRAMES = 3
GT_1_SPACING_SECONDS = 0.35


def select_frames(
    segments: Sequence[Segment],
    linked_stages: Sequence[int],
    num_frames: str,
    fps: float,
    n_frames: int,
) -> list[int]:
    """The frames that show one difference, from the stage segmentation of one video.

    - "1": the middle frame of the first linked stage, int((start + last) / 2) over its
      inclusive range start..last.
    - "gt_1": 3 frames centred on the middle of the span from the earliest linked start to the
      latest linked end, spaced max(1, round(0.35 * fps)) frames apart (Python's round), and
      shifted, not clipped, to stay inside the video. When the video is too short for that
      spacing (2 * spacing + 1 > T) the spacing shrinks to (T - 1) // 2; when T < 3 all T
      frames are returned.

    A difference linked to no stage uses the middle stage, index K // 2.

    Args:
        segments: K half-open (start, end) frame ranges, from `align_stages` or `even_segments`;
            they may overlap (`even_segments` overlaps neighbours by two frames).
        linked_stages: indices of the stages the difference is linked to; may be empty.
        num_frames: "1" or "gt_1".
        fps: frame rate of the sampled video (frames per second).
        n_frames: T, the number of sampled frames.

    Returns:
        Frame indices in [0, T), ascending.

    Raises:
        ValueError: an unknown num_frames, fps <= 0 or not finite, T < 1, a stage index that
            is not an integer in 0..K-1, or a segment that is empty or outside the video.
    """
    _check_request(num_frames, fps, n_frames)
    _check_segments(segments, n_frames)
    stages = list(linked_stages) or [len(segments) // 2]
    for stage in stages:
        if not isinstance(stage, Integral) or not 0 <= stage < len(segments):
            raise ValueError(f"linked stage {stage!r} is not a stage index in 0..{len(segments) - 1}")

    if num_frames == "1":
        start, end = segments[stages[0]]
        return [int(start + end - 1) // 2]

    if n_frames < GT_1_FRAMES:
        return list(range(n_frames))
    span_start = min(segments[k][0] for k in stages)
    span_last = max(segments[k][1] - 1 for k in stages)
    spacing = _gt_1_spacing(fps, n_frames)
    centre = min(max(int(span_start + span_last) // 2, spacing), n_frames - 1 - spacing)
    return [centre - spacing, centre, centre + spacing]


def random_frames(rng: np.random.Generator, num_frames: str, fps: float, n_frames: int) -> list[int]:
    """The random-frames ablation, as published: frames at a random place, ascending.

    - "1": one frame drawn uniformly from 0..T-1.
    - "gt_1": 3 frames [c - spacing, c, c + spacing] around a centre c drawn uniformly from
      spacing..T-1-spacing (inclusive), with the spacing of `select_frames` (max(1,
      round(0.35 * fps)) frames, shrunk to (T - 1) // 2 when 2 * spacing + 1 > T), so the
      time between the frames told to the VLM is true. When T < 3, all T frames (drawing
      nothing).

    Args:
        rng: the caller's seeded generator; the only source of randomness.
        num_frames: "1" or "gt_1".
        fps: frame rate of the sampled video (frames per second).
        n_frames: T, the number of sampled frames.

    Raises:
        ValueError: an unknown num_frames, fps <= 0 or not finite, or T < 1.
    """
    _check_request(num_frames, fps, n_frames)
    if num_frames == "1":
        return [int(rng.integers(n_frames))]
    if n_frames < GT_1_FRAMES:
        return list(range(n_frames))
    spacing = _gt_1_spacing(fps, n_frames)
    centre = int(rng.integers(spacing, n_frames - spacing))
    return [centre - spacing, centre, centre + spacing]


def nearest_frames(times: Sequence[float], frame_times: np.ndarray) -> list[int]:
    """For the oracle mode: the index of the sampled frame nearest to each annotated time.

    A time exactly halfway between two frames goes to the earlier one; times outside the
    video go to its first or last frame.

    Args:
        times: annotated times in seconds.
        frame_times: the sampled frames' times (or original frame positions), 1-D and
            non-decreasing: a frame kept twice across a gap repeats its time.

    Raises:
        ValueError: no frame times, frame times decreasing, or a non-finite time.
    """
    grid = np.asarray(frame_times, dtype=np.float64)
    queries = np.asarray(times, dtype=np.float64).reshape(-1)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"frame_times must be a non-empty 1-D array, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)) or not np.all(np.diff(grid) >= 0):
        raise ValueError("frame_times must be finite and non-decreasing")
    if not np.all(np.isfinite(queries)):
        raise ValueError(f"times must be finite, got {list(times)!r}")
    if grid.size == 1:
        return [0] * queries.size
    after = np.clip(np.searchsorted(grid, queries, side="left"), 1, grid.size - 1)
    before = after - 1
    take_before = queries - grid[before] <= grid[after] - queries
    return [int(i) for i in np.where(take_before, before, after)]


def _gt_1_spacing(fps: float, n_frames: int) -> int:
    """Frames between the 3 "gt_1" frames: max(1, round(0.35 * fps)), at most (T - 1) // 2 (T >= 3)."""
    return min(max(1, round(GT_1_SPACING_SECONDS * fps)), (n_frames - 1) // 2)


def _check_request(num_frames: str, fps: float, n_frames: int) -> None:
    if num_frames not in NUM_FRAMES_OPTIONS:
        raise ValueError(f"num_frames must be one of {NUM_FRAMES_OPTIONS}, got {num_frames!r}")
    if not (fps > 0 and math.isfinite(fps)):
        raise ValueError(f"fps must be positive and finite, got {fps!r}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")


def _check_segments(segments: Sequence[Segment], n_frames: int) -> None:
    if len(segments) == 0:
        raise ValueError("segments is empty: give one (start, end) per stage")
    for k, (start, end) in enumerate(segments):
        if not 0 <= start < end <= n_frames:
            raise ValueError(
                f"segment {k} is {(start, end)!r}: it must be non-empty and inside 0..{n_frames}"
            )
