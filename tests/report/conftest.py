"""A scored run directory over a small synthetic benchmark: records and metrics written by hand
through the run log, outcomes from the real scorers."""

from pathlib import Path

import dspy
import pytest

from viddiff.config import RunConfig
from viddiff.data.benchmark import load_benchmark
from viddiff.data.synth import generate_benchmark
from viddiff.evaluation.predictions import SampleAnswers
from viddiff.evaluation.scoring import ClosedScorer, OpenScorer
from viddiff.programs.records import DifferencePrediction
from viddiff.run_log import Manifest, RunLog, SampleRecord
from viddiff.systems.base import sample_record

SCRIPT_ERROR = "RuntimeError: <script>alert('x')</script> & more"
DIFFERENCE_ERROR = "TimeoutError: the differencer did not answer"


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory) -> Path:
    """Four synthetic pairs: squat (easy), jumping jack (medium), kick (hard), squat (easy)."""
    out = tmp_path_factory.mktemp("bench") / "synth"
    generate_benchmark(out, pairs=4, seed=0, progress=False)
    return out


def _group(score, n, correct, p_value, mode="closed"):
    p_value = p_value if mode == "closed" else None
    group = {
        "score": score,
        "n": n,
        "correct": correct,
        "missing": 0,
        "answered": 1.0,
        "unserved": 0,
        "p_value": p_value,
        "significant": p_value is not None and p_value < 0.05,
    }
    if mode == "closed":
        group.update(wrong=n - correct, missing=0, predicted_c=0)
    else:
        group.update(unmatched=n - correct, matched_wrong=0)
    return group


def _metrics(mode: str) -> dict:
    splits = {
        "easy": _group(0.625, 8, 5, 0.363, mode),
        "medium": _group(0.9, 10, 9, 0.0107, mode),
        "hard": _group(0.5, 4, 2, 0.6875, mode),
    }
    differences = {}
    for action, key, name, score, p in (
        ("synth_squat", "10", "extra depth", 1.0, 0.5),
        ("synth_squat", "2", "stance width", 0.5, 1.0),
        ("synth_kick", "1", "kick speed", 0.0, 0.5),
        ("synth_jumping_jack", "0", "arm height", 1.0, 0.002),
    ):
        differences[f"{action}/{key}"] = {
            **_group(score, 2, int(2 * score), p, mode),
            "action": action,
            "key": key,
            "name": name,
        }
    return {
        "mode": mode,
        "metric": "accuracy" if mode == "closed" else "recall@N_diff",
        "protocol": None if mode == "closed" else "verify-then-match",
        "samples": {"scored": 4, "with_errors": 2, "excluded": 0, "not_predicted": 0},
        "overall": _group(16 / 22, 22, 16, 0.026, mode),
        "splits": splits,
        "avg": (0.625 + 0.9 + 0.5) / 3,
        "mean_of_scored_splits": {"score": (0.625 + 0.9 + 0.5) / 3, "splits": ["easy", "medium", "hard"]},
        "domains": {"fitness": _group(14 / 18, 18, 14, 0.015, mode), "ballsports": _group(0.5, 4, 2, 0.6875, mode)},
        "actions": {
            "synth_jumping_jack": _group(0.9, 10, 9, 0.0107, mode),
            "synth_kick": _group(0.5, 4, 2, 0.6875, mode),
            "synth_squat": _group(0.625, 8, 5, 0.363, mode),
        },
        "differences": differences,
        "usage": {"tokens": 1200, "cost_usd": None},
    }


def _prediction(key, answer, error=None):
    return DifferencePrediction(
        key=key,
        name=f"difference {key}",
        description=f"the person in video {key} moves <faster>",
        num_frames="gt_1",
        answer=answer,
        frames_a=(0,),
        frames_b=(1, 2, 3),
        times_a=(0.0,),
        times_b=(0.25, 0.5, 0.75),
        error=error,
    )


def _record(sample, status, *, error=None, predictions=()):
    ran = status != "error"
    return sample_record(
        sample,
        status=status,
        error=error,
        predictions=list(predictions),
        seconds=1.5,
        usage={"openai/gpt-4o-2024-08-06": {"prompt_tokens": 1000, "completion_tokens": 50}} if ran else {},
        cost_usd=0.0125 if ran else 0.0,
    )


def _records(samples) -> list[SampleRecord]:
    """Rows 0 and 2 ok, row 1 failed (a message with markup), row 3 partial (one difference failed)."""
    first = [_prediction(k, "a" if i % 2 else "b") for i, k in enumerate(samples[0].labels)]
    return [
        _record(samples[0], "error", error="stale attempt, replaced by the next line"),
        _record(samples[2], "ok", predictions=[_prediction(k, "a") for k in samples[2].labels]),
        _record(samples[1], "error", error=SCRIPT_ERROR),
        _record(samples[3], "partial", predictions=[_prediction("0", "a"), _prediction("1", None, DIFFERENCE_ERROR)]),
        _record(samples[0], "ok", predictions=first),
    ]


class ScriptedMatcher:
    """Test double for the recall matcher: the first sample's proposals 0 and 2 match ground truth
    0 and 2, and 2 states the opposite; nothing else matches."""

    def __call__(self, action_description, ground_truth, predicted):
        if "0" in predicted and "2" in predicted and "2" in ground_truth:
            return dspy.Prediction(matches={k: k if k in ("0", "2") else None for k in ground_truth}, opposites=["2"])
        return dspy.Prediction(matches={k: None for k in ground_truth}, opposites=[])


@pytest.fixture
def make_run(bench_dir, tmp_path):
    """Builds a scored run directory; `video_root` overrides where its videos are looked for."""

    def make(mode: str = "closed", *, video_root: Path | None = None, name: str = "run", system: str = "viddiff") -> Path:
        """`system` other than viddiff: records that counted one LM call with 20 images each."""
        log = RunLog(tmp_path / name)
        config = RunConfig(source=str(bench_dir), video_root=str(video_root) if video_root else None, mode=mode, system=system)
        provenance = {"git": {"commit": "0123456789abcdef", "dirty": True}, "packages": {}, "started": "2025-01-02T03:04:05+00:00"}
        samples = load_benchmark(bench_dir).samples
        log.create(Manifest(config=config.to_dict(), system=system, sampling_rates={"fitness": 8.0, "ballsports": 5.0}, provenance=provenance))
        for record in _records(samples):
            log.append(record if system == "viddiff" else record.model_copy(update={"lm_calls": 1, "images": 20, "videos": 0}))
        scorer = ClosedScorer() if mode == "closed" else OpenScorer(ScriptedMatcher())
        records = log.records()
        log.write_outcomes([o for s in samples for o in scorer.score(s, SampleAnswers.from_record(records[s.sample_key]))])
        log.write_metrics(_metrics(mode), {})
        return log.path

    return make
