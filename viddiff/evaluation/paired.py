"""Comparing two scored runs difference by difference, and saying what differs between them.

Pairing: each difference both runs counted in their scores (same sample key and difference
key), with whether each got it right, read from the runs' outcomes.jsonl: never re-derived.
Statistics (`paired_stats`): a sample-level test, since the differences of one sample share
videos and answers, and a cluster bootstrap of the score gap.
What differs: flattened config values, and the instructions and demos of compiled programs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from viddiff.data.records import SPLITS
from viddiff.errors import ViddiffError
from viddiff.evaluation.paired_stats import PairedStats, paired_stats, verdict
from viddiff.run_log import RESUME_MAY_CHANGE, ScoredRun, load_scored_run

IGNORED_CONFIG_KEYS = RESUME_MAY_CHANGE
"""Config keys that do not change results (sample limit, threads, cache folder)."""
DEFAULT_PROGRAM = "default (no compiled program)"


class CompareError(ViddiffError):
    """Runs cannot be compared: of different modes or benchmarks."""


@dataclass(frozen=True)
class PairedDifference:
    """One ground-truth difference counted in both runs' scores."""

    sample_key: str
    key: str
    action: str
    split: str
    correct_a: bool
    correct_b: bool


@dataclass(frozen=True)
class PairedOutcomes:
    """The differences two runs of one mode and benchmark both counted, in (sample, key) order."""

    mode: str
    source: str
    differences: list[PairedDifference]
    only_a: int
    """Differences counted by run A alone (not paired)."""
    only_b: int


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
    """The differences both runs counted, with each run's correctness.

    Raises:
        RunLogError: a run cannot be read.
        CompareError: the runs differ in mode or benchmark source.
    """
    return pair_outcomes(load_scored_run(run_a_dir), load_scored_run(run_b_dir))


def pair_outcomes(run_a: ScoredRun, run_b: ScoredRun) -> PairedOutcomes:
    """Pair two runs' counted outcomes by (sample key, difference key)."""
    for name, value_a, value_b in (("mode", run_a.mode, run_b.mode), ("source", run_a.config.get("source"), run_b.config.get("source"))):
        if value_a != value_b:
            raise CompareError(
                f"cannot compare runs of different {name}: {run_a.path} has {value_a!r}, {run_b.path} has {value_b!r}"
            )
    counted_a = {(o.sample_key, o.key): o for o in run_a.outcomes if o.counted}
    counted_b = {(o.sample_key, o.key): o for o in run_b.outcomes if o.counted}
    differences = [
        PairedDifference(sample_key, key, counted_a[sample_key, key].action, counted_a[sample_key, key].split,
                         counted_a[sample_key, key].correct, counted_b[sample_key, key].correct)
        for sample_key, key in sorted(counted_a.keys() & counted_b.keys())
    ]
    return PairedOutcomes(
        mode=run_a.mode,
        source=run_a.config.get("source"),
        differences=differences,
        only_a=len(counted_a.keys() - counted_b.keys()),
        only_b=len(counted_b.keys() - counted_a.keys()),
    )


def compared_stats(outcomes: PairedOutcomes, *, samples: int = 10_000, seed: int = 0, confidence: float = 0.95) -> PairedStats:
    """`paired_stats` of paired outcomes, clustered by sample."""
    differences = outcomes.differences
    return paired_stats(
        [d.correct_a for d in differences],
        [d.correct_b for d in differences],
        [d.sample_key for d in differences],
        samples=samples,
        seed=seed,
        confidence=confidence,
    )


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
    """The prompts of a run: those of the compiled program its config names (key `program`),
    read from the JSON that DSPy's `program.save` writes (a relative path is tried from the
    working folder, then from the run directory), or else the system's default prompts.

    Raises:
        CompareError: the program file is not valid JSON.
    """
    named = config.get("program")
    if not named:
        return CompiledProgram(DEFAULT_PROGRAM, _predictor_prompts(_default_state(config)))
    path = next((p for p in (Path(named).expanduser(), Path(run_dir) / named) if p.is_file()), None)
    if path is None:
        return CompiledProgram(f"{named} (file not found)", None)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CompareError(f"{path}: not valid JSON ({e})") from e
    return CompiledProgram(str(path), _predictor_prompts(saved))


PROMPT_KEYS = ("system", "mode", "three_way", "chain_of_thought", "frames_as")
"""Config keys that choose a system's default signatures."""


def _same_default_prompts(config_a: Mapping[str, Any], config_b: Mapping[str, Any]) -> bool:
    """Whether both runs used the default prompts of the same signatures."""
    return not config_a.get("program") and not config_b.get("program") and all(
        config_a.get(key) == config_b.get(key) for key in PROMPT_KEYS
    )


def _default_state(config: Mapping[str, Any]) -> dict[str, Any]:
    """What DSPy would save of the system's program with its default prompts, for this config."""
    from viddiff.config import RunConfig
    from viddiff.systems import system_for

    run_config = RunConfig.from_dict(config)
    return system_for(run_config.system).build(run_config, {}).dump_state()


def _predictor_prompts(saved: Any) -> dict[str, PredictorPrompt]:
    """Instructions, demo count and fields of each predictor in a saved program's state."""
    predictors = {}
    for name, state in (saved.items() if isinstance(saved, Mapping) else ()):
        if not isinstance(state, Mapping) or not isinstance(state.get("signature"), Mapping):
            continue  # `metadata`, or anything else that is not a predictor
        signature = state["signature"]
        predictors[name] = PredictorPrompt(
            instructions=signature.get("instructions") or "",
            demos=len(state.get("demos") or []),
            fields=tuple((f.get("prefix"), f.get("description")) for f in signature.get("fields") or []),
        )
    return predictors


def instruction_differences(program_a: CompiledProgram, program_b: CompiledProgram) -> list[InstructionDifference]:
    """Predictors whose instructions, demo counts or fields differ (a default prompt the other run
    also uses is not listed). A run whose compiled program file is gone shows that instead of
    instructions for every predictor the other program saved."""
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
    outcomes = pair_outcomes(run_a, run_b)
    config_a, config_b = run_a.config, run_b.config
    if _same_default_prompts(config_a, config_b):  # nothing to list, and no program (nor DSPy) to load
        program_a = program_b = CompiledProgram(DEFAULT_PROGRAM, {})
    else:
        program_a, program_b = load_program(run_a_dir, config_a), load_program(run_b_dir, config_b)
    return RunComparison(
        run_a=Path(run_a_dir),
        run_b=Path(run_b_dir),
        outcomes=outcomes,
        stats=compared_stats(outcomes, samples=samples, seed=seed, confidence=confidence),
        splits=_compare_by(outcomes.differences, "split"),
        actions=_compare_by(outcomes.differences, "action"),
        config_differences=config_differences(config_a, config_b),
        program_a=program_a.description,
        program_b=program_b.description,
        instruction_differences=instruction_differences(program_a, program_b),
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
