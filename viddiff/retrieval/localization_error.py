"""Localization error: how far, in seconds, the chosen frames are from the annotated key points."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ErrorSummary:
    """Localization errors over many differences (NaN statistics when there are none)."""

    count: int
    mean_s: float
    median_s: float
    within_half_second: float
    """Share of errors of at most 0.5 s."""
    within_one_second: float


def localization_errors(
    frames: Mapping[str, Sequence[int]],
    frame_times: np.ndarray,
    key_point_times: Mapping[str, Sequence[float] | None],
) -> dict[str, float]:
    """Per difference: seconds between its central chosen frame and the nearest annotated key point.

    Only differences with both chosen frames and at least one annotated time are measured.

    Args:
        frames: difference key -> indices into the sampled frames.
        frame_times: the sampled frames' times in seconds.
        key_point_times: difference key -> annotated times in seconds (same clock).
    """
    errors = {}
    for key, chosen in frames.items():
        annotated = key_point_times.get(key)
        if not chosen or not annotated:
            continue
        centre = float(frame_times[chosen[len(chosen) // 2]])
        errors[key] = min(abs(centre - t) for t in annotated)
    return errors


def summarize_errors(errors: Iterable[float]) -> ErrorSummary:
    """Count, mean, median and the shares within 0.5 s and 1 s."""
    values = np.asarray(list(errors), dtype=np.float64)
    if values.size == 0:
        return ErrorSummary(0, math.nan, math.nan, math.nan, math.nan)
    return ErrorSummary(
        count=int(values.size),
        mean_s=float(values.mean()),
        median_s=float(np.median(values)),
        within_half_second=float(np.mean(values <= 0.5)),
        within_one_second=float(np.mean(values <= 1.0)),
    )
