import pytest

from tests.evaluation.test_scoring import make_sample
from viddiff.optimize import HeldOutSlice, SliceError, select_held_out

SAMPLES = [make_sample(f"{action}_{i}", n, "easy", action, {"0": "a"}) for n, (action, i) in enumerate(
    [(a, i) for a, count in (("fitness_0", 10), ("fitness_1", 4), ("music_0", 1)) for i in range(count)]
)]


def _action(key: str) -> str:
    return key.rsplit("_", 1)[0]


def test_fraction_is_stratified_per_action_and_deterministic():
    held_out = select_held_out(SAMPLES, source="s", seed=3, fraction=0.5)
    chosen = [_action(k) for k in held_out.sample_keys]
    # fitness_0: 5 of 10; fitness_1: round(2) raised to the minimum of 3 of 4; music_0: its only sample.
    assert (chosen.count("fitness_0"), chosen.count("fitness_1"), chosen.count("music_0")) == (5, 3, 1)
    # Test: round(5/3) = 2 of fitness_0, 1 of fitness_1, none of music_0 (a single sample trains).
    assert sorted(_action(k) for k in held_out.test) == ["fitness_0", "fitness_0", "fitness_1"]
    # Validation: likewise 2 and 1; train: the rest (1 of fitness_0, 1 of fitness_1, music_0).
    assert sorted(_action(k) for k in held_out.validation) == ["fitness_0", "fitness_0", "fitness_1"]
    assert sorted(_action(k) for k in held_out.train) == ["fitness_0", "fitness_1", "music_0"]
    assert not set(held_out.test) & (set(held_out.validation) | set(held_out.train))
    assert held_out == select_held_out(list(reversed(SAMPLES)), source="s", seed=3, fraction=0.5)
    assert held_out.sample_keys != select_held_out(SAMPLES, source="s", seed=4, fraction=0.5).sample_keys


def test_size_per_action_and_round_trip(tmp_path):
    held_out = select_held_out(SAMPLES, source="s", seed=0, size=3, validation_fraction=0, test_fraction=0)
    assert [_action(k) for k in sorted(held_out.train)].count("fitness_0") == 3
    assert len(held_out.train) == 3 + 3 + 1 and held_out.validation == () and held_out.test == ()
    assert HeldOutSlice.from_dict(held_out.to_dict()) == held_out
    path = held_out.save(tmp_path / "slice.json")
    assert path.read_text().count("fitness_0_") == 3


def test_a_small_benchmark_still_gets_every_part():
    """The 12-pair quick-start benchmark has 4 samples per action: the default 20% would give one."""
    small = [make_sample(f"{action}_{i}", n, "easy", action, {"0": "a"}) for n, (action, i) in enumerate(
        [(a, i) for a in ("squat", "kick", "jack") for i in range(4)]
    )]
    held_out = select_held_out(small, source="s", seed=0, fraction=0.2)
    assert (len(held_out.train), len(held_out.validation), len(held_out.test)) == (3, 3, 3)


def test_old_manifests_without_a_test_part_still_load():
    data = {"source": "s", "seed": 0, "fraction": 0.2, "size": None, "train": ["a"], "validation": ["b"]}
    assert HeldOutSlice.from_dict(data).test == () and HeldOutSlice.from_dict(data).sample_keys == {"a", "b"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "as a fraction or a size"),
        ({"fraction": 0.5, "size": 2}, "as a fraction or a size"),
        ({"fraction": 0.0}, r"fraction must be in \(0, 1\]"),
        ({"size": 0}, "size must be at least 1"),
        ({"fraction": 0.5, "validation_fraction": 1.0}, r"validation and test fractions must be in \[0, 1\) with a sum below 1"),
        ({"fraction": 0.5, "validation_fraction": 0.5, "test_fraction": 0.5}, "with a sum below 1"),
    ],
)
def test_bad_slice_requests(kwargs, message):
    with pytest.raises(SliceError, match=message):
        select_held_out(SAMPLES, source="s", seed=0, **kwargs)
