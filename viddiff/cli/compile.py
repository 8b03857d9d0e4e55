"""`viddiff compile`: optimize VidDiff's prompts on a held-out slice of a benchmark."""

from __future__ import annotations

import argparse
import os
import sys

from viddiff.cli import COMMANDS
from viddiff.cli.options import add_mode_option, add_program_options, build_config
from viddiff.data.benchmark import DEFAULT_SOURCE
from viddiff.data.records import SPLITS
from viddiff.errors import ViddiffError
from pathlib import Path

from viddiff.lms import cost_text
from viddiff.optimize.compile import (
    COST_CONFIRM_CALLS,
    GEPA_AUTO,
    OBJECTIVES,
    OPTIMIZERS,
    STAGES,
    CompileInterrupted,
    CompileSettings,
    CostEstimate,
    compile_roles,
    compile_task,
)
from viddiff.task import Task


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "compile",
        help=COMMANDS["compile"].help,
        description=(
            "Choose a deterministic, per-action stratified held-out slice of the benchmark, optimize "
            "the chosen stages' prompts on it, print the validation score before and after, and save "
            "the program with the slice manifest, the LMs and the dspy version. Runs of the compiled "
            "program (`viddiff run --program`) leave the slice out of their scores."
        ),
        epilog=(
            "optimizers:\n"
            "  instructions  MIPROv2, instructions only (zero demos; no image pasted into text prompts)\n"
            "  fewshot       BootstrapFewShot, at most --max-demos demos per predictor\n"
            "  gepa          GEPA: --reflection-lm (it must take images) reads per-difference feedback beside\n"
            "                the frames and rewrites the instructions, within --max-metric-calls\n"
            "examples:\n"
            "  viddiff compile runs/synth --mode closed --optimizer instructions --out programs/closed.json\n"
            "  viddiff compile runs/synth --optimizer gepa --stages planner --objective localization --out programs/planner.json\n"
            "  viddiff compile jmhb/VidDiffBench --video-root DIR --split easy --mode closed \\\n"
            "      --optimizer fewshot --stages differencer --max-demos 1 --out programs/easy-fewshot.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", nargs="?", default=DEFAULT_SOURCE, help=f"benchmark (default: {DEFAULT_SOURCE})")
    parser.add_argument("--split", choices=SPLITS, action="append", help="draw the slice from this split (repeatable; default: all)")
    parser.add_argument("--action", action="append", help="draw the slice from this action (repeatable)")
    add_mode_option(parser)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, required=True)
    parser.add_argument(
        "--objective", choices=OBJECTIVES, default="answers",
        help="answers (default): accuracy or recall; localization: the planner alone (--stages planner), scored by how close "
        "the frames CLIP places fall to the annotated key points, with no VLM call",
    )
    parser.add_argument("--stages", choices=list(STAGES), action="append", help="stages to optimize (repeatable; default: differencer)")
    parser.add_argument("--out", metavar="PROGRAM.json", required=True, help="where to save the compiled program")
    parser.add_argument("--held-out-fraction", type=float, help="share of each action's samples in the slice, at least 3 (default: 0.2)")
    parser.add_argument("--held-out-size", type=int, help="samples per action in the slice (instead of a fraction)")
    parser.add_argument("--validation-fraction", type=float, default=1 / 3, help="share of the slice the optimizer selects candidates on (default: 1/3)")
    parser.add_argument("--test-fraction", type=float, default=1 / 3, help="share of the slice never seen while compiling: the honest before/after (default: 1/3)")
    parser.add_argument("--max-demos", type=int, default=1, help="fewshot: bootstrapped demos per predictor (default: 1)")
    parser.add_argument("--candidates", type=int, default=3, help="instructions: candidates per predictor (default: 3)")
    parser.add_argument("--trials", type=int, default=6, help="instructions: combinations tried (default: 6)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--max-metric-calls", type=int, default=60,
        help="gepa: program runs on samples it may spend (default: 60)",
    )
    budget.add_argument(
        "--gepa-auto", choices=GEPA_AUTO,
        help="gepa: a budget level instead; its metric calls follow from the predictors optimized and the validation part, as in dspy.GEPA",
    )
    parser.add_argument(
        "--gepa-log-dir", metavar="DIR",
        help="gepa: folder keeping GEPA's state; compiling again with it resumes an interrupted run (default: OUT without .json, plus .gepa)",
    )
    parser.add_argument(
        "--yes", action="store_true",
        help=f"start even when the estimate is above {COST_CONFIRM_CALLS} LM calls (the estimate is printed first either way)",
    )
    parser.add_argument("--video-root", help="folder the video paths are relative to")
    add_program_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.program:
        raise ViddiffError("compile starts from the default prompts; --program is for `viddiff run`")
    config = build_config(
        args,
        source=args.source,
        split=tuple(args.split or ()),
        actions=tuple(args.action or ()),
        video_root=args.video_root,
    )
    settings = CompileSettings(
        optimizer=args.optimizer,
        stages=tuple(dict.fromkeys(args.stages or ["differencer"])),
        max_demos=args.max_demos,
        candidates=args.candidates,
        trials=args.trials,
        max_metric_calls=args.max_metric_calls,
        objective=args.objective,
        gepa_auto=args.gepa_auto,
        log_dir=(args.gepa_log_dir or str(Path(args.out).with_suffix(".gepa"))) if args.optimizer == "gepa" else None,
        seed=config.seed,
        held_out_fraction=None if args.held_out_size else args.held_out_fraction or 0.2,
        held_out_size=args.held_out_size,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
    ).validate()
    task = Task.from_config(config)

    def confirm(estimate: CostEstimate) -> None:
        print(f"estimate: {estimate.text()}", file=sys.stderr)
        if estimate.lm_calls > COST_CONFIRM_CALLS and not args.yes:
            raise ViddiffError(
                f"this compile would make {estimate.text()}, above {COST_CONFIRM_CALLS}: pass --yes to go ahead, or "
                "spend less with --max-metric-calls, --trials or a smaller held-out slice"
            )

    try:
        result = compile_task(task, settings, task.api_keys(os.environ, compile_roles(task, settings)), args.out, confirm=confirm)
    except CompileInterrupted as e:
        if e.path is None:
            print(f"viddiff: interrupted: {e.learned}; nothing saved", file=sys.stderr)
        else:
            print(f"viddiff: interrupted: saved what was learned so far ({e.learned}) to {e.path}", file=sys.stderr)
        return 130
    held_out = result.held_out
    print(f"held-out slice: {len(held_out.train)} samples to learn from, {len(held_out.validation)} to select on, {len(held_out.test)} untouched")
    for score in result.scores:
        where = "validation part (candidates were selected on it)" if score.part == "validation" else "test part (never seen while compiling)"
        test = f"; sample-level sign-flip test p = {score.p_value:.3g}" if score.p_value is not None else ""
        if score.seconds_before is not None:
            print(
                f"localization error on the {where}: {score.seconds_before:.2f} s before, {_seconds(score.seconds_after)} after, "
                f"mean distance to the annotated key points ({score.samples} samples{test})"
            )
            continue
        print(f"{result.metric} on the {where}: {_percent(score.before)} before, {_percent(score.after)} after ({score.samples} samples{test})")
    if not any(score.part == "test" for score in result.scores):
        print("no untouched test part (too few samples per action): the validation figure above is optimistic")
    if result.gepa:
        gepa = result.gepa
        print(
            f"GEPA: {gepa['candidates']} candidates, the best (#{gepa['best']}) {_percent(gepa['best_validation_score'])} on the "
            f"validation part; Pareto front: {len(gepa['pareto_front'])} candidates (best on at least one validation sample); "
            f"{gepa['metric_calls']} metric calls; state in {gepa['log_dir']}"
        )
    spent = result.spent
    print(
        f"spent: {spent['lm_calls']:,} LM calls (estimated {result.estimate.lm_calls:,}), {spent['images']:,} images, "
        f"{spent['videos']:,} videos, "
        f"{spent['tokens']:,} tokens, {cost_text(spent['cost_usd'])}"
    )
    print(f"saved {result.path}; run it with `viddiff run ... --program {result.path}` (its slice is left out of the scores)")
    return 0


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
