"""Evaluation: closed accuracy, open recall@N_diff through the LLM matcher, significance."""

from viddiff.evaluation.evaluate import (
    Evaluation,
    format_summary,
    metrics,
    score_closed,
    score_open,
    score_published,
    write_evaluation,
)
from viddiff.evaluation.outcomes import Outcome, flip, group_scores, grouped
from viddiff.evaluation.predictions import (
    PredictedDifference,
    PredictionsError,
    load_predictions,
    parse_predictions,
    rows_from_records,
    to_benchmark_format,
)
from viddiff.evaluation.significance import mark, p_better_than_random, p_differs_from_random

__all__ = [
    "Evaluation",
    "Outcome",
    "PredictedDifference",
    "PredictionsError",
    "flip",
    "format_summary",
    "group_scores",
    "grouped",
    "load_predictions",
    "mark",
    "metrics",
    "p_better_than_random",
    "p_differs_from_random",
    "parse_predictions",
    "rows_from_records",
    "score_closed",
    "score_open",
    "score_published",
    "to_benchmark_format",
    "write_evaluation",
]
