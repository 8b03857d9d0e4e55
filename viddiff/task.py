"""A Task: the samples of a benchmark, the system that answers them, and the scorer of their answers.

Built from a RunConfig alone. It is the one place that leaves out a compiled program's held-out
slice, resolves which LM roles a run needs and their keys, and builds the program and the scorer;
`viddiff run`, `viddiff eval` and `viddiff compile` all go through it.

Example:
    >>> task = Task.from_config(RunConfig(source="runs/synth", split=("easy",)))
    >>> lms = task.lms(task.api_keys(os.environ))
    >>> program, scorer = task.program(lms), task.scorer(lms)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from viddiff.config import RunConfig, cpu_clip_note, uses_clip
from viddiff.data.benchmark import Benchmark, load_benchmark
from viddiff.data.records import Sample
from viddiff.data.video import sampling_fps
from viddiff.optimize.held_out import HeldOutSlice
from viddiff.optimize.program_file import program_metadata
from viddiff.run_log import Manifest, provenance
from viddiff.systems import System, system_for

if TYPE_CHECKING:
    import dspy

    from viddiff.evaluation.scoring import Scorer


@dataclass
class Task:
    """Samples + system + scorer for one RunConfig."""

    config: RunConfig
    bench: Benchmark
    samples: list[Sample]
    """The benchmark's selected samples, less the compiled program's held-out slice."""
    held_out: frozenset[str]
    """Sample keys never run nor scored: the compiled program's held-out slice."""
    excluded: int
    """Selected samples left out as held out."""
    excluded_because: str | None = None

    @classmethod
    def from_config(cls, config: RunConfig, *, held_out: frozenset[str] = frozenset(), held_out_because: str | None = None) -> Task:
        """Load the configured benchmark and leave out the compiled program's held-out slice
        (`config.program`), or the given `held_out` keys (a run's manifest names them)."""
        bench = load_benchmark(
            config.source,
            video_root=config.video_root,
            split=config.split or None,
            actions=config.actions or None,
            limit=config.limit,
            revision=config.revision,
        )
        return cls.of_benchmark(config, bench, held_out=held_out, held_out_because=held_out_because)

    @classmethod
    def of_benchmark(
        cls, config: RunConfig, bench: Benchmark, *, held_out: frozenset[str] = frozenset(), held_out_because: str | None = None
    ) -> Task:
        """The task of samples already loaded (e.g. the documents lmms-eval hands a model),
        less the compiled program's held-out slice (`config.program`) or the given `held_out` keys."""
        if config.program:
            held_out = HeldOutSlice.from_dict(program_metadata(config.program)["held_out"]).sample_keys
            held_out_because = f"held-out slice of the compiled program {config.program}"
        samples = [s for s in bench if s.sample_key not in held_out]
        excluded = len(bench) - len(samples)
        return cls(config, bench, samples, held_out, excluded, held_out_because if excluded else None)

    @property
    def system(self) -> System:
        return system_for(self.config.system)

    def roles(self, *, scoring: bool = True) -> tuple[str, ...]:
        """LM roles this task calls: the system's, plus the matcher when scoring an open-set run."""
        return self.system.roles(self.config, scoring=scoring)

    def scoring_roles(self) -> tuple[str, ...]:
        """LM roles scoring alone calls: the matcher of the open set's verify-then-match protocol."""
        return ("matcher",) if self.config.mode == "open" and self.config.open_protocol == "verify-then-match" else ()

    def api_keys(self, environ: Mapping[str, str], roles: tuple[str, ...] | None = None) -> dict[str, str]:
        """The key of every role in `roles` (default: all the task calls, scoring included), from
        `environ`; one error naming every variable still to set (raised before any video is read)."""
        return keys_for(self.config, self.roles() if roles is None else roles, environ)

    def lms(self, api_keys: Mapping[str, str]) -> dict[str, dspy.LM]:
        return lms_for(self.config, api_keys)

    def program(self, lms: Mapping[str, dspy.LM]) -> dspy.Module:
        """The system's program with the compiled prompts of `config.program`, if any."""
        return program_for(self.config, lms)

    def scorer(self, lms: Mapping[str, dspy.LM]) -> Scorer:
        """The scorer of the configured mode and open-set protocol (the matcher with its LM)."""
        return scorer_for(self.config, lms)

    def sampling_rates(self) -> dict[str, float]:
        """Frames per second used for each domain of the samples."""
        domains = sorted({s.domain for s in self.samples})
        return {d: sampling_fps(d, table=self.system.fps_table, override=self.config.fps) for d in domains}

    def manifest(self) -> Manifest:
        return Manifest(
            config=self.config.to_dict(),
            system=self.config.system,
            sampling_rates=self.sampling_rates(),
            held_out=sorted(self.held_out),
            program=self.config.program,
            samples=len(self.samples),
            excluded=self.excluded,
            row_errors=len(self.bench.row_errors),
            provenance=provenance(),
        )


def scorer_for(config: RunConfig, lms: Mapping[str, dspy.LM]) -> Scorer:
    """The scorer of a config's mode and open-set protocol (the matcher with its LM)."""
    from viddiff.evaluation.scoring import ClosedScorer, OpenScorer, PublishedScorer

    if config.mode == "closed":
        return ClosedScorer()
    if config.open_protocol == "published":
        return PublishedScorer()
    from viddiff.programs.matcher import RecallMatcher

    return OpenScorer(RecallMatcher(), lm=lms.get("matcher"))


def keys_for(config: RunConfig, roles: tuple[str, ...], environ: Mapping[str, str]) -> dict[str, str]:
    """The API key of each role from `environ`; one error naming every variable still to set."""
    from viddiff.lms import resolve_api_keys

    return resolve_api_keys({role: config.lms[role] for role in roles}, environ)


def lms_for(config: RunConfig, api_keys: Mapping[str, str]) -> dict[str, dspy.LM]:
    """One DSPy LM per role of `api_keys`, as the configured system builds it."""
    system = system_for(config.system)
    return {role: system.build_lm(role, config, key) for role, key in api_keys.items()}


def program_for(config: RunConfig, lms: Mapping[str, dspy.LM]) -> dspy.Module:
    """The configured system's program with one LM per role, and the compiled prompts of
    `config.program`, if any (also for videos outside any benchmark: `viddiff diff`). Says on
    stderr when frames will be embedded with the CPU default CLIP instead of the paper's.

    Raises:
        WeightsError: the CLIP weights are not on disk and cannot be fetched.
    """
    note = cpu_clip_note(config)
    if note is not None:
        print(note, file=sys.stderr)
    program = system_for(config.system).build(config, lms)
    if config.program:
        from viddiff.optimize.program_file import load_compiled

        load_compiled(program, config.program, config)
    if uses_clip(config):  # missing weights: one line now, before any LM call
        from viddiff.clip.weights import locate_weights

        locate_weights(config.clip.model, config.clip.pretrained)
    return program
