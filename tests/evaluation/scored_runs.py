"""Scored run directories built through the run log and the real scorers, for comparison tests."""

from types import SimpleNamespace

from tests.evaluation.test_scoring import make_sample
from viddiff.config import RunConfig
from viddiff.evaluation.predictions import SampleAnswers
from viddiff.evaluation.scoring import ClosedScorer, OpenScorer, Selection, metrics, write_scores
from viddiff.programs.records import DifferencePrediction
from viddiff.run_log import Manifest, RunLog, SampleRecord

GROUPS = {"s1": ("easy", "squat"), "s2": ("easy", "squat"), "s3": ("medium", "lunge"), "s4": ("hard", "lunge")}


def write_run(path, labels, answers, *, config=None, matches=None, unserved=None, groups=GROUPS):
    """A scored run directory: manifest and records through the run log, outcomes and metrics
    from the real scorer (closed; or, when `matches` is given, open with a scripted matcher).

    Args:
        labels: {sample_key: {difference key: label}}; a sample without answers was not run.
        answers: {sample_key: {predicted key: answer or None (undecided)}}.
        matches: {sample_key: (matches, opposites)}, what the matcher answers per sample.
        unserved: {sample_key: [difference keys the localization could not place]}.
    """
    config = config or RunConfig(mode="open" if matches is not None else "closed", source="runs/synth")
    unserved = unserved or {}
    log = RunLog(path)
    log.create(Manifest(config=config.to_dict(), system="viddiff", sampling_rates={"fitness": 4.0}, program=config.program))
    samples, records = [], {}
    for row, (sample_key, sample_labels) in enumerate(labels.items()):
        if sample_key not in answers:
            continue
        split, action = groups[sample_key]
        sample = make_sample(sample_key, row, split, action, sample_labels)
        predictions = [
            DifferencePrediction(key=k, name=k, description=f"{k} of {action}", num_frames="1", answer=v, error=None if v else "TimeoutError: x")
            for k, v in answers[sample_key].items()
        ] + [
            DifferencePrediction(key=k, name=k, description=f"{k} of {action}", num_frames="1", answer=None, unserved=True)
            for k in unserved.get(sample_key, ())
        ]
        record = SampleRecord(
            sample_key=sample_key, row_index=row, split=split, domain=sample.domain, action=action, labels=sample_labels,
            status="ok" if all(p.answer or p.unserved for p in predictions) else "partial", predictions=predictions,
        )
        log.append(record)
        samples.append(sample)
        records[sample_key] = record
    scorers = {s.sample_key: ClosedScorer() if matches is None else OpenScorer(_scripted_matcher(*matches[s.sample_key])) for s in samples}
    outcomes = [o for s in samples for o in scorers[s.sample_key].score(s, SampleAnswers.from_record(records[s.sample_key]))]
    scorer = ClosedScorer() if matches is None else OpenScorer(None)
    document = metrics(outcomes, mode=scorer.mode, protocol=scorer.protocol, selection=Selection(scored=len(samples)))
    write_scores(path, outcomes, document)
    return path


def _scripted_matcher(matches, opposites):
    """A matcher that answers as the LLM matcher would, with fixed matches and opposites."""
    return lambda action_description, ground_truth, predicted: SimpleNamespace(matches=matches, opposites=opposites)
