"""The held-out slice: the part of the benchmark prompts are compiled on, kept out of every score.

VidDiffBench has no training split. A slice is chosen per action (stratified), deterministically
for a seed, in three parts: `train` (the optimizer learns from it), `validation` (the optimizer
selects among candidates on it) and `test` (never seen while compiling: the honest before/after
score). The manifest lists the sample keys, so runs of the compiled program can exclude them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from viddiff.data.records import Sample
from viddiff.errors import ViddiffError


class SliceError(ViddiffError):
    """A held-out slice cannot be chosen or read as asked."""


@dataclass(frozen=True)
class HeldOutSlice:
    """Which samples a program is compiled on (`train`), selected on (`validation`) and tested on (`test`)."""

    source: str
    seed: int
    fraction: float | None
    size: int | None
    """Per action: the share of its samples, or their number, in the slice."""
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...] = ()
    """Untouched while compiling: the before/after score that candidate selection never saw."""

    @property
    def sample_keys(self) -> frozenset[str]:
        """Every sample in the slice: none of them may enter a score of the compiled program."""
        return frozenset(self.train) | frozenset(self.validation) | frozenset(self.test)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HeldOutSlice:
        try:
            parts = {part: tuple(data.get(part, ())) for part in ("train", "validation", "test")}
            return cls(**{**data, **parts})
        except (KeyError, TypeError) as e:
            raise SliceError(f"not a held-out slice manifest ({e})") from e

    def save(self, path: str | Path) -> Path:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)


MIN_PER_ACTION = 3
"""An action with at least this many samples gives the slice one sample for each part."""


def select_held_out(
    samples: Sequence[Sample],
    *,
    source: str,
    seed: int,
    fraction: float | None = None,
    size: int | None = None,
    validation_fraction: float = 1 / 3,
    test_fraction: float = 1 / 3,
) -> HeldOutSlice:
    """A deterministic, per-action stratified slice of `samples`.

    Each action contributes round(fraction * its samples), or `size` samples, but at least
    MIN_PER_ACTION (so a small benchmark still gets every part) and at most all of them, chosen
    by a generator seeded with (seed, action). Of an action's k chosen samples,
    round(test_fraction * k) go to test (at least one when k >= 3), round(validation_fraction *
    k) to validation (at least one when k >= 2), the rest to train.

    Raises:
        SliceError: neither or both of fraction and size, or values out of range.
    """
    if (fraction is None) == (size is None):
        raise SliceError("give the held-out slice as a fraction or a size per action, not both")
    if fraction is not None and not 0 < fraction <= 1:
        raise SliceError(f"held-out fraction must be in (0, 1], got {fraction}")
    if size is not None and size < 1:
        raise SliceError(f"held-out size must be at least 1 per action, got {size}")
    if not (0 <= validation_fraction < 1 and 0 <= test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise SliceError(
            f"validation and test fractions must be in [0, 1) with a sum below 1, got {validation_fraction} and {test_fraction}"
        )
    parts: dict[str, list[str]] = {"train": [], "validation": [], "test": []}
    for action, keys in sorted(_keys_by_action(samples).items()):
        rng = np.random.default_rng([seed, _stable_int(action)])
        chosen = [keys[i] for i in rng.permutation(len(keys))]
        wanted = size if size is not None else round(fraction * len(keys))
        count = min(len(keys), max(wanted, MIN_PER_ACTION))
        n_test = _part_size(test_fraction, count, minimum_count=3)
        n_validation = _part_size(validation_fraction, count, minimum_count=2)
        parts["test"] += chosen[:n_test]
        parts["validation"] += chosen[n_test : n_test + n_validation]
        parts["train"] += chosen[n_test + n_validation : count]
    return HeldOutSlice(source, seed, fraction, size, tuple(parts["train"]), tuple(parts["validation"]), tuple(parts["test"]))


def _part_size(share: float, count: int, *, minimum_count: int) -> int:
    """round(share * count), at least one when share > 0 and count >= minimum_count."""
    if share == 0:
        return 0
    return max(1 if count >= minimum_count else 0, round(share * count))


def _keys_by_action(samples: Sequence[Sample]) -> dict[str, list[str]]:
    by_action: dict[str, list[str]] = {}
    for sample in sorted(samples, key=lambda s: s.sample_key):
        by_action.setdefault(sample.action, []).append(sample.sample_key)
    return by_action


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")

