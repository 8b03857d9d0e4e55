"""Stage 1 (open set): propose differences."""

import dspy

from viddiff.programs.repair import clean_proposals
from viddiff.signatures import ProposeDifferences


class DifferenceProposer(dspy.Module):
    """Propose at most N visually checkable differences for an action.

    Example:
        >>> DifferenceProposer()(action_description="a barbell squat", n_differences=5).differences
        {'0': Difference(key='0', name='depth', ...), ...}
    """

    def __init__(self):
        super().__init__()
        self.propose = dspy.Predict(ProposeDifferences)

    def forward(self, action_description: str, n_differences: int, **config) -> dspy.Prediction:
        raw = self.propose(action_description=action_description, n_differences=n_differences, config=config)
        return dspy.Prediction(differences=clean_proposals(raw.differences, n_differences))
