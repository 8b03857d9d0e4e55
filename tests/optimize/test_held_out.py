import pytest

from tests.evaluation.test_scoring import make_sample
from viddiff.optimize import HeldOutSlice, SliceError, exclude, select_held_out

SAMPLES = [make_sample(f"{action}_{i}", n, "easy", action, {"0": "a"}) for n, (action, i) in enumerate(
    [(a, i) for a, count in (("fitness_0", 10), ("fitness_1", 4), ("music_0", 1)) for i in range(count)]
)]


def _action(key: str) -> str:
    return key.rsplit("_", 1)[0]


def test_fraction_is_stratified_per_action_and_deterministic():
    held_out = select_held_out(SAMPLES, source="s", seed=3, fraction=0.5)
    chosen = [_action(k) for k in held_out.sample_keys]
    # fitness_0: 5 of 10, fitness_1: 2 of 4, music_0: at least 1 of 1.
    assert (chosen.count("fitness_0"), chosen.count("fitness_1"), chosen.count("music_0")) == (5, 2, 1)
    # Validation: round(5/3) = 2 of fitness_0, 1 of fitness_1, none of music_0 (a single sample trains).
    assert sorted(_action(k) for k in held_out.validation) == ["fitness_0", "fitness_0", "fitness_1"]
    assert held_out == select_held_out(list(reversed(SAMPLES)), source="s", seed=3, fraction=0.5)
    assert held_out.sample_keys != select_held_out(SAMPLES, source="s", seed=4, fraction=0.5).sample_keys


def test_size_per_action_and_round_trip(tmp_path):
    held_out = select_held_out(SAMPLES, source="s", seed=0, size=3, validation_fraction=0)
    assert [_action(k) for k in sorted(held_out.train)].count("fitness_0") == 3
    assert len(held_out.train) == 3 + 3 + 1 and held_out.validation == ()
    assert HeldOutSlice.from_dict(held_out.to_dict()) == held_out
    path = held_out.save(tmp_path / "slice.json")
    assert path.read_text().count("fitness_0_") == 3


def test_exclude():
    held_out = select_held_out(SAMPLES, source="s", seed=0, size=1)
    kept, excluded = exclude(SAMPLES, held_out)
    assert excluded == 3 and len(kept) == len(SAMPLES) - 3
    assert not {s.sample_key for s in kept} & held_out.sample_keys
    assert exclude(SAMPLES, None) == (SAMPLES, 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "as a fraction or a size"),
        ({"fraction": 0.5, "size": 2}, "as a fraction or a size"),
        ({"fraction": 0.0}, r"fraction must be in \(0, 1\]"),
        ({"size": 0}, "size must be at least 1"),
        ({"fraction": 0.5, "validation_fraction": 1.0}, r"validation fraction must be in \[0, 1\)"),
    ],
)
def test_bad_slice_requests(kwargs, message):
    with pytest.raises(SliceError, match=message):
        select_held_out(SAMPLES, source="s", seed=0, **kwargs)
