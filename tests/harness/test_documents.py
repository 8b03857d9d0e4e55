"""The viddiff task's functions on documents, without lmms-eval: prompt, reply parsing, scoring,
aggregation and the trimmed clips any model is shown."""

import json
from pathlib import Path

import av
import pytest

from viddiff.data.benchmark import load_benchmark
from viddiff.data.sources import read_sample_frames
from viddiff.errors import ViddiffError
from viddiff.evaluation.predictions import PredictedDifference, SampleAnswers
from viddiff.evaluation.scoring import ClosedScorer, Selection, metrics
from viddiff.harness.documents import (
    CLIPS_VARIABLE,
    MODE_FIELD,
    ReplyError,
    aggregate,
    aggregate_score,
    doc_clips,
    doc_mode,
    doc_prompt,
    doc_target,
    parse_reply,
    process_results,
    reply_answers,
)


def test_a_reply_is_the_first_json_object_in_it():
    assert parse_reply('Sure:\n```json\n{"0": "A", "3": {"description": "deeper", "prediction": "b"}}\n```') == {
        "0": PredictedDifference(None, "a"),
        "3": PredictedDifference("deeper", "b"),
    }
    assert parse_reply(" null ") is None
    with pytest.raises(ReplyError, match=r"^reply holds no JSON object: The answer is A\.$"):
        parse_reply("The answer is A.")
    with pytest.raises(ReplyError, match=r"^reply, row 0, key '1': prediction must be 'a' or 'b', got 'maybe'$"):
        parse_reply('{"1": "maybe"}')
    unreadable = reply_answers("I cannot tell.")
    assert unreadable.predictions == {} and unreadable.error == "reply holds no JSON object: I cannot tell."
    assert reply_answers("null") is None


def test_the_prompt_asks_each_labelled_statement_by_key(docs):
    doc = docs[0]
    labelled = json.loads(doc_target(doc))
    prompt = doc_prompt(doc)
    annotated = json.loads(doc["differences_annotated"])
    for key in labelled:
        assert f'"{key}": {annotated[key]["description"]}' in prompt
    assert prompt.startswith("The two videos show two people performing the same action: A person")
    assert prompt.endswith('Reply with a JSON object only, mapping each statement\'s key to "a" or "b", e.g. {"0": "a", "1": "b"}.')
    open_prompt = doc_prompt({**doc, MODE_FIELD: "open"})
    assert "Name at most" in open_prompt and '"prediction": "a" or "b"' in open_prompt
    with pytest.raises(ViddiffError, match="has no viddiff_mode; load it through a viddiff task"):
        doc_mode({k: v for k, v in doc.items() if k != MODE_FIELD})


def test_process_results_and_aggregation_give_viddiff_scores(docs, synth_dir):
    """Every difference answered 'a': the task's numbers are viddiff's metrics of the same answers."""
    bench = load_benchmark(synth_dir)
    replies = [json.dumps(dict.fromkeys(json.loads(doc_target(doc)), "a")) for doc in docs]
    replies[1] = "no idea"  # every labelled difference of sample 1 counts as missing
    results = [process_results(doc, [reply]) for doc, reply in zip(docs, replies)]
    answers = {s.sample_key: (SampleAnswers({}, error="x") if s.row_index == 1 else SampleAnswers(
        {k: PredictedDifference(None, "a") for k in s.labels})) for s in bench}
    outcomes = [o for s in bench for o in ClosedScorer().score(s, answers[s.sample_key])]
    expected = metrics(outcomes, mode="closed", protocol="closed", selection=Selection(scored=len(bench)))
    items = [r["viddiff_overall"] for r in results]
    assert aggregate(items) == pytest.approx(100 * expected["overall"]["score"])
    for split, group in expected["splits"].items():
        assert aggregate([r[f"viddiff_{split}"] for r in results], split) == pytest.approx(100 * group["score"])
    assert aggregate(items, "avg") == (None if expected["avg"] is None else pytest.approx(100 * expected["avg"]))
    missing = results[1]["viddiff_overall"]["outcomes"]
    assert missing and all(o["error"] == "reply holds no JSON object: no idea" and not o["correct"] for o in missing)
    # per document: the share of its labelled differences answered right
    a_share = [sum(label == "a" for label in json.loads(doc_target(d)).values() if label != "c") for d in docs]
    counted = [sum(label != "c" for label in json.loads(doc_target(d)).values()) for d in docs]
    assert [r["viddiff_score"] for r in results] == [0.0 if i == 1 else a / n for i, (a, n) in enumerate(zip(a_share, counted))]
    assert aggregate_score([0.5, None, 1.0]) == 75.0 and aggregate_score([None]) is None


def test_a_document_not_run_is_left_out(docs):
    result = process_results(docs[0], ["null"])
    assert result["viddiff_overall"]["not_run"] and result["viddiff_overall"]["outcomes"] == []
    assert result["viddiff_score"] is None and aggregate([result["viddiff_overall"]]) is None


def test_each_model_sees_the_two_trimmed_clips_at_the_baselines_rate(docs, synth_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(CLIPS_VARIABLE, str(tmp_path / "clips"))
    sample = load_benchmark(synth_dir)[0]
    paths = doc_clips(docs[0])
    assert len(paths) == 2 and all(p.endswith(".mp4") for p in paths)
    for which, path in enumerate(paths):
        expected = read_sample_frames(sample, which, fps_table="baseline")
        with av.open(path) as container:
            stream = container.streams.video[0]
            frames = [f for f in container.decode(stream)]
            assert len(frames) == len(expected)
            assert float(stream.average_rate) == pytest.approx(expected.fps, rel=1e-3)
    stamps = [p.stat().st_mtime_ns for p in map(Path, paths)]
    assert doc_clips(docs[0]) == paths  # written once
    assert [p.stat().st_mtime_ns for p in map(Path, paths)] == stamps
    with pytest.raises(ViddiffError, match="no such video; set VIDDIFF_VIDEO_ROOT"):
        doc_clips({**docs[0], "viddiff_video_root": str(tmp_path / "elsewhere")})
