"""Scoring open-set output: matching predicted differences to the ground truth."""

import dspy

from viddiff.signatures.types import StatementPair


class MatchDifferences(dspy.Signature):
    """Match each ground-truth difference to the predicted difference that describes the same
    visual property of the action (e.g. 'the squat is deeper' and 'the hips go lower' do),
    whichever video it says it applies to. Use each predicted difference at most once. Answer
    'none' for a ground-truth difference that no prediction describes."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    ground_truth: dict[str, str] = dspy.InputField(desc="ground-truth key -> difference")
    predicted: dict[str, str] = dspy.InputField(desc="predicted key -> difference")
    matches: dict[str, str] = dspy.OutputField(desc="every ground-truth key -> the matching predicted key, or 'none'")


class FindOpposites(dspy.Signature):
    """Each pair holds a ground-truth difference and the prediction matched to it. List the
    keys of the pairs whose predicted statement is the direct opposite of the ground-truth
    statement (e.g. 'the squat is deeper' and 'the squat is shallower'), so that the
    prediction's answer must be flipped to compare it with the ground truth."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    pairs: list[StatementPair] = dspy.InputField(desc="matched pairs")
    opposite_keys: list[str] = dspy.OutputField(desc="keys of the pairs that state opposites (empty if none)")
