"""LM calls and images one `viddiff compile` asks for, per optimizer, against the estimate it
prints before starting.

Run from the repository root: .venv/bin/python bench/bench_compile.py [--pairs 12]

The synthetic benchmark, a held-out slice of three samples per part (--held-out-fraction 0.75),
default budgets (MIPROv2 6 trials of 3 candidates, few-shot 1 demo, GEPA 60 metric calls), the
test suite's loopback server as every LM (tests/lm; answers in zero time, no DSPy cache), CLIP a
tiny random-weight model for the planner's localization objective. A real LM gives the same
counts; `--localization uniform` keeps CLIP out of the other rows.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")
logging.disable(logging.INFO)

from bench.bench_program import tiny_clip_checkpoint  # noqa: E402
from tests.cli.test_frames_cli import frames_engine  # noqa: E402
from tests.lm.loopback_server import loopback_server  # noqa: E402
from tests.lm.viddiff_roles import scripted_engine_with_matcher  # noqa: E402
from viddiff.cli import main  # noqa: E402
from viddiff.data.synth import generate_benchmark  # noqa: E402


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=12)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="viddiff-compile-"))
    bench = work / "synth"
    generate_benchmark(bench, args.pairs, seed=7, progress=False)
    checkpoint = tiny_clip_checkpoint(work)
    uniform = ["--localization", "uniform"]
    planner = ["--stages", "planner", "--objective", "localization", "--localization", "viterbi",
               "--clip-model", "viddiff-bench-tiny", "--clip-pretrained", str(checkpoint), "--clip-device", "cpu"]
    rows = [
        ("viddiff closed", "instructions", uniform),
        ("viddiff closed", "fewshot", uniform),
        ("viddiff closed", "gepa", uniform),
        ("viddiff open", "gepa", [*uniform, "--mode", "open"]),
        ("frames closed", "gepa", ["--system", "frames"]),
        ("planner, key points", "gepa", planner),
    ]
    print(f"{args.pairs} synthetic pairs, slice 3 + 3 + 3 per part, LM = loopback server")
    print(f"{'program':<20} {'optimizer':<13} {'LM calls':>9} {'estimated':>9} {'images':>7} {'estimated':>9} {'seconds':>8}")
    for name, optimizer, extra in rows:
        out = work / f"{name.replace(' ', '-').replace(',', '')}-{optimizer}.json"
        engine = frames_engine(choice="hash") if name.startswith("frames") else scripted_engine_with_matcher(choice="hash")
        with loopback_server(engine) as server, contextlib.redirect_stdout(io.StringIO()):  # the table alone
            started = time.perf_counter()
            main([
                "compile", str(bench), "--optimizer", optimizer, "--out", str(out), "--held-out-fraction", "0.75", "--yes",
                "--lm", "openai/bench-model", "--api-base", server.api_base, "--cache-dir", str(work / "cache"), "--no-lm-cache",
                *extra,
            ])
            seconds = time.perf_counter() - started
        scores = json.loads(out.read_text())["viddiff"]["scores"]
        spent, estimate = scores["spent"], scores["estimate"]
        print(
            f"{name:<20} {optimizer:<13} {spent['lm_calls']:>9} {estimate['lm_calls']:>9} {spent['images']:>7} "
            f"{estimate['images']:>9} {seconds:>8.1f}"
        )


if __name__ == "__main__":
    main_bench()
