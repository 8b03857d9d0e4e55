"""Typed records for benchmark samples (VidDiffBench schema, decoded)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Label = Literal["a", "b", "c"]
NumFrames = Literal["1", "gt_1"]

SPLITS = ("easy", "medium", "hard")
LABELS = ("a", "b", "c")
NUM_FRAMES = ("1", "gt_1")


@dataclass(frozen=True)
class VideoRef:
    """One video of a pair, as the benchmark row describes it."""

    path: str
    """Relative to the video root: a video file or a folder of frame images."""
    frames_trim: tuple[int, int | None] | None
    """Python slice [start, end) over the original frames; None keeps every frame."""
    fps_original: float | None
    """Frame rate of the original video; required for a folder of frames."""

    def resolve(self, video_root: Path | None) -> Path:
        return Path(self.path) if video_root is None else Path(video_root) / self.path


@dataclass(frozen=True)
class Difference:
    """A candidate difference statement for an action."""

    key: str
    name: str
    description: str
    query_string: str
    num_frames: NumFrames
    """'1': judged on one frame per video; 'gt_1': needs several frames."""


@dataclass(frozen=True)
class Sample:
    """One benchmark row: a pair of videos of the same action and its labelled differences."""

    sample_key: str
    row_index: int
    """Position in the source; predictions in the benchmark's format align with it."""
    videos: tuple[VideoRef, VideoRef]
    action: str
    action_name: str
    action_description: str
    split: str
    domain: str
    source_dataset: str
    sample_hash: int
    differences: dict[str, Difference]
    """Annotated differences (non-null entries of `differences_annotated`)."""
    labels: dict[str, Label]
    """Ground truth per difference key (non-null entries of `differences_gt`)."""
    difference_keys: tuple[str, ...]
    """Every key the row carries, null entries included, in the row's order."""
    retrieval_frames: tuple[dict[str, list[int] | None], dict[str, list[int] | None]]
    """Annotated key-point frames per video: key-point id -> frame indices in the trimmed clip."""
    n_differences_open: int
    """N_diff: how many differences an open-set prediction may propose."""
    video_root: Path | None = field(default=None, compare=False)

    @property
    def candidates(self) -> dict[str, Difference]:
        """The closed-set candidates: annotated differences with a non-null label (a, b or c)."""
        return {k: d for k, d in self.differences.items() if k in self.labels}

    def seed(self, run_seed: int) -> int:
        """This sample's seed in a run: the run's seed mixed with the sample's hash (LM rollouts,
        random frames), so samples differ and reruns with another run seed differ too."""
        digest = hashlib.sha256(f"{run_seed}|{self.sample_hash}".encode()).digest()
        return int.from_bytes(digest[:6], "big")

    def video_path(self, which: int) -> Path:
        """Path of video 0 (A) or 1 (B) under this sample's video root."""
        return self.videos[which].resolve(self.video_root)
