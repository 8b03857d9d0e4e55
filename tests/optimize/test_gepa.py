"""GEPA compiling (closed set): the feedback its reflection LM reads, and a compile through the
CLI against the loopback server whose reflection requests carry the frames as image parts."""

import json

import dspy
import pytest

from tests.evaluation.test_scoring import make_sample
from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from tests.optimize.test_compile import _lm_args, synth_dir  # noqa: F401 (the 12-pair fixture)
from viddiff.cli import main
from viddiff.config import RunConfig
from viddiff.optimize import load_compiled, program_metadata
from viddiff.optimize.feedback import closed_feedback, closed_feedback_metric
from viddiff.programs import DifferencePrediction, VidDiff
from viddiff.retrieval import FrameLocalizer


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
    result = closed_feedback_metric(dspy.Example(sample=sample), dspy.Prediction(predictions=predictions), None, "differencer.compare", None)
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


def test_gepa_refuses_the_open_set_in_one_line(synth_dir, tmp_path, capsys):  # noqa: F811
    with loopback_server(scripted_engine()) as server:
        code = main(["compile", str(synth_dir), "--mode", "open", "--optimizer", "gepa", "--out", str(tmp_path / "g.json"),
                     "--held-out-fraction", "0.75", *_lm_args(server, tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "viddiff: error: --optimizer gepa compiles closed-set programs so far; use instructions or fewshot for --mode open"
    )
