"""`viddiff eval`: score predictions in the benchmark's own format, from any system."""

from __future__ import annotations

import argparse
from pathlib import Path

import dspy

from viddiff.cli.options import api_keys_for, build_config
from viddiff.config import MODES
from viddiff.data.benchmark import DEFAULT_SOURCE, load_benchmark
from viddiff.data.records import SPLITS
from viddiff.evaluation import format_summary, load_predictions, score_closed, score_open, write_evaluation
from viddiff.lms import build_lm
from viddiff.programs.matcher import RecallMatcher


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "eval",
        help="score predictions in the benchmark's format (closed accuracy or open recall@N_diff)",
        description=(
            "Score predictions of any system against VidDiffBench labels. PREDICTIONS is a JSON list "
            "aligned with the dataset rows; each element maps a difference key to "
            '{"description": ..., "prediction": "a"|"b"} (closed set: "a" or "b" alone also works). '
            "Closed: accuracy over a/b-labelled differences. Open: recall@N_diff, matching the first "
            "N_diff predictions of each sample to the ground truth with an LLM matcher (cached)."
        ),
        epilog=(
            "examples:\n"
            "  viddiff eval predictions.json --dataset jmhb/VidDiffBench --mode closed\n"
            "  viddiff eval open_predictions.json --dataset runs/synth --mode open --matcher-lm openai/gpt-4o-2024-08-06"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("predictions", metavar="PREDICTIONS", help="predictions file (JSON)")
    parser.add_argument("--dataset", default=DEFAULT_SOURCE, help=f"benchmark the predictions align with (default: {DEFAULT_SOURCE})")
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--split", choices=SPLITS, action="append", help="score this split only (repeatable)")
    parser.add_argument("--revision", help="Hub revision of the dataset")
    parser.add_argument("--out", metavar="DIR", help="where to write metrics.json and the CSV tables (default: PREDICTIONS' folder/<name>-eval)")
    matcher = parser.add_argument_group("matcher (open set)", "default: openai/gpt-4o-2024-08-06, key in OPENAI_API_KEY")
    matcher.add_argument("--matcher-lm", metavar="MODEL")
    matcher.add_argument("--api-base", metavar="URL", help="OpenAI-compatible server for the matcher")
    matcher.add_argument("--api-key-env", metavar="VAR")
    matcher.add_argument("--config", metavar="YAML", help="config file (its lms.matcher is used)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = build_config(args)
    api_keys = api_keys_for(config, ("matcher",)) if args.mode == "open" else {}
    bench = load_benchmark(args.dataset, split=args.split, revision=args.revision)
    rows = load_predictions(args.predictions, bench.n_rows)
    if args.mode == "closed":
        evaluation = score_closed(bench.samples, rows)
    else:
        lm = build_lm(config.lms["matcher"], api_keys["matcher"])
        with dspy.context(adapter=dspy.ChatAdapter(), disable_history=True):
            evaluation = score_open(bench.samples, rows, RecallMatcher(), lm=lm)
    predictions = Path(args.predictions)
    out = Path(args.out) if args.out else predictions.parent / f"{predictions.stem}-eval"
    document = write_evaluation(out, evaluation)
    print(format_summary(document))
    print(f"\nwrote {out / 'metrics.json'} and the CSV tables")
    return 0
