"""Writing a synthetic benchmark: plan each pair, render and store its two videos, write the rows.

Layout of OUT_DIR: `dataset.jsonl` (VidDiffBench schema, one row per pair), `parameters.jsonl`
(the true motion parameters and nuisance of both videos, per sample key), and `videos/`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from viddiff.data.records import LABELS
from viddiff.data.synth.actions import ACTIONS, ActionSpec, DifferenceSpec
from viddiff.data.synth.figure import Style, render
from viddiff.data.video import write_video
from viddiff.errors import ViddiffError

SOURCE_DATASET = "synthetic"
FPS_CHOICES = (24, 30)
STILL_RANGE_S = (0.3, 0.6)
"""Standing still before and after the trimmed clip, per video."""
PALETTE = (
    (214, 69, 65),
    (52, 101, 200),
    (46, 160, 80),
    (150, 70, 190),
    (225, 135, 30),
    (30, 160, 170),
)
"""Saturated figure colours: the wall, floor and ball are grey or white."""
YAW_JITTER = 4.0
SCALE_RANGE = (74.0, 82.0)
OFFSET_JITTER = 0.12
BACKGROUND_RANGE = (205, 236)
SAME_SPREAD = 0.6
"""A pair meant to be labelled "c" differs by at most this share of the negligible gap."""
GAP_RANGE = (2.0, 5.0)
"""A pair meant to be labelled "a" or "b" differs by this many negligible gaps."""


@dataclass(frozen=True)
class VideoPlan:
    """Everything that decides one video's pixels."""

    parameters: dict[str, float]
    style: Style
    lead_in_s: float
    lead_out_s: float
    as_frame_folder: bool


@dataclass(frozen=True)
class PairPlan:
    """One benchmark row before rendering."""

    sample_key: str
    sample_hash: int
    action: ActionSpec
    fps: int
    videos: tuple[VideoPlan, VideoPlan]
    unlabelled: frozenset[str]
    """Difference keys whose label is null (the annotation is kept)."""
    unannotated: frozenset[str]
    """Difference keys null in both the annotation and the label."""


@dataclass(frozen=True)
class Clip:
    """A rendered video: every original frame, the trim that cuts the still ends, and event frames."""

    frames: list[np.ndarray]
    frames_trim: tuple[int, int]
    event_frames: dict[str, int]
    """Event name -> frame index in the trimmed clip."""


def generate_benchmark(out_dir: str | Path, pairs: int, seed: int, *, progress: bool = True) -> Path:
    """Render `pairs` synthetic video pairs into `out_dir` and return the path of its dataset.jsonl.

    Pairs cycle through the actions in `ACTIONS`; pair i depends only on (seed, i), and the
    same seed gives a byte-identical dataset.jsonl and identical videos.
    """
    out = Path(out_dir)
    _check_request(out, pairs, seed)
    rows, parameter_rows = [], []
    for index in tqdm(range(pairs), desc="synthetic pairs", unit="pair", disable=not progress):
        plan = plan_pair(index, seed)
        clips, paths = [], []
        for name, video in zip("ab", plan.videos):
            clip = render_clip(plan.action, video, plan.fps)
            path = f"videos/{plan.sample_key}/{name}" + ("" if video.as_frame_folder else ".mp4")
            write_clip(clip.frames, out / path, plan.fps, as_frame_folder=video.as_frame_folder)
            clips.append(clip)
            paths.append(path)
        rows.append(dataset_row(plan, clips, paths))
        parameter_rows.append(parameters_row(plan))
    _write_jsonl(out / "parameters.jsonl", parameter_rows)
    # Written last: its presence marks a complete benchmark.
    return _write_jsonl(out / "dataset.jsonl", rows)


def _check_request(out: Path, pairs: int, seed: int) -> None:
    if not isinstance(pairs, int) or pairs < 1:
        raise ViddiffError(f"pairs must be a positive integer, got {pairs!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ViddiffError(f"seed must be a non-negative integer, got {seed!r}")
    if (out / "dataset.jsonl").exists():
        raise ViddiffError(f"{out} already holds a synthetic benchmark; choose another folder or delete it")
    if (out / "videos").is_dir() and any((out / "videos").iterdir()):
        raise ViddiffError(f"{out} holds videos of an unfinished run; choose another folder or delete it")


def plan_pair(index: int, seed: int) -> PairPlan:
    """Draw pair `index`'s parameters, nuisance and null labels from its own seeded generator."""
    action = ACTIONS[index % len(ACTIONS)]
    rng = np.random.default_rng([seed, index])
    fps = int(rng.choice(FPS_CHOICES))
    keys = list(action.keyed_differences)
    unlabelled_key, unannotated_key = (keys[i] for i in rng.permutation(len(keys))[:2])
    values = [sample_values(difference, rng) for difference in action.differences]
    colors = rng.choice(len(PALETTE), size=2, replace=False)
    folders = _stored_as_frame_folders(index)
    videos = []
    for which in (0, 1):
        free = {name: _round(rng.uniform(low, high)) for name, (low, high) in action.free_parameters.items()}
        compared = {d.parameter: v[which] for d, v in zip(action.differences, values)}
        videos.append(
            VideoPlan(
                parameters=compared | free,
                style=Style(
                    yaw=_round(action.yaw + rng.uniform(-YAW_JITTER, YAW_JITTER)),
                    scale=_round(rng.uniform(*SCALE_RANGE)),
                    offset=_round(action.offset + rng.uniform(-OFFSET_JITTER, OFFSET_JITTER)),
                    color=PALETTE[colors[which]],
                    background=int(rng.integers(*BACKGROUND_RANGE)),
                ),
                lead_in_s=_round(rng.uniform(*STILL_RANGE_S)),
                lead_out_s=_round(rng.uniform(*STILL_RANGE_S)),
                as_frame_folder=folders[which],
            )
        )
    return PairPlan(
        sample_key=f"{action.action}_{index:04d}",
        sample_hash=_sample_hash(seed, index),
        action=action,
        fps=fps,
        videos=(videos[0], videos[1]),
        unlabelled=frozenset({unlabelled_key}) if index % 4 == 3 else frozenset(),
        unannotated=frozenset({unannotated_key}) if index % 5 == 4 else frozenset(),
    )


def sample_values(difference: DifferenceSpec, rng: np.random.Generator) -> tuple[float, float]:
    """Values of a difference's parameter for videos A and B, aiming at a uniformly drawn label.

    The row's label is recomputed from the values; the aim only balances a, b and c, and keeps
    a/b pairs at least two negligible gaps apart so the difference is plainly visible.
    """
    aim = rng.choice(LABELS)
    low, high, negligible = difference.low, difference.high, difference.negligible
    if aim == "c":
        base = rng.uniform(low, high)
        other = np.clip(base + rng.uniform(-SAME_SPREAD, SAME_SPREAD) * negligible, low, high)
        return _round(base), _round(other)
    gap = rng.uniform(GAP_RANGE[0] * negligible, min(GAP_RANGE[1] * negligible, high - low))
    smaller = rng.uniform(low, high - gap)
    larger = smaller + gap
    if (aim == "a") == difference.larger_applies_more:
        return _round(larger), _round(smaller)
    return _round(smaller), _round(larger)


def _round(value: float) -> float:
    return round(float(value), 4)


def _stored_as_frame_folders(index: int) -> tuple[bool, bool]:
    """Every fourth pair (so every action in turn) stores frame images: B only, then both."""
    if index % 4 != 2:
        return False, False
    return (False, True) if index % 8 == 2 else (True, True)


def _sample_hash(seed: int, index: int) -> int:
    digest = hashlib.sha256(f"viddiff-synth:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def render_clip(action: ActionSpec, video: VideoPlan, fps: int) -> Clip:
    """Render the still lead-in, the motion and the still lead-out at `fps`."""
    events = action.events(video.parameters)
    motion_frames = math.floor(events["end"] * fps) + 1
    lead_in = round(video.lead_in_s * fps)
    total = lead_in + motion_frames + round(video.lead_out_s * fps)
    times = [min(max((i - lead_in) / fps, 0.0), events["end"]) for i in range(total)]
    return Clip(
        frames=[render(action.scene(video.parameters, t), video.style) for t in times],
        frames_trim=(lead_in, lead_in + motion_frames),
        event_frames={name: min(round(t * fps), motion_frames - 1) for name, t in events.items()},
    )


def write_clip(frames: list[np.ndarray], path: Path, fps: int, *, as_frame_folder: bool) -> None:
    """Store frames as an H.264 MP4 file, or as a folder of PNG images 000000.png, 000001.png, ..."""
    if as_frame_folder:
        path.mkdir(parents=True)
        for i, frame in enumerate(frames):
            Image.fromarray(frame).save(path / f"{i:06d}.png")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames, fps)


def dataset_row(plan: PairPlan, clips: list[Clip], paths: list[str]) -> dict:
    """The benchmark row for a rendered pair; JSON columns are stored as strings, as VidDiffBench does."""
    annotated: dict[str, dict | None] = {}
    labels: dict[str, str | None] = {}
    retrieval: tuple[dict, dict] = ({}, {})
    for key, difference in plan.action.keyed_differences.items():
        value_a, value_b = (video.parameters[difference.parameter] for video in plan.videos)
        null_label = key in plan.unlabelled or key in plan.unannotated
        annotated[key] = None if key in plan.unannotated else difference.annotation()
        labels[key] = None if null_label else difference.label(value_a, value_b)
        for frames, clip in zip(retrieval, clips):
            frames[key] = None if null_label else [clip.event_frames[e] for e in difference.keypoints]
    videos = [
        {"path": path, "frames_trim": list(clip.frames_trim), "fps_original": plan.fps}
        for path, clip in zip(paths, clips)
    ]
    action = plan.action
    return {
        "sample_key": plan.sample_key,
        "videos": json.dumps(videos),
        "action": action.action,
        "action_name": action.action_name,
        "action_description": action.description,
        "split": action.split,
        "domain": action.domain,
        "source_dataset": SOURCE_DATASET,
        "sample_hash": plan.sample_hash,
        "differences_annotated": json.dumps(annotated),
        "differences_gt": json.dumps(labels),
        "retrieval_frames": json.dumps(list(retrieval)),
        "n_differences_open_prediction": math.ceil(1.5 * sum(v is not None for v in labels.values())),
        "vid0_thumbnail": None,
        "vid1_thumbnail": None,
    }


def parameters_row(plan: PairPlan) -> dict:
    """The true parameters and nuisance of both videos, for tests and debugging."""
    return {
        "sample_key": plan.sample_key,
        "action": plan.action.action,
        "videos": [
            {
                "parameters": video.parameters,
                "style": dataclasses.asdict(video.style),
                "lead_in_s": video.lead_in_s,
                "lead_out_s": video.lead_out_s,
            }
            for video in plan.videos
        ],
    }


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
