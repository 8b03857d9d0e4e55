import json
import math
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from viddiff.data.synth import ACTIONS, JUMPING_JACK, KICK, SQUAT, generate_benchmark
from viddiff.errors import ViddiffError

PAIRS = 24
COLUMNS = {
    "sample_key": str,
    "videos": str,
    "action": str,
    "action_name": str,
    "action_description": str,
    "split": str,
    "domain": str,
    "source_dataset": str,
    "sample_hash": int,
    "differences_annotated": str,
    "differences_gt": str,
    "retrieval_frames": str,
    "n_differences_open_prediction": int,
    "vid0_thumbnail": type(None),
    "vid1_thumbnail": type(None),
}
SPECS = {action.action: action for action in ACTIONS}


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "bench"
    generate_benchmark(out, PAIRS, seed=0, progress=False)
    return out


@pytest.fixture(scope="module")
def rows(bench) -> list[dict]:
    return _read_jsonl(bench / "dataset.jsonl")


@pytest.fixture(scope="module")
def parameters(bench) -> dict[str, list[dict]]:
    return {row["sample_key"]: row["videos"] for row in _read_jsonl(bench / "parameters.jsonl")}


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _frames(path: Path) -> tuple[np.ndarray, ...]:
    """Every frame of a video file or frame folder, decoded independently of viddiff's reader."""
    if path.is_dir():
        return tuple(np.asarray(Image.open(image).convert("RGB")) for image in sorted(path.iterdir()))
    with av.open(str(path)) as container:
        return tuple(frame.to_ndarray(format="rgb24") for frame in container.decode(video=0))


def _clips(bench: Path, row: dict):
    """(trimmed frames, retrieval frames) for videos A and B."""
    for video, retrieval in zip(json.loads(row["videos"]), json.loads(row["retrieval_frames"])):
        start, end = video["frames_trim"]
        yield _frames(bench / video["path"])[start:end], retrieval


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_frames(tmp_path):
    first = generate_benchmark(tmp_path / "first", 6, seed=7, progress=False).parent
    second = generate_benchmark(tmp_path / "second", 6, seed=7, progress=False).parent
    for name in ("dataset.jsonl", "parameters.jsonl"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    videos = sorted(p.relative_to(first) for p in (first / "videos").glob("*/*"))
    assert videos == sorted(p.relative_to(second) for p in (second / "videos").glob("*/*"))
    for video in videos:
        a, b = _frames(first / video), _frames(second / video)
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
        if video.suffix == ".mp4":
            assert (first / video).read_bytes() == (second / video).read_bytes()


def test_another_seed_gives_another_benchmark(tmp_path):
    one = generate_benchmark(tmp_path / "one", 3, seed=7, progress=False)
    other = generate_benchmark(tmp_path / "other", 3, seed=8, progress=False)
    assert one.read_bytes() != other.read_bytes()


# --- schema --------------------------------------------------------------------------------


def test_every_column_has_its_type(rows):
    assert len(rows) == PAIRS
    for row in rows:
        assert list(row) == list(COLUMNS)
        for column, kind in COLUMNS.items():
            assert type(row[column]) is kind, (row["sample_key"], column)
    assert len({row["sample_key"] for row in rows}) == PAIRS
    assert len({row["sample_hash"] for row in rows}) == PAIRS


def test_json_columns_decode_to_the_documented_shapes(rows):
    for row in rows:
        videos = json.loads(row["videos"])
        assert len(videos) == 2
        for video in videos:
            assert set(video) == {"path", "frames_trim", "fps_original"}
            assert video["path"].startswith("videos/") and video["fps_original"] in (24, 30)
            assert len(video["frames_trim"]) == 2 and all(type(i) is int for i in video["frames_trim"])
        annotated = json.loads(row["differences_annotated"])
        labels = json.loads(row["differences_gt"])
        keys = [str(i) for i in range(len(SPECS[row["action"]].differences))]
        assert list(annotated) == list(labels) == keys
        for key, difference in annotated.items():
            if difference is not None:
                assert set(difference) == {"name", "description", "query_string", "num_frames"}
                assert difference["num_frames"] in ("1", "gt_1")
            assert labels[key] in ("a", "b", "c", None)
        retrieval = json.loads(row["retrieval_frames"])
        assert len(retrieval) == 2 and all(list(frames) == keys for frames in retrieval)


def test_n_differences_open_prediction_counts_non_null_labels(rows):
    for row in rows:
        labels = json.loads(row["differences_gt"]).values()
        assert row["n_differences_open_prediction"] == math.ceil(1.5 * sum(v is not None for v in labels))


def test_actions_cycle_with_their_split_and_domain(rows):
    expected = {"synth_squat": ("easy", "fitness"), "synth_jumping_jack": ("medium", "fitness"),
                "synth_kick": ("hard", "ballsports")}  # fmt: skip
    for index, row in enumerate(rows):
        action = ACTIONS[index % len(ACTIONS)]
        assert row["action"] == action.action and row["sample_key"] == f"{action.action}_{index:04d}"
        assert (row["split"], row["domain"]) == expected[row["action"]]
        assert row["source_dataset"] == "synthetic"
    assert all(4 <= len(action.differences) <= 5 for action in ACTIONS)


def test_some_videos_are_frame_folders(bench, rows):
    paths = [bench / video["path"] for row in rows for video in json.loads(row["videos"])]
    folders = [p for p in paths if p.is_dir()]
    assert folders and len(folders) < len(paths)
    assert all(p.suffix == ".mp4" and p.is_file() for p in paths if p not in folders)
    assert {p.parent.name.rsplit("_", 1)[0] for p in folders} == set(SPECS)
    assert all(image.name == f"{i:06d}.png" for p in folders for i, image in enumerate(sorted(p.iterdir())))


def test_trims_cut_still_ends_inside_the_videos(bench, rows):
    for row in rows:
        for video in json.loads(row["videos"]):
            frames = _frames(bench / video["path"])
            start, end = video["frames_trim"]
            assert 0 < start < end < len(frames)
            assert 1.5 <= (end - start) / video["fps_original"] and len(frames) / video["fps_original"] <= 5
            still = np.abs(frames[0].astype(int) - frames[start].astype(int)).mean()
            assert still < 0.5, (video["path"], still)


# --- labels and retrieval frames -----------------------------------------------------------


def test_labels_follow_from_the_parameters(rows, parameters):
    seen = []
    for row in rows:
        spec = SPECS[row["action"]]
        video_a, video_b = parameters[row["sample_key"]]
        for key, label in json.loads(row["differences_gt"]).items():
            seen.append(label)
            if label is None:
                continue
            difference = spec.differences[int(key)]
            a, b = video_a["parameters"][difference.parameter], video_b["parameters"][difference.parameter]
            if abs(a - b) < difference.negligible:
                assert label == "c"
            else:
                assert label == ("a" if (a > b) == difference.larger_applies_more else "b")
    counts = {label: seen.count(label) for label in ("a", "b", "c", None)}
    assert min(counts["a"], counts["b"], counts["c"]) >= len(seen) / 6, counts
    assert counts[None] >= 1


def test_null_labels_keep_or_drop_the_annotation(rows):
    kept = dropped = 0
    for row in rows:
        annotated = json.loads(row["differences_annotated"])
        for key, label in json.loads(row["differences_gt"]).items():
            if annotated[key] is None:
                assert label is None
                dropped += 1
            elif label is None:
                kept += 1
    assert kept >= 1 and dropped >= 1


def test_retrieval_frames_lie_in_the_trimmed_clip(bench, rows):
    for row in rows:
        labels = json.loads(row["differences_gt"])
        annotated = json.loads(row["differences_annotated"])
        for clip, retrieval in _clips(bench, row):
            for key, frames in retrieval.items():
                if labels[key] is None:
                    assert frames is None
                    continue
                expected = 1 if annotated[key]["num_frames"] == "1" else 2
                assert len(frames) == expected and frames == sorted(frames)
                assert all(0 <= i < len(clip) for i in frames)


# --- the pixels show the parameters --------------------------------------------------------


def _figure_mask(frame: np.ndarray) -> np.ndarray:
    """The figure is the only saturated colour; wall, floor and ball are grey or white."""
    channels = frame.astype(int)
    return channels.max(axis=-1) - channels.min(axis=-1) > 40


def _rows_and_columns(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))


def _height(frame: np.ndarray) -> int:
    rows, _ = _rows_and_columns(_figure_mask(frame))
    return rows[-1] - rows[0] + 1


def _squat_height(clip, retrieval, key: str) -> float:
    """Figure height at the bottom of the squat, relative to standing (first trimmed frame)."""
    return _height(clip[retrieval[key][0]]) / _height(clip[0])


def _jack_foot_spread(clip, retrieval, key: str) -> float:
    """Width of the figure near the floor in the open position, relative to standing height."""
    mask = _figure_mask(clip[retrieval[key][0]])
    rows, _ = _rows_and_columns(mask)
    band = mask[rows[-1] - _height(clip[0]) // 10 : rows[-1] + 1]
    _, columns = _rows_and_columns(band)
    return (columns[-1] - columns[0] + 1) / _height(clip[0])


def _kick_foot_height(clip, retrieval, key: str) -> float:
    """Height of the front-most point of the figure (the kicking foot) above the standing foot."""
    mask = _figure_mask(clip[retrieval[key][0]])
    rows, columns = _rows_and_columns(mask)
    foot_rows = np.flatnonzero(mask[:, columns[-1] - 1 : columns[-1] + 1].any(axis=1))
    return (rows[-1] - foot_rows.mean()) / _height(clip[0])


@pytest.mark.parametrize(
    ("action", "parameter", "measure", "applies_more_when_larger"),
    [
        (SQUAT, "depth", _squat_height, False),
        (JUMPING_JACK, "spread", _jack_foot_spread, True),
        (KICK, "follow_through", _kick_foot_height, True),
    ],
    ids=["squat depth", "jumping jack spread", "kick follow-through"],
)
def test_frames_show_the_labelled_difference(
    bench, rows, action, parameter, measure, applies_more_when_larger
):
    """A pixel measurement at the retrieval frames orders A and B as the label says."""
    key = next(k for k, d in action.keyed_differences.items() if d.parameter == parameter)
    checked = 0
    for row in rows:
        label = json.loads(row["differences_gt"])[key]
        if row["action"] != action.action or label not in ("a", "b"):
            continue
        value_a, value_b = (measure(clip, retrieval, key) for clip, retrieval in _clips(bench, row))
        a_measures_more = value_a > value_b
        expected = (label == "a") == applies_more_when_larger
        assert a_measures_more == expected, (row["sample_key"], value_a, value_b)
        checked += 1
    assert checked >= 2


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("pairs", [0, -3])
def test_pairs_must_be_positive(tmp_path, pairs):
    with pytest.raises(ViddiffError, match="pairs must be a positive integer"):
        generate_benchmark(tmp_path / "out", pairs, seed=0, progress=False)
    assert not (tmp_path / "out").exists()


def test_refuses_a_folder_that_holds_a_benchmark(bench):
    before = (bench / "dataset.jsonl").read_bytes()
    message = "already holds a synthetic benchmark; choose another folder or delete it"
    with pytest.raises(ViddiffError, match=message):
        generate_benchmark(bench, 2, seed=1, progress=False)
    assert (bench / "dataset.jsonl").read_bytes() == before


def test_refuses_videos_of_an_unfinished_run(tmp_path):
    (tmp_path / "videos" / "synth_squat_0000").mkdir(parents=True)
    with pytest.raises(ViddiffError, match="unfinished run"):
        generate_benchmark(tmp_path, 2, seed=0, progress=False)


# --- the loader reads it -------------------------------------------------------------------


def test_load_benchmark_reads_every_row(bench, rows):
    from viddiff.data.benchmark import load_benchmark

    loaded = load_benchmark(bench / "dataset.jsonl", strict=True)
    assert len(loaded) == PAIRS and not loaded.row_errors
    for sample, row in zip(loaded, rows):
        labels = {k: v for k, v in json.loads(row["differences_gt"]).items() if v is not None}
        assert sample.sample_key == row["sample_key"] and sample.labels == labels
        assert set(sample.candidates) == set(labels)
        assert sample.n_differences_open == row["n_differences_open_prediction"]
        assert list(sample.retrieval_frames) == json.loads(row["retrieval_frames"])
        assert all(sample.video_path(which).exists() for which in (0, 1))
    easy = load_benchmark(bench / "dataset.jsonl", split="easy")
    assert len(easy) == sum(row["split"] == "easy" for row in rows)
