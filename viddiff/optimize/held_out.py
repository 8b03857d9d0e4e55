"""The held-out slice: the part of the benchmark prompts are compiled on, kept out of every score.

VidDiffBench has no training split. A slice is chosen per action (stratified), deterministically
for a seed; a validation part of it (also per action) scores the program before and after
compiling. The manifest lists the sample keys, so runs of the compiled program can exclude them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from viddiff.data.records import Sample
from viddiff.errors import ViddiffError


class SliceError(ViddiffError):
    """A held-out slice cannot be chosen or read as asked."""


@dataclass(frozen=True)
class HeldOutSlice:
    """Which samples a program is compiled on (`train`) and validated on (`validation`)."""

    source: str
    seed: int
    fraction: float | None
    size: int | None
    """Per action: the share of its samples, or their number, in the slice."""
    train: tuple[str, ...]
    validation: tuple[str, ...]

    @property
    def sample_keys(self) -> frozenset[str]:
        """Every sample in the slice: none of them may enter a score of the compiled program."""
        return frozenset(self.train) | frozenset(self.validation)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HeldOutSlice:
        try:
            return cls(**{**data, "train": tuple(data["train"]), "validation": tuple(data["validation"])})
        except (KeyError, TypeError) as e:
            raise SliceError(f"not a held-out slice manifest ({e})") from e

    def save(self, path: str | Path) -> Path:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)


def select_held_out(
    samples: Sequence[Sample],
    *,
    source: str,
    seed: int,
    fraction: float | None = None,
    size: int | None = None,
    validation_fraction: float = 1 / 3,
) -> HeldOutSlice:
    """A deterministic, per-action stratified slice of `samples`.

    Each action contributes round(fraction * its samples) (at least 1), or `size` samples
    (at most all of them), chosen by a generator seeded with (seed, action); of those,
    round(validation_fraction * k) go to validation, at least one when the action gives 2 or more.

    Raises:
        SliceError: neither or both of fraction and size, or values out of range.
    """
    if (fraction is None) == (size is None):
        raise SliceError("give the held-out slice as a fraction or a size per action, not both")
    if fraction is not None and not 0 < fraction <= 1:
        raise SliceError(f"held-out fraction must be in (0, 1], got {fraction}")
    if size is not None and size < 1:
        raise SliceError(f"held-out size must be at least 1 per action, got {size}")
    if not 0 <= validation_fraction < 1:
        raise SliceError(f"validation fraction must be in [0, 1), got {validation_fraction}")
    train: list[str] = []
    validation: list[str] = []
    for action, keys in sorted(_keys_by_action(samples).items()):
        rng = np.random.default_rng([seed, _stable_int(action)])
        chosen = [keys[i] for i in rng.permutation(len(keys))]
        count = min(len(keys), size) if size is not None else max(1, round(fraction * len(keys)))
        chosen = chosen[:count]
        n_validation = max(1, round(validation_fraction * count)) if count >= 2 and validation_fraction > 0 else 0
        validation += chosen[:n_validation]
        train += chosen[n_validation:]
    return HeldOutSlice(source, seed, fraction, size, tuple(train), tuple(validation))


def exclude(samples: Iterable[Sample], held_out: HeldOutSlice | None) -> tuple[list[Sample], int]:
    """The samples outside the slice, and how many were excluded."""
    samples = list(samples)
    if held_out is None:
        return samples, 0
    kept = [s for s in samples if s.sample_key not in held_out.sample_keys]
    return kept, len(samples) - len(kept)


def _keys_by_action(samples: Sequence[Sample]) -> dict[str, list[str]]:
    by_action: dict[str, list[str]] = {}
    for sample in sorted(samples, key=lambda s: s.sample_key):
        by_action.setdefault(sample.action, []).append(sample.sample_key)
    return by_action


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")

