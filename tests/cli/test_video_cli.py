"""`--system video` end to end: `viddiff run`, `compare` and `diff` through google-genai's real
HTTP client against the loopback fake of the Gemini REST API."""

import io
import json
import re

import av
import pytest

from tests.cli.test_frames_cli import STATED, frames_engine
from tests.cli.test_run_cli import _records, _rows
from tests.lm.fake_engine import provider_error
from tests.lm.gemini_server import gemini_server
from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from viddiff.cli import main
from viddiff.data import load_benchmark, read_sample_frames
from viddiff.data.synth import generate_benchmark

KEY = "gemini-test-key-0123456789"


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("video") / "synth"
    generate_benchmark(out, pairs=4, seed=23, progress=False)
    return out


def _run_args(synth_dir, out, server, tmp_path, *extra):
    return [
        "run", str(synth_dir), "--out", str(out), "--system", "video", "--no-lm-cache",
        "--baseline-lm", "gemini/gemini-test", "--api-base", server.url, "--cache-dir", str(tmp_path / "cache"), *extra,
    ]


def _frame_count(data):
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0)), float(container.streams.video[0].average_rate)


def test_closed_run_sends_each_trimmed_clip_once_scores_and_compares_with_viddiff(synth_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    out = tmp_path / "video"
    with gemini_server(frames_engine()) as server:
        assert main(_run_args(synth_dir, out, server, tmp_path, "--sample-threads", "1")) == 0
        generations = list(server.generations)
    samples = list(load_benchmark(synth_dir))
    assert len(generations) == len(samples) and {g.api_key for g in generations} == {KEY}
    for sample, generation in zip(samples, generations, strict=True):  # one thread: in benchmark order
        assert len(generation.videos) == 2 and sample.action_description in generation.text
        for which, video in enumerate(generation.videos):
            expected = read_sample_frames(sample, which, fps_table="baseline")
            trim = sample.videos[which].frames_trim
            # The clip is the trimmed span at the baseline rate (fitness 4, ball sports 5 frames/s).
            assert _frame_count(video.data) == (len(expected), expected.fps) and video.fps == expected.fps
            assert len(expected) < (trim[1] - trim[0]) / sample.videos[which].fps_original * expected.fps + 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["system"] == "video" and manifest["sampling_rates"] == {"ballsports": 5.0, "fitness": 4.0}
    records = _records(out)
    assert all(r["status"] == "ok" and r["usage"] and (r["lm_calls"], r["images"], r["videos"]) == (1, 0, 2) for r in records)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["n"] > 0 and metrics["overall"]["missing"] == 0
    for path in out.iterdir():  # the key never reaches a run file
        assert KEY not in path.read_text()

    viddiff_out = tmp_path / "viddiff"
    monkeypatch.setenv("VIDDIFF_TEST_KEY", "sk-test-viddiff")
    with loopback_server(scripted_engine(choice="hash")) as server:
        assert main([
            "run", str(synth_dir), "--out", str(viddiff_out), "--localization", "uniform", "--no-lm-cache", "--lm", "openai/test-model",
            "--api-base", server.api_base, "--api-key-env", "VIDDIFF_TEST_KEY", "--cache-dir", str(tmp_path / "cache"),
        ]) == 0
    viddiff_records = _records(viddiff_out)
    for record in viddiff_records:  # uniform localization: planner, linker, then one differencer call per difference
        assert record["lm_calls"] == 2 + len(record["predictions"])
        assert record["images"] == sum(len(p["frames_a"]) + len(p["frames_b"]) for p in record["predictions"]) and record["videos"] == 0
    capsys.readouterr()
    assert main(["compare", str(out), str(viddiff_out), "--bootstrap", "200"]) == 0
    printed = capsys.readouterr().out
    assert 'system: "video" -> "viddiff"' in printed and "verdict: " in printed


def test_open_run_with_the_matcher_on_another_server(synth_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    out = tmp_path / "open"
    with gemini_server(frames_engine()) as gemini, loopback_server(frames_engine()) as openai:
        config = tmp_path / "open.yaml"
        config.write_text(
            "lms:\n"
            f"  baseline: {{model: gemini/gemini-test, api_base: '{gemini.url}'}}\n"
            f"  matcher: {{model: openai/test-model, api_base: '{openai.api_base}'}}\n"
        )
        assert main([
            "run", str(synth_dir), "--out", str(out), "--system", "video", "--mode", "open", "--config", str(config),
            "--no-lm-cache", "--cache-dir", str(tmp_path / "cache"),
        ]) == 0
        assert len(gemini.generations) == 4 and all(len(g.videos) == 2 for g in gemini.generations)
        assert {c.output_fields for c in openai.calls} == {("matches",), ("opposite_keys",)}
    rows = {row["sample_key"]: row for row in _rows(synth_dir)}
    for record in _records(out):
        kept = STATED[: rows[record["sample_key"]]["n_differences_open_prediction"]]
        assert [(p["description"], p["answer"]) for p in record["predictions"]] == [(s["description"], s["answer"]) for s in kept]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "open" and metrics["overall"]["n"] > 0 and metrics["overall"]["missing"] == 0


def test_a_provider_error_is_one_sample_error_and_the_run_goes_on(synth_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    out = tmp_path / "failing"
    engine = frames_engine(fail_when=[("", provider_error("video too long for this model"), 1)])
    with gemini_server(engine) as server:
        assert main(_run_args(synth_dir, out, server, tmp_path, "--sample-threads", "1")) == 1
    records = _records(out)
    failed = [r for r in records if r["status"] == "error"]
    assert len(records) == 4 and len(failed) == 1 and "Gemini 400 INVALID_ARGUMENT: video too long for this model" in failed[0]["error"]


def test_a_non_gemini_model_is_refused_before_any_work(synth_dir, tmp_path, capsys):
    assert main(["run", str(synth_dir), "--system", "video", "--out", str(tmp_path / "x")]) == 2
    assert "the video system sends videos through google-genai: its baseline model must be gemini/<model>" in capsys.readouterr().err


def test_diff_with_the_video_system(synth_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    row = _rows(synth_dir)[0]
    video_a, video_b = (synth_dir / v["path"] for v in json.loads(row["videos"]))
    out = tmp_path / "diff"
    with gemini_server(frames_engine()) as server:
        code = main([
            "diff", str(video_a), str(video_b), "--action", row["action_description"], "--system", "video", "--fps", "4",
            "--out", str(out), "--baseline-lm", "gemini/gemini-test", "--api-base", server.url, "--no-lm-cache",
            "--cache-dir", str(tmp_path / "cache"), "--difference", "the squat is deeper",
        ])
        (generation,) = server.generations
    assert code == 0 and [v.fps for v in generation.videos] == [4.0, 4.0]
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["system"] == "video" and len(result["predictions"]) == 1
    assert "the squat is deeper" in capsys.readouterr().out


def test_compile_optimizes_the_video_baseline_prompt_and_a_run_uses_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    synth = tmp_path / "synth"
    generate_benchmark(synth, pairs=12, seed=41, progress=False)
    program = tmp_path / "video.json"
    with gemini_server(frames_engine(choice="hash")) as server:
        lm = ["--system", "video", "--baseline-lm", "gemini/gemini-test", "--api-base", server.url, "--cache-dir", str(tmp_path / "cache")]
        assert main([
            "compile", str(synth), "--optimizer", "instructions", "--out", str(program), "--held-out-fraction", "0.75",
            "--trials", "2", "--candidates", "2", *lm,
        ]) == 0
        answering = [g for g in server.generations if "answers" in g.call.output_fields]
        assert answering and all(len(g.videos) == 2 for g in answering)  # the others propose instructions
        assert [k for k in json.loads(program.read_text()) if k not in ("metadata", "viddiff")] == ["baseline.answer"]
        assert main(["run", str(synth), "--program", str(program), "--out", str(tmp_path / "run"), *lm]) == 0
    printed = capsys.readouterr().out
    assert "accuracy on the test part (never seen while compiling)" in printed
    assert "9 samples left out: the compiled program" in printed


def test_gepa_shows_its_gemini_reflection_lm_the_videos(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    synth = tmp_path / "synth"
    generate_benchmark(synth, pairs=12, seed=41, progress=False)
    with gemini_server(frames_engine(choice="hash")) as server:
        assert main([
            "compile", str(synth), "--system", "video", "--optimizer", "gepa", "--max-metric-calls", "12", "--out", str(tmp_path / "g.json"),
            "--held-out-fraction", "0.75", "--baseline-lm", "gemini/gemini-test", "--reflection-lm", "gemini/gemini-test",
            "--api-base", server.url, "--cache-dir", str(tmp_path / "cache"),
        ]) == 0
        reflections = [g for g in server.generations if "new_instruction" in g.call.output_fields]
    # Each reflection reads a minibatch of 3 samples: their 6 videos as video parts, never base64 in its text.
    assert reflections and all(len(g.videos) == 6 and "base64" not in g.text for g in reflections)
    assert re.search(r"spent: [\d,]+ LM calls \(estimated [\d,]+\), 0 images, [\d,]+ videos", capsys.readouterr().out)
