"""`--system frames` end to end: `viddiff run`, `compare` and `diff` over DSPy's real HTTP client
against the OpenAI-compatible loopback server."""

import json
import re

import pytest

from tests.cli.test_run_cli import _records, _rows
from tests.lm.fake_engine import FakeEngine, provider_error
from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import input_json, match_in_order, scripted_engine
from viddiff.cli import main
from viddiff.data.synth import generate_benchmark

KEY = "sk-test-frames"
STATED = [
    {"description": "the squat is deeper", "answer": "a"},
    {"description": "the descent is faster", "answer": "b"},
    {"description": "the feet are wider apart", "answer": "a"},
]


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("frames") / "synth"
    generate_benchmark(out, pairs=6, seed=21, progress=False)
    return out


def answer_by_key(call):
    """Closed-set double: 'a' for even keys, 'b' for odd ones."""
    return {"answers": {key: "ab"[int(key) % 2] for key in input_json(call, "differences")}}


def frames_engine(**kwargs) -> FakeEngine:
    """Answers the frames baseline (closed and open) and the open-set matcher."""
    engine = FakeEngine(**kwargs)
    engine.script(lambda c: "answers" in c.output_fields, answer_by_key)
    engine.script(lambda c: "differences" in c.output_fields, {"differences": STATED})
    engine.script(lambda c: "matches" in c.output_fields, match_in_order)
    engine.script(lambda c: "opposite_keys" in c.output_fields, {"opposite_keys": []})
    return engine


def _run_args(synth_dir, out, server, tmp_path, *extra):
    return [
        "run", str(synth_dir), "--out", str(out), "--system", "frames", "--no-lm-cache",
        "--lm", "openai/test-model", "--api-base", server.api_base, "--api-key-env", "VIDDIFF_TEST_KEY",
        "--cache-dir", str(tmp_path / "cache"), *extra,
    ]


def _labels(row):
    return {k: v for k, v in json.loads(row["differences_gt"]).items() if v is not None}


def test_closed_run_scores_and_compares_with_viddiff_on_the_same_samples(synth_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", KEY)
    out = tmp_path / "frames"
    with loopback_server(frames_engine()) as server:
        assert main(_run_args(synth_dir, out, server, tmp_path)) == 0
        requests = server.completion_requests()
    rows = _rows(synth_dir)
    records = {r["sample_key"]: r for r in _records(out)}
    assert sorted(records) == sorted(r["sample_key"] for r in rows)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["system"] == "frames" and manifest["config"]["system"] == "frames"
    assert manifest["sampling_rates"] == {"ballsports": 5.0, "fitness": 4.0}  # the baselines' table
    assert manifest["config"]["max_images"] == 150 and manifest["config"]["lms"]["baseline"]["model"] == "openai/test-model"

    # One call per sample, carrying every frame the record says was sent; only a/b keys asked.
    assert len(requests) == len(rows)
    assert {r.authorization for r in requests} == {f"Bearer {KEY}"}
    sent = sorted(len(r["predictions"][0]["frames_a"]) + len(r["predictions"][0]["frames_b"]) for r in records.values())
    assert sorted(len(r.image_urls) for r in requests) == sent
    for row in rows:
        record = records[row["sample_key"]]
        asked = [k for k, v in _labels(row).items() if v in ("a", "b")]
        assert record["status"] == "ok" and record["usage"] and record["warnings"] == []
        assert [(p["key"], p["answer"]) for p in record["predictions"]] == [(k, "ab"[int(k) % 2]) for k in asked]
        assert all(p["frames_a"] == record["predictions"][0]["frames_a"] for p in record["predictions"])
        sent_images = len(record["predictions"][0]["frames_a"]) + len(record["predictions"][0]["frames_b"])
        assert (record["lm_calls"], record["images"], record["videos"]) == (1, sent_images, 0)

    # Scored: outcomes for every labelled difference, metrics over the a/b ones, nothing missing.
    outcomes = [json.loads(line) for line in (out / "outcomes.jsonl").read_text().splitlines()]
    assert len(outcomes) == sum(len(_labels(row)) for row in rows)
    metrics = json.loads((out / "metrics.json").read_text())
    positives = sum(v in ("a", "b") for row in rows for v in _labels(row).values())
    assert metrics["overall"]["n"] == positives and metrics["overall"]["missing"] == 0
    printed = capsys.readouterr().out
    images = sum(r["images"] for r in records.values()) / len(records)
    assert f"frames system, per sample: 1.0 LM calls, {images:.1f} images, 0.0 videos, " in printed and "metrics:" in printed

    # VidDiff on the same samples, then the paired comparison.
    viddiff_out = tmp_path / "viddiff"
    with loopback_server(scripted_engine(choice="hash")) as server:
        args = _run_args(synth_dir, viddiff_out, server, tmp_path, "--system", "viddiff", "--localization", "uniform")
        assert main(args) == 0
    capsys.readouterr()
    assert main(["compare", str(out), str(viddiff_out), "--bootstrap", "200"]) == 0
    printed = capsys.readouterr().out
    assert f"closed set, accuracy in percent over the {positives} differences scored in both runs" in printed
    assert 'system: "frames" -> "viddiff"' in printed and "verdict: " in printed
    assert "baseline.answer" in printed and "differencer.compare" in printed  # each run's own prompts


def test_open_run_lists_at_most_n_diff_and_is_scored_by_the_matcher(synth_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", KEY)
    out = tmp_path / "open"
    with loopback_server(frames_engine()) as server:
        assert main(_run_args(synth_dir, out, server, tmp_path, "--mode", "open", "--limit", "3")) == 0
        fields = [c.output_fields for c in server.calls]
    # Per sample: one baseline call, one matching call, one opposite check.
    assert fields.count(("differences",)) == 3 and fields.count(("matches",)) == 3 and fields.count(("opposite_keys",)) == 3
    rows = {row["sample_key"]: row for row in _rows(synth_dir)}
    for record in _records(out):
        n_diff = rows[record["sample_key"]]["n_differences_open_prediction"]
        kept = STATED[:n_diff]
        assert [(p["key"], p["description"], p["answer"]) for p in record["predictions"]] == [
            (str(i), s["description"], s["answer"]) for i, s in enumerate(kept)
        ]
        assert record["status"] == "ok"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "open" and metrics["overall"]["n"] > 0 and metrics["overall"]["missing"] == 0
    assert (out / "outcomes.jsonl").read_text().strip()


def test_the_image_cap_is_recorded_and_a_failed_call_is_one_sample_error(synth_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", KEY)
    out = tmp_path / "capped"
    engine = frames_engine(fail_when=[("", provider_error("too many images in one request"), 1)])
    with loopback_server(engine) as server:
        assert main(_run_args(synth_dir, out, server, tmp_path, "--max-images", "6", "--sample-threads", "1")) == 1
        requests = server.completion_requests()
    assert len(requests) == 6 and all(len(r.image_urls) == 6 for r in requests)
    records = _records(out)
    failed = [r for r in records if r["status"] == "error"]
    assert len(failed) == 1 and "too many images in one request" in failed[0]["error"]
    for record in records:
        if record["status"] == "error":
            continue
        (warning,) = record["warnings"]
        sent_a, sent_b = len(record["predictions"][0]["frames_a"]), len(record["predictions"][0]["frames_b"])
        match = re.fullmatch(rf"image cap 6: sent an even subset of the sampled frames, {sent_a} of (\d+) of video A and {sent_b} of (\d+) of video B", warning)
        assert match and sent_a + sent_b == 6 and int(match[1]) + int(match[2]) > 6
    assert json.loads((out / "metrics.json").read_text())["overall"]["missing"] > 0
    assert "5 samples with warnings" in capsys.readouterr().out


def test_a_published_protocol_open_run_is_refused(synth_dir, tmp_path, capsys):
    code = main(["run", str(synth_dir), "--system", "frames", "--mode", "open", "--open-protocol", "published", "--out", str(tmp_path / "x")])
    assert code == 2
    assert "open_protocol 'published' matches VidDiff's proposals before deciding" in capsys.readouterr().err


@pytest.mark.parametrize("mode_args, asked", [(("--difference", "the squat is deeper", "--difference", "the arms are higher"), 2), (("--n-differences", "2"), 2)])
def test_diff_with_the_frames_system(synth_dir, tmp_path, capsys, mode_args, asked):
    row = _rows(synth_dir)[0]
    video_a, video_b = (synth_dir / v["path"] for v in json.loads(row["videos"]))
    out = tmp_path / "diff"
    with loopback_server(frames_engine()) as server:
        code = main([
            "diff", str(video_a), str(video_b), "--action", row["action_description"], "--system", "frames", "--fps", "4",
            "--out", str(out), "--lm", "openai/test-model", "--api-base", server.api_base, "--no-lm-cache",
            "--cache-dir", str(tmp_path / "cache"), *mode_args,
        ])
        (request,) = server.completion_requests()
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    assert len(result["predictions"]) == asked and result["config"]["system"] == "frames"
    prediction = result["predictions"][0]
    assert len(request.image_urls) == len(prediction["frames_a"]) + len(prediction["frames_b"]) > 2
    assert result["stages"] == [] and (out / "frames.png").is_file()
    assert "the squat is deeper" in capsys.readouterr().out


@pytest.fixture(scope="module")
def synth_twelve(tmp_path_factory):
    out = tmp_path_factory.mktemp("frames_compile") / "synth"
    generate_benchmark(out, pairs=12, seed=41, progress=False)
    return out


@pytest.mark.parametrize("optimizer", ["instructions", "fewshot"])
def test_compile_optimizes_the_baseline_prompt_and_a_run_uses_it(synth_twelve, tmp_path, optimizer, capsys):
    program_path = tmp_path / "frames.json"
    with loopback_server(frames_engine(choice="hash")) as server:
        lm_args = ["--system", "frames", "--lm", "openai/test-model", "--api-base", server.api_base, "--cache-dir", str(tmp_path / "cache")]
        assert main([
            "compile", str(synth_twelve), "--optimizer", optimizer, "--out", str(program_path), "--held-out-fraction", "0.75",
            "--trials", "2", "--candidates", "2", "--max-demos", "1", *lm_args,
        ]) == 0
        # Compiling asks only the a/b-labelled differences, as a run does.
        positive = {
            frozenset((k, d["description"]) for k, d in json.loads(row["differences_annotated"]).items() if _labels(row).get(k) in ("a", "b"))
            for row in _rows(synth_twelve)
        }
        asked = [frozenset(input_json(c, "differences").items()) for c in server.calls if "answers" in c.output_fields]
        assert asked and all(a in positive for a in asked)
        saved = json.loads(program_path.read_text())
        assert [k for k in saved if k != "viddiff" and k != "metadata"] == ["baseline.answer"]
        assert saved["viddiff"]["optimizer"]["stages"] == ["differencer"]
        assert "accuracy on the validation part" in capsys.readouterr().out
        out = tmp_path / "run"
        assert main(["run", str(synth_twelve), "--out", str(out), "--program", str(program_path), *lm_args]) == 0
        # The program is tied to its system: a VidDiff run refuses it.
        capsys.readouterr()
        viddiff_args = [arg for arg in lm_args if arg not in ("--system", "frames")]
        assert main(["run", str(synth_twelve), "--out", str(tmp_path / "wrong"), "--program", str(program_path), *viddiff_args]) == 2
        assert f"{program_path} was compiled for the frames system, this run uses viddiff: run it with --system frames" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"]["excluded"] == 9 and metrics["samples"]["scored"] == 3
    assert saved["viddiff"]["system"] == "frames"


def test_compiling_a_stage_the_frames_system_lacks_is_refused(synth_twelve, tmp_path, capsys):
    with loopback_server(frames_engine()) as server:
        code = main([
            "compile", str(synth_twelve), "--optimizer", "instructions", "--stages", "planner", "--out", str(tmp_path / "p.json"),
            "--system", "frames", "--lm", "openai/test-model", "--api-base", server.api_base, "--held-out-fraction", "0.75",
        ])
    assert code == 2
    assert "the frames system has no planner stage to optimize; choose another with --stages" in capsys.readouterr().err


def test_the_report_names_the_model_the_frames_system_called(synth_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", KEY)
    out = tmp_path / "frames"
    with loopback_server(frames_engine()) as server:
        assert main(_run_args(synth_dir, out, server, tmp_path, "--baseline-lm", "openai/baseline-model", "--limit", "2")) == 0
        assert {r.model for r in server.completion_requests()} == {"baseline-model"}
    assert main(["report", str(out)]) == 0
    markdown = (out / "report.md").read_text()
    assert "| **this run (openai/baseline-model)** |" in markdown  # not the other roles' unused model
    assert "baseline: openai/baseline-model</dd>" in (out / "report.html").read_text()
    assert "differencer: " not in (out / "report.html").read_text()
    assert "| GPT-4o (published) | 58.3 | 53.2 | 48.9 | 53.5 |" in markdown


def _video_urls(request):
    return [part["video_url"]["url"] for m in request.messages if isinstance(m["content"], list) for part in m["content"] if part["type"] == "video_url"]


def test_frames_as_video_sends_each_video_as_one_video_url_of_jpeg_frames_at_their_rate(synth_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", KEY)
    out = tmp_path / "as-video"
    with loopback_server(frames_engine()) as server:
        args = _run_args(synth_dir, out, server, tmp_path, "--frames-as", "video", "--max-images", "20", "--sample-threads", "1")
        assert main(args) == 0
        requests = server.completion_requests()
    records = {r["sample_key"]: r for r in _records(out)}
    rates = {"fitness": 4.0, "ballsports": 5.0}
    rows = _rows(synth_dir)
    assert len(requests) == len(rows)
    capped = 0
    for row, request in zip(rows, requests, strict=True):  # one sample thread: benchmark order
        prediction = records[row["sample_key"]]["predictions"][0]
        videos = _video_urls(request)
        # No images: video A's frames, then video B's, each as one video_url of comma-separated JPEGs.
        assert request.image_urls == [] and len(videos) == 2
        assert all(url.startswith("data:video/jpeg;base64,/9j/") for url in videos)
        frames = [url.removeprefix("data:video/jpeg;base64,").split(",") for url in videos]
        assert [len(f) for f in frames] == [len(prediction["frames_a"]), len(prediction["frames_b"])]
        # The server is asked to take every frame, at the rate they were sent.
        sent = len(frames[0])
        video = request.body["media_io_kwargs"]["video"]
        assert video["num_frames"] == -1 and sent + len(frames[1]) <= 20
        capped += bool(records[row["sample_key"]]["warnings"])
        if not records[row["sample_key"]]["warnings"]:
            assert video["fps"] == rates[row["domain"]]
        else:
            assert 0 < video["fps"] < rates[row["domain"]]
    assert capped > 0
    assert json.loads((out / "manifest.json").read_text())["config"]["frames_as"] == "video"


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--frames-as", "video", "--max-videos", "1"), "each request carries 2 videos (A and B) but the server takes at most 1"),
        (("--frames-as", "video", "--image-format", "png"), "frames_as 'video' sends JPEG frames as one video item per video"),
    ],
)
def test_video_items_are_checked_against_the_server_limit_before_any_work(synth_dir, tmp_path, capsys, extra, message):
    assert main(["run", str(synth_dir), "--system", "frames", "--out", str(tmp_path / "x"), *extra]) == 2
    assert message in capsys.readouterr().err
