"""Reading a scored run directory: config with provenance, records, metrics, matcher decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viddiff.errors import ViddiffError
from viddiff.run_dir import CONFIG_FILE, RunDirectory

METRICS_FILE = "metrics.json"
MATCHES_FILE = "matches.jsonl"
METRICS_SCHEMA_VERSION = 1


class ReportError(ViddiffError):
    """A run directory cannot be reported on (missing, unscored, or unreadable)."""


@dataclass(frozen=True)
class RunData:
    """Everything a report shows, as read from one run directory."""

    path: Path
    config: dict[str, Any]
    """The run's RunConfig, as saved in config.json."""
    provenance: dict[str, Any]
    """Git commit and dirty flag, package versions, start time."""
    metrics: dict[str, Any]
    """metrics.json (schema version 1)."""
    records: list[dict[str, Any]]
    """The last record of each sample, in row order (rows that could not be read last)."""
    decisions: dict[str, dict[str, Any]]
    """Open set: the matcher's decision per sample key (`matches`, `opposites`); empty when closed."""

    @property
    def mode(self) -> str:
        return self.metrics["mode"]


def _how_to_score(path: Path, saved: dict[str, Any]) -> str:
    config = saved.get("config", {})
    return (
        f"finish the run with `viddiff run --out {path} --resume`, or score its predictions with "
        f"`viddiff eval {path / 'predictions.json'} --dataset {config.get('source', 'SOURCE')} "
        f"--mode {config.get('mode', 'closed')} --out {path}`"
    )


def load_run(path: str | Path) -> RunData:
    """Read the run directory at `path`.

    Raises:
        ReportError: the folder does not exist, is not a run, has not been scored, or holds
            a file that is not valid JSON or a metrics schema this version cannot read.
    """
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path}: no such run directory")
    if not (path / CONFIG_FILE).exists():
        raise ReportError(f"{path} has no {CONFIG_FILE}; is it a run directory written by `viddiff run`?")
    saved = _read_json(path / CONFIG_FILE)
    if not (path / METRICS_FILE).exists():
        raise ReportError(f"{path} has no {METRICS_FILE}; {_how_to_score(path, saved)}")
    metrics = _read_json(path / METRICS_FILE)
    version = metrics.get("schema_version")
    if version != METRICS_SCHEMA_VERSION:
        raise ReportError(
            f"{path / METRICS_FILE}: schema_version {version!r} is not supported (this viddiff reads "
            f"{METRICS_SCHEMA_VERSION}); {_how_to_score(path, saved)}"
        )
    records = sorted(RunDirectory(path).records().values(), key=_row_order)
    return RunData(
        path=path,
        config=saved.get("config", {}),
        provenance=saved.get("provenance", {}),
        metrics=metrics,
        records=records,
        decisions=_read_decisions(path, records),
    )


def _row_order(record: dict[str, Any]) -> tuple[bool, int, str]:
    row = record.get("row_index")
    return (row is None, row if row is not None else 0, record["sample_key"])


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object")
    return data


def _read_decisions(path: Path, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The matcher's decisions from matches.jsonl, else the matches a published-protocol run recorded."""
    decisions = {r["sample_key"]: {"matches": r["matches"], "opposites": []} for r in records if r.get("matches")}
    matches_file = path / MATCHES_FILE
    if matches_file.exists():
        for line in matches_file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                decision = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReportError(f"{matches_file}: not valid JSON lines ({e.msg})") from e
            decisions[decision["sample_key"]] = decision
    return decisions
