import json
import shutil

import pytest

from viddiff.cli import build_parser, main
from viddiff.config import RunConfig
from viddiff.data.synth import generate_benchmark
from viddiff.data.video import read_frames, write_video


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "synth"
    generate_benchmark(out, pairs=6, seed=3, progress=False)
    return out


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_summary_counts_match_the_rows(synth_dir, capsys):
    assert main(["data", str(synth_dir)]) == 0
    out = capsys.readouterr().out
    rows = _rows(synth_dir / "dataset.jsonl")
    labels = [v for r in rows for v in json.loads(r["differences_gt"]).values() if v is not None]
    all_line = next(line for line in out.splitlines() if line.startswith("all"))
    assert all_line.split()[1:6] == [
        str(len(rows)),
        str(len(labels)),
        str(labels.count("a")),
        str(labels.count("b")),
        str(labels.count("c")),
    ]
    assert f"{synth_dir}: {len(rows)} pairs" in out
    for split in {r["split"] for r in rows}:
        assert any(line.startswith(split) for line in out.splitlines())


def test_split_filter(synth_dir, capsys):
    rows = _rows(synth_dir / "dataset.jsonl")
    assert main(["data", str(synth_dir), "--split", "easy"]) == 0
    n_easy = sum(r["split"] == "easy" for r in rows)
    assert f": {n_easy} pairs" in capsys.readouterr().out


def test_check_passes_when_every_video_decodes(synth_dir, tmp_path, capsys):
    assert main(["data", str(synth_dir), "--check", "--cache-dir", str(tmp_path / "cache")]) == 0
    rows = _rows(synth_dir / "dataset.jsonl")
    assert f"checked {2 * len(rows)} videos: 0 missing or unreadable" in capsys.readouterr().out
    assert any((tmp_path / "cache" / "frames").glob("*.npy")), "--check should fill DIR/frames, as run does"


def test_cache_dir_default_is_the_run_configs(capsys):
    assert RunConfig().cache_dir == "~/.cache/viddiff"
    assert build_parser().parse_args(["data"]).cache_dir == RunConfig().cache_dir
    with pytest.raises(SystemExit):
        main(["data", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "the same as `viddiff run --cache-dir`: --check reads and writes frames in DIR/frames (default: ~/.cache/viddiff)" in help_text


def test_check_prints_the_warning_of_a_video_shorter_than_its_trim(synth_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(synth_dir, copy)
    rows = _rows(copy / "dataset.jsonl")
    video = next(v for r in rows for v in json.loads(r["videos"]) if not (copy / v["path"]).is_dir())
    path = copy / video["path"]
    (start, end), rate = video["frames_trim"], video["fps_original"]
    kept = start + 10  # the video now ends 10 frames into its trim, more than 1 s before its end
    first = read_frames(path, rate, trim=(0, 1)).images[0]
    write_video(path, [first] * kept, rate)
    assert end / rate - kept / rate > 1

    assert main(["data", str(copy), "--check", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert f"checked {2 * len(rows)} videos: 0 missing or unreadable" in out
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {path}: decoded up to {kept / rate:.2f} s, well short of the {end / rate:.2f} s expected "
        f"(trim end: frame {end} at {rate:g} fps); the video may be truncated, or the trim end lies past its last frame"
    ]


def test_check_lists_missing_and_corrupt_videos(synth_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(synth_dir, copy)
    rows = _rows(copy / "dataset.jsonl")
    first = json.loads(rows[0]["videos"])[0]["path"]
    second = json.loads(rows[1]["videos"])[1]["path"]
    target = copy / first
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    corrupt = copy / second
    if corrupt.is_dir():
        for image in corrupt.iterdir():
            image.write_bytes(b"not an image")
    else:
        corrupt.write_bytes(b"not a video at all")

    assert main(["data", str(copy), "--check", "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert f"checked {2 * len(rows)} videos: 2 missing or unreadable" in out
    missing = [line for line in out.splitlines() if line.startswith("missing: ")]
    unreadable = [line for line in out.splitlines() if line.startswith("unreadable: ")]
    assert len(missing) == 1 and len(unreadable) == 1
    assert str(target) in missing[0]
    assert f"video A of sample {rows[0]['sample_key']} not found (source synthetic)" in missing[0]
    assert "viddiff synth" in missing[0]
    assert str(corrupt) in unreadable[0] and f"video B of sample {rows[1]['sample_key']}" in unreadable[0]


def test_bad_source_is_one_line_error(tmp_path, capsys):
    assert main(["data", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"viddiff: error: {tmp_path / 'nope.jsonl'}: no such file or folder, and not a Hugging Face dataset id (owner/name)"]


def test_unknown_action_is_one_line_error(synth_dir, capsys):
    assert main(["data", str(synth_dir), "--action", "fitness_0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("viddiff: error: unknown action fitness_0: available actions are ")
    assert "\n" not in err


def test_malformed_row_is_reported_and_fails_check(synth_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(synth_dir, copy)
    rows = _rows(copy / "dataset.jsonl")
    rows[0]["videos"] = "[{"
    (copy / "dataset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["data", str(copy)]) == 1
    captured = capsys.readouterr()
    err = captured.err
    assert f"malformed row: sample '{rows[0]['sample_key']}', field 'videos': invalid JSON" in err
    assert err.strip().splitlines()[-1] == "1 malformed row was skipped (listed above)"
    assert f"{copy}: {len(rows) - 1} pairs" in captured.out
    assert main(["data", str(copy), "--check", "--no-cache"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == "1 malformed row was skipped (listed above)"
    rows[1]["split"] = "trivial"
    (copy / "dataset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["data", str(copy)]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == "2 malformed rows were skipped (listed above)"


def test_synth_refuses_existing_benchmark(synth_dir, capsys):
    assert main(["synth", str(synth_dir), "--pairs", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("viddiff: error: ") and "\n" not in err


def test_help_lists_commands_with_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "synth" in out and "data" in out and "quick start:" in out
