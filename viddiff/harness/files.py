"""Files that move between viddiff and lmms-eval, both ways.

- `export_run`: a scored viddiff run as lmms-eval's output files, `<date>_results.json` and
  `<date>_samples_<task>.jsonl` under `<out>/viddiff/`, as if lmms-eval had run the viddiff task
  with `--log_samples`: every document's reply and viddiff outcomes, and the task's metrics
  computed from them by the task's own aggregations. lmms-eval reads them back, e.g. as the
  `--baseline` of a paired comparison.
- `sample_log_rows`: lmms-eval's samples log of a viddiff task (any model) as rows of
  predictions aligned with the benchmark, for `viddiff eval`.
- `write_task_folder`: lmms-eval tasks for any benchmark in VidDiffBench's schema (a local
  jsonl, the synthetic benchmark, a copy of the Hub's): its rows as documents that carry their
  video root, and closed- and open-set YAMLs that include the shipped template.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from viddiff.errors import ViddiffError
from viddiff.evaluation.predictions import SampleAnswers, to_benchmark_format
from viddiff.harness.documents import METRICS, ROOT_FIELD, SOURCE_FIELD, aggregate, aggregate_score, document_metrics, reply_answers

TASKS_DIR = Path(__file__).resolve().parent / "tasks"
"""The task folder shipped with viddiff: `--include_path` for lmms-eval."""
MODEL_NAME = "viddiff"
METRIC_NAMES = (*(f"viddiff_{m}" for m in METRICS), "viddiff_score")


class SampleLogError(ViddiffError):
    """An lmms-eval samples log cannot be read as predictions of the benchmark given."""


def task_name(mode: str, name: str | None = None) -> str:
    """`viddiff_closed` / `viddiff_open`, or `<name>_closed` / `<name>_open` for a task folder's own name."""
    return f"{name or 'viddiff'}_{mode}"


def export_run(run_dir: str | Path, out: str | Path, *, task: str | None = None) -> tuple[Path, Path]:
    """Write a scored run as lmms-eval's results and samples files; returns their paths.

    Raises:
        RunLogError: `run_dir` is missing, not a run, or not scored.
    """
    from viddiff.run_log import load_scored_run

    run = load_scored_run(run_dir)
    task = task or task_name(run.mode)
    records = [r for r in run.records if r.row_index is not None]
    rows = to_benchmark_format(records, max((r.row_index for r in records), default=-1) + 1)
    lines = []
    for record in records:
        entry = document_metrics(record.sample_key, run.mode, run.outcomes_of(record.sample_key))
        lines.append(
            {
                "doc_id": record.row_index,
                "target": json.dumps(record.labels, sort_keys=True),
                "filtered_resps": [json.dumps(rows[record.row_index])],
                **entry,
                "doc_hash": hashlib.sha256(record.sample_key.encode()).hexdigest(),
                "input": f"viddiff {run.config.get('system', 'viddiff')} run {run.path}",
            }
        )
    items = [line["viddiff_overall"] for line in lines]
    scores = [line["viddiff_score"] for line in lines]
    values = {f"viddiff_{m},none": aggregate(items, m) for m in METRICS}
    values["viddiff_score,none"] = aggregate_score(scores)
    now = datetime.now(timezone.utc)
    date_id = now.strftime("%Y%m%d_%H%M%S")
    results = {
        "results": {task: {"alias": task, **values, **{f"{name}_stderr,none": "N/A" for name in METRIC_NAMES}}},
        "group_subtasks": {task: []},
        "versions": {task: 1.0},
        "n-shot": {task: 0},
        "higher_is_better": {task: dict.fromkeys(METRIC_NAMES, True)},
        "n-samples": {task: {"original": len(lines), "effective": len(lines)}},
        "config": {"model": MODEL_NAME, "model_args": f"run={run.path}", "limit": None},
        "date": now.timestamp(),
        "model_name": MODEL_NAME,
        "model_name_sanitized": MODEL_NAME,
        "viddiff": {"run": str(run.path), "system": run.config.get("system"), "mode": run.mode, "config": run.config},
    }
    folder = Path(out) / MODEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    results_path = folder / f"{date_id}_results.json"
    samples_path = folder / f"{date_id}_samples_{task}.jsonl"
    samples_path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results_path, samples_path


def sample_log_rows(path: str | Path, sample_keys: Sequence[str | None]) -> list[SampleAnswers | None]:
    """What each benchmark row answered in an lmms-eval samples log (`--log_samples`) of a
    viddiff task: None for a row not in the log or not run, else the answers of its reply (a
    reply that cannot be read answers nothing, with the reason as the sample's error).

    Args:
        sample_keys: the benchmark's sample key per row (None for an unreadable row); a log
            line that names another sample than its row's is refused.

    Raises:
        SampleLogError: the file is missing, a line is not JSON or has no doc_id or reply, or it
            belongs to another benchmark.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SampleLogError(f"{path}: no such samples log") from None
    answers: list[SampleAnswers | None] = [None] * len(sample_keys)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            raise SampleLogError(f"{where}: not JSON ({e})") from e
        doc_id = entry.get("doc_id") if isinstance(entry, dict) else None
        if not isinstance(doc_id, int) or not 0 <= doc_id < len(sample_keys):
            raise SampleLogError(f"{where}: doc_id {doc_id!r} is not a row of the benchmark ({len(sample_keys)} rows)")
        logged = (entry.get("viddiff_overall") or {}).get("sample_key")
        if logged is not None and logged != sample_keys[doc_id]:
            raise SampleLogError(
                f"{where}: document {doc_id} is sample {logged}, but row {doc_id} of the benchmark is {sample_keys[doc_id]}; "
                "pass the --dataset the lmms-eval task used"
            )
        answers[doc_id] = reply_answers(_reply(entry, where))
    return answers


def _reply(entry: dict[str, Any], where: str) -> str:
    """The model's reply in a log line: `filtered_resps` (or `resps`), as lmms-eval flattens them."""
    reply = entry.get("filtered_resps", entry.get("resps"))
    while isinstance(reply, list) and len(reply) == 1:
        reply = reply[0]
    if not isinstance(reply, str):
        raise SampleLogError(f"{where}: no reply (filtered_resps) in it")
    return reply


def is_sample_log(path: str | Path) -> bool:
    """Whether a predictions file is an lmms-eval samples log (JSON lines) rather than a JSON list."""
    path = Path(path)
    return path.suffix == ".jsonl"


def write_task_folder(source: str, out: str | Path, *, name: str, video_root: str | Path | None = None, revision: str | None = None) -> list[Path]:
    """lmms-eval tasks `<name>_closed` and `<name>_open` over a benchmark: `docs.jsonl` (its
    rows, each with the absolute folder its videos are relative to and the benchmark it is a
    row of) and one YAML per mode.

    Raises:
        DatasetError: the benchmark cannot be loaded.
    """
    from viddiff.data.benchmark import read_rows

    rows, default_root = read_rows(source, revision)
    root = video_root or default_root
    root = str(Path(root).resolve()) if root else None
    origin = str(Path(source).resolve()) if Path(source).exists() else source
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    docs = out / "docs.jsonl"
    docs.write_text("".join(json.dumps({**_plain(row), ROOT_FIELD: root, SOURCE_FIELD: origin}) + "\n" for row in rows), encoding="utf-8")
    written = [docs]
    for mode in ("closed", "open"):
        path = out / f"{task_name(mode, name)}.yaml"
        path.write_text(
            f"# {mode} set of {source}, written by `viddiff export --benchmark`\n"
            f"task: {task_name(mode, name)}\n"
            "dataset_path: json\n"
            f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(docs))}\n"
            f"include: {json.dumps(str(TASKS_DIR / f'_viddiff_{mode}_template.yaml'))}\n",
            encoding="utf-8",
        )
        written.append(path)
    return written


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON can hold it (the Hub's thumbnails and other non-JSON columns left out)."""
    return {key: value for key, value in row.items() if _is_json(value)}


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
