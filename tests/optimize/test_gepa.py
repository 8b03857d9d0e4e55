"""GEPA compiling (closed set): the feedback its reflection LM reads, and a compile through the
CLI against the loopback server whose reflection requests carry the frames as image parts."""

import dataclasses
import json
import re

import dspy
import numpy as np
import pytest

from tests.evaluation.test_scoring import make_sample
from tests.lm.loopback_server import loopback_server
from tests.cli.test_frames_cli import frames_engine
from tests.lm.viddiff_roles import scripted_engine, scripted_engine_with_matcher
from tests.optimize.test_compile import _lm_args, synth_dir  # noqa: F401 (the 12-pair fixture)
from viddiff.cli import main
from viddiff.config import RunConfig
from viddiff.optimize import load_compiled, program_metadata
from viddiff.data.records import VideoRef
from viddiff.data.video import Frames
from viddiff.optimize.feedback import FeedbackMetric, closed_feedback, open_feedback
from viddiff.programs import DifferencePrediction, VidDiff
from viddiff.retrieval import FrameLocalizer
from viddiff.run_log import Outcome


def test_feedback_names_each_counted_difference_its_label_answer_frames_and_reasoning():
    sample = make_sample("s", 0, "easy", "squat", {"0": "a", "1": "b", "2": "c", "3": "a"})
    predictions = [
        DifferencePrediction("0", "n0", "d0", "1", "a", rationale="A's hips go lower.", times_a=(1.25,), times_b=(1.5,)),
        DifferencePrediction("1", "n1", "d1", "3", "a", times_a=(0.0, 0.5, 1.0), times_b=(0.25, 0.75, 1.25)),
        DifferencePrediction("2", "n2", "d2", "1", "b", times_a=(2.0,), times_b=(2.0,)),
        DifferencePrediction("3", "n3", "d3", "1", None, error="TimeoutError: no answer"),
    ]
    score, feedback = closed_feedback(sample, predictions)
    assert score == pytest.approx(1 / 3)
    assert feedback == (
        "1 of 3 differences decided right for 'doing squat':\n"
        "- right: 'description 0 of squat' is true of video a, the answer was a (frames of video A at 1.25 s; "
        "video B at 1.50 s). Its reasoning: A's hips go lower.\n"
        "- WRONG: 'description 1 of squat' is true of video b, the answer was a (frames of video A at 0.00, 0.50, 1.00 s; "
        "video B at 0.25, 0.75, 1.25 s).\n"
        "- WRONG: 'description 3 of squat' is true of video a; no answer (TimeoutError: no answer)."
    )
    result = FeedbackMetric("closed")(dspy.Example(sample=sample), dspy.Prediction(predictions=predictions), None, "differencer.compare", None)
    assert (result.score, result.feedback) == (score, feedback)


def test_gepa_compiles_with_the_frames_as_image_parts_of_its_reflection_requests(synth_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "gepa.json"
    with loopback_server(scripted_engine(choice="hash")) as server:
        code = main([
            "compile", str(synth_dir), "--mode", "closed", "--optimizer", "gepa", "--out", str(out),
            "--held-out-fraction", "0.75", "--max-metric-calls", "12", *_lm_args(server, tmp_path),
        ])
        reflections = [c for c in server.calls if "new_instruction" in c.output_fields]
        prompts = [c.prompt for c in server.calls]
    assert code == 0
    assert reflections, "GEPA asked its reflection LM for a new instruction"
    assert all(c.image_urls for c in reflections)  # the frames the differencer saw, as image parts
    assert not any("base64" in prompt for prompt in prompts)  # never pasted into a text prompt
    assert program_metadata(out)["optimizer"]["optimizer"] == "gepa"
    assert json.loads(out.read_text())["differencer.compare"]["signature"]["instructions"]
    load_compiled(VidDiff(FrameLocalizer("uniform")), out, RunConfig(source=str(synth_dir), localization="uniform"))


def test_closed_feedback_says_how_far_the_frames_were_from_the_annotated_key_points():
    sample = dataclasses.replace(
        make_sample("s", 0, "easy", "squat", {"0": "a"}),
        videos=(VideoRef("a.mp4", (0, None), 30.0), VideoRef("b.mp4", (0, None), 30.0)),
        retrieval_frames=({"0": [30]}, {"0": [60]}),  # 1.0 s and 2.0 s at 30 frames/s
    )
    frames = Frames(np.zeros((8, 4, 4, 3), np.uint8), np.arange(8) * 0.25, np.arange(8) * 30 // 4, 4.0)
    predicted = DifferencePrediction("0", "n0", "d0", "1", "b", frames_a=(3,), frames_b=(6,), times_a=(0.75,), times_b=(1.5,))
    score, feedback = closed_feedback(sample, [predicted], (frames, frames))
    assert score == 0.0
    assert feedback.splitlines()[1] == (
        "- WRONG: 'description 0 of squat' is true of video a, the answer was b (frames of video A at 0.75 s; video B at 1.50 s; "
        "off the annotated key point by 0.25 s in video A and 0.50 s in video B)."
    )


def _outcome(key, label, matched, prediction, correct, flipped=False, error=None):
    return Outcome(sample_key="s", split="easy", domain="fitness", action="squat", key=key, name=f"name {key}", label=label,
                   prediction=prediction, matched_key=matched, flipped=flipped, correct=correct, error=error)


def test_open_feedback_names_what_was_matched_missed_and_matched_nothing():
    sample = make_sample("s", 0, "easy", "squat", {"0": "a", "1": "b", "2": "a", "3": "c"}, n_open=3)
    predictions = [
        DifferencePrediction("0", "deeper", "the squat is deeper", "gt_1", "a", rationale="A sits lower."),
        DifferencePrediction("1", "narrow", "the stance is narrower", "gt_1", "a"),
        DifferencePrediction("2", "arms", "the arms swing more", "gt_1", "b"),
    ]
    outcomes = [
        _outcome("0", "a", "0", "a", True),
        _outcome("1", "b", "1", "b", False, flipped=True),  # states the opposite: its answer a counts as b
        _outcome("2", "a", None, None, False, error="no proposal matched"),
        _outcome("3", "c", None, None, False),
    ]
    score, feedback = open_feedback(sample, predictions, outcomes)
    assert score == pytest.approx(1 / 3)
    assert feedback == (
        "1 of 3 annotated differences found and decided right for 'doing squat' (at most 3 could be proposed):\n"
        "- right: 'description 0 of squat' (true of video a) matched the proposal 'the squat is deeper' and was answered a. "
        "Its reasoning: A sits lower.\n"
        "- WRONG: 'description 1 of squat' (true of video b) matched the proposal 'the stance is narrower', which states its "
        "opposite, and was answered a.\n"
        "- MISSED: 'description 2 of squat' (true of video a) was never proposed (no proposal matched).\n"
        "Proposals that matched no annotated difference: 'the arms swing more'."
    )


def test_gepa_compiles_the_open_set_with_the_matchers_verdicts_as_feedback(synth_dir, tmp_path):  # noqa: F811
    out = tmp_path / "open.json"
    with loopback_server(scripted_engine_with_matcher(choice="hash")) as server:
        code = main(["compile", str(synth_dir), "--mode", "open", "--optimizer", "gepa", "--out", str(out),
                     "--held-out-fraction", "0.75", "--max-metric-calls", "12", *_lm_args(server, tmp_path)])
        reflections = [c for c in server.calls if "new_instruction" in c.output_fields]
    assert code == 0 and reflections
    assert any("annotated differences found and decided right" in c.prompt for c in reflections)
    load_compiled(VidDiff(FrameLocalizer("uniform")), out, RunConfig(source=str(synth_dir), localization="uniform", mode="open"))


def test_gepa_compiles_the_frames_baseline(synth_dir, tmp_path):  # noqa: F811
    out = tmp_path / "frames.json"
    with loopback_server(frames_engine(choice="hash")) as server:
        code = main(["compile", str(synth_dir), "--system", "frames", "--optimizer", "gepa", "--out", str(out),
                     "--held-out-fraction", "0.75", "--max-metric-calls", "12", "--lm", "openai/test-model",
                     "--api-base", server.api_base, "--cache-dir", str(tmp_path / "cache")])
        reflections = [c for c in server.calls if "new_instruction" in c.output_fields]
    assert code == 0 and reflections and all(c.image_urls for c in reflections)
    assert [k for k in json.loads(out.read_text()) if k not in ("metadata", "viddiff")] == ["baseline.answer"]


def test_a_reflection_lm_known_to_take_no_images_is_refused_before_any_work(synth_dir, tmp_path, capsys):  # noqa: F811
    code = main(["compile", str(synth_dir), "--optimizer", "gepa", "--out", str(tmp_path / "g.json"),
                 "--reflection-lm", "openai/gpt-3.5-turbo", "--lm", "openai/test-model", "--api-base", "http://127.0.0.1:9/v1"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "viddiff: error: the reflection LM openai/gpt-3.5-turbo takes no images, and GEPA shows it the frames: "
        "choose one that does with --reflection-lm (e.g. openai/gpt-4o)"
    )


def _spent(printed):
    """(LM calls spent, LM calls estimated) from compile's 'spent:' line."""
    match = re.search(r"spent: ([\d,]+) LM calls \(estimated ([\d,]+)\)", printed)
    return tuple(int(group.replace(",", "")) for group in match.groups())


@pytest.mark.parametrize("optimizer, extra", [("instructions", ["--trials", "2", "--candidates", "2"]), ("gepa", ["--max-metric-calls", "18"])])
def test_the_estimate_printed_first_is_within_20_percent_of_the_calls_made(synth_dir, tmp_path, capsys, optimizer, extra):  # noqa: F811
    with loopback_server(scripted_engine(choice="hash")) as server:
        code = main(["compile", str(synth_dir), "--optimizer", optimizer, "--out", str(tmp_path / "p.json"), "--held-out-fraction", "0.75",
                     "--no-lm-cache", *extra, *_lm_args(server, tmp_path)])
        made = len(server.calls)
    captured = capsys.readouterr()
    assert code == 0
    spent, estimated = _spent(captured.out)
    assert spent == made  # every call counted, reflection and proposals included
    assert f"estimate: about {estimated:,} LM calls carrying " in captured.err
    assert abs(spent - estimated) <= 0.2 * estimated


def test_above_the_threshold_compiling_waits_for_yes(synth_dir, tmp_path, capsys):  # noqa: F811
    with loopback_server(scripted_engine()) as server:
        code = main(["compile", str(synth_dir), "--optimizer", "gepa", "--out", str(tmp_path / "p.json"), "--held-out-fraction", "0.75",
                     "--max-metric-calls", "400", *_lm_args(server, tmp_path)])
        assert server.calls == []  # nothing spent
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(
        r"viddiff: error: this compile would make about [\d,]+ LM calls carrying [\d,]+ images \([\d,]+ program runs on samples\), "
        r"above 500: pass --yes to go ahead, or spend less with --max-metric-calls, --trials or a smaller held-out slice",
        last,
    )


def test_gepa_summarises_its_search_and_resumes_from_its_log_dir(synth_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "gepa.json"
    args = ["compile", str(synth_dir), "--optimizer", "gepa", "--out", str(out), "--held-out-fraction", "0.75",
            "--max-metric-calls", "12", "--no-lm-cache"]
    with loopback_server(scripted_engine(choice="hash")) as server:
        assert main([*args, *_lm_args(server, tmp_path)]) == 0
        first = len(server.calls)
    captured = capsys.readouterr()
    printed = captured.out
    assert re.search(r"compiling: .*best=\d+\.\d%", captured.err)  # the progress bar shows the best validation score
    summary = program_metadata(out)["scores"]["gepa"]
    assert summary["log_dir"] == str(tmp_path / "gepa.gepa") and (tmp_path / "gepa.gepa").is_dir()
    assert summary["metric_calls"] >= 12 and set(summary["pareto_front"]) <= set(range(summary["candidates"]))
    assert (
        f"GEPA: {summary['candidates']} candidates, the best (#{summary['best']}) " in printed
        and f"Pareto front: {len(summary['pareto_front'])} candidates" in printed
    )
    # Again with the same log dir: GEPA loads its state, its budget already spent, and searches no more;
    # only the before and after scores are measured again.
    with loopback_server(scripted_engine(choice="hash")) as server:
        assert main([*args, *_lm_args(server, tmp_path)]) == 0
        again = len(server.calls)
        searched = list(server.calls)
        # The compiled program runs, leaving its slice out.
        assert main(["run", str(synth_dir), "--program", str(out), "--out", str(tmp_path / "run"), *_lm_args(server, tmp_path)]) == 0
    assert program_metadata(out)["scores"]["gepa"]["metric_calls"] == summary["metric_calls"]
    assert again < first and not any("new_instruction" in c.output_fields for c in searched)
    assert "9 samples left out: the compiled program" in capsys.readouterr().out


def test_a_gepa_auto_level_sets_the_budget_up_front_and_waits_for_yes(synth_dir, tmp_path, capsys):  # noqa: F811
    with loopback_server(scripted_engine()) as server:
        code = main(["compile", str(synth_dir), "--optimizer", "gepa", "--gepa-auto", "light", "--out", str(tmp_path / "p.json"),
                     "--held-out-fraction", "0.75", *_lm_args(server, tmp_path)])
        assert server.calls == []
    # dspy.GEPA's light budget for one predictor (differencer.compare) and 3 validation samples:
    # 3 + 6 x 5 + 10 x 35 + (11 // 5 + 1) x 3 = 392 runs, plus before and after on 3 + 3 samples.
    assert code == 2
    assert "(404 program runs on samples), above 500: pass --yes" in capsys.readouterr().err.splitlines()[-1]
    gepa = dspy.GEPA(metric=lambda *args: 0.0, max_metric_calls=1, reflection_lm=dspy.LM("openai/unused"))
    assert gepa.auto_budget(num_preds=1, num_candidates=6, valset_size=3) == 392
