"""LM wall time of `viddiff run` over the ideal for its concurrency, with a fixed LM latency.

Run from the repository root: .venv/bin/python bench/bench_concurrency.py [--pairs 16] [--latency 0.5]

A closed VidDiff run (viterbi localization, tiny random-weight CLIP on CPU, so decoding and
embedding are real work) against the test suite's OpenAI-compatible loopback server, which
answers every call after `--latency` seconds. The LM span is the time from the first LM call's
start to the last one's end; the ideal is the calls on each sample's critical path (planner,
linker, then its differencer calls in rounds of --difference-threads) times the latency, over the
sample threads. A ratio near 1 means decoding and CLIP hid behind the LM calls (the runner reads
and embeds the next samples on a thread of its own while the sample threads wait on the LM).
Goal: <= 1.1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")

from bench.bench_program import tiny_clip_checkpoint  # noqa: E402
from tests.lm.fake_engine import FakeEngine  # noqa: E402
from tests.lm.loopback_server import loopback_server  # noqa: E402
from tests.lm.viddiff_roles import scripted_engine  # noqa: E402
from viddiff.cli import main  # noqa: E402
from viddiff.data.synth import generate_benchmark  # noqa: E402


class DelayedEngine:
    """A FakeEngine's answers, each given `latency` seconds after the call arrives; records each
    call's start and end (what the loopback server needs of an engine: `respond` and `calls`)."""

    def __init__(self, engine: FakeEngine, latency: float):
        self.engine = engine
        self.latency = latency
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    @property
    def calls(self):
        return self.engine.calls

    def respond(self, view, **kwargs):
        start = time.perf_counter()
        time.sleep(self.latency)
        call = self.engine.respond(view, **kwargs)
        with self._lock:
            self.spans.append((start, time.perf_counter()))
        return call


def max_in_flight(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="viddiff-bench-"))
    import dspy

    dspy.configure_cache(disk_cache_dir=str(work / "dspy_cache"))
    generate_benchmark(work / "synth", args.pairs, seed=0, progress=False)
    checkpoint = tiny_clip_checkpoint(work)
    print(f"{args.pairs} synthetic pairs (closed, viterbi, tiny CLIP on CPU); LM latency {args.latency:.2f} s per call")
    print(f"{'sample threads':>14} {'diff threads':>12} {'LM calls':>8} {'max in flight':>13} {'LM span s':>9} {'ideal s':>8} {'ratio':>6}")
    for sample_threads, difference_threads in ((1, 8), (2, 8), (4, 8)):
        engine = DelayedEngine(scripted_engine(choice="hash"), args.latency)
        out = work / f"run-{sample_threads}"
        with loopback_server(engine) as server:
            main([
                "run", str(work / "synth"), "--out", str(out), "--lm", "openai/bench-model", "--api-base", server.api_base,
                "--no-lm-cache", "--cache-dir", str(work / f"cache-{sample_threads}"), "--localization", "viterbi",
                "--clip-model", "viddiff-bench-tiny", "--clip-pretrained", str(checkpoint), "--clip-device", "cpu",
                "--sample-threads", str(sample_threads), "--difference-threads", str(difference_threads),
            ])
        records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
        critical = sum(2 + math.ceil(len(r["predictions"]) / difference_threads) for r in records)
        ideal = critical * args.latency / sample_threads
        span = max(e for _, e in engine.spans) - min(s for s, _ in engine.spans)
        print(
            f"{sample_threads:>14} {difference_threads:>12} {len(engine.spans):>8} {max_in_flight(engine.spans):>13} "
            f"{span:>9.2f} {ideal:>8.2f} {span / ideal:>6.2f}"
        )


if __name__ == "__main__":
    main_bench()
