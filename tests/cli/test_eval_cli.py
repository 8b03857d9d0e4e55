"""Scoring: `viddiff run` scores itself, `viddiff eval` scores any predictions the same way."""

import csv
import json

import pytest

from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import input_json, scripted_engine, scripted_engine_with_matcher
from viddiff.cli import main
from viddiff.data.synth import generate_benchmark


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "synth"
    generate_benchmark(out, pairs=6, seed=31, progress=False)
    return out


def _labels(synth_dir):
    rows = [json.loads(line) for line in (synth_dir / "dataset.jsonl").read_text().splitlines()]
    return [{k: v for k, v in json.loads(r["differences_gt"]).items() if v is not None} for r in rows], rows


def _run(synth_dir, out, server, tmp_path, *extra):
    return main([
        "run", str(synth_dir), "--out", str(out), "--localization", "uniform", "--lm", "openai/test-model",
        "--api-base", server.api_base, "--cache-dir", str(tmp_path / "cache"), *extra,
    ])


def test_closed_run_scores_itself_and_eval_agrees(synth_dir, tmp_path, capsys):
    out = tmp_path / "run"
    with loopback_server(scripted_engine(choice="first")) as server:  # the differencer always answers "a"
        assert _run(synth_dir, out, server, tmp_path) == 0
    labels, rows = _labels(synth_dir)
    positives = [label for row in labels for label in row.values() if label in "ab"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["n"] == len(positives)
    assert metrics["overall"]["score"] == pytest.approx(positives.count("a") / len(positives))
    for split, group in metrics["splits"].items():
        split_labels = [l for row, r in zip(labels, rows) if r["split"] == split for l in row.values() if l in "ab"]
        assert group["correct"] == split_labels.count("a") and group["n"] == len(split_labels)
    assert metrics["samples"] == {"scored": 6, "with_errors": 0, "excluded": 0, "excluded_because": None, "matcher_errors": 0}
    assert metrics["usage"]["tokens"] > 0
    with open(out / "actions.csv") as f:
        assert {row["action"] for row in csv.DictReader(f)} == {r["action"] for r in rows}
    assert "accuracy (closed set)" in capsys.readouterr().out

    assert main(["eval", str(out / "predictions.json"), "--dataset", str(synth_dir), "--mode", "closed", "--out", str(tmp_path / "eval")]) == 0
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert again["splits"] == metrics["splits"] and again["differences"] == metrics["differences"]


def test_eval_accepts_the_closed_shorthand(synth_dir, tmp_path, capsys):
    labels, _ = _labels(synth_dir)
    shorthand = [{k: ("b" if v == "a" else "a") for k, v in row.items()} for row in labels]  # every a/b wrong
    path = tmp_path / "shorthand.json"
    path.write_text(json.dumps(shorthand))
    assert main(["eval", str(path), "--dataset", str(synth_dir), "--mode", "closed"]) == 0
    metrics = json.loads((tmp_path / "shorthand-eval" / "metrics.json").read_text())
    assert metrics["overall"]["score"] == 0.0 and metrics["overall"]["wrong"] == metrics["overall"]["n"]
    path.write_text(json.dumps(shorthand[:2]))
    assert main(["eval", str(path), "--dataset", str(synth_dir), "--mode", "closed"]) == 2
    assert "has 2 entries but the dataset has 6 rows" in capsys.readouterr().err


def test_open_run_matches_after_deciding(synth_dir, tmp_path):
    out = tmp_path / "run"
    with loopback_server(scripted_engine_with_matcher(choice="first")) as server:
        assert _run(synth_dir, out, server, tmp_path, "--mode", "open") == 0
        decided = sum(1 for c in server.calls if "answer" in c.output_fields)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "open" and metrics["protocol"] == "verify-then-match" and metrics["metric"] == "recall@N_diff"
    decisions = [json.loads(line) for line in (out / "matches.jsonl").read_text().splitlines()]
    assert len(decisions) == 6 and all(d["error"] is None for d in decisions)
    # Three proposals per sample (the fake proposer's, repaired), all decided.
    assert decided == 6 * 3
    labels, _ = _labels(synth_dir)
    # In-order matching: the first three ground-truth keys of each sample get a prediction ("a").
    expected = sum(1 for row in labels for i, label in enumerate(row.values()) if i < 3 and label == "a")
    assert metrics["overall"]["correct"] == expected


def test_published_protocol_decides_only_matched_proposals(synth_dir, tmp_path):
    def first_key_only(call):
        """Matches the first ground-truth difference to proposal "0", nothing else."""
        return {"matches": {k: ("0" if i == 0 else "none") for i, k in enumerate(input_json(call, "ground_truth"))}}

    engine = scripted_engine(choice="first")
    engine.script(lambda c: "matches" in c.output_fields, first_key_only)
    out = tmp_path / "run"
    with loopback_server(engine) as server:
        assert _run(synth_dir, out, server, tmp_path, "--mode", "open", "--open-protocol", "published") == 0
        decided = sum(1 for c in server.calls if "answer" in c.output_fields)
        opposite_checks = sum(1 for c in server.calls if "opposite_keys" in c.output_fields)
    assert decided == 6 and opposite_checks == 0  # one matched proposal per sample; no opposite check
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"] == "published"
    labels, _ = _labels(synth_dir)
    assert metrics["overall"]["correct"] == sum(1 for row in labels if list(row.values())[0] == "a")
