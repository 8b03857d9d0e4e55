"""Stage 3: decide one difference from the localized frames of both videos."""

from collections.abc import Sequence

import dspy

from viddiff.signatures import CompareFrames, CompareFramesThreeWay


class FrameDifferencer(dspy.Module):
    """Ask a VLM whether a difference applies more to video A or B (or neither, three-way).

    With `chain_of_thought`, the VLM reasons step by step before its rationale and answer
    (dspy.ChainOfThought; its predictor is saved as `compare.predict`).
    """

    def __init__(self, three_way: bool = False, chain_of_thought: bool = False):
        super().__init__()
        self.three_way = three_way
        signature = CompareFramesThreeWay if three_way else CompareFrames
        self.compare = dspy.ChainOfThought(signature) if chain_of_thought else dspy.Predict(signature)

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
