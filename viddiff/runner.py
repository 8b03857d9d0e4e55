"""Running a Task into a run directory (one durable record per sample), and scoring it."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from viddiff.data.frame_cache import FrameCache
from viddiff.data.records import Sample
from viddiff.errors import ViddiffError, error_text
from viddiff.evaluation.predictions import SampleAnswers, to_benchmark_format
from viddiff.evaluation.scoring import Selection, metrics, score_samples, write_scores
from viddiff.lms import UsagePerSample, redact, total_cost, usage_cost, usage_per_sample, usage_tokens
from viddiff.run_log import RunLog, SampleRecord
from viddiff.systems.base import sample_record
from viddiff.task import Task

if TYPE_CHECKING:
    import dspy


STOP_AFTER = 3
"""Default: stop a run when its first this many samples all fail the same way with no answer."""


class RunStopped(ViddiffError):
    """The first samples all failed the same way before any answer: every other would too."""


class FailureBreaker:
    """Stops a run whose first `threshold` finished samples all failed the same way (the same
    error type) while no difference was answered: a wrong model name, server or network, a
    missing video root. One success disarms it for good."""

    def __init__(self, threshold: int):
        self.threshold = threshold
        self.kinds: list[str] = []
        self.first_error: str | None = None
        self.armed = threshold > 0

    def record(self, record: SampleRecord) -> None:
        if not self.armed:
            return
        if any(p.answer is not None for p in record.predictions):
            self.armed = False
            return
        error = record.error or next((p.error for p in record.predictions if p.error), None)
        if error is None:
            return
        self.kinds.append(error.split(":", 1)[0])
        self.first_error = self.first_error or error
        if len(self.kinds) >= self.threshold and len(set(self.kinds)) == 1:
            raise RunStopped(
                f"stopped after the first {len(self.kinds)} samples failed the same way with no answer at all "
                f"({self.first_error}); fix the cause, then continue with --resume"
            )


@dataclass(frozen=True)
class RunSummary:
    """What a call of `run_task` did."""

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
    row_errors: int = 0
    """Benchmark rows that could not be read (recorded as failed samples)."""
    warned: int = 0
    """Samples of this call recorded with warnings (a video decoded short of its length)."""
    per_sample: UsagePerSample | None = None
    """What a sample of this call cost on average."""


def run_task(
    task: Task,
    api_keys: Mapping[str, str],
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    stop_after: int = STOP_AFTER,
) -> RunSummary:
    """Run the task's system on its samples, appending each record as it finishes.

    With `resume`, samples whose record is complete (`ok`) are skipped; samples that failed
    or left a difference undecided run again (answers already given come from the LM cache).

    Raises:
        RunStopped: the first `stop_after` samples failed the same way with no answer (0: never
            stop); what finished is saved.
    """
    import dspy

    config, log = task.config, RunLog(out)
    if resume:
        done = log.resume(config, task.manifest())
    else:
        log.create(task.manifest())
        done = {}
    todo = [s for s in task.samples if getattr(done.get(s.sample_key), "status", None) != "ok"]
    secrets = list(api_keys.values())
    for error in task.bench.row_errors:
        if error.sample_key not in done:
            log.append(SampleRecord(sample_key=error.sample_key, row_index=None, status="error", error=redact(str(error), secrets)))

    lms = task.lms(api_keys)
    program = task.program(lms)
    frame_cache = FrameCache(config.cache_path / "frames")
    errors = tokens = 0
    finished = []
    breaker = FailureBreaker(stop_after)

    def run_one(sample: Sample, prepared: Prepared) -> SampleRecord:
        return _run_sample(task, program, sample, frame_cache, lms, prepared)

    with dspy.context(adapter=dspy.ChatAdapter(), track_usage=True, disable_history=True):
        with Prefetcher(task, program, frame_cache, ahead=2 * config.sample_threads) as prefetcher, ThreadPoolExecutor(
            max_workers=config.sample_threads
        ) as pool, tqdm(total=len(todo), desc="samples", unit="sample", disable=not progress) as bar:
            futures = [pool.submit(contextvars.copy_context().run, run_one, sample, prefetcher.submit(sample)) for sample in todo]
            try:
                for future in as_completed(futures):
                    # Priced here, not on the sample threads: the price table (litellm) takes
                    # seconds to import the first time, which would stall a sample's LM calls.
                    record = _redacted(future.result(), secrets)
                    record = record.model_copy(update={"cost_usd": usage_cost(record.usage)})
                    log.append(record)
                    errors += record.status != "ok"
                    tokens += usage_tokens(record.usage)
                    finished.append(record)
                    breaker.record(record)
                    bar.update()
                    bar.set_postfix(errors=errors, tokens=tokens)
            except BaseException:  # interrupted, or an error that stops the run: drop the samples not started
                for future in futures:
                    future.cancel()
                raise
    log.write_predictions(to_benchmark_format(log.records().values(), task.bench.n_rows))
    return RunSummary(
        log.path, len(task.samples), len(todo), errors, tokens, total_cost(r.cost_usd for r in finished),
        task.excluded, len(task.bench.row_errors), sum(bool(r.warnings) for r in finished), usage_per_sample(finished),
    )


class Prefetcher:
    """Reads (and, for VidDiff, embeds) the videos of the next samples on one thread of its own
    while the sample threads wait on their LM calls, at most `ahead` samples before they are
    taken, so decoding and CLIP overlap the LM latency and memory stays bounded."""

    def __init__(self, task: Task, program: dspy.Module, frame_cache: FrameCache, *, ahead: int):
        self._task, self._program, self._frame_cache = task, program, frame_cache
        self._room = threading.Semaphore(ahead)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._stopped = threading.Event()

    def submit(self, sample: Sample) -> Prepared:
        """The sample's videos, being prepared."""
        return Prepared(self._pool.submit(contextvars.copy_context().run, self._prepare, sample), self._room.release)

    def _prepare(self, sample: Sample):
        while not self._room.acquire(timeout=0.1):
            if self._stopped.is_set():
                raise CancelledError()
        return self._task.system.prepare(self._program, sample, self._task.config, frame_cache=self._frame_cache)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


class Prepared:
    """A sample's videos from the `Prefetcher`: `videos()` waits for them (raising what reading
    them raised) and lets one more sample be read ahead."""

    def __init__(self, future: Future, release: Callable[[], None]):
        self._future, self._release = future, release

    def videos(self):
        try:
            return self._future.result()
        finally:
            self._release()


def _run_sample(task: Task, program: dspy.Module, sample: Sample, frame_cache: FrameCache, lms, prepared: Prepared | None = None) -> SampleRecord:
    """One sample's record; a failure becomes the record's error, except missing CLIP weights and
    a rejected API key, which would fail every sample and so stop the run. `prepared`:
    its videos from the `Prefetcher` (None: read them here)."""
    import dspy

    from viddiff.clip import WeightsError
    from viddiff.programs.viddiff import FATAL_ERRORS
    from viddiff.progress import RequestCounter

    started, counter = time.perf_counter(), RequestCounter()
    try:
        videos = prepared.videos() if prepared is not None else None
        with dspy.context(callbacks=[*dspy.settings.callbacks, counter]):
            record = task.system.run_sample(program, sample, task.config, frame_cache=frame_cache, lms=lms, videos=videos)
    except (WeightsError, *FATAL_ERRORS):
        raise
    except Exception as e:  # one failed sample must not stop the run
        record = sample_record(sample, status="error", error=error_text(e))
    return record.model_copy(update={
        "seconds": round(time.perf_counter() - started, 3),
        "lm_calls": counter.calls, "images": counter.images, "videos": counter.videos,
    })


def score_task(task: Task, lms: Mapping[str, dspy.LM], out: str | Path) -> dict[str, Any]:
    """Score a run directory's records with the task's scorer: writes outcomes.jsonl, metrics.json
    and the CSV tables into it; returns the metrics document. Samples of the held-out slice are
    never scored, and samples without a record are reported as not predicted."""
    log = RunLog(out)
    records = log.records()
    answers = {s.sample_key: SampleAnswers.from_record(records[s.sample_key]) for s in task.samples if s.sample_key in records}
    scorer = task.scorer(lms)
    outcomes = score_samples(scorer, task.samples, answers, num_threads=task.config.difference_threads)
    selected = [records[s.sample_key] for s in task.samples if s.sample_key in records]
    selection = Selection(
        scored=len(answers),
        with_errors=sum(r.status != "ok" for r in selected),
        excluded=task.excluded,
        excluded_because=task.excluded_because,
        not_predicted=len(task.samples) - len(answers),
        row_errors=len(task.bench.row_errors),
        usage={
            "tokens": sum(usage_tokens(r.usage) for r in selected),
            "cost_usd": total_cost(r.cost_usd for r in selected),
            "per_sample": usage_per_sample(selected).to_dict(),
        },
    )
    document = metrics(outcomes, mode=scorer.mode, protocol=scorer.protocol, selection=selection)
    write_scores(log.path, outcomes, document)
    return document



def _redacted(record: SampleRecord, secrets: list[str]) -> SampleRecord:
    return SampleRecord.model_validate(redact(record.model_dump(mode="json"), secrets))
