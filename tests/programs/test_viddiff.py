import base64
import copy
import io

import dspy
import numpy as np
import pytest
from PIL import Image as PILImage

from tests.conftest import TINY_CLIP
from tests.lm.fake_engine import server_error
from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import STAGE_NAMES, scripted_engine
from viddiff.data import read_sample_frames
from viddiff.programs import VidDiff, encode_frames
from viddiff.programs.images import ImageEncoding
from viddiff.programs.records import DifferencePrediction
from viddiff.clip import ClipEmbedder
from viddiff.config import ClipConfig
from viddiff.retrieval import FrameLocalizer


def _videos(sample):
    return tuple(read_sample_frames(sample, w, size=256) for w in (0, 1))


def _inputs(sample):
    return dict(
        videos=_videos(sample),
        action_description=sample.action_description,
        key_points=sample.retrieval_frames,
        trim_starts=tuple(v.frames_trim[0] for v in sample.videos),
        seed=sample.sample_hash,
    )


def _run(program, engine, **inputs):
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        return program(**inputs)


def test_closed_set_decides_every_candidate(synth_bench):
    sample = synth_bench[0]
    engine = scripted_engine(choice="hash")
    program = VidDiff(FrameLocalizer("uniform"), num_threads=4)
    result = _run(program, engine, differences=sample.candidates, **_inputs(sample))

    assert [p.key for p in result.predictions] == list(sample.candidates)
    assert all(p.error is None and p.answer in ("a", "b") for p in result.predictions)
    assert [s.name for s in result.stages] == STAGE_NAMES
    assert result.links == {key: (1,) for key in sample.candidates}
    # LM calls: one plan, one link, one differencer call per candidate; no proposer in closed set.
    fields = sorted(tuple(c.output_fields) for c in engine.calls)
    assert fields.count(("stages",)) == 1 and fields.count(("links",)) == 1
    assert fields.count(("rationale", "answer")) == len(sample.candidates)
    for p in result.predictions:
        expected = 1 if p.num_frames == "1" else 3
        assert len(p.frames_a) == len(p.times_a) == expected and len(p.frames_b) == expected
        segment_a = result.localizations[0].segments[1]
        assert all(segment_a[0] - 3 <= f < segment_a[1] + 3 for f in p.frames_a)


def test_the_differencer_sees_exactly_the_localized_frames_a_then_b(synth_bench):
    sample = synth_bench[0]
    engine = scripted_engine()
    program = VidDiff(FrameLocalizer("uniform"), images=ImageEncoding(size=96, quality=70), num_threads=1)
    inputs = _inputs(sample)
    result = _run(program, engine, differences=sample.candidates, **inputs)
    videos = inputs["videos"]
    for prediction in result.predictions:
        (call,) = [c for c in engine.calls if "answer" in c.output_fields and prediction.description in c.last_user_text]
        expected = [
            image.url
            for w, chosen in ((0, prediction.frames_a), (1, prediction.frames_b))
            for image in encode_frames(videos[w].images, chosen, size=96, quality=70)
        ]
        assert list(call.image_urls) == expected
        assert len(call.image_urls) == len(prediction.frames_a) + len(prediction.frames_b)
        seconds = 0.0 if len(prediction.times_a) < 2 else round(prediction.times_a[1] - prediction.times_a[0], 3)
        assert f"[[ ## seconds_between_frames ## ]]\n{seconds}" in call.last_user_text
    assert prediction.times_a == tuple(round(float(videos[0].timestamps[i]), 3) for i in prediction.frames_a)


def test_open_set_proposes_repairs_and_decides(synth_bench):
    sample = synth_bench[0]
    engine = scripted_engine()
    program = VidDiff(FrameLocalizer("uniform"))
    result = _run(program, engine, n_differences=3, **_inputs(sample))
    # The repeated name "Depth" is dropped, "several" becomes gt_1, and at most 3 are kept.
    assert [(d.name, d.num_frames) for d in result.differences.values()] == [("depth", "1"), ("speed", "gt_1"), ("stance", "gt_1")]
    assert [p.description for p in result.predictions] == ["the squat is deeper", "the descent is faster", "the feet are wider apart"]
    assert all(p.answer == "a" for p in result.predictions)
    proposer_call = next(c for c in engine.calls if "differences" in c.output_fields)
    assert "[[ ## n_differences ## ]]\n3" in proposer_call.last_user_text
    assert sample.action_description in proposer_call.last_user_text


def test_viterbi_mode_with_the_clip_embedder(synth_bench, tiny_clip_checkpoint):
    sample = synth_bench[0]
    clip = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu"))
    program = VidDiff(FrameLocalizer("viterbi", embedder=clip))
    result = _run(program, scripted_engine(), differences=sample.candidates, **_inputs(sample))
    for localization, video in zip(result.localizations, _inputs(sample)["videos"]):
        assert len(localization.segments) == 3
        assert localization.segments[0][0] == 0 and localization.segments[-1][1] == len(video)
    assert all(p.answer in ("a", "b") for p in result.predictions)


def test_oracle_and_random_modes_skip_the_planner(synth_bench):
    sample = synth_bench[0]
    for mode in ("oracle", "random"):
        engine = scripted_engine()
        result = _run(VidDiff(FrameLocalizer(mode)), engine, differences=sample.candidates, **_inputs(sample))
        assert all(tuple(c.output_fields) == ("rationale", "answer") for c in engine.calls)
        assert result.stages == []
        assert all(p.answer in ("a", "b") for p in result.predictions if p.error is None)


def test_a_failing_difference_leaves_the_others_intact(synth_bench):
    sample = synth_bench[0]
    bad_key, bad = next(iter(sample.candidates.items()))
    engine = scripted_engine()
    engine.fail(lambda c: "answer" in c.output_fields and bad.description in c.last_user_text, server_error())
    result = _run(VidDiff(FrameLocalizer("uniform")), engine, differences=sample.candidates, **_inputs(sample))
    failed = [p for p in result.predictions if p.error]
    assert [p.key for p in failed] == [bad_key]
    assert failed[0].answer is None and failed[0].error.startswith("LMServerError")
    assert failed[0].frames_a  # the frames it would have been judged on are still recorded
    assert all(p.answer in ("a", "b") for p in result.predictions if p.key != bad_key)


def test_an_answer_that_does_not_parse_is_an_error_not_a_guess(synth_bench):
    sample = synth_bench[0]
    bad_key, bad = next(iter(sample.candidates.items()))
    engine = scripted_engine()
    engine.script(lambda c: "answer" in c.output_fields and bad.description in c.last_user_text, "I think it is video A, maybe.")
    result = _run(VidDiff(FrameLocalizer("uniform")), engine, differences=sample.candidates, **_inputs(sample))
    failed = next(p for p in result.predictions if p.key == bad_key)
    assert failed.answer is None and failed.error.startswith("AdapterParseError")
    assert all(p.error is None for p in result.predictions if p.key != bad_key)


def test_three_way_differencer_can_answer_c(synth_bench):
    sample = synth_bench[0]
    engine = scripted_engine(choice="last")
    result = _run(VidDiff(FrameLocalizer("uniform"), three_way=True), engine, differences=sample.candidates, **_inputs(sample))
    assert {p.answer for p in result.predictions} == {"c"}


def test_each_role_uses_its_own_lm(synth_bench):
    sample = synth_bench[0]
    engines = {role: scripted_engine() for role in ("proposer", "planner", "differencer")}
    program = VidDiff(FrameLocalizer("uniform"), lms={role: e.lm() for role, e in engines.items()})
    with dspy.context(adapter=dspy.ChatAdapter()):
        program(n_differences=2, **_inputs(sample))
    assert {tuple(c.output_fields) for c in engines["proposer"].calls} == {("differences",)}
    assert {tuple(c.output_fields) for c in engines["planner"].calls} == {("stages",), ("links",)}
    assert {tuple(c.output_fields) for c in engines["differencer"].calls} == {("rationale", "answer")}


def test_samples_get_their_own_rollout_ids():
    program = VidDiff(FrameLocalizer("uniform"))
    with dspy.context(lm=scripted_engine().lm()):
        assert program._config("proposer", 1) != program._config("proposer", 2)
        assert program._config("proposer", 1) == program._config("proposer", 1)


def test_deep_copies_share_the_localizer_and_not_the_predictors():
    program = VidDiff(FrameLocalizer("uniform"))
    copied = copy.deepcopy(program)
    assert copied.localizer is program.localizer
    assert copied.differencer.compare is not program.differencer.compare
    assert [name for name, _ in program.named_predictors()] == ["proposer.propose", "planner.plan", "linker.link", "differencer.compare"]


def test_open_set_needs_a_count(synth_bench):
    with pytest.raises(ValueError, match="n_differences"):
        _run(VidDiff(FrameLocalizer("uniform")), scripted_engine(), **_inputs(synth_bench[0]))


@pytest.mark.parametrize(
    "image_size, image_format, image_detail, mime",
    [(None, "png", "high", "image/png"), (96, "jpeg", "low", "image/jpeg"), (96, "jpeg", "auto", "image/jpeg")],
)
def test_the_request_carries_the_chosen_detail_mime_type_and_size(synth_bench, image_size, image_format, image_detail, mime):
    sample = synth_bench[0]
    videos = tuple(read_sample_frames(sample, w) for w in (0, 1))  # full resolution, 160 x 120
    program = VidDiff(
        FrameLocalizer("uniform"), images=ImageEncoding(image_size, image_format, detail=image_detail), num_threads=1
    )
    with loopback_server(scripted_engine()) as server:
        lm = dspy.LM("openai/test-model", api_base=server.api_base, api_key="sk-test", cache=False)
        with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
            result = program(differences=sample.candidates, **{**_inputs(sample), "videos": videos})
        requests = [r for r in server.requests if r.image_parts]
    assert len(requests) == len(sample.candidates) and all(p.error is None for p in result.predictions)
    height, width = videos[0].images.shape[1:3]
    expected_size = (width, height) if image_size is None else (96, 72)
    for request in requests:
        for part in request.image_parts:
            image_url = part["image_url"]
            assert image_url.get("detail") == (None if image_detail == "auto" else image_detail)
            head, data = image_url["url"].split(",", 1)
            assert head == f"data:{mime};base64"
            decoded = PILImage.open(io.BytesIO(base64.b64decode(data)))
            assert decoded.format == image_format.upper() and decoded.size == expected_size


def test_png_frames_are_lossless_and_auto_detail_is_a_plain_image(synth_bench):
    images = read_sample_frames(synth_bench[0], 0).images
    (png,) = encode_frames(images, [3], size=None, quality=10, format="png", detail="high")
    decoded = PILImage.open(io.BytesIO(base64.b64decode(png.url.split(",", 1)[1])))
    assert (np.asarray(decoded.convert("RGB")) == images[3]).all()
    assert png.format() == [{"type": "image_url", "image_url": {"url": png.url, "detail": "high"}}]
    (jpeg,) = encode_frames(images, [3], size=64, quality=85)
    assert type(jpeg) is dspy.Image and jpeg.format() == [{"type": "image_url", "image_url": {"url": jpeg.url}}]
    with pytest.raises(ValueError, match="image format must be one of jpeg, png, got 'gif'"):
        encode_frames(images, [3], size=None, quality=85, format="gif")


def test_oracle_leaves_a_difference_without_key_points_unserved_and_unasked(synth_bench):
    sample = synth_bench[0]
    served, unserved, unlisted = list(sample.candidates)[:3]
    differences = {k: sample.candidates[k] for k in (served, unserved, unlisted)}
    # `served` has a key point in both videos; `unserved` only in video A; `unlisted` in neither.
    key_points = ({served: [20], unserved: [20]}, {served: [20], unserved: None})
    engine = scripted_engine()
    result = _run(
        VidDiff(FrameLocalizer("oracle")), engine, differences=differences, **{**_inputs(sample), "key_points": key_points}
    )
    (call,) = engine.calls
    assert differences[served].description in call.last_user_text
    by_key = {p.key: p for p in result.predictions}
    assert by_key[served].answer in ("a", "b") and not by_key[served].unserved
    for key in (unserved, unlisted):
        assert by_key[key].unserved and by_key[key].answer is None and by_key[key].error is None
    assert by_key[unserved].frames_a and not by_key[unserved].frames_b  # what could be placed is still recorded
    assert DifferencePrediction.from_dict(by_key[unserved].to_dict()) == by_key[unserved]


@pytest.mark.parametrize("index, which", [(4, 0), (2, 1)])  # a 30 fps video file; a 24 fps frame folder
def test_stride_sampling_keeps_every_kth_original_frame(synth_bench, index, which):
    sample = synth_bench[index]
    fps = 8 if sample.domain == "fitness" else 5
    ref = sample.videos[which]
    stride = int(ref.fps_original / fps)  # the published int(fps_original / fps): 30 / 8 -> 3, 24 / 5 -> 4
    frames = read_sample_frames(sample, which, sampling="stride")
    assert frames.source_indices[0] == ref.frames_trim[0]
    assert set(np.diff(frames.source_indices)) == {stride}
    assert frames.fps == pytest.approx(ref.fps_original / stride)
    by_rate = read_sample_frames(sample, which, sampling="rate")
    assert by_rate.fps == fps and len(by_rate) < len(frames)
