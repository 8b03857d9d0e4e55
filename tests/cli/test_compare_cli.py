"""`viddiff compare` on scored runs built through the run log and the closed scorer."""

import json

import pytest

from tests.evaluation.scored_runs import write_run
from viddiff.cli import main
from viddiff.config import LMConfig, RunConfig, default_lms
from viddiff.systems import system_for

LABELS = {"s1": {"k1": "a", "k2": "b", "k3": "c"}, "s2": {"k1": "b", "k2": "a"}, "s3": {"k1": "a", "k2": "b"}}
GROUPS = {"s1": ("easy", "squat"), "s2": ("easy", "squat"), "s3": ("medium", "lunge")}

EIGHT = {f"s{i}": {"k1": "a"} for i in range(8)}
EIGHT_GROUPS = {f"s{i}": (("easy", "medium")[i % 2], "squat") for i in range(8)}


@pytest.fixture
def runs(tmp_path):
    """A right on all 8 differences; B right on 0 and with another differencer model and localization."""
    run_a = write_run(tmp_path / "a", EIGHT, {s: {"k1": "a"} for s in EIGHT}, groups=EIGHT_GROUPS)
    lms = {**default_lms(), "differencer": LMConfig(model="openai/gpt-4o-mini")}
    config_b = RunConfig(source="runs/synth", localization="uniform", lms=lms)
    run_b = write_run(tmp_path / "b", EIGHT, {s: {"k1": "b"} for s in EIGHT}, config=config_b, groups=EIGHT_GROUPS)
    return run_a, run_b


def test_compare_prints_scores_statistics_verdict_and_differences(runs, capsys):
    assert main(["compare", str(runs[0]), str(runs[1]), "--bootstrap", "500"]) == 0
    out = capsys.readouterr().out
    assert "closed set, accuracy in percent over the 8 differences scored in both runs" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["easy", "100.0", "0.0", "4"] in rows and ["medium", "100.0", "0.0", "4"] in rows and ["squat", "100.0", "0.0", "8"] in rows
    assert ["A", "right,", "B", "wrong", "8"] in rows
    assert "samples where A did better: 8, B did better: 0, tied: 0" in out
    # Sign-flip test over 8 samples, each +1: p = 2 / 2^8.
    assert "sample-level permutation test p = 0.00781   (McNemar on single differences, for reference only: p = 0.00781)" in out
    assert "accuracy gap A-B: +100.0 points, 95% CI [+100.0, +100.0] (cluster bootstrap over 8 samples, 500 resamples, seed 0)" in out
    assert "verdict: A is better (sample-level permutation test, p = 0.0078, 8 of 8 samples differ)" in out
    assert 'lms.differencer.model: "openai/gpt-4o-2024-08-06" -> "openai/gpt-4o-mini"' in out
    assert 'localization: "viterbi" -> "uniform"' in out
    assert "instruction differences (A -> B):\n  none" in out


def test_compare_reports_instruction_differences_and_writes_json(tmp_path, capsys):
    # A compiled program saves every predictor: here only the differencer's prompt changed.
    program = system_for("viddiff").build(RunConfig(source="runs/synth"), {}).dump_state()
    program["differencer.compare"]["signature"]["instructions"] = "Look at the knees.\nAnswer a or b."
    program["differencer.compare"]["demos"] = [{}, {}]
    (tmp_path / "compiled.json").write_text(json.dumps(program))
    answers = {"s1": {"k1": "a", "k2": "b"}, "s2": {"k1": "b", "k2": "a"}, "s3": {"k1": "a", "k2": "a"}}
    run_a = write_run(tmp_path / "a", LABELS, answers, groups=GROUPS)
    config_b = RunConfig(source="runs/synth", program=str(tmp_path / "compiled.json"))
    run_b = write_run(tmp_path / "b", LABELS, answers, groups=GROUPS, config=config_b)
    out_file = tmp_path / "comparison.json"
    assert main(["compare", str(run_a), str(run_b), "--bootstrap", "200", "--seed", "3", "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "verdict: no significant difference (sample-level permutation test, p = 1, 0 of 3 samples differ)" in out
    assert f"B: {run_b}   (program: {tmp_path / 'compiled.json'})" in out
    assert "  differencer.compare (demos 0 -> 2)\n    A: Two people perform the same action." in out
    assert "    B: Look at the knees.\n       Answer a or b." in out
    # The other predictors keep their default prompts in both runs: not listed.
    assert "planner.plan" not in out and "proposer.propose" not in out and "linker.link" not in out
    document = json.loads(out_file.read_text())
    (comparison,) = document["comparisons"]
    assert document["baseline"] == str(run_a)
    assert comparison["verdict"] == "no significant difference (sample-level permutation test, p = 1, 0 of 3 samples differ)"
    assert comparison["stats"]["gap"] == 0.0 and comparison["stats"]["seed"] == 3
    assert [d["key"] for d in comparison["config_differences"]] == ["program"]
    assert len(comparison["outcomes"]["differences"]) == 6


def test_more_runs_are_each_compared_with_the_first(runs, tmp_path, capsys):
    third = write_run(tmp_path / "c", EIGHT, {s: {"k1": "a"} for s in EIGHT}, groups=EIGHT_GROUPS)
    assert main(["compare", str(runs[0]), str(runs[1]), str(third), "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert out.count(f"A: {runs[0]}") == 2 and f"B: {third}" in out
    assert "verdict: no significant difference (sample-level permutation test, p = 1, 0 of 8 samples differ)" in out
    assert "2 comparisons with" in out and "not adjusted for multiple comparisons" in out


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("viddiff: error: ") and "\n" not in err
    return err


def test_compare_errors_are_one_line(runs, tmp_path, capsys):
    (runs[1] / "metrics.json").unlink()
    err = _error(capsys, ["compare", str(runs[0]), str(runs[1])])
    assert err.startswith(f"viddiff: error: {runs[1]} is not scored; finish and score it") and f"viddiff eval --run {runs[1]}" in err
    open_run = tmp_path / "open"
    write_run(open_run, EIGHT, {}, groups=EIGHT_GROUPS)
    metrics = json.loads((open_run / "metrics.json").read_text())
    (open_run / "metrics.json").write_text(json.dumps({**metrics, "mode": "open"}))
    assert "cannot compare runs of different mode" in _error(capsys, ["compare", str(runs[0]), str(open_run)])
    assert "missing: no such run directory" in _error(capsys, ["compare", str(runs[0]), str(tmp_path / "missing")])
    assert "--bootstrap must be at least 1, got 0" in _error(capsys, ["compare", str(runs[0]), str(runs[0]), "--bootstrap", "0"])
