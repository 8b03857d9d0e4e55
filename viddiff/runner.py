"""Running the VidDiff program over benchmark samples, one durable record per sample."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dspy
from tqdm import tqdm

from viddiff.config import RunConfig
from viddiff.data.benchmark import Benchmark, load_benchmark
from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Difference, Sample
from viddiff.data.sources import read_sample_frames
from viddiff.evaluation import (
    rows_from_records,
    score_closed,
    score_open,
    score_published,
    to_benchmark_format,
    write_evaluation,
)
from viddiff.lms import build_lm, redact, total_cost, usage_cost
from viddiff.optimize.compile import load_compiled, program_metadata
from viddiff.optimize.held_out import HeldOutSlice, exclude
from viddiff.programs.matcher import RecallMatcher
from viddiff.programs.viddiff import FATAL_ERRORS, VidDiff
from viddiff.clip import ClipEmbedder, EmbeddingCache, WeightsError
from viddiff.retrieval.localizer import FrameLocalizer
from viddiff.retrieval.modes import LOCALIZATION_MODES
from viddiff.run_dir import RunDirectory


@dataclass(frozen=True)
class RunSummary:
    """What a call of `run_benchmark` did."""

    path: Path
    samples: int
    """Samples in the run (selected by the config), finished before or now."""
    ran: int
    """Samples processed by this call."""
    errors: int
    """Samples of this call with a sample-level error or an undecided difference."""
    tokens: int
    cost_usd: float | None
    """Estimated cost of this call's LM use; None when a model's price is unknown."""
    excluded: int = 0
    """Samples left out because the compiled program was compiled on them."""


def roles_needed(config: RunConfig, *, scoring: bool = True) -> tuple[str, ...]:
    """LM roles a run calls: the differencer always, the proposer in open mode, the planner
    when the localization mode uses stages, and (scoring an open-set run) the matcher."""
    roles = ["differencer"]
    if config.mode == "open":
        roles.insert(0, "proposer")
    if LOCALIZATION_MODES[config.localization].needs_stages:
        roles.insert(-1, "planner")
    if config.mode == "open" and (scoring or config.open_protocol == "published"):
        roles.append("matcher")
    return tuple(roles)


def build_program(config: RunConfig, api_keys: Mapping[str, str]) -> VidDiff:
    """The program with one LM per role in `api_keys`, the configured localizer, and the
    compiled prompts of `config.program` if given."""
    lms = {role: build_lm(config.lms[role], key) for role, key in api_keys.items()}
    embedder = None
    if LOCALIZATION_MODES[config.localization].needs_embedder:
        embedder = ClipEmbedder(config.clip, cache=EmbeddingCache(config.cache_path / "clip"))
    program = VidDiff(
        FrameLocalizer(config.localization, embedder=embedder, seed=config.seed),
        lms=lms,
        three_way=config.three_way,
        chain_of_thought=config.chain_of_thought,
        frames=config.frames,
        image_size=config.image_size,
        jpeg_quality=config.jpeg_quality,
        num_threads=config.difference_threads,
    )
    if config.program:
        load_compiled(program, config.program, config)
    return program


def held_out_slice(config: RunConfig) -> HeldOutSlice | None:
    """The slice the configured compiled program was compiled on (None without a program)."""
    return HeldOutSlice.from_dict(program_metadata(config.program)["held_out"]) if config.program else None


@dataclass(frozen=True)
class Selection:
    """The benchmark, the samples a run covers, and how many were left out as held out."""

    bench: Benchmark
    samples: list[Sample]
    excluded: int


def selected_samples(config: RunConfig) -> Selection:
    """Load the configured benchmark and leave out a compiled program's held-out slice."""
    bench = load_benchmark(
        config.source,
        video_root=config.video_root,
        split=config.split or None,
        actions=config.actions or None,
        limit=config.limit,
        revision=config.revision,
    )
    samples, excluded = exclude(bench, held_out_slice(config))
    return Selection(bench, samples, excluded)


def run_sample(
    program: VidDiff,
    sample: Sample,
    config: RunConfig,
    frame_cache: FrameCache | None,
    matcher: Matcher | None = None,
) -> dict[str, Any]:
    """Run one sample; a failure becomes the record's error, except missing CLIP weights and a
    rejected API key, which would fail every sample and so stop the run."""
    started = time.perf_counter()
    record: dict[str, Any] = {
        "sample_key": sample.sample_key,
        "row_index": sample.row_index,
        "split": sample.split,
        "domain": sample.domain,
        "action": sample.action,
        "mode": config.mode,
        "labels": sample.labels,
    }
    try:
        videos = tuple(
            read_sample_frames(sample, w, fps=config.fps, size=config.image_size, cache=frame_cache) for w in (0, 1)
        )
        seed = sample.seed(config.seed)
        task: dict[str, Any] = {"differences": sample.candidates} if config.mode == "closed" else {"n_differences": sample.n_differences_open}
        if matcher is not None:  # the published protocol: decide only proposals matched to the ground truth
            proposals = program.propose(sample.action_description, sample.n_differences_open, seed)
            record["matches"] = matcher.match(sample, proposals)
            task = {"differences": {k: d for k, d in proposals.items() if k in record["matches"].values()}}
        result = program(
            videos=videos,
            action_description=sample.action_description,
            key_points=sample.retrieval_frames,
            trim_starts=tuple((v.frames_trim or (0, None))[0] for v in sample.videos),
            seed=seed,
            **task,
        )
    except (WeightsError, *FATAL_ERRORS):
        raise  # every sample would fail the same way: stop the run
    except Exception as e:  # one failed sample must not stop the run
        record.update(status="error", error=f"{type(e).__name__}: {e}", predictions=[])
    else:
        predictions = [p.to_dict() for p in result.predictions]
        record.update(
            status="ok" if all(p["error"] is None for p in predictions) else "partial",
            error=None,
            predictions=predictions,
            stages=[{"name": s.name, "retrieval_strings": list(s.retrieval_strings)} for s in result.stages],
            links={k: list(v) for k, v in result.links.items()},
            segments=[loc.segments for loc in result.localizations],
            usage=result.get_lm_usage() or {},
        )
        record["cost_usd"] = usage_cost(record["usage"])
    record["seconds"] = round(time.perf_counter() - started, 3)
    return record


class Matcher:
    """The recall matcher with its LM, for matching proposals before deciding (published protocol)."""

    def __init__(self, lm: dspy.LM | None, *, check_opposites: bool):
        self.lm = lm
        self.module = RecallMatcher(check_opposites=check_opposites)

    def match(self, sample: Sample, proposals: Mapping[str, Difference]) -> dict[str, str | None]:
        ground_truth = {k: sample.differences[k].description for k in sample.labels}
        with dspy.context(lm=self.lm) if self.lm is not None else contextlib.nullcontext():
            result = self.module(sample.action_description, ground_truth, {k: d.description for k, d in proposals.items()})
        return result.matches


def run_benchmark(
    config: RunConfig,
    api_keys: Mapping[str, str],
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    selection: Selection | None = None,
) -> RunSummary:
    """Run the program on the configured samples, appending each record as it finishes.

    With `resume`, samples whose record is complete (`ok`) are skipped; samples that failed
    or left a difference undecided run again (answers already given come from the LM cache).
    """
    selection = selection or selected_samples(config)
    bench, samples, excluded = selection.bench, selection.samples, selection.excluded
    run_dir = RunDirectory(out)
    done = run_dir.start(config, resume=resume)
    todo = [s for s in samples if done.get(s.sample_key, {}).get("status") != "ok"]
    secrets = list(api_keys.values())
    for error in bench.row_errors:
        if error.sample_key not in done:
            run_dir.append(redact({"sample_key": error.sample_key, "row_index": None, "status": "error", "error": str(error)}, secrets))

    program = build_program(config, api_keys)
    matcher = None
    if config.mode == "open" and config.open_protocol == "published":
        matcher = Matcher(build_lm(config.lms["matcher"], api_keys["matcher"]), check_opposites=False)
    frame_cache = FrameCache(config.cache_path / "frames")
    errors = tokens = 0
    finished = []
    with dspy.context(adapter=dspy.ChatAdapter(), track_usage=True, disable_history=True):
        with ThreadPoolExecutor(max_workers=config.sample_threads) as pool, tqdm(
            total=len(todo), desc="samples", unit="sample", disable=not progress
        ) as bar:
            futures = [
                pool.submit(contextvars.copy_context().run, run_sample, program, sample, config, frame_cache, matcher)
                for sample in todo
            ]
            try:
                for future in as_completed(futures):
                    record = future.result()
                    run_dir.append(redact(record, secrets))
                    errors += record["status"] != "ok"
                    tokens += usage_tokens(record.get("usage", {}))
                    finished.append(record)
                    bar.update()
                    bar.set_postfix(errors=errors, tokens=tokens)
            except BaseException:  # interrupted, or an error that stops the run: drop the samples not started
                for future in futures:
                    future.cancel()
                raise
    records = run_dir.records()
    run_dir.write_predictions(to_benchmark_format(rows_from_records(list(records.values()), bench.n_rows)))
    return RunSummary(run_dir.path, len(samples), len(todo), errors, tokens, total_cost(finished), excluded)


def score_run(
    config: RunConfig, api_keys: Mapping[str, str], out: str | Path, *, selection: Selection | None = None
) -> dict[str, Any]:
    """Score a run directory's records the way `viddiff eval` scores any predictions; writes
    metrics.json, the CSV tables and (open set) matches.jsonl into it. Pass the `selection`
    the run used to avoid loading the benchmark again."""
    selection = selection or selected_samples(config)
    bench, samples, excluded = selection.bench, selection.samples, selection.excluded
    records = RunDirectory(out).records()
    rows = rows_from_records(list(records.values()), bench.n_rows)
    if config.mode == "closed":
        evaluation = score_closed(samples, rows)
    elif config.open_protocol == "published":
        evaluation = score_published(samples, records)
    else:
        lm = build_lm(config.lms["matcher"], api_keys["matcher"])
        with dspy.context(adapter=dspy.ChatAdapter(), disable_history=True):
            evaluation = score_open(samples, rows, RecallMatcher(), lm=lm, num_threads=config.difference_threads)
    if excluded:
        evaluation.excluded = excluded
        evaluation.excluded_because = f"held-out slice of the compiled program {config.program}"
    selected = [records.get(s.sample_key, {}) for s in samples]
    evaluation.samples_with_errors = sum(r.get("status") != "ok" for r in selected)
    evaluation.usage = {"tokens": sum(usage_tokens(r.get("usage", {})) for r in selected), "cost_usd": total_cost(selected)}
    return write_evaluation(out, evaluation)


def usage_tokens(usage: Mapping[str, Mapping[str, Any]]) -> int:
    """Prompt plus completion tokens over the models of a usage record."""
    return sum(int(u.get("prompt_tokens") or 0) + int(u.get("completion_tokens") or 0) for u in usage.values())
