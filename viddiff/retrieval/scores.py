"""Stage-by-frame score matrix: how well each frame matches each stage's retrieval strings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_FLOOR = 1e-5


def stage_scores(
    frame_embeddings: np.ndarray,
    stage_text_embeddings: Sequence[np.ndarray],
    floor: float = DEFAULT_FLOOR,
) -> np.ndarray:
    """Score every frame against every stage, ready for `align_stages`.

    The score of stage k at frame t is the mean cosine similarity between frame t and the
    stage's retrieval strings. Each stage's row is then min-max normalised over the frames,
    so the best frame scores 1 and the worst 0; a constant row (max == min, e.g. a single
    frame) carries no information and becomes all zeros. Finally every value below `floor`
    (the zeros) is raised to `floor`, so the scores can be logged.

    Embeddings are taken as given: they must already be L2-normalised (as `encode_*(...,
    normalize=True)` returns them); nothing is renormalised here.

    Args:
        frame_embeddings: T x D, one row per sampled frame.
        stage_text_embeddings: K arrays, stage k's being n_k x D (n_k >= 1), one row per
            retrieval string.
        floor: the smallest score, in (0, 1].

    Returns:
        K x T float64 scores in [floor, 1].

    Raises:
        ValueError: an empty video or stage list, a stage with no strings, mismatched
            embedding dimensions, non-finite values, or a floor outside (0, 1].
    """
    if not 0.0 < floor <= 1.0:
        raise ValueError(f"floor must be in (0, 1], got {floor!r}")
    frames = _as_matrix(frame_embeddings, "frame_embeddings")
    n_frames, dim = frames.shape
    if n_frames == 0:
        raise ValueError(
            "frame_embeddings has no frames (shape 0 x D): the video must yield at least one frame"
        )
    if len(stage_text_embeddings) == 0:
        raise ValueError("stage_text_embeddings is empty: the stage plan must have at least one stage")
    # The mean of the dot products equals the dot product with the mean string embedding.
    mean_texts = np.stack(
        [_stage_mean(texts, k, dim) for k, texts in enumerate(stage_text_embeddings)]
    )
    raw = mean_texts @ frames.T
    return np.maximum(_min_max_rows(raw), floor)


def _as_matrix(values: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows x D), got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return matrix


def _stage_mean(texts: np.ndarray, stage: int, dim: int) -> np.ndarray:
    name = f"stage_text_embeddings[{stage}]"
    matrix = _as_matrix(texts, name)
    if matrix.shape[0] == 0:
        raise ValueError(f"{name} has no retrieval strings: every stage needs at least one")
    if matrix.shape[1] != dim:
        raise ValueError(
            f"{name} has dimension {matrix.shape[1]} but the frame embeddings have {dim}: "
            "embed frames and strings with the same model"
        )
    return matrix.mean(axis=0)


def _min_max_rows(raw: np.ndarray) -> np.ndarray:
    """Each row mapped to [0, 1] by its own min and max; a constant row becomes zeros."""
    low = raw.min(axis=1, keepdims=True)
    span = raw.max(axis=1, keepdims=True) - low
    safe_span = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (raw - low) / safe_span, 0.0)
