import json
from fractions import Fraction

import dspy
import pytest
from scipy.stats import binomtest

from tests.lm.fake_engine import FakeEngine
from viddiff.data.records import Difference, Sample, VideoRef
from viddiff.evaluation import (
    PredictionsError,
    format_summary,
    metrics,
    parse_predictions,
    score_closed,
    score_open,
    score_published,
    write_evaluation,
)
from viddiff.programs import RecallMatcher, one_to_one


def make_sample(key, row_index, split, action, labels, n_open=None, domain="fitness"):
    differences = {k: Difference(k, f"name {k}", f"description {k} of {action}", "", "1") for k in labels}
    return Sample(
        sample_key=key,
        row_index=row_index,
        videos=(VideoRef("a.mp4", None, 30.0), VideoRef("b.mp4", None, 30.0)),
        action=action,
        action_name=action,
        action_description=f"doing {action}",
        split=split,
        domain=domain,
        source_dataset="test",
        sample_hash=row_index,
        differences=differences,
        labels=dict(labels),
        difference_keys=tuple(labels),
        retrieval_frames=({}, {}),
        n_differences_open=n_open if n_open is not None else len(labels),
    )


CLOSED_SAMPLES = [
    make_sample("s0", 0, "easy", "fitness_0", {"0": "a", "1": "b", "2": "c", "3": "a"}),
    make_sample("s1", 1, "easy", "fitness_3", {"0": "b", "1": "b"}),
    make_sample("s2", 3, "medium", "ballsports_0", {"0": "a"}, domain="ballsports"),
]
CLOSED_PREDICTIONS = [
    {"0": "a", "1": "a", "2": "b"},  # correct, wrong, (label c: not scored), key 3 missing
    {"0": {"description": "x", "prediction": "b"}, "1": {"description": "y", "prediction": "c"}},  # correct, predicted c
    None,  # a row not in the run
    {"0": {"description": "z", "prediction": "A"}},  # correct (case-insensitive)
]


def test_closed_accuracy_hand_computed():
    rows = parse_predictions(CLOSED_PREDICTIONS, n_rows=4)
    document = metrics(score_closed(CLOSED_SAMPLES, rows))
    easy, medium = document["splits"]["easy"], document["splits"]["medium"]
    assert {k: easy[k] for k in ("score", "n", "correct", "wrong", "missing", "predicted_c")} == {
        "score": 0.4, "n": 5, "correct": 2, "wrong": 1, "missing": 1, "predicted_c": 1
    }
    assert (medium["score"], medium["n"]) == (1.0, 1)
    assert document["avg"] == pytest.approx(0.7)  # unweighted mean of 0.4 and 1.0
    assert (document["overall"]["score"], document["overall"]["n"]) == (0.5, 6)
    # One-sided: P(X >= 2 | n=5) = 26/32, P(X >= 1 | n=1) = 1/2, P(X >= 3 | n=6) = 42/64.
    assert easy["p_value"] == pytest.approx(float(Fraction(26, 32)))
    assert medium["p_value"] == pytest.approx(0.5)
    assert document["overall"]["p_value"] == pytest.approx(float(Fraction(42, 64)))
    assert not easy["significant"]
    assert list(document["domains"]) == ["ballsports", "fitness"]
    assert document["actions"]["fitness_3"]["predicted_c"] == 1
    difference = document["differences"]["fitness_0/1"]
    assert (difference["name"], difference["n"], difference["correct"], difference["p_value"]) == ("name 1", 1, 0, 1.0)
    assert document["mode"] == "closed" and document["metric"] == "accuracy" and document["samples"]["scored"] == 3


def test_p_values_agree_with_scipy_and_mark_significance():
    samples = [make_sample(f"s{i}", i, "easy", "fitness_0", {"0": "a"}) for i in range(20)]
    rows = parse_predictions([{"0": "a"} if i < 15 else {"0": "b"} for i in range(20)], n_rows=20)
    document = metrics(score_closed(samples, rows))
    assert document["splits"]["easy"]["p_value"] == pytest.approx(binomtest(15, 20, 0.5, alternative="greater").pvalue)
    assert document["splits"]["easy"]["significant"] is True
    assert document["differences"]["fitness_0/0"]["p_value"] == pytest.approx(binomtest(15, 20, 0.5).pvalue)
    assert "easy" in format_summary(document) and "75.0" in format_summary(document)


def test_empty_groups_have_no_score():
    samples = [make_sample("s0", 0, "hard", "music_0", {"0": "c"})]
    document = metrics(score_closed(samples, parse_predictions([{}], n_rows=1)))
    assert document["splits"]["hard"] == {
        "score": None, "n": 0, "correct": 0, "p_value": None, "significant": False, "wrong": 0, "missing": 0, "predicted_c": 0
    }
    assert document["avg"] is None


OPEN_SAMPLE = make_sample("o0", 0, "easy", "fitness_0", {"0": "a", "1": "b", "2": "c", "3": "b"}, n_open=3)
OPEN_PREDICTIONS = [{f"p{i}": {"description": f"predicted {i}", "prediction": answer} for i, answer in enumerate("baaab")}]


def _scripted_matcher_engine():
    engine = FakeEngine()
    # The LM matches p0 twice and p3 (beyond N_diff, never shown to it); 2 (label c) takes p1.
    engine.script(lambda c: "matches" in c.output_fields, {"matches": {"0": "p0", "1": "p0", "2": "p1", "3": "p3"}})
    engine.script(lambda c: "opposite_keys" in c.output_fields, {"opposite_keys": ["0"]})
    return engine


def test_open_recall_hand_computed():
    engine = _scripted_matcher_engine()
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        evaluation = score_open([OPEN_SAMPLE], parse_predictions(OPEN_PREDICTIONS, n_rows=1), RecallMatcher())
    # gt 0 (a) <- p0 says b but states the opposite: flipped to a, correct. gt 1 (b): p0 already
    # used, unmatched. gt 3 (b) <- p3 is beyond N_diff = 3: unmatched. gt 2 is labelled c.
    (decision,) = evaluation.decisions
    assert decision["matches"] == {"0": "p0", "1": None, "2": "p1", "3": None}
    assert decision["opposites"] == ["0"]
    easy = metrics(evaluation)["splits"]["easy"]
    assert {k: easy[k] for k in ("score", "n", "correct", "unmatched", "matched_wrong", "share_unmatched", "share_matched_wrong")} == {
        "score": pytest.approx(1 / 3), "n": 3, "correct": 1, "unmatched": 2, "matched_wrong": 0,
        "share_unmatched": pytest.approx(2 / 3), "share_matched_wrong": 0.0,
    }
    match_call = next(c for c in engine.calls if "matches" in c.output_fields)
    assert '"p2": "predicted 2"' in match_call.last_user_text and "p3" not in match_call.last_user_text


def test_open_recall_matched_wrong_and_matcher_failure():
    engine = FakeEngine()
    engine.script(lambda c: "matches" in c.output_fields and "doing fitness_0" in c.last_user_text, {"matches": {"0": "p1", "1": "p2", "2": "none", "3": "none"}})
    engine.script(lambda c: "opposite_keys" in c.output_fields, {"opposite_keys": []})
    engine.script(lambda c: "matches" in c.output_fields, "not a parsable answer")
    other = make_sample("o1", 1, "easy", "fitness_3", {"0": "a"})
    rows = parse_predictions(OPEN_PREDICTIONS + [{"p0": {"description": "q", "prediction": "a"}}], n_rows=2)
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        evaluation = score_open([OPEN_SAMPLE, other], rows, RecallMatcher(), num_threads=1)
    document = metrics(evaluation)
    fitness_0 = document["actions"]["fitness_0"]
    # gt 0 (a) <- p1 (a): correct; gt 1 (b) <- p2 (a): matched wrong; gt 3 unmatched.
    assert (fitness_0["correct"], fitness_0["matched_wrong"], fitness_0["unmatched"]) == (1, 1, 1)
    assert document["actions"]["fitness_3"]["unmatched"] == 1
    assert evaluation.decisions[1]["error"].startswith("AdapterParseError")
    assert document["samples"]["matcher_errors"] == 1


def test_open_predictions_need_descriptions():
    with pytest.raises(PredictionsError, match="row 0, key '0': open-set predictions need a description"):
        score_open([OPEN_SAMPLE], parse_predictions([{"0": "a"}], n_rows=1), RecallMatcher())


def test_published_protocol_uses_the_runs_own_matches():
    records = {"o0": {"matches": {"0": "p0", "1": "p1", "2": None, "3": None}, "predictions": [
        {"key": "p0", "answer": "a"}, {"key": "p1", "answer": "a"},
    ]}}
    document = metrics(score_published([OPEN_SAMPLE], records))
    easy = document["splits"]["easy"]
    assert (easy["correct"], easy["matched_wrong"], easy["unmatched"]) == (1, 1, 1)
    assert document["protocol"] == "published"


def test_one_to_one_enforcement():
    raw = {"0": "p1", "1": "p1", "2": "None", "3": "p9", "4": " p2 "}
    assert one_to_one(raw, ["0", "1", "2", "3", "4", "5"], ["p1", "p2"]) == {
        "0": "p1", "1": None, "2": None, "3": None, "4": "p2", "5": None
    }


@pytest.mark.parametrize(
    "data, message",
    [
        ({"0": "a"}, "expected a JSON list aligned with the dataset rows"),
        ([{}], "has 1 entries but the dataset has 2 rows"),
        ([{"0": "x"}, {}], r"row 0, key '0': prediction must be 'a' or 'b'"),
        ([{}, {"1": 3}], r"row 1, key '1': expected"),
        ([{}, ["a"]], "row 1: expected an object keyed by difference"),
    ],
)
def test_malformed_predictions(data, message):
    with pytest.raises(PredictionsError, match=message):
        parse_predictions(data, n_rows=2)


def test_write_evaluation_files(tmp_path):
    evaluation = score_closed(CLOSED_SAMPLES, parse_predictions(CLOSED_PREDICTIONS, n_rows=4))
    document = write_evaluation(tmp_path, evaluation)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps(document))
    lines = (tmp_path / "splits.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["split", "score", "n", "correct"]
    assert lines[1].startswith("easy,0.4,5,2,")
    assert (tmp_path / "differences.csv").read_text().count("\n") == 1 + len(document["differences"])
    assert not (tmp_path / "matches.jsonl").exists()
