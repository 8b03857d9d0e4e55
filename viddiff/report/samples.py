"""A few samples shown in full: the frames each difference was judged on, and answer against label."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from viddiff.contact_sheet import contact_sheet
from viddiff.data.benchmark import load_benchmark
from viddiff.data.records import Sample
from viddiff.data.sources import read_sample_frames
from viddiff.errors import ViddiffError
from viddiff.programs.records import DifferencePrediction
from viddiff.report.tables import Table
from viddiff.run_dir import ScoredRun

OPPOSITE = {"a": "b", "b": "a"}


@dataclass(frozen=True)
class SampleView:
    """One chosen sample: its contact sheet, or why there is none, and each prediction's answer."""

    record: Mapping[str, Any]
    sheet_png: bytes | None
    problem: str | None
    """Why the frames cannot be shown (a missing video, a benchmark that does not load)."""
    answers: Table


def choose_records(records: Sequence[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    """The first `count` samples in row order that finished without an error and have predictions."""
    return [r for r in records if r.get("status") == "ok" and r.get("predictions")][:count]


def sample_views(run: ScoredRun, count: int) -> list[SampleView]:
    """Views of the chosen samples, their videos decoded as the run decoded them."""
    chosen = choose_records(run.records, count)
    if not chosen:
        return []
    source = run.config.get("source")
    try:
        if source is None:
            raise ViddiffError("config.json names no benchmark source")
        bench = load_benchmark(source, video_root=run.config.get("video_root"), revision=run.config.get("revision"))
    except ViddiffError as e:
        return [SampleView(r, None, f"benchmark not loaded: {e}", answer_table(run, r)) for r in chosen]
    samples = {s.sample_key: s for s in bench}
    views = []
    for record in chosen:
        sheet, problem = _sheet_png(run, record, samples.get(record["sample_key"]))
        views.append(SampleView(record, sheet, problem, answer_table(run, record)))
    return views


def answer_table(run: ScoredRun, record: Mapping[str, Any]) -> Table:
    """Each prediction's answer against its label (open set: the label of the matched ground truth)."""
    predictions = [DifferencePrediction.from_dict(p) for p in record["predictions"]]
    labels: Mapping[str, str] = record.get("labels") or {}
    if run.mode == "closed":
        rows = [
            (p.key, p.description, _answer_text(p), labels.get(p.key, "–"), _agreement(p.answer, labels.get(p.key)))
            for p in predictions
        ]
        return Table(("key", "difference", "answer", "label", "agrees"), rows)
    decision = run.decisions.get(record["sample_key"], {})
    matched = {prediction: truth for truth, prediction in (decision.get("matches") or {}).items() if prediction}
    opposites = set(decision.get("opposites") or ())
    rows = []
    for p in predictions:
        truth = matched.get(p.key)
        if truth is None:
            rows.append((p.key, p.description, _answer_text(p), "unmatched", ""))
            continue
        answer = OPPOSITE.get(p.answer or "", p.answer) if truth in opposites else p.answer
        note = " (states the opposite: answer flipped)" if truth in opposites else ""
        label = labels.get(truth)
        rows.append(
            (p.key, p.description, _answer_text(p), f"{truth}: {label or '–'}{note}", _agreement(answer, label))
        )
    return Table(("key", "proposed difference", "answer", "matched ground truth: label", "agrees"), rows)


def _sheet_png(run: ScoredRun, record: Mapping[str, Any], sample: Sample | None) -> tuple[bytes | None, str | None]:
    """The contact sheet as PNG, or None and the reason it cannot be drawn."""
    if sample is None:
        return None, f"sample {record['sample_key']} is not in the benchmark {run.config.get('source')}"
    predictions = [DifferencePrediction.from_dict(p) for p in record["predictions"]]
    try:
        videos = tuple(
            read_sample_frames(sample, which, fps=run.config.get("fps"), size=run.config.get("image_size"))
            for which in (0, 1)
        )
        sheet = contact_sheet(videos, predictions)
    except ViddiffError as e:
        return None, str(e)
    except IndexError:
        return (
            None,
            "the recorded frame indices lie outside the decoded frames; were the videos or fps changed since the run?",
        )
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue(), None


def _answer_text(prediction: DifferencePrediction) -> str:
    if prediction.error:
        return f"error: {prediction.error}"
    return prediction.answer or "undecided"


def _agreement(answer: str | None, label: str | None) -> str:
    if label is None:
        return ""
    return "yes" if answer == label else "no"
