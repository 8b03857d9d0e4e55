"""Evaluation: one scorer per protocol (closed accuracy, open recall@N_diff through the LLM
matcher), metrics from outcomes, significance, and paired comparison of two runs."""

from viddiff.evaluation.outcomes import flip, group_scores, grouped
from viddiff.evaluation.paired import (
    CompareError,
    PairedDifference,
    PairedOutcomes,
    RunComparison,
    compare_runs,
    config_differences,
    instruction_differences,
    load_program,
    pair_outcomes,
    paired_outcomes,
)
from viddiff.evaluation.predictions import (
    PredictedDifference,
    PredictionsError,
    SampleAnswers,
    load_predictions,
    parse_predictions,
    to_benchmark_format,
)
from viddiff.evaluation.scoring import (
    ClosedScorer,
    OpenScorer,
    PublishedScorer,
    Scorer,
    Selection,
    format_summary,
    metrics,
    score_samples,
    write_scores,
)
from viddiff.evaluation.significance import mark, p_better_than_random, p_differs_from_random

__all__ = [
    "ClosedScorer",
    "CompareError",
    "OpenScorer",
    "PairedDifference",
    "PairedOutcomes",
    "PredictedDifference",
    "PredictionsError",
    "PublishedScorer",
    "RunComparison",
    "SampleAnswers",
    "Scorer",
    "Selection",
    "compare_runs",
    "config_differences",
    "flip",
    "format_summary",
    "group_scores",
    "grouped",
    "instruction_differences",
    "load_predictions",
    "load_program",
    "mark",
    "metrics",
    "p_better_than_random",
    "p_differs_from_random",
    "pair_outcomes",
    "paired_outcomes",
    "parse_predictions",
    "score_samples",
    "to_benchmark_format",
    "write_scores",
]
