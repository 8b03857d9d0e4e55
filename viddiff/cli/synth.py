"""`viddiff synth`: write a synthetic benchmark in the VidDiffBench schema."""

from __future__ import annotations

import argparse

from viddiff.cli import COMMANDS
from viddiff.data.synth import generate_benchmark


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "synth",
        help=COMMANDS["synth"].help,
        description=(
            "Render pairs of short videos of a stick figure performing parameterised actions and "
            "write OUT_DIR/dataset.jsonl in the VidDiffBench schema, with labels that follow from "
            "the parameters. Deterministic for a seed."
        ),
        epilog="example:\n  viddiff synth runs/synth --pairs 12 --seed 0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="new folder to write (must not hold a benchmark)")
    parser.add_argument("--pairs", type=int, default=12, help="number of video pairs (default: 12)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = generate_benchmark(args.out_dir, args.pairs, args.seed, progress=True)
    print(f"wrote {args.pairs} pairs to {path}")
    return 0
