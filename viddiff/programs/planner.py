"""Stage 2a: plan the action's stages and their retrieval strings."""

from collections.abc import Mapping

import dspy

from viddiff.data.records import Difference
from viddiff.programs.repair import clean_stages
from viddiff.signatures import PlanStages


class StagePlanner(dspy.Module):
    """Split an action into at most 5 ordered stages, each with single-frame retrieval strings."""

    def __init__(self):
        super().__init__()
        self.plan = dspy.Predict(PlanStages)

    def forward(self, action_description: str, differences: Mapping[str, Difference], **config) -> dspy.Prediction:
        described = [d.description for d in differences.values()]
        raw = self.plan(action_description=action_description, differences=described, config=config)
        return dspy.Prediction(stages=clean_stages(raw.stages))
