"""Benchmark samples as DSPy examples for compiling (frames decoded once, up front)."""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from viddiff.config import RunConfig
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Sample
from viddiff.systems import read_videos, system_for

INPUTS = ("videos", "action_description", "differences", "n_differences", "key_points", "trim_starts", "seed")


def sample_examples(
    samples: Sequence[Sample], config: RunConfig, frame_cache: FrameCache | None, *, need_key_points: bool = False
) -> list[dspy.Example]:
    """One example per sample with at least one a/b label (and, with `need_key_points`, an
    annotated key point in either video); the sample rides along as `sample` (not an input) for
    the metrics."""
    examples = []
    for sample in samples:
        if not any(label in "ab" for label in sample.labels.values()):
            continue
        if need_key_points and not any(points for video in sample.retrieval_frames for points in video.values()):
            continue
        system = system_for(config.system)
        videos = read_videos(sample, config, fps_table=system.fps_table, cache=frame_cache)
        task = {"differences": system.closed_differences(sample), "n_differences": None}
        if config.mode == "open":
            task = {"differences": None, "n_differences": sample.n_differences_open}
        examples.append(
            dspy.Example(
                videos=videos,
                action_description=sample.action_description,
                key_points=sample.retrieval_frames,
                trim_starts=tuple((v.frames_trim or (0, None))[0] for v in sample.videos),
                seed=sample.seed(config.seed),
                sample=sample,
                **task,
            ).with_inputs(*INPUTS)
        )
    return examples
