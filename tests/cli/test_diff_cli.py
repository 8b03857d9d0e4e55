import json

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


def test_oracle_localization_is_refused_for_videos_outside_a_benchmark(tmp_path, capsys):
    code = main(["diff", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "--action", "x", "--localization", "oracle"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "viddiff: error: --localization oracle needs annotated key points, which only benchmark samples have; "
        "use viterbi, uniform or random"
    )
