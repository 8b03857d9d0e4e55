"""Frame sampling on real camera footage: the VidDiff demo pair, side by side in one clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viddiff.data.video import read_frames

CLIP = (
    Path(__file__).resolve().parents[2].parent
    / "shared" / "fixtures" / "real" / "soccer_penalty_pair_side_by_side.mp4"
)
LEFT = (0, 0, 801, 448)
RIGHT = (801, 0, 801, 448)

pytestmark = [
    pytest.mark.real_footage,
    pytest.mark.skipif(not CLIP.exists(), reason=f"real footage fixture not found at {CLIP}"),
]


@pytest.fixture(scope="module")
def halves():
    return read_frames(CLIP, 5, crop=LEFT), read_frames(CLIP, 5, crop=RIGHT)


def test_halves_sampled_at_5_fps_on_the_24_fps_grid(halves) -> None:
    left, right = halves
    # 611 frames at 24 fps: the last is at 610 / 24 = 25.417 s, so targets 0.0 ... 25.4 s
    assert len(left) == len(right) == 128
    expected_indices = [24 * k // 5 for k in range(128)]  # last frame at or before k * 0.2 s
    assert left.source_indices.tolist() == expected_indices
    np.testing.assert_array_equal(left.timestamps, [i / 24 for i in expected_indices])
    np.testing.assert_array_equal(left.timestamps, right.timestamps)
    assert np.all(np.abs(np.diff(left.timestamps) - 0.2) < 1 / 24)
    assert left.warnings == right.warnings == ()  # decoded to its declared end


def test_halves_have_the_crop_shape_and_differ(halves) -> None:
    left, right = halves
    assert left.images.shape == right.images.shape == (128, 448, 801, 3)
    assert np.abs(left.images[::8].astype(np.int16) - right.images[::8]).mean() > 10


def test_frames_change_over_time(halves) -> None:
    left, _ = halves
    step = np.abs(np.diff(left.images[::8].astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert np.all(step > 0)
    assert step.mean() > 5


def test_size_limited_read_has_longer_side_224() -> None:
    frames = read_frames(CLIP, 5, crop=RIGHT, size=224, trim=(0, 120))
    assert frames.images.shape == (25, 125, 224, 3)
    whole = read_frames(CLIP, 1, size=224, trim=(0, 48))
    assert whole.images.shape == (2, 63, 224, 3)
