"""`viddiff diff`: how two videos of one action differ (open set), or which way given differences go."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import dspy

from viddiff.cli.options import add_program_options, build_config
from viddiff.contact_sheet import contact_sheet
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Difference
from viddiff.data.video import read_frames
from viddiff.errors import ViddiffError
from viddiff.lms import redact
from viddiff.retrieval.modes import LOCALIZATION_MODES
from viddiff.run_log import new_run_path
from viddiff.runner import usage_tokens
from viddiff.systems import system_for
from viddiff.task import keys_for, lms_for, program_for

DEFAULT_FPS = 5.0


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "diff",
        help="compare two videos of the same action",
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
    parser.add_argument("--n-differences", type=int, default=5, help="open set: how many to propose (default: 5)")
    parser.add_argument("--fps-original", type=float, help="frame rate of a frame folder")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: runs/<timestamp>-diff)")
    add_program_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = build_config(args, mode="closed" if args.difference else "open", fps=args.fps or DEFAULT_FPS)
    if LOCALIZATION_MODES[config.localization].needs_key_points:
        raise ViddiffError(f"--localization {config.localization} needs annotated key points, which only benchmark samples have; use viterbi, uniform or random")
    api_keys = keys_for(config, system_for(config.system).roles(config, scoring=False), os.environ)
    cache = FrameCache(config.cache_path / "frames")
    videos = tuple(
        read_frames(path, config.fps, size=config.image_size, fps_original=args.fps_original, cache=cache)
        for path in (args.video_a, args.video_b)
    )
    task = {"n_differences": args.n_differences}
    if args.difference:
        # Given statements are judged on 3 frames per video unless --frames says otherwise.
        task = {"differences": {str(i): Difference(str(i), text, text, text, "gt_1") for i, text in enumerate(args.difference)}}
    program = program_for(config, lms_for(config, api_keys))
    with dspy.context(adapter=dspy.ChatAdapter(), track_usage=True, disable_history=True):
        result = program(videos=videos, action_description=args.action, seed=config.seed, **task)

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


def format_predictions(predictions) -> str:
    """A table: difference, which video it applies more to, frame times; rationale below each row."""
    lines = [f"{'#':<3} {'difference':<44} {'more in':<8} {'frames A (s)':<18} {'frames B (s)':<18}"]
    for p in predictions:
        answer = {"a": "A", "b": "B", "c": "neither"}.get(p.answer or "", "error")
        times = [", ".join(f"{t:.2f}" for t in ts) for ts in (p.times_a, p.times_b)]
        lines.append(f"{p.key:<3} {p.description[:44]:<44} {answer:<8} {times[0]:<18} {times[1]:<18}")
        lines.append(f"    {p.error or p.rationale}")
    return "\n".join(lines)
