"""Stage 3: decide one difference from the localized frames of both videos."""

from collections.abc import Sequence

import dspy

from viddiff.signatures import CompareFrames, CompareFramesThreeWay


class FrameDifferencer(dspy.Module):
    """Ask a VLM whether a difference applies more to video A or B (or neither, three-way)."""

    def __init__(self, three_way: bool = False):
        super().__init__()
        self.three_way = three_way
        self.compare = dspy.Predict(CompareFramesThreeWay if three_way else CompareFrames)

    def forward(
        self,
        action_description: str,
        difference: str,
        frames_a: Sequence[dspy.Image],
        frames_b: Sequence[dspy.Image],
        seconds_between_frames: float,
        **config,
    ) -> dspy.Prediction:
        result = self.compare(
            action_description=action_description,
            difference=difference,
            frames_a=list(frames_a),
            frames_b=list(frames_b),
            seconds_between_frames=seconds_between_frames,
            config=config,
        )
        return dspy.Prediction(answer=result.answer, rationale=result.rationale)
