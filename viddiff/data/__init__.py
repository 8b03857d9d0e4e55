"""Data: the VidDiffBench loader, video frames with their cache, and the synthetic benchmark."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.data.benchmark import DEFAULT_SOURCE, Benchmark, load_benchmark, record_to_sample
    from viddiff.data.frame_cache import FrameCache, default_cache_dir
    from viddiff.data.records import Difference, Sample, VideoRef
    from viddiff.data.sources import DEFAULT_VIDEO_REPO, obtain_hint, read_sample_frames
    from viddiff.data.summary import GroupSummary, summarize
    from viddiff.data.video import BASELINE_FPS, METHOD_FPS, Frames, read_frames, sampling_fps, write_video

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "benchmark": ("DEFAULT_SOURCE", "Benchmark", "load_benchmark", "record_to_sample"),
        "frame_cache": ("FrameCache", "default_cache_dir"),
        "records": ("Difference", "Sample", "VideoRef"),
        "sources": ("DEFAULT_VIDEO_REPO", "obtain_hint", "read_sample_frames"),
        "summary": ("GroupSummary", "summarize"),
        "video": ("BASELINE_FPS", "METHOD_FPS", "Frames", "read_frames", "sampling_fps", "write_video"),
    },
)
