"""Aggregating outcomes into scores: one group's score with its denominator, missing answers and test."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from viddiff.evaluation.significance import ALPHA, p_better_than_random, p_differs_from_random
from viddiff.run_log import Outcome


def group_scores(outcomes: Iterable[Outcome], mode: str, *, two_sided: bool = False) -> dict[str, Any]:
    """Score of a group over its counted differences (labelled a or b, and served).

    Every score comes with `n` (its denominator), `missing` (counted differences without an
    answer: the sample, the difference or the matcher failed; scored as wrong) and `answered`
    (the share of n with an answer), so harness failures are not read as model failures.
    Closed set: accuracy, with a binomial test against 50% (`p_value`, `significant`); `wrong`
    and `predicted_c` split the errors. Open set: recall@N_diff, with no test (50% is no chance
    level for recall); `unmatched` and `matched_wrong` split the errors.
    `unserved`: a/b-labelled differences the localization mode could not place (not in n).
    """
    outcomes = list(outcomes)
    counted = [o for o in outcomes if o.counted]
    n = len(counted)
    correct = sum(o.correct for o in counted)
    missing = sum(o.missing for o in counted)
    p_value = None
    if mode == "closed":
        p_value = (p_differs_from_random if two_sided else p_better_than_random)(correct, n)
    scores: dict[str, Any] = {
        "score": correct / n if n else None,
        "n": n,
        "correct": correct,
        "missing": missing,
        "answered": (n - missing) / n if n else None,
        "unserved": sum(o.positive and o.unserved for o in outcomes),
        "p_value": p_value,
        "significant": p_value is not None and p_value < ALPHA,
    }
    answered = [o for o in counted if not o.missing]
    if mode == "closed":
        scores["wrong"] = sum(o.prediction in ("a", "b") and not o.correct for o in answered)
        scores["predicted_c"] = sum(o.prediction == "c" for o in answered)
    else:
        scores["unmatched"] = sum(o.matched_key is None for o in answered)
        scores["matched_wrong"] = sum(o.matched_key is not None and not o.correct for o in answered)
        scores["share_unmatched"] = scores["unmatched"] / n if n else None
        scores["share_matched_wrong"] = scores["matched_wrong"] / n if n else None
    return scores


def grouped(
    outcomes: Sequence[Outcome], key: Callable[[Outcome], str], mode: str, *, two_sided: bool = False
) -> dict[str, dict[str, Any]]:
    """group_scores per value of `key`, in sorted order."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(key(outcome), []).append(outcome)
    return {name: group_scores(groups[name], mode, two_sided=two_sided) for name in sorted(groups)}


def flip(answer: str | None) -> str | None:
    """'a' <-> 'b' (a prediction stating the opposite of the ground truth); others unchanged."""
    return {"a": "b", "b": "a"}.get(answer or "", answer)
