"""Planning the action's stages, with retrieval strings for the frame localizer."""

import dspy

from viddiff.signatures.types import PlannedStage


class PlanStages(dspy.Signature):
    """Split the action into at most 5 stages (sub-actions) in the order they happen, so that
    every frame of a video of the action belongs to one stage. For each stage write at least
    5 retrieval strings: short descriptions of a single still frame from that stage, each
    starting 'A photo of a', that an image-text model can match. Describe body positions
    and visible objects, never the action's name, and avoid strings that would also fit
    another stage."""

    action_description: str = dspy.InputField(desc="the action to split into stages")
    differences: list[str] = dspy.InputField(desc="differences that will be checked, so the stages should show them")
    stages: list[PlannedStage] = dspy.OutputField(desc="at most 5 stages in temporal order")
