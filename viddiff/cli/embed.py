"""`viddiff embed`: embed every video of a benchmark ahead of a run, in this process or as a Ray Data job."""

from __future__ import annotations

import argparse
import time

from viddiff.cli import COMMANDS
from viddiff.cli.options import add_program_options, build_config, number_type
from viddiff.data.benchmark import DEFAULT_SOURCE
from viddiff.data.records import SPLITS


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "embed",
        help=COMMANDS["embed"].help,
        description=(
            "Read and CLIP-embed the videos of every selected sample exactly as `viddiff run` does, into the same "
            "embedding cache (under --cache-dir), so the run that follows embeds nothing. With --ray, as a Ray Data "
            "job (pip install 'viddiff[ray]'): one CLIP model per actor, on a GPU when the cluster has one, "
            "PyAV decoding inside each actor. A sample whose videos fail is listed and the job goes on."
        ),
        epilog=(
            "examples:\n"
            "  viddiff embed runs/synth                                  # in this process\n"
            "  viddiff embed jmhb/VidDiffBench --video-root DIR --ray    # a local Ray instance\n"
            "  viddiff embed jmhb/VidDiffBench --video-root DIR --ray ray://head:10001 --actors 8 \\\n"
            "      --clip-model ViT-bigG-14 --clip-pretrained laion2b_s39b_b160k"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", nargs="?", default=DEFAULT_SOURCE, help=f"benchmark (default: {DEFAULT_SOURCE})")
    parser.add_argument("--split", choices=SPLITS, action="append", help="embed this split only (repeatable)")
    parser.add_argument("--action", action="append", help="embed this action only (repeatable)")
    parser.add_argument("--limit", type=number_type(int, low=1), help="embed the first N samples")
    parser.add_argument("--video-root", help="folder the video paths are relative to")
    parser.add_argument(
        "--ray", nargs="?", const="", metavar="ADDRESS",
        help="run as a Ray Data job on the cluster at ADDRESS (e.g. ray://head:10001), or a local instance without one",
    )
    parser.add_argument("--actors", type=number_type(int, low=1), default=2, help="Ray: CLIP actors (default: 2)")
    add_program_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from viddiff.clip.job import check_embeds, embed_in_process, embed_with_ray

    config = build_config(
        args, source=args.source, split=tuple(args.split or ()), actions=tuple(args.action or ()), limit=args.limit,
        video_root=args.video_root,
    )
    check_embeds(config)
    started = time.perf_counter()
    if args.ray is None:
        results = embed_in_process(config)
    else:
        results = embed_with_ray(config, address=args.ray or None, actors=args.actors)
    seconds = time.perf_counter() - started
    failed = [r for r in results if r.error is not None]
    frames = sum(r.frames for r in results)
    print(
        f"embedded {len(results) - len(failed)} of {len(results)} samples, {frames} frames in {seconds:.1f} s "
        f"({frames / seconds:.1f} frames/s{', Ray' if args.ray is not None else ''}); cache: {config.cache_path / 'clip'}"
    )
    for result in failed:
        print(f"failed: {result.sample_key}: {result.error}")
    return 1 if failed else 0
