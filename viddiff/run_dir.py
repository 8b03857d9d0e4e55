"""A run's directory: its config with provenance, durable per-sample records, predictions.

Layout: `config.json` (the RunConfig plus git commit, dirty flag and package versions),
`records.jsonl` (one line per finished sample, appended and synced as it finishes; on resume
the last line of a sample wins), `predictions.json` (the benchmark's own format).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from viddiff.config import RunConfig
from viddiff.errors import ViddiffError
from viddiff.files import write_text_atomic

CONFIG_FILE = "config.json"
RECORDS_FILE = "records.jsonl"
PREDICTIONS_FILE = "predictions.json"
METRICS_FILE = "metrics.json"
MATCHES_FILE = "matches.jsonl"
METRICS_SCHEMA_VERSION = 1
PACKAGES = ("viddiff", "dspy", "torch", "open_clip_torch", "av", "datasets", "numpy")
RESUME_MAY_CHANGE = ("limit", "sample_threads", "difference_threads", "cache_dir")
"""Config keys that may differ when a run is resumed; any other change would mix results."""


class RunDirectoryError(ViddiffError):
    """The run directory cannot be used as asked (exists, or resumed with another config)."""


def new_run_path(root: str | Path, name: str) -> Path:
    """`root/<UTC timestamp>-<name>`."""
    return Path(root) / f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{name}"


class RunDirectory:
    """Creates or resumes a run directory and appends records to it (thread-safe)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def start(self, config: RunConfig, *, resume: bool) -> dict[str, dict[str, Any]]:
        """Create the directory (refusing to overwrite a run), or check a resumed one's config.

        Returns:
            The records already there, by sample key (empty for a new run).
        """
        config_file = self.path / CONFIG_FILE
        if resume:
            self._check_same_config(config, self.saved_config().to_dict())
            return self.records()
        if self.path.exists() and any(self.path.iterdir()):
            raise RunDirectoryError(f"{self.path}: already holds a run; pass --resume to continue it, or another --out")
        self.path.mkdir(parents=True, exist_ok=True)
        _write_json(config_file, {"config": config.to_dict(), "provenance": provenance()})
        return {}

    def saved_config(self) -> RunConfig:
        """The config the run was started with."""
        config_file = self.path / CONFIG_FILE
        if not config_file.exists():
            raise RunDirectoryError(f"{self.path}: no run to resume ({CONFIG_FILE} missing)")
        return RunConfig.from_dict(json.loads(config_file.read_text())["config"])

    def records(self) -> dict[str, dict[str, Any]]:
        """The last record of each sample (a line cut short by a crash is ignored)."""
        records: dict[str, dict[str, Any]] = {}
        path = self.path / RECORDS_FILE
        if not path.exists():
            return records
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            records[record["sample_key"]] = record
        return records

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record and sync it to disk before returning."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, open(self.path / RECORDS_FILE, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def write_predictions(self, predictions: list[dict[str, Any]]) -> Path:
        path = self.path / PREDICTIONS_FILE
        _write_json(path, predictions)
        return path

    def _check_same_config(self, config: RunConfig, saved: Mapping[str, Any]) -> None:
        current, saved = _jsonable(config.to_dict()), _jsonable(saved)
        changed = sorted(k for k in current if k not in RESUME_MAY_CHANGE and current[k] != saved.get(k))
        if changed:
            raise RunDirectoryError(
                f"{self.path}: cannot resume with a different {', '.join(changed)}; start a new run with another --out"
            )


@dataclass(frozen=True)
class ScoredRun:
    """A scored run directory, as reports and comparisons read it."""

    path: Path
    config: dict[str, Any]
    """The run's RunConfig, as saved in config.json."""
    provenance: dict[str, Any]
    metrics: dict[str, Any]
    records: list[dict[str, Any]]
    """The last record of each sample, in row order (malformed rows last)."""
    decisions: dict[str, dict[str, Any]]
    """Open set: the matcher's decision per sample key, from matches.jsonl, else the matches a
    published-protocol run recorded; empty in closed mode."""

    @property
    def mode(self) -> str:
        return self.metrics["mode"]

    @property
    def records_by_key(self) -> dict[str, dict[str, Any]]:
        return {r["sample_key"]: r for r in self.records}


def load_scored_run(path: str | Path) -> ScoredRun:
    """Read a scored run directory.

    Raises:
        RunDirectoryError: missing, not a run, not scored, a metrics schema this version cannot
            read, or a file that is not valid JSON; each names the fix.
    """
    path = Path(path)
    if not path.is_dir():
        raise RunDirectoryError(f"{path}: no such run directory")
    if not (path / CONFIG_FILE).is_file():
        raise RunDirectoryError(f"{path} has no {CONFIG_FILE}; is it a run directory written by `viddiff run`?")
    saved = _read_json_object(path / CONFIG_FILE)
    config = saved.get("config") or {}
    if not (path / METRICS_FILE).is_file():
        raise RunDirectoryError(f"{path} is not scored (no {METRICS_FILE}); {how_to_score(path, config)}")
    metrics = _read_json_object(path / METRICS_FILE)
    if metrics.get("schema_version") != METRICS_SCHEMA_VERSION:
        raise RunDirectoryError(
            f"{path / METRICS_FILE}: schema_version {metrics.get('schema_version')!r} is not supported (this viddiff "
            f"reads {METRICS_SCHEMA_VERSION}); {how_to_score(path, config)}"
        )
    records = sorted(RunDirectory(path).records().values(), key=_row_order)
    decisions = {r["sample_key"]: {"matches": r["matches"], "opposites": []} for r in records if r.get("matches")}
    decisions.update(_read_decisions(path / MATCHES_FILE))
    return ScoredRun(path, config, saved.get("provenance") or {}, metrics, records, decisions)


def how_to_score(path: Path, config: Mapping[str, Any]) -> str:
    """The commands that score a run directory."""
    return (
        f"finish the run with `viddiff run --out {path} --resume`, or score its predictions with "
        f"`viddiff eval {path / PREDICTIONS_FILE} --dataset {config.get('source', 'SOURCE')} "
        f"--mode {config.get('mode', 'closed')} --out {path}`"
    )


def _row_order(record: Mapping[str, Any]) -> tuple[bool, int, str]:
    row = record.get("row_index")
    return (row is None, row if row is not None else 0, record["sample_key"])


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RunDirectoryError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, dict):
        raise RunDirectoryError(f"{path}: expected a JSON object")
    return data


def _read_decisions(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    decisions = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            decision = json.loads(line)
        except json.JSONDecodeError as e:
            raise RunDirectoryError(f"{path}, line {number}: not valid JSON ({e.msg})") from e
        decisions[decision["sample_key"]] = decision
    return decisions


def provenance() -> dict[str, Any]:
    """Git commit and dirty flag of the working tree, package versions, Python and platform."""
    return {
        "git": _git_state(),
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


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


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
