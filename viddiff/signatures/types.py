"""Structured outputs of the signatures (pydantic, so DSPy parses and validates them), and the
`Video` input type."""

from __future__ import annotations

import base64
from typing import Any, Literal

import dspy
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


class Video(dspy.Type):
    """A video for a video LM, sent as one part: an MP4 as a file part (`from_mp4`; the Gemini
    engine sends it as a video), or JPEG frames as one `video_url` of
    `data:video/jpeg;base64,<frame>,<frame>,...` (`jpeg_frames`; how vLLM takes a video as
    the frames the client sampled)."""

    mp4: str | None = None
    """The MP4, base64."""
    jpeg_frames: tuple[str, ...] = ()
    """Each frame's JPEG, base64."""

    @classmethod
    def from_mp4(cls, data: bytes) -> Video:
        return cls(mp4=base64.b64encode(data).decode("ascii"))

    def format(self) -> list[dict[str, Any]]:
        if self.mp4 is not None:
            return [{"type": "file", "file": {"file_data": f"data:video/mp4;base64,{self.mp4}"}}]
        return [{"type": "video_url", "video_url": {"url": "data:video/jpeg;base64," + ",".join(self.jpeg_frames)}}]
