"""The embedding job in this process and as a Ray Data job with 1, 2, ... actors on a local Ray
instance: frames per second, and wall time over the one-actor job's.

Run from the repository root (needs `pip install 'viddiff[ray]'`):
    .venv/bin/python bench/bench_ray_embed.py [--pairs 12] [--model tiny] [--actors 1 2]

The synthetic benchmark's videos at VidDiff's rates, embedded by a random-weight CLIP folder
(`tiny`: decoding dominates; `ViT-B-32`: the encoder does) on CPU, each configuration into a
fresh cache. The wall time includes Ray's start of the actors (each loads the model once).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from viddiff.clip.folder import write_random_clip_folder  # noqa: E402
from viddiff.clip.job import embed_in_process, embed_with_ray  # noqa: E402
from viddiff.config import ClipConfig, RunConfig  # noqa: E402
from viddiff.data.synth import generate_benchmark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--model", default="tiny", help="tiny or an open_clip model name (random weights)")
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    import ray

    work = Path(tempfile.mkdtemp(prefix="viddiff-ray-bench-"))
    generate_benchmark(work / "synth", args.pairs, seed=0, progress=False)
    folder = write_random_clip_folder(work / "clip", model=args.model)

    def config(name: str) -> RunConfig:
        clip = ClipConfig(model=f"local-dir:{folder}", device="cpu")
        return RunConfig(source=str(work / "synth"), clip=clip, cache_dir=str(work / name)).validate()

    print(f"{args.pairs} synthetic pairs, CLIP {args.model} (random weights) on CPU")
    print(f"{'job':<22} {'frames':>7} {'seconds':>8} {'frames/s':>9} {'time / 1 actor':>15}")
    started = time.perf_counter()
    results = embed_in_process(config("in-process"))
    seconds = time.perf_counter() - started
    frames = sum(r.frames for r in results)
    print(f"{'in process':<22} {frames:>7} {seconds:>8.1f} {frames / seconds:>9.1f} {'':>15}")
    ray.init(include_dashboard=False, log_to_driver=False)
    first = None
    for actors in args.actors:
        started = time.perf_counter()
        results = embed_with_ray(config(f"ray-{actors}"), actors=actors)
        seconds = time.perf_counter() - started
        first = first or seconds
        frames = sum(r.frames for r in results)
        print(f"{f'Ray, {actors} actor(s)':<22} {frames:>7} {seconds:>8.1f} {frames / seconds:>9.1f} {seconds / first:>15.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
