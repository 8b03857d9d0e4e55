"""Split a video's frames into the planned stages, in order (Viterbi), or evenly (ablation).

A segmentation is a list of K half-open frame ranges `(start, end)`, one per stage, in stage
order, non-empty and inside 0..T. When there are fewer stages than frames, `align_stages`
tiles 0..T exactly (a partition), while `even_segments` matches the published code's even
split: near-equal contiguous parts, each boundary then grown by one frame on both sides, so
neighbouring segments overlap by two frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Segment = tuple[int, int]


def align_stages(scores: np.ndarray) -> list[Segment]:
    """The best in-order assignment of frames to stages (Viterbi with forced start and end).

    Each frame t gets one stage s(t); s starts at stage 0, ends at stage K-1 and either stays
    or advances by one from one frame to the next, so every stage gets a non-empty contiguous
    segment. The assignment maximises sum_t log(scores[s(t), t]). With the start and end
    forced, stay/advance probabilities cancel, so this is exactly the best choice of K-1 cut
    points. Exact, in O(T * K) time and memory.

    Tie rule: the earliest cut points. The cut points (c_1, ..., c_{K-1}) are the start
    frames of stages 1..K-1; each c_j returned is the smallest c_j of any optimal
    segmentation. (The objective is a sum of one term per cut point under c_1 < ... < c_{K-1},
    so taking the earliest of each cut over optimal segmentations gives an optimal one; it is
    also the lexicographically smallest.) Ties are exact float64 ties: segmentations equal in
    exact arithmetic but rounded differently (e.g. sums of log(1e-5)) may not tie.

    When K >= T not every stage can have its own frames: stage k gets the one-frame segment
    (f, f+1) with f = floor(k * T / K). For K == T this is the only valid segmentation (one
    frame per stage); for K > T consecutive stages share frames, so segments overlap, but
    they stay in order, non-empty and inside the video. Scores are then not consulted beyond
    validation.

    Args:
        scores: K x T positive, finite scores (e.g. from `stage_scores`).

    Returns:
        K segments (start, end), half-open, in stage order.

    Raises:
        ValueError: scores not 2-D, no stages or no frames, or a score <= 0 or not finite.
    """
    log_scores = _log_scores(scores)
    n_stages, n_frames = log_scores.shape
    if n_stages >= n_frames:
        return _one_frame_per_stage(n_stages, n_frames)

    # prefix[k, t] = sum of log_scores[k, :t].
    prefix = np.zeros((n_stages, n_frames + 1))
    np.cumsum(log_scores, axis=1, out=prefix[:, 1:])

    # Backward pass. best_from[s] = best total for frames s..T-1 split into stages k..K-1
    # with stage k starting at frame s (-inf where impossible). next_start[k, s] = where
    # stage k+1 then starts: the earliest such frame among equal bests (the tie rule).
    best_from = prefix[-1, -1] - prefix[-1]
    best_from[-1] = -np.inf  # the last stage cannot start at frame T (it would be empty)
    next_start = np.full((n_stages - 1, n_frames + 1), n_frames, dtype=np.intp)
    for stage in range(n_stages - 2, -1, -1):
        # Stage `stage` starting at s and ending at e (exclusive) scores
        # prefix[stage, e] - prefix[stage, s], then stage+1 continues from e.
        gain_to = prefix[stage] + best_from
        best_after, first_best_after = _suffix_max_and_first_argmax(gain_to)
        # Stage `stage` is non-empty, so its end e is at least s + 1.
        best_from = np.full(n_frames + 1, -np.inf)
        best_from[:-1] = best_after[1:] - prefix[stage, :-1]
        next_start[stage, :-1] = first_best_after[1:]

    starts = [0]
    for stage in range(n_stages - 1):
        starts.append(int(next_start[stage, starts[-1]]))
    return list(zip(starts, starts[1:] + [n_frames]))


def even_segments(n_stages: int, n_frames: int) -> list[Segment]:
    """The "no Viterbi" ablation: the published code's even split, boundaries grown by one frame.

    As published: stage_size, remainder = divmod(T, K); stage i gets stage_size + 1 frames
    if i < remainder, else stage_size, laid out contiguously from frame 0. Then every
    boundary between stages grows by one frame on each side (the first stage's end + 1, the
    last stage's start - 1, a middle stage's start - 1 and end + 1), so neighbours overlap
    by two frames, and the segments are clipped to 0..T (so K == 1 gives (0, T)). E.g.
    T = 10, K = 3: sizes 4, 3, 3 -> (0, 4), (4, 7), (7, 10) -> (0, 5), (3, 8), (6, 10).

    When K >= T, stage k gets the one-frame segment (f, f+1) with f = floor(k * T / K), as
    in `align_stages` (not the published split).

    Raises:
        ValueError: n_stages or n_frames below 1.
    """
    if n_stages < 1:
        raise ValueError(f"n_stages must be at least 1, got {n_stages}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")
    if n_stages >= n_frames:
        return _one_frame_per_stage(n_stages, n_frames)
    stage_size, remainder = divmod(n_frames, n_stages)
    sizes = [stage_size + 1 if k < remainder else stage_size for k in range(n_stages)]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    # Grow only the boundaries between stages: this equals growing every start and end then
    # clipping to 0..T as published, since an inner start is >= 1 and an inner end <= T - 1.
    starts[1:] -= 1
    ends[:-1] += 1
    return [(int(start), int(end)) for start, end in zip(starts, ends)]


def segment_score(scores: np.ndarray, segments: Sequence[Segment]) -> float:
    """The objective `align_stages` maximises: the sum of log scores along a segmentation.

    Meaningful only for a partition of 0..T, as `align_stages` returns when K < T. Frames
    shared by overlapping segments (`even_segments`, or K > T) are counted once per segment,
    so such segmentations cannot be compared with it; nothing in viddiff scores them.

    Args:
        scores: K x T positive, finite scores.
        segments: K (start, end) half-open frame ranges, segment k scored on row k.

    Raises:
        ValueError: invalid scores, or not one segment per stage.
    """
    log_scores = _log_scores(scores)
    if len(segments) != log_scores.shape[0]:
        raise ValueError(
            f"got {len(segments)} segments for {log_scores.shape[0]} stages: give one per stage"
        )
    return float(sum(log_scores[k, start:end].sum() for k, (start, end) in enumerate(segments)))


def _log_scores(scores: np.ndarray) -> np.ndarray:
    matrix = np.asarray(scores, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"scores must be a 2-D array (stages x frames), got shape {matrix.shape}")
    n_stages, n_frames = matrix.shape
    if n_stages == 0:
        raise ValueError(
            "scores has no stages (shape 0 x T): the stage plan must have at least one stage"
        )
    if n_frames == 0:
        raise ValueError("scores has no frames (shape K x 0): the video must yield at least one frame")
    if not np.all(np.isfinite(matrix)) or not np.all(matrix > 0):
        bad = matrix[~(np.isfinite(matrix) & (matrix > 0))][0]
        raise ValueError(
            f"scores must be positive and finite, found {float(bad)!r}: floor them first "
            "(see stage_scores)"
        )
    return np.log(matrix)


def _one_frame_per_stage(n_stages: int, n_frames: int) -> list[Segment]:
    """Stage k gets frame floor(k * T / K): in order, non-empty, overlapping when K > T."""
    return [(k * n_frames // n_stages, k * n_frames // n_stages + 1) for k in range(n_stages)]


def _suffix_max_and_first_argmax(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every i: max(values[i:]) and the smallest j >= i where it is reached."""
    suffix_max = np.maximum.accumulate(values[::-1])[::-1]
    # values[j] == suffix_max[j] marks the positions no later value beats; the first such
    # position at or after i is the first index reaching max(values[i:]).
    positions = np.arange(values.size)
    at_max = np.where(values == suffix_max, positions, values.size)
    first_argmax = np.minimum.accumulate(at_max[::-1])[::-1]
    return suffix_max, first_argmax
