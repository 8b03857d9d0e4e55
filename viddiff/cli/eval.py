"""`viddiff eval`: score predictions in the benchmark's own format from any system, or rescore a run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from viddiff.cli import COMMANDS
from viddiff.cli.options import build_config
from viddiff.config import MODES
from viddiff.data.benchmark import DEFAULT_SOURCE
from viddiff.data.records import SPLITS
from viddiff.errors import ViddiffError
from viddiff.evaluation.predictions import SampleAnswers, load_predictions
from viddiff.evaluation.scoring import Selection, format_summary, metrics, score_samples, write_scores
from viddiff.run_log import MANIFEST_FILE, METRICS_FILE, OUTCOMES_FILE, RunLog
from viddiff.runner import score_task
from viddiff.task import Task

NO_ROW_PREDICTION = "no prediction for this benchmark row"


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "eval",
        help=COMMANDS["eval"].help,
        description=(
            "Score predictions of any system against VidDiffBench labels. PREDICTIONS is a JSON list "
            "aligned with the dataset rows; each element maps a difference key to "
            '{"description": ..., "prediction": "a"|"b"} (closed set: "a" or "b" alone also works); '
            "null marks a row the system did not run, which is left out of the score (and counted) "
            "unless --missing-as-wrong. Closed: accuracy over a/b-labelled differences. Open: "
            "recall@N_diff, matching the first N_diff predictions of each sample to the ground truth "
            "with an LLM matcher (cached). A compiled program's held-out slice is never scored: pass "
            "--program, or keep PREDICTIONS in its run directory (the run's manifest names the slice). "
            "PREDICTIONS may also be an lmms-eval samples log (<date>_samples_<task>.jsonl, --log_samples) of a viddiff "
            "task run by any lmms-eval model: each document's reply is scored here; one that is not a row of "
            "predictions counts as missing, with its reason. "
            "With --run RUN_DIR, the run's own records are scored again with its configuration."
        ),
        epilog=(
            "examples:\n"
            "  viddiff eval predictions.json --dataset jmhb/VidDiffBench --mode closed\n"
            "  viddiff eval open_predictions.json --dataset runs/synth --mode open --matcher-lm openai/gpt-4o-2024-08-06\n"
            "  viddiff eval --run runs/easy-closed            # rescore a run (its held-out slice stays out)\n"
            "  viddiff eval logs/openai/20261204_101010_samples_viddiff_closed.jsonl --mode closed   # an lmms-eval run"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("predictions", metavar="PREDICTIONS", nargs="?", help="predictions file (JSON), or an lmms-eval samples log (.jsonl)")
    parser.add_argument("--run", dest="run_dir", metavar="RUN_DIR", help="rescore this run directory from its records instead")
    parser.add_argument("--dataset", default=DEFAULT_SOURCE, help=f"benchmark the predictions align with (default: {DEFAULT_SOURCE})")
    parser.add_argument("--mode", choices=MODES, help="closed or open (required with PREDICTIONS)")
    parser.add_argument("--split", choices=SPLITS, action="append", help="score this split only (repeatable)")
    parser.add_argument("--revision", help="Hub revision of the dataset")
    parser.add_argument("--program", metavar="PROGRAM.json", help="compiled program the predictions came from: its held-out slice is left out")
    parser.add_argument("--missing-as-wrong", action="store_true", help="score benchmark rows without any prediction as wrong (default: leave them out, and say how many)")
    parser.add_argument("--out", metavar="DIR", help="where to write metrics.json, outcomes.jsonl and the CSV tables (default: PREDICTIONS' folder/<name>-eval)")
    matcher = parser.add_argument_group("matcher (open set)", "default: openai/gpt-4o-2024-08-06, key in OPENAI_API_KEY")
    matcher.add_argument("--matcher-lm", metavar="MODEL")
    matcher.add_argument("--api-base", metavar="URL", help="OpenAI-compatible server for the matcher")
    matcher.add_argument("--api-key-env", metavar="VAR")
    matcher.add_argument("--config", metavar="YAML", help="config file (its lms.matcher is used)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if (args.predictions is None) == (args.run_dir is None):
        raise ViddiffError("give PREDICTIONS (with --mode) or --run RUN_DIR, not both")
    if args.run_dir:
        return _rescore_run(args)
    if args.mode is None:
        raise ViddiffError("--mode closed|open is required with PREDICTIONS")
    config = build_config(args, source=args.dataset, mode=args.mode, split=tuple(args.split or ()), revision=args.revision, program=args.program)
    held_out, because = _held_out_beside(Path(args.predictions))
    task = Task.from_config(config, held_out=held_out, held_out_because=because)
    lms = task.lms(task.api_keys(os.environ, task.scoring_roles()))
    given = _row_answers(args.predictions, task)
    answers = {}
    for sample in task.samples:
        if given[sample.row_index] is not None:
            answers[sample.sample_key] = given[sample.row_index]
        elif args.missing_as_wrong:
            answers[sample.sample_key] = SampleAnswers({}, error=NO_ROW_PREDICTION)
    not_predicted = sum(given[s.row_index] is None for s in task.samples)
    scorer = task.scorer(lms)
    outcomes = score_samples(scorer, task.samples, answers)
    selection = Selection(
        scored=len(answers),
        excluded=task.excluded,
        excluded_because=task.excluded_because,
        not_predicted=not_predicted,
        not_predicted_counted=args.missing_as_wrong,
        row_errors=len(task.bench.row_errors),
    )
    document = metrics(outcomes, mode=scorer.mode, protocol=scorer.protocol, selection=selection)
    predictions = Path(args.predictions)
    out = Path(args.out) if args.out else predictions.parent / f"{predictions.stem}-eval"
    write_scores(out, outcomes, document)
    if not_predicted and not args.missing_as_wrong:
        print(
            f"note: {not_predicted} of {len(task.samples)} benchmark rows have no prediction and are left out "
            "of the score; --missing-as-wrong counts them as wrong",
            file=sys.stderr,
        )
    print(format_summary(document))
    print(f"\nwrote {out / METRICS_FILE}, {out / OUTCOMES_FILE} and the CSV tables")
    return 0


def _row_answers(predictions: str, task: Task) -> list[SampleAnswers | None]:
    """What each benchmark row answered: from a predictions file in the benchmark's format, or
    from an lmms-eval samples log (.jsonl) of a viddiff task; None where a row has no prediction."""
    from viddiff.harness.files import is_sample_log, sample_log_rows

    if is_sample_log(predictions):
        keys: list[str | None] = [None] * task.bench.n_rows
        for sample in task.bench:
            keys[sample.row_index] = sample.sample_key
        return sample_log_rows(predictions, keys)
    return [None if row is None else SampleAnswers(row) for row in load_predictions(predictions, task.bench.n_rows)]


def _rescore_run(args: argparse.Namespace) -> int:
    """Score a run directory's records again with its own configuration (matcher flags may change)."""
    manifest = RunLog(args.run_dir).manifest()
    config = build_config(args, base=manifest.run_config)
    task = Task.from_config(config, held_out=frozenset(manifest.held_out), held_out_because="held-out slice named in the run's manifest")
    document = score_task(task, task.lms(task.api_keys(os.environ, task.scoring_roles())), args.run_dir)
    print(format_summary(document))
    print(f"\nwrote {Path(args.run_dir) / METRICS_FILE} and {Path(args.run_dir) / OUTCOMES_FILE}")
    return 0


def _held_out_beside(predictions: Path) -> tuple[frozenset[str], str | None]:
    """The held-out keys of the run whose directory holds the predictions file, if any."""
    if not (predictions.parent / MANIFEST_FILE).is_file():
        return frozenset(), None
    manifest = RunLog(predictions.parent).manifest()
    return frozenset(manifest.held_out), f"held-out slice named in {predictions.parent / MANIFEST_FILE}"
