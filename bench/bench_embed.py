"""CLIP frame-embedding throughput: the model alone, and end to end from video files.

Run (CPU, the tiny test model and ViT-B-32, random weights, no download):
    .venv/bin/python bench/bench_embed.py
On a GPU machine, ViT-bigG-14 with random weights, bf16 against fp32:
    python bench/bench_embed.py --model ViT-bigG-14 --device cuda --precision bf16 fp32 \\
        --batch-size 128 --clips 16 --decoders 8

Prints frames per second for
- encode: `model.encode_image` on ready, preprocessed batches (the model's own ceiling);
- embed: `ClipEmbedder.embed_frames` from uint8 frames (preprocessing on the device + encode);
- end to end: `read_frames` of several clips (size 224) in `--decoders` background threads
  while earlier clips are embedded; its ratio to `encode` is the pipeline's efficiency
  (target on the GPU: at least 0.9).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from viddiff.data.video import read_frames, write_video
from viddiff.clip.embedder import ClipEmbedder, preprocess_frames, resolve_device, resolve_precision
from viddiff.config import ClipConfig

REPO = Path(__file__).resolve().parents[1]
CLIP_PATH = REPO / ".bench" / "moving_720p30_20s.mp4"
TINY = "viddiff-bench-tiny"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def make_clip(path: Path) -> Path:
    """A 20 s 1280x720 30 fps clip of moving gradients (made once)."""
    if path.exists():
        return path
    path.parent.mkdir(exist_ok=True)
    y, x = np.mgrid[0:720, 0:1280]

    def frames():
        for i in range(600):
            yield np.stack([(x + 4 * i) % 256, (y + 2 * i) % 256, (x + y + i) % 256], axis=-1).astype(np.uint8)

    return write_video(path, frames(), 30, crf=23)


def register_tiny() -> None:
    import open_clip

    folder = Path(tempfile.mkdtemp())
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder)


def random_embedder(config: ClipConfig) -> ClipEmbedder:
    """An embedder of `config.model` with random weights, built in memory (no download)."""
    import open_clip

    model = open_clip.create_model(config.model, pretrained=None, precision=resolve_precision(config), device=resolve_device(config))
    return ClipEmbedder(config, built=(model.eval(), open_clip.get_tokenizer(config.model)))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def encode_rate(embedder: ClipEmbedder, n_frames: int) -> float:
    """Frames/s of encode_image alone on ready batches."""
    model, _ = embedder.load()
    device = resolve_device(embedder.config)
    dtype = next(model.parameters()).dtype
    frames = torch.randint(0, 256, (embedder.config.batch_size, 224, 224, 3), dtype=torch.uint8, device=device)
    batch = preprocess_frames(frames, model.visual.preprocess_cfg, "longest").to(dtype)
    with torch.inference_mode():
        model.encode_image(batch)  # warm-up
        synchronize(device)
        start = time.perf_counter()
        done = 0
        while done < n_frames:
            model.encode_image(batch)
            done += len(batch)
        synchronize(device)
    return done / (time.perf_counter() - start)


def embed_rate(embedder: ClipEmbedder, images: np.ndarray) -> float:
    embedder.embed_frames(images[: embedder.config.batch_size])  # warm-up
    start = time.perf_counter()
    embedder.embed_frames(images)
    synchronize(resolve_device(embedder.config))
    return len(images) / (time.perf_counter() - start)


def end_to_end_rate(embedder: ClipEmbedder, clip: Path, fps: float, n_clips: int, decoders: int) -> float:
    """Frames/s over n_clips reads of the clip (each trimmed differently, so nothing is reused),
    decoded by `decoders` threads (PyAV releases the GIL) while earlier clips are embedded."""
    start = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(max_workers=decoders) as pool:
        reads = [pool.submit(read_frames, clip, fps, (i, None), 224) for i in range(n_clips)]
        for read in reads:
            frames = read.result()
            embedder.embed_frames(frames.images)
            done += len(frames)
    synchronize(resolve_device(embedder.config))
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=[TINY, "ViT-B-32"], help="open_clip model names (random weights)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", nargs="+", default=[None], help="open_clip precisions to compare (default: the embedder's)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--fps", type=float, default=10.0, help="sampling rate of the end-to-end reads (200 frames per clip at 10)")
    parser.add_argument("--clips", type=int, default=4, help="clips read in the end-to-end measurement")
    parser.add_argument("--decoders", type=int, default=1, help="decoding threads in the end-to-end measurement")
    args = parser.parse_args()

    register_tiny()
    clip = make_clip(CLIP_PATH)
    images = read_frames(clip, args.fps, size=224).images
    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"clip {clip.name}, {len(images)} frames per read at {args.fps:g} fps")
    print(f"{'model':<20} {'precision':<9} {'encode/s':>9} {'embed/s':>9} {'end-to-end/s':>13} {'e2e/encode':>10}")
    for model in args.model:
        for precision in args.precision:
            config = ClipConfig(model=model, pretrained=None, device=args.device, batch_size=args.batch_size, precision=precision)
            embedder = random_embedder(config)  # built before timing
            n = max(args.batch_size * 4, 256)
            encode = encode_rate(embedder, n)
            embed = embed_rate(embedder, images)
            e2e = end_to_end_rate(embedder, clip, args.fps, args.clips, args.decoders)
            print(f"{model:<20} {resolve_precision(config):<9} {encode:>9.1f} {embed:>9.1f} {e2e:>13.1f} {e2e / encode:>10.2f}")


if __name__ == "__main__":
    main()
