import numpy as np
import pytest

from tests.conftest import TINY_CLIP
from viddiff.data import load_benchmark, read_sample_frames
from viddiff.data.synth import generate_benchmark
from viddiff.data.video import Frames
from viddiff.errors import ViddiffError
from viddiff.clip import ClipEmbedder
from viddiff.config import ClipConfig
from viddiff.retrieval import (
    DifferenceQuery,
    FrameLocalizer,
    Stage,
    key_point_times,
    localization_errors,
    localize,
    summarize_errors,
)

SQUAT_STAGES = [
    Stage("standing", ("A photo of a person standing upright",)),
    Stage("bottom", ("A photo of a person in a deep squat", "A photo of a person crouching low")),
    Stage("standing again", ("A photo of a person standing up straight",)),
]


class FigureHeightEmbedder:
    """Test double for ClipEmbedder: a frame's embedding encodes how tall the figure stands.

    Standing strings embed to [1, 0], squatting ones to [0, 1]; a frame to the unit vector
    of [h, 1 - h], h = the figure's pixel height over its tallest in the video.
    """

    def embed_frames(self, images: np.ndarray) -> np.ndarray:
        figure = (images.max(axis=-1).astype(int) - images.min(axis=-1)) > 60  # saturated pixels
        rows = figure.any(axis=2)
        heights = np.array([np.ptp(np.flatnonzero(r)) + 1 if r.any() else 0 for r in rows], float)
        h = heights / heights.max()
        vectors = np.stack([h, 1 - h], axis=1)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_texts(self, texts):
        return np.array([[1.0, 0.0] if "stand" in t else [0.0, 1.0] for t in texts])


@pytest.fixture(scope="module")
def squats(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "bench"
    generate_benchmark(out, pairs=7, seed=5, progress=False)
    return [s for s in load_benchmark(out, actions=["synth_squat"])]


def _queries(sample):
    links = {"0": (1,), "1": (0, 1)}  # depth: the bottom; descent speed: standing into the bottom
    return [DifferenceQuery(k, d.num_frames, links.get(k, ())) for k, d in sample.candidates.items()]


def _depth_errors(localizer, squats):
    """Seconds between the frame chosen for squat depth and the annotated bottom, per video."""
    errors = []
    for sample in squats:
        for which in (0, 1):
            frames = read_sample_frames(sample, which)
            trim_start = sample.videos[which].frames_trim[0]
            placed = localizer.localize(
                frames, SQUAT_STAGES, [DifferenceQuery("0", "1", (1,))], trim_start=trim_start, seed_key=(sample.sample_hash, which)
            )
            if placed.segments is not None:
                assert len(placed.segments) == 3
                assert placed.segments[0][0] == 0 and placed.segments[-1][1] == len(frames)
            times = key_point_times(sample.retrieval_frames[which], frames, trim_start, sample.videos[which].fps_original)
            errors += localization_errors(placed.frames, frames.timestamps, times).values()
    return summarize_errors(errors)


def test_viterbi_finds_the_bottom_of_the_squat(squats):
    viterbi = _depth_errors(FrameLocalizer("viterbi", embedder=FigureHeightEmbedder()), squats)
    uniform = _depth_errors(FrameLocalizer("uniform"), squats)
    random = _depth_errors(FrameLocalizer("random", seed=0), squats)
    assert viterbi.count == uniform.count == random.count >= 4
    # The middle of the aligned bottom stage lies within a frame or so (8 fps) of the annotated bottom.
    assert viterbi.mean_s < 0.1 and viterbi.within_half_second == 1.0
    assert viterbi.mean_s < uniform.mean_s < random.mean_s


def test_every_mode_returns_the_same_structure(squats, tiny_clip_checkpoint):
    sample = squats[0]
    frames = read_sample_frames(sample, 0)
    queries = _queries(sample)
    trim_start = sample.videos[0].frames_trim[0]
    clip = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu"))
    for mode in ("viterbi", "uniform", "random", "oracle"):
        localizer = FrameLocalizer(mode, embedder=clip if mode == "viterbi" else None, seed=3)
        placed = localizer.localize(
            frames, SQUAT_STAGES, queries, key_points=sample.retrieval_frames[0], trim_start=trim_start, seed_key=(sample.sample_hash, 0)
        )
        assert placed.mode == mode
        assert set(placed.frames) | set(placed.unserved) == {q.key for q in queries}
        for q in queries:
            if q.key in placed.frames:
                chosen = placed.frames[q.key]
                assert all(0 <= f < len(frames) for f in chosen)
                assert len(chosen) == (1 if q.num_frames == "1" else len(chosen)) and 1 <= len(chosen) <= 3


def test_uniform_mode_is_the_published_even_split(squats):
    frames = read_sample_frames(squats[0], 0)
    queries = [DifferenceQuery("0", "1", (1,)), DifferenceQuery("1", "gt_1", (1,))]
    placed = FrameLocalizer("uniform").localize(frames, SQUAT_STAGES, queries)
    assert (len(frames), frames.fps) == (18, 8.0)
    # 18 frames, 3 stages: [0, 6), [6, 12), [12, 18), each boundary grown by one frame.
    assert placed.segments == [(0, 7), (5, 13), (11, 18)]
    # Stage 1 covers 5..12: middle int(17 / 2) = 8; gt_1 spacing round(0.35 * 8) = 3.
    assert placed.frames == {"0": [8], "1": [5, 8, 11]}


@pytest.mark.parametrize(("fps", "spacing"), [(1.0, 1), (5.0, 2), (8.0, 3)])
def test_random_mode_spaces_three_frames_by_the_frame_rate(fps, spacing):
    placed = localize("random", [DifferenceQuery("0", "gt_1")], n_frames=40, fps=fps, seed=(3, 1))
    first, middle, last = placed.frames["0"]
    assert middle - first == last - middle == spacing


def test_random_mode_is_seeded(squats):
    frames = read_sample_frames(squats[0], 0)
    queries = [DifferenceQuery("0", "1"), DifferenceQuery("1", "gt_1")]
    first = FrameLocalizer("random", seed=1).localize(frames, SQUAT_STAGES, queries, seed_key=(7, 0))
    again = FrameLocalizer("random", seed=1).localize(frames, SQUAT_STAGES, queries, seed_key=(7, 0))
    assert first.frames == again.frames
    others = [FrameLocalizer("random", seed=s).localize(frames, SQUAT_STAGES, queries, seed_key=(7, 0)).frames for s in range(2, 8)]
    assert any(o != first.frames for o in others)


def test_oracle_mode_maps_annotations_to_the_nearest_sampled_frame(squats):
    for sample in squats:
        which = 1
        frames = read_sample_frames(sample, which)
        trim_start = sample.videos[which].frames_trim[0]
        key_points = sample.retrieval_frames[which]
        queries = [DifferenceQuery(k, d.num_frames) for k, d in sample.candidates.items()]
        placed = FrameLocalizer("oracle").localize(frames, SQUAT_STAGES, queries, key_points=key_points, trim_start=trim_start)
        positions = frames.source_indices - trim_start
        for q in queries:
            points = key_points.get(q.key)
            if not points:
                assert q.key in placed.unserved
                continue
            wanted = points[:1] if q.num_frames == "1" else points
            expected = sorted({int(np.argmin(np.abs(positions - p))) for p in wanted})
            assert placed.frames[q.key] == expected


def test_oracle_reports_differences_it_cannot_serve():
    frames = Frames(np.zeros((4, 2, 2, 3), np.uint8), np.arange(4) / 2, np.arange(0, 16, 4), 2.0)
    placed = localize(
        "oracle",
        [DifferenceQuery("0", "1"), DifferenceQuery("1", "gt_1"), DifferenceQuery("2", "1")],
        n_frames=4,
        fps=2.0,
        key_points={"0": [9], "1": [1, 13], "2": None},
        frame_positions=frames.source_indices,
    )
    assert placed.frames == {"0": [2], "1": [0, 3]}
    assert placed.unserved == ("2",)


def test_localization_error_hand_computed():
    frame_times = np.array([0.0, 0.5, 1.0, 1.5])
    errors = localization_errors({"0": [1], "1": [0, 2, 3], "2": [0]}, frame_times, {"0": [0.7, 2.0], "1": [0.2], "3": [1.0]})
    assert errors == pytest.approx({"0": 0.2, "1": 0.8})
    summary = summarize_errors(errors.values())
    assert (summary.count, summary.mean_s, summary.median_s) == (2, pytest.approx(0.5), pytest.approx(0.5))
    assert (summary.within_half_second, summary.within_one_second) == (0.5, 1.0)
    empty = summarize_errors([])
    assert empty.count == 0 and np.isnan(empty.mean_s)


def test_key_point_times_count_from_the_first_sampled_frame():
    frames = Frames(np.zeros((3, 2, 2, 3), np.uint8), np.array([0.4, 0.5, 0.6]), np.array([12, 15, 18]), 10.0)
    assert key_point_times({"0": [3, 6], "1": None}, frames, trim_start=12, fps_original=30.0) == {
        "0": [pytest.approx(0.5), pytest.approx(0.6)]
    }


def test_bad_mode_inputs():
    with pytest.raises(ViddiffError, match="unknown localization mode 'best'"):
        FrameLocalizer("best")
    with pytest.raises(ViddiffError, match="viterbi localization mode needs a CLIP embedder"):
        FrameLocalizer("viterbi")
    with pytest.raises(ValueError, match="needs a seed"):
        localize("random", [DifferenceQuery("0", "1")], n_frames=3, fps=1.0)
    with pytest.raises(ValueError, match="needs stage scores"):
        localize("viterbi", [DifferenceQuery("0", "1")], n_frames=3, fps=1.0)
    with pytest.raises(ValueError, match="annotated key points"):
        localize("oracle", [DifferenceQuery("0", "1")], n_frames=3, fps=1.0)
    with pytest.raises(ValueError, match="number of stages"):
        localize("uniform", [DifferenceQuery("0", "1")], n_frames=3, fps=1.0)
