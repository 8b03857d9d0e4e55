"""The run log: a run directory's typed, versioned files, and the only code that reads or writes them.

Layout of a run directory:
- `manifest.json`: schema version, the full RunConfig, the system, the per-domain sampling rates
  used, the held-out sample keys of a compiled program, selection counts and provenance (git
  commit and dirty flag, package versions);
- `records.jsonl`: one `SampleRecord` per finished sample, appended and synced as it finishes
  (on resume the last line of a sample wins; a line torn by a crash is dropped first);
- `outcomes.jsonl`: one `Outcome` per scored ground-truth difference, written by the scorer;
- `metrics.json`: scores per split, domain, action and difference, computed from the outcomes;
  `splits.csv`, `actions.csv`, `differences.csv`: the same tables;
- `predictions.json`: the predictions in the benchmark's own format.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from viddiff.config import RunConfig
from viddiff.errors import ViddiffError
from viddiff.files import write_text_atomic
from viddiff.programs.records import DifferencePrediction

SCHEMA_VERSION = 2
"""Version of every file of a run directory; a reader refuses another."""
MANIFEST_FILE = "manifest.json"
RECORDS_FILE = "records.jsonl"
OUTCOMES_FILE = "outcomes.jsonl"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.json"
TABLE_FILES = {"splits": "splits.csv", "actions": "actions.csv", "differences": "differences.csv"}
PACKAGES = ("viddiff", "dspy", "torch", "open_clip_torch", "av", "datasets", "numpy")
RESUME_MAY_CHANGE = ("limit", "sample_threads", "difference_threads", "cache_dir")
"""Config keys that may differ when a run is resumed (they do not change any answer)."""
POSITIVE = ("a", "b")


class RunLogError(ViddiffError):
    """A run directory cannot be used as asked (exists, not a run, another schema, changed config)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageRecord(_Record):
    """One planned stage and its retrieval strings."""

    name: str
    retrieval_strings: list[str]


class SampleRecord(_Record):
    """What a system did with one sample."""

    sample_key: str
    row_index: int | None
    """Position in the benchmark (None: a row that could not be read)."""
    split: str | None = None
    domain: str | None = None
    action: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    status: Literal["ok", "partial", "error"]
    """`ok`: every difference decided; `partial`: some difference failed; `error`: the sample failed."""
    error: str | None = None
    predictions: list[DifferencePrediction] = Field(default_factory=list)
    stages: list[StageRecord] = Field(default_factory=list)
    links: dict[str, list[int]] = Field(default_factory=dict)
    """Difference key -> indices of the stages it is linked to."""
    segments: list[list[tuple[int, int]] | None] = Field(default_factory=list)
    """Per video, each stage's [start, end) frame range (modes with stages)."""
    localization_errors: dict[str, list[float | None]] = Field(default_factory=dict)
    """Difference key -> seconds from its chosen frames to the nearest annotated key point, per video."""
    matches: dict[str, str | None] | None = None
    """Open set, published protocol: ground-truth key -> proposal matched before deciding."""
    usage: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cost_usd: float | None = 0.0
    """Estimated USD cost of its LM calls; None when a model's price is unknown."""
    lm_calls: int | None = None
    images: int | None = None
    videos: int | None = None
    """LM calls it made (cache hits included) and the images and videos they carried; None in
    records written before they were counted."""
    seconds: float = 0.0
    warnings: list[str] = Field(default_factory=list)
    """Problems that did not stop the sample, such as a video that decoded short of its length."""


class Outcome(_Record):
    """One ground-truth difference of one sample, as the scorer decided it."""

    sample_key: str
    split: str
    domain: str
    action: str
    key: str
    name: str
    label: Literal["a", "b", "c"]
    """'c' (negligible) is in neither mode's denominator."""
    prediction: str | None
    """The answer scored: closed, the prediction for this key; open, the matched prediction's
    answer, flipped when it states the opposite."""
    matched_key: str | None = None
    """Open set: the predicted difference matched to this one."""
    flipped: bool = False
    """Open set: the matched prediction states the opposite, so its answer was flipped."""
    correct: bool
    error: str | None = None
    """Why there is no answer: the sample, the difference or the matcher failed, or nothing was predicted."""
    unserved: bool = False
    """The localization mode could not place it (oracle, no key point): left out of the score."""

    @property
    def positive(self) -> bool:
        return self.label in POSITIVE

    @property
    def counted(self) -> bool:
        """In the score's denominator: labelled a or b, and served."""
        return self.positive and not self.unserved

    @property
    def missing(self) -> bool:
        """Counted but without an answer (scored as wrong)."""
        return self.error is not None


class Manifest(_Record):
    """What a run is: enough to resume it, score it and cite it."""

    schema_version: int = SCHEMA_VERSION
    config: dict[str, Any]
    """The full RunConfig (API keys are never part of it)."""
    system: str
    sampling_rates: dict[str, float]
    """Frames per second used for each domain of the selected samples."""
    held_out: list[str] = Field(default_factory=list)
    """Sample keys of the compiled program's held-out slice: never run, never scored."""
    program: str | None = None
    samples: int = 0
    """Samples selected (after held-out exclusion)."""
    excluded: int = 0
    row_errors: int = 0
    """Benchmark rows that could not be read."""
    provenance: dict[str, Any] = Field(default_factory=dict)

    @property
    def run_config(self) -> RunConfig:
        return RunConfig.from_dict(self.config)


class RunLog:
    """One run directory (thread-safe appends)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def create(self, manifest: Manifest) -> None:
        """Start a new run, refusing to overwrite one; a folder holding a manifest but no
        record (a run that stopped before its first sample) is started afresh."""
        if self.path.exists() and any(self.path.iterdir()):
            if any(self.records()) or not (self.path / MANIFEST_FILE).is_file():
                raise RunLogError(f"{self.path}: already holds a run; pass --resume to continue it, or another --out")
            (self.path / RECORDS_FILE).unlink(missing_ok=True)  # at most a line torn by the crash
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_manifest(manifest)

    def resume(self, config: RunConfig, manifest: Manifest) -> dict[str, SampleRecord]:
        """Continue a run with `config`, refusing a change that would mix results; the manifest
        is rewritten (a larger --limit selects more samples). Returns the records so far."""
        saved = self.manifest()
        # The saved config read as this version reads it: a key added since takes its default.
        current, before = _jsonable(config.to_dict()), _jsonable(RunConfig.from_dict(saved.config).to_dict())
        changed = sorted(k for k in current if k not in RESUME_MAY_CHANGE and current[k] != before.get(k))
        if changed:
            raise RunLogError(f"{self.path}: cannot resume with a different {', '.join(changed)}; start a new run with another --out")
        self.write_manifest(manifest.model_copy(update={"provenance": saved.provenance}))
        self._drop_torn_tail()
        return self.records()

    def manifest(self) -> Manifest:
        path = self.path / MANIFEST_FILE
        if not self.path.is_dir():
            raise RunLogError(f"{self.path}: no such run directory")
        if not path.is_file():
            raise RunLogError(f"{self.path} has no {MANIFEST_FILE}; is it a run directory written by `viddiff run`?")
        data = _read_json(path)
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            version = data.get("schema_version") if isinstance(data, dict) else None
            raise RunLogError(f"{path}: schema_version {version!r} is not supported (this viddiff reads {SCHEMA_VERSION}); run it again")
        return _validate(Manifest, data, path)

    def write_manifest(self, manifest: Manifest) -> None:
        write_text_atomic(self.path / MANIFEST_FILE, manifest.model_dump_json(indent=2) + "\n")

    def append(self, record: SampleRecord) -> None:
        """Append one record and sync it to disk before returning."""
        line = record.model_dump_json() + "\n"
        with self._lock, open(self.path / RECORDS_FILE, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def records(self) -> dict[str, SampleRecord]:
        """The last record of each sample, in file order (a line torn by a crash is skipped)."""
        records: dict[str, SampleRecord] = {}
        for line in _lines(self.path / RECORDS_FILE):
            try:
                record = SampleRecord.model_validate_json(line)
            except ValidationError:
                continue
            records[record.sample_key] = record
        return records

    def write_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        write_text_atomic(self.path / OUTCOMES_FILE, "".join(o.model_dump_json() + "\n" for o in outcomes))

    def outcomes(self) -> list[Outcome]:
        path = self.path / OUTCOMES_FILE
        return [_validate_json(Outcome, line, path, number) for number, line in enumerate(_lines(path), 1)]

    def write_metrics(self, document: Mapping[str, Any], tables: Mapping[str, str]) -> None:
        """metrics.json and its CSV tables (`tables`: name in TABLE_FILES -> CSV text)."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path / METRICS_FILE, json.dumps({"schema_version": SCHEMA_VERSION, **document}, indent=2) + "\n")
        for name, text in tables.items():
            write_text_atomic(self.path / TABLE_FILES[name], text)

    def metrics(self) -> dict[str, Any]:
        path = self.path / METRICS_FILE
        data = _read_json(path)
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise RunLogError(f"{path}: not metrics of this viddiff's schema {SCHEMA_VERSION}; score the run again")
        return data

    def write_predictions(self, predictions: list[Any]) -> Path:
        path = self.path / PREDICTIONS_FILE
        write_text_atomic(path, json.dumps(predictions, indent=2, ensure_ascii=False) + "\n")
        return path

    @property
    def predictions_path(self) -> Path:
        return self.path / PREDICTIONS_FILE

    def is_scored(self) -> bool:
        return (self.path / METRICS_FILE).is_file() and (self.path / OUTCOMES_FILE).is_file()

    def _drop_torn_tail(self) -> None:
        """Cut a last line that a crash left without its newline, so the next append starts clean."""
        path = self.path / RECORDS_FILE
        if not path.is_file():
            return
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
                f.flush()
                os.fsync(f.fileno())


class ScoredRun(BaseModel):
    """A scored run directory, as reports and comparisons read it."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    path: Path
    manifest: Manifest
    metrics: dict[str, Any]
    records: list[SampleRecord]
    """The last record of each sample, in row order (unreadable rows last)."""
    outcomes: list[Outcome]

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.config

    @property
    def mode(self) -> str:
        return self.metrics["mode"]

    def outcomes_of(self, sample_key: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.sample_key == sample_key]


def load_scored_run(path: str | Path) -> ScoredRun:
    """Read a scored run directory.

    Raises:
        RunLogError: missing, not a run, not scored, another schema, or a file that does not
            parse; each names the fix.
    """
    log = RunLog(path)
    manifest = log.manifest()
    if not log.is_scored():
        raise RunLogError(f"{log.path} is not scored; {how_to_score(log.path)}")
    records = sorted(log.records().values(), key=lambda r: (r.row_index is None, r.row_index or 0, r.sample_key))
    return ScoredRun(path=log.path, manifest=manifest, metrics=log.metrics(), records=records, outcomes=log.outcomes())


def how_to_score(path: Path) -> str:
    """The command that scores (or finishes and scores) a run directory."""
    return f"finish and score it with `viddiff run --out {path} --resume`, or `viddiff eval --run {path}`"


def provenance() -> dict[str, Any]:
    """Git commit and dirty flag of the working tree, package versions, Python and platform."""
    return {
        "git": _git_state(),
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def new_run_path(root: str | Path, name: str) -> Path:
    """`root/<UTC timestamp>-<name>`."""
    return Path(root) / f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{name}"


def _git_state() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunLogError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunLogError(f"{path}: not valid JSON ({e})") from e


def _validate(model: type[BaseModel], data: Any, path: Path):
    try:
        return model.model_validate(data)
    except ValidationError as e:
        error = e.errors()[0]
        raise RunLogError(f"{path}: {'.'.join(map(str, error['loc']))}: {error['msg']}") from e


def _validate_json(model: type[BaseModel], line: str, path: Path, number: int):
    try:
        return model.model_validate_json(line)
    except ValidationError as e:
        error = e.errors()[0]
        raise RunLogError(f"{path}, line {number}: {'.'.join(map(str, error['loc']))}: {error['msg']}") from e


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))
