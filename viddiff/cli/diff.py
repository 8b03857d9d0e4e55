"""`viddiff diff`: how two videos of one action differ (open set), or which way given differences go."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from pathlib import Path

from viddiff.cli import COMMANDS
from viddiff.cli.options import add_program_options, build_config, number_type
from viddiff.config import SINGLE_CALL_SYSTEMS
from viddiff.contact_sheet import contact_sheet
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Difference
from viddiff.data.video import FOLDER_NEEDS_RATE, read_frames
from viddiff.errors import VideoError, ViddiffError
from viddiff.lms import redact, usage_tokens
from viddiff.retrieval.modes import LOCALIZATION_MODES
from viddiff.run_log import new_run_path
from viddiff.systems import system_for
from viddiff.task import keys_for, lms_for, program_for

DEFAULT_FPS = 5.0
DESCRIPTION_WIDTH = 44


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "diff",
        help=COMMANDS["diff"].help,
        description=(
            "Compare two videos of people performing the same action. With --difference (repeatable), "
            "decide for each statement whether it applies more to video A or B (closed set); without, "
            "propose up to --n-differences differences and decide each (open set). Prints a table and "
            "writes OUT/result.json and OUT/frames.png (the frames each difference was judged on)."
        ),
        epilog=(
            "examples:\n"
            "  viddiff diff novice.mp4 expert.mp4 --action 'a barbell back squat'\n"
            "  viddiff diff a.mp4 b.mp4 --action 'a squat' --difference 'the squat is deeper' \\\n"
            "      --difference 'the knees cave inward' --lm gemini/gemini-2.5-pro"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video_a", metavar="VIDEO_A", help="video file or folder of frame images")
    parser.add_argument("video_b", metavar="VIDEO_B", help="video file or folder of frame images")
    parser.add_argument("--action", required=True, help="what both videos show, e.g. 'a squat with a barbell'")
    parser.add_argument("--difference", action="append", help="a statement to decide (repeatable); omit for open set")
    parser.add_argument("--n-differences", type=number_type(int, low=1), default=5, help="open set: how many to propose (default: 5)")
    parser.add_argument("--fps-original", type=number_type(float, above=0), help="frame rate of a frame folder")
    parser.add_argument("--crop-a", type=crop_box, metavar="X,Y,W,H", help="use only this box of video A (e.g. one half of a side-by-side video)")
    parser.add_argument("--crop-b", type=crop_box, metavar="X,Y,W,H", help="use only this box of video B")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: runs/<timestamp>-diff)")
    add_program_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import dspy

    from viddiff.progress import StageProgress

    config = build_config(args, mode="closed" if args.difference else "open", fps=args.fps or DEFAULT_FPS)
    if LOCALIZATION_MODES[config.localization].needs_key_points:
        raise ViddiffError(f"--localization {config.localization} needs annotated key points, which only benchmark samples have; use viterbi, uniform or random")
    api_keys = keys_for(config, system_for(config.system).roles(config, scoring=False), os.environ)
    cache = FrameCache(config.cache_path / "frames")
    videos = []
    for name, path, crop in (("A", args.video_a, args.crop_a), ("B", args.video_b, args.crop_b)):
        started = time.perf_counter()
        try:
            frames = read_frames(path, config.fps, size=config.image_size, fps_original=args.fps_original, crop=crop, cache=cache)
        except VideoError as e:
            if e.reason == FOLDER_NEEDS_RATE:
                raise ViddiffError(f"{e.path}: a frame folder needs its original frame rate: pass --fps-original RATE") from None
            raise
        print(f"video {name}: {len(frames)} frames at {frames.fps:g} fps ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
        videos.append(frames)
    task = {"n_differences": args.n_differences}
    if args.difference:
        # Given statements are judged on 3 frames per video unless --frames says otherwise.
        task = {"differences": {str(i): Difference(str(i), text, text, text, "gt_1") for i, text in enumerate(args.difference)}}
    program = program_for(config, lms_for(config, api_keys))
    with StageProgress(expected_calls(config, len(args.difference or ()) or args.n_differences)) as progress:
        with dspy.context(adapter=dspy.ChatAdapter(), track_usage=True, disable_history=True, callbacks=[progress]):
            result = program(videos=tuple(videos), action_description=args.action, seed=config.seed, **task)

    out = Path(args.out) if args.out else new_run_path("runs", "diff")
    out.mkdir(parents=True, exist_ok=True)
    usage = result.get_lm_usage() or {}
    document = {
        "action": args.action,
        "videos": [str(args.video_a), str(args.video_b)],
        "mode": config.mode,
        "config": config.to_dict(),
        "stages": [{"name": s.name, "retrieval_strings": list(s.retrieval_strings)} for s in result.stages],
        "predictions": [p.to_dict() for p in result.predictions],
        "usage": usage,
    }
    (out / "result.json").write_text(json.dumps(redact(document, list(api_keys.values())), indent=2) + "\n")
    contact_sheet(videos, result.predictions).save(out / "frames.png")
    print(format_predictions(result.predictions))
    print(f"\n{usage_tokens(usage)} tokens; wrote {out / 'result.json'} and {out / 'frames.png'}")
    return 1 if any(p.error for p in result.predictions) else 0


def expected_calls(config, n_differences: int) -> int:
    """LM calls one program call makes without retries: proposer (open set), planner and linker
    (modes with stages), one differencer call per difference; a single-call baseline makes one."""
    if config.system in SINGLE_CALL_SYSTEMS:
        return 1
    stages = 2 if LOCALIZATION_MODES[config.localization].needs_stages else 0
    return (config.mode == "open") + stages + n_differences


def crop_box(text: str) -> tuple[int, int, int, int]:
    """'X,Y,W,H' in pixels of the full-size frame."""
    try:
        x, y, width, height = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H (four whole numbers of pixels), got {text!r}") from None
    if x < 0 or y < 0 or width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"expected X, Y >= 0 and W, H >= 1, got {text!r}")
    return x, y, width, height


def format_predictions(predictions) -> str:
    """A table: difference, which video it applies more to, frame times; the rationale below each
    row. Columns are as wide as their longest cell (descriptions wrap at DESCRIPTION_WIDTH)."""
    rows = []
    for p in predictions:
        answer = {"a": "A", "b": "B", "c": "neither"}.get(p.answer or "", "unserved" if p.unserved else "error")
        times = [", ".join(f"{t:.2f}" for t in ts) for ts in (p.times_a, p.times_b)]
        rows.append((p.key, textwrap.wrap(p.description, DESCRIPTION_WIDTH) or [""], answer, *times, p.error or p.rationale))
    header = ("#", ["difference"], "more in", "frames A (s)", "frames B (s)")
    widths = [max(len(r[0]) for r in (header, *rows)), DESCRIPTION_WIDTH]
    widths += [max(len(r[i]) for r in (header, *rows)) for i in (2, 3, 4)]
    lines = []
    for key, description, answer, times_a, times_b, *note in (header + ("",), *rows):
        cells = (key, description[0], answer, times_a, times_b)
        lines.append("  ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths)).rstrip())
        lines += [" " * (widths[0] + 2) + line for line in description[1:]]
        if note and note[0]:
            lines.append(" " * (widths[0] + 2) + note[0])
    return "\n".join(lines)
