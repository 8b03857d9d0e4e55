"""Predictions in VidDiffBench's own format, from any system.

A JSON list aligned with the dataset rows; each element maps a difference key to
`{"description": str, "prediction": "a" | "b"}`, or (closed-set shorthand) to `"a"` / `"b"`.
A null element is a row the system did not run (left out of the score unless asked to count
it as wrong); an empty object is a row run without predictions. `c` is accepted and scores as
wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viddiff.errors import ViddiffError
from viddiff.programs.records import DifferencePrediction
from viddiff.run_log import SampleRecord

ANSWERS = ("a", "b", "c")


class PredictionsError(ViddiffError):
    """A predictions file is not in the benchmark's format."""


@dataclass(frozen=True)
class PredictedDifference:
    description: str | None
    prediction: str | None


Row = dict[str, PredictedDifference]


@dataclass(frozen=True)
class SampleAnswers:
    """Everything a scorer needs of what a system answered for one sample."""

    predictions: Row
    """Predicted differences by key, in the system's order: decided, or left undecided by an error
    (prediction None; an open-set proposal still takes its place among the first N_diff)."""
    error: str | None = None
    """The sample failed as a whole: every difference is missing."""
    difference_errors: dict[str, str] = field(default_factory=dict)
    """Differences left undecided by an error, by key."""
    unserved: frozenset[str] = frozenset()
    """Differences the localization mode could not place."""
    matches: dict[str, str | None] | None = None
    """Open set, published protocol: the matches made before deciding."""

    @classmethod
    def from_predictions(
        cls, predictions: Iterable[DifferencePrediction], *, error: str | None = None, matches: dict[str, str | None] | None = None
    ) -> SampleAnswers:
        """The answers of a system's predictions for one sample."""
        predictions = list(predictions)
        return cls(
            predictions={
                p.key: PredictedDifference(p.description, p.answer) for p in predictions if p.answer is not None or p.error
            },
            error=error,
            difference_errors={p.key: p.error for p in predictions if p.error},
            unserved=frozenset(p.key for p in predictions if p.unserved),
            matches=matches,
        )

    @classmethod
    def from_record(cls, record: SampleRecord) -> SampleAnswers:
        return cls.from_predictions(record.predictions, error=record.error if record.status == "error" else None, matches=record.matches)


def load_predictions(path: str | Path, n_rows: int) -> list[Row | None]:
    """Read and check a predictions file against a dataset of `n_rows` rows."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PredictionsError(f"{path}: no such predictions file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PredictionsError(f"{path}: not valid JSON ({e})") from e
    return parse_predictions(data, n_rows, source=str(path))


def parse_predictions(data: Any, n_rows: int, *, source: str = "predictions") -> list[Row | None]:
    """Rows of predictions from decoded JSON; errors name the row and the key."""
    if not isinstance(data, list):
        raise PredictionsError(f"{source}: expected a JSON list aligned with the dataset rows")
    if len(data) != n_rows:
        raise PredictionsError(f"{source}: has {len(data)} entries but the dataset has {n_rows} rows; align them with the rows")
    return [_row(entry, index, source) for index, entry in enumerate(data)]


def _row(entry: Any, index: int, source: str) -> Row | None:
    if entry is None:
        return None
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


def to_benchmark_format(records: Iterable[SampleRecord], n_rows: int) -> list[dict[str, dict[str, str | None]] | None]:
    """A run's decided predictions as the benchmark's JSON (the inverse of `parse_predictions`):
    null for rows the run did not cover."""
    rows: list[dict[str, dict[str, str | None]] | None] = [None] * n_rows
    for record in records:
        if record.row_index is not None:
            answers = SampleAnswers.from_record(record).predictions
            rows[record.row_index] = {
                k: {"description": p.description, "prediction": p.prediction} for k, p in answers.items() if p.prediction is not None
            }
    return rows
