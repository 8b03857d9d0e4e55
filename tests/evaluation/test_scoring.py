"""Scoring: the scorers of each protocol turn answers into outcomes, and outcomes into metrics,
summaries and files; predictions in the benchmark's format are parsed and written."""

import csv
import io
import json
from fractions import Fraction
from types import SimpleNamespace

import dspy
import pytest
from scipy.stats import binomtest

from tests.lm.fake_engine import FakeEngine
from viddiff.data.records import Difference, Sample, VideoRef
from viddiff.evaluation import (
    ClosedScorer,
    OpenScorer,
    PredictedDifference,
    PredictionsError,
    PublishedScorer,
    SampleAnswers,
    Selection,
    format_summary,
    metrics,
    parse_predictions,
    score_samples,
    to_benchmark_format,
    write_scores,
)
from viddiff.evaluation.scoring import NOT_PREDICTED, average_text, headline
from viddiff.programs import RecallMatcher, one_to_one
from viddiff.programs.records import DifferencePrediction
from viddiff.run_log import SCHEMA_VERSION, Outcome, RunLog, SampleRecord


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


def answers_of(samples, rows):
    """SampleAnswers of each sample whose benchmark row has predictions (as `viddiff eval` builds them)."""
    return {s.sample_key: SampleAnswers(rows[s.row_index]) for s in samples if rows[s.row_index] is not None}


def closed_document(samples, rows, **selection):
    outcomes = score_samples(ClosedScorer(), samples, answers_of(samples, rows))
    selection = Selection(**{"scored": len(answers_of(samples, rows)), **selection})
    return outcomes, metrics(outcomes, mode="closed", protocol="closed", selection=selection)


def prediction(key, answer=None, *, error=None, unserved=False, description=None):
    return DifferencePrediction(
        key=key, name=key, description=description or f"description {key}", num_frames="1", answer=answer, error=error, unserved=unserved
    )


CLOSED_SAMPLES = [
    make_sample("s0", 0, "easy", "fitness_0", {"0": "a", "1": "b", "2": "c", "3": "a"}),
    make_sample("s1", 1, "easy", "fitness_3", {"0": "b", "1": "b"}),
    make_sample("s2", 3, "medium", "ballsports_0", {"0": "a"}, domain="ballsports"),
]
CLOSED_PREDICTIONS = [
    {"0": "a", "1": "a", "2": "b"},  # correct, wrong, (label c: not scored), key 3 not predicted
    {"0": {"description": "x", "prediction": "b"}, "1": {"description": "y", "prediction": "c"}},  # correct, predicted c
    None,  # a row not in the run
    {"0": {"description": "z", "prediction": "A"}},  # correct (case-insensitive)
]


# Closed set


def test_closed_outcomes_one_per_ground_truth_difference():
    rows = parse_predictions(CLOSED_PREDICTIONS, n_rows=4)
    outcomes = ClosedScorer().score(CLOSED_SAMPLES[0], SampleAnswers(rows[0]))
    assert [(o.key, o.name, o.label, o.prediction, o.correct, o.error, o.counted, o.missing) for o in outcomes] == [
        ("0", "name 0", "a", "a", True, None, True, False),
        ("1", "name 1", "b", "a", False, None, True, False),
        ("2", "name 2", "c", "b", False, None, False, False),  # label c: in no denominator
        ("3", "name 3", "a", None, False, NOT_PREDICTED, True, True),
    ]
    assert {(o.sample_key, o.split, o.domain, o.action, o.matched_key, o.flipped, o.unserved) for o in outcomes} == {
        ("s0", "easy", "fitness", "fitness_0", None, False, False)
    }


def test_closed_accuracy_hand_computed():
    _, document = closed_document(CLOSED_SAMPLES, parse_predictions(CLOSED_PREDICTIONS, n_rows=4))
    easy, medium, overall = document["splits"]["easy"], document["splits"]["medium"], document["overall"]
    # One-sided: P(X >= 2 | n=5) = 26/32, P(X >= 1 | n=1) = 1/2, P(X >= 3 | n=6) = 42/64.
    assert easy == {
        "score": 0.4, "n": 5, "correct": 2, "missing": 1, "answered": 0.8, "unserved": 0,
        "p_value": pytest.approx(float(Fraction(26, 32))), "significant": False, "wrong": 1, "predicted_c": 1,
    }
    assert (medium["score"], medium["n"], medium["missing"], medium["answered"], medium["p_value"]) == (1.0, 1, 0, 1.0, 0.5)
    assert (overall["score"], overall["n"], overall["correct"], overall["missing"]) == (0.5, 6, 3, 1)
    assert overall["answered"] == pytest.approx(5 / 6)
    assert overall["p_value"] == pytest.approx(float(Fraction(42, 64)))
    assert list(document["splits"]) == ["easy", "medium"]
    assert list(document["domains"]) == ["ballsports", "fitness"]
    assert document["actions"]["fitness_3"]["predicted_c"] == 1
    difference = document["differences"]["fitness_0/1"]
    # Per difference the test is two-sided: 0 of 1 right, p = 1.
    assert (difference["action"], difference["key"], difference["name"], difference["n"], difference["correct"], difference["p_value"]) == (
        "fitness_0", "1", "name 1", 1, 0, 1.0
    )
    assert "fitness_0/2" in document["differences"] and document["differences"]["fitness_0/2"]["n"] == 0
    assert (document["mode"], document["metric"], document["protocol"]) == ("closed", "accuracy", "closed")
    assert document["samples"] == {
        "scored": 3, "with_errors": 0, "excluded": 0, "excluded_because": None,
        "not_predicted": 0, "not_predicted_counted": False, "row_errors": 0,
    }
    assert document["usage"] == {"tokens": 0, "cost_usd": None}


def test_avg_only_when_easy_medium_and_hard_are_all_scored():
    _, document = closed_document(CLOSED_SAMPLES, parse_predictions(CLOSED_PREDICTIONS, n_rows=4))
    # Easy and medium only: no published Avg; the mean of what was scored, labelled as such.
    assert document["avg"] is None
    assert document["mean_of_scored_splits"] == {"score": pytest.approx(0.7), "splits": ["easy", "medium"]}
    assert average_text(document) == "mean of scored splits (easy, medium): 70.0 (not the published Avg, which needs all three)"
    assert average_text(document) in format_summary(document)

    samples = CLOSED_SAMPLES + [make_sample("s3", 4, "hard", "music_0", {"0": "b", "1": "a"}, domain="music")]
    rows = parse_predictions(CLOSED_PREDICTIONS + [{"0": "b", "1": "b"}], n_rows=5)
    _, document = closed_document(samples, rows)
    # Unweighted mean of easy 0.4, medium 1.0 and hard 0.5 (not the overall 4/8).
    assert document["avg"] == pytest.approx(1.9 / 3)
    assert document["mean_of_scored_splits"] == {"score": pytest.approx(1.9 / 3), "splits": ["easy", "medium", "hard"]}
    assert document["overall"]["score"] == 0.5
    assert average_text(document) == "avg over easy, medium, hard: 63.3"


def test_p_values_agree_with_scipy_and_mark_significance():
    samples = [make_sample(f"s{i}", i, "easy", "fitness_0", {"0": "a"}) for i in range(20)]
    rows = parse_predictions([{"0": "a"} if i < 15 else {"0": "b"} for i in range(20)], n_rows=20)
    _, document = closed_document(samples, rows)
    easy = document["splits"]["easy"]
    assert easy["p_value"] == pytest.approx(binomtest(15, 20, 0.5, alternative="greater").pvalue)
    assert easy["significant"] is True
    assert document["differences"]["fitness_0/0"]["p_value"] == pytest.approx(binomtest(15, 20, 0.5).pvalue)
    summary = format_summary(document)
    assert headline(document) == "accuracy (closed set): 75.0% of 20 differences, 0 missing (100.0% answered)"
    easy_row = next(line for line in summary.splitlines() if line.startswith("easy "))
    assert easy_row.split() == ["easy", "75.0", "20", "0", "100.0%", "0.021", "*"]
    assert "(* one-sided binomial p < 0.05 against 50%; missing answers count as wrong)" in summary


def test_empty_groups_have_no_score():
    samples = [make_sample("s0", 0, "hard", "music_0", {"0": "c"})]
    _, document = closed_document(samples, parse_predictions([{}], n_rows=1))
    assert document["splits"]["hard"] == {
        "score": None, "n": 0, "correct": 0, "missing": 0, "answered": None, "unserved": 0,
        "p_value": None, "significant": False, "wrong": 0, "predicted_c": 0,
    }
    assert document["avg"] is None and document["mean_of_scored_splits"] is None
    assert average_text(document) == "avg: - (nothing scored)"


# Unserved and missing answers


def test_unserved_differences_leave_n_and_are_counted_apart():
    samples = [
        make_sample("s0", 0, "easy", "fitness_0", {"0": "a", "1": "b", "2": "a", "3": "c"}),
        make_sample("s1", 1, "easy", "fitness_0", {"0": "b", "1": "a"}),
    ]
    answers = {
        # 0 right, 1 unserved (oracle: no key point), 2 wrong, 3 (label c) unserved: neither counted.
        "s0": SampleAnswers.from_predictions(
            [prediction("0", "a"), prediction("1", unserved=True), prediction("2", "b"), prediction("3", unserved=True)]
        ),
        "s1": SampleAnswers.from_predictions([prediction("0", "b"), prediction("1", unserved=True)]),
    }
    assert answers["s0"].unserved == frozenset({"1", "3"}) and "1" not in answers["s0"].difference_errors
    outcomes = score_samples(ClosedScorer(), samples, answers)
    unserved = [o for o in outcomes if o.unserved]
    assert [(o.sample_key, o.key, o.prediction, o.error, o.counted, o.missing) for o in unserved] == [
        ("s0", "1", None, None, False, False),
        ("s0", "3", None, None, False, False),
        ("s1", "1", None, None, False, False),
    ]
    document = metrics(outcomes, mode="closed", protocol="closed", selection=Selection(scored=2))
    overall = document["overall"]
    # Served: s0/0 (right), s0/2 (wrong), s1/0 (right). Unserved a/b: s0/1, s1/1 (the c label is in no count).
    assert {k: overall[k] for k in ("score", "n", "correct", "missing", "answered", "unserved", "wrong")} == {
        "score": pytest.approx(2 / 3), "n": 3, "correct": 2, "missing": 0, "answered": 1.0, "unserved": 2, "wrong": 1,
    }
    assert overall["p_value"] == pytest.approx(0.5)  # P(X >= 2 | n=3) = 4/8
    assert document["differences"]["fitness_0/1"]["n"] == 0 and document["differences"]["fitness_0/1"]["unserved"] == 2
    assert headline(document) == (
        "accuracy (closed set): 66.7% of 3 differences, 0 missing (100.0% answered); "
        "served 3/5 (the rest could not be localized)"
    )


def test_missing_answers_carry_their_error():
    samples = [
        make_sample("s0", 0, "easy", "fitness_0", {"0": "a", "1": "b", "2": "a"}),
        make_sample("s1", 1, "medium", "fitness_3", {"0": "a", "1": "b"}),
    ]
    answers = {
        "s0": SampleAnswers.from_predictions(
            [prediction("0", "a"), prediction("1", error="TimeoutError: the differencer did not answer")]
        ),  # 2 has no prediction at all
        "s1": SampleAnswers({}, error="RuntimeError: video unreadable"),
    }
    outcomes = score_samples(ClosedScorer(), samples, answers)
    assert [(o.sample_key, o.key, o.correct, o.error) for o in outcomes] == [
        ("s0", "0", True, None),
        ("s0", "1", False, "TimeoutError: the differencer did not answer"),
        ("s0", "2", False, NOT_PREDICTED),
        ("s1", "0", False, "RuntimeError: video unreadable"),
        ("s1", "1", False, "RuntimeError: video unreadable"),
    ]
    document = metrics(outcomes, mode="closed", protocol="closed", selection=Selection(scored=2, with_errors=2))
    overall = document["overall"]
    assert {k: overall[k] for k in ("score", "n", "correct", "missing", "answered", "wrong")} == {
        "score": 0.2, "n": 5, "correct": 1, "missing": 4, "answered": pytest.approx(0.2), "wrong": 0,
    }
    assert (document["splits"]["medium"]["missing"], document["splits"]["medium"]["answered"]) == (2, 0.0)
    warning = (
        "WARNING: 4 of 5 answers are missing: this score measures failures of the run, not the model "
        "(see the errors in records.jsonl)"
    )
    assert headline(document) == f"accuracy (closed set): 20.0% of 5 differences, 4 missing (20.0% answered)\n{warning}"
    summary = format_summary(document)
    assert summary.startswith(headline(document) + "\n")
    medium_row = next(line for line in summary.splitlines() if line.startswith("medium "))
    assert medium_row.split() == ["medium", "0.0", "2", "2", "0.0%", "1.000"]


def test_half_missing_is_no_warning():
    samples = [make_sample("s0", 0, "easy", "fitness_0", {"0": "a", "1": "b"})]
    outcomes, document = closed_document(samples, parse_predictions([{"0": "a"}], n_rows=1))
    assert [o.missing for o in outcomes] == [False, True]
    assert headline(document) == "accuracy (closed set): 50.0% of 2 differences, 1 missing (50.0% answered)"


def test_rows_without_predictions_are_named_in_the_headline():
    rows = parse_predictions(CLOSED_PREDICTIONS, n_rows=4)
    outcomes = score_samples(ClosedScorer(), CLOSED_SAMPLES, answers_of(CLOSED_SAMPLES, rows))
    left_out = metrics(outcomes, mode="closed", protocol="closed", selection=Selection(scored=3, not_predicted=2))
    assert headline(left_out).endswith("; 2 benchmark rows have no prediction (left out)")
    counted = metrics(outcomes, mode="closed", protocol="closed", selection=Selection(scored=3, not_predicted=2, not_predicted_counted=True))
    assert headline(counted).endswith("; 2 benchmark rows have no prediction (scored as wrong)")


# Open set, verify-then-match

OPEN_SAMPLE = make_sample("o0", 0, "easy", "fitness_0", {"0": "a", "1": "b", "2": "c", "3": "b"}, n_open=3)
OPEN_PREDICTIONS = [{f"p{i}": {"description": f"predicted {i}", "prediction": answer} for i, answer in enumerate("baaab")}]


def _scripted_matcher_engine():
    engine = FakeEngine()
    # The LM matches p0 twice and p3 (beyond N_diff, never shown to it); 2 (label c) takes p1.
    engine.script(lambda c: "matches" in c.output_fields, {"matches": {"0": "p0", "1": "p0", "2": "p1", "3": "p3"}})
    engine.script(lambda c: "opposite_keys" in c.output_fields, {"opposite_keys": ["0"]})
    return engine


def _open_document(outcomes, protocol="verify-then-match", scored=1):
    return metrics(outcomes, mode="open", protocol=protocol, selection=Selection(scored=scored))


def test_open_recall_hand_computed():
    engine = _scripted_matcher_engine()
    rows = parse_predictions(OPEN_PREDICTIONS, n_rows=1)
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        outcomes = score_samples(OpenScorer(RecallMatcher()), [OPEN_SAMPLE], answers_of([OPEN_SAMPLE], rows))
    # gt 0 (a) <- p0 says b but states the opposite: flipped to a, correct. gt 1 (b): p0 already
    # used, unmatched. gt 2 is labelled c (matched to p1, not counted). gt 3 (b) <- p3 is beyond
    # N_diff = 3: unmatched.
    assert [(o.key, o.matched_key, o.prediction, o.flipped, o.correct, o.error) for o in outcomes] == [
        ("0", "p0", "a", True, True, None),
        ("1", None, None, False, False, None),
        ("2", "p1", "a", False, False, None),
        ("3", None, None, False, False, None),
    ]
    document = _open_document(outcomes)
    assert (document["mode"], document["metric"], document["protocol"]) == ("open", "recall@N_diff", "verify-then-match")
    assert document["splits"]["easy"] == {
        "score": pytest.approx(1 / 3), "n": 3, "correct": 1, "missing": 0, "answered": 1.0, "unserved": 0,
        "p_value": None, "significant": False, "unmatched": 2, "matched_wrong": 0,
        "share_unmatched": pytest.approx(2 / 3), "share_matched_wrong": 0.0,
    }
    match_call = next(c for c in engine.calls if "matches" in c.output_fields)
    assert '"p2": "predicted 2"' in match_call.last_user_text and "p3" not in match_call.last_user_text


def test_open_recall_has_no_test_against_chance():
    # 20 of 20 recalled: a closed score like this would be starred; recall has no chance level.
    samples = [make_sample(f"o{i}", i, "easy", "fitness_0", {"0": "a"}) for i in range(20)]
    answers = {s.sample_key: SampleAnswers({"p0": PredictedDifference("d", "a")}) for s in samples}
    matcher = lambda action, ground_truth, predicted: SimpleNamespace(matches={"0": "p0"}, opposites=[])  # noqa: E731
    outcomes = score_samples(OpenScorer(matcher), samples, answers, num_threads=1)
    document = _open_document(outcomes, scored=20)
    groups = [document["overall"], *document["splits"].values(), *document["domains"].values(), *document["actions"].values(), *document["differences"].values()]
    assert len(groups) == 5 and all(g["score"] == 1.0 and g["n"] == 20 for g in groups)
    assert all(g["p_value"] is None and g["significant"] is False for g in groups)
    summary = format_summary(document)
    assert headline(document) == "recall@N_diff (open set, verify-then-match protocol): 100.0% of 20 differences, 0 missing (100.0% answered)"
    easy_row = next(line for line in summary.splitlines() if line.startswith("easy "))
    assert easy_row.split() == ["easy", "100.0", "20", "0", "100.0%", "-"]
    assert "*" not in summary
    assert "(recall has no chance level: no test against 50%; missing answers count as unmatched)" in summary


def test_open_recall_matched_wrong_and_matcher_failure():
    engine = FakeEngine()
    engine.script(
        lambda c: "matches" in c.output_fields and "doing fitness_0" in c.last_user_text,
        {"matches": {"0": "p1", "1": "p2", "2": "none", "3": "none"}},
    )
    engine.script(lambda c: "opposite_keys" in c.output_fields, {"opposite_keys": []})
    engine.script(lambda c: "matches" in c.output_fields, "not a parsable answer")
    other = make_sample("o1", 1, "easy", "fitness_3", {"0": "a"})
    rows = parse_predictions(OPEN_PREDICTIONS + [{"p0": {"description": "q", "prediction": "a"}}], n_rows=2)
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        outcomes = score_samples(OpenScorer(RecallMatcher()), [OPEN_SAMPLE, other], answers_of([OPEN_SAMPLE, other], rows), num_threads=1)
    # gt 0 (a) <- p1 (a): correct; gt 1 (b) <- p2 (a): matched wrong; gt 3 unmatched.
    assert [(o.sample_key, o.key, o.matched_key, o.prediction, o.correct, o.error) for o in outcomes[:4]] == [
        ("o0", "0", "p1", "a", True, None),
        ("o0", "1", "p2", "a", False, None),
        ("o0", "2", None, None, False, None),
        ("o0", "3", None, None, False, None),
    ]
    (failed,) = outcomes[4:]
    assert (failed.sample_key, failed.matched_key, failed.prediction, failed.correct, failed.missing) == ("o1", None, None, False, True)
    assert failed.error.startswith("matcher failed: AdapterParseError")
    document = _open_document(outcomes, scored=2)
    fitness_0, fitness_3 = document["actions"]["fitness_0"], document["actions"]["fitness_3"]
    assert (fitness_0["correct"], fitness_0["matched_wrong"], fitness_0["unmatched"], fitness_0["missing"]) == (1, 1, 1, 0)
    # The failed matcher call is a missing answer, not an unmatched one.
    assert (fitness_3["n"], fitness_3["unmatched"], fitness_3["matched_wrong"], fitness_3["missing"], fitness_3["answered"]) == (1, 0, 0, 1, 0.0)
    overall = document["overall"]
    assert (overall["score"], overall["n"], overall["missing"], overall["answered"]) == (0.25, 4, 1, 0.75)


def test_open_sample_error_is_missing_without_a_matcher_call():
    def matcher(*args):
        raise AssertionError("the matcher must not be called for a failed sample")

    outcomes = OpenScorer(matcher).score(OPEN_SAMPLE, SampleAnswers({}, error="RuntimeError: boom"))
    assert [(o.key, o.error, o.counted, o.missing) for o in outcomes] == [
        ("0", "RuntimeError: boom", True, True),
        ("1", "RuntimeError: boom", True, True),
        ("2", "RuntimeError: boom", False, True),
        ("3", "RuntimeError: boom", True, True),
    ]
    assert _open_document(outcomes)["overall"]["missing"] == 3


def test_open_sample_whose_every_decision_failed_is_missing():
    def matcher(*args):
        raise AssertionError("nothing decided: the matcher must not be called")

    answers = SampleAnswers.from_predictions([prediction(f"p{i}", error="TimeoutError: no answer") for i in range(3)])
    outcomes = OpenScorer(matcher).score(OPEN_SAMPLE, answers)
    assert [(o.key, o.missing, o.error) for o in outcomes if o.counted] == [
        (key, True, "no proposal was decided: TimeoutError: no answer") for key in ("0", "1", "3")
    ]
    assert "WARNING: 3 of 3 answers are missing" in headline(_open_document(outcomes))


def test_open_difference_matched_to_an_undecided_proposal_is_missing():
    seen = []

    def matcher(action_description, ground_truth, predicted):
        seen.append(sorted(predicted))
        return SimpleNamespace(matches={"0": "p0", "1": "p1"}, opposites=[])

    # p1's decision failed: it still takes its place among the first N_diff = 3 proposals, so p3 is not shown.
    answers = SampleAnswers.from_predictions(
        [prediction("p0", "a"), prediction("p1", error="TimeoutError: no answer"), prediction("p2", "b"), prediction("p3", "b")]
    )
    outcomes = OpenScorer(matcher).score(OPEN_SAMPLE, answers)
    assert seen == [["p0", "p1", "p2"]]
    assert [(o.key, o.matched_key, o.prediction, o.correct, o.error) for o in outcomes] == [
        ("0", "p0", "a", True, None),
        ("1", "p1", None, False, "TimeoutError: no answer"),
        ("2", None, None, False, None),
        ("3", None, None, False, None),
    ]
    overall = _open_document(outcomes)["overall"]
    assert (overall["correct"], overall["missing"], overall["unmatched"], overall["n"]) == (1, 1, 1, 3)


def test_open_predictions_need_descriptions():
    with pytest.raises(PredictionsError, match="row 0, key '0': open-set predictions need a description"):
        score_samples(OpenScorer(RecallMatcher()), [OPEN_SAMPLE], answers_of([OPEN_SAMPLE], parse_predictions([{"0": "a"}], n_rows=1)))


# Open set, published protocol


def test_published_protocol_uses_the_runs_own_matches():
    record = SampleRecord(
        sample_key="o0", row_index=0, status="ok", matches={"0": "p0", "1": "p1", "2": None, "3": None},
        predictions=[prediction("p0", "a"), prediction("p1", "a")],
    )
    outcomes = PublishedScorer().score(OPEN_SAMPLE, SampleAnswers.from_record(record))
    # 0 (a) <- p0 (a): right; 1 (b) <- p1 (a): matched wrong; 3 unmatched; no opposite check.
    assert [(o.key, o.matched_key, o.prediction, o.flipped, o.correct, o.error) for o in outcomes] == [
        ("0", "p0", "a", False, True, None),
        ("1", "p1", "a", False, False, None),
        ("2", None, None, False, False, None),
        ("3", None, None, False, False, None),
    ]
    document = _open_document(outcomes, protocol="published")
    easy = document["splits"]["easy"]
    assert (easy["correct"], easy["matched_wrong"], easy["unmatched"], easy["missing"], easy["p_value"]) == (1, 1, 1, 0, None)
    assert document["protocol"] == "published"
    assert headline(document).startswith("recall@N_diff (open set, published protocol): 33.3% of 3 differences")


def test_published_protocol_missing_matches_and_failed_differences():
    record = SampleRecord(
        sample_key="o0", row_index=0, status="partial", matches={"0": "p0", "1": "p1", "2": None, "3": None},
        predictions=[prediction("p0", "a"), prediction("p1", error="TimeoutError: no answer")],
    )
    outcomes = PublishedScorer().score(OPEN_SAMPLE, SampleAnswers.from_record(record))
    assert [(o.key, o.matched_key, o.prediction, o.error) for o in outcomes] == [
        ("0", "p0", "a", None),
        ("1", "p1", None, "TimeoutError: no answer"),  # matched, but its difference failed: missing
        ("2", None, None, None),
        ("3", None, None, None),
    ]
    unmatched = SampleRecord(sample_key="o0", row_index=0, status="ok", predictions=[prediction("p0", "a")])
    outcomes = PublishedScorer().score(OPEN_SAMPLE, SampleAnswers.from_record(unmatched))
    assert {o.error for o in outcomes} == {"no matches recorded (run with --open-protocol published)"}
    assert _open_document(outcomes, protocol="published")["overall"]["missing"] == 3
    # A match to a proposal the localization could not place is left out; one to a proposal with
    # no prediction at all is missing, not matched-wrong.
    odd = SampleRecord(
        sample_key="o0", row_index=0, status="ok", matches={"0": "p0", "1": "p7", "2": None, "3": "p2"},
        predictions=[prediction("p0", "a"), prediction("p2", unserved=True)],
    )
    outcomes = PublishedScorer().score(OPEN_SAMPLE, SampleAnswers.from_record(odd))
    assert [(o.key, o.matched_key, o.error, o.unserved, o.counted) for o in outcomes] == [
        ("0", "p0", None, False, True),
        ("1", "p7", "no prediction for this difference", False, True),
        ("2", None, None, False, False),
        ("3", "p2", None, True, False),
    ]
    overall = _open_document(outcomes, protocol="published")["overall"]
    assert (overall["n"], overall["correct"], overall["missing"], overall["unserved"]) == (2, 1, 1, 1)
    failed = SampleRecord(sample_key="o0", row_index=0, status="error", error="RuntimeError: boom")
    assert {o.error for o in PublishedScorer().score(OPEN_SAMPLE, SampleAnswers.from_record(failed))} == {"RuntimeError: boom"}


def test_one_to_one_enforcement():
    raw = {"0": "p1", "1": "p1", "2": "None", "3": "p9", "4": " p2 "}
    assert one_to_one(raw, ["0", "1", "2", "3", "4", "5"], ["p1", "p2"]) == {
        "0": "p1", "1": None, "2": None, "3": None, "4": "p2", "5": None
    }


# Predictions in the benchmark's format


@pytest.mark.parametrize(
    "data, message",
    [
        ({"0": "a"}, "expected a JSON list aligned with the dataset rows"),
        ([{}], "has 1 entries but the dataset has 2 rows"),
        ([{"0": "x"}, {}], r"row 0, key '0': prediction must be 'a' or 'b'"),
        ([{}, {"1": 3}], r"row 1, key '1': expected"),
        ([{}, ["a"]], "row 1: expected an object keyed by difference"),
        ([{"0": {"description": 7, "prediction": "a"}}, {}], r"row 0, key '0': description must be a string"),
    ],
)
def test_malformed_predictions(data, message):
    with pytest.raises(PredictionsError, match=message):
        parse_predictions(data, n_rows=2)


def test_a_null_row_is_not_run_and_an_empty_row_has_no_predictions():
    rows = parse_predictions([None, {}, {"0": "B", "1": {"description": "d", "prediction": None}}], n_rows=3)
    assert rows == [
        None,
        {},
        {"0": PredictedDifference(None, "b"), "1": PredictedDifference("d", None)},
    ]
    samples = [make_sample(f"s{i}", i, "easy", "fitness_0", {"0": "a"}) for i in range(3)]
    outcomes, document = closed_document(samples, rows)
    # The null row is not scored; the empty row is, and its difference has no prediction.
    assert [(o.sample_key, o.error) for o in outcomes] == [("s1", NOT_PREDICTED), ("s2", None)]
    assert (document["overall"]["n"], document["overall"]["missing"], document["samples"]["scored"]) == (2, 1, 2)


def test_to_benchmark_format_writes_null_for_rows_without_a_record():
    records = [
        SampleRecord(
            sample_key="s2", row_index=2, status="partial",
            predictions=[prediction("0", "a"), prediction("1", error="TimeoutError: x"), prediction("2", unserved=True)],
        ),
        SampleRecord(sample_key="s0", row_index=0, status="ok", predictions=[]),
        SampleRecord(sample_key="bad", row_index=None, status="error", error="RowError: unreadable"),
    ]
    rows = to_benchmark_format(records, 4)
    assert rows == [{}, None, {"0": {"description": "description 0", "prediction": "a"}}, None]
    # It parses back: the same rows, the undecided differences left out.
    assert parse_predictions(json.loads(json.dumps(rows)), n_rows=4) == [{}, None, {"0": PredictedDifference("description 0", "a")}, None]


# Files


def test_write_scores_files(tmp_path):
    outcomes, document = closed_document(CLOSED_SAMPLES, parse_predictions(CLOSED_PREDICTIONS, n_rows=4))
    write_scores(tmp_path, outcomes, document)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps({"schema_version": SCHEMA_VERSION, **document}))
    log = RunLog(tmp_path)
    assert log.outcomes() == outcomes and log.metrics()["overall"]["n"] == 6
    splits = list(csv.reader(io.StringIO((tmp_path / "splits.csv").read_text())))
    assert splits[0] == ["split", "score", "n", "correct", "missing", "answered", "unserved", "p_value", "significant", "wrong", "predicted_c"]
    assert splits[1] == ["easy", "0.4", "5", "2", "1", "0.8", "0", "0.8125", "False", "1", "1"]
    assert splits[2][:3] == ["medium", "1.0", "1"] and len(splits) == 3
    actions = list(csv.reader(io.StringIO((tmp_path / "actions.csv").read_text())))
    assert [row[0] for row in actions] == ["action", "ballsports_0", "fitness_0", "fitness_3"]
    differences = list(csv.reader(io.StringIO((tmp_path / "differences.csv").read_text())))
    assert len(differences) == 1 + len(document["differences"]) == 1 + 7
    assert differences[0][0] == "difference" and differences[0][-3:] == ["action", "key", "name"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actions.csv", "differences.csv", "metrics.json", "outcomes.jsonl", "splits.csv"]


def test_outcomes_are_what_the_scorer_decided(tmp_path):
    """Metrics are computed from outcomes only: the same outcomes read back give the same metrics."""
    outcomes, document = closed_document(CLOSED_SAMPLES, parse_predictions(CLOSED_PREDICTIONS, n_rows=4))
    write_scores(tmp_path, outcomes, document)
    again = metrics(RunLog(tmp_path).outcomes(), mode="closed", protocol="closed", selection=Selection(scored=3))
    assert again == document
    assert all(isinstance(o, Outcome) for o in outcomes)
