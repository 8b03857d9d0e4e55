"""`viddiff run` end to end: DSPy's real HTTP client against an OpenAI-compatible loopback server."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from html import escape
from pathlib import Path

import numpy as np
import pytest

from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from viddiff.cli import main
from viddiff.data.synth import generate_benchmark
from viddiff.data.video import write_video

SECRET = "sk-test-SECRET-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "synth"
    generate_benchmark(out, pairs=6, seed=21, progress=False)
    return out


@pytest.fixture
def server():
    with loopback_server(scripted_engine(choice="hash")) as running:
        yield running


def _run_args(synth_dir, out, server, tmp_path, *extra):
    return [
        "run", str(synth_dir), "--out", str(out), "--localization", "uniform",
        "--lm", "openai/test-model", "--api-base", server.api_base, "--api-key-env", "VIDDIFF_TEST_KEY",
        "--cache-dir", str(tmp_path / "cache"), *extra,
    ]


def _records(out):
    return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]


def _rows(synth_dir):
    return [json.loads(line) for line in (synth_dir / "dataset.jsonl").read_text().splitlines()]


def test_closed_run_over_http(synth_dir, server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    out = tmp_path / "run"
    assert main(_run_args(synth_dir, out, server, tmp_path)) == 0
    assert "6 samples in" in capsys.readouterr().out

    rows = _rows(synth_dir)
    records = _records(out)
    assert sorted(r["sample_key"] for r in records) == sorted(r["sample_key"] for r in rows)
    assert all(r["status"] == "ok" and r["usage"] for r in records)
    predictions = json.loads((out / "predictions.json").read_text())
    assert len(predictions) == len(rows)
    for row, predicted in zip(rows, predictions):
        labelled = {k for k, v in json.loads(row["differences_gt"]).items() if v is not None}
        assert set(predicted) == labelled
        assert all(p["prediction"] in ("a", "b") for p in predicted.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == 2 and manifest["system"] == "viddiff"
    assert manifest["config"]["mode"] == "closed" and manifest["provenance"]["git"]["commit"]
    assert manifest["sampling_rates"] == {"ballsports": 5.0, "fitness": 8.0}
    assert manifest["samples"] == 6 and manifest["held_out"] == []
    assert manifest["config"]["lms"]["differencer"] == {
        "model": "openai/test-model", "api_base": server.api_base, "api_key_env": "VIDDIFF_TEST_KEY",
        "temperature": 1.0, "max_tokens": None, "num_retries": 3, "cache": True,
    }

    # The wire: model name, key, and the differencer's images as image_url parts.
    completions = server.completion_requests()
    assert {r.model for r in completions} == {"test-model"}
    assert {r.authorization for r in completions} == {f"Bearer {SECRET}"}
    image_requests = [r for r in completions if r.image_urls]
    n_candidates = sum(len(p) for p in predictions)
    assert len(image_requests) == n_candidates
    assert all(url.startswith("data:image/jpeg;base64,") for r in image_requests for url in r.image_urls)

    # The key reaches no file the run wrote, nor the LM or frame caches.
    for folder in (out, tmp_path / "cache"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


def test_the_cache_keeps_servers_apart(synth_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    with loopback_server(scripted_engine()) as first, loopback_server(scripted_engine()) as second:
        args = ["--limit", "1"]
        assert main(_run_args(synth_dir, tmp_path / "one", first, tmp_path, *args)) == 0
        assert main(_run_args(synth_dir, tmp_path / "again", first, tmp_path, *args)) == 0
        assert main(_run_args(synth_dir, tmp_path / "two", second, tmp_path, *args)) == 0
        # The second run on the first server is answered from the cache; the other server is asked.
        assert len(second.completion_requests()) == len(first.completion_requests()) > 0


def test_a_missing_video_is_a_sample_error_and_the_run_goes_on(synth_dir, server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    copy = tmp_path / "copy"
    shutil.copytree(synth_dir, copy)
    rows = _rows(copy)
    target = copy / json.loads(rows[2]["videos"])[1]["path"]
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    out = tmp_path / "run"
    assert main(_run_args(copy, out, server, tmp_path / "c2")) == 1
    records = {r["sample_key"]: r for r in _records(out)}
    failed = records[rows[2]["sample_key"]]
    assert failed["status"] == "error" and "video B of sample" in failed["error"] and "not found (source synthetic)" in failed["error"]
    assert all(r["status"] == "ok" for key, r in records.items() if key != rows[2]["sample_key"])
    assert json.loads((out / "predictions.json").read_text())[2] == {}
    outcomes = [json.loads(line) for line in (out / "outcomes.jsonl").read_text().splitlines()]
    failed_outcomes = [o for o in outcomes if o["sample_key"] == rows[2]["sample_key"]]
    assert failed_outcomes and all(o["error"] == failed["error"] and not o["correct"] for o in failed_outcomes)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["missing"] == sum(o["label"] != "c" for o in failed_outcomes)


def test_a_video_that_decodes_short_of_its_trim_is_recorded_with_a_warning(synth_dir, server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    copy = tmp_path / "copy"
    shutil.copytree(synth_dir, copy)
    rows = _rows(copy)
    video = json.loads(rows[1]["videos"])[0]
    start, end = video["frames_trim"]
    # Half the trimmed frames: decoding stops well short of the trim's end.
    short = [np.full((64, 64, 3), 128, np.uint8)] * (start + (end - start) // 2)
    write_video(copy / video["path"], short, video["fps_original"])
    out = tmp_path / "run"
    assert main(_run_args(copy, out, server, tmp_path / "c3")) == 0
    assert "1 samples with warnings (such as a video decoded short of its length, or frames left out by the image cap): see records.jsonl or viddiff report" in capsys.readouterr().out
    records = {r["sample_key"]: r for r in _records(out)}
    (warning,) = records[rows[1]["sample_key"]]["warnings"]
    assert warning.startswith(f"{copy / video['path']}: decoded up to ")
    assert f"expected (trim end: frame {end} at {video['fps_original']} fps); the video may be truncated" in warning
    assert all(not r["warnings"] for key, r in records.items() if key != rows[1]["sample_key"])
    assert main(["report", str(out), "--samples", "0"]) == 0
    assert "- warnings (such as a video decoded short of its length): 1" in (out / "report.md").read_text()
    assert escape(warning) in (out / "report.html").read_text()


def test_existing_run_is_not_overwritten_and_resume_checks_the_config(synth_dir, server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    out = tmp_path / "run"
    assert main(_run_args(synth_dir, out, server, tmp_path, "--limit", "1")) == 0
    capsys.readouterr()
    assert main(_run_args(synth_dir, out, server, tmp_path, "--limit", "1")) == 2
    assert "already holds a run; pass --resume to continue it" in capsys.readouterr().err
    assert main(_run_args(synth_dir, out, server, tmp_path, "--resume", "--mode", "open")) == 2
    assert "cannot resume with a different mode" in capsys.readouterr().err
    assert main(["run", str(synth_dir), "--resume"]) == 2
    assert "--resume needs --out RUN_DIR" in capsys.readouterr().err


def test_resume_after_a_killed_run_redoes_nothing_finished(synth_dir, tmp_path):
    def slow_differencer(call):
        """Delays differencer answers so the run is killed part-way; matches nothing."""
        if "answer" in call.output_fields:
            time.sleep(0.4)
        return False

    engine = scripted_engine()
    engine.script(slow_differencer, {})
    out = tmp_path / "run"
    with loopback_server(engine) as server:
        args = _run_args(synth_dir, out, server, tmp_path, "--sample-threads", "1", "--difference-threads", "1")
        env = {**os.environ, "VIDDIFF_TEST_KEY": SECRET, "DSPY_CACHEDIR": str(tmp_path / "dspy_cache")}
        child = subprocess.Popen(
            [sys.executable, "-c", f"from viddiff.cli import main; raise SystemExit(main({args!r}))"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        records_file = out / "records.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not records_file.exists() or len(records_file.read_text().splitlines()) < 2):
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
        child.wait()
        finished_before = {r["sample_key"] for r in _records(out)}
        assert 2 <= len(finished_before) < 6

        engine.calls.clear()
        assert main([*args, "--resume"]) == 0
    records = _records(out)
    assert len(records) == 6  # one line per sample: nothing finished was redone
    assert {r["sample_key"] for r in records[len(finished_before):]}.isdisjoint(finished_before)
    assert all(r["status"] == "ok" for r in records)
    assert all(row for row in json.loads((out / "predictions.json").read_text()))


def test_a_rejected_api_key_stops_the_run(synth_dir, tmp_path, monkeypatch, capsys):
    from dspy.lm15 import AuthError

    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    engine = scripted_engine()
    engine.fail("", AuthError("invalid api key", provider="fake", status=401))
    with loopback_server(engine) as server:
        assert main(_run_args(synth_dir, tmp_path / "run", server, tmp_path)) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert last == "viddiff: error: [openai/test-model] invalid api key (fake, HTTP 401); check the API key you set"


def test_missing_clip_weights_stop_the_run_before_any_lm_call(synth_dir, server, tmp_path, monkeypatch, capsys):
    from viddiff.clip import weights

    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    looked_for = []
    monkeypatch.setattr(weights, "locate_weights", lambda *args, real=weights.locate_weights: looked_for.append(args) or real(*args))
    args = _run_args(synth_dir, tmp_path / "run", server, tmp_path, "--clip-model", "ViT-B-32", "--clip-pretrained", str(tmp_path / "missing.pt"))
    args[args.index("uniform")] = "viterbi"
    assert main(args) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("viddiff: error: cannot load CLIP ViT-B-32 with weights") and "missing.pt" in last
    assert not (tmp_path / "run" / "records.jsonl").exists()
    assert len(looked_for) == 1, "the weights are looked for once, not per sample"
    assert server.calls == []


def test_resume_needs_only_the_run_directory(synth_dir, server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    out = tmp_path / "run"
    assert main(_run_args(synth_dir, out, server, tmp_path, "--limit", "2")) == 0
    assert main(["run", "--out", str(out), "--resume", "--limit", "4"]) == 0
    records = _records(out)
    assert len(records) == 4 and len({r["sample_key"] for r in records}) == 4
    assert json.loads((out / "metrics.json").read_text())["samples"]["scored"] == 4
    assert json.loads((out / "manifest.json").read_text())["config"]["limit"] == 4  # a plain resume now covers all 4
    assert main(["run", "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["samples"]["scored"] == 4


def test_image_options_reach_the_server_through_a_run(synth_dir, server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    server.requests.clear()
    out = tmp_path / "run"
    args = _run_args(synth_dir, out, server, tmp_path, "--limit", "1", "--image-format", "png", "--image-detail", "high", "--image-size", "full")
    assert main(args) == 0
    parts = [part["image_url"] for request in server.requests for part in request.image_parts]
    assert parts and all(p["url"].startswith("data:image/png;base64,") and p["detail"] == "high" for p in parts)
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert (config["image_format"], config["image_detail"], config["image_size"]) == ("png", "high", None)


def test_a_run_whose_first_samples_all_fail_the_same_way_stops_with_one_line(synth_dir, tmp_path, monkeypatch, capsys):
    from tests.lm.fake_engine import provider_error

    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    engine = scripted_engine()
    engine.fail("", provider_error(f"model 'test-model' does not exist (key {SECRET})", status=404))
    out = tmp_path / "run"
    with loopback_server(engine) as server:
        code = main(_run_args(synth_dir, out, server, tmp_path, "--sample-threads", "1"))
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("viddiff: error: stopped after the first 3 samples failed the same way with no answer at all (")
    assert last.endswith("fix the cause, then continue with --resume")
    assert "[redacted]" in last and SECRET not in last  # the server echoed the key: never printed
    records = _records(out)
    assert len(records) == 3 and all(r["status"] == "error" for r in records)
    assert SECRET not in (out / "records.jsonl").read_text()


def test_one_answer_disarms_the_stop(synth_dir, tmp_path, monkeypatch):
    from tests.lm.fake_engine import provider_error

    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    engine = scripted_engine()
    engine.fail(lambda call: "answer" in call.output_fields and len(engine.calls_for("answer")) > 2, provider_error("overloaded"))
    out = tmp_path / "run"
    with loopback_server(engine) as server:
        assert main(_run_args(synth_dir, out, server, tmp_path, "--sample-threads", "1", "--difference-threads", "1")) == 1
    assert len(_records(out)) == 6  # the first sample had answers: every sample ran


def test_a_run_that_recorded_no_sample_starts_again_without_resume(synth_dir, server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    out = tmp_path / "run"
    args = _run_args(synth_dir, out, server, tmp_path, "--clip-model", "ViT-B-32", "--clip-pretrained", str(tmp_path / "missing.pt"))
    args[args.index("uniform")] = "viterbi"
    assert main(args) == 2  # stopped before any sample: the folder holds the manifest alone
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    assert main(_run_args(synth_dir, out, server, tmp_path, "--limit", "1")) == 0
    assert len(_records(out)) == 1


def test_malformed_rows_are_counted_and_fail_the_run_unless_skipped(synth_dir, server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    copy = tmp_path / "copy"
    shutil.copytree(synth_dir, copy)
    rows = _rows(copy)
    rows[1]["differences_gt"] = "{not json"
    (copy / "dataset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    assert main(_run_args(copy, out, server, tmp_path)) == 1
    assert "viddiff: 1 malformed benchmark rows were skipped" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"]["row_errors"] == 1 and metrics["samples"]["scored"] == 5
    assert json.loads((out / "manifest.json").read_text())["row_errors"] == 1
    assert main(_run_args(copy, tmp_path / "again", server, tmp_path, "--skip-bad-rows")) == 0


def test_recorded_errors_are_one_line_without_the_provider_s_advice(synth_dir, tmp_path, monkeypatch):
    from tests.lm.fake_engine import rate_limit_error

    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    engine = scripted_engine()
    engine.fail(lambda call: "answer" in call.output_fields, rate_limit_error("slow down"))
    out = tmp_path / "run"
    with loopback_server(engine) as server:
        main(_run_args(synth_dir, out, server, tmp_path, "--limit", "1", "--stop-after", "0"))
    errors = [p["error"] for r in _records(out) for p in r["predictions"]]
    assert errors and all("\n" not in e and "never retries" not in e and e.startswith("LMRateLimitError: ") for e in errors)


def test_eight_sample_threads_with_rate_limits_give_the_answers_of_one_thread(synth_dir, tmp_path, monkeypatch, tiny_clip_checkpoint):
    """Viterbi with CLIP (the prefetch thread embeds while the sample threads call the LM), 8 sample
    and 8 difference threads, the first attempt of every differencer call refused with a 429: DSPy
    backs off and retries, every sample ends ok, with the answers and frames of a one-thread run."""
    from tests.conftest import TINY_CLIP
    from tests.lm.fake_engine import rate_limit_error

    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    clip = ["--localization", "viterbi", "--clip-model", TINY_CLIP, "--clip-pretrained", str(tiny_clip_checkpoint), "--clip-device", "cpu",
            "--no-lm-cache"]
    runs = {}
    for threads in ("1", "8"):
        engine = scripted_engine(choice="hash")
        seen = set()

        def first_attempt(call, seen=seen):
            key = (call.prompt, call.image_urls)
            first = "answer" in call.output_fields and key not in seen
            seen.add(key)
            return first

        engine.fail(first_attempt, rate_limit_error("slow down", retry_after=0.0))
        out = tmp_path / f"threads-{threads}"
        with loopback_server(engine) as server:
            args = _run_args(synth_dir, out, server, tmp_path, *clip, "--sample-threads", threads, "--difference-threads", threads)
            args[args.index("--localization"):args.index("--localization") + 2] = []
            assert main(args) == 0
        records = {r["sample_key"]: r for r in _records(out)}
        assert all(r["status"] == "ok" for r in records.values())
        runs[threads] = {k: [(p["key"], p["answer"], p["frames_a"], p["frames_b"]) for p in r["predictions"]] for k, r in records.items()}
        if threads == "8":
            refused = [c for c in engine.calls if c.error is not None]
            assert refused and len(refused) == sum(len(r["predictions"]) for r in records.values())
    assert runs["8"] == runs["1"]
