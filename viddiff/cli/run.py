"""`viddiff run`: the program over a benchmark split, resumable, one record per sample."""

from __future__ import annotations

import argparse
import os
import sys

from viddiff.cli import COMMANDS
from viddiff.cli.options import add_mode_option, add_program_options, build_config, config_type, number_type
from viddiff.config import OPEN_PROTOCOLS, RunConfig
from viddiff.data.benchmark import DEFAULT_SOURCE
from viddiff.data.records import SPLITS
from viddiff.errors import ViddiffError
from viddiff.evaluation.scoring import format_summary
from viddiff.lms import cost_text
from viddiff.run_log import METRICS_FILE, RunLog, new_run_path
from viddiff.runner import STOP_AFTER, run_task, score_task
from viddiff.task import Task


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "run",
        help=COMMANDS["run"].help,
        description=(
            "Run the VidDiff program on the samples of a benchmark. Each sample's predictions are "
            "appended to RUN_DIR/records.jsonl as soon as it finishes; --resume continues an "
            "interrupted run without redoing finished samples. Predictions are also written in the "
            "benchmark's own format (RUN_DIR/predictions.json)."
        ),
        epilog=(
            "examples:\n"
            "  viddiff run runs/synth --split easy --mode closed --out runs/easy-closed\n"
            "  viddiff run jmhb/VidDiffBench --video-root ~/data/viddiff --split easy --mode open \\\n"
            "      --lm openai/gpt-4o-2024-08-06 --out runs/easy-open\n"
            "  viddiff run --out runs/easy-closed --resume\n"
            "exit status: 0 every sample decided; 1 some sample or difference failed (see records.jsonl;\n"
            "--resume retries them), or malformed benchmark rows were skipped (unless --skip-bad-rows);\n"
            "2 bad input or configuration, or the run stopped because its first samples all failed"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", nargs="?", help=f"benchmark (default: {DEFAULT_SOURCE}; with --resume, the run's)")
    parser.add_argument("--split", choices=SPLITS, action="append", help="split to run (repeatable; default: all)")
    parser.add_argument("--action", action="append", help="action code to run (repeatable)")
    add_mode_option(parser)
    parser.add_argument("--out", metavar="RUN_DIR", help="run directory (default: runs/<timestamp>-<mode>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out, skipping finished samples")
    parser.add_argument("--limit", type=config_type(RunConfig, "limit"), help="first N samples only (results are NOT for reporting)")
    parser.add_argument("--video-root", help="folder the video paths are relative to (default: the source's folder)")
    parser.add_argument("--revision", help="Hub revision to pin")
    parser.add_argument("--sample-threads", type=config_type(RunConfig, "sample_threads"), metavar="N", help="samples processed at once (default: 2)")
    parser.add_argument(
        "--stop-after",
        type=number_type(int, low=0),
        default=STOP_AFTER,
        metavar="N",
        help=f"stop when the first N samples all fail the same way with no answer (default: {STOP_AFTER}; 0: never)",
    )
    parser.add_argument("--skip-bad-rows", action="store_true", help="exit 0 even when malformed benchmark rows were skipped")
    parser.add_argument(
        "--open-protocol",
        choices=OPEN_PROTOCOLS,
        help="open set: verify-then-match (default) decides every proposal, then matches; published matches "
        "proposals to the ground truth first and decides only those (fewer VLM calls, no opposite check)",
    )
    add_program_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.resume and not args.out:
        raise ViddiffError("--resume needs --out RUN_DIR, the run to continue")
    given = {
        "source": args.source,
        "split": tuple(args.split) if args.split else None,
        "actions": tuple(args.action) if args.action else None,
        "limit": args.limit,
        "video_root": args.video_root,
        "revision": args.revision,
        "sample_threads": args.sample_threads,
        "open_protocol": args.open_protocol,
    }
    base = RunLog(args.out).manifest().run_config if args.resume else None
    config = build_config(args, base=base, **{k: v for k, v in given.items() if v is not None})
    task = Task.from_config(config)
    api_keys = task.api_keys(os.environ)
    if config.limit is not None:
        print(f"note: --limit {config.limit} runs a subset; its results are not for reporting", file=sys.stderr)
    out = args.out or new_run_path("runs", config.mode)
    try:
        summary = run_task(task, api_keys, out, resume=args.resume, stop_after=args.stop_after)
    except KeyboardInterrupt:
        print(f"viddiff: interrupted; finished samples are saved in {out}; continue with --out {out} --resume", file=sys.stderr)
        return 130
    print(
        f"{summary.samples} samples in {summary.path} ({summary.ran} run now, {summary.errors} with errors, "
        f"{summary.tokens} tokens, {cost_text(summary.cost_usd)}); predictions: {RunLog(summary.path).predictions_path}"
    )
    if summary.ran:
        print(f"{config.system} system, {summary.per_sample.text()}")
    if summary.excluded:
        print(f"{summary.excluded} samples left out: the compiled program {config.program} was compiled on them")
    print(format_summary(score_task(task, task.lms(api_keys), out)))
    print(f"metrics: {summary.path / METRICS_FILE}; report: viddiff report {summary.path}")
    if summary.warned:
        print(f"{summary.warned} samples with warnings (such as a video decoded short of its length, or frames left out by the image cap): see records.jsonl or viddiff report")
    if summary.row_errors:
        skipped = f"{summary.row_errors} malformed benchmark rows were skipped (listed as failed samples in records.jsonl)"
        if not args.skip_bad_rows:
            print(f"viddiff: {skipped}; pass --skip-bad-rows to accept that", file=sys.stderr)
            return 1
        print(f"note: {skipped}", file=sys.stderr)
    return 1 if summary.errors else 0
