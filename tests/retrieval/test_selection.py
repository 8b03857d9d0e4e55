import numpy as np
import pytest

from viddiff.retrieval.selection import nearest_frames, random_frames, select_frames

# Five stages over 40 frames.
SEGMENTS = [(0, 6), (6, 15), (15, 22), (22, 33), (33, 40)]


def test_one_frame_is_middle_of_first_linked_stage():
    # Stage 1 covers frames 6..14: int((6 + 14) / 2) = 10.
    assert select_frames(SEGMENTS, [1, 3], "1", fps=8, n_frames=40) == [10]
    # Stage 0 covers 0..5: int(5 / 2) = 2 (rounds down).
    assert select_frames(SEGMENTS, [0], "1", fps=8, n_frames=40) == [2]


def test_gt_1_at_8_fps_spaces_three_frames():
    # Stage 2 covers 15..21, centre 18; spacing round(0.35 * 8) = round(2.8) = 3.
    assert select_frames(SEGMENTS, [2], "gt_1", fps=8, n_frames=40) == [15, 18, 21]


def test_gt_1_at_1_fps_gives_three_different_frames():
    # round(0.35) = 0 would repeat one frame; the spacing is at least 1.
    assert select_frames(SEGMENTS, [2], "gt_1", fps=1, n_frames=40) == [17, 18, 19]


def test_gt_1_spans_all_linked_stages():
    # Earliest start 6 (stage 1), latest end 32 (stage 3): centre int(38 / 2) = 19.
    assert select_frames(SEGMENTS, [3, 1], "gt_1", fps=8, n_frames=40) == [16, 19, 22]


def test_gt_1_is_shifted_inside_at_the_start_and_end():
    # Stage 0 centre 2, spacing round(0.35 * 20) = 7: shifted to centre 7.
    assert select_frames(SEGMENTS, [0], "gt_1", fps=20, n_frames=40) == [0, 7, 14]
    # Stage 4 covers 33..39, centre 36: shifted to centre 32.
    assert select_frames(SEGMENTS, [4], "gt_1", fps=20, n_frames=40) == [25, 32, 39]


def test_unlinked_difference_uses_middle_stage():
    assert select_frames(SEGMENTS, [], "1", fps=8, n_frames=40) == [18]  # stage 5 // 2 = 2
    assert select_frames(SEGMENTS[:4], [], "1", fps=8, n_frames=40) == [18]  # stage 4 // 2 = 2
    assert select_frames(SEGMENTS[:2], (), "1", fps=8, n_frames=40) == [10]  # stage 2 // 2 = 1


def test_short_video_shrinks_the_spacing():
    # 2 * 3 + 1 > 5 frames: spacing (5 - 1) // 2 = 2.
    assert select_frames([(0, 2), (2, 5)], [1], "gt_1", fps=8, n_frames=5) == [0, 2, 4]
    assert select_frames([(0, 1), (1, 3)], [0], "gt_1", fps=8, n_frames=3) == [0, 1, 2]


def test_fewer_than_three_frames_returns_them_all():
    assert select_frames([(0, 1), (1, 2)], [1], "gt_1", fps=8, n_frames=2) == [0, 1]
    assert select_frames([(0, 1), (0, 1)], [1], "gt_1", fps=8, n_frames=1) == [0]
    assert select_frames([(0, 1), (0, 1)], [1], "1", fps=8, n_frames=1) == [0]


def test_numpy_integer_input_gives_python_ints():
    segments = [(np.int64(0), np.int64(6)), (np.int64(6), np.int64(15))]
    for num_frames in ("1", "gt_1"):
        frames = select_frames(segments, [np.int64(1)], num_frames, fps=8.0, n_frames=15)
        assert all(type(f) is int for f in frames)


def test_overlapping_one_frame_segments():
    # More stages than frames (align_stages gives stage k frame floor(k * T / K)).
    segments = [(0, 1), (0, 1), (1, 2), (1, 2), (2, 3)]
    assert select_frames(segments, [3], "1", fps=1, n_frames=3) == [1]
    assert select_frames(segments, [4], "gt_1", fps=1, n_frames=3) == [0, 1, 2]


@pytest.mark.parametrize(
    ("linked", "num_frames", "fps", "n_frames", "message"),
    [
        ([0], "3", 8, 40, "num_frames must be one of .* got '3'"),
        ([0], 1, 8, 40, "num_frames must be one of .* got 1"),
        ([5], "1", 8, 40, r"linked stage 5 is not a stage index in 0\.\.4"),
        ([-1], "1", 8, 40, "linked stage -1 is not a stage index"),
        ([1.0], "1", 8, 40, "linked stage 1.0 is not a stage index"),
        ([0], "gt_1", 0, 40, "fps must be positive and finite, got 0"),
        ([0], "gt_1", -8.0, 40, "got -8.0"),
        ([0], "gt_1", float("nan"), 40, "got nan"),
        ([0], "1", 8, 0, "n_frames must be at least 1, got 0"),
        ([0], "1", 8, 30, r"segment 3 is \(22, 33\): it must be non-empty and inside 0..30"),
    ],
)
def test_select_frames_rejects_bad_input(linked, num_frames, fps, n_frames, message):
    with pytest.raises(ValueError, match=message):
        select_frames(SEGMENTS, linked, num_frames, fps=fps, n_frames=n_frames)


def test_select_frames_rejects_empty_segments():
    with pytest.raises(ValueError, match="segments is empty"):
        select_frames([], [], "1", fps=8, n_frames=10)


def test_random_frames_with_a_fixed_seed():
    # 8 fps: spacing round(0.35 * 8) = 3; centres drawn from 3..46 by default_rng(0).integers(3, 47),
    # whose first three draws are 40, 31, 25; the next draw, integers(50), is 13.
    rng = np.random.default_rng(0)
    assert [random_frames(rng, "gt_1", 8.0, 50) for _ in range(3)] == [[37, 40, 43], [28, 31, 34], [22, 25, 28]]
    assert random_frames(rng, "1", 8.0, 50) == [13]


def test_random_frames_are_deterministic_for_a_seed():
    def draws(seed):
        rng = np.random.default_rng(seed)
        return [random_frames(rng, num_frames, 5.0, 60) for num_frames in ("gt_1", "1") * 20]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


@pytest.mark.parametrize(
    ("fps", "spacing"),
    [(1.0, 1), (5.0, 2), (8.0, 3)],  # max(1, round(0.35 * fps)): round(0.35) = 0 -> 1, round(1.75) = 2, round(2.8) = 3
)
def test_random_gt_1_frames_are_evenly_spaced_like_select_frames(fps, spacing):
    n_frames = 12
    # The same spacing select_frames uses at this rate.
    chosen = select_frames([(0, n_frames)], [0], "gt_1", fps=fps, n_frames=n_frames)
    assert chosen[1] - chosen[0] == chosen[2] - chosen[1] == spacing
    rng = np.random.default_rng(1)
    centres = set()
    for _ in range(300):
        frames = random_frames(rng, "gt_1", fps, n_frames)
        assert all(type(f) is int for f in frames)
        assert frames == [frames[1] - spacing, frames[1], frames[1] + spacing]
        assert 0 <= frames[0] and frames[2] < n_frames
        centres.add(frames[1])
    # Every centre spacing..T-1-spacing (inclusive) is drawn, and no other.
    assert centres == set(range(spacing, n_frames - spacing))


def test_random_one_frame_covers_the_video():
    rng = np.random.default_rng(2)
    draws = [random_frames(rng, "1", 8.0, 5) for _ in range(200)]
    assert all(len(d) == 1 and type(d[0]) is int for d in draws)
    assert {d[0] for d in draws} == {0, 1, 2, 3, 4}


def test_random_frames_short_video():
    rng = np.random.default_rng(0)
    # 8 fps wants spacing 3; 2 * 3 + 1 > 5 frames: spacing (5 - 1) // 2 = 2, the only centre is 2.
    assert {tuple(random_frames(rng, "gt_1", 8.0, 5)) for _ in range(50)} == {(0, 2, 4)}
    # 4 frames: spacing (4 - 1) // 2 = 1, centre 1 or 2.
    assert {tuple(random_frames(rng, "gt_1", 8.0, 4)) for _ in range(50)} == {(0, 1, 2), (1, 2, 3)}
    # 3 frames: spacing 1, centre 1.
    assert random_frames(rng, "gt_1", 8.0, 3) == [0, 1, 2]
    # Fewer than 3 frames: all of them.
    assert random_frames(rng, "gt_1", 8.0, 2) == [0, 1]
    assert random_frames(rng, "gt_1", 8.0, 1) == [0]
    assert random_frames(rng, "1", 8.0, 1) == [0]


@pytest.mark.parametrize(
    ("num_frames", "fps", "n_frames", "message"),
    [
        ("2", 8.0, 5, "num_frames"),
        ("1", 8.0, 0, "at least 1"),
        ("gt_1", 0, 5, "fps must be positive and finite, got 0"),
        ("1", float("inf"), 5, "fps must be positive and finite, got inf"),
    ],
)
def test_random_frames_rejects_bad_input(num_frames, fps, n_frames, message):
    with pytest.raises(ValueError, match=message):
        random_frames(np.random.default_rng(0), num_frames, fps, n_frames)


def test_nearest_frames():
    frame_times = np.arange(5) * 0.5  # 0, 0.5, 1.0, 1.5, 2.0
    assert nearest_frames([0.1, 0.7, 1.6, -3.0, 9.0], frame_times) == [0, 1, 3, 0, 4]


def test_nearest_frames_ties_go_to_the_earlier_frame():
    frame_times = np.array([0.0, 0.5, 1.0, 1.5])  # halfway points are exact in binary
    assert nearest_frames([0.25, 0.75, 1.25], frame_times) == [0, 1, 2]


def test_nearest_frames_with_a_frame_kept_twice():
    # Original frame 3 was kept for two targets across a gap: positions repeat.
    positions = np.array([0, 3, 3, 9])
    assert nearest_frames([3, 2, 5, 7], positions) == [1, 1, 2, 3]


def test_nearest_frames_edge_cases():
    assert nearest_frames([], np.array([0.0, 1.0])) == []
    assert nearest_frames([3.0, -1.0], np.array([0.4])) == [0, 0]


@pytest.mark.parametrize(
    ("times", "frame_times", "message"),
    [
        ([0.0], np.array([]), "non-empty 1-D"),
        ([0.0], np.array([1.0, 0.5]), "non-decreasing"),
        ([np.nan], np.array([0.0, 1.0]), "times must be finite"),
    ],
)
def test_nearest_frames_rejects_bad_input(times, frame_times, message):
    with pytest.raises(ValueError, match=message):
        nearest_frames(times, frame_times)
