"""The single-call baselines: both videos in one LM call per sample, no proposer, no localizer.
Closed set answers each given difference; open set lists at most N_diff differences.

`FramesBaseline` (the paper's GPT-4o and Claude rows) sends every sampled frame of video A,
then of video B, as images, or each video's frames as one video item for open models served by
vLLM (its Qwen2-VL and LLaVA-Video rows); `VideoBaseline` (its Gemini row) sends each sampled,
trimmed clip re-encoded as one MP4 video.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dspy
import numpy as np

from viddiff.data.records import Difference
from viddiff.data.video import Frames, video_bytes
from viddiff.programs.images import ImageEncoding
from viddiff.programs.records import DifferencePrediction
from viddiff.signatures.baselines import (
    DecideDifferencesFromFrames,
    DecideDifferencesFromVideos,
    FindDifferencesFromFrames,
    FindDifferencesFromVideos,
)
from viddiff.signatures.types import Video

MODES = ("closed", "open")
MAX_IMAGES = 150
"""Default cap on the images of one call: the published code refused requests above 150."""
SIGNATURES = {
    "frames": {"closed": DecideDifferencesFromFrames, "open": FindDifferencesFromFrames},
    "video": {"closed": DecideDifferencesFromVideos, "open": FindDifferencesFromVideos},
}
MEDIA_FIELDS = {"frames": ("frames_a", "frames_b"), "video": ("clip_a", "clip_b")}
"""How each baseline shows the two videos: its signatures and their input fields for A and B."""
FRAMES_AS = ("images", "video")
"""How the frames baseline sends each video's frames: separate images, or one video item."""


class BaselineAnswerer(dspy.Module):
    """One VLM call over both videos (`media`: `frames`, a list of images each, or `video`, a
    clip each): closed set, an answer per difference key; open set, at most `n_differences`
    stated differences. Its predictor is saved as `answer`."""

    def __init__(self, mode: str = "closed", media: str = "frames"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.media = media
        self.answer = dspy.Predict(SIGNATURES[media][mode])

    def forward(
        self,
        action_description: str,
        video_a: str,
        media_a,
        video_b: str,
        media_b,
        *,
        differences: Mapping[str, str] | None = None,
        n_differences: int | None = None,
        **config,
    ) -> dspy.Prediction:
        task = {"differences": dict(differences or {})} if self.mode == "closed" else {"n_differences": n_differences}
        field_a, field_b = MEDIA_FIELDS[self.media]
        result = self.answer(
            action_description=action_description,
            video_a=video_a,
            video_b=video_b,
            **{field_a: media_a, field_b: media_b},
            config=config,
            **task,
        )
        if self.mode == "closed":
            return dspy.Prediction(answers=dict(result.answers))
        return dspy.Prediction(differences=list(result.differences))


@dataclass(frozen=True)
class Shown:
    """What a baseline sends of the two videos: the text before each, its media, the frames it
    covers (indices into each video's sampled frames), any warnings, and extra settings of the
    LM call (`lm_kwargs`)."""

    texts: tuple[str, str]
    media: tuple
    chosen: tuple[list[int], list[int]]
    warnings: tuple[str, ...] = ()
    lm_kwargs: dict = field(default_factory=dict)


class SingleCallBaseline(dspy.Module):
    """Both videos and the task in one call of the `baseline` role. A subclass passes its `media`
    and defines `show(videos) -> Shown`, what the call carries of the two videos.

    Args:
        mode: `closed` (decide the given differences) or `open` (list at most N_diff).
        lm: the LM of the `baseline` role; None uses the globally configured LM.
        media: `frames` (lists of images) or `video` (a video each).
    """

    def __init__(self, *, mode: str = "closed", lm: dspy.LM | None = None, media: str = "frames"):
        super().__init__()
        self.baseline = BaselineAnswerer(mode, media)
        self.mode = mode
        self.lm = lm

    def forward(
        self,
        videos: tuple[Frames, Frames],
        action_description: str,
        *,
        differences: Mapping[str, Difference] | None = None,
        n_differences: int | None = None,
        key_points=None,
        trim_starts=None,
        seed: int = 0,
    ) -> dspy.Prediction:
        """`key_points` and `trim_starts` are accepted for the VidDiff program's interface and unused."""
        if (self.mode == "closed") != (differences is not None) or (self.mode == "open" and not n_differences):
            raise ValueError(f"{self.mode} set: give {'differences' if self.mode == 'closed' else 'n_differences >= 1'}")
        if self.mode == "closed" and not differences:  # nothing to ask
            return dspy.Prediction(predictions=[], frames=([], []), warnings=[], stages=[], links={}, localizations=())
        shown = self.show(videos)
        warnings = list(shown.warnings)
        task = {"n_differences": n_differences}
        if self.mode == "closed":
            task = {"differences": {key: d.description for key, d in differences.items()}}
        with dspy.context(lm=self.lm) if self.lm is not None else contextlib.nullcontext():
            answer = self.baseline(
                action_description, shown.texts[0], shown.media[0], shown.texts[1], shown.media[1], **task,
                **self._config(seed), **shown.lm_kwargs,
            )
        frames = _frame_fields(videos, shown.chosen)
        if self.mode == "closed":
            predictions, unknown = closed_predictions(differences, answer.answers, frames)
            warnings += [f"the answer named unknown difference keys {', '.join(map(repr, unknown))}: ignored"] if unknown else []
        else:
            predictions, listed = open_predictions(answer.differences, n_differences, frames)
            if listed > n_differences:
                warnings.append(f"the answer listed {listed} differences, more than the {n_differences} asked for: kept the first {n_differences}")
        return dspy.Prediction(predictions=predictions, frames=shown.chosen, warnings=warnings, stages=[], links={}, localizations=())

    def _config(self, seed: int) -> dict:
        """A rollout id mixing the LM's own rollout id with the sample's seed (as VidDiff's calls),
        so samples of one action get their own cached answers."""
        lm = self.lm or dspy.settings.lm
        server = (lm.kwargs.get("rollout_id") if lm is not None else None) or 0
        digest = hashlib.sha256(f"{server}|{seed}".encode()).digest()
        return {"rollout_id": int.from_bytes(digest[:6], "big")}


class FramesBaseline(SingleCallBaseline):
    """Ask a VLM about two videos at once, from all their sampled frames (one call per sample).

    Video A's frames, then video B's, go as separate images, each video's preceded by a line
    saying how many frames follow, their sampling rate and the time of each (seconds from the
    video's first frame). Above `max_images` frames in all, each video keeps an even subset, in
    proportion to its length (so both keep the same rate), and the sample gets a warning.

    With `frames_as="video"` each video's frames go as one video item instead (vLLM's
    `video_url` of JPEG frames), and the call asks the server to take every frame at their rate
    (`media_io_kwargs`), so a video model sees the true timestamps.

    Args:
        mode: `closed` (decide the given differences) or `open` (list at most N_diff).
        max_images: most frames in one call (the published code refused more than 150 images).
        lm: the LM of the `baseline` role; None uses the globally configured LM.
        images: how frames are encoded for the VLM (JPEG for `frames_as="video"`).
        frames_as: `images` or `video`.

    Example:
        >>> program = FramesBaseline(mode="closed", lm=lm)
        >>> result = program(videos=(frames_a, frames_b), action_description="a squat",
        ...                  differences={"0": Difference("0", "depth", "the squat is deeper", "depth", "1")})
        >>> [(p.key, p.answer, p.error) for p in result.predictions], result.warnings
    """

    def __init__(
        self,
        *,
        mode: str = "closed",
        max_images: int = MAX_IMAGES,
        lm: dspy.LM | None = None,
        images: ImageEncoding = ImageEncoding(),
        frames_as: str = "images",
    ):
        if max_images < 2:
            raise ValueError(f"max_images must be at least 2 (one frame per video), got {max_images}")
        if frames_as not in FRAMES_AS or (frames_as == "video" and images.format != "jpeg"):
            raise ValueError(f"frames_as must be one of {', '.join(FRAMES_AS)} (video: JPEG frames), got {frames_as!r} with {images.format}")
        super().__init__(mode=mode, lm=lm, media="frames" if frames_as == "images" else "video")
        self.max_images = max_images
        self.images = images
        self.frames_as = frames_as

    def show(self, videos: tuple[Frames, Frames]) -> Shown:
        chosen = cap_frames(len(videos[0]), len(videos[1]), self.max_images)
        warnings = (cap_warning(videos, chosen, self.max_images),) if sum(map(len, chosen)) < sum(map(len, videos)) else ()
        images = [self.images.encode(videos[w].images, chosen[w]) for w in (0, 1)]
        texts = tuple(describe_frames(videos[w], chosen[w], "AB"[w]) for w in (0, 1))
        if self.frames_as == "images":
            return Shown(texts=texts, media=tuple(images), chosen=chosen, warnings=warnings)
        rate = videos[0].fps * len(chosen[0]) / max(len(videos[0]), 1)  # both videos keep the same rate
        return Shown(
            texts=texts,
            media=tuple(Video(jpeg_frames=tuple(image.url.split(",", 1)[1] for image in images[w])) for w in (0, 1)),
            chosen=chosen,
            warnings=warnings,
            lm_kwargs={"extra_body": {"media_io_kwargs": {"video": {"num_frames": -1, "fps": round(rate, 3)}}}},
        )


class VideoBaseline(SingleCallBaseline):
    """Ask a video LM (Gemini) about two videos at once: each video's sampled frames (trimmed as
    the benchmark says) re-encoded as one H.264 MP4 at the sampling rate, so it plays at true
    speed, attached once each, A then B, each after a line giving its length and frame rate.

    Args:
        mode: `closed` (decide the given differences) or `open` (list at most N_diff).
        lm: the LM of the `baseline` role (`viddiff.gemini.gemini_lm`: DSPy's other providers send no video).
    """

    def __init__(self, *, mode: str = "closed", lm: dspy.LM | None = None):
        super().__init__(mode=mode, lm=lm, media="video")

    def show(self, videos: tuple[Frames, Frames]) -> Shown:
        return Shown(
            texts=tuple(describe_clip(videos[w], "AB"[w]) for w in (0, 1)),
            media=tuple(Video.from_mp4(clip_bytes(videos[w])) for w in (0, 1)),
            chosen=tuple(list(range(len(videos[w]))) for w in (0, 1)),
        )


def clip_bytes(frames: Frames) -> bytes:
    """The frames as an H.264 MP4 at their sampling rate (frame i at i / fps), cropped by at most
    one pixel row and column to the even size H.264 needs."""
    height, width = frames.images.shape[1] // 2 * 2, frames.images.shape[2] // 2 * 2
    return video_bytes(frames.images[:, :height, :width], frames.fps)


def describe_clip(frames: Frames, name: str) -> str:
    """The line before a video: e.g. 'Video A: 4.00 seconds, 16 frames at 4 frames per second.'"""
    return f"Video {name}: {len(frames) / frames.fps:.2f} seconds, {len(frames)} frames at {round(frames.fps, 2):g} frames per second."


def even_subset(count: int, keep: int) -> list[int]:
    """`keep` indices spread evenly over range(count), first and last included (all when keep >= count)."""
    if keep >= count:
        return list(range(count))
    if keep == 1:
        return [(count - 1) // 2]
    return [int(i) for i in np.floor(np.linspace(0, count - 1, keep) + 0.5)]


def cap_frames(count_a: int, count_b: int, max_images: int) -> tuple[list[int], list[int]]:
    """The frames of each video to send: all of them when they fit in `max_images`; else an even
    subset of each, sized in proportion to the video's length (rounded, at least one frame each)."""
    total = count_a + count_b
    if total <= max_images:
        return list(range(count_a)), list(range(count_b))
    keep_a = min(count_a, max(1 if count_a else 0, round(max_images * count_a / total)))
    keep_a = min(keep_a, max_images - (1 if count_b else 0))
    keep_b = min(count_b, max_images - keep_a)
    return even_subset(count_a, keep_a), even_subset(count_b, keep_b)


def describe_frames(frames: Frames, indices: Sequence[int], name: str) -> str:
    """The line before a video's images: how many, the sampling rate, and each frame's time in
    seconds from the video's first sampled frame; e.g. 'Video A: the next 3 frames, sampled at
    4 frames per second, taken at 0.00, 0.25, 0.50 seconds.'"""
    start = float(frames.timestamps[0]) if len(frames) else 0.0
    times = ", ".join(f"{float(frames.timestamps[i]) - start:.2f}" for i in indices)
    rate = f"sampled at {round(frames.fps, 2):g} frames per second"
    if len(indices) < len(frames):
        rate = f"an even subset of the {len(frames)} frames {rate}"
    return f"Video {name}: the next {len(indices)} frames, {rate}, taken at {times} seconds."


def cap_warning(videos: tuple[Frames, Frames], chosen: tuple[Sequence[int], Sequence[int]], max_images: int) -> str:
    return (
        f"image cap {max_images}: sent an even subset of the sampled frames, {len(chosen[0])} of {len(videos[0])} of "
        f"video A and {len(chosen[1])} of {len(videos[1])} of video B"
    )


def closed_predictions(
    differences: Mapping[str, Difference], answers: Mapping[str, str], frames: dict
) -> tuple[list[DifferencePrediction], list[str]]:
    """One prediction per asked difference, from the answer's key -> 'a'|'b' (keys compared
    after stripping spaces); a key left unanswered gets an error. Returns the predictions and the
    answered keys that were not asked (ignored)."""
    given = {str(key).strip(): value for key, value in answers.items()}
    unknown = [key for key in given if key not in differences]
    missing = "no answer for this difference in the baseline's answer"
    if unknown:
        missing += f" (it answered unknown keys {', '.join(map(repr, unknown))})"
    predictions = [
        DifferencePrediction(
            key=key,
            name=d.name,
            description=d.description,
            num_frames=d.num_frames,
            answer=given.get(key),
            error=None if key in given else missing,
            **frames,
        )
        for key, d in differences.items()
    ]
    return predictions, unknown


def open_predictions(stated: Sequence, n_differences: int, frames: dict) -> tuple[list[DifferencePrediction], int]:
    """The first `n_differences` stated differences with a description, keyed '0', '1', ...;
    returns them and how many with a description the answer listed."""
    kept = [s for s in stated if s.description.strip()]
    predictions = [
        DifferencePrediction(
            key=str(i), name=s.description.strip(), description=s.description.strip(), num_frames="gt_1", answer=s.answer, **frames
        )
        for i, s in enumerate(kept[:n_differences])
    ]
    return predictions, len(kept)


def _frame_fields(videos: tuple[Frames, Frames], chosen: tuple[Sequence[int], Sequence[int]]) -> dict:
    """The frames every difference was judged on: all that were sent, with their timestamps."""
    return {
        "frames_a": tuple(chosen[0]),
        "frames_b": tuple(chosen[1]),
        "times_a": tuple(round(float(videos[0].timestamps[i]), 3) for i in chosen[0]),
        "times_b": tuple(round(float(videos[1].timestamps[i]), 3) for i in chosen[1]),
    }
