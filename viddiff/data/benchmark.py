"""VidDiffBench loader: rows from the Hugging Face Hub or a local file, decoded into `Sample`s."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viddiff.data.records import LABELS, NUM_FRAMES, SPLITS, Difference, Sample, VideoRef
from viddiff.errors import DatasetError, RowError

DEFAULT_SOURCE = "jmhb/VidDiffBench"
DOMAINS = ("fitness", "ballsports", "diving", "music", "surgery")
_OLD_VERSION = "viddiff/VidDiffBench"
_OLD_VERSION_MESSAGE = (
    "{source} is the older 557-row VidDiffBench, whose 'split' column holds domain names; "
    f"use {DEFAULT_SOURCE} (549 rows) or viddiff/VidDiffBench_2"
)
_THUMBNAIL_COLUMNS = ("vid0_thumbnail", "vid1_thumbnail")
_DATASET_FILE = "dataset.jsonl"


@dataclass
class Benchmark(Sequence[Sample]):
    """Samples loaded from one source, plus the rows that could not be read."""

    source: str
    samples: list[Sample]
    row_errors: list[RowError] = field(default_factory=list)
    video_root: Path | None = None
    n_rows: int = 0
    """Rows in the source before filtering (predictions in the benchmark's format align with them)."""

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index):  # type: ignore[override]
        return self.samples[index]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)


def load_benchmark(
    source: str | Path = DEFAULT_SOURCE,
    video_root: str | Path | None = None,
    split: str | Iterable[str] | None = None,
    actions: Iterable[str] | None = None,
    limit: int | None = None,
    *,
    revision: str | None = None,
    seed: int | None = None,
    strict: bool = False,
) -> Benchmark:
    """Load VidDiffBench, or a benchmark of your own in the same schema.

    Args:
        source: a Hugging Face dataset id (default `jmhb/VidDiffBench`), or a local `.jsonl`,
            `.json` (a list of rows), `.parquet` file, a `datasets.save_to_disk` folder, or a
            folder holding `dataset.jsonl` (as `viddiff synth` writes).
        video_root: folder the rows' video paths are relative to. Defaults to the folder of a
            local source; must be given to decode videos of a Hub dataset.
        split: keep only these splits (`easy`, `medium`, `hard`).
        actions: keep only these action codes (e.g. `fitness_0`).
        limit: keep the first `limit` samples after filtering (and shuffling, if `seed`).
        revision: Hub revision (branch, tag or commit) to pin.
        seed: shuffle the filtered samples with this seed before `limit`.
        strict: raise on the first malformed row instead of collecting it in `row_errors`.

    Example:
        >>> bench = load_benchmark("runs/synth/dataset.jsonl", split="easy", limit=4)
        >>> bench[0].candidates
    """
    rows, default_root = read_rows(source, revision)
    root = Path(video_root) if video_root is not None else default_root
    _reject_old_version(str(source), rows)

    samples, errors = [], []
    for index, row in enumerate(rows):
        try:
            samples.append(record_to_sample(row, index, video_root=root))
        except RowError as e:
            if strict:
                raise
            errors.append(e)

    samples = _filter(samples, split, actions)
    if seed is not None:
        random.Random(seed).shuffle(samples)
    if limit is not None:
        if limit < 0:
            raise DatasetError(f"limit must be >= 0, got {limit}")
        samples = samples[:limit]
    return Benchmark(source=str(source), samples=samples, row_errors=errors, video_root=root, n_rows=len(rows))


def record_to_sample(row: Mapping[str, Any], row_index: int, video_root: Path | None = None) -> Sample:
    """Decode one benchmark row (JSON-string columns or already-decoded values) into a Sample.

    Raises:
        RowError: naming the sample and the field that is missing or malformed.
    """
    key = row.get("sample_key")
    if not isinstance(key, (str, int)) or isinstance(key, bool) or str(key) == "":
        raise RowError(f"row {row_index}", "sample_key", "missing or not a string")
    key = str(key)
    fields = _RowReader(row, key)

    annotated = fields.json_dict("differences_annotated")
    differences = {
        k: fields.difference(k, value) for k, value in annotated.items() if value is not None
    }
    labels = fields.labels(differences)
    difference_keys = tuple(dict.fromkeys([*annotated, *fields.json_dict("differences_gt")]))
    n_open = fields.optional_int("n_differences_open_prediction")
    return Sample(
        sample_key=key,
        row_index=row_index,
        videos=fields.videos(),
        action=fields.text("action"),
        action_name=fields.text("action_name"),
        action_description=fields.text("action_description"),
        split=fields.choice("split", SPLITS),
        domain=fields.text("domain"),
        source_dataset=fields.text("source_dataset"),
        sample_hash=fields.integer("sample_hash"),
        differences=differences,
        labels=labels,
        difference_keys=difference_keys,
        retrieval_frames=fields.retrieval_frames(),
        n_differences_open=n_open if n_open is not None else math.ceil(1.5 * len(labels)),
        video_root=video_root,
    )


class _RowReader:
    """Typed access to one row's fields; every failure is a RowError naming sample and field."""

    def __init__(self, row: Mapping[str, Any], sample_key: str):
        self.row = row
        self.key = sample_key

    def error(self, field_name: str, reason: str) -> RowError:
        return RowError(self.key, field_name, reason)

    def value(self, name: str) -> Any:
        if name not in self.row:
            raise self.error(name, "missing")
        return self.row[name]

    def text(self, name: str) -> str:
        value = self.value(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"expected a non-empty string, got {value!r}")
        return value

    def choice(self, name: str, allowed: Sequence[str]) -> str:
        value = self.text(name)
        if value not in allowed:
            raise self.error(name, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def integer(self, name: str) -> int:
        value = self.value(name)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.error(name, f"expected an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise self.error(name, f"expected an integer, got {value!r}") from None

    def optional_int(self, name: str) -> int | None:
        if self.row.get(name) is None:
            return None
        value = self.integer(name)
        if value < 0:
            raise self.error(name, f"must be >= 0, got {value}")
        return value

    def decoded(self, name: str) -> Any:
        value = self.value(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as e:
                raise self.error(name, f"invalid JSON ({e.msg} at position {e.pos})") from None
        return value

    def json_dict(self, name: str) -> dict[str, Any]:
        value = self.decoded(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(name, f"expected an object keyed by difference, got {type(value).__name__}")
        return {str(k): v for k, v in value.items()}

    def videos(self) -> tuple[VideoRef, VideoRef]:
        value = self.decoded("videos")
        if not isinstance(value, list) or len(value) != 2:
            raise self.error("videos", "expected a list of 2 videos")
        return (self._video(value[0], 0), self._video(value[1], 1))

    def _video(self, video: Any, which: int) -> VideoRef:
        where = f"videos[{which}]"
        if not isinstance(video, dict):
            raise self.error(where, f"expected an object, got {type(video).__name__}")
        path = video.get("path")
        if not isinstance(path, str) or not path:
            raise self.error(f"{where}.path", f"expected a relative path, got {path!r}")
        return VideoRef(
            path=path,
            frames_trim=self._trim(video.get("frames_trim"), f"{where}.frames_trim"),
            fps_original=self._fps(video.get("fps_original"), f"{where}.fps_original"),
        )

    def _trim(self, trim: Any, where: str) -> tuple[int, int | None] | None:
        if trim is None:
            return None
        ok = (
            isinstance(trim, (list, tuple))
            and len(trim) == 2
            and all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in trim)
        )
        if not ok:
            raise self.error(where, f"expected [start, end] frame indices, got {trim!r}")
        start, end = trim
        return (start or 0, end)

    def _fps(self, fps: Any, where: str) -> float | None:
        if fps is None:
            return None
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise self.error(where, f"expected a positive number, got {fps!r}")
        return float(fps)

    def difference(self, key: str, value: Any) -> Difference:
        where = f"differences_annotated[{key!r}]"
        if not isinstance(value, dict):
            raise self.error(where, f"expected an object or null, got {type(value).__name__}")
        texts = {}
        for name in ("name", "description", "query_string"):
            text = value.get(name, "" if name == "query_string" else None)
            if not isinstance(text, str):
                raise self.error(f"{where}.{name}", f"expected a string, got {text!r}")
            texts[name] = text
        num_frames = str(value.get("num_frames"))
        if num_frames not in NUM_FRAMES:
            raise self.error(f"{where}.num_frames", f"expected '1' or 'gt_1', got {value.get('num_frames')!r}")
        return Difference(key=key, num_frames=num_frames, **texts)  # type: ignore[arg-type]

    def labels(self, differences: Mapping[str, Difference]) -> dict[str, str]:
        labels = {}
        for key, label in self.json_dict("differences_gt").items():
            if label is None:
                continue
            where = f"differences_gt[{key!r}]"
            if label not in LABELS:
                raise self.error(where, f"expected 'a', 'b', 'c' or null, got {label!r}")
            if key not in differences:
                raise self.error(where, f"label {label!r} for a difference that is not annotated")
            labels[key] = label
        return labels

    def retrieval_frames(self) -> tuple[dict[str, list[int] | None], dict[str, list[int] | None]]:
        """Tolerant: a missing or null column gives no key points; a bare index becomes a list."""
        value = self.decoded("retrieval_frames") if "retrieval_frames" in self.row else None
        if value is None:
            return ({}, {})
        if not isinstance(value, list) or len(value) != 2:
            raise self.error("retrieval_frames", "expected a list of 2 objects (one per video)")
        return (self._key_points(value[0], 0), self._key_points(value[1], 1))

    def _key_points(self, points: Any, which: int) -> dict[str, list[int] | None]:
        where = f"retrieval_frames[{which}]"
        if points is None:
            return {}
        if not isinstance(points, dict):
            raise self.error(where, f"expected an object, got {type(points).__name__}")
        out: dict[str, list[int] | None] = {}
        for point_id, frames in points.items():
            if frames is None:
                out[str(point_id)] = None
                continue
            frames = [frames] if isinstance(frames, int) else frames
            if not isinstance(frames, list) or not all(
                isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in frames
            ):
                raise self.error(f"{where}[{point_id!r}]", f"expected frame indices, got {frames!r}")
            out[str(point_id)] = frames
        return out


def _filter(
    samples: list[Sample], split: str | Iterable[str] | None, actions: Iterable[str] | None
) -> list[Sample]:
    if split is not None:
        splits = {split} if isinstance(split, str) else set(split)
        unknown = sorted(splits - set(SPLITS))
        if unknown:
            raise DatasetError(f"unknown split {', '.join(unknown)}: choose from {', '.join(SPLITS)}")
        samples = [s for s in samples if s.split in splits]
    if actions is not None:
        wanted = {actions} if isinstance(actions, str) else set(actions)
        present = {s.action for s in samples}
        unknown = sorted(wanted - present)
        if unknown:
            raise DatasetError(
                f"unknown action {', '.join(unknown)}"
                + (f" in split {split}" if split is not None else "")
                + f": available actions are {', '.join(sorted(present)) or 'none'}"
            )
        samples = [s for s in samples if s.action in wanted]
    return samples


def _reject_old_version(source: str, rows: list[Mapping[str, Any]]) -> None:
    splits = {row.get("split") for row in rows}
    if rows and splits <= set(DOMAINS):
        raise DatasetError(_OLD_VERSION_MESSAGE.format(source=source))


def read_rows(source: str | Path, revision: str | None) -> tuple[list[Mapping[str, Any]], Path | None]:
    """Rows of the source and the default video root (the local source's folder, else None)."""
    path = Path(source)
    if path.exists():
        return _read_local(path), (path if path.is_dir() else path.parent)
    if isinstance(source, str) and source.count("/") == 1 and not source.startswith((".", "/")):
        return _read_hub(source, revision), None
    raise DatasetError(
        f"{source}: no such file or folder, and not a Hugging Face dataset id (owner/name)"
    )


def _read_local(path: Path) -> list[Mapping[str, Any]]:
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
            return _rows_from_datasets(_load_from_disk(path), str(path))
        if (path / _DATASET_FILE).exists():
            return _read_local(path / _DATASET_FILE)
        raise DatasetError(
            f"{path}: folder holds neither a `datasets.save_to_disk` dataset nor {_DATASET_FILE}"
        )
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(path)
    if suffix == ".json":
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DatasetError(f"{path}: not valid JSON ({e})") from e
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DatasetError(f"{path}: expected a JSON list of row objects")
        return rows
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as e:  # pyarrow raises several unrelated types for a bad file
            raise DatasetError(f"{path}: not a readable parquet file ({e})") from e
        columns = [c for c in table.column_names if c not in _THUMBNAIL_COLUMNS]
        return table.select(columns).to_pylist()
    raise DatasetError(f"{path}: unsupported file type; use .jsonl, .json, .parquet or a dataset folder")


def _read_jsonl(path: Path) -> list[Mapping[str, Any]]:
    rows: list[Mapping[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{path}, line {line_number}: not valid JSON ({e.msg})") from e
            if not isinstance(row, dict):
                raise DatasetError(f"{path}, line {line_number}: expected a JSON object per line")
            rows.append(row)
    return rows


def _load_from_disk(path: Path):
    import datasets

    try:
        return datasets.load_from_disk(str(path))
    except Exception as e:  # datasets raises FileNotFoundError, ValueError, ArrowInvalid...
        raise DatasetError(f"{path}: cannot be loaded with datasets.load_from_disk ({e})") from e


def _read_hub(dataset_id: str, revision: str | None) -> list[Mapping[str, Any]]:
    if dataset_id.lower() == _OLD_VERSION.lower():
        raise DatasetError(_OLD_VERSION_MESSAGE.format(source=dataset_id))
    import datasets

    try:
        data = datasets.load_dataset(dataset_id, revision=revision)
    except Exception as e:  # offline, unknown id, gated repo: all end here
        raise DatasetError(
            f"cannot load {dataset_id} from the Hugging Face Hub ({type(e).__name__}: {e}). "
            f"Offline? Download it elsewhere with `datasets.load_dataset({dataset_id!r})"
            ".save_to_disk(DIR)` and pass DIR as the source"
        ) from e
    return _rows_from_datasets(data, dataset_id)


def _rows_from_datasets(data, source: str) -> list[Mapping[str, Any]]:
    """Rows of a Dataset, or of the `test` (or only) split of a DatasetDict, without thumbnails."""
    if hasattr(data, "keys"):  # DatasetDict
        names = list(data.keys())
        if "test" in names:
            data = data["test"]
        elif len(names) == 1:
            data = data[names[0]]
        else:
            raise DatasetError(f"{source}: has splits {', '.join(names)} but no 'test' split")
    drop = [c for c in _THUMBNAIL_COLUMNS if c in data.column_names]
    return list(data.remove_columns(drop)) if drop else list(data)
