"""The video baseline through google-genai against a loopback fake of the Gemini REST API: the
exact videos a request carries (order, count, frame rate, duration, colours), inline bytes and the
Files API, and provider errors."""

import io

import av
import dspy
import numpy as np
import pytest

from tests.lm.fake_engine import FakeEngine, provider_error, rate_limit_error
from tests.lm.gemini_server import gemini_server
from viddiff.config import LMConfig
from viddiff.data.records import Difference
from viddiff.data.video import Frames
from viddiff.gemini import gemini_lm, video_rate
from viddiff.programs.baselines import VideoBaseline, clip_bytes, describe_clip
from viddiff.signatures.baselines import DecideDifferencesFromVideos

KEY = "gemini-key-0123456789"
DIFFERENCES = {
    "0": Difference("0", "depth", "the squat is deeper", "depth", "1"),
    "1": Difference("1", "speed", "the descent is faster", "speed", "gt_1"),
}


def _frames(colour, count, fps, size=(48, 64)):
    """`count` frames of one RGB colour with a white square moving right, sampled at `fps`."""
    images = np.zeros((count, *size, 3), np.uint8)
    images[:] = colour
    for i in range(count):
        images[i, 8:24, 4 + 2 * i : 20 + 2 * i] = 255
    times = np.arange(count) / fps
    return Frames(images=images, timestamps=times + 1.5, source_indices=np.arange(count) * 3, fps=fps)


def _decode(data):
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, float(stream.average_rate)


def _engine():
    engine = FakeEngine()
    engine.script(lambda c: "answers" in c.output_fields, {"answers": {"0": "a", "1": "b"}})
    return engine


def _lm(server, **options):
    return gemini_lm(LMConfig(model="gemini/gemini-test", api_base=server.url, cache=False, num_retries=2), KEY, poll_seconds=0, **options)


def _ask(server, videos, **options):
    program = VideoBaseline(mode="closed", lm=_lm(server, **options))
    with dspy.context(adapter=dspy.ChatAdapter(), track_usage=True):
        return program(videos=videos, action_description="a squat", differences=DIFFERENCES)


def test_the_request_carries_video_a_then_b_once_each_at_the_sampling_rate_in_true_colours():
    red, blue = _frames((255, 0, 0), 12, 4.0), _frames((0, 0, 255), 10, 5.0)
    with gemini_server(_engine()) as server:
        result = _ask(server, (red, blue))
        (generation,) = server.generations
    assert generation.model == "gemini-test" and generation.api_key == KEY
    assert DecideDifferencesFromVideos.instructions.split("\n")[0] in generation.system
    # Two video parts, inline, A then B, each after the line that names it.
    assert [(v.source, v.mime_type, v.fps) for v in generation.videos] == [("inline", "video/mp4", 4.0), ("inline", "video/mp4", 5.0)]
    assert [v.data for v in generation.videos] == [clip_bytes(red), clip_bytes(blue)]
    kinds = [kind if kind == "video" else value for kind, value in generation.parts]
    a_line, b_line = describe_clip(red, "A"), describe_clip(blue, "B")
    assert a_line == "Video A: 3.00 seconds, 12 frames at 4 frames per second."
    order = [i for i, part in enumerate(kinds) if part == "video" or a_line in part or b_line in part]
    assert [kinds[i] if kinds[i] == "video" else ("A" if a_line in kinds[i] else "B") for i in order] == ["A", "video", "B", "video"]
    # Each clip: every sampled frame, at the sampling rate (so its duration is the clip's), in RGB order.
    for video, frames in zip(generation.videos, (red, blue), strict=True):
        decoded, rate = _decode(video.data)
        assert len(decoded) == len(frames) and rate == frames.fps and video_rate(video.data) == frames.fps
        corner = decoded[0][40:, :8].reshape(-1, 3).mean(axis=0)
        assert np.abs(corner - frames.images[0, 40, 0]).max() < 12  # red stays red, blue stays blue
    assert [(p.key, p.answer, p.error) for p in result.predictions] == [("0", "a", None), ("1", "b", None)]
    assert result.predictions[0].times_a == tuple(round(t, 3) for t in red.timestamps)
    assert result.get_lm_usage()["gemini/gemini-test"]["prompt_tokens"] > 0


def test_odd_sizes_are_cropped_to_even_for_h264():
    frames = _frames((0, 200, 0), 4, 2.0, size=(47, 63))
    decoded, _ = _decode(clip_bytes(frames))
    assert decoded[0].shape == (46, 62, 3)


def test_large_videos_go_through_the_files_api_waiting_for_active_and_deleted_after():
    red, blue = _frames((255, 0, 0), 12, 4.0), _frames((0, 0, 255), 10, 5.0)
    with gemini_server(_engine(), processing_polls=2) as server:
        result = _ask(server, (red, blue), inline_limit_bytes=100)
        (generation,) = server.generations
        files = dict(server.files)
    assert [(v.source, v.file_id, v.fps) for v in generation.videos] == [("file", "file1", 4.0), ("file", "file2", 5.0)]
    assert [v.data for v in generation.videos] == [clip_bytes(red), clip_bytes(blue)]
    assert {f.id: (f.state, f.gets, f.deleted) for f in files.values()} == {"file1": ("ACTIVE", 3, True), "file2": ("ACTIVE", 3, True)}
    assert all(p.error is None for p in result.predictions)


def test_a_video_gemini_cannot_process_fails_the_call_and_is_deleted():
    with gemini_server(_engine(), fail_processing=True) as server:
        with pytest.raises(dspy.LMProviderError, match="could not process the uploaded video files/file1"):
            _ask(server, (_frames((255, 0, 0), 4, 4.0), _frames((0, 0, 255), 4, 4.0)), inline_limit_bytes=100)
        assert server.generations == [] and server.files["file1"].deleted


def test_a_refused_upload_is_a_provider_error():
    with gemini_server(_engine(), refuse_uploads=True) as server:
        with pytest.raises(dspy.LMProviderError, match="Gemini 400 INVALID_ARGUMENT: upload refused: video too long"):
            _ask(server, (_frames((255, 0, 0), 4, 4.0), _frames((0, 0, 255), 4, 4.0)), inline_limit_bytes=100)


def test_a_rate_limit_is_retried_and_a_bad_request_is_not():
    videos = (_frames((255, 0, 0), 4, 4.0), _frames((0, 0, 255), 4, 4.0))
    engine = _engine()
    engine.fail("", rate_limit_error("quota exceeded"), times=1)
    with gemini_server(engine) as server:
        result = _ask(server, videos)
        assert len(server.generations) == 2 and all(p.answer for p in result.predictions)
    engine = _engine()
    engine.fail("", provider_error("request too large", status=400))
    with gemini_server(engine) as server:
        with pytest.raises(dspy.LMProviderError, match="Gemini 400 INVALID_ARGUMENT: request too large"):
            _ask(server, videos)
        assert len(server.generations) == 1


def test_the_video_system_needs_a_gemini_model():
    with pytest.raises(ValueError, match="its model must be gemini/<model>, got 'openai/gpt-4o'"):
        gemini_lm(LMConfig(model="openai/gpt-4o"), KEY)
