"""Compiling VidDiff's prompts with DSPy optimizers, and saving and loading compiled programs.

Optimizers:
- `instructions`: MIPROv2 with zero demos (instructions only, suited to image-heavy prompts),
  its data- and few-shot-aware proposers off so no image is pasted into a text prompt;
- `fewshot`: BootstrapFewShot with at most `max_demos` bootstrapped demos per predictor (each
  differencer demo repeats its frames in every later call, so keep it at 0-1).
Only the chosen stages are optimized; the others are frozen (DSPy skips `_compiled` modules).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dspy

from viddiff import __version__
from viddiff.config import RunConfig
from viddiff.errors import ViddiffError
from viddiff.optimize.held_out import HeldOutSlice
from viddiff.programs.threads import map_in_threads
from viddiff.programs.viddiff import VidDiff

OPTIMIZERS = ("instructions", "fewshot")
STAGES = {"proposer": ("proposer",), "planner": ("planner", "linker"), "differencer": ("differencer",)}
"""Stages a user can choose to optimize, and the program's modules each one covers."""
FORMAT_VERSION = 1
VARIANT_KEYS = ("mode", "three_way", "chain_of_thought")
"""Config values a compiled program is tied to: they decide its predictors and signatures."""


class ProgramError(ViddiffError):
    """A compiled program cannot be loaded for this run."""


@dataclass(frozen=True)
class CompileSettings:
    optimizer: str
    stages: tuple[str, ...] = ("differencer",)
    max_demos: int = 1
    candidates: int = 3
    """MIPROv2: instruction candidates per predictor."""
    trials: int = 6
    """MIPROv2: candidate combinations evaluated on the validation part."""
    seed: int = 0

    def validate(self) -> CompileSettings:
        if self.optimizer not in OPTIMIZERS:
            raise ViddiffError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        unknown = sorted(set(self.stages) - set(STAGES))
        if unknown or not self.stages:
            raise ViddiffError(f"stages to optimize must be among {', '.join(STAGES)}, got {', '.join(self.stages) or 'none'}")
        if self.max_demos < 0 or self.candidates < 1 or self.trials < 1:
            raise ViddiffError("max_demos must be >= 0, candidates and trials >= 1")
        return self


def compile_program(
    program: VidDiff,
    settings: CompileSettings,
    *,
    trainset: Sequence[dspy.Example],
    valset: Sequence[dspy.Example],
    metric: Callable,
    prompt_lm: dspy.LM | None = None,
    task_lm: dspy.LM | None = None,
) -> VidDiff:
    """The program with the chosen stages' prompts optimized on `trainset` (MIPROv2 also
    evaluates candidates on `valset`). `prompt_lm` writes MIPROv2's instruction candidates;
    `task_lm` is its default LM for roles the program has none for."""
    frozen = [module for stage, modules in STAGES.items() if stage not in settings.stages for module in modules]
    for name in frozen:
        getattr(program, name)._compiled = True
    try:
        if settings.optimizer == "instructions":
            optimizer = dspy.MIPROv2(
                metric=metric,
                prompt_model=prompt_lm,
                task_model=task_lm,
                auto=None,
                num_candidates=settings.candidates,
                max_bootstrapped_demos=0,
                max_labeled_demos=0,
                seed=settings.seed,
                verbose=False,
            )
            compiled = optimizer.compile(
                program,
                trainset=list(trainset),
                valset=list(valset),
                num_trials=settings.trials,
                max_bootstrapped_demos=0,
                max_labeled_demos=0,
                minibatch=False,
                data_aware_proposer=False,
                fewshot_aware_proposer=False,
            )
        else:
            optimizer = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=settings.max_demos, max_labeled_demos=0)
            compiled = optimizer.compile(program, trainset=list(trainset))
    finally:
        for name in frozen:
            getattr(program, name)._compiled = False
    for name in frozen:
        getattr(compiled, name)._compiled = False
    return compiled


def validation_score(program: VidDiff, examples: Sequence[dspy.Example], metric: Callable, *, num_threads: int = 2) -> float | None:
    """Mean metric over examples; a sample that fails scores 0. None without examples."""

    def score(example: dspy.Example) -> float:
        return float(metric(example, program(**example.inputs())))

    results = map_in_threads(score, examples, num_threads)
    values = [0.0 if isinstance(r, Exception) else r for r in results]
    return sum(values) / len(values) if values else None


def save_compiled(program: VidDiff, path: str | Path, *, config: RunConfig, settings: CompileSettings, held_out: HeldOutSlice, scores: dict[str, Any]) -> Path:
    """DSPy's saved program plus a `viddiff` block: variant, held-out slice, LMs, versions, scores.
    No API key is part of it (keys are never in a RunConfig)."""
    path = Path(path)
    program.save(str(path))
    document = json.loads(path.read_text())
    document["viddiff"] = {
        "format": FORMAT_VERSION,
        "viddiff_version": __version__,
        "dspy_version": dspy.__version__,
        "variant": {key: getattr(config, key) for key in VARIANT_KEYS},
        "localization": config.localization,
        "frames": config.frames,
        "source": config.source,
        "split": list(config.split),
        "lms": {role: vars(lm) for role, lm in config.lms.items()},
        "optimizer": vars(settings) | {"stages": list(settings.stages)},
        "held_out": held_out.to_dict(),
        "scores": scores,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def program_metadata(path: str | Path) -> dict[str, Any]:
    """The `viddiff` block of a compiled program file."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ProgramError(f"{path}: no such compiled program") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ProgramError(f"{path}: not valid JSON ({e})") from e
    metadata = document.get("viddiff") if isinstance(document, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_VERSION:
        raise ProgramError(f"{path}: not a program compiled by this viddiff (`viddiff compile` writes them)")
    return metadata


def load_compiled(program: VidDiff, path: str | Path, config: RunConfig) -> HeldOutSlice:
    """Load a compiled program's prompts into `program`; returns its held-out slice.

    Raises:
        ProgramError: compiled for another mode or variant, with another dspy version, or on
            another benchmark.
    """
    metadata = program_metadata(path)
    for key, value in metadata["variant"].items():
        if getattr(config, key) != value:
            flag = f"--mode {value}" if key == "mode" else f"--{key.replace('_', '-')}" if value else f"no --{key.replace('_', '-')}"
            raise ProgramError(f"{path} was compiled with {key} = {value!r}, this run has {getattr(config, key)!r}: run it with {flag}")
    if _minor(metadata["dspy_version"]) != _minor(dspy.__version__):
        raise ProgramError(f"{path} was compiled with dspy {metadata['dspy_version']}, this is dspy {dspy.__version__}: compile it again")
    if metadata["source"] != config.source:
        raise ProgramError(f"{path} was compiled on {metadata['source']}, this run uses {config.source}: its held-out slice would not apply")
    program.load(str(path))
    return HeldOutSlice.from_dict(metadata["held_out"])


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
