"""The planner compiled against annotated key points: the metric prefers retrieval strings that
place frames on the key points, and `viddiff compile --objective localization` runs the planner
and CLIP alone (no VLM call) and reports the localization error before and after."""

import dataclasses
import json

import dspy
import numpy as np
import pytest

from tests.conftest import TINY_CLIP
from tests.evaluation.test_scoring import make_sample
from tests.lm.fake_engine import FakeEngine
from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from tests.optimize.test_compile import synth_dir  # noqa: F401 (the 12-pair fixture)
from viddiff.cli import main
from viddiff.config import RunConfig
from viddiff.data.records import Difference, VideoRef
from viddiff.data.video import Frames
from viddiff.optimize import load_compiled, program_metadata
from viddiff.optimize.localization_metric import localization_score, seconds_of
from viddiff.programs import VidDiff
from viddiff.programs.viddiff import StageLocalization
from viddiff.retrieval import FrameLocalizer

PHASES = ("standing", "bottom", "rising")


class PhaseEmbedder:
    """Test double for CLIP: a frame's embedding is its phase (the brightness band it was drawn
    in); a string's is the phase it names, or no phase at all."""

    def embed_frames(self, images):
        phase = np.clip(images.reshape(len(images), -1).mean(axis=1) // 100, 0, 2).astype(int)
        return np.eye(3, dtype=np.float32)[phase]

    def embed_texts(self, texts):
        rows = [[float(name in text) for name in PHASES] for text in texts]
        return np.asarray([np.asarray(r) / max(np.linalg.norm(r), 1) for r in rows], dtype=np.float32)


def _video():
    """30 frames at 10 frames/s of a 30 frames/s clip: standing (0-9), bottom (10-19), rising (20-29)."""
    images = np.repeat(np.array([0, 128, 255], np.uint8), 10)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8)
    return Frames(images, np.arange(30) / 10, np.arange(30) * 3, 10.0)


def _plan(strings):
    """A planner reply with the three stages, each with its retrieval strings, and a linker reply
    linking the difference to the bottom stage."""
    engine = FakeEngine()
    engine.script(lambda c: "stages" in c.output_fields, {
        "stages": [{"name": name, "description": name, "retrieval_strings": [f"A photo of a person {s}" for s in texts]}
                   for name, texts in zip(PHASES, strings, strict=True)]
    })
    engine.script(lambda c: "links" in c.output_fields, {"links": {"0": ["bottom"]}})
    return engine


def _score(strings):
    sample = dataclasses.replace(
        make_sample("s", 0, "easy", "squat", {"0": "a"}),
        videos=(VideoRef("a.mp4", (0, None), 30.0), VideoRef("b.mp4", (0, None), 30.0)),
        retrieval_frames=({"0": [45]}, {"0": [45]}),  # 1.5 s: the middle of the bottom phase
    )
    program = StageLocalization(FrameLocalizer("viterbi", embedder=PhaseEmbedder()))
    videos = (_video(), _video())
    difference = {"0": Difference("0", "depth", "the squat is deeper", "depth", "1")}
    with dspy.context(lm=dspy.LM("local/fake", engine=_plan(strings), cache=False), adapter=dspy.ChatAdapter()):
        result = program(videos=videos, action_description="a squat", differences=difference, key_points=sample.retrieval_frames)
    assert [p.answer for p in result.predictions] == [None]  # no VLM call: nothing is decided
    return localization_score(sample, videos, result.predictions)


def test_the_metric_prefers_retrieval_strings_that_place_frames_on_the_key_points():
    right, feedback = _score([["standing"], ["bottom"], ["rising"]])
    # The bottom stage's strings name another phase: its frames land away from the key point.
    wrong, _ = _score([["standing"], ["rising"], ["rising"]])
    assert seconds_of(right) == pytest.approx(0.1)  # frame 14 of the bottom phase (10-19), the key point at frame 15
    assert right > wrong and seconds_of(wrong) >= 0.5
    assert feedback.splitlines()[1].startswith("- 'the squat is deeper': video A at 1.")


@pytest.fixture
def clip_args(tiny_clip_checkpoint, tmp_path):
    return ["--localization", "viterbi", "--clip-model", TINY_CLIP, "--clip-pretrained", str(tiny_clip_checkpoint),
            "--clip-device", "cpu", "--cache-dir", str(tmp_path / "cache")]


def test_compile_the_planner_against_key_points_without_any_vlm_call(synth_dir, tmp_path, clip_args, capsys):  # noqa: F811
    out = tmp_path / "planner.json"
    with loopback_server(scripted_engine(choice="hash")) as server:
        code = main(["compile", str(synth_dir), "--optimizer", "gepa", "--stages", "planner", "--objective", "localization",
                     "--out", str(out), "--held-out-fraction", "0.75", "--max-metric-calls", "12", "--lm", "openai/test-model",
                     "--api-base", server.api_base, *clip_args])
        fields = {f for call in server.calls for f in call.output_fields}
        images = sum(len(call.image_urls) for call in server.calls)
    assert code == 0
    assert "answer" not in fields and "stages" in fields and "links" in fields and images == 0  # planner, linker, reflection only
    printed = capsys.readouterr().out
    assert "localization error on the test part (never seen while compiling): " in printed
    assert "mean distance to the annotated key points (3 samples; sample-level sign-flip test p = " in printed
    scores = program_metadata(out)["scores"]
    assert scores["metric"] == "localization score"
    test = next(part for part in scores["parts"] if part["part"] == "test")
    assert (
        f"localization error on the test part (never seen while compiling): {test['seconds_before']:.2f} s before, "
        f"{test['seconds_after']:.2f} s after" in printed
    )
    saved = json.loads(out.read_text())
    assert {"planner.plan", "linker.link"} <= set(saved)
    load_compiled(VidDiff(FrameLocalizer("uniform")), out, RunConfig(source=str(synth_dir), localization="viterbi"))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--stages", "planner", "--localization", "uniform"], "use --system viddiff with --localization viterbi (got --system viddiff --localization uniform)"),
        (["--stages", "differencer"], "the localization objective compiles the planner alone: use --stages planner"),
    ],
)
def test_the_localization_objective_is_refused_where_it_cannot_work(synth_dir, tmp_path, capsys, extra, message):  # noqa: F811
    code = main(["compile", str(synth_dir), "--optimizer", "gepa", "--objective", "localization", "--out", str(tmp_path / "p.json"),
                 "--lm", "openai/test-model", "--api-base", "http://127.0.0.1:9/v1", *extra])
    assert code == 2 and capsys.readouterr().err.strip().endswith(message)
