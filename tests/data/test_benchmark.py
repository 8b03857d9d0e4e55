import copy
import json
from pathlib import Path

import pytest

from viddiff.data.benchmark import load_benchmark, record_to_sample
from viddiff.data.records import Difference, VideoRef
from viddiff.errors import DatasetError, RowError

# A row as VidDiffBench stores it: JSON columns are strings; key "2" is null in both
# annotations and labels, key "1" is labelled "c".
RAW_ROW = {
    "sample_key": "fitness_0_17",
    "videos": json.dumps(
        [
            {"path": "fitness/p000438_a000040/video.mp4", "frames_trim": [12, 95], "fps_original": 30},
            {"path": "fitness/p000441_a000040", "frames_trim": [0, None], "fps_original": 30.0},
        ]
    ),
    "action": "fitness_0",
    "action_name": "squat",
    "action_description": "a squat with the hands on the hips",
    "split": "easy",
    "domain": "fitness",
    "source_dataset": "humann",
    "sample_hash": 8812734401,
    "differences_annotated": json.dumps(
        {
            "0": {
                "name": "depth",
                "description": "the squat is deeper",
                "query_string": "how deep is the squat",
                "num_frames": "1",
            },
            "1": {
                "name": "speed",
                "description": "the descent is faster",
                "query_string": "speed of descent",
                "num_frames": "gt_1",
            },
            "2": None,
            "3": {
                "name": "stance",
                "description": "the stance is wider",
                "query_string": "width of stance",
                "num_frames": "1",
            },
        }
    ),
    "differences_gt": json.dumps({"0": "a", "1": "c", "2": None, "3": "b"}),
    "retrieval_frames": json.dumps([{"0": [40], "1": [20, 41], "3": None}, {"0": [35], "1": None, "3": [3]}]),
    "n_differences_open_prediction": 5,
    "vid0_thumbnail": None,
    "vid1_thumbnail": None,
}


def test_raw_row_every_field(tmp_path):
    sample = record_to_sample(RAW_ROW, 7, video_root=tmp_path)

    assert sample.sample_key == "fitness_0_17"
    assert sample.row_index == 7
    assert sample.videos == (
        VideoRef("fitness/p000438_a000040/video.mp4", (12, 95), 30.0),
        VideoRef("fitness/p000441_a000040", (0, None), 30.0),
    )
    assert sample.video_path(0) == tmp_path / "fitness/p000438_a000040/video.mp4"
    assert sample.video_path(1) == tmp_path / "fitness/p000441_a000040"
    assert sample.action == "fitness_0"
    assert sample.action_name == "squat"
    assert sample.action_description == "a squat with the hands on the hips"
    assert sample.split == "easy"
    assert sample.domain == "fitness"
    assert sample.source_dataset == "humann"
    assert sample.sample_hash == 8812734401
    assert sample.differences == {
        "0": Difference("0", "depth", "the squat is deeper", "how deep is the squat", "1"),
        "1": Difference("1", "speed", "the descent is faster", "speed of descent", "gt_1"),
        "3": Difference("3", "stance", "the stance is wider", "width of stance", "1"),
    }
    assert sample.labels == {"0": "a", "1": "c", "3": "b"}
    assert sample.difference_keys == ("0", "1", "2", "3")
    assert list(sample.candidates) == ["0", "1", "3"]
    assert sample.retrieval_frames == ({"0": [40], "1": [20, 41], "3": None}, {"0": [35], "1": None, "3": [3]})
    assert sample.n_differences_open == 5
    assert sample.video_root == tmp_path


def test_decoded_row_gives_the_same_sample():
    decoded = dict(RAW_ROW)
    for column in ("videos", "differences_annotated", "differences_gt", "retrieval_frames"):
        decoded[column] = json.loads(RAW_ROW[column])
    assert record_to_sample(decoded, 7) == record_to_sample(RAW_ROW, 7)


def test_n_diff_computed_when_column_absent():
    row = {k: v for k, v in RAW_ROW.items() if k != "n_differences_open_prediction"}
    # three non-null labels (a, c, b): ceil(1.5 * 3) = 5
    assert record_to_sample(row, 0).n_differences_open == 5
    row["differences_gt"] = json.dumps({"0": "a", "1": None, "2": None, "3": "b"})
    assert record_to_sample(row, 0).n_differences_open == 3


def test_labelled_difference_without_annotation_is_excluded_from_candidates():
    row = dict(RAW_ROW, differences_gt=json.dumps({"0": "a", "1": None, "2": None, "3": None}))
    sample = record_to_sample(row, 0)
    assert list(sample.candidates) == ["0"]
    assert set(sample.differences) == {"0", "1", "3"}


def test_retrieval_frames_is_read_tolerantly():
    row = {k: v for k, v in RAW_ROW.items() if k != "retrieval_frames"}
    assert record_to_sample(row, 0).retrieval_frames == ({}, {})
    row["retrieval_frames"] = json.dumps([{"0": 4}, None])
    assert record_to_sample(row, 0).retrieval_frames == ({"0": [4]}, {})


def _with(**changes):
    row = copy.deepcopy(RAW_ROW)
    row.update(changes)
    return row


@pytest.mark.parametrize(
    "row, field, message",
    [
        (_with(videos="[{"), "videos", "invalid JSON"),
        (_with(videos=json.dumps([{"path": "a.mp4"}])), "videos", "list of 2 videos"),
        (
            _with(videos=json.dumps([{"path": "a.mp4", "frames_trim": [0, "x"]}, {"path": "b.mp4"}])),
            "videos[0].frames_trim",
            "start, end",
        ),
        (
            _with(videos=json.dumps([{"path": "a.mp4"}, {"path": "b.mp4", "fps_original": -3}])),
            "videos[1].fps_original",
            "positive number",
        ),
        (_with(videos=json.dumps([{"path": ""}, {"path": "b.mp4"}])), "videos[0].path", "relative path"),
        (_with(split="train"), "split", "'train' is not one of easy, medium, hard"),
        (_with(sample_hash="abc"), "sample_hash", "integer"),
        (_with(action_description=""), "action_description", "non-empty string"),
        (_with(differences_gt=json.dumps({"0": "x"})), "differences_gt['0']", "'a', 'b', 'c' or null"),
        (_with(differences_gt=json.dumps({"2": "a"})), "differences_gt['2']", "not annotated"),
        (
            _with(differences_annotated=json.dumps({"0": {"name": "d", "description": "e", "num_frames": "3"}})),
            "differences_annotated['0'].num_frames",
            "'1' or 'gt_1'",
        ),
        (_with(differences_annotated=json.dumps(["x"])), "differences_annotated", "object keyed by difference"),
        (_with(retrieval_frames=json.dumps([{"0": [-1]}, {}])), "retrieval_frames[0]['0']", "frame indices"),
    ],
)
def test_malformed_row_names_sample_and_field(row, field, message):
    with pytest.raises(RowError, match=message) as caught:
        record_to_sample(row, 3)
    assert caught.value.sample_key == "fitness_0_17"
    assert caught.value.field == field
    assert str(caught.value).startswith(f"sample 'fitness_0_17', field {field!r}: ")


def test_missing_column_and_missing_key():
    row = {k: v for k, v in RAW_ROW.items() if k != "domain"}
    with pytest.raises(RowError, match=r"sample 'fitness_0_17', field 'domain': missing"):
        record_to_sample(row, 0)
    row = {k: v for k, v in RAW_ROW.items() if k != "sample_key"}
    with pytest.raises(RowError, match=r"sample 'row 4', field 'sample_key': missing"):
        record_to_sample(row, 4)


# --- sources -------------------------------------------------------------------------------


def _rows():
    """Five rows over three actions and two splits; row 2 is malformed."""
    rows = []
    for i, (action, split) in enumerate(
        [("fitness_0", "easy"), ("fitness_0", "easy"), ("fitness_1", "medium"), ("fitness_3", "easy"), ("fitness_1", "medium")]
    ):
        rows.append(dict(RAW_ROW, sample_key=f"s{i}", action=action, split=split))
    rows[2]["differences_gt"] = "not json"
    return rows


def _write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_source_collects_malformed_rows(tmp_path):
    path = _write_jsonl(tmp_path / "bench.jsonl", _rows())
    bench = load_benchmark(path)
    assert [s.sample_key for s in bench] == ["s0", "s1", "s3", "s4"]
    assert [s.row_index for s in bench] == [0, 1, 3, 4]
    assert bench.video_root == tmp_path
    assert bench.n_rows == 5
    assert bench[0].video_root == tmp_path
    assert [(e.sample_key, e.field) for e in bench.row_errors] == [("s2", "differences_gt")]
    with pytest.raises(RowError, match="'s2', field 'differences_gt': invalid JSON"):
        load_benchmark(path, strict=True)


def test_filters_and_limit(tmp_path):
    path = _write_jsonl(tmp_path / "bench.jsonl", _rows())
    assert [s.sample_key for s in load_benchmark(path, split="easy")] == ["s0", "s1", "s3"]
    assert [s.sample_key for s in load_benchmark(path, split=["medium"])] == ["s4"]
    assert [s.sample_key for s in load_benchmark(path, actions=["fitness_0"], limit=1)] == ["s0"]
    assert [s.sample_key for s in load_benchmark(path, split="easy", actions=["fitness_3"])] == ["s3"]
    shuffled = [s.sample_key for s in load_benchmark(path, seed=1)]
    assert sorted(shuffled) == ["s0", "s1", "s3", "s4"]
    assert shuffled == [s.sample_key for s in load_benchmark(path, seed=1)]
    assert load_benchmark(path, video_root=tmp_path / "videos")[0].video_root == tmp_path / "videos"


def test_unknown_split_and_action(tmp_path):
    path = _write_jsonl(tmp_path / "bench.jsonl", _rows())
    with pytest.raises(DatasetError, match="unknown split train: choose from easy, medium, hard"):
        load_benchmark(path, split="train")
    with pytest.raises(DatasetError, match="unknown action fitness_9: available actions are fitness_0, fitness_1, fitness_3"):
        load_benchmark(path, actions=["fitness_9"])


def test_json_parquet_and_saved_dataset_sources_agree(tmp_path):
    import datasets

    rows = [r for i, r in enumerate(_rows()) if i != 2]
    expected = load_benchmark(_write_jsonl(tmp_path / "b.jsonl", rows)).samples

    (tmp_path / "b.json").write_text(json.dumps(rows))
    dataset = datasets.Dataset.from_list(rows)
    dataset.to_parquet(str(tmp_path / "b.parquet"))
    datasets.DatasetDict({"test": dataset}).save_to_disk(str(tmp_path / "saved"))
    (tmp_path / "synth").mkdir()
    _write_jsonl(tmp_path / "synth" / "dataset.jsonl", rows)

    for source in ("b.json", "b.parquet", "saved", "synth"):
        bench = load_benchmark(tmp_path / source)
        assert bench.samples == expected, source
        assert bench.row_errors == []


def test_bad_sources(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_benchmark(tmp_path / "missing.jsonl")
    (tmp_path / "rows.csv").write_text("a,b\n")
    with pytest.raises(DatasetError, match="unsupported file type"):
        load_benchmark(tmp_path / "rows.csv")
    (tmp_path / "bad.jsonl").write_text(json.dumps(RAW_ROW) + "\n{oops\n")
    with pytest.raises(DatasetError, match=r"bad.jsonl, line 2: not valid JSON"):
        load_benchmark(tmp_path / "bad.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="neither a `datasets.save_to_disk` dataset nor dataset.jsonl"):
        load_benchmark(tmp_path / "empty")


def test_old_557_row_version_is_rejected(tmp_path):
    with pytest.raises(DatasetError, match="older 557-row VidDiffBench"):
        load_benchmark("viddiff/VidDiffBench")
    rows = [dict(RAW_ROW, split=domain) for domain in ("fitness", "surgery")]
    with pytest.raises(DatasetError, match="older 557-row VidDiffBench"):
        load_benchmark(_write_jsonl(tmp_path / "old.jsonl", rows))


def test_hub_source_offline_gives_clear_error(monkeypatch):
    import datasets
    import huggingface_hub.constants

    # Both libraries read HF_HUB_OFFLINE at import time, so patch their copies.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DatasetError, match=r"cannot load nobody/no-such-bench from the Hugging Face Hub .*save_to_disk"):
        load_benchmark("nobody/no-such-bench")


@pytest.mark.parametrize(
    "source, domain, expected",
    [
        ("humann", "fitness", "download data/videos_fitness.zip from the Hugging Face dataset jmhb/ViddiffBench"),
        ("JIGSAWS", "surgery", "download data/videos_surgery.zip"),
        ("EgoExo4D", "ballsports", "request Ego-Exo4D access"),
        ("Ego-Exo4D", "music", "downscaled_takes/448 with the `egoexo` downloader"),
        ("FineDiving", "diving", "FineDiving videos"),
        ("synthetic", "fitness", "regenerate the benchmark with `viddiff synth`"),
        ("my_lab", "surgery", "download data/videos_surgery.zip"),
        ("my_lab", "juggling", "obtain the my_lab videos"),
    ],
)
def test_obtain_hint_names_where_videos_come_from(source, domain, expected):
    from viddiff.data.sources import obtain_hint

    assert expected in obtain_hint(source, domain)


def test_obtain_hint_uses_the_configured_video_repo():
    from viddiff.data.sources import obtain_hint

    hint = obtain_hint("humann", "fitness", video_repo="viddiff/VidDiffBench")
    assert "Hugging Face dataset viddiff/VidDiffBench (`huggingface-cli download --repo-type dataset viddiff/VidDiffBench data/videos_fitness.zip`)" in hint
