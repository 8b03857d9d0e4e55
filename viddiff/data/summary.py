"""Counts per split, domain and action: what `viddiff data` prints."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from viddiff.data.records import SPLITS, Sample


@dataclass(frozen=True)
class GroupSummary:
    """Counts for one group of samples."""

    group: str
    pairs: int
    differences: int
    """Labelled differences (a, b or c)."""
    a: int
    b: int
    c: int
    n_diff_mean: float

    @property
    def share_a(self) -> float:
        """Share of `a` among the a/b labels (0.5 = balanced; NaN when there is none)."""
        return self.a / (self.a + self.b) if self.a + self.b else float("nan")


def summarize(samples: Iterable[Sample], key: Callable[[Sample], str]) -> list[GroupSummary]:
    """One GroupSummary per value of `key`, splits in benchmark order, others sorted, then 'all'."""
    samples = list(samples)
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(key(sample), []).append(sample)
    order = sorted(groups, key=lambda g: (SPLITS.index(g) if g in SPLITS else len(SPLITS), g))
    return [_summarize_group(g, groups[g]) for g in order] + [_summarize_group("all", samples)]


def _summarize_group(name: str, samples: list[Sample]) -> GroupSummary:
    labels = [label for s in samples for label in s.labels.values()]
    return GroupSummary(
        group=name,
        pairs=len(samples),
        differences=len(labels),
        a=labels.count("a"),
        b=labels.count("b"),
        c=labels.count("c"),
        n_diff_mean=sum(s.n_differences_open for s in samples) / len(samples) if samples else 0.0,
    )


def format_table(title: str, rows: list[GroupSummary]) -> str:
    """A plain-text table of group summaries."""
    header = f"{title:<22} {'pairs':>6} {'diffs':>6} {'a':>5} {'b':>5} {'c':>5} {'a/(a+b)':>8} {'N_diff':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        share = "-" if r.a + r.b == 0 else f"{r.share_a:.2f}"
        lines.append(
            f"{r.group:<22} {r.pairs:>6} {r.differences:>6} {r.a:>5} {r.b:>5} {r.c:>5} "
            f"{share:>8} {r.n_diff_mean:>7.1f}"
        )
    return "\n".join(lines)
