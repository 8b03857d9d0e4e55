"""Proposing differences (open set)."""

import dspy

from viddiff.signatures.types import ProposedDifference


class ProposeDifferences(dspy.Signature):
    """Two videos show different people performing the same action. List the ways their
    performances could differ that an expert would care about and that can be seen in the
    video frames (posture, positions, range of motion, speed, timing), not the identity,
    clothing or surroundings of the person. Each difference is a statement that can apply
    more to one video than to the other. Give exactly the number asked for, most important
    first, with no two describing the same property."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    n_differences: int = dspy.InputField(desc="how many differences to propose")
    differences: list[ProposedDifference] = dspy.OutputField(desc="the proposed differences, most important first")
