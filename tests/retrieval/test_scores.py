import numpy as np
import pytest

from viddiff.retrieval.scores import stage_scores


def unit(degrees):
    radians = np.deg2rad(degrees)
    return np.array([np.cos(radians), np.sin(radians)])


# Frames at 0, 60 and 90 degrees; stage 0 has one string at 0 degrees, stage 1 two strings at
# 90 and 180 degrees (mean vector (-1/2, 1/2)).
FRAMES = np.stack([unit(0), unit(60), unit(90)])
STAGES = [np.stack([unit(0)]), np.stack([unit(90), unit(180)])]


def test_hand_computed_scores():
    # Raw cosines: stage 0 = cos(0, 60, 90) = (1, 1/2, 0);
    # stage 1 = mean of (0, -1), (sqrt3/2, -1/2), (1, 0) = (-1/2, (sqrt3 - 1)/4, 1/2).
    # Min-max: stage 0 -> (1, 1/2, 0); stage 1 -> (0, (sqrt3 + 1)/4, 1). Zeros -> 1e-5.
    expected = np.array([[1.0, 0.5, 1e-5], [1e-5, (np.sqrt(3) + 1) / 4, 1.0]])
    scores = stage_scores(FRAMES, STAGES)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)


def test_custom_floor():
    scores = stage_scores(FRAMES, STAGES, floor=0.01)
    assert scores[0, 2] == 0.01 and scores[1, 0] == 0.01


def test_constant_row_becomes_floor():
    # Stage 1's string is orthogonal to every frame: a constant row carries no information.
    frames = np.stack([unit(0), unit(180), unit(0)])
    scores = stage_scores(frames, [np.stack([unit(0)]), np.stack([unit(90)])])
    np.testing.assert_array_equal(scores, [[1.0, 1e-5, 1.0], [1e-5, 1e-5, 1e-5]])


def test_single_frame_gives_floor_everywhere():
    np.testing.assert_array_equal(stage_scores(FRAMES[:1], STAGES), [[1e-5], [1e-5]])


def test_embeddings_are_not_renormalised():
    # Doubling a frame doubles its raw cosines; after min-max the row changes.
    frames = FRAMES * np.array([[1.0], [3.0], [1.0]])
    scores = stage_scores(frames, STAGES[:1])
    np.testing.assert_allclose(scores, [[2 / 3, 1.0, 1e-5]], atol=1e-12)


@pytest.mark.parametrize(
    ("frames", "stages", "message"),
    [
        (np.zeros((0, 2)), STAGES, "no frames"),
        (FRAMES, [], "at least one stage"),
        (FRAMES, [STAGES[0], np.zeros((0, 2))], r"stage_text_embeddings\[1\] has no retrieval strings"),
        (FRAMES, [np.ones((2, 3))], r"embeddings\[0\] has dimension 3 but the frame embeddings have 2"),
        (FRAMES[0], STAGES, "frame_embeddings must be a 2-D array"),
        (FRAMES, [unit(0)], r"stage_text_embeddings\[0\] must be a 2-D array"),
        (np.full((2, 2), np.nan), STAGES, "NaN or infinite"),
    ],
)
def test_rejects_bad_shapes(frames, stages, message):
    with pytest.raises(ValueError, match=message):
        stage_scores(frames, stages)


@pytest.mark.parametrize("floor", [0.0, -1e-5, 1.5])
def test_rejects_bad_floor(floor):
    with pytest.raises(ValueError, match="floor must be in"):
        stage_scores(FRAMES, STAGES, floor=floor)
