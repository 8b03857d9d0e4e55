"""Deciding one difference from the frames of both videos (the VLM's multiple choice)."""

from typing import Literal

import dspy


class CompareFrames(dspy.Signature):
    """Two people perform the same action. You see frames of video A, then frames of video B,
    taken at the same moments of the action. Decide whether the statement applies more to
    video A or to video B. Judge only from what the frames show; first explain briefly what
    you see, then answer 'a' or 'b'."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    difference: str = dspy.InputField(desc="the statement to decide")
    frames_a: list[dspy.Image] = dspy.InputField(desc="frames of video A, in time order")
    frames_b: list[dspy.Image] = dspy.InputField(desc="frames of video B, in time order")
    seconds_between_frames: float = dspy.InputField(desc="time between consecutive frames of one video (0 when one frame)")
    rationale: str = dspy.OutputField(desc="one or two sentences on what the frames show")
    answer: Literal["a", "b"] = dspy.OutputField(desc="'a' if the statement applies more to video A, 'b' if to video B")


class CompareFramesThreeWay(CompareFrames):
    """Two people perform the same action. You see frames of video A, then frames of video B,
    taken at the same moments of the action. Decide whether the statement applies more to
    video A, more to video B, or to neither more than the other. Judge only from what the
    frames show; first explain briefly what you see, then answer 'a', 'b' or 'c'."""

    answer: Literal["a", "b", "c"] = dspy.OutputField(
        desc="'a' if the statement applies more to video A, 'b' if to video B, 'c' if the difference is not visible"
    )
