"""The Task: samples, held-out exclusion, LM roles and keys, scorer, manifest."""

import json

import pytest

from viddiff.config import RunConfig
from viddiff.data.synth import generate_benchmark
from viddiff.evaluation.scoring import ClosedScorer, OpenScorer, PublishedScorer
from viddiff.lms import CredentialsError
from viddiff.task import Task


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("task") / "synth"
    generate_benchmark(out, pairs=6, seed=5, progress=False)
    return out


def _program_with_slice(tmp_path, source, keys):
    """A compiled program file whose held-out slice is `keys` (only its viddiff block matters here)."""
    path = tmp_path / "program.json"
    held_out = {"source": source, "seed": 0, "fraction": 0.2, "size": None, "train": keys[:1], "validation": keys[1:2], "test": keys[2:]}
    path.write_text(json.dumps({"viddiff": {"format": 1, "held_out": held_out}}))
    return path


def test_samples_leave_out_the_compiled_program_s_slice(synth_dir, tmp_path):
    every = Task.from_config(RunConfig(source=str(synth_dir)))
    keys = [s.sample_key for s in every.samples[:3]]
    program = _program_with_slice(tmp_path, str(synth_dir), keys)
    task = Task.from_config(RunConfig(source=str(synth_dir), program=str(program)))
    assert [s.sample_key for s in task.samples] == [s.sample_key for s in every.samples[3:]]
    assert task.excluded == 3 and task.held_out == frozenset(keys)
    assert task.excluded_because == f"held-out slice of the compiled program {program}"
    manifest = task.manifest()
    assert manifest.held_out == sorted(keys) and manifest.samples == 3 and manifest.excluded == 3


def test_given_held_out_keys_are_left_out_too(synth_dir):
    every = Task.from_config(RunConfig(source=str(synth_dir)))
    first = every.samples[0].sample_key
    task = Task.from_config(RunConfig(source=str(synth_dir)), held_out=frozenset({first}), held_out_because="the run's manifest")
    assert first not in {s.sample_key for s in task.samples} and task.excluded == 1
    assert task.excluded_because == "the run's manifest"
    assert Task.from_config(RunConfig(source=str(synth_dir)), held_out=frozenset({"elsewhere"})).excluded_because is None


@pytest.mark.parametrize(
    ("changes", "roles", "scoring_roles", "scorer"),
    [
        ({}, ("planner", "differencer"), (), ClosedScorer),
        ({"localization": "random"}, ("differencer",), (), ClosedScorer),
        ({"mode": "open"}, ("proposer", "planner", "differencer", "matcher"), ("matcher",), OpenScorer),
        ({"mode": "open", "open_protocol": "published"}, ("proposer", "planner", "differencer", "matcher"), (), PublishedScorer),
    ],
)
def test_roles_and_scorer_follow_the_config(synth_dir, changes, roles, scoring_roles, scorer):
    task = Task.from_config(RunConfig(source=str(synth_dir), **changes))
    assert task.roles() == roles and task.scoring_roles() == scoring_roles
    assert isinstance(task.scorer({}), scorer)


def test_keys_are_checked_for_every_role_before_anything_runs(synth_dir):
    task = Task.from_config(RunConfig(source=str(synth_dir), mode="open"))
    with pytest.raises(CredentialsError, match="set OPENAI_API_KEY for proposer .*planner .*differencer .*matcher"):
        task.api_keys({})
    assert task.api_keys({}, ()) == {}
    assert task.api_keys({"OPENAI_API_KEY": "k"}, task.scoring_roles()) == {"matcher": "k"}


def test_manifest_records_the_rates_used_per_domain(synth_dir):
    assert Task.from_config(RunConfig(source=str(synth_dir))).manifest().sampling_rates == {"ballsports": 5.0, "fitness": 8.0}
    assert Task.from_config(RunConfig(source=str(synth_dir), fps=2.0)).manifest().sampling_rates == {"ballsports": 2.0, "fitness": 2.0}
