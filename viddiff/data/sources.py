"""Where each sample's videos come from, and reading a sample's frames with a clear error."""

from __future__ import annotations

import numpy as np

from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Sample
from viddiff.data.video import Frames, read_frames, sampling_fps
from viddiff.errors import MissingVideoError, VideoError

DEFAULT_VIDEO_REPO = "jmhb/ViddiffBench"
"""Hugging Face dataset repo hosting the fitness and surgery zips (the first release used
`viddiff/VidDiffBench`)."""

_ZIPPED = {"humman": "data/videos_fitness.zip", "jigsaws": "data/videos_surgery.zip"}
_SOURCE_OF_DOMAIN = {
    "fitness": "humman",
    "surgery": "jigsaws",
    "ballsports": "egoexo4d",
    "music": "egoexo4d",
    "diving": "finediving",
}
_KNOWN_SOURCES = {*_SOURCE_OF_DOMAIN.values(), "synthetic"}
SAMPLING_MODES = ("rate", "stride")


def obtain_hint(source_dataset: str, domain: str, video_repo: str = DEFAULT_VIDEO_REPO) -> str:
    """How to get the videos of a source dataset (an unknown one by its domain), as one sentence."""
    source = source_dataset.lower().replace("-", "")
    if source not in _KNOWN_SOURCES:
        source = _SOURCE_OF_DOMAIN.get(domain, source)
    if source in _ZIPPED:
        zipped = _ZIPPED[source]
        return (
            f"download {zipped} from the Hugging Face dataset {video_repo} "
            f"(`huggingface-cli download --repo-type dataset {video_repo} {zipped}`) "
            "and unzip it in the video root"
        )
    if source == "egoexo4d":
        return (
            "request Ego-Exo4D access (https://ego-exo4d-data.org), then download part "
            "downscaled_takes/448 with the `egoexo` downloader into the video root"
        )
    if source == "finediving":
        return "download the FineDiving videos (https://github.com/xujinglin/FineDiving) into the video root"
    if source == "synthetic":
        return "regenerate the benchmark with `viddiff synth`"
    return f"obtain the {source_dataset} videos and place them under the video root"


def read_sample_frames(
    sample: Sample,
    which: int,
    *,
    fps: float | None = None,
    fps_table: str = "method",
    size: int | tuple[int, int] | None = None,
    cache: FrameCache | None = None,
    video_repo: str = DEFAULT_VIDEO_REPO,
    sampling: str = "rate",
) -> Frames:
    """Frames of video `which` (0 = A, 1 = B) of a sample, sampled at its domain's rate.

    Args:
        fps: sampling rate override; by default the domain's rate from `fps_table`
            (`method` or `baseline`).
        sampling: `rate` samples at exactly that rate, by timestamp (see `read_frames`);
            `stride` keeps every k-th original frame from the trim start, k =
            max(1, int(fps_original / rate)), as the published code did (a 30 fps clip at
            8 frames/s gets k = 3, i.e. 10 frames/s). It samples at fps_original / k, which
            on a constant-rate clip whose rate is the row's `fps_original` (the published
            loader asserted this) keeps exactly those frames; anything else is an error.

    Raises:
        MissingVideoError: naming the sample, its source dataset and how to obtain the video.
        VideoError: the video exists but cannot be read as the row asks.
    """
    if sampling not in SAMPLING_MODES:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLING_MODES)}, got {sampling!r}")
    ref = sample.videos[which]
    name = f"video {'AB'[which]} of sample {sample.sample_key}"
    if sample.video_root is None:
        raise VideoError(
            ref.path, f"{name}: no video root; pass --video-root (the folder the paths are relative to)"
        )
    path = sample.video_path(which)
    rate = sampling_fps(sample.domain, table=fps_table, override=fps)
    stride = None
    if sampling == "stride":
        if not ref.fps_original:
            raise VideoError(path, f"{name}: stride sampling needs the row's fps_original; use rate sampling")
        stride = max(1, int(ref.fps_original / rate))
        rate = ref.fps_original / stride
    try:
        frames = read_frames(
            path, rate, trim=ref.frames_trim, size=size, fps_original=ref.fps_original, cache=cache
        )
    except MissingVideoError:
        hint = obtain_hint(sample.source_dataset, sample.domain, video_repo)
        raise MissingVideoError(
            path, f"{name} not found (source {sample.source_dataset}): {hint}"
        ) from None
    except VideoError as e:
        raise VideoError(path, f"{name}: {e.reason}") from e
    if stride is not None and np.any(np.diff(frames.source_indices) != stride):
        raise VideoError(
            path,
            f"{name}: stride sampling kept frames that are not every {stride}th original frame; the video's "
            f"frame rate is not a constant {ref.fps_original:g} (the row's fps_original); use rate sampling",
        )
    return frames
