"""`viddiff data`: summarise a benchmark source and check that its videos decode."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tqdm import tqdm

from viddiff.cli import COMMANDS
from viddiff.config import RunConfig
from viddiff.data.benchmark import DEFAULT_SOURCE, load_benchmark
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import SPLITS
from viddiff.data.sources import DEFAULT_VIDEO_REPO, read_sample_frames
from viddiff.data.summary import format_table, summarize
from viddiff.errors import MissingVideoError, VideoError


DEFAULT_CACHE_DIR = next(f.default for f in dataclasses.fields(RunConfig) if f.name == "cache_dir")
"""RunConfig's default `cache_dir`, so that `viddiff data --check` fills the cache `viddiff run` reads."""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "data",
        help=COMMANDS["data"].help,
        description=(
            "Print pairs, labelled differences, label balance and N_diff per split, domain and "
            "action. With --check, decode every video the method needs and list each missing or "
            "unreadable one with its source dataset and how to obtain it, then any warnings "
            "(e.g. a video that decodes well short of its declared duration). Exit status 1 if any "
            "video is missing or unreadable, or if any malformed row was skipped (each is printed, "
            "then how many)."
        ),
        epilog=(
            "examples:\n"
            "  viddiff data runs/synth --check\n"
            "  viddiff data jmhb/VidDiffBench --video-root ~/data/viddiff --split easy --check"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source",
        metavar="SOURCE",
        nargs="?",
        default=DEFAULT_SOURCE,
        help=f"Hugging Face dataset id, or a .jsonl/.json/.parquet file or dataset folder (default: {DEFAULT_SOURCE})",
    )
    parser.add_argument("--video-root", help="folder the video paths are relative to (default: the source's folder)")
    parser.add_argument("--split", choices=SPLITS, action="append", help="keep this split (repeatable)")
    parser.add_argument("--action", action="append", help="keep this action code, e.g. fitness_0 (repeatable)")
    parser.add_argument("--revision", help="Hub revision to pin (branch, tag or commit)")
    parser.add_argument("--check", action="store_true", help="decode every video and report missing or unreadable ones")
    parser.add_argument(
        "--fps-table",
        choices=("method", "baseline"),
        default="method",
        help="per-domain sampling rates used by --check: the VidDiff method's or the LMM baselines' (default: method)",
    )
    parser.add_argument("--fps", type=float, help="sampling rate for --check, overriding the per-domain table")
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=DEFAULT_CACHE_DIR,
        help=f"cache folder, the same as `viddiff run --cache-dir`: --check reads and writes frames in DIR/frames (default: {DEFAULT_CACHE_DIR})",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the frame cache")
    parser.add_argument("--video-repo", default=DEFAULT_VIDEO_REPO, help="Hub dataset hosting the fitness/surgery zips, named in hints")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    bench = load_benchmark(args.source, video_root=args.video_root, split=args.split, actions=args.action, revision=args.revision)
    print(f"{bench.source}: {len(bench)} pairs")
    for title, key in (("split", lambda s: s.split), ("domain", lambda s: s.domain), ("action", lambda s: s.action)):
        print()
        print(format_table(title, summarize(bench, key)))
    for error in bench.row_errors:
        print(f"malformed row: {error}", file=sys.stderr)
    problems = []
    if args.check:
        problems, warnings = _check_videos(bench, args)
        print()
        print(f"checked {2 * len(bench)} videos: {len(problems)} missing or unreadable")
        for problem in problems:
            print(problem)
        for warning in warnings:
            print(f"warning: {warning}")
    skipped = len(bench.row_errors)
    if skipped:
        rows = "1 malformed row was" if skipped == 1 else f"{skipped} malformed rows were"
        print(f"{rows} skipped (listed above)", file=sys.stderr)
    return 1 if problems or skipped else 0


def _check_videos(bench, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Lines for the videos that are missing or unreadable, and the warnings of those that
    decode (e.g. decoding stopped well short of the declared duration: a truncated file)."""
    cache = None if args.no_cache else FrameCache(Path(args.cache_dir).expanduser() / "frames")
    problems, warnings = [], []
    jobs = [(sample, which) for sample in bench for which in (0, 1)]
    with tqdm(jobs, desc="decoding", unit="video") as progress:
        for sample, which in progress:
            try:
                frames = read_sample_frames(
                    sample, which, fps=args.fps, fps_table=args.fps_table, cache=cache, video_repo=args.video_repo
                )
                warnings.extend(frames.warnings)
            except MissingVideoError as e:
                problems.append(f"missing: {e}")
            except VideoError as e:
                problems.append(f"unreadable: {e}")
            progress.set_postfix(problems=len(problems))
    return problems, warnings
