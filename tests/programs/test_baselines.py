"""The frames baseline: the exact request it sends and the parsing of both answer shapes."""

import json

import dspy
import pytest

from tests.lm.fake_engine import FakeEngine, provider_error
from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import input_json
from viddiff.data import read_sample_frames
from viddiff.data.records import Difference
from viddiff.programs.images import ImageEncoding
from viddiff.programs.baselines import (
    FramesBaseline,
    cap_frames,
    closed_predictions,
    describe_frames,
    even_subset,
    open_predictions,
)
from viddiff.programs.images import encode_frames
from viddiff.signatures.baselines import DecideDifferencesFromFrames, FindDifferencesFromFrames
from viddiff.signatures.types import StatedDifference


def _videos(sample, size=64):
    return tuple(read_sample_frames(sample, w, fps_table="baseline", size=size) for w in (0, 1))


def _answer_every_key(call):
    """Closed-set double: 'a' for even keys, 'b' for odd ones."""
    return {"answers": {key: "ab"[int(key) % 2] for key in input_json(call, "differences")}}


def _call(program, server, **inputs):
    lm = dspy.LM("openai/test-model", api_base=server.api_base, api_key="sk-test", cache=False)
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        return program(**inputs)


def _layout(request) -> str:
    """The user message as text, each image part shown as <IMAGE> (its JSON quotes dropped)."""
    (user,) = [m for m in request.messages if m["role"] == "user"]
    text = "".join(part["text"] if part["type"] == "text" else "<IMAGE>" for part in user["content"])
    return text.replace('"<IMAGE>"', "<IMAGE>")


def _times(frames, indices):
    start = float(frames.timestamps[0])
    return ", ".join(f"{float(frames.timestamps[i]) - start:.2f}" for i in indices)


def test_even_subset_keeps_first_and_last_and_spreads_the_rest():
    assert even_subset(10, 4) == [0, 3, 6, 9]
    assert even_subset(9, 3) == [0, 4, 8]
    assert even_subset(8, 2) == [0, 7]
    assert even_subset(7, 1) == [3]
    assert even_subset(5, 5) == even_subset(5, 9) == [0, 1, 2, 3, 4]
    for count in range(2, 40):
        for keep in range(2, count + 1):
            chosen = even_subset(count, keep)
            assert len(set(chosen)) == keep and chosen == sorted(chosen) and chosen[0] == 0 and chosen[-1] == count - 1


def test_the_cap_shares_images_in_proportion_to_each_videos_length():
    assert cap_frames(40, 30, 150) == (list(range(40)), list(range(30)))  # fits: everything
    keep_a, keep_b = cap_frames(120, 80, 150)
    assert (len(keep_a), len(keep_b)) == (90, 60)
    assert keep_a == even_subset(120, 90) and keep_b == even_subset(80, 60)
    assert cap_frames(9, 8, 5) == ([0, 4, 8], [0, 7])  # 5 * 9 / 17 = 2.6 -> 3 of A, 2 of B
    assert cap_frames(300, 1, 10) == (even_subset(300, 9), [0])  # each video keeps at least one frame
    for count_a in range(1, 30):
        for count_b in range(1, 30):
            for cap in range(2, count_a + count_b):
                kept = cap_frames(count_a, count_b, cap)
                assert len(kept[0]) + len(kept[1]) == cap and kept[0] and kept[1]


def test_the_request_is_every_frame_of_a_then_b_with_their_counts_and_times(synth_bench):
    sample = synth_bench[0]
    videos = _videos(sample)
    asked = {k: d for k, d in sample.candidates.items() if sample.labels[k] in ("a", "b")}
    program = FramesBaseline(mode="closed", images=ImageEncoding(size=64, quality=70))
    with loopback_server(FakeEngine(responses=[_answer_every_key])) as server:
        result = _call(program, server, videos=videos, action_description=sample.action_description, differences=asked, seed=3)
        (request,) = server.completion_requests()

    # Images: A's sampled frames, then B's, as separate image parts, byte for byte.
    expected = [image.url for w in (0, 1) for image in encode_frames(videos[w].images, range(len(videos[w])), size=64, quality=70)]
    assert request.image_urls == expected
    # The text: which frames belong to which video, how many, the rate and each frame's time.
    n_a, n_b = len(videos[0]), len(videos[1])
    assert _layout(request) == (
        f"[[ ## action_description ## ]]\n{sample.action_description}\n\n"
        f"[[ ## video_a ## ]]\nVideo A: the next {n_a} frames, sampled at 4 frames per second, taken at "
        f"{_times(videos[0], range(n_a))} seconds.\n\n"
        f"[[ ## frames_a ## ]]\n[{', '.join(['<IMAGE>'] * n_a)}]\n\n"
        f"[[ ## video_b ## ]]\nVideo B: the next {n_b} frames, sampled at 4 frames per second, taken at "
        f"{_times(videos[1], range(n_b))} seconds.\n\n"
        f"[[ ## frames_b ## ]]\n[{', '.join(['<IMAGE>'] * n_b)}]\n\n"
        # Only the a/b-labelled differences, key -> description.
        f"[[ ## differences ## ]]\n{json.dumps({k: d.description for k, d in asked.items()})}\n\n"
        "Respond with the corresponding output fields, starting with the field `[[ ## answers ## ]]` (must be "
        "formatted as a valid Python dict[str, Literal['a', 'b']]), and then ending with the marker for `[[ ## completed ## ]]`."
    )
    assert _times(videos[0], [0, 1, 2]) == "0.00, 0.25, 0.50"
    assert DecideDifferencesFromFrames.instructions.split("\n")[0] in request.messages[0]["content"]

    assert [p.key for p in result.predictions] == list(asked)
    assert [p.answer for p in result.predictions] == ["ab"[int(k) % 2] for k in asked]
    assert all(p.error is None for p in result.predictions) and result.warnings == []
    for p in result.predictions:  # every difference was judged on every frame sent
        assert p.frames_a == tuple(range(n_a)) and p.frames_b == tuple(range(n_b))
        assert p.times_a == tuple(round(float(t), 3) for t in videos[0].timestamps)


def test_above_the_cap_each_video_sends_an_even_subset_and_the_sample_is_warned(synth_bench):
    sample = synth_bench[0]
    videos = _videos(sample)
    n_a, n_b = len(videos[0]), len(videos[1])
    cap = 7
    keep_a, keep_b = cap_frames(n_a, n_b, cap)
    program = FramesBaseline(mode="closed", max_images=cap, images=ImageEncoding(size=64))
    with loopback_server(FakeEngine(responses=[_answer_every_key])) as server:
        result = _call(program, server, videos=videos, action_description="a squat", differences=sample.candidates)
        (request,) = server.completion_requests()

    assert len(request.image_urls) == cap == len(keep_a) + len(keep_b)
    assert keep_a[0] == 0 and keep_a[-1] == n_a - 1 and keep_b[0] == 0 and keep_b[-1] == n_b - 1
    expected = [image.url for w, kept in ((0, keep_a), (1, keep_b)) for image in encode_frames(videos[w].images, kept, size=64, quality=85)]
    assert request.image_urls == expected
    assert (
        f"[[ ## video_a ## ]]\nVideo A: the next {len(keep_a)} frames, an even subset of the {n_a} frames sampled at "
        f"4 frames per second, taken at {_times(videos[0], keep_a)} seconds.\n\n"
        f"[[ ## frames_a ## ]]\n[{', '.join(['<IMAGE>'] * len(keep_a))}]\n\n"
        f"[[ ## video_b ## ]]\nVideo B: the next {len(keep_b)} frames, an even subset of the {n_b} frames sampled at "
        f"4 frames per second, taken at {_times(videos[1], keep_b)} seconds.\n\n"
        f"[[ ## frames_b ## ]]\n[{', '.join(['<IMAGE>'] * len(keep_b))}]\n\n"
    ) in _layout(request)
    assert result.frames == (keep_a, keep_b)
    assert all(p.frames_a == tuple(keep_a) and p.frames_b == tuple(keep_b) for p in result.predictions)
    assert result.warnings == [
        f"image cap {cap}: sent an even subset of the sampled frames, {len(keep_a)} of {n_a} of video A and {len(keep_b)} of {n_b} of video B"
    ]


def test_a_missing_key_is_an_error_of_that_difference_and_an_unknown_key_a_warning(synth_bench):
    sample = synth_bench[0]
    keys = list(sample.candidates)[:3]
    asked = {k: sample.candidates[k] for k in keys}
    answer = {"answers": {keys[0]: "b", f" {keys[1]} ": "a", "99": "a"}}  # keys[2] left out, '99' never asked
    program = FramesBaseline(mode="closed")
    with loopback_server(FakeEngine(responses=[("", answer)])) as server:
        result = _call(program, server, videos=_videos(sample), action_description="a squat", differences=asked)
        assert len(server.completion_requests()) == 1  # parsed as typed: no second, repairing call

    by_key = {p.key: p for p in result.predictions}
    assert list(by_key) == keys
    assert (by_key[keys[0]].answer, by_key[keys[0]].error) == ("b", None)
    assert (by_key[keys[1]].answer, by_key[keys[1]].error) == ("a", None)  # spaces around a key are tolerated
    assert by_key[keys[2]].answer is None
    assert by_key[keys[2]].error == "no answer for this difference in the baseline's answer (it answered unknown keys '99')"
    assert result.warnings == ["the answer named unknown difference keys '99': ignored"]


def test_closed_predictions_parse_without_an_lm():
    differences = {k: Difference(k, f"n{k}", f"d{k}", f"q{k}", "1") for k in ("0", "1")}
    frames = {"frames_a": (0, 2), "frames_b": (1,), "times_a": (0.0, 0.5), "times_b": (0.25,)}
    predictions, unknown = closed_predictions(differences, {"1": "a", "0": "b"}, frames)
    assert unknown == [] and [(p.key, p.answer, p.error) for p in predictions] == [("0", "b", None), ("1", "a", None)]
    assert predictions[0].description == "d0" and predictions[0].frames_a == (0, 2) and predictions[0].times_b == (0.25,)
    predictions, unknown = closed_predictions(differences, {}, frames)
    assert unknown == [] and all(p.answer is None and p.error == "no answer for this difference in the baseline's answer" for p in predictions)


def test_open_set_lists_at_most_n_differences_each_with_a_or_b(synth_bench):
    sample = synth_bench[0]
    stated = [
        {"description": "the squat is deeper", "answer": "a"},
        {"description": "  ", "answer": "b"},
        {"description": "the descent is faster ", "answer": "b"},
        {"description": "the feet are wider apart", "answer": "a"},
    ]
    program = FramesBaseline(mode="open")
    with loopback_server(FakeEngine(responses=[("", {"differences": stated})])) as server:
        result = _call(program, server, videos=_videos(sample), action_description="a squat", n_differences=2)
        (request,) = server.completion_requests()
    assert "[[ ## n_differences ## ]]\n2\n\nRespond with the corresponding output fields, starting with the field `[[ ## differences ## ]]`" in _layout(request)
    assert [(p.key, p.description, p.answer, p.error) for p in result.predictions] == [
        ("0", "the squat is deeper", "a", None),
        ("1", "the descent is faster", "b", None),
    ]
    assert result.warnings == ["the answer listed 3 differences, more than the 2 asked for: kept the first 2"]
    predictions, listed = open_predictions([StatedDifference(description="x", answer="b")], 4, {})
    assert listed == 1 and [(p.key, p.name, p.answer, p.num_frames) for p in predictions] == [("0", "x", "b", "gt_1")]


def test_an_answer_outside_a_or_b_fails_the_call_and_a_provider_error_is_raised(synth_bench):
    sample = synth_bench[0]
    videos = _videos(sample)
    program = FramesBaseline(mode="closed")
    with loopback_server(FakeEngine(responses=[("", {"answers": {"0": "c"}})])) as server:
        with pytest.raises(dspy.utils.exceptions.AdapterParseError):
            _call(program, server, videos=videos, action_description="a squat", differences=sample.candidates)
    with loopback_server(FakeEngine(fail_when=[("", provider_error("too many images"))])) as server:
        with pytest.raises(dspy.LMProviderError, match="too many images"):
            _call(program, server, videos=videos, action_description="a squat", differences=sample.candidates)


def test_predictor_names_are_stable_for_compiled_programs():
    for mode, signature in (("closed", DecideDifferencesFromFrames), ("open", FindDifferencesFromFrames)):
        program = FramesBaseline(mode=mode)
        ((name, predictor),) = program.named_predictors()
        assert name == "baseline.answer" and predictor.signature.instructions == signature.instructions
        assert list(program.dump_state()) == ["baseline.answer"]


def test_bad_arguments_are_refused(synth_bench):
    with pytest.raises(ValueError, match="max_images must be at least 2"):
        FramesBaseline(max_images=1)
    with pytest.raises(ValueError, match="mode must be one of closed, open"):
        FramesBaseline(mode="both")
    program = FramesBaseline(mode="open")
    with pytest.raises(ValueError, match="open set: give n_differences >= 1"):
        program(videos=_videos(synth_bench[0]), action_description="a squat", differences=synth_bench[0].candidates)


def test_the_frame_listing_names_the_video_count_rate_and_times(synth_bench):
    frames = _videos(synth_bench[1])[1]
    line = describe_frames(frames, [0, 2], "B")
    assert line == f"Video B: the next 2 frames, an even subset of the {len(frames)} frames sampled at 4 frames per second, taken at 0.00, 0.50 seconds."
