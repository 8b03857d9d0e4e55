"""Compiling a task's prompts with DSPy optimizers on a held-out slice (`compile_task`).

Optimizers:
- `instructions`: MIPROv2 with zero demos (instructions only, suited to image-heavy prompts),
  its data- and few-shot-aware proposers off so no image is pasted into a text prompt;
- `fewshot`: BootstrapFewShot with at most `max_demos` bootstrapped demos per predictor (each
  differencer demo repeats its frames in every later call, so keep it at 0-1);
- `gepa`: GEPA, whose reflection LM (the `reflection` role) reads per-difference feedback
  (`optimize.feedback`: closed set, statement, true label, answer, rationale, frame times and
  their distance to annotated key points; open set, what was matched, missed or matched nothing)
  beside the frames, as images, and rewrites the instructions, within `max_metric_calls`. GEPA's own proposer is used: a custom
  one receives list inputs such as the frames as text (base64 in the prompt).
Only the chosen stages are optimized; the others are frozen (DSPy skips `_compiled` modules).
Interrupted (Ctrl-C), both keep what they learned so far: MIPROv2 the best candidate that beat
the default prompts on the validation part, BootstrapFewShot the demos bootstrapped.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dspy

from viddiff.data.frame_cache import FrameCache
from viddiff.errors import ViddiffError, error_text
from viddiff.evaluation.paired_stats import sign_flip_test
from viddiff.optimize.closed_metric import closed_metric
from viddiff.optimize.examples import sample_examples
from viddiff.optimize.feedback import FeedbackMetric
from viddiff.optimize.held_out import HeldOutSlice, select_held_out
from viddiff.optimize.localization_metric import localization_feedback_metric, localization_metric, seconds_of
from viddiff.optimize.open_metric import OpenRecallMetric
from viddiff.optimize.program_file import save_compiled
from viddiff.programs.threads import map_in_threads

if TYPE_CHECKING:
    from viddiff.task import Task

logger = logging.getLogger(__name__)

OPTIMIZERS = ("instructions", "fewshot", "gepa")
GEPA_AUTO = ("light", "medium", "heavy")
OBJECTIVES = ("answers", "localization")
"""What a compile optimizes: the answers (accuracy or recall), or, for the planner alone, how close
the localizer's frames fall to the annotated key points (no VLM call; `optimize.localization_metric`)."""
STAGES = {"proposer": ("proposer",), "planner": ("planner", "linker"), "differencer": ("differencer", "baseline")}
"""Stages a user can choose to optimize, and the program's modules each one covers (`differencer`
also covers the frames system's one call, `baseline`, which decides the differences)."""
@dataclass(frozen=True)
class CompileSettings:
    optimizer: str
    stages: tuple[str, ...] = ("differencer",)
    max_demos: int = 1
    candidates: int = 3
    """MIPROv2: instruction candidates per predictor."""
    trials: int = 6
    """MIPROv2: candidate combinations evaluated on the validation part."""
    max_metric_calls: int = 60
    """GEPA: program runs on samples (each one metric call) it may spend in all."""
    gepa_auto: str | None = None
    """GEPA: a budget level (`light`, `medium`, `heavy`) that sets `max_metric_calls` from the
    predictors optimized and the validation part's size, as dspy.GEPA's `auto` does."""
    log_dir: str | None = None
    """GEPA: the folder keeping its state; compiling again with it resumes an interrupted run."""
    objective: str = "answers"
    """One of OBJECTIVES."""
    seed: int = 0
    max_errors: int = 1000
    """Failed program calls (a malformed LM reply, a provider error) tolerated while compiling;
    each scores 0 (DSPy's failure score)."""
    held_out_fraction: float | None = 0.2
    held_out_size: int | None = None
    """Per action: the share of its samples, or their number, in the held-out slice."""
    validation_fraction: float = 1 / 3
    test_fraction: float = 1 / 3

    def validate(self) -> CompileSettings:
        if self.optimizer not in OPTIMIZERS:
            raise ViddiffError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        unknown = sorted(set(self.stages) - set(STAGES))
        if unknown or not self.stages:
            raise ViddiffError(f"stages to optimize must be among {', '.join(STAGES)}, got {', '.join(self.stages) or 'none'}")
        if self.gepa_auto is not None and self.gepa_auto not in GEPA_AUTO:
            raise ViddiffError(f"gepa_auto must be one of {', '.join(GEPA_AUTO)}, got {self.gepa_auto!r}")
        if self.objective not in OBJECTIVES:
            raise ViddiffError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.objective == "localization" and self.stages != ("planner",):
            raise ViddiffError("the localization objective compiles the planner alone: use --stages planner")
        if self.max_demos < 0 or self.candidates < 1 or self.trials < 1 or self.max_metric_calls < 1:
            raise ViddiffError("max_demos must be >= 0, candidates, trials and max_metric_calls >= 1")
        return self


class CompileInterrupted(Exception):
    """Compiling was interrupted; `program` holds what was learned so far (None: nothing yet)."""

    def __init__(self, program: dspy.Module | None, learned: str):
        super().__init__(learned)
        self.program = program
        self.learned = learned
        self.path: Path | None = None
        """Where `compile_task` saved it."""


def compile_program(
    program: dspy.Module,
    settings: CompileSettings,
    *,
    trainset: Sequence[dspy.Example],
    valset: Sequence[dspy.Example],
    metric: Callable,
    prompt_lm: dspy.LM | None = None,
    task_lm: dspy.LM | None = None,
    progress: CompileProgress | None = None,
) -> dspy.Module:
    """The program with the chosen stages' prompts optimized on `trainset` (MIPROv2 and GEPA also
    evaluate candidates on `valset`). `prompt_lm` writes the instruction candidates (MIPROv2's
    proposals, GEPA's reflection); `task_lm` is MIPROv2's default LM for roles the program has
    none for; `progress` hears of GEPA's validation scores.

    Raises:
        CompileInterrupted: Ctrl-C; it carries what was learned so far.
    """
    frozen = [
        module for stage, modules in STAGES.items() if stage not in settings.stages for module in modules if _has(program, module)
    ]
    for name in frozen:
        getattr(program, name)._compiled = True
    try:
        if settings.optimizer == "instructions":
            optimizer = SturdyMIPROv2(
                metric=metric,
                prompt_model=prompt_lm,
                task_model=task_lm,
                auto=None,
                num_candidates=settings.candidates,
                max_bootstrapped_demos=0,
                max_labeled_demos=0,
                seed=settings.seed,
                verbose=False,
                max_errors=settings.max_errors,
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
        elif settings.optimizer == "gepa":
            optimizer = dspy.GEPA(
                metric=metric, max_metric_calls=settings.max_metric_calls, reflection_lm=prompt_lm, num_threads=2,
                seed=settings.seed, log_dir=settings.log_dir, track_stats=True,
                gepa_kwargs={"callbacks": [progress]} if progress is not None else None,
            )
            try:
                compiled = optimizer.compile(program, trainset=list(trainset), valset=list(valset))
            except KeyboardInterrupt:
                kept = f"; its state is kept in {settings.log_dir}: the same command resumes it" if settings.log_dir else ""
                raise CompileInterrupted(None, f"GEPA was interrupted{kept}") from None
        else:
            optimizer = InterruptibleBootstrapFewShot(
                metric=metric, max_bootstrapped_demos=settings.max_demos, max_labeled_demos=0, max_errors=settings.max_errors
            )
            compiled = optimizer.compile(program, trainset=list(trainset))
    except CompileInterrupted as e:
        if e.program is not None:
            _unfreeze(e.program, frozen)
        raise
    finally:
        _unfreeze(program, frozen)
    return _unfreeze(compiled, frozen)


def compile_roles(task: Task, settings: CompileSettings) -> tuple[str, ...]:
    """LM roles compiling calls: the task's (the planner alone for the localization objective),
    and the reflection LM of the optimizers that write instructions."""
    roles = ("planner",) if settings.objective == "localization" else task.roles()
    return roles + (("reflection",) if settings.optimizer in ("instructions", "gepa") else ())


def gepa_auto_budget(settings: CompileSettings, program: dspy.Module, validation_size: int, reflection_lm: dspy.LM) -> int:
    """The metric calls dspy.GEPA's `auto` level gives: from the predictors of the stages optimized
    and the validation part's size."""
    from dspy.teleprompt.gepa.gepa import AUTO_RUN_SETTINGS

    predictors = sum(
        len(getattr(program, module).predictors()) for stage in settings.stages for module in STAGES[stage] if _has(program, module)
    )
    gepa = dspy.GEPA(metric=lambda *args: 0.0, max_metric_calls=1, reflection_lm=reflection_lm)
    return gepa.auto_budget(
        num_preds=max(predictors, 1), num_candidates=AUTO_RUN_SETTINGS[settings.gepa_auto]["n"], valset_size=validation_size
    )


def reflection_problem(model: str) -> str | None:
    """Why `model` cannot be GEPA's reflection LM (it reads the frames), when litellm's model table
    knows it takes no images; None otherwise (unknown models, such as local servers, are trusted)."""
    import litellm

    name = model.split("/", 1)[-1]
    if (model in litellm.model_cost or name in litellm.model_cost) and not litellm.supports_vision(model=model):
        return f"the reflection LM {model} takes no images, and GEPA shows it the frames: choose one that does with --reflection-lm (e.g. openai/gpt-4o)"
    return None


def _has(program: dspy.Module, module: str) -> bool:
    """Whether the program has this stage module (the frames system has only `baseline`)."""
    return isinstance(getattr(program, module, None), dspy.Module)


def _unfreeze(program: dspy.Module, frozen: Sequence[str]) -> dspy.Module:
    for name in frozen:
        getattr(program, name)._compiled = False
    return program


class SturdyMIPROv2(dspy.MIPROv2):
    """MIPROv2 whose instruction proposal survives a malformed reply of the prompt model (the
    current instructions then stay the only candidates; one warning line says so), and which,
    interrupted, raises `CompileInterrupted` with the best candidate that beat the default."""

    def compile(self, student, **kwargs):
        self._best: tuple[float, dspy.Module] | None = None
        self._trials = 0
        self._default_score = float("-inf")
        try:
            return super().compile(student, **kwargs)
        except KeyboardInterrupt:
            if self._trials <= 1 or self._best is None:
                raise CompileInterrupted(None, "no candidate beat the default prompts yet") from None
            score, best = self._best
            raise CompileInterrupted(
                best, f"the best of {self._trials - 1} candidates evaluated, {score:.1f}% on the validation part"
            ) from None

    def _optimize_prompt_parameters(self, program, instruction_candidates, demo_candidates, evaluate, *args, **kwargs):
        def recording(candidate, **evaluate_kwargs):
            result = evaluate(candidate, **evaluate_kwargs)
            self._trials += 1
            default = self._trials == 1
            if not default and (self._best is None or result.score > self._best[0]) and result.score > self._default_score:
                self._best = (result.score, candidate.deepcopy())
            if default:
                self._default_score = result.score
            return result

        return super()._optimize_prompt_parameters(program, instruction_candidates, demo_candidates, recording, *args, **kwargs)

    def _propose_instructions(self, program, *args, **kwargs):
        try:
            return super()._propose_instructions(program, *args, **kwargs)
        except Exception as e:  # a bad proposal must not lose the compile
            logger.warning("instruction proposal failed (%s); the current instructions stay the only candidates", error_text(e))
            return {i: [predictor.signature.instructions] for i, predictor in enumerate(program.predictors())}


class InterruptibleBootstrapFewShot(dspy.BootstrapFewShot):
    """BootstrapFewShot that, interrupted, raises `CompileInterrupted` with the demos bootstrapped so far."""

    def compile(self, student, *, teacher=None, trainset):
        self.name2traces = {}
        try:
            return super().compile(student, teacher=teacher, trainset=trainset)
        except KeyboardInterrupt:
            demos = sum(len(traces[: self.max_bootstrapped_demos]) for traces in self.name2traces.values())
            if not demos:
                raise CompileInterrupted(None, "no demo was bootstrapped yet") from None
            self.validation = []  # no labelled demos are sampled (max_labeled_demos is 0)
            raise CompileInterrupted(self._train(), f"{demos} bootstrapped demo{'s' if demos > 1 else ''}") from None


def sample_scores(program: dspy.Module, examples: Sequence[dspy.Example], metric: Callable, *, num_threads: int = 2) -> list[float]:
    """The metric of each example; a sample that fails scores 0."""

    def score(example: dspy.Example) -> float:
        return float(metric(example, program(**example.inputs())))

    return [0.0 if isinstance(r, Exception) else r for r in map_in_threads(score, examples, num_threads)]


def before_after_p_value(examples: Sequence[dspy.Example], before: Sequence[float], after: Sequence[float], objective: str) -> float:
    """Exact sample-level sign-flip test of after vs before: per sample, the differences it got
    right after minus before (its score times its a/b-labelled differences); for the
    localization objective, whether it came closer (+1), went further (-1) or neither: a sign test."""
    if objective == "localization":
        return sign_flip_test([(a > b) - (a < b) for a, b in zip(after, before, strict=True)])
    counted = [sum(label in ("a", "b") for label in example.sample.labels.values()) for example in examples]
    return sign_flip_test([round(a * n) - round(b * n) for a, b, n in zip(after, before, counted, strict=True)])


class CompileProgress:
    """A bar on stderr over the program runs a compile scores (the estimate's), with the best
    validation score a candidate has reached so far (GEPA's full validation evaluations)."""

    def __init__(self, total: int, *, disable: bool = False):
        import sys

        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="compiling", unit="run", file=sys.stderr, disable=disable)
        self.best: float | None = None

    def counting(self, metric: Callable) -> Callable:
        """`metric`, advancing the bar once per scored run."""

        def counted(*args, **kwargs):
            self.bar.update()
            return metric(*args, **kwargs)

        return counted

    def on_valset_evaluated(self, event) -> None:  # a GEPA callback
        score = float(event["average_score"])
        if self.best is None or score > self.best:
            self.best = score
            self.bar.set_postfix(best=f"{100 * score:.1f}%")

    def close(self) -> None:
        self.bar.close()


@dataclass(frozen=True)
class CostEstimate:
    """What a compile will ask of the LMs, counted before it starts: program runs on samples, and
    the LM calls and images they and the optimizer's own calls make (scoring included)."""

    program_runs: int
    lm_calls: int
    images: int

    def text(self) -> str:
        return f"about {self.lm_calls:,} LM calls carrying {self.images:,} images ({self.program_runs:,} program runs on samples)"


COST_CONFIRM_CALLS = 500
"""Above this many estimated LM calls, a compile starts only when confirmed (`--yes`)."""
GEPA_MINIBATCH = 3
"""GEPA's reflection minibatch: each reflection reads this many samples' runs."""


def estimate_cost(settings: CompileSettings, config, parts: Mapping[str, Sequence[dspy.Example]]) -> CostEstimate:
    """The LM calls and images of compiling, from the part sizes, the calls and images of one
    program run on each sample, and the optimizer's budget:

    - every compile: before and after, one run on each validation and test sample (after few-shot
      compiling, each call also carries its demos' images);
    - `fewshot`: at most one run per training sample;
    - `instructions`: one run per validation sample for each of `trials` + 1 evaluations (the
      default prompts first), and one proposal call per instruction candidate and predictor;
    - `gepa`: `max_metric_calls` runs, and one reflection per two minibatches of GEPA_MINIBATCH
      runs (the current and the new candidate's), seeing the minibatch's images.
    """
    per_run = {part: [run_cost(example, config, settings.objective) for example in examples] for part, examples in parts.items()}

    def mean(part: str, index: int) -> float:
        values = [cost[index] for cost in per_run[part]] or [cost[index] for costs in per_run.values() for cost in costs] or [0]
        return sum(values) / len(values)

    scored = [cost for part in ("validation", "test") for cost in per_run[part]]
    demos = settings.max_demos if settings.optimizer == "fewshot" else 0  # after: each call repeats its demos' images
    runs, calls, images = 2 * len(scored), 2 * sum(c[0] for c in scored), (2 + demos) * sum(c[1] for c in scored)
    if settings.optimizer == "fewshot":
        runs += len(per_run["train"])
        calls += sum(c[0] for c in per_run["train"])
        images += sum(c[1] for c in per_run["train"])
    elif settings.optimizer == "instructions":
        evaluations = (settings.trials + 1) * len(per_run["validation"])
        runs += evaluations
        calls += round(evaluations * mean("validation", 0)) + settings.candidates * len(settings.stages)
        images += round(evaluations * mean("validation", 1))
    else:
        reflections = -(-settings.max_metric_calls // (2 * GEPA_MINIBATCH))
        runs += settings.max_metric_calls
        calls += round(settings.max_metric_calls * mean("train", 0)) + reflections
        images += round(settings.max_metric_calls * mean("train", 1)) + round(reflections * GEPA_MINIBATCH * mean("train", 1))
    return CostEstimate(runs, calls, images)


def run_cost(example: dspy.Example, config, objective: str = "answers") -> tuple[int, int]:
    """LM calls and images of one program run on an example, its scoring included (the open set's
    matcher and opposite check); answers that fail to parse and are retried are not counted."""
    from viddiff.config import SINGLE_CALL_SYSTEMS
    from viddiff.retrieval.modes import LOCALIZATION_MODES

    if objective == "localization":  # the planner and the linker; CLIP, no VLM
        return 2, 0
    scoring = 2 if config.mode == "open" else 0
    if config.system in SINGLE_CALL_SYSTEMS:
        shown = 0 if config.system == "video" or config.frames_as == "video" else min(sum(map(len, example.videos)), config.max_images)
        return 1 + scoring, shown
    per_video = {"1": 1, "3": 3}
    if config.mode == "closed":
        frames = [per_video.get(config.frames, 1 if d.num_frames == "1" else 3) for d in example.differences.values()]
    else:  # proposals not made yet: each at the most frames it can take
        frames = [per_video.get(config.frames, 3)] * example.n_differences
    stages = 2 if LOCALIZATION_MODES[config.localization].needs_stages else 0
    return (config.mode == "open") + stages + len(frames) + scoring, 2 * sum(frames)


def gepa_summary(compiled: dspy.Module) -> dict[str, Any] | None:
    """GEPA's search in numbers: candidates proposed, the best one's validation score, how many are
    on the Pareto front (best on at least one validation sample), metric calls spent."""
    results = getattr(compiled, "detailed_results", None)
    if results is None:
        return None
    front = set().union(*results.per_val_instance_best_candidates.values()) if results.per_val_instance_best_candidates else set()
    return {
        "candidates": len(results.candidates),
        "best": results.best_idx,
        "best_validation_score": results.val_aggregate_scores[results.best_idx],
        "pareto_front": sorted(front),
        "metric_calls": results.total_metric_calls,
        "log_dir": results.log_dir,
    }




@dataclass(frozen=True)
class PartScore:
    """The metric before and after compiling on one part of the held-out slice."""

    part: str
    """`validation` (candidates were selected on it: optimistic) or `test` (never seen while compiling)."""
    samples: int
    before: float | None
    after: float | None
    p_value: float | None = None
    """Exact sample-level sign-flip test of after vs before on this part."""
    seconds_before: float | None = None
    seconds_after: float | None = None
    """Localization objective: mean seconds from the chosen frames to the annotated key points."""


@dataclass(frozen=True)
class CompileResult:
    path: Path
    held_out: HeldOutSlice
    metric: str
    scores: list[PartScore] = field(default_factory=list)
    estimate: CostEstimate | None = None
    spent: dict[str, Any] = field(default_factory=dict)
    """What compiling actually asked: `lm_calls`, `images`, `videos`, `tokens`, `cost_usd`."""
    gepa: dict[str, Any] | None = None


def compile_task(
    task: Task,
    settings: CompileSettings,
    api_keys: Mapping[str, str],
    out: str | Path,
    *,
    confirm: Callable[[CostEstimate], None] | None = None,
    show_progress: bool = True,
) -> CompileResult:
    """Choose the held-out slice of the task's samples, optimize the chosen stages' prompts on
    it, score before and after on its validation and test parts (with a sample-level test), and
    save the program to `out`. `confirm` receives the cost estimate before any LM call; raising
    there stops the compile.

    Raises:
        ViddiffError: the slice leaves a part with no sample to learn, select or test on.
        CompileInterrupted: Ctrl-C; what was learned so far is saved to its `path` (None: nothing was).
    """
    from viddiff.lms import usage_cost, usage_tokens
    from viddiff.progress import RequestCounter

    config = task.config
    held_out = select_held_out(
        task.samples,
        source=config.source,
        seed=config.seed,
        fraction=settings.held_out_fraction if settings.held_out_size is None else None,
        size=settings.held_out_size,
        validation_fraction=settings.validation_fraction,
        test_fraction=settings.test_fraction,
    )
    frame_cache = FrameCache(config.cache_path / "frames")
    by_key = {s.sample_key: s for s in task.samples}
    parts = {
        part: sample_examples(
            [by_key[k] for k in getattr(held_out, part)], config, frame_cache, need_key_points=settings.objective == "localization"
        )
        for part in ("train", "validation", "test")
    }
    empty = [part for part in ("train", "validation") if not parts[part]]
    if empty:
        raise ViddiffError(
            f"the held-out slice has no sample with an a/b label{' and an annotated key point' if settings.objective == 'localization' else ''} "
            f"in its {' and '.join(empty)} part "
            f"({len(held_out.train)} train, {len(held_out.validation)} validation, {len(held_out.test)} test samples); "
            "take a larger slice with --held-out-fraction or --held-out-size, or a smaller --test-fraction"
        )
    if settings.objective == "localization":
        _check_localization_objective(config)
    elif settings.optimizer == "gepa":  # GEPA shows the frames to its reflection LM
        problem = reflection_problem(config.lms["reflection"].model)
        if problem:
            raise ViddiffError(problem)
    lms = task.lms(api_keys)
    program = task.program(lms)
    if settings.objective == "localization":
        from viddiff.systems.viddiff import VidDiffSystem

        program = VidDiffSystem().build_localization(config, lms)
    if not any(_has(program, module) for stage in settings.stages for module in STAGES[stage]):
        raise ViddiffError(f"the {config.system} system has no {' or '.join(settings.stages)} stage to optimize; choose another with --stages")
    if settings.optimizer == "gepa" and settings.gepa_auto:
        settings = dataclasses.replace(settings, max_metric_calls=gepa_auto_budget(settings, program, len(parts["validation"]), lms.get("reflection")))
    estimate = estimate_cost(settings, config, parts)
    if confirm is not None:
        confirm(estimate)
    progress = CompileProgress(estimate.program_runs, disable=not show_progress)
    if settings.objective == "localization":
        metric, feedback_metric, metric_name = localization_metric, localization_feedback_metric, "localization score"
    elif config.mode == "closed":
        metric, feedback_metric, metric_name = closed_metric, FeedbackMetric("closed"), "accuracy"
    else:
        metric, feedback_metric, metric_name = OpenRecallMetric(lms["matcher"]), FeedbackMetric("open", lms["matcher"]), "recall"
    metric = progress.counting(metric)
    scored_parts = [part for part in ("validation", "test") if parts[part]]
    counter = RequestCounter()

    def save(compiled: dspy.Module, after: Mapping[str, list[float]], **extra) -> tuple[Path, list[PartScore]]:
        def seconds(values: Sequence[float] | None) -> float | None:  # mean seconds off the key points
            return _mean([seconds_of(v) for v in values]) if values and settings.objective == "localization" else None

        scores = [
            PartScore(
                part, len(parts[part]), _mean(before[part]), _mean(after.get(part)),
                before_after_p_value(parts[part], before[part], after[part], settings.objective) if part in after else None,
                seconds(before[part]), seconds(after.get(part)),
            )
            for part in scored_parts
        ]
        document = {"metric": metric_name, "parts": [vars(score) for score in scores], "estimate": vars(estimate), **extra}
        return save_compiled(compiled, out, config=config, settings=settings, held_out=held_out, scores=document), scores

    with dspy.context(adapter=dspy.ChatAdapter(), disable_history=True, callbacks=[*dspy.settings.callbacks, counter]), dspy.track_usage() as usage:
        before = {part: sample_scores(program, parts[part], metric) for part in scored_parts}
        try:
            compiled = compile_program(
                program, settings, trainset=parts["train"], valset=parts["validation"],
                metric=progress.counting(feedback_metric) if settings.optimizer == "gepa" else metric,
                prompt_lm=lms.get("reflection"),
                task_lm=lms.get("differencer") or lms.get("baseline"),
                progress=progress,
            )
            try:
                after = {part: sample_scores(compiled, parts[part], metric) for part in scored_parts}
            except KeyboardInterrupt:
                raise CompileInterrupted(compiled, "the compiled program, before its scores were measured") from None
        except CompileInterrupted as e:
            if e.program is not None:
                e.path, _ = save(e.program, {}, interrupted=e.learned)
            raise
        finally:
            progress.close()
    totals = usage.get_total_tokens()
    spent = {
        "lm_calls": counter.calls, "images": counter.images, "videos": counter.videos,
        "tokens": usage_tokens(totals), "cost_usd": usage_cost(totals),
    }
    gepa = gepa_summary(compiled)
    path, scores = save(compiled, after, spent=spent, **({"gepa": gepa} if gepa else {}))
    return CompileResult(path, held_out, metric_name, scores, estimate, spent, gepa)


def _check_localization_objective(config) -> None:
    """The localization objective needs VidDiff with a mode that plans stages and places frames with CLIP."""
    from viddiff.retrieval.modes import LOCALIZATION_MODES

    mode = LOCALIZATION_MODES[config.localization]
    if config.system != "viddiff" or not (mode.needs_stages and mode.needs_embedder):
        raise ViddiffError(
            "the localization objective compiles VidDiff's planner against the frames CLIP places: use --system viddiff "
            f"with --localization viterbi (got --system {config.system} --localization {config.localization})"
        )


def _mean(values: Sequence[float] | None) -> float | None:
    return sum(values) / len(values) if values else None
