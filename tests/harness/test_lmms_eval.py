"""lmms-eval itself loading viddiff's tasks and model: `lmms-eval eval --model viddiff` on a task
folder over the synthetic benchmark, with DSPy's real HTTP client against the loopback server;
lmms-eval's own reader of sample logs on an exported run. Skipped without lmms-eval."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lmms_eval", reason="lmms-eval is not installed: pip install 'viddiff[lmms-eval]'")

from tests.harness.conftest import TEST_KEY  # noqa: E402
from tests.lm.loopback_server import loopback_server  # noqa: E402
from tests.lm.viddiff_roles import scripted_engine  # noqa: E402
from viddiff.cli import main  # noqa: E402
from viddiff.harness.files import TASKS_DIR, export_run, write_task_folder  # noqa: E402
from viddiff.run_log import load_scored_run  # noqa: E402

LMMS_EVAL = str(Path(sys.executable).with_name("lmms-eval"))


@pytest.fixture(scope="module")
def task_folder(synth_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("lmms-tasks")
    write_task_folder(str(synth_dir), out, name="synth")
    return out


def test_the_entry_point_registers_the_model_and_the_tasks_load(task_folder):
    from lmms_eval.models import get_model
    from lmms_eval.tasks import TaskManager

    from viddiff.harness.model import ViddiffModel

    assert get_model("viddiff") is ViddiffModel
    names = set(TaskManager(include_path=[str(TASKS_DIR), str(task_folder)]).all_tasks)
    assert {"viddiff_closed", "viddiff_open", "synth_closed", "synth_open"} <= names


def _environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VIDDIFF_TEST_KEY": TEST_KEY,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "LMMS_EVAL_DATASETS_CACHE": str(tmp_path / "datasets"),
        "VIDDIFF_CLIP_DIR": str(tmp_path / "clips"),
    }


def test_lmms_eval_runs_the_viddiff_model_and_scores_it_as_viddiff(task_folder, synth_dir, tmp_path):
    """The task's numbers are viddiff's score of the records the model wrote; `viddiff eval`
    reads lmms-eval's samples log to the same metrics; the run directory is resumed."""
    logs, out = tmp_path / "logs", tmp_path / "runs"
    with loopback_server(scripted_engine(choice="hash")) as server:
        model_args = (
            f"lm=openai/test-model,api_base={server.api_base},api_key_env=VIDDIFF_TEST_KEY,localization=uniform,"
            f"cache_dir={tmp_path / 'cache'},out={out}"
        )
        command = [
            LMMS_EVAL, "eval", "--model", "viddiff", "--model_args", model_args, "--tasks", "synth_closed",
            "--include_path", str(task_folder), "--log_samples", "--output_path", str(logs), "--batch_size", "1",
        ]
        done = subprocess.run(command, env=_environment(tmp_path), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        calls = len(server.engine.calls)
        assert calls > 0
        again = subprocess.run(command, env=_environment(tmp_path), capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr[-3000:]
        assert len(server.engine.calls) == calls  # resumed: every document already answered
    (results_path, *_) = sorted(logs.rglob("*_results.json"))
    (samples_path, *_) = sorted(logs.rglob("*_samples_synth_closed.jsonl"))
    results = json.loads(results_path.read_text())["results"]["synth_closed"]
    run = out / "synth_closed"
    assert main(["eval", "--run", str(run)]) == 0
    scored = load_scored_run(run).metrics
    assert results["viddiff_overall,none"] == pytest.approx(100 * scored["overall"]["score"])
    for split, group in scored["splits"].items():
        assert results[f"viddiff_{split},none"] == pytest.approx(100 * group["score"])
    eval_out = tmp_path / "eval"
    assert main(["eval", str(samples_path), "--dataset", str(synth_dir), "--mode", "closed", "--out", str(eval_out)]) == 0
    assert json.loads((eval_out / "metrics.json").read_text())["overall"] == scored["overall"]


def test_lmms_eval_reads_an_exported_run_as_a_baseline(closed_run, tmp_path):
    from lmms_eval.baselines.loader import load_baseline

    results_path, samples_path = export_run(closed_run, tmp_path / "lmms")
    scores, aggregated = load_baseline(str(samples_path), "viddiff_closed")
    run = load_scored_run(closed_run)
    assert set(scores) == {r.row_index for r in run.records}
    assert aggregated == json.loads(results_path.read_text())
    for record in run.records:
        counted = [o for o in run.outcomes_of(record.sample_key) if o.counted]
        assert scores[record.row_index] == pytest.approx(sum(o.correct for o in counted) / len(counted))


def test_any_lmms_eval_model_is_shown_the_trimmed_clips_and_scored(task_folder, tmp_path):
    """lmms-eval's dummy model reads each document's visuals (the two trimmed MP4s viddiff
    writes) and replies "A": not a row of predictions, so every difference counts as missing."""
    logs = tmp_path / "logs"
    command = [
        LMMS_EVAL, "eval", "--model", "dummy", "--model_args", "read_bytes=1024", "--tasks", "synth_closed",
        "--include_path", str(task_folder), "--log_samples", "--output_path", str(logs), "--batch_size", "1",
    ]
    done = subprocess.run(command, env=_environment(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (results_path,) = logs.rglob("*_results.json")
    assert json.loads(results_path.read_text())["results"]["synth_closed"]["viddiff_overall,none"] == 0.0
    assert len(list((tmp_path / "clips").glob("*.mp4"))) == 8  # 4 documents x 2 videos
    (samples_path,) = logs.rglob("*_samples_synth_closed.jsonl")
    outcomes = [o for line in samples_path.read_text().splitlines() for o in json.loads(line)["viddiff_overall"]["outcomes"]]
    assert outcomes and all(o["error"] == "reply holds no JSON object: A" for o in outcomes)
