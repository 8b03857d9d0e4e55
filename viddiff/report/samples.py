"""A few samples shown in full: the frames each difference was judged on, and answer against label."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from viddiff.contact_sheet import contact_sheet
from viddiff.data.benchmark import load_benchmark
from viddiff.data.records import Sample
from viddiff.errors import ViddiffError
from viddiff.programs.records import DifferencePrediction
from viddiff.report.tables import Table
from viddiff.run_log import Outcome, SampleRecord, ScoredRun
from viddiff.systems import read_videos, system_for


@dataclass(frozen=True)
class SampleView:
    """One chosen sample: its contact sheet, or why there is none, and each prediction's answer."""

    record: SampleRecord
    sheet_png: bytes | None
    problem: str | None
    """Why the frames cannot be shown (a missing video, a benchmark that does not load)."""
    answers: Table


def choose_records(records: Sequence[SampleRecord], count: int) -> list[SampleRecord]:
    """The first `count` samples in row order that finished without an error and have predictions."""
    return [r for r in records if r.status == "ok" and r.predictions][:count]


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
        sheet, problem = _sheet_png(run, record, samples.get(record.sample_key))
        views.append(SampleView(record, sheet, problem, answer_table(run, record)))
    return views


def answer_table(run: ScoredRun, record: SampleRecord) -> Table:
    """Each prediction's answer against its label, as the scorer decided it (open set: the
    ground-truth difference it was matched to, and whether the answer was flipped)."""
    outcomes = run.outcomes_of(record.sample_key)
    if run.mode == "closed":
        by_key = {o.key: o for o in outcomes}
        rows = [(p.key, p.description, _answer_text(p), *_label_and_agreement(by_key.get(p.key))) for p in record.predictions]
        return Table(("key", "difference", "answer", "label", "agrees"), rows)
    by_match = {o.matched_key: o for o in outcomes if o.matched_key is not None}
    rows = []
    for p in record.predictions:
        outcome = by_match.get(p.key)
        if outcome is None:
            rows.append((p.key, p.description, _answer_text(p), "unmatched", ""))
            continue
        label, agrees = _label_and_agreement(outcome)
        note = " (states the opposite: answer flipped)" if outcome.flipped else ""
        rows.append((p.key, p.description, _answer_text(p), f"{outcome.key}: {label}{note}", agrees))
    return Table(("key", "proposed difference", "answer", "matched ground truth: label", "agrees"), rows)


def _sheet_png(run: ScoredRun, record: SampleRecord, sample: Sample | None) -> tuple[bytes | None, str | None]:
    """The contact sheet as PNG, or None and the reason it cannot be drawn."""
    if sample is None:
        return None, f"sample {record.sample_key} is not in the benchmark {run.config.get('source')}"
    predictions = record.predictions
    try:
        videos = read_videos(sample, run.manifest.run_config, fps_table=system_for(run.manifest.system).fps_table)
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


def _label_and_agreement(outcome: Outcome | None) -> tuple[str, str]:
    """The label, and whether the scored answer agrees: blank when the difference is not scored."""
    if outcome is None:
        return "–", ""
    if not outcome.positive:
        return outcome.label, "not scored (label c)"
    if outcome.unserved:
        return outcome.label, "not scored (unserved)"
    return outcome.label, "yes" if outcome.correct else "no"
