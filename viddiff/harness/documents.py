"""The viddiff tasks of lmms-eval, as plain functions: a document (one benchmark row) to its
sample, its two trimmed clips, its prompt for any model, and a model's reply to viddiff's
outcomes and scores. The task folder's `utils.py` names these; nothing here imports lmms-eval.

A reply is one row of VidDiffBench's predictions format, as JSON: an object keyed by
difference, each `{"description": ..., "prediction": "a" | "b"}` (closed set: "a" or "b" alone
also works); `null` marks a document the system did not run (a compiled program's held-out
slice), left out of the score and counted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from viddiff.data.benchmark import DEFAULT_SOURCE, record_to_sample
from viddiff.data.records import SPLITS, Sample
from viddiff.errors import ViddiffError
from viddiff.evaluation.outcomes import group_scores
from viddiff.evaluation.predictions import PredictionsError, Row, SampleAnswers, parse_predictions
from viddiff.run_log import Outcome

MODE_FIELD = "viddiff_mode"
"""Added to every document by the task (`closed` or `open`): what the model is asked."""
ROOT_FIELD = "viddiff_video_root"
"""The folder the document's video paths are relative to; else $VIDDIFF_VIDEO_ROOT, else as given."""
SOURCE_FIELD = "viddiff_source"
"""The benchmark the document is a row of (a task folder's documents say; the shipped tasks' are
jmhb/VidDiffBench's): where a run of the documents records they came from."""
VIDEO_ROOT_VARIABLE = "VIDDIFF_VIDEO_ROOT"
MATCHER_VARIABLES = {"model": "VIDDIFF_MATCHER_LM", "api_base": "VIDDIFF_MATCHER_API_BASE", "api_key_env": "VIDDIFF_MATCHER_API_KEY_ENV"}
"""The open set's judge, from the environment (default: viddiff's matcher, openai/gpt-4o-2024-08-06)."""
CLIPS_VARIABLE = "VIDDIFF_CLIP_DIR"


class ReplyError(ViddiffError):
    """A model's reply is not a row of predictions."""


def with_mode(docs, mode: str):
    """The documents of a `datasets.Dataset`, each told the mode it is asked in (`process_docs`)."""
    return docs.map(lambda doc: {MODE_FIELD: mode})


def doc_sample(doc: Mapping[str, Any], doc_id: int) -> Sample:
    """The viddiff sample of a document (`doc_id`: its index in the split)."""
    return record_to_sample(doc, doc_id, video_root=doc_video_root(doc))


def doc_video_root(doc: Mapping[str, Any]) -> Path | None:
    root = doc.get(ROOT_FIELD) or os.environ.get(VIDEO_ROOT_VARIABLE)
    return Path(root) if root else None


def doc_source(doc: Mapping[str, Any]) -> str:
    return doc.get(SOURCE_FIELD) or DEFAULT_SOURCE


def doc_mode(doc: Mapping[str, Any]) -> str:
    mode = doc.get(MODE_FIELD)
    if mode not in ("closed", "open"):
        raise ViddiffError(f"document {doc.get('sample_key')!r} has no {MODE_FIELD}; load it through a viddiff task (viddiff_closed, viddiff_open)")
    return mode


def doc_prompt(doc: Mapping[str, Any]) -> str:
    """What any lmms-eval model is asked, after the two videos (A first, then B)."""
    sample = doc_sample(doc, 0)
    opening = (
        f"The two videos show two people performing the same action: {sample.action_description}\n"
        "The first video is video A, the second is video B.\n"
    )
    if doc_mode(doc) == "closed":
        statements = "\n".join(f'"{k}": {sample.differences[k].description}' for k in sample.labels if k in sample.differences)
        return (
            opening
            + "For each statement below, answer 'a' if it is more true of video A, 'b' if it is more true of video B.\n"
            + statements
            + '\nReply with a JSON object only, mapping each statement\'s key to "a" or "b", e.g. {"0": "a", "1": "b"}.'
        )
    return (
        opening
        + f"Name at most {sample.n_differences_open} visible differences in how they perform it, each phrased as a "
        "statement such as 'the squat is deeper', and say which video it is more true of.\n"
        'Reply with a JSON object only: {"0": {"description": "...", "prediction": "a" or "b"}, "1": ...}.'
    )


def doc_target(doc: Mapping[str, Any]) -> str:
    """The document's labels as JSON ({key: "a" | "b" | "c"}; closed set only; the open set is
    scored against them through the matcher)."""
    return json.dumps(doc_sample(doc, 0).labels, sort_keys=True)


def parse_reply(reply: str) -> Row | None:
    """A reply's row of predictions (None for `null`: not run), from the first JSON value in it
    (a model may wrap it in a Markdown fence or a sentence).

    Raises:
        ReplyError: no JSON object in it, or not in the predictions format.
    """
    text = reply.strip()
    if text == "null":
        return None
    found = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if found is None:
        raise ReplyError(f"reply holds no JSON object: {_short(text)}")
    try:
        data = json.loads(found.group(0))
    except json.JSONDecodeError as e:
        raise ReplyError(f"reply is not valid JSON ({e}): {_short(text)}") from e
    try:
        (row,) = parse_predictions([data], 1, source="reply")
    except PredictionsError as e:
        raise ReplyError(str(e)) from e
    return row


def reply_answers(reply: str) -> SampleAnswers | None:
    """What a reply answered (None: not run); a reply that cannot be read answers nothing and
    says why, so each of the document's differences counts as missing with that error."""
    try:
        row = parse_reply(reply)
    except ReplyError as e:
        return SampleAnswers({}, error=str(e))
    return None if row is None else SampleAnswers(row)


def process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, Any]:
    """One document's outcomes, scored by viddiff's scorer (open set: its matcher LM), under
    every metric of the task; each metric's aggregation reads the ones it needs."""
    mode = doc_mode(doc)
    sample = doc_sample(doc, 0)
    answers = reply_answers(results[0] if results else "null")
    outcomes = [] if answers is None else _scorer(mode).score(sample, answers)
    return document_metrics(sample.sample_key, mode, outcomes, not_run=answers is None)


def document_metrics(sample_key: str, mode: str, outcomes: Sequence[Outcome], *, not_run: bool = False) -> dict[str, Any]:
    """A document's value under each metric of the task: its outcomes (the aggregations score
    them) and `viddiff_score`, its own score."""
    item = {"sample_key": sample_key, "mode": mode, "not_run": not_run, "outcomes": [o.model_dump(mode="json") for o in outcomes]}
    return {**{f"viddiff_{name}": item for name in METRICS}, "viddiff_score": group_scores(outcomes, mode)["score"]}


METRICS = ("overall", *SPLITS, "avg")
"""The task's metrics besides `viddiff_score`: viddiff's score over every difference, per
split, and the published Avg (the mean of the three splits)."""


def aggregate(items: Sequence[Mapping[str, Any]], metric: str = "overall") -> float | None:
    """viddiff's score of the task's documents in percent (closed: accuracy; open: recall@N_diff):
    `overall`, one split, or `avg`; None when nothing is scored (or, for avg, a split is missing)."""
    from viddiff.evaluation.scoring import ClosedScorer, OpenScorer, Selection, metrics

    outcomes = [Outcome.model_validate(o) for item in items for o in item["outcomes"]]
    mode = items[0]["mode"] if items else "closed"
    protocol = (ClosedScorer if mode == "closed" else OpenScorer).protocol
    document = metrics(outcomes, mode=mode, protocol=protocol, selection=Selection(scored=sum(not i["not_run"] for i in items)))
    if metric == "overall":
        score = document["overall"]["score"]
    elif metric == "avg":
        score = document["avg"]
    else:
        score = document["splits"].get(metric, {}).get("score")
    return None if score is None else 100 * score


def aggregate_score(scores: Sequence[float | None]) -> float | None:
    """The mean per-document score in percent (documents with nothing scored left out): what
    lmms-eval's paired comparison (`--baseline`) pairs document by document."""
    scored = [s for s in scores if s is not None]
    return 100 * sum(scored) / len(scored) if scored else None


@functools.cache
def _scorer(mode: str):
    """viddiff's scorer of a mode; the open set's matcher LM is configured from the environment."""
    from viddiff.config import RunConfig, merge
    from viddiff.task import keys_for, lms_for, scorer_for

    matcher = {field: os.environ[name] for field, name in MATCHER_VARIABLES.items() if os.environ.get(name)}
    config = merge(RunConfig(mode=mode), {"lms": {"matcher": matcher}}).validate()
    roles = ("matcher",) if mode == "open" else ()
    return scorer_for(config, lms_for(config, keys_for(config, roles, os.environ)))


def doc_clips(doc: Mapping[str, Any]) -> list[str]:
    """The document's two videos, A then B, each trimmed as the row says and sampled at the
    baselines' rate for its domain, as MP4 files (written once to $VIDDIFF_CLIP_DIR, default
    ~/.cache/viddiff/clips): what any lmms-eval model is shown."""
    from viddiff.data.frame_cache import default_cache_dir
    from viddiff.data.sources import read_sample_frames
    from viddiff.programs.baselines import clip_bytes

    sample = doc_sample(doc, 0)
    folder = Path(os.environ.get(CLIPS_VARIABLE) or default_cache_dir().parent / "clips")
    paths = []
    for which in (0, 1):
        source = sample.video_path(which)
        if not source.exists():
            raise ViddiffError(f"{source}: no such video; set {VIDEO_ROOT_VARIABLE} to the folder the benchmark's video paths are relative to")
        stat = source.stat()
        ref = sample.videos[which]
        key = json.dumps([str(source.resolve()), stat.st_size, stat.st_mtime_ns, ref.frames_trim, ref.fps_original, sample.domain])
        path = folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.mp4"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(clip_bytes(read_sample_frames(sample, which, fps_table="baseline")))
            partial.replace(path)
        paths.append(str(path))
    return paths


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
