"""Data: the VidDiffBench loader, video frames with their cache, and the synthetic benchmark."""

from viddiff.data.benchmark import DEFAULT_SOURCE, Benchmark, load_benchmark, record_to_sample
from viddiff.data.frame_cache import FrameCache, default_cache_dir
from viddiff.data.records import Difference, Sample, VideoRef
from viddiff.data.sources import DEFAULT_VIDEO_REPO, obtain_hint, read_sample_frames
from viddiff.data.summary import GroupSummary, summarize
from viddiff.data.video import BASELINE_FPS, METHOD_FPS, Frames, read_frames, sampling_fps, write_video

__all__ = [
    "BASELINE_FPS",
    "DEFAULT_SOURCE",
    "DEFAULT_VIDEO_REPO",
    "METHOD_FPS",
    "Benchmark",
    "Difference",
    "FrameCache",
    "Frames",
    "GroupSummary",
    "Sample",
    "VideoRef",
    "default_cache_dir",
    "load_benchmark",
    "obtain_hint",
    "read_frames",
    "read_sample_frames",
    "record_to_sample",
    "sampling_fps",
    "summarize",
    "write_video",
]
