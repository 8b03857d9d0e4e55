"""Frame sampling speed and memory on a 5-minute 720p 30 fps H.264 clip.

Run: .venv/bin/python bench/bench_decode.py

Generates the clip once under .bench/ at the repository root, then times each measurement
in its own Python process, so the peak RSS printed is that measurement's alone:

- ffmpeg's own decode (`ffmpeg -i clip -f null -`): the floor a decoder in Python can reach;
- PyAV decoding every frame without converting any, with and without frame threads;
- read_frames at 5 fps, full size and size=224 (seconds, peak RSS, bytes of kept frames);
- what VidDiff reads for the paper preset (CLIP centre crop, full-size VLM frames): every
  sampled frame at the shorter side 224 for CLIP, then 12 chosen frames again at full size by
  seeking (`fetch_frames`);
- read_frames through a FrameCache: the first read (decode and store), then a cached read
  (the file mapped read-only), each with every page of the frames read once.

Targets: read_frames within 1.3x of the floor; peak memory bounded by the sizes the consumers
need (CLIP's input, a few full-size frames), not the video's size; a cached read at least 20x
faster than the first.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / ".bench" / "moving_720p30_5min.mp4"
SECONDS, FPS, HEIGHT, WIDTH = 300, 30, 720, 1280
SAMPLE_FPS = 5


def smooth_noise(rng: np.random.Generator, cell: int, margin: int) -> np.ndarray:
    """Random colours on a `cell`-pixel grid, bicubically blurred, `margin` cells larger."""
    coarse = rng.integers(0, 256, size=(HEIGHT // cell + margin, WIDTH // cell + margin, 3))
    size = (coarse.shape[1] * cell, coarse.shape[0] * cell)
    image = Image.fromarray(coarse.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    return np.asarray(image) // 2


def moving_frames(seed: int = 0) -> Iterator[np.ndarray]:
    """Large blobs drifting right and down over fine detail scrolling up: cheap to make,
    with real motion and about 5 Mbit/s at crf 23, like phone footage."""
    rng = np.random.default_rng(seed)
    blobs, detail = smooth_noise(rng, 40, 10), smooth_noise(rng, 8, 40)
    for i in range(SECONDS * FPS):
        x, y = (3 * i) % 400, (i // 20) % 400
        blob = blobs[y : y + HEIGHT, x : x + WIDTH]
        fine = detail[i % 320 : i % 320 + HEIGHT, :WIDTH]
        yield blob + fine


def generate_clip() -> None:
    from viddiff.data.video import write_video

    CLIP.parent.mkdir(exist_ok=True)
    partial = CLIP.with_suffix(".partial.mp4")
    write_video(partial, moving_frames(), FPS, crf=23)
    partial.rename(CLIP)


def ensure_clip() -> None:
    """Generate the clip once, in a child process: the parent stays small, and Linux counts
    the parent's RSS at fork time in each child's peak RSS."""
    if CLIP.exists():
        return
    print(f"generating {CLIP.name} ({SECONDS * FPS} frames, once) ...", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--generate"], check=True)
    print(f"  encoded in {time.perf_counter() - start:.0f} s", flush=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# --- measurements, each run in a child process ----------------------------------------


def measure_pyav_decode(thread_type: str) -> dict:
    import av

    with av.open(str(CLIP)) as container:
        stream = container.streams.video[0]
        if thread_type != "default":
            stream.thread_type = thread_type
        start = time.perf_counter()
        count = sum(1 for _ in container.decode(stream))
        return {"seconds": time.perf_counter() - start, "decoded": count}


def measure_read(size: int | None) -> dict:
    from viddiff.data.video import read_frames

    before = peak_rss_mib()
    start = time.perf_counter()
    frames = read_frames(CLIP, SAMPLE_FPS, size=size)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib(),
        "kept": len(frames),
        "kept_mib": frames.images.nbytes / 2**20,
        "shape": list(frames.images.shape[1:]),
    }


def measure_clip_then_fetch() -> dict:
    from viddiff.data.video import ShorterSide, fetch_frames, read_frames

    before = peak_rss_mib()
    start = time.perf_counter()
    frames = read_frames(CLIP, SAMPLE_FPS, size=ShorterSide(224))
    read_seconds = time.perf_counter() - start
    chosen = [int(i) for i in np.linspace(0, len(frames) - 1, 12)]
    start = time.perf_counter()
    fetched = fetch_frames(frames, chosen, None)
    return {
        "seconds": read_seconds,
        "fetch_seconds": time.perf_counter() - start,
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib(),
        "kept": len(frames),
        "kept_mib": (frames.images.nbytes + fetched.nbytes) / 2**20,
        "shape": list(frames.images.shape[1:]),
    }


def touch_every_page(images: np.ndarray) -> int:
    """Read one byte of every 4 KiB page: a cached read maps the file, and its pages are read
    on first use, so the figure includes that."""
    return int(images.reshape(-1)[::4096].sum())


def measure_cached(size: int | None) -> dict:
    from viddiff.data.frame_cache import FrameCache
    from viddiff.data.video import read_frames

    with tempfile.TemporaryDirectory() as root:
        cache = FrameCache(Path(root))
        start = time.perf_counter()
        touch_every_page(read_frames(CLIP, SAMPLE_FPS, size=size, cache=cache).images)
        first_seconds = time.perf_counter() - start
        start = time.perf_counter()
        touch_every_page(read_frames(CLIP, SAMPLE_FPS, size=size, cache=cache).images)
        cached_seconds = time.perf_counter() - start
    return {"first_seconds": first_seconds, "cached_seconds": cached_seconds}


MEASUREMENTS = {
    "pyav_auto": lambda: measure_pyav_decode("AUTO"),
    "pyav_default": lambda: measure_pyav_decode("default"),
    "read_full": lambda: measure_read(None),
    "read_224": lambda: measure_read(224),
    "clip_then_fetch": measure_clip_then_fetch,
    "cached_224": lambda: measure_cached(224),
    "cached_full": lambda: measure_cached(None),
}


def in_child(name: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", name], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def ffmpeg_floor_seconds() -> float:
    exe = shutil.which("ffmpeg")
    if exe is None:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    start = time.perf_counter()
    subprocess.run([exe, "-v", "error", "-i", str(CLIP), "-f", "null", "-"], check=True)
    return time.perf_counter() - start


def report() -> None:
    ensure_clip()
    print(f"clip: {CLIP.name}, {SECONDS} s, {WIDTH}x{HEIGHT} at {FPS} fps, "
          f"{CLIP.stat().st_size / 2**20:.0f} MiB; sampling at {SAMPLE_FPS} fps\n", flush=True)
    floor = ffmpeg_floor_seconds()
    results = {name: in_child(name) for name in MEASUREMENTS}

    print(f"{'measurement':44} {'seconds':>8} {'x floor':>8} {'peak RSS':>10} {'kept':>10}")
    print(f"{'ffmpeg -i clip -f null - (decode floor)':44} {floor:8.2f} {1:8.2f}")
    for name, label in (("pyav_default", "PyAV decode only, default (slice threads)"),
                        ("pyav_auto", "PyAV decode only, thread_type AUTO")):
        r = results[name]
        print(f"{label:44} {r['seconds']:8.2f} {r['seconds'] / floor:8.2f}")
    for name, label in (("read_full", "read_frames full size"),
                        ("read_224", "read_frames size=224"),
                        ("clip_then_fetch", "shorter side 224, then 12 at full size")):
        r = results[name]
        print(f"{label:44} {r['seconds']:8.2f} {r['seconds'] / floor:8.2f} "
              f"{r['peak_rss_mib']:7.0f} MiB {r['kept_mib']:6.0f} MiB"
              f"  ({r['kept']} x {'x'.join(map(str, r['shape']))}, "
              f"peak RSS before the read {r['rss_before_mib']:.0f} MiB)")
    print(f"(the 12 full-size frames read again by seeking took {results['clip_then_fetch']['fetch_seconds']:.2f} s; "
          "peak RSS includes the RSS before the read: interpreter, numpy, PyAV)\n")
    for name, label in (("cached_224", "size=224"), ("cached_full", "full size")):
        first, cached = results[name]["first_seconds"], results[name]["cached_seconds"]
        print(f"FrameCache, {label:10}: first read {first:6.2f} s, cached read {cached:6.3f} s, "
              f"speed-up {first / cached:6.1f}x")
    print("\ntargets: read_frames <= 1.3x floor; peak RSS - RSS before ~ kept frames; "
          "cached read >= 20x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", choices=sorted(MEASUREMENTS), help=argparse.SUPPRESS)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate_clip()
    elif args.measure:
        print(json.dumps(MEASUREMENTS[args.measure]()))
    else:
        report()


if __name__ == "__main__":
    main()
