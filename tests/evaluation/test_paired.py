"""Paired comparison of runs: pairing from hand-built run directories, exact McNemar, bootstrap."""

import itertools
import json
from collections import Counter
from fractions import Fraction
from math import comb, isnan

import dspy
import numpy as np
import pytest
from scipy.stats import binomtest

from viddiff.config import RunConfig, default_lms
from viddiff.evaluation.paired import (
    DEFAULT_PROGRAM,
    CompareError,
    bootstrap_gap,
    config_differences,
    instruction_differences,
    load_program,
    mcnemar_exact,
    paired_outcomes,
    paired_stats,
    resampled_gaps,
    verdict,
)
from viddiff.config import LMConfig
from viddiff.run_dir import RunDirectoryError

LABELS = {"s1": {"k1": "a", "k2": "b", "k3": "c"}, "s2": {"k1": "b", "k2": "a"}, "s3": {"k1": "a", "k2": "b"}}
GROUPS = {"s1": ("easy", "squat"), "s2": ("easy", "squat"), "s3": ("medium", "lunge"), "s4": ("hard", "lunge")}


def write_run(path, labels, answers, *, overall, config=None, program=None, matches=None, groups=GROUPS):
    """A scored run directory by hand: config.json, records.jsonl, metrics.json, and (when
    `matches` is given: open set) matches.jsonl.

    Args:
        labels: {sample_key: {difference key: label}}.
        answers: {sample_key: {predicted key: answer or None}}.
        overall: (correct, n) for metrics.json.
        matches: {sample_key: (matches, opposites)}.
    """
    config = config or RunConfig(mode="open" if matches is not None else "closed", source="runs/synth")
    path.mkdir(parents=True)
    saved = {**config.to_dict(), "program": program}
    (path / "config.json").write_text(json.dumps({"config": saved, "provenance": {}}))
    records = []
    for row, (sample_key, sample_labels) in enumerate(labels.items()):
        split, action = groups[sample_key]
        predictions = [{"key": k, "description": f"{k} of {action}", "answer": v} for k, v in answers.get(sample_key, {}).items()]
        record = {"sample_key": sample_key, "row_index": row, "split": split, "action": action, "labels": sample_labels}
        records.append({**record, "status": "ok", "predictions": predictions})
    (path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    correct, n = overall
    (path / "metrics.json").write_text(json.dumps({"schema_version": 1, "mode": config.mode, "overall": {"correct": correct, "n": n}}))
    if matches is not None:
        decisions = [{"sample_key": s, "matches": m, "opposites": o, "error": None} for s, (m, o) in matches.items()]
        (path / "matches.jsonl").write_text("".join(json.dumps(d) + "\n" for d in decisions))
    return path


@pytest.fixture
def closed_runs(tmp_path):
    """A: right on s1/k1, s1/k2, s2/k1, s3/k1 and s4/k1 (s4 only in A); B: right on s1/k1, s3/k2."""
    run_a = write_run(
        tmp_path / "a",
        {**LABELS, "s4": {"k1": "a"}},
        {"s1": {"k1": "a", "k2": "b", "k3": "a"}, "s2": {"k1": "b", "k2": "b"}, "s3": {"k1": "a", "k2": None}, "s4": {"k1": "a"}},
        overall=(5, 7),
    )
    run_b = write_run(
        tmp_path / "b",
        LABELS,
        {"s1": {"k1": "a", "k2": "a"}, "s2": {"k1": "a", "k2": "b"}, "s3": {"k1": "b", "k2": "b"}},
        overall=(2, 6),
    )
    return run_a, run_b


# Pairing


def test_closed_differences_pair_by_sample_and_key(closed_runs):
    outcomes = paired_outcomes(*closed_runs)
    assert outcomes.mode == "closed" and outcomes.source == "runs/synth" and outcomes.warnings == []
    assert [(d.sample_key, d.key, d.correct_a, d.correct_b) for d in outcomes.differences] == [
        ("s1", "k1", True, True),
        ("s1", "k2", True, False),
        ("s2", "k1", True, False),
        ("s2", "k2", False, False),
        ("s3", "k1", True, False),
        ("s3", "k2", False, True),  # A left it undecided
    ]
    assert (outcomes.only_a, outcomes.only_b) == (1, 0)  # s4 was scored in A only; the c label in neither
    assert {(d.split, d.action) for d in outcomes.differences} == {("easy", "squat"), ("medium", "lunge")}


def test_paired_stats_count_agreement_and_disagreement(closed_runs):
    stats = paired_stats(paired_outcomes(*closed_runs), samples=200)
    assert (stats.n, stats.both_right, stats.a_only, stats.b_only, stats.neither) == (6, 1, 3, 1, 1)
    assert stats.p_value == pytest.approx(0.625)  # 2 * (1 + 4) / 16
    assert stats.gap == pytest.approx(2 / 6) and stats.clusters == 3
    assert verdict(stats) == "no significant difference (p = 0.62)"


def test_records_that_no_longer_match_metrics_are_reported(closed_runs, tmp_path):
    stale = write_run(tmp_path / "stale", LABELS, {"s1": {"k1": "a"}}, overall=(4, 6))
    outcomes = paired_outcomes(closed_runs[0], stale)
    assert len(outcomes.warnings) == 1
    assert "records give 1/6 right but metrics.json says 4/6" in outcomes.warnings[0]


def test_open_runs_pair_through_the_matcher_decisions(tmp_path):
    labels = {"s1": {"k1": "a", "k2": "b"}, "s2": {"k1": "a"}}
    run_a = write_run(
        tmp_path / "a",
        labels,
        {"s1": {"0": "a", "1": "a"}, "s2": {"0": "a"}},
        matches={"s1": ({"k1": "0", "k2": "1"}, ["k2"])},  # "1" states the opposite of k2: a flips to b
        overall=(2, 2),
    )
    run_b = write_run(
        tmp_path / "b",
        labels,
        {"s1": {"0": "b"}, "s2": {"0": "a"}},
        matches={"s1": ({"k1": None, "k2": "0"}, []), "s2": ({"k1": "0"}, [])},
        overall=(2, 3),
    )
    outcomes = paired_outcomes(run_a, run_b)
    assert outcomes.mode == "open" and outcomes.warnings == []
    assert [(d.sample_key, d.key, d.correct_a, d.correct_b) for d in outcomes.differences] == [
        ("s1", "k1", True, False),  # unmatched in B
        ("s1", "k2", True, True),
    ]
    assert (outcomes.only_a, outcomes.only_b) == (0, 1)  # A's matcher never scored s2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "open"}, "different mode: .*a has 'closed', .*other has 'open'"),
        ({"source": "jmhb/VidDiffBench"}, "different source: .*a has 'runs/synth', .*other has 'jmhb/VidDiffBench'"),
    ],
)
def test_runs_of_different_modes_or_benchmarks_are_refused(closed_runs, tmp_path, changes, message):
    config = RunConfig(**{"mode": "closed", "source": "runs/synth", **changes})
    matches = {"s1": ({}, [])} if config.mode == "open" else None
    other = write_run(tmp_path / "other", LABELS, {}, config=config, matches=matches, overall=(0, 0))
    with pytest.raises(CompareError, match=message):
        paired_outcomes(closed_runs[0], other)


def test_missing_and_unscored_runs_say_what_to_do(closed_runs, tmp_path):
    with pytest.raises(RunDirectoryError, match="nowhere: no such run directory"):
        paired_outcomes(closed_runs[0], tmp_path / "nowhere")
    (closed_runs[1] / "metrics.json").unlink()
    with pytest.raises(RunDirectoryError, match=r"is not scored \(no metrics.json\); finish the run .* `viddiff eval "):
        paired_outcomes(*closed_runs)
    open_run = write_run(tmp_path / "open", LABELS, {}, matches={}, overall=(0, 0))
    (open_run / "matches.jsonl").unlink()
    with pytest.raises(CompareError, match="has metrics.json but no matches.jsonl"):
        paired_outcomes(open_run, open_run)


# McNemar


@pytest.mark.parametrize(("b", "c", "expected"), [(5, 0, 2 * 0.5**5), (0, 5, 0.0625), (6, 1, 2 * (1 + 7) / 128), (0, 0, 1.0), (3, 3, 1.0)])
def test_mcnemar_exact_by_hand(b, c, expected):
    assert mcnemar_exact(b, c) == pytest.approx(expected)


def test_mcnemar_exact_matches_the_binomial_tail_and_scipy():
    for b, c in itertools.product(range(13), repeat=2):
        if b + c == 0:
            continue
        n, low = b + c, min(b, c)
        tail = Fraction(sum(comb(n, k) for k in range(low + 1)), 2**n)
        assert mcnemar_exact(b, c) == pytest.approx(float(min(1, 2 * tail)), abs=1e-12)
        assert mcnemar_exact(b, c) == binomtest(low, n, 0.5).pvalue


# Bootstrap


@pytest.mark.parametrize("groups", [None, ["s1", "s1", "s2", "s3", "s3"]])
def test_bootstrap_of_identical_runs_is_zero(groups):
    correct = [True, False, True, True, False]
    assert bootstrap_gap(correct, correct, samples=500, groups=groups) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("groups", [None, ["s1", "s1", "s2", "s3"]])
def test_bootstrap_of_all_right_against_all_wrong_is_one(groups):
    assert bootstrap_gap([True] * 4, [False] * 4, samples=500, groups=groups) == (1.0, 1.0, 1.0)


def test_bootstrap_handles_no_difference_and_a_single_unit():
    assert all(isnan(x) for x in bootstrap_gap([], []))
    gap, low, high = bootstrap_gap([True], [False])
    assert gap == 1.0 and isnan(low) and isnan(high)
    gap, low, high = bootstrap_gap([True, False], [False, False], groups=["s1", "s1"])  # one sample: nothing to resample
    assert gap == 0.5 and isnan(low) and isnan(high)


def test_bootstrap_is_reproducible_for_a_seed():
    rng = np.random.default_rng(7)
    a, b = rng.random(40) < 0.6, rng.random(40) < 0.5
    groups = np.arange(40) // 4
    assert bootstrap_gap(a, b, seed=3, groups=groups) == bootstrap_gap(a, b, seed=3, groups=groups)
    assert not np.array_equal(resampled_gaps(a, b, seed=3, samples=100), resampled_gaps(a, b, seed=4, samples=100))


def test_cluster_bootstrap_is_wider_when_a_sample_s_differences_agree():
    # 12 samples of 5 differences; within a sample both runs are all right or all wrong together.
    per_sample_a = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0]
    per_sample_b = [1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0]
    a, b = np.repeat(per_sample_a, 5).astype(bool), np.repeat(per_sample_b, 5).astype(bool)
    groups = np.repeat(np.arange(12), 5)
    gap, low, high = bootstrap_gap(a, b, samples=4000)
    cluster_gap, cluster_low, cluster_high = bootstrap_gap(a, b, samples=4000, groups=groups)
    assert gap == cluster_gap == pytest.approx(4 / 12)
    assert cluster_high - cluster_low > 1.5 * (high - low)


@pytest.mark.parametrize(
    ("a", "b", "groups"),
    [
        ([1, 1, 0, 1, 0], [0, 1, 1, 0, 0], None),
        ([1, 1, 0, 1, 0, 1, 1], [0, 1, 1, 0, 0, 0, 1], ["x", "x", "y", "z", "z", "z", "w"]),
    ],
)
def test_resampled_gaps_follow_the_brute_force_bootstrap_distribution(a, b, groups):
    """Every equally likely draw of unit indices, enumerated, against the multinomial draws."""
    a, b = np.array(a, dtype=bool), np.array(b, dtype=bool)
    labels = list(range(len(a))) if groups is None else groups
    units = [np.flatnonzero(np.array(labels, dtype=object) == g) for g in dict.fromkeys(labels)]
    exact = Counter()
    for draw in itertools.product(units, repeat=len(units)):
        members = np.concatenate(draw)
        exact[round(a[members].mean() - b[members].mean(), 9)] += 1
    total = len(units) ** len(units)
    gaps = resampled_gaps(a, b, samples=200_000, seed=1, groups=groups)
    drawn = Counter(np.round(gaps, 9))
    assert set(drawn) <= set(exact)
    for value, count in exact.items():
        assert drawn[value] / gaps.size == pytest.approx(count / total, abs=0.005)


def test_bootstrap_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="of one length"):
        bootstrap_gap([True, False], [True])
    with pytest.raises(ValueError, match="groups has 1 labels for 2 differences"):
        bootstrap_gap([True, False], [True, True], groups=["s1"])


# What differs between runs


def test_config_differences_are_dotted_and_skip_keys_that_do_not_change_results():
    base = RunConfig()
    variant = RunConfig(
        localization="uniform",
        three_way=True,
        limit=5,
        sample_threads=7,
        cache_dir="/elsewhere",
        lms={**default_lms(), "differencer": LMConfig(model="openai/gpt-4o-mini")},
    )
    differences = config_differences(base.to_dict(), variant.to_dict())
    assert [(d.key, d.value_a, d.value_b) for d in differences] == [
        ("lms.differencer.model", "openai/gpt-4o-2024-08-06", "openai/gpt-4o-mini"),
        ("localization", "viterbi", "uniform"),
        ("three_way", False, True),
    ]


def _saved_program(instructions, demos, answer_prefix="Answer:"):
    """A program file as DSPy 3's `Module.save` writes it (keyed by predictor path, plus metadata)."""

    def predictor(text, n_demos, prefix):
        fields = [{"prefix": "Action:", "description": "the action"}, {"prefix": prefix, "description": "a or b"}]
        demos = [{"action": "squat", "answer": "a"}] * n_demos
        return {"traces": [], "train": [], "demos": demos, "signature": {"instructions": text, "fields": fields}, "lm": None}

    return {
        "proposer.propose": predictor("Propose differences.", 0, "Answer:"),
        "differencer.compare": predictor(instructions, demos, answer_prefix),
        "metadata": {"dependency_versions": {"python": "3.11", "dspy": "3.4.1", "cloudpickle": "3.1"}},
    }


def test_instruction_differences_between_saved_programs(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_saved_program("Which video shows more knee flexion?", 0)))
    (tmp_path / "b.json").write_text(json.dumps(_saved_program("Compare the two videos frame by frame.\nAnswer a or b.", 3, "Verdict:")))
    program_a = load_program(tmp_path, {"program": str(tmp_path / "a.json")})
    program_b = load_program(tmp_path, {"program": "b.json"})  # relative to the run directory
    (difference,) = instruction_differences(program_a, program_b)
    assert difference.predictor == "differencer.compare"
    assert difference.instructions_a == "Which video shows more knee flexion?"
    assert difference.instructions_b == "Compare the two videos frame by frame.\nAnswer a or b."
    assert (difference.demos_a, difference.demos_b, difference.fields_differ) == (0, 3, True)
    assert instruction_differences(program_a, program_a) == []


def test_a_run_without_a_compiled_program_shows_the_default(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_saved_program("Which video shows more knee flexion?", 2)))
    compiled = load_program(tmp_path, {"program": "a.json"})
    default = load_program(tmp_path, {"program": None})
    assert default.description == DEFAULT_PROGRAM
    differences = instruction_differences(default, compiled)
    assert [(d.predictor, d.instructions_a, d.demos_a, d.demos_b) for d in differences] == [
        ("differencer.compare", DEFAULT_PROGRAM, None, 2),
        ("proposer.propose", DEFAULT_PROGRAM, None, 0),
    ]
    gone = load_program(tmp_path, {"program": "gone.json"})
    assert gone.description == "gone.json (file not found)"
    assert instruction_differences(gone, compiled)[0].instructions_a == "gone.json (file not found)"


class _Compare(dspy.Signature):
    """Which video shows the difference more?"""

    action: str = dspy.InputField(desc="the action")
    answer: str = dspy.OutputField(desc="a or b")


class _Differencer(dspy.Module):
    def __init__(self):
        super().__init__()
        self.compare = dspy.Predict(_Compare)

    def forward(self, action):
        return self.compare(action=action)


def test_programs_saved_by_dspy_are_read(tmp_path):
    program = _Differencer()
    program.save(str(tmp_path / "default.json"))
    program.compare.signature = program.compare.signature.with_instructions("Look at the knees, then answer.")
    program.compare.demos = [dspy.Example(action="squat", answer="a").with_inputs("action")]
    program.save(str(tmp_path / "compiled.json"))
    (difference,) = instruction_differences(
        load_program(tmp_path, {"program": "default.json"}), load_program(tmp_path, {"program": "compiled.json"})
    )
    assert difference.predictor == "compare"
    assert difference.instructions_a == "Which video shows the difference more?"
    assert difference.instructions_b == "Look at the knees, then answer."
    assert (difference.demos_a, difference.demos_b, difference.fields_differ) == (0, 1, False)
