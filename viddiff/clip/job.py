"""Embedding every video of a benchmark ahead of a run, in this process or as a Ray Data job.

Each sample's videos are read and embedded exactly as a run's prefetch does
(`VidDiffSystem.prepare`: sampled at the method's rates, no larger than CLIP sees them), into
the same content-keyed cache (`EmbeddingCache` under the config's cache folder), so the run that
follows embeds nothing. With Ray (`pip install 'viddiff[ray]'`), the samples become a Ray Dataset
mapped by `EmbedSamples` actors, each holding one CLIP model (on a GPU when the cluster has one):
PyAV decodes inside the batch function, not Ray's `read_videos`, which decodes every frame. A
sample that fails is recorded with its error and the job goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from viddiff.config import RunConfig
from viddiff.errors import ViddiffError, error_text

RAY_MISSING = "the Ray embedding job needs Ray Data: pip install 'viddiff[ray]'"


@dataclass(frozen=True)
class EmbedResult:
    """One sample of the job: the frames embedded in its two videos, or why it failed."""

    sample_key: str
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None


class EmbedSamples:
    """Reads and embeds samples of one benchmark, as a run's prefetch does. Built once per Ray
    actor (it loads the benchmark and the CLIP model), then called on batches of sample keys."""

    def __init__(self, config: dict[str, Any]):
        from viddiff.systems.viddiff import VidDiffSystem
        from viddiff.task import Task

        self.config = RunConfig.from_dict(config).validate()
        self.task = Task.from_config(self.config)
        self.samples = {s.sample_key: s for s in self.task.samples}
        self.system = VidDiffSystem()
        self.program = self.system.build(self.config, {})

    def __call__(self, batch: dict[str, Sequence[str]]) -> dict[str, list]:
        results = [self.embed(key) for key in batch["sample_key"]]
        return {field: [getattr(r, field) for r in results] for field in ("sample_key", "frames", "seconds", "error")}

    def embed(self, sample_key: str) -> EmbedResult:
        started = time.perf_counter()
        try:
            videos = self.system.prepare(self.program, self.samples[sample_key], self.config, frame_cache=None)
        except Exception as e:  # one unreadable video must not stop the job
            return EmbedResult(sample_key, seconds=time.perf_counter() - started, error=error_text(e))
        return EmbedResult(sample_key, sum(len(v) for v in videos), time.perf_counter() - started)


def check_embeds(config: RunConfig) -> None:
    """One line when the config's system or localization embeds no frame."""
    from viddiff.retrieval.modes import LOCALIZATION_MODES

    if config.system != "viddiff":
        raise ViddiffError(f"the {config.system} system embeds no frame (only VidDiff's localizer uses CLIP): there is nothing to embed ahead")
    if not LOCALIZATION_MODES[config.localization].needs_embedder:
        raise ViddiffError(f"--localization {config.localization} embeds no frame: there is nothing to embed ahead")


def embed_in_process(config: RunConfig, sample_keys: Iterable[str] | None = None) -> list[EmbedResult]:
    """Embed the samples one after another in this process."""
    job = EmbedSamples(config.to_dict())
    return [job.embed(key) for key in (sample_keys or list(job.samples))]


def embed_with_ray(config: RunConfig, *, address: str | None = None, actors: int = 2, sample_keys: Sequence[str] | None = None) -> list[EmbedResult]:
    """Embed the samples as a Ray Data job: `actors` CLIP actors (one GPU each when the cluster
    has GPUs), on the cluster at `address` or a local instance."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ViddiffError(RAY_MISSING) from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        return _ray_job(config, actors, sample_keys)
    finally:
        if started:
            ray.shutdown()


def _ray_job(config: RunConfig, actors: int, sample_keys: Sequence[str] | None) -> list[EmbedResult]:
    import ray
    import ray.data

    keys = list(sample_keys) if sample_keys is not None else [s.sample_key for s in _task_samples(config)]
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    dataset = ray.data.from_items([{"sample_key": key} for key in keys]).map_batches(
        EmbedSamples,
        fn_constructor_kwargs={"config": config.to_dict()},
        batch_size=1,
        concurrency=max(1, actors),
        num_gpus=gpus,
    )
    rows = dataset.take_all()
    return [EmbedResult(r["sample_key"], int(r["frames"]), float(r["seconds"]), r["error"]) for r in rows]


def _task_samples(config: RunConfig):
    from viddiff.task import Task

    return Task.from_config(config).samples
