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
    assert metrics["samples"] == {
        "scored": 6, "with_errors": 0, "excluded": 0, "excluded_because": None, "not_predicted": 0,
        "not_predicted_counted": False, "row_errors": 0,
    }
    assert metrics["usage"]["tokens"] > 0
    with open(out / "actions.csv") as f:
        assert {row["action"] for row in csv.DictReader(f)} == {r["action"] for r in rows}
    assert "accuracy (closed set)" in capsys.readouterr().out

    assert main(["eval", str(out / "predictions.json"), "--dataset", str(synth_dir), "--mode", "closed", "--out", str(tmp_path / "eval")]) == 0
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert again["splits"] == metrics["splits"] and again["differences"] == metrics["differences"]
    assert (tmp_path / "eval" / "outcomes.jsonl").read_text() == (out / "outcomes.jsonl").read_text()

    # Rescoring the run from its records gives the same outcomes.
    before = (out / "outcomes.jsonl").read_text()
    assert main(["eval", "--run", str(out)]) == 0
    assert (out / "outcomes.jsonl").read_text() == before


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
    outcomes = [json.loads(line) for line in (out / "outcomes.jsonl").read_text().splitlines()]
    assert {o["sample_key"] for o in outcomes} == {r["sample_key"] for r in _labels(synth_dir)[1]}
    assert all(o["error"] is None and not o["flipped"] for o in outcomes)
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


def test_eval_of_a_limit_run_scores_the_rows_present_and_says_how_many_are_not(synth_dir, tmp_path, capsys):
    labels, rows = _labels(synth_dir)
    partial = [{k: "a" for k in row} if i < 2 else None for i, row in enumerate(labels)]  # rows 2-5 not run
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(partial))
    assert main(["eval", str(path), "--dataset", str(synth_dir), "--mode", "closed"]) == 0
    captured = capsys.readouterr()
    assert "4 of 6 benchmark rows have no prediction and are left out of the score" in captured.err
    metrics = json.loads((tmp_path / "partial-eval" / "metrics.json").read_text())
    scored = [label for row in labels[:2] for label in row.values() if label in "ab"]
    assert metrics["overall"]["n"] == len(scored) and metrics["overall"]["correct"] == scored.count("a")
    assert metrics["samples"]["scored"] == 2 and metrics["samples"]["not_predicted"] == 4
    assert "4 benchmark rows have no prediction (left out)" in captured.out

    assert main(["eval", str(path), "--dataset", str(synth_dir), "--mode", "closed", "--missing-as-wrong"]) == 0
    counted = json.loads((tmp_path / "partial-eval" / "metrics.json").read_text())
    every = [label for row in labels for label in row.values() if label in "ab"]
    assert counted["overall"]["n"] == len(every) and counted["overall"]["correct"] == scored.count("a")
    assert counted["overall"]["missing"] == len(every) - len(scored)


def test_eval_refuses_both_or_neither_input(synth_dir, capsys):
    assert main(["eval", "--dataset", str(synth_dir), "--mode", "closed"]) == 2
    assert "give PREDICTIONS (with --mode) or --run RUN_DIR" in capsys.readouterr().err
