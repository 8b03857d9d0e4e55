"""Evaluation: one scorer per protocol (closed accuracy, open recall@N_diff through the LLM
matcher), metrics from outcomes, significance, and paired comparison of two runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "outcomes": ("flip", "group_scores", "grouped"),
        "paired": (
            "CompareError", "PairedDifference", "PairedOutcomes", "RunComparison", "compare_runs",
            "config_differences", "instruction_differences", "load_program", "pair_outcomes",
            "paired_outcomes",
        ),
        "predictions": (
            "PredictedDifference", "PredictionsError", "SampleAnswers", "load_predictions",
            "parse_predictions", "to_benchmark_format",
        ),
        "scoring": (
            "ClosedScorer", "OpenScorer", "PublishedScorer", "Scorer", "Selection",
            "format_summary", "metrics", "score_samples", "write_scores",
        ),
        "significance": ("mark", "p_better_than_random", "p_differs_from_random"),
    },
)
