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
from viddiff.errors import ViddiffError  # noqa: E402
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
    """Closed and open set: the task's numbers are viddiff's scores of the records the model
    wrote (open: through the matcher named by VIDDIFF_MATCHER_*); `viddiff eval` reads lmms-eval's
    samples log to the same metrics; a second lmms-eval run resumes the run directories."""
    logs, out = tmp_path / "logs", tmp_path / "runs"
    with loopback_server(scripted_engine(choice="hash")) as server:
        model_args = (
            f"lm=openai/test-model,api_base={server.api_base},api_key_env=VIDDIFF_TEST_KEY,localization=uniform,"
            f"cache_dir={tmp_path / 'cache'},out={out}"
        )
        command = [
            LMMS_EVAL, "eval", "--model", "viddiff", "--model_args", model_args, "--tasks", "synth_closed,synth_open",
            "--include_path", str(task_folder), "--log_samples", "--output_path", str(logs), "--batch_size", "1",
        ]
        environment = {
            **_environment(tmp_path),
            "VIDDIFF_MATCHER_LM": "openai/test-model",
            "VIDDIFF_MATCHER_API_BASE": server.api_base,
            "VIDDIFF_MATCHER_API_KEY_ENV": "VIDDIFF_TEST_KEY",
        }
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        (results_path,) = logs.rglob("*_results.json")
        matcher_calls = [c for c in server.engine.calls if "matches" in c.output_fields]
        assert len(matcher_calls) == 4  # lmms-eval's process_results: one match per open-set document
        assert all(c.model == "test-model" for c in matcher_calls)
        calls = len(server.engine.calls)
        again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr[-3000:]
        program_calls = [c for c in server.engine.calls[calls:] if any(f in c.output_fields for f in ("answer", "stages", "differences"))]
        assert program_calls == []  # resumed: every document already answered
        for mode in ("closed", "open"):
            assert main(["eval", "--run", str(out / f"synth_{mode}")]) == 0
    results = json.loads(results_path.read_text())["results"]
    for mode in ("closed", "open"):
        scored = load_scored_run(out / f"synth_{mode}").metrics
        values = results[f"synth_{mode}"]
        assert values["viddiff_overall,none"] == pytest.approx(100 * scored["overall"]["score"])
        for split, group in scored["splits"].items():
            assert values[f"viddiff_{split},none"] == pytest.approx(100 * group["score"])
    samples_path = sorted(logs.rglob("*_samples_synth_closed.jsonl"))[0]  # the first run's (the second wrote its own)
    eval_out = tmp_path / "eval"
    assert main(["eval", str(samples_path), "--dataset", str(synth_dir), "--mode", "closed", "--out", str(eval_out)]) == 0
    assert json.loads((eval_out / "metrics.json").read_text())["overall"] == load_scored_run(out / "synth_closed").metrics["overall"]


class _Request:
    """What the viddiff model reads of an lmms-eval Instance."""

    def __init__(self, doc_id: int, task: str):
        self.args = ("prompt", {}, None, doc_id, task, "test")


def test_the_model_runs_a_compiled_program_and_leaves_its_held_out_slice_unanswered(docs, synth_dir, tmp_path, monkeypatch):
    from viddiff.config import RunConfig
    from viddiff.harness.model import ViddiffModel
    from viddiff.optimize.compile import CompileSettings
    from viddiff.optimize.held_out import HeldOutSlice
    from viddiff.optimize.program_file import save_compiled
    from viddiff.task import program_for

    config = RunConfig(source=str(synth_dir), localization="uniform").validate()
    program = program_for(config, {})
    for name, predictor in program.named_predictors():
        if name.startswith("differencer"):
            predictor.signature = predictor.signature.with_instructions("COMPILED: compare the two frame sets.")
    held_out = HeldOutSlice(source=str(synth_dir), seed=0, fraction=None, size=1, train=(docs[0]["sample_key"],), validation=())
    path = save_compiled(program, tmp_path / "program.json", config=config, settings=CompileSettings(optimizer="instructions"), held_out=held_out, scores={})
    monkeypatch.setenv("VIDDIFF_TEST_KEY", TEST_KEY)
    with loopback_server(scripted_engine(choice="hash")) as server:
        model = ViddiffModel(
            lm="openai/test-model", api_base=server.api_base, api_key_env="VIDDIFF_TEST_KEY", localization="uniform",
            cache_dir=str(tmp_path / "cache"), program=str(path), out=str(tmp_path / "runs"), batch_size=1, device="cpu",
        )
        model.task_dict = {"synth_closed": {"test": docs}}
        replies = model.generate_until([_Request(i, "synth_closed") for i in reversed(range(len(docs)))])[::-1]
        asked = [c for c in server.engine.calls if "answer" in c.output_fields]
    assert replies[0] == "null"  # the program was compiled on it
    for doc, reply in zip(docs[1:], replies[1:]):
        assert set(json.loads(reply)) == set(json.loads(doc["differences_gt"])) - {k for k, v in json.loads(doc["differences_gt"]).items() if v is None}
    assert asked and all("COMPILED: compare the two frame sets." in c.system for c in asked)
    with pytest.raises(ViddiffError, match=r"--model_args: unknown --temperature-x; they are `viddiff run` options"):
        ViddiffModel(temperature_x=1)


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
