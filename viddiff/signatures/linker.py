"""Linking each difference to the stages where it is visible."""

import dspy


class LinkDifferences(dspy.Signature):
    """For every difference, name the stage or stages of the action in which it can be seen
    (use the stage names exactly as given). Every difference must be linked to at least one
    stage; prefer the fewest stages that show it."""

    action_description: str = dspy.InputField(desc="the action")
    stages: list[str] = dspy.InputField(desc="the stage names, in temporal order")
    differences: dict[str, str] = dspy.InputField(desc="difference name -> description")
    links: dict[str, list[str]] = dspy.OutputField(desc="difference name -> names of the stages where it is visible")
