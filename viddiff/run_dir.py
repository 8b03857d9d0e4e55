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
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from viddiff.config import RunConfig
from viddiff.errors import ViddiffError

CONFIG_FILE = "config.json"
RECORDS_FILE = "records.jsonl"
PREDICTIONS_FILE = "predictions.json"
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
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
