import json
import re

import numpy as np
import pytest
from PIL import Image

from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from viddiff.cli import main
from viddiff.contact_sheet import HEADER, TILE
from viddiff.data.synth import generate_benchmark


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    out = tmp_path_factory.mktemp("diff") / "synth"
    generate_benchmark(out, pairs=1, seed=4, progress=False)
    row = json.loads((out / "dataset.jsonl").read_text().splitlines()[0])
    return [out / v["path"] for v in json.loads(row["videos"])], row["action_description"]


def _args(pair, out, server, tmp_path, *extra):
    (video_a, video_b), action = pair
    return [
        "diff", str(video_a), str(video_b), "--action", action, "--out", str(out), "--localization", "uniform",
        "--lm", "openai/test-model", "--api-base", server.api_base, "--cache-dir", str(tmp_path / "cache"), *extra,
    ]


def test_closed_set_table_json_and_contact_sheet(pair, tmp_path, capsys):
    out = tmp_path / "diff"
    with loopback_server(scripted_engine(choice="first")) as server:
        code = main(_args(pair, out, server, tmp_path, "--difference", "the squat is deeper", "--difference", "the arms are higher", "--frames", "1"))
    assert code == 0
    printed = capsys.readouterr().out
    assert "the squat is deeper" in printed and "the arms are higher" in printed
    assert printed.splitlines()[1].split()[-3] == "A"  # 'more in' column: the fake answers 'a'

    result = json.loads((out / "result.json").read_text())
    assert result["mode"] == "closed" and result["action"] == pair[1]
    assert [p["description"] for p in result["predictions"]] == ["the squat is deeper", "the arms are higher"]
    assert all(p["answer"] == "a" and len(p["frames_a"]) == 1 and len(p["times_b"]) == 1 for p in result["predictions"])
    assert result["usage"]["openai/test-model"]["prompt_tokens"] > 0

    sheet = np.asarray(Image.open(out / "frames.png"))
    assert sheet.shape[0] == 2 * (HEADER + TILE + 18)
    tile = sheet[HEADER : HEADER + TILE, :TILE]
    assert tile.std() > 5, "the first tile should show a video frame, not a blank"


def test_open_set_proposes_then_decides(pair, tmp_path, capsys):
    out = tmp_path / "diff"
    with loopback_server(scripted_engine()) as server:
        assert main(_args(pair, out, server, tmp_path, "--n-differences", "2")) == 0
        proposer_calls = [c for c in server.calls if "differences" in c.output_fields]
    result = json.loads((out / "result.json").read_text())
    assert result["mode"] == "open" and len(result["predictions"]) == 2
    assert len(proposer_calls) == 1
    assert len(result["stages"]) == 3


def test_missing_key_is_reported_before_any_video_is_read(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = main(["diff", str(tmp_path / "nope_a.mp4"), str(tmp_path / "nope_b.mp4"), "--action", "a squat"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "viddiff: error: missing API key: set OPENAI_API_KEY for proposer (openai/gpt-4o-2024-08-06), "
        "planner (openai/gpt-4o-2024-08-06), differencer (openai/gpt-4o-2024-08-06)"
    )


def test_missing_video_is_one_line(tmp_path, capsys):
    with loopback_server(scripted_engine()) as server:
        code = main(["diff", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "--action", "x", "--lm", "openai/m", "--api-base", server.api_base])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"viddiff: error: {tmp_path / 'a.mp4'}: no such video file") and "\n" not in err


def test_a_frame_folder_without_its_rate_names_the_flag(tmp_path, capsys):
    folder = tmp_path / "frames_a"
    folder.mkdir()
    Image.new("RGB", (32, 32)).save(folder / "000001.png")
    with loopback_server(scripted_engine()) as server:
        code = main(["diff", str(folder), str(folder), "--action", "x", "--lm", "openai/m", "--api-base", server.api_base])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"viddiff: error: {folder}: a frame folder needs its original frame rate: pass --fps-original RATE"
    )


def test_oracle_localization_is_refused_for_videos_outside_a_benchmark(tmp_path, capsys):
    code = main(["diff", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "--action", "x", "--localization", "oracle"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "viddiff: error: --localization oracle needs annotated key points, which only benchmark samples have; "
        "use viterbi, uniform or random"
    )


def test_progress_names_each_stage_and_counts_lm_calls(pair, tmp_path, capsys):
    out = tmp_path / "diff"
    with loopback_server(scripted_engine()) as server:
        assert main(_args(pair, out, server, tmp_path, "--n-differences", "2")) == 0
    err = capsys.readouterr().err
    assert re.search(r"video A: \d+ frames at 5 fps \(\d+\.\d s\)", err) and "video B:" in err
    for stage in ("proposing differences", "planning stages", "linking differences to stages", "deciding differences"):
        assert stage in err
    assert re.search(r"done: 100%\|[^|]*\| 5/5 ", err)  # proposer, planner, linker and 2 differences


def test_crop_a_and_b_keep_one_box_of_each_video(pair, tmp_path):
    out = tmp_path / "diff"
    with loopback_server(scripted_engine()) as server:
        assert main(_args(pair, out, server, tmp_path, "--difference", "x", "--crop-a", "0,0,40,60", "--crop-b", "10,20,30,30", "--image-size", "full")) == 0
    sheet = Image.open(out / "frames.png")
    assert sheet.size[0] > 0  # the contact sheet is drawn from the cropped frames
    result = json.loads((out / "result.json").read_text())
    assert result["predictions"][0]["answer"] in ("a", "b")


@pytest.mark.parametrize("box", ["1,2,3", "0,0,0,10", "a,b,c,d"])
def test_a_bad_crop_box_is_a_usage_error(pair, tmp_path, box, capsys):
    (video_a, video_b), _ = pair
    with pytest.raises(SystemExit) as exit_:
        main(["diff", str(video_a), str(video_b), "--action", "x", "--crop-a", box])
    assert exit_.value.code == 2 and "argument --crop-a: expected X" in capsys.readouterr().err


def test_table_columns_fit_their_cells():
    from viddiff.cli.diff import format_predictions
    from viddiff.programs.records import DifferencePrediction

    long = DifferencePrediction(
        key="10", name="n", description="the person bends the knees much further and keeps the back straighter", num_frames="gt_1",
        answer="b", rationale="B goes lower.", times_a=(12.5, 13.25, 14.0), times_b=(101.75, 102.5, 103.25),
    )
    assert format_predictions([long]).splitlines() == [
        "#   difference                                    more in  frames A (s)         frames B (s)",
        "10  the person bends the knees much further and   B        12.50, 13.25, 14.00  101.75, 102.50, 103.25",
        "    keeps the back straighter",
        "    B goes lower.",
    ]
