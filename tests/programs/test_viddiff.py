import copy

import dspy
import pytest

from tests.conftest import TINY_CLIP
from tests.lm.fake_engine import server_error
from tests.lm.viddiff_roles import STAGE_NAMES, scripted_engine
from viddiff.data import read_sample_frames
from viddiff.programs import VidDiff, encode_frames
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
    program = VidDiff(FrameLocalizer("uniform"), image_size=96, jpeg_quality=70, num_threads=1)
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
