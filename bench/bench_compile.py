"""LM calls and images sent by one `viddiff compile` per optimizer, as the slice grows.

Run from the repository root: .venv/bin/python bench/bench_compile.py

LMs are the test suite's loopback server (tests/lm), so the counts are the program's own; a real
LM gives the same counts (bar DSPy cache hits), only slower.
"""

from __future__ import annotations

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

from tests.lm.loopback_server import loopback_server  # noqa: E402
from tests.lm.viddiff_roles import scripted_engine  # noqa: E402
from viddiff.cli import main  # noqa: E402
from viddiff.data.synth import generate_benchmark  # noqa: E402


def main_bench() -> None:
    work = Path(tempfile.mkdtemp(prefix="viddiff-compile-"))
    import dspy

    dspy.configure_cache(disk_cache_dir=str(work / "dspy_cache"))
    print(f"{'optimizer':<13} {'slice':>5} {'train':>5} {'val':>4} {'LM calls':>9} {'images':>7} {'max img/call':>12} {'seconds':>8}")
    for pairs in (6, 12, 24):
        bench = work / f"synth{pairs}"
        generate_benchmark(bench, pairs, seed=0, progress=False)
        for optimizer in ("instructions", "fewshot"):
            with loopback_server(scripted_engine(choice="hash")) as server:
                started = time.perf_counter()
                main([
                    "compile", str(bench), "--mode", "closed", "--optimizer", optimizer, "--out", str(work / f"{optimizer}{pairs}.json"),
                    "--held-out-fraction", "1.0", "--localization", "uniform", "--lm", "openai/bench-model",
                    "--api-base", server.api_base, "--cache-dir", str(work / "cache"),
                ])
                seconds = time.perf_counter() - started
                requests = server.completion_requests()
            images = [len(r.image_urls) for r in requests]
            import json

            held_out = json.loads((work / f"{optimizer}{pairs}.json").read_text())["viddiff"]["held_out"]
            print(
                f"{optimizer:<13} {pairs:>5} {len(held_out['train']):>5} {len(held_out['validation']):>4} {len(requests):>9} "
                f"{sum(images):>7} {max(images):>12} {seconds:>8.1f}"
            )


if __name__ == "__main__":
    main_bench()
