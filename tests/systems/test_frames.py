"""The frames system's roles, rates, closed-set differences and config checks (no LM)."""

import pytest

from viddiff.config import ConfigError, RunConfig
from viddiff.data import load_benchmark
from viddiff.data.synth import generate_benchmark
from viddiff.programs.baselines import FramesBaseline
from viddiff.systems import FramesSystem, system_for
from viddiff.task import Task


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("frames_system") / "synth"
    generate_benchmark(out, pairs=6, seed=5, progress=False)
    return out


def test_roles_rates_and_program(synth_dir):
    closed = Task.from_config(RunConfig(source=str(synth_dir), system="frames").validate())
    assert isinstance(closed.system, FramesSystem) and system_for("frames").fps_table == "baseline"
    assert closed.roles() == ("baseline",) and closed.scoring_roles() == ()
    assert closed.sampling_rates() == {"ballsports": 5.0, "fitness": 4.0}  # the baselines' table
    opened = Task.from_config(RunConfig(source=str(synth_dir), system="frames", mode="open").validate())
    assert opened.roles() == ("baseline", "matcher") and opened.roles(scoring=False) == ("baseline",)
    program = closed.program({})
    assert isinstance(program, FramesBaseline) and program.max_images == 150 and program.baseline.mode == "closed"
    assert closed.manifest().system == "frames"


def test_closed_set_asks_the_a_b_labelled_differences_only(synth_dir):
    for sample in load_benchmark(synth_dir):
        asked = FramesSystem().closed_differences(sample)
        assert list(asked) == [k for k in sample.candidates if sample.labels[k] in ("a", "b")]
        assert system_for("viddiff").closed_differences(sample) == sample.candidates


def test_config_checks():
    with pytest.raises(ConfigError, match="the frames system decides in its one call: use verify-then-match"):
        RunConfig(system="frames", mode="open", open_protocol="published").validate()
    RunConfig(system="frames", mode="closed", open_protocol="published").validate()  # closed set has no protocol
    with pytest.raises(ConfigError, match="max_images"):
        RunConfig(system="frames", max_images=1).validate()
