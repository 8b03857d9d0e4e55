"""`viddiff compile`: optimize VidDiff's prompts on a held-out slice of a benchmark."""

from __future__ import annotations

import argparse

import dspy

from viddiff.cli.options import add_mode_option, add_program_options, api_keys_for, build_config
from viddiff.data.benchmark import DEFAULT_SOURCE
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import SPLITS
from viddiff.errors import ViddiffError
from viddiff.lms import build_lm
from viddiff.optimize import (
    OPTIMIZERS,
    STAGES,
    CompileSettings,
    OpenRecallMetric,
    closed_metric,
    compile_program,
    sample_examples,
    save_compiled,
    select_held_out,
    validation_score,
)
from viddiff.runner import build_program, roles_needed, selected_samples


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "compile",
        help="optimize the prompts on a held-out slice of a benchmark (DSPy optimizers)",
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
            "examples:\n"
            "  viddiff compile runs/synth --mode closed --optimizer instructions --out programs/closed.json\n"
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
    parser.add_argument("--stages", choices=list(STAGES), action="append", help="stages to optimize (repeatable; default: differencer)")
    parser.add_argument("--out", metavar="PROGRAM.json", required=True, help="where to save the compiled program")
    parser.add_argument("--held-out-fraction", type=float, help="share of each action's samples in the slice (default: 0.2)")
    parser.add_argument("--held-out-size", type=int, help="samples per action in the slice (instead of a fraction)")
    parser.add_argument("--validation-fraction", type=float, default=1 / 3, help="share of the slice kept to validate (default: 1/3)")
    parser.add_argument("--max-demos", type=int, default=1, help="fewshot: bootstrapped demos per predictor (default: 1)")
    parser.add_argument("--candidates", type=int, default=3, help="instructions: candidates per predictor (default: 3)")
    parser.add_argument("--trials", type=int, default=6, help="instructions: combinations tried (default: 6)")
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
        seed=config.seed,
    ).validate()
    roles = roles_needed(config)
    api_keys = api_keys_for(config, tuple(dict.fromkeys((*roles, "proposer"))))
    fraction = args.held_out_fraction if args.held_out_fraction is not None or args.held_out_size else 0.2
    samples = selected_samples(config).samples
    held_out = select_held_out(
        samples, source=config.source, seed=config.seed, fraction=fraction if args.held_out_size is None else None,
        size=args.held_out_size, validation_fraction=args.validation_fraction,
    )
    print(f"held-out slice: {len(held_out.train)} samples to compile on, {len(held_out.validation)} to validate")
    frame_cache = FrameCache(config.cache_path / "frames")
    by_key = {s.sample_key: s for s in samples}
    trainset = sample_examples([by_key[k] for k in held_out.train], config, frame_cache)
    valset = sample_examples([by_key[k] for k in held_out.validation], config, frame_cache)
    if not trainset or not valset:
        raise ViddiffError("the held-out slice has no sample with an a/b label to compile or validate on; take a larger slice")

    program = build_program(config, {role: api_keys[role] for role in roles if role != "matcher"})
    metric = closed_metric if config.mode == "closed" else OpenRecallMetric(build_lm(config.lms["matcher"], api_keys["matcher"]))
    with dspy.context(adapter=dspy.ChatAdapter(), disable_history=True):
        before = validation_score(program, valset, metric)
        compiled = compile_program(
            program, settings, trainset=trainset, valset=valset, metric=metric,
            prompt_lm=build_lm(config.lms["proposer"], api_keys["proposer"]),
            task_lm=program.lms["differencer"],
        )
        after = validation_score(compiled, valset, metric)
    scores = {"metric": "accuracy" if config.mode == "closed" else "recall", "before": before, "after": after, "validation_samples": len(valset)}
    path = save_compiled(compiled, args.out, config=config, settings=settings, held_out=held_out, scores=scores)
    print(f"validation {scores['metric']}: {_percent(before)} before, {_percent(after)} after ({len(valset)} samples)")
    print(f"saved {path}; run it with `viddiff run ... --program {path}` (its slice is left out of the scores)")
    return 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
