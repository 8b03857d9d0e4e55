import itertools

import numpy as np
import pytest

from viddiff.retrieval.alignment import align_stages, even_segments, segment_score

# Scores whose logs are exactly 0, -2 and -12: every sum of them is exact in float64, so ties
# between segmentations are exact ties whatever the summation order.
TIE_SCORES = np.exp(-np.array([0.0, 2.0, 12.0]))


def brute_force_align(scores):
    """Every choice of K-1 cut points: the best objective, and among the optimal choices each
    cut point at its earliest (the documented tie rule)."""
    n_stages, n_frames = scores.shape
    log_scores = np.log(scores)
    values = {}
    for cuts in itertools.combinations(range(1, n_frames), n_stages - 1):
        bounds = (0, *cuts, n_frames)
        values[cuts] = sum(log_scores[k, bounds[k] : bounds[k + 1]].sum() for k in range(n_stages))
    best_value = max(values.values())
    optimal_cuts = [cuts for cuts, value in values.items() if value == best_value]
    earliest_cuts = tuple(min(cuts[j] for cuts in optimal_cuts) for j in range(n_stages - 1))
    bounds = (0, *earliest_cuts, n_frames)
    return best_value, list(zip(bounds[:-1], bounds[1:]))


def naive_dp_value(scores):
    """O(T^2 K) forward dynamic programme over (stage, end frame): the optimal objective."""
    n_stages, n_frames = scores.shape
    log_scores = np.log(scores)
    best = np.full((n_stages, n_frames + 1), -np.inf)
    for end in range(1, n_frames + 1):
        best[0, end] = log_scores[0, :end].sum()
    for k in range(1, n_stages):
        for end in range(k + 1, n_frames + 1):
            best[k, end] = max(
                best[k - 1, start] + log_scores[k, start:end].sum() for start in range(k, end)
            )
    return best[-1, -1]


def assert_tiles(segments, n_stages, n_frames):
    assert len(segments) == n_stages
    assert segments[0][0] == 0 and segments[-1][1] == n_frames
    for (start, end), (next_start, _) in zip(segments, segments[1:]):
        assert end == next_start
    assert all(start < end for start, end in segments)
    assert all(isinstance(v, int) for segment in segments for v in segment)


def random_case(rng):
    n_frames = int(rng.integers(1, 10))
    n_stages = int(rng.integers(1, n_frames + 1))
    return n_stages, n_frames


def test_tie_scores_have_exact_logs():
    assert np.array_equal(np.log(TIE_SCORES), [0.0, -2.0, -12.0])


@pytest.mark.parametrize(
    "seed, draw_scores",
    [
        (0, lambda rng, shape: rng.uniform(1e-5, 1.0, size=shape)),
        (1, lambda rng, shape: rng.choice(TIE_SCORES, size=shape)),  # exact ties
    ],
    ids=["random-scores", "tied-scores"],
)
def test_matches_brute_force(seed, draw_scores):
    rng = np.random.default_rng(seed)
    for _ in range(300):
        n_stages, n_frames = random_case(rng)
        scores = draw_scores(rng, (n_stages, n_frames))
        segments = align_stages(scores)
        best_value, best_segments = brute_force_align(scores)
        assert_tiles(segments, n_stages, n_frames)
        assert segment_score(scores, segments) == pytest.approx(best_value, abs=1e-9)
        assert segments == best_segments


def test_min_max_floored_rows_reach_the_optimum():
    # The values stage_scores produces most often (the floor and the maximum), logs not exact.
    rng = np.random.default_rng(2)
    for _ in range(200):
        n_stages, n_frames = random_case(rng)
        scores = rng.choice([1e-5, 0.5, 1.0], size=(n_stages, n_frames))
        segments = align_stages(scores)
        assert_tiles(segments, n_stages, n_frames)
        assert segment_score(scores, segments) == pytest.approx(brute_force_align(scores)[0], abs=1e-9)


def test_all_equal_scores_take_the_earliest_cuts():
    assert align_stages(np.ones((3, 7))) == [(0, 1), (1, 2), (2, 7)]


def test_ties_take_every_cut_at_its_earliest():
    # Stage 1 may take frame 1 or leave it to stage 0, and frame 4 or leave it to stage 2:
    # four optimal segmentations; both cuts go as early as they can.
    good, bad = TIE_SCORES[0], TIE_SCORES[1]
    scores = np.array(
        [
            [good, good, bad, bad, bad, bad],
            [bad, good, good, good, good, bad],
            [bad, bad, bad, bad, good, good],
        ]
    )
    optimal = [[(0, c1), (c1, c2), (c2, 6)] for c1 in (1, 2) for c2 in (4, 5)]
    assert len({segment_score(scores, segments) for segments in optimal}) == 1
    assert segment_score(scores, optimal[0]) == brute_force_align(scores)[0]
    assert align_stages(scores) == [(0, 1), (1, 4), (4, 6)]


def test_follows_a_clear_stage_order():
    scores = np.full((3, 9), 0.1)
    scores[0, :2] = scores[1, 2:6] = scores[2, 6:] = 1.0
    assert align_stages(scores) == [(0, 2), (2, 6), (6, 9)]


def test_one_stage_takes_every_frame():
    assert align_stages(np.full((1, 5), 0.3)) == [(0, 5)]


def test_one_frame():
    assert align_stages(np.array([[0.7]])) == [(0, 1)]


def test_as_many_stages_as_frames_gives_one_frame_each():
    scores = np.random.default_rng(3).uniform(0.1, 1.0, size=(4, 4))
    assert align_stages(scores) == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_more_stages_than_frames_share_frames_in_order():
    scores = np.random.default_rng(4).uniform(0.1, 1.0, size=(5, 3))
    # Stage k gets frame floor(k * 3 / 5).
    assert align_stages(scores) == [(0, 1), (0, 1), (1, 2), (1, 2), (2, 3)]
    assert align_stages(np.ones((3, 1))) == [(0, 1), (0, 1), (0, 1)]


def test_larger_case_matches_naive_dynamic_programme():
    scores = np.random.default_rng(5).uniform(1e-5, 1.0, size=(6, 200))
    segments = align_stages(scores)
    assert_tiles(segments, 6, 200)
    assert segment_score(scores, segments) == pytest.approx(naive_dp_value(scores), abs=1e-9)


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (np.ones((2, 0)), "no frames"),
        (np.ones((0, 3)), "no stages"),
        (np.ones(3), "2-D"),
        (np.array([[1.0, 0.0, 0.5]]), "positive and finite, found 0.0"),
        (np.array([[1.0, -0.2]]), "found -0.2"),
        (np.array([[1.0, np.nan]]), "positive and finite"),
        (np.array([[1.0, np.inf]]), "positive and finite"),
    ],
)
def test_rejects_bad_scores(scores, message):
    with pytest.raises(ValueError, match=message):
        align_stages(scores)


@pytest.mark.parametrize(
    ("n_stages", "n_frames", "expected"),
    [
        # divmod(10, 3) = (3, 1): sizes 4, 3, 3 -> [0, 4), [4, 7), [7, 10) -> grown:
        (3, 10, [(0, 5), (3, 8), (6, 10)]),
        # divmod(11, 4) = (2, 3): sizes 3, 3, 3, 2 -> [0, 3), [3, 6), [6, 9), [9, 11) -> grown:
        (4, 11, [(0, 4), (2, 7), (5, 10), (8, 11)]),
        # divmod(10, 4) = (2, 2): sizes 3, 3, 2, 2 -> [0, 3), [3, 6), [6, 8), [8, 10) -> grown:
        (4, 10, [(0, 4), (2, 7), (5, 9), (7, 10)]),
        # divmod(5, 3) = (1, 2): sizes 2, 2, 1 -> [0, 2), [2, 4), [4, 5) -> grown:
        (3, 5, [(0, 3), (1, 5), (3, 5)]),
        # divmod(4, 3) = (1, 1): sizes 2, 1, 1 -> [0, 2), [2, 3), [3, 4) -> grown:
        (3, 4, [(0, 3), (1, 4), (2, 4)]),
        # One stage: [0, 4) grown to [-1, 5), clipped to the whole video.
        (1, 4, [(0, 4)]),
        (1, 1, [(0, 1)]),
        # K >= T: stage k gets frame floor(k * T / K), as align_stages does.
        (3, 3, [(0, 1), (1, 2), (2, 3)]),
        (5, 3, [(0, 1), (0, 1), (1, 2), (1, 2), (2, 3)]),
    ],
)
def test_even_segments_match_the_published_split(n_stages, n_frames, expected):
    assert even_segments(n_stages, n_frames) == expected


def test_even_segments_grow_every_boundary_of_a_near_equal_split():
    for n_frames in range(2, 40):
        for n_stages in range(1, n_frames):
            segments = even_segments(n_stages, n_frames)
            assert len(segments) == n_stages
            assert all(isinstance(v, int) for segment in segments for v in segment)
            assert segments[0][0] == 0 and segments[-1][1] == n_frames
            # Neighbours overlap by exactly two frames: one grown from each side.
            for (_, end), (next_start, _) in zip(segments, segments[1:]):
                assert end - next_start == 2
            # Undo the growth: contiguous parts, larger ones first, sizes differing by at most one.
            parts = [
                (start + (k > 0), end - (k < n_stages - 1)) for k, (start, end) in enumerate(segments)
            ]
            assert_tiles(parts, n_stages, n_frames)
            sizes = [end - start for start, end in parts]
            assert sizes == sorted(sizes, reverse=True) and sizes[0] - sizes[-1] <= 1


@pytest.mark.parametrize(("n_stages", "n_frames"), [(0, 5), (3, 0)])
def test_even_segments_rejects_empty(n_stages, n_frames):
    with pytest.raises(ValueError, match="at least 1"):
        even_segments(n_stages, n_frames)


def test_segment_score_sums_logs():
    scores = np.array([[1.0, 0.5, 0.25], [0.5, 0.5, 1.0]])
    assert segment_score(scores, [(0, 2), (2, 3)]) == pytest.approx(np.log(0.5))
    with pytest.raises(ValueError, match="1 segments for 2 stages"):
        segment_score(scores, [(0, 3)])
