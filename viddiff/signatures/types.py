"""Structured outputs of the signatures (pydantic, so DSPy parses and validates them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProposedDifference(BaseModel):
    """A visually checkable way two performances of an action can differ."""

    name: str = Field(description="a short name, a few words")
    description: str = Field(
        description="a statement that can apply more to one video than the other, e.g. 'the squat is deeper'"
    )
    query_string: str = Field(description="a short phrase naming the visual property to look at")
    num_frames: str = Field(description="'1' if a single frame per video shows it, 'gt_1' if it needs several (e.g. speed)")


class PlannedStage(BaseModel):
    """One sub-action of the action, in temporal order."""

    name: str = Field(description="a short name for the stage")
    description: str = Field(description="what happens in this stage")
    retrieval_strings: list[str] = Field(
        description="at least 5 descriptions of a single frame from this stage, each starting 'A photo of a'"
    )


class StatementPair(BaseModel):
    """A ground-truth difference and the predicted difference matched to it."""

    key: str = Field(description="the ground-truth key")
    ground_truth: str
    predicted: str


class StatedDifference(BaseModel):
    """A difference the frames baseline saw (open set), with the video it applies more to."""

    description: str = Field(
        description="a visual statement about how the action is performed, naming no video, e.g. 'the jump is higher'"
    )
    answer: Literal["a", "b"] = Field(description="'a' if the statement applies more to video A, 'b' if more to video B")
