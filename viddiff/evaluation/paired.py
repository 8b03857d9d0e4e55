"""Comparing two scored runs difference by difference, and saying what differs between them.

Pairing: each a/b-labelled difference that both runs scored (same sample key and difference
key), with whether each run got it right, recomputed from the run's records (and, open set,
its matcher decisions in matches.jsonl) exactly as the run's evaluation scored it.
Statistics: the exact McNemar test on the discordant pairs, and a percentile bootstrap of the
score gap that resamples whole samples (differences of one sample share videos and answers).
What differs: flattened config values, and the instructions and demos of compiled programs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binomtest

from viddiff.data.records import SPLITS
from viddiff.errors import ViddiffError
from viddiff.evaluation.outcomes import POSITIVE, flip
from viddiff.evaluation.significance import ALPHA
from viddiff.run_dir import MATCHES_FILE, METRICS_FILE, RESUME_MAY_CHANGE, ScoredRun, how_to_score, load_scored_run

IGNORED_CONFIG_KEYS = RESUME_MAY_CHANGE
"""Config keys that do not change results (sample limit, threads, cache folder)."""
DEFAULT_PROGRAM = "default (no compiled program)"


class CompareError(ViddiffError):
    """Runs cannot be compared: missing, not scored, or of different modes or benchmarks."""


@dataclass(frozen=True)
class PairedDifference:
    """One ground-truth difference scored in both runs."""

    sample_key: str
    key: str
    action: str
    split: str
    correct_a: bool
    correct_b: bool


@dataclass(frozen=True)
class PairedOutcomes:
    """The differences two runs of one mode and benchmark both scored, in (sample, key) order."""

    mode: str
    source: str
    differences: list[PairedDifference]
    only_a: int
    """Differences scored by run A alone (not paired)."""
    only_b: int
    warnings: list[str]
    """Runs whose records no longer reproduce their metrics.json."""


@dataclass(frozen=True)
class PairedStats:
    """Agreement counts, the exact McNemar p-value and the bootstrap score gap A - B."""

    n: int
    both_right: int
    a_only: int
    """A right, B wrong."""
    b_only: int
    """A wrong, B right."""
    neither: int
    p_value: float
    gap: float
    """Score of A minus score of B (a fraction; NaN when n is 0)."""
    low: float
    high: float
    """Percentile bootstrap interval of the gap (NaN with fewer than two samples)."""
    confidence: float
    resamples: int
    seed: int
    clusters: int
    """Samples resampled by the cluster bootstrap."""


@dataclass(frozen=True)
class GroupComparison:
    """Both runs' scores on the paired differences of one split or action."""

    n: int
    score_a: float
    score_b: float


@dataclass(frozen=True)
class ConfigDifference:
    key: str
    """Dotted path, e.g. `lms.differencer.model`."""
    value_a: Any
    value_b: Any


@dataclass(frozen=True)
class PredictorPrompt:
    """What a compiled program saved for one predictor."""

    instructions: str
    demos: int
    fields: tuple[tuple[str | None, str | None], ...]
    """(prefix, description) of each signature field."""


@dataclass(frozen=True)
class CompiledProgram:
    """The prompts of a run's predictors: from its compiled program, or the defaults."""

    description: str
    """The program file, DEFAULT_PROGRAM, or the named file followed by '(file not found)'."""
    predictors: dict[str, PredictorPrompt] | None
    """By predictor path (e.g. `differencer.compare`); None when not known from a file."""


@dataclass(frozen=True)
class InstructionDifference:
    """A predictor whose instructions, demo count or fields differ between two programs."""

    predictor: str
    instructions_a: str
    instructions_b: str
    demos_a: int | None
    demos_b: int | None
    fields_differ: bool


@dataclass(frozen=True)
class RunComparison:
    """Everything `viddiff compare` reports about run B against run A."""

    run_a: Path
    run_b: Path
    outcomes: PairedOutcomes
    stats: PairedStats
    splits: dict[str, GroupComparison]
    actions: dict[str, GroupComparison]
    config_differences: list[ConfigDifference]
    program_a: str
    program_b: str
    instruction_differences: list[InstructionDifference]

    @property
    def verdict(self) -> str:
        return verdict(self.stats)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings, NaN as null."""
        return _jsonable({**asdict(self), "verdict": self.verdict})


def paired_outcomes(run_a_dir: str | Path, run_b_dir: str | Path) -> PairedOutcomes:
    """The differences both runs scored, with each run's correctness.

    Raises:
        RunDirectoryError: a run cannot be read.
        CompareError: the runs differ in mode or benchmark source.
    """
    return _pair(load_scored_run(run_a_dir), load_scored_run(run_b_dir))


def _pair(run_a: ScoredRun, run_b: ScoredRun) -> PairedOutcomes:
    for name, value_a, value_b in (("mode", run_a.mode, run_b.mode), ("source", run_a.config.get("source"), run_b.config.get("source"))):
        if value_a != value_b:
            raise CompareError(
                f"cannot compare runs of different {name}: {run_a.path} has {value_a!r}, {run_b.path} has {value_b!r}"
            )
    for run in (run_a, run_b):
        if run.mode == "open" and not (run.path / MATCHES_FILE).is_file() and not run.decisions:
            raise CompareError(f"{run.path} has {METRICS_FILE} but no {MATCHES_FILE}; score it again: {how_to_score(run.path, run.config)}")
    scored_a, scored_b = _scored_differences(run_a), _scored_differences(run_b)
    differences = []
    for sample_key, key in sorted(scored_a.keys() & scored_b.keys()):
        action, split, correct_a = scored_a[sample_key, key]
        differences.append(PairedDifference(sample_key, key, action, split, correct_a, scored_b[sample_key, key][2]))
    return PairedOutcomes(
        mode=run_a.mode,
        source=run_a.config.get("source"),
        differences=differences,
        only_a=len(scored_a.keys() - scored_b.keys()),
        only_b=len(scored_b.keys() - scored_a.keys()),
        warnings=[w for run, scored in ((run_a, scored_a), (run_b, scored_b)) if (w := _stale(run, scored))],
    )


def _scored_differences(run: ScoredRun) -> dict[tuple[str, str], tuple[str, str, bool]]:
    """(action, split, correct) of every a/b-labelled difference the run's evaluation scored,
    by (sample key, difference key).

    Closed: correct iff the prediction for the key equals the label. Open: samples with a
    matcher decision; correct iff matched and the matched prediction's answer (flipped when
    the matcher found it states the opposite) equals the label.
    """
    scored = {}
    for sample_key, record in run.records_by_key.items():
        decision = run.decisions.get(sample_key)
        if run.mode == "open" and decision is None:
            continue
        answers = {p["key"]: p["answer"] for p in record.get("predictions") or []}
        for key, label in (record.get("labels") or {}).items():
            if label not in POSITIVE:
                continue
            if decision is None:
                answer = answers.get(key)
            else:
                matched = (decision.get("matches") or {}).get(key)
                answer = answers.get(matched) if matched else None
                if key in (decision.get("opposites") or []):
                    answer = flip(answer)
            scored[sample_key, key] = (record.get("action"), record.get("split"), answer == label)
    return scored


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts.

    Args:
        b: pairs where A is right and B wrong.
        c: pairs where A is wrong and B right.

    Returns:
        The two-sided binomial test of min(b, c) successes in b + c trials at 0.5; 1.0 when
        there are no discordant pairs (no evidence either way).
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be non-negative, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return float(binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue)


def resampled_gaps(
    correct_a: Sequence[bool], correct_b: Sequence[bool], *, samples: int = 10_000, seed: int = 0, groups: Sequence[Hashable] | None = None
) -> np.ndarray:
    """Score(A) - score(B) on `samples` bootstrap resamples of the paired differences.

    Each resample draws as many units as there are, with replacement: differences, or (with
    `groups`, one label per difference such as its sample key) whole groups. Units with the
    same size and the same summed `correct_a - correct_b` are interchangeable, so a resample is
    drawn as multinomial counts over those kinds of unit: the same distribution as drawing
    indices, in memory proportional to the number of kinds rather than to n.

    Raises:
        ValueError: no differences, arrays of different lengths, or `samples` < 1.
    """
    sums, sizes = _unit_totals(correct_a, correct_b, groups)
    if sums.size == 0:
        raise ValueError("no paired differences to resample")
    return _resample(sums, sizes, samples, seed)


def bootstrap_gap(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    *,
    samples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    groups: Sequence[Hashable] | None = None,
) -> tuple[float, float, float]:
    """Score(A) - score(B) with a percentile bootstrap interval.

    Args:
        correct_a, correct_b: whether each run got each paired difference right.
        samples: bootstrap resamples.
        seed: seeds `numpy.random.default_rng`; nothing else is random.
        confidence: coverage of the interval.
        groups: one label per difference (e.g. its sample key) to resample whole groups, a
            cluster bootstrap; None resamples single differences.

    Returns:
        (gap, low, high). With no differences all three are NaN; with fewer than two units to
        resample the interval is NaN (a bootstrap of one unit has no spread to estimate).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    sums, sizes = _unit_totals(correct_a, correct_b, groups)
    if sums.size == 0:
        return math.nan, math.nan, math.nan
    gap = float(sums.sum() / sizes.sum())
    if sums.size < 2:
        return gap, math.nan, math.nan
    gaps = _resample(sums, sizes, samples, seed)
    low, high = np.quantile(gaps, [(1 - confidence) / 2, (1 + confidence) / 2])
    return gap, float(low), float(high)


def paired_stats(outcomes: PairedOutcomes, *, samples: int = 10_000, seed: int = 0, confidence: float = 0.95) -> PairedStats:
    """Counts, exact McNemar p and the cluster-bootstrap gap (resampling samples) of paired outcomes."""
    a = np.array([d.correct_a for d in outcomes.differences], dtype=bool)
    b = np.array([d.correct_b for d in outcomes.differences], dtype=bool)
    sample_keys = [d.sample_key for d in outcomes.differences]
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    gap, low, high = bootstrap_gap(a, b, samples=samples, seed=seed, confidence=confidence, groups=sample_keys)
    return PairedStats(
        n=a.size,
        both_right=int(np.sum(a & b)),
        a_only=a_only,
        b_only=b_only,
        neither=int(np.sum(~a & ~b)),
        p_value=mcnemar_exact(a_only, b_only),
        gap=gap,
        low=low,
        high=high,
        confidence=confidence,
        resamples=samples,
        seed=seed,
        clusters=len(set(sample_keys)),
    )


def verdict(stats: PairedStats) -> str:
    """One line: which run is better at the 5% level by the exact McNemar test, or neither."""
    if stats.n == 0:
        return "nothing to compare: no difference was scored in both runs"
    if stats.p_value < ALPHA:
        return f"{'A' if stats.a_only > stats.b_only else 'B'} is better (p {_p_text(stats.p_value)})"
    return f"no significant difference (p {_p_text(stats.p_value)})"


def _p_text(p_value: float) -> str:
    """'= 0.043', '= 1', or '< 0.001'."""
    return "< 0.001" if p_value < 0.001 else f"= {p_value:.2g}"


def _compare_by(differences: Sequence[PairedDifference], attribute: str) -> dict[str, GroupComparison]:
    """Both runs' scores per value of `attribute` ('split' or 'action'); splits in benchmark order."""
    groups: dict[str, list[PairedDifference]] = {}
    for difference in differences:
        groups.setdefault(getattr(difference, attribute), []).append(difference)
    order = sorted(groups, key=lambda name: (SPLITS.index(name) if attribute == "split" and name in SPLITS else len(SPLITS), name))
    return {
        name: GroupComparison(
            n=len(groups[name]),
            score_a=sum(d.correct_a for d in groups[name]) / len(groups[name]),
            score_b=sum(d.correct_b for d in groups[name]) / len(groups[name]),
        )
        for name in order
    }


def config_differences(config_a: Mapping[str, Any], config_b: Mapping[str, Any]) -> list[ConfigDifference]:
    """Config values that differ, by dotted key; a key one config lacks counts as null.
    IGNORED_CONFIG_KEYS are left out."""
    flat_a, flat_b = _flatten(config_a), _flatten(config_b)
    return [
        ConfigDifference(key, flat_a.get(key), flat_b.get(key))
        for key in sorted(flat_a.keys() | flat_b.keys())
        if key not in IGNORED_CONFIG_KEYS and flat_a.get(key) != flat_b.get(key)
    ]


def load_program(run_dir: str | Path, config: Mapping[str, Any]) -> CompiledProgram:
    """The compiled program a run's config names (key `program`), read from the JSON that
    DSPy's `program.save` writes; a relative path is tried from the working folder, then from
    the run directory.

    Raises:
        CompareError: the program file is not valid JSON.
    """
    named = config.get("program")
    if not named:
        return CompiledProgram(DEFAULT_PROGRAM, None)
    path = next((p for p in (Path(named).expanduser(), Path(run_dir) / named) if p.is_file()), None)
    if path is None:
        return CompiledProgram(f"{named} (file not found)", None)
    predictors = {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CompareError(f"{path}: not valid JSON ({e})") from e
    for name, state in (saved.items() if isinstance(saved, Mapping) else ()):
        if not isinstance(state, Mapping) or not isinstance(state.get("signature"), Mapping):
            continue  # `metadata`, or anything else that is not a predictor
        signature = state["signature"]
        predictors[name] = PredictorPrompt(
            instructions=signature.get("instructions") or "",
            demos=len(state.get("demos") or []),
            fields=tuple((f.get("prefix"), f.get("description")) for f in signature.get("fields") or []),
        )
    return CompiledProgram(str(path), predictors)


def instruction_differences(program_a: CompiledProgram, program_b: CompiledProgram) -> list[InstructionDifference]:
    """Predictors whose instructions, demo counts or fields differ. A run whose prompts are not
    known from a file (no compiled program, or its file is gone) shows its description instead
    of instructions for every predictor the other program saved."""
    predictors_a, predictors_b = program_a.predictors or {}, program_b.predictors or {}
    differences = []
    for name in sorted(predictors_a.keys() | predictors_b.keys()):
        prompt_a, prompt_b = predictors_a.get(name), predictors_b.get(name)
        if prompt_a == prompt_b:
            continue
        differences.append(
            InstructionDifference(
                predictor=name,
                instructions_a=_instructions(prompt_a, program_a),
                instructions_b=_instructions(prompt_b, program_b),
                demos_a=prompt_a.demos if prompt_a else None,
                demos_b=prompt_b.demos if prompt_b else None,
                fields_differ=prompt_a is not None and prompt_b is not None and prompt_a.fields != prompt_b.fields,
            )
        )
    return differences


def compare_runs(
    run_a_dir: str | Path, run_b_dir: str | Path, *, samples: int = 10_000, seed: int = 0, confidence: float = 0.95
) -> RunComparison:
    """Run B against run A: paired scores per split and action, paired statistics, and the
    config and instruction differences."""
    run_a, run_b = load_scored_run(run_a_dir), load_scored_run(run_b_dir)
    outcomes = _pair(run_a, run_b)
    config_a, config_b = run_a.config, run_b.config
    program_a, program_b = load_program(run_a_dir, config_a), load_program(run_b_dir, config_b)
    return RunComparison(
        run_a=Path(run_a_dir),
        run_b=Path(run_b_dir),
        outcomes=outcomes,
        stats=paired_stats(outcomes, samples=samples, seed=seed, confidence=confidence),
        splits=_compare_by(outcomes.differences, "split"),
        actions=_compare_by(outcomes.differences, "action"),
        config_differences=config_differences(config_a, config_b),
        program_a=program_a.description,
        program_b=program_b.description,
        instruction_differences=instruction_differences(program_a, program_b),
    )


def _unit_totals(correct_a: Sequence[bool], correct_b: Sequence[bool], groups: Sequence[Hashable] | None) -> tuple[np.ndarray, np.ndarray]:
    """Per resampling unit (a difference, or a group of them): summed correct_a - correct_b, and size."""
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"correct_a and correct_b must be 1-d and of one length, got shapes {a.shape} and {b.shape}")
    if groups is None:
        return a - b, np.ones_like(a)
    if len(groups) != a.size:
        raise ValueError(f"groups has {len(groups)} labels for {a.size} differences")
    _, unit = np.unique(np.asarray(groups), return_inverse=True)
    return np.bincount(unit, weights=a - b), np.bincount(unit).astype(float)


def _resample(sums: np.ndarray, sizes: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Gaps of `samples` resamples of the units given by their summed differences and sizes."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    kinds, counts = np.unique(np.column_stack([sums, sizes]), axis=0, return_counts=True)
    draws = np.random.default_rng(seed).multinomial(sums.size, counts / sums.size, size=samples)
    return (draws @ kinds[:, 0]) / (draws @ kinds[:, 1])


def _stale(run: ScoredRun, scored: Mapping[tuple[str, str], tuple[str, str, bool]]) -> str | None:
    overall = run.metrics.get("overall") or {}
    correct, n = sum(c for _, _, c in scored.values()), len(scored)
    if (overall.get("correct"), overall.get("n")) == (correct, n):
        return None
    return (
        f"{run.path}: its records give {correct}/{n} right but {METRICS_FILE} says "
        f"{overall.get('correct')}/{overall.get('n')}; the comparison uses the records (to rescore: {how_to_score(run.path, run.config)})"
    )


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _instructions(prompt: PredictorPrompt | None, program: CompiledProgram) -> str:
    if prompt is not None:
        return prompt.instructions
    return program.description if program.predictors is None else "(no such predictor in this program)"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
