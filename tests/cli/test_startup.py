"""`viddiff` starts without its heavy dependencies: which modules a command loads, not how long
it takes (bench/bench_startup.py measures that). Each command runs in a fresh interpreter,
since the test session itself has loaded everything."""

import json
import subprocess
import sys

import pytest

from tests.evaluation.scored_runs import write_run
from viddiff.cli import COMMANDS
from viddiff.data.benchmark import load_benchmark
from viddiff.data.synth import generate_benchmark

HEAVY = ("torch", "dspy", "litellm", "open_clip", "av", "datasets")
"""Seconds to import each; a command loads one only on the path that uses it."""

SCRIPT = f"""
import json, sys
from viddiff.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as e:
    status = e.code
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
sys.exit(status)
"""

NEEDS_DSPY_TO_PARSE = {"compile": "its --optimizer and --stages choices live in viddiff.optimize.compile, a DSPy module"}


def heavy_modules_loaded(*argv: str) -> list[str]:
    """The HEAVY modules loaded by `viddiff ARGV` run to its end (exit status 0)."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], *([name, "--help"] for name in COMMANDS if name not in NEEDS_DSPY_TO_PARSE)],
    ids=" ".join,
)
def test_help_and_version_load_no_heavy_module(argv):
    assert heavy_modules_loaded(*argv) == []


def test_help_lists_every_command_with_its_help(capsys):
    from viddiff.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    listed = " ".join(capsys.readouterr().out.split())
    for name, command in COMMANDS.items():
        assert f"{name} {command.help}" in listed


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("startup") / "synth"
    generate_benchmark(out, pairs=2, seed=0, progress=False)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two scored closed-set runs of the default program."""
    folder = tmp_path_factory.mktemp("startup-runs")
    labels = {f"s{i}": {"k1": "a"} for i in range(4)}
    groups = {s: ("easy", "squat") for s in labels}
    return tuple(write_run(folder / name, labels, {s: {"k1": name} for s in labels}, groups=groups) for name in "ab")


def test_data_summary_loads_no_heavy_module(synth_dir):
    assert heavy_modules_loaded("data", str(synth_dir)) == []


def test_closed_set_eval_loads_no_heavy_module(synth_dir, tmp_path):
    bench = load_benchmark(synth_dir)
    rows = [None] * bench.n_rows
    for sample in bench:
        rows[sample.row_index] = {key: "a" for key in sample.labels}
    predictions = tmp_path / "predictions.json"
    predictions.write_text(json.dumps(rows))
    argv = ["eval", str(predictions), "--dataset", str(synth_dir), "--mode", "closed", "--out", str(tmp_path / "eval")]
    assert heavy_modules_loaded(*argv) == []


def test_report_without_frames_loads_no_heavy_module(runs, tmp_path):
    assert heavy_modules_loaded("report", str(runs[0]), "--samples", "0", "--out", str(tmp_path)) == []


def test_compare_loads_no_torch(runs):
    assert "torch" not in heavy_modules_loaded("compare", *map(str, runs))
