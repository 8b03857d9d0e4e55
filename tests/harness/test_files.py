"""Files between viddiff and lmms-eval: a run exported as lmms-eval's output, lmms-eval sample
logs scored by `viddiff eval`, and task folders over any benchmark."""

import json

import pytest
import yaml

from viddiff.cli import main
from viddiff.harness.documents import ROOT_FIELD, SOURCE_FIELD
from viddiff.harness.files import TASKS_DIR, SampleLogError, export_run, sample_log_rows
from viddiff.run_log import load_scored_run


def _exported(closed_run, tmp_path):
    results_path, samples_path = export_run(closed_run, tmp_path / "lmms")
    return json.loads(results_path.read_text()), [json.loads(line) for line in samples_path.read_text().splitlines()], samples_path


def test_an_exported_run_carries_the_runs_own_scores(closed_run, tmp_path):
    run = load_scored_run(closed_run)
    results, samples, samples_path = _exported(closed_run, tmp_path)
    assert samples_path.parent == tmp_path / "lmms" / "viddiff" and samples_path.name.endswith("_samples_viddiff_closed.jsonl")
    values = results["results"]["viddiff_closed"]
    assert values["viddiff_overall,none"] == pytest.approx(100 * run.metrics["overall"]["score"])
    for split, group in run.metrics["splits"].items():
        assert values[f"viddiff_{split},none"] == pytest.approx(100 * group["score"])
    assert results["n-samples"]["viddiff_closed"] == {"original": len(run.records), "effective": len(run.records)}
    assert results["config"]["model"] == "viddiff" and results["viddiff"]["run"] == str(run.path)
    assert [s["doc_id"] for s in samples] == [r.row_index for r in run.records]
    for sample, record in zip(samples, run.records):
        reply = json.loads(sample["filtered_resps"][0])
        assert reply == {p.key: {"description": p.description, "prediction": p.answer} for p in record.predictions if p.answer}
        assert sample["viddiff_overall"]["sample_key"] == record.sample_key
        assert json.loads(sample["target"]) == record.labels


def test_viddiff_eval_scores_an_lmms_eval_samples_log_as_the_run(closed_run, synth_dir, tmp_path, capsys):
    _, _, samples_path = _exported(closed_run, tmp_path)
    out = tmp_path / "eval"
    assert main(["eval", str(samples_path), "--dataset", str(synth_dir), "--mode", "closed", "--out", str(out)]) == 0
    scored = json.loads((out / "metrics.json").read_text())
    run = load_scored_run(closed_run).metrics
    assert scored["overall"] == run["overall"] and scored["splits"] == run["splits"]


def test_a_log_line_of_another_benchmark_or_unreadable_reply(closed_run, synth_dir, tmp_path):
    _, samples, samples_path = _exported(closed_run, tmp_path)
    keys = [s["viddiff_overall"]["sample_key"] for s in samples]
    with pytest.raises(SampleLogError, match=f"document 0 is sample {keys[0]}, but row 0 of the benchmark is other; pass the --dataset"):
        sample_log_rows(samples_path, ["other", *keys[1:]])
    lines = samples_path.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["filtered_resps"] = "The first video."  # lmms-eval flattens a single reply to a string
    lines[1] = json.dumps(broken)
    samples_path.write_text("\n".join(lines[:2]) + "\n")
    answers = sample_log_rows(samples_path, keys)
    assert answers[0].predictions and answers[1].error == "reply holds no JSON object: The first video."
    assert answers[2:] == [None] * (len(keys) - 2)
    samples_path.write_text('{"doc_id": 99, "filtered_resps": ["{}"]}\n')
    with pytest.raises(SampleLogError, match=r"line 1: doc_id 99 is not a row of the benchmark \(4 rows\)"):
        sample_log_rows(samples_path, keys)


def test_a_task_folder_over_a_local_benchmark(synth_dir, rows, tmp_path, capsys):
    out = tmp_path / "tasks"
    assert main(["export", "--benchmark", str(synth_dir), "--name", "synth", "--out", str(out)]) == 0
    assert f"--include_path {out}" in capsys.readouterr().out
    docs = [json.loads(line) for line in (out / "docs.jsonl").read_text().splitlines()]
    assert docs == [{**row, ROOT_FIELD: str(synth_dir.resolve()), SOURCE_FIELD: str(synth_dir.resolve())} for row in rows]
    closed = yaml.safe_load((out / "synth_closed.yaml").read_text())
    assert closed == {
        "task": "synth_closed",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(out.resolve() / "docs.jsonl")}},
        "include": str(TASKS_DIR / "_viddiff_closed_template.yaml"),
    }
    assert (out / "synth_open.yaml").is_file()
    assert main(["export", "--task-dir"]) == 0 and capsys.readouterr().out.strip() == str(TASKS_DIR)
    assert {p.name for p in TASKS_DIR.iterdir() if p.suffix == ".yaml"} == {
        "_viddiff_template.yaml", "_viddiff_closed_template.yaml", "_viddiff_open_template.yaml", "viddiff_closed.yaml", "viddiff_open.yaml",
    }


def test_export_needs_a_run_or_a_benchmark(tmp_path, capsys):
    assert main(["export"]) == 2
    assert "give RUN_DIR to export a run, or --benchmark SOURCE --out DIR" in capsys.readouterr().err
    assert main(["export", str(tmp_path)]) == 2
    assert "has no manifest.json" in capsys.readouterr().err
