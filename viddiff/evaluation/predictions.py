"""Predictions in VidDiffBench's own format, from any system.

A JSON list aligned with the dataset rows; each element maps a difference key to
`{"description": str, "prediction": "a" | "b"}`, or (closed-set shorthand) to `"a"` / `"b"`.
A null element, or a row left out, has no predictions. `c` is accepted and scores as wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viddiff.errors import ViddiffError

ANSWERS = ("a", "b", "c")


class PredictionsError(ViddiffError):
    """A predictions file is not in the benchmark's format."""


@dataclass(frozen=True)
class PredictedDifference:
    description: str | None
    prediction: str | None


Row = dict[str, PredictedDifference]


def load_predictions(path: str | Path, n_rows: int) -> list[Row]:
    """Read and check a predictions file against a dataset of `n_rows` rows."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PredictionsError(f"{path}: no such predictions file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PredictionsError(f"{path}: not valid JSON ({e})") from e
    return parse_predictions(data, n_rows, source=str(path))


def parse_predictions(data: Any, n_rows: int, *, source: str = "predictions") -> list[Row]:
    """Rows of predictions from decoded JSON; errors name the row and the key."""
    if not isinstance(data, list):
        raise PredictionsError(f"{source}: expected a JSON list aligned with the dataset rows")
    if len(data) != n_rows:
        raise PredictionsError(f"{source}: has {len(data)} entries but the dataset has {n_rows} rows; align them with the rows")
    return [_row(entry, index, source) for index, entry in enumerate(data)]


def _row(entry: Any, index: int, source: str) -> Row:
    if entry is None:
        return {}
    if not isinstance(entry, Mapping):
        raise PredictionsError(f"{source}, row {index}: expected an object keyed by difference, got {type(entry).__name__}")
    return {str(key): _difference(value, index, str(key), source) for key, value in entry.items()}


def _difference(value: Any, index: int, key: str, source: str) -> PredictedDifference:
    where = f"{source}, row {index}, key {key!r}"
    if isinstance(value, str) or value is None:
        description, prediction = None, value
    elif isinstance(value, Mapping):
        description, prediction = value.get("description"), value.get("prediction")
        if description is not None and not isinstance(description, str):
            raise PredictionsError(f"{where}: description must be a string")
    else:
        raise PredictionsError(f"{where}: expected {{'description', 'prediction'}} or 'a'/'b', got {value!r}")
    if prediction is not None:
        prediction = str(prediction).strip().lower()
        if prediction not in ANSWERS:
            raise PredictionsError(f"{where}: prediction must be 'a' or 'b', got {value!r}")
    return PredictedDifference(description, prediction)


def first_predictions(row: Row, limit: int) -> Row:
    """The first `limit` predictions of a row (open set: at most N_diff count)."""
    return dict(list(row.items())[:limit])


def rows_from_records(records: Sequence[Mapping[str, Any]], n_rows: int) -> list[Row]:
    """A run's records as prediction rows (undecided differences are left out)."""
    rows: list[Row] = [{} for _ in range(n_rows)]
    for record in records:
        if record.get("row_index") is None:
            continue
        rows[record["row_index"]] = {
            p["key"]: PredictedDifference(p["description"], p["answer"])
            for p in record.get("predictions", [])
            if p["answer"] is not None
        }
    return rows


def to_benchmark_format(rows: Sequence[Row]) -> list[dict[str, dict[str, str | None]]]:
    """Prediction rows as the benchmark's JSON (the inverse of `parse_predictions`)."""
    return [{key: {"description": p.description, "prediction": p.prediction} for key, p in row.items()} for row in rows]
