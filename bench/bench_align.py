"""Time `align_stages` on random positive scores (seeded). Run: .venv/bin/python bench/bench_align.py"""

from __future__ import annotations

import statistics
import time

import numpy as np

from viddiff.retrieval import align_stages

CASES = [(300, 5), (3_000, 10), (30_000, 10)]  # (frames T, stages K)
REPEATS = 50
TARGET_MS = 5.0  # for T = 3,000, K = 10


def median_ms(n_frames: int, n_stages: int, repeats: int, seed: int = 0) -> float:
    """Median wall time of one `align_stages` call, in milliseconds."""
    scores = np.random.default_rng(seed).uniform(1e-5, 1.0, size=(n_stages, n_frames))
    align_stages(scores)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        align_stages(scores)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    print(f"align_stages, median of {REPEATS} runs")
    for n_frames, n_stages in CASES:
        ms = median_ms(n_frames, n_stages, REPEATS)
        target = f"  (target < {TARGET_MS} ms)" if (n_frames, n_stages) == (3_000, 10) else ""
        print(f"  T = {n_frames:>6,}  K = {n_stages:>2}: {ms:8.3f} ms{target}")


if __name__ == "__main__":
    main()
