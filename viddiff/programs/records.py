"""Typed results of the program."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DifferencePrediction:
    """The program's answer for one difference, with the frames it was judged on."""

    key: str
    name: str
    description: str
    num_frames: str
    answer: str | None
    """'a', 'b' or (three-way) 'c'; None when the difference could not be decided (see
    `error`) or was not asked (`unserved`)."""
    rationale: str = ""
    frames_a: tuple[int, ...] = ()
    frames_b: tuple[int, ...] = ()
    """Indices into each video's sampled frames."""
    times_a: tuple[float, ...] = ()
    times_b: tuple[float, ...] = ()
    """Timestamps (seconds) of those frames."""
    error: str | None = None
    unserved: bool = False
    """The localization mode could not place this difference in one of the videos (oracle: no
    annotated key point), so it was not asked: no answer and no error; scoring leaves it out
    of n and counts it apart."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DifferencePrediction:
        tuples = ("frames_a", "frames_b", "times_a", "times_b")
        return cls(**{k: tuple(v) if k in tuples else v for k, v in data.items()})
