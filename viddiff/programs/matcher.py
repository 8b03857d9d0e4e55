"""Scoring stage (open set): match predictions to the ground truth, then flag opposites."""

from collections.abc import Mapping

import dspy

from viddiff.programs.repair import one_to_one
from viddiff.signatures import FindOpposites, MatchDifferences, StatementPair


class RecallMatcher(dspy.Module):
    """One matching call per sample, then (unless `check_opposites` is off) one call flagging
    matched pairs that state opposites. The one-to-one rule is enforced in code."""

    def __init__(self, check_opposites: bool = True):
        super().__init__()
        self.check_opposites = check_opposites
        self.match = dspy.Predict(MatchDifferences)
        self.find_opposites = dspy.Predict(FindOpposites)

    def forward(self, action_description: str, ground_truth: Mapping[str, str], predicted: Mapping[str, str]) -> dspy.Prediction:
        raw = self.match(action_description=action_description, ground_truth=dict(ground_truth), predicted=dict(predicted)).matches
        matches = one_to_one(raw, list(ground_truth), list(predicted))
        pairs = [
            StatementPair(key=key, ground_truth=ground_truth[key], predicted=predicted[match])
            for key, match in matches.items()
            if match is not None
        ]
        opposites: list[str] = []
        if self.check_opposites and pairs:
            flagged = self.find_opposites(action_description=action_description, pairs=pairs).opposite_keys
            opposites = [p.key for p in pairs if p.key in set(flagged)]
        return dspy.Prediction(matches=matches, opposites=opposites, raw_matches=dict(raw))
