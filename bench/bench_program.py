"""LM calls, images, videos, tokens and wall time per sample of `viddiff run` on the synthetic
benchmark, for VidDiff (each localization mode) and the single-call baselines (frames as images,
frames as one video item each, and the Gemini video system), beside the published protocol's calls.

Run from the repository root: .venv/bin/python bench/bench_program.py [--pairs 12]

The LMs are the test suite's loopback servers (tests/lm: OpenAI-compatible, and a fake of the
Gemini REST API; answers in zero time), so the figures count the program's own work: decoding, CLIP (a tiny random-weight
model for the viterbi mode), JPEG encoding, DSPy formatting and HTTP. A real LM adds its
latency per call; the calls per sample are the same.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")

from tests.lm.gemini_server import gemini_server  # noqa: E402
from tests.lm.loopback_server import loopback_server  # noqa: E402
from tests.cli.test_frames_cli import frames_engine  # noqa: E402
from tests.lm.viddiff_roles import scripted_engine  # noqa: E402
from viddiff.cli import main  # noqa: E402
from viddiff.data.synth import generate_benchmark  # noqa: E402

SCORING_FIELDS = {"matches", "opposite_keys"}
"""Output fields of the open-set scorer's matcher calls."""
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def tiny_clip_checkpoint(folder: Path) -> Path:
    import open_clip
    import torch

    (folder / "viddiff-bench-tiny.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder)
    checkpoint = folder / "tiny.pt"
    torch.save(open_clip.create_model("viddiff-bench-tiny").state_dict(), checkpoint)
    return checkpoint


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=12)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="viddiff-bench-"))
    os.environ["DSPY_CACHEDIR"] = str(work / "dspy_cache")
    import dspy

    dspy.configure_cache(disk_cache_dir=str(work / "dspy_cache"))
    generate_benchmark(work / "synth", args.pairs, seed=0, progress=False)
    checkpoint = tiny_clip_checkpoint(work)
    print(f"{args.pairs} synthetic pairs, LM = loopback server (no latency), CLIP = tiny random weights on CPU")
    print("calls/sample: the system's own LM calls (not the open-set scorer's); published: the published")
    print("protocol's 3 + 1 per decided difference for the same samples; tokens: as the loopback server counts them")
    print(
        f"{'system':<13} {'mode':<7} {'localization':<12} {'calls/sample':>12} {'published':>9} {'images/sample':>13} "
        f"{'videos/sample':>13} {'tokens/sample':>13} {'seconds':>8} {'s/sample':>8}"
    )
    runs = [("viddiff", mode, localization) for mode in ("closed", "open") for localization in ("viterbi", "uniform", "random")]
    runs += [(system, mode, "-") for system in ("frames", "frames-video", "video") for mode in ("closed", "open")]
    os.environ.setdefault("GEMINI_API_KEY", "bench-key-not-secret")
    for system, mode, localization in runs:
        out = work / f"run-{system}-{mode}-{localization}"
        with contextlib.ExitStack() as servers:
            server = servers.enter_context(loopback_server(scripted_engine(choice="hash") if system == "viddiff" else frames_engine()))
            lm = ["--lm", "openai/bench-model", "--api-base", server.api_base]
            if system == "video":  # the baseline on the fake Gemini API, the open-set matcher on the OpenAI-compatible one
                gemini = servers.enter_context(gemini_server(frames_engine()))
                config = out.with_suffix(".yaml")
                config.write_text(
                    f"lms:\n  baseline: {{model: gemini/bench-model, api_base: '{gemini.url}'}}\n"
                    f"  matcher: {{model: openai/bench-model, api_base: '{server.api_base}'}}\n"
                )
                lm = ["--config", str(config)]
            system_args = {
                "viddiff": ["--system", "viddiff", "--localization", localization],
                "frames": ["--system", "frames"],
                "frames-video": ["--system", "frames", "--frames-as", "video"],
                "video": ["--system", "video"],
            }[system]
            started = time.perf_counter()
            main([
                "run", str(work / "synth"), "--out", str(out), "--mode", mode, *system_args, *lm, "--cache-dir", str(work / "cache"),
                "--clip-model", "viddiff-bench-tiny", "--clip-pretrained", str(checkpoint), "--clip-device", "cpu",
            ])
            seconds = time.perf_counter() - started
        records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
        published = f"{3 + sum(len(r['predictions']) for r in records) / args.pairs:.2f}" if system == "viddiff" else "-"
        tokens = sum(int(u.get("total_tokens") or 0) for r in records for u in r["usage"].values())
        calls, images, videos = (sum(r[field] for r in records) / args.pairs for field in ("lm_calls", "images", "videos"))
        print(
            f"{system:<13} {mode:<7} {localization:<12} {calls:>12.2f} {published:>9} {images:>13.2f} {videos:>13.2f} "
            f"{tokens / args.pairs:>13.0f} {seconds:>8.1f} {seconds / args.pairs:>8.2f}"
        )


if __name__ == "__main__":
    main_bench()
