"""Paired comparison of runs: pairing the counted outcomes of scored run directories (built
through the run log and the real scorers), the comparison's wiring, and what differs between
runs. The statistics themselves are tested in test_paired_stats.py."""

import json

import dspy
import pytest

from tests.evaluation.scored_runs import write_run
from viddiff.config import LMConfig, RunConfig, default_lms
from viddiff.evaluation.paired import (
    DEFAULT_PROGRAM,
    CompareError,
    GroupComparison,
    compare_runs,
    compared_stats,
    config_differences,
    instruction_differences,
    load_program,
    pair_outcomes,
    paired_outcomes,
)
from viddiff.run_log import RunLog, RunLogError, load_scored_run
from viddiff.systems import system_for

LABELS = {"s1": {"k1": "a", "k2": "b", "k3": "c"}, "s2": {"k1": "b", "k2": "a"}, "s3": {"k1": "a", "k2": "b"}}


@pytest.fixture
def closed_runs(tmp_path):
    """A: right on s1/k1, s1/k2, s2/k1, s3/k1 and s4/k1 (s4 only in A); B: right on s1/k1, s3/k2."""
    run_a = write_run(
        tmp_path / "a",
        {**LABELS, "s4": {"k1": "a"}},
        {"s1": {"k1": "a", "k2": "b", "k3": "a"}, "s2": {"k1": "b", "k2": "b"}, "s3": {"k1": "a", "k2": None}, "s4": {"k1": "a"}},
    )
    run_b = write_run(
        tmp_path / "b",
        LABELS,
        {"s1": {"k1": "a", "k2": "a"}, "s2": {"k1": "a", "k2": "b"}, "s3": {"k1": "b", "k2": "b"}},
    )
    return run_a, run_b


# Pairing


def test_closed_differences_pair_by_sample_and_key(closed_runs):
    outcomes = paired_outcomes(*closed_runs)
    assert outcomes.mode == "closed" and outcomes.source == "runs/synth"
    assert [(d.sample_key, d.key, d.correct_a, d.correct_b) for d in outcomes.differences] == [
        ("s1", "k1", True, True),
        ("s1", "k2", True, False),
        ("s2", "k1", True, False),
        ("s2", "k2", False, False),
        ("s3", "k1", True, False),
        ("s3", "k2", False, True),  # A left it undecided: missing, scored as wrong
    ]
    assert (outcomes.only_a, outcomes.only_b) == (1, 0)  # s4 was scored in A only; the c label in neither
    assert [(d.split, d.action) for d in outcomes.differences] == [("easy", "squat")] * 4 + [("medium", "lunge")] * 2
    assert pair_outcomes(load_scored_run(closed_runs[0]), load_scored_run(closed_runs[1])) == outcomes


def test_pairing_reads_the_outcomes_and_never_rederives_them(closed_runs):
    """outcomes.jsonl is the truth: whatever the records say, the pairing follows the outcomes."""
    log = RunLog(closed_runs[1])
    outcomes = log.outcomes()
    log.write_outcomes([o.model_copy(update={"correct": not o.correct}) if (o.sample_key, o.key) == ("s2", "k2") else o for o in outcomes])
    paired = {(d.sample_key, d.key): (d.correct_a, d.correct_b) for d in paired_outcomes(*closed_runs).differences}
    assert paired[("s2", "k2")] == (False, True)


def test_only_counted_differences_pair(tmp_path):
    """Unserved differences and c labels are in neither score: never paired, counted apart only when
    the other run counted them."""
    labels = {"s1": {"k1": "a", "k2": "b", "k3": "c"}, "s2": {"k1": "b"}}
    run_a = write_run(tmp_path / "a", labels, {"s1": {"k1": "a", "k2": "b", "k3": "a"}, "s2": {"k1": "b"}})
    run_b = write_run(tmp_path / "b", labels, {"s1": {"k1": "b"}, "s2": {}}, unserved={"s1": ["k2", "k3"], "s2": ["k1"]})
    outcomes = paired_outcomes(run_a, run_b)
    assert [(d.sample_key, d.key, d.correct_a, d.correct_b) for d in outcomes.differences] == [("s1", "k1", True, False)]
    assert (outcomes.only_a, outcomes.only_b) == (2, 0)  # s1/k2 and s2/k1 were unserved in B
    assert load_scored_run(run_b).metrics["overall"]["unserved"] == 2


def test_open_runs_pair_through_their_outcomes(tmp_path):
    labels = {"s1": {"k1": "a", "k2": "b"}, "s2": {"k1": "a"}}
    groups = {"s1": ("easy", "squat"), "s2": ("medium", "lunge")}
    run_a = write_run(
        tmp_path / "a",
        {"s1": labels["s1"]},  # A never ran s2
        {"s1": {"0": "a", "1": "a"}},
        matches={"s1": ({"k1": "0", "k2": "1"}, ["k2"])},  # "1" states the opposite of k2: a flips to b
        groups=groups,
    )
    run_b = write_run(
        tmp_path / "b",
        labels,
        {"s1": {"0": "b"}, "s2": {"0": "a"}},
        matches={"s1": ({"k1": None, "k2": "0"}, []), "s2": ({"k1": "0"}, [])},
        groups=groups,
    )
    flipped = next(o for o in load_scored_run(run_a).outcomes if o.key == "k2")
    assert (flipped.matched_key, flipped.prediction, flipped.flipped, flipped.correct) == ("1", "b", True, True)
    outcomes = paired_outcomes(run_a, run_b)
    assert outcomes.mode == "open"
    assert [(d.sample_key, d.key, d.correct_a, d.correct_b) for d in outcomes.differences] == [
        ("s1", "k1", True, False),  # unmatched in B
        ("s1", "k2", True, True),
    ]
    assert (outcomes.only_a, outcomes.only_b) == (0, 1)  # A never scored s2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "open"}, r"cannot compare runs of different mode: .*a has 'closed', .*other has 'open'"),
        ({"source": "jmhb/VidDiffBench"}, r"cannot compare runs of different source: .*a has 'runs/synth', .*other has 'jmhb/VidDiffBench'"),
    ],
)
def test_runs_of_different_modes_or_benchmarks_are_refused(closed_runs, tmp_path, changes, message):
    config = RunConfig(**{"mode": "closed", "source": "runs/synth", **changes})
    answers = {"s1": {"0": "a"}}
    matches = {"s1": ({"k1": "0"}, [])} if config.mode == "open" else None
    other = write_run(tmp_path / "other", LABELS, answers if matches else {"s1": {"k1": "a"}}, config=config, matches=matches)
    with pytest.raises(CompareError, match=message):
        paired_outcomes(closed_runs[0], other)


def test_missing_and_unscored_runs_say_what_to_do(closed_runs, tmp_path):
    with pytest.raises(RunLogError, match="nowhere: no such run directory"):
        paired_outcomes(closed_runs[0], tmp_path / "nowhere")
    (closed_runs[1] / "metrics.json").unlink()
    with pytest.raises(RunLogError, match=r"b is not scored; finish and score it with `viddiff run --out .*b --resume`, or `viddiff eval --run .*b`"):
        paired_outcomes(*closed_runs)
    (closed_runs[0] / "outcomes.jsonl").unlink()  # metrics without outcomes: not scored either
    with pytest.raises(RunLogError, match=r"a is not scored; "):
        paired_outcomes(*closed_runs)


# The comparison


def test_compared_stats_cluster_the_paired_differences_by_sample(closed_runs):
    stats = compared_stats(paired_outcomes(*closed_runs), samples=200)
    assert (stats.n, stats.both_right, stats.a_only, stats.b_only, stats.neither) == (6, 1, 3, 1, 1)
    assert stats.clusters == 3
    # Per-sample gaps A - B: s1 +1, s2 +1, s3 0; sign flips of (1, 1): P(|S| >= 2) = 2/4.
    assert (stats.samples_a_better, stats.samples_b_better, stats.samples_tied) == (2, 0, 1)
    assert stats.p_value == pytest.approx(0.5)
    assert stats.p_mcnemar_differences == pytest.approx(0.625)  # 2 * (1 + 4) / 16
    assert stats.gap == pytest.approx(2 / 6)
    assert (stats.resamples, stats.seed, stats.confidence) == (200, 0, 0.95)


def test_compare_runs_scores_per_split_and_action(closed_runs, tmp_path):
    comparison = compare_runs(*closed_runs, samples=200, seed=1)
    assert comparison.splits == {"easy": GroupComparison(4, 0.75, 0.25), "medium": GroupComparison(2, 0.5, 0.5)}
    assert comparison.actions == {"lunge": GroupComparison(2, 0.5, 0.5), "squat": GroupComparison(4, 0.75, 0.25)}
    assert (comparison.stats.n, comparison.stats.seed, comparison.stats.resamples) == (6, 1, 200)
    assert comparison.config_differences == []
    assert (comparison.program_a, comparison.program_b) == (DEFAULT_PROGRAM, DEFAULT_PROGRAM)
    assert comparison.instruction_differences == []
    assert comparison.verdict.startswith("no significant difference")
    document = comparison.to_dict()
    assert document == json.loads(json.dumps(document))
    assert (document["run_a"], document["outcomes"]["only_a"], document["splits"]["easy"]) == (
        str(closed_runs[0]), 1, {"n": 4, "score_a": 0.75, "score_b": 0.25}
    )


# What differs between runs


def test_config_differences_are_dotted_and_skip_keys_that_do_not_change_results():
    base = RunConfig()
    variant = RunConfig(
        localization="uniform",
        three_way=True,
        limit=5,
        sample_threads=7,
        difference_threads=3,
        cache_dir="/elsewhere",
        lms={**default_lms(), "differencer": LMConfig(model="openai/gpt-4o-mini")},
    )
    differences = config_differences(base.to_dict(), variant.to_dict())
    assert [(d.key, d.value_a, d.value_b) for d in differences] == [
        ("lms.differencer.model", "openai/gpt-4o-2024-08-06", "openai/gpt-4o-mini"),
        ("localization", "viterbi", "uniform"),
        ("three_way", False, True),
    ]
    missing = config_differences({"seed": 0, "fps": 4.0}, {"seed": 0})
    assert [(d.key, d.value_a, d.value_b) for d in missing] == [("fps", 4.0, None)]


def test_compare_runs_lists_config_differences(closed_runs, tmp_path):
    config = RunConfig(source="runs/synth", localization="uniform", limit=3)
    other = write_run(tmp_path / "other", LABELS, {"s1": {"k1": "a"}}, config=config)
    comparison = compare_runs(closed_runs[0], other, samples=100)
    assert [(d.key, d.value_a, d.value_b) for d in comparison.config_differences] == [("localization", "viterbi", "uniform")]


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
    assert (program_a.description, program_b.description) == (str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    (difference,) = instruction_differences(program_a, program_b)
    assert difference.predictor == "differencer.compare"
    assert difference.instructions_a == "Which video shows more knee flexion?"
    assert difference.instructions_b == "Compare the two videos frame by frame.\nAnswer a or b."
    assert (difference.demos_a, difference.demos_b, difference.fields_differ) == (0, 3, True)
    assert instruction_differences(program_a, program_a) == []


def test_a_program_file_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(CompareError, match=r"broken.json: not valid JSON"):
        load_program(tmp_path, {"program": "broken.json"})


def test_a_run_without_a_compiled_program_is_compared_with_the_default_prompts(tmp_path):
    default = load_program(tmp_path, {"program": None})
    assert default.description == DEFAULT_PROGRAM
    assert sorted(default.predictors) == ["differencer.compare", "linker.link", "planner.plan", "proposer.propose"]
    # A compiled program that changed only the differencer: the unchanged defaults are not listed.
    state = system_for("viddiff").build(RunConfig(), {}).dump_state()
    default_instructions = state["differencer.compare"]["signature"]["instructions"]
    state["differencer.compare"]["signature"]["instructions"] = "Look at the knees, then answer."
    state["differencer.compare"]["demos"] = [{"action_description": "squat", "answer": "a"}] * 2
    (tmp_path / "compiled.json").write_text(json.dumps(state))
    compiled = load_program(tmp_path, {"program": "compiled.json"})
    (difference,) = instruction_differences(default, compiled)
    assert (difference.predictor, difference.instructions_a, difference.instructions_b) == (
        "differencer.compare", default_instructions, "Look at the knees, then answer."
    )
    assert (difference.demos_a, difference.demos_b, difference.fields_differ) == (0, 2, False)
    assert default_instructions.startswith("Two people perform the same action.")


def test_a_compiled_program_file_that_is_gone_is_shown(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_saved_program("Which video shows more knee flexion?", 2)))
    compiled = load_program(tmp_path, {"program": "a.json"})
    gone = load_program(tmp_path, {"program": "gone.json"})
    assert (gone.description, gone.predictors) == ("gone.json (file not found)", None)
    differences = instruction_differences(gone, compiled)
    assert [(d.predictor, d.instructions_a, d.instructions_b, d.demos_a, d.demos_b) for d in differences] == [
        ("differencer.compare", "gone.json (file not found)", "Which video shows more knee flexion?", None, 2),
        ("proposer.propose", "gone.json (file not found)", "Propose differences.", None, 0),
    ]


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


def test_runs_on_the_same_default_prompts_are_compared_without_loading_dspy(tmp_path):
    """Both runs on the default prompts of the same signatures: no instruction can differ, so
    `compare` builds no program (and stays fast: DSPy alone takes most of a second to import)."""
    import subprocess
    import sys

    labels = {"s1": {"k1": "a", "k2": "b"}}
    run_a = write_run(tmp_path / "a", labels, {"s1": {"k1": "a", "k2": "b"}})
    run_b = write_run(tmp_path / "b", labels, {"s1": {"k1": "b", "k2": "b"}}, config=RunConfig(source="runs/synth", seed=3))
    code = (
        "import sys; from viddiff.evaluation.paired import compare_runs; "
        f"c = compare_runs({str(run_a)!r}, {str(run_b)!r}, samples=50); "
        "print(c.instruction_differences, [d.key for d in c.config_differences], 'dspy' in sys.modules)"
    )
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "[] ['seed'] False"
