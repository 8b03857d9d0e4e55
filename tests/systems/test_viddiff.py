"""The VidDiff system reads frames for CLIP no larger than CLIP sees them, and the differencer's
few chosen frames again at `image_size`: the requests are those of a full-size read."""

import dspy
import pytest

from tests.conftest import TINY_CLIP
from tests.lm.viddiff_roles import scripted_engine
from viddiff.config import ClipConfig, RunConfig
from viddiff.data import load_benchmark
from viddiff.data.synth import generate_benchmark
from viddiff.programs.images import encode_frames
from viddiff.systems import read_videos, system_for


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("viddiff_system") / "synth"
    generate_benchmark(out, pairs=3, seed=11, progress=False)
    return out


def test_clip_reads_small_and_the_differencer_gets_frames_at_image_size(synth_dir, tmp_path, tiny_clip_checkpoint):
    config = RunConfig(
        source=str(synth_dir), localization="viterbi", image_size=96, cache_dir=str(tmp_path / "cache"),
        clip=ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu"),
    ).validate()
    system = system_for("viddiff")
    engine = scripted_engine()
    lm = engine.lm()
    program = system.build(config, {"planner": lm, "differencer": lm})
    sample = load_benchmark(synth_dir)[0]
    prepared = system.prepare(program, sample, config, frame_cache=None)
    assert max(prepared[0].images.shape[1:3]) == 32  # the tiny CLIP's input size, not 96
    with dspy.context(adapter=dspy.ChatAdapter()):
        record = system.run_sample(program, sample, config, frame_cache=None, lms={}, videos=prepared)
    full = read_videos(sample, config, fps_table="method")  # at image_size
    assert max(full[0].images.shape[1:3]) == 96
    calls = [c for c in engine.calls if "answer" in c.output_fields]
    assert len(calls) == len(record.predictions) > 0
    for prediction in record.predictions:
        call = next(c for c in calls if prediction.description in c.last_user_text)
        expected = [
            image.url
            for w, chosen in ((0, prediction.frames_a), (1, prediction.frames_b))
            for image in encode_frames(full[w].images, chosen, size=96, quality=85)
        ]
        assert list(call.image_urls) == expected


def test_the_chosen_frames_are_read_again_once_per_video_and_a_lost_video_fails_its_differences(
    synth_dir, tmp_path, tiny_clip_checkpoint, monkeypatch
):
    """One pass per video for every difference of the sample; when video B can no longer be read,
    each asked difference records that error and the sample goes on to its end."""
    import shutil

    from viddiff.programs import images

    copy = tmp_path / "synth"
    shutil.copytree(synth_dir, copy)
    config = RunConfig(
        source=str(copy), localization="viterbi", image_size=96, cache_dir=str(tmp_path / "cache"),
        clip=ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu"),
    ).validate()
    system = system_for("viddiff")
    program = system.build(config, {"planner": scripted_engine().lm(), "differencer": scripted_engine().lm()})
    sample = load_benchmark(copy)[1]
    reads = []
    fetch = images.fetch_frames
    monkeypatch.setattr(images, "fetch_frames", lambda frames, indices, size: reads.append(list(indices)) or fetch(frames, indices, size))
    prepared = system.prepare(program, sample, config, frame_cache=None)
    with dspy.context(adapter=dspy.ChatAdapter()):
        record = system.run_sample(program, sample, config, frame_cache=None, lms={}, videos=prepared)
    assert record.status == "ok" and len(record.predictions) > 1
    assert reads == [
        sorted({i for p in record.predictions for i in p.frames_a}),
        sorted({i for p in record.predictions for i in p.frames_b}),
    ]

    sample.video_path(1).write_bytes(b"not a video any more")
    from viddiff.data import video

    monkeypatch.setattr(video, "_FETCHED", video._FrameMemo(2**20))  # forget the frames read above
    with dspy.context(adapter=dspy.ChatAdapter()):
        record = system.run_sample(program, sample, config, frame_cache=None, lms={}, videos=prepared)
    assert record.status == "partial" and record.error is None
    (error,) = {p.error for p in record.predictions}
    assert error.startswith("VideoError: ") and str(sample.video_path(1)) in error
