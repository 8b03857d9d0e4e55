"""Outcomes: what happened to each ground-truth difference, and their aggregation into groups."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from viddiff.evaluation.significance import ALPHA, p_better_than_random, p_differs_from_random

POSITIVE = ("a", "b")


@dataclass(frozen=True)
class Outcome:
    """One ground-truth difference of one sample, and the prediction it was scored against."""

    sample_key: str
    split: str
    domain: str
    action: str
    key: str
    name: str
    label: str
    """'a', 'b' or 'c' (c: negligible; scored in neither mode's denominator)."""
    prediction: str | None
    """The answer scored: closed, the prediction for this key; open, the matched prediction's
    answer (flipped when it states the opposite). None: missing, or unmatched."""
    matched: str | None = None
    """Open set: the predicted key matched to this difference, if any."""

    @property
    def positive(self) -> bool:
        return self.label in POSITIVE

    @property
    def correct(self) -> bool:
        return self.positive and self.prediction == self.label


def group_scores(outcomes: Iterable[Outcome], mode: str, *, two_sided: bool = False) -> dict[str, Any]:
    """Score of a group over its a/b-labelled differences, with counts and a binomial p-value.

    Closed: accuracy; `wrong` (the other letter), `missing` and `predicted_c` are the errors.
    Open: recall; `unmatched` and `matched_wrong` are the errors (with their shares of n).
    """
    positives = [o for o in outcomes if o.positive]
    n = len(positives)
    correct = sum(o.correct for o in positives)
    p_value = (p_differs_from_random if two_sided else p_better_than_random)(correct, n)
    scores: dict[str, Any] = {
        "score": correct / n if n else None,
        "n": n,
        "correct": correct,
        "p_value": p_value,
        "significant": p_value is not None and p_value < ALPHA,
    }
    if mode == "closed":
        scores["wrong"] = sum(o.prediction in POSITIVE and not o.correct for o in positives)
        scores["missing"] = sum(o.prediction is None for o in positives)
        scores["predicted_c"] = sum(o.prediction == "c" for o in positives)
    else:
        scores["unmatched"] = sum(o.matched is None for o in positives)
        scores["matched_wrong"] = sum(o.matched is not None and not o.correct for o in positives)
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
