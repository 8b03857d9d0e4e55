"""How long `viddiff` takes to start, and how much memory it takes doing so.

Run: .venv/bin/python bench/bench_startup.py [--repeats 5]

Each measurement runs as its own subprocess, `--repeats` times; printed are the median wall
time and the median peak RSS of that child (its own rusage, from os.wait4):

- `viddiff --version`, `viddiff --help` and `viddiff <command> --help` for data, eval, report
  and compare: the parser alone;
- `viddiff data DIR` (its summary), `viddiff eval PREDICTIONS --mode closed`, `viddiff compare`
  of two scored runs and `viddiff report RUN --samples 0` on a two-pair synthetic benchmark
  written once into a temporary folder: whole commands that call no LM;
- `python -c "import torch"` and `python -c "import dspy"`, for reference.

The last column is each time over the `import dspy` time. Target: every viddiff line under 1 s,
i.e. no torch, dspy, litellm, open_clip, av or datasets loaded before a command needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VIDDIFF = str(Path(sys.executable).with_name("viddiff"))
HELP_COMMANDS = ("--version", "--help", "data --help", "eval --help", "report --help", "compare --help")


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one run of `argv` (its output discarded)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)} exited {child.returncode}: {errors.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def median_of(argv: list[str], repeats: int) -> tuple[float, float]:
    runs = [measure(argv) for _ in range(repeats)]
    return statistics.median(s for s, _ in runs), statistics.median(m for _, m in runs)


def write_synthetic(folder: Path) -> None:
    """A two-pair synthetic benchmark in `folder`/synth, predictions of "a" for each of its
    labelled differences in `folder`/predictions.json, and two scored runs of them (all "a",
    all "b") in `folder`/run-a and `folder`/run-b."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.evaluation.scored_runs import write_run
    from viddiff.data.benchmark import load_benchmark
    from viddiff.data.synth import generate_benchmark

    bench = load_benchmark(generate_benchmark(folder / "synth", 2, 0, progress=False).parent)
    rows: list[dict[str, str] | None] = [None] * bench.n_rows
    for sample in bench:
        rows[sample.row_index] = {key: "a" for key in sample.labels}
    (folder / "predictions.json").write_text(json.dumps(rows))
    labels = {s.sample_key: s.labels for s in bench}
    groups = {s.sample_key: (s.split, s.action) for s in bench}
    for answer in "ab":
        write_run(folder / f"run-{answer}", labels, {k: {d: answer for d in v} for k, v in labels.items()}, groups=groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement; the median is printed (default: 5)")
    parser.add_argument("--write-synthetic", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_synthetic:
        write_synthetic(Path(args.write_synthetic))
        return
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # as `viddiff` sets it: no price-table download
    with tempfile.TemporaryDirectory() as tmp:
        # In a child process: a forked child's peak RSS starts at its parent's, so this one imports nothing big.
        subprocess.run([sys.executable, __file__, "--write-synthetic", tmp], check=True)
        synth, predictions, eval_out = (str(Path(tmp) / name) for name in ("synth", "predictions.json", "eval"))
        commands = {f"viddiff {c}": [VIDDIFF, *c.split()] for c in HELP_COMMANDS}
        commands["viddiff data DIR"] = [VIDDIFF, "data", synth]
        commands["viddiff eval PREDICTIONS --mode closed"] = [
            VIDDIFF, "eval", predictions, "--dataset", synth, "--mode", "closed", "--out", eval_out,
        ]
        run_a, run_b = str(Path(tmp) / "run-a"), str(Path(tmp) / "run-b")
        commands["viddiff compare RUN_A RUN_B"] = [VIDDIFF, "compare", run_a, run_b]
        commands["viddiff report RUN --samples 0"] = [VIDDIFF, "report", run_a, "--samples", "0"]
        commands.update({f"python -c 'import {m}'": [sys.executable, "-c", f"import {m}"] for m in ("torch", "dspy")})
        results = {name: median_of(argv, args.repeats) for name, argv in commands.items()}
    dspy_seconds = results["python -c 'import dspy'"][0]
    width = max(map(len, results))
    print(f"median of {args.repeats} runs each, {os.cpu_count()} CPUs")
    print(f"{'command':<{width}}  {'wall s':>7}  {'peak MB':>8}  {'/ import dspy':>13}")
    for name, (seconds, megabytes) in results.items():
        print(f"{name:<{width}}  {seconds:>7.2f}  {megabytes:>8.0f}  {seconds / dspy_seconds:>13.2f}")


if __name__ == "__main__":
    main()
