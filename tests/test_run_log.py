"""The run log: typed, versioned run directory files; create, resume, append and read back."""

import json

import pytest

from viddiff.config import LMConfig, RunConfig, default_lms
from viddiff.programs.records import DifferencePrediction
from viddiff.run_log import (
    MANIFEST_FILE,
    METRICS_FILE,
    OUTCOMES_FILE,
    PREDICTIONS_FILE,
    RECORDS_FILE,
    SCHEMA_VERSION,
    Manifest,
    Outcome,
    RunLog,
    RunLogError,
    SampleRecord,
    StageRecord,
    load_scored_run,
)

CONFIG = RunConfig(source="runs/synth", split=("easy",), limit=2)


def manifest(config=CONFIG, **fields):
    return Manifest(config=config.to_dict(), system="viddiff", sampling_rates={"fitness": 4.0, "ballsports": 5.0}, **fields)


def record(sample_key, row_index, **fields):
    return SampleRecord(**{"sample_key": sample_key, "row_index": row_index, "split": "easy", "domain": "fitness", "action": "squat", "status": "ok", **fields})


def outcome(sample_key, key, label, prediction, **fields):
    return Outcome(
        sample_key=sample_key, split="easy", domain="fitness", action="squat", key=key, name=f"name {key}", label=label,
        prediction=prediction, correct=label in ("a", "b") and prediction == label, **fields,
    )


FULL_RECORD = record(
    "s0",
    0,
    labels={"0": "a", "1": "b", "2": "a"},
    status="partial",
    predictions=[
        DifferencePrediction(
            key="0", name="depth", description="deeper squat", num_frames="gt_1", answer="a", rationale="knees lower",
            frames_a=(3, 4, 5), frames_b=(7, 8, 9), times_a=(0.75, 1.0, 1.25), times_b=(1.75, 2.0, 2.25),
        ),
        DifferencePrediction(key="1", name="speed", description="faster", num_frames="1", answer=None, error="TimeoutError: no answer"),
        DifferencePrediction(key="2", name="width", description="wider stance", num_frames="1", answer=None, unserved=True),
    ],
    stages=[StageRecord(name="descent", retrieval_strings=["bending knees"]), StageRecord(name="ascent", retrieval_strings=[])],
    links={"0": [0], "1": [0, 1]},
    segments=[[(0, 6), (6, 12)], None],
    localization_errors={"0": [0.25, None]},
    matches={"0": "p0", "1": None},
    usage={"openai/gpt-4o": {"prompt_tokens": 1200, "completion_tokens": 40}},
    cost_usd=None,
    seconds=12.5,
    warnings=["video B: decoding stopped at 3.9 s of 4.0 s"],
)


def test_records_are_written_and_read_back(tmp_path):
    log = RunLog(tmp_path / "run")
    log.create(manifest())
    later = record("s1", 1, error=None)
    log.append(FULL_RECORD)
    log.append(later)
    assert RunLog(tmp_path / "run").records() == {"s0": FULL_RECORD, "s1": later}
    read = RunLog(tmp_path / "run").records()["s0"]
    assert read.predictions[0].frames_a == (3, 4, 5) and read.predictions[2].unserved is True
    assert read.segments == [[(0, 6), (6, 12)], None]
    # A sample appended again (a resumed run retried it): its last line wins, in first-seen order.
    retried = FULL_RECORD.model_copy(update={"status": "ok", "seconds": 3.0})
    log.append(retried)
    assert list(log.records().items()) == [("s0", retried), ("s1", later)]
    assert len((tmp_path / "run" / RECORDS_FILE).read_text().splitlines()) == 3


def test_a_torn_last_line_is_dropped_before_the_next_append(tmp_path):
    log = RunLog(tmp_path)
    log.create(manifest())
    first, second, third = record("s0", 0), record("s1", 1), record("s2", 2)
    log.append(first)
    line = second.model_dump_json()
    with open(tmp_path / RECORDS_FILE, "a", encoding="utf-8") as f:
        f.write(line[: len(line) // 2])  # a crash cut the second record mid-JSON, before its newline
    assert log.records() == {"s0": first}  # the torn line is skipped
    assert RunLog(tmp_path).resume(CONFIG, manifest()) == {"s0": first}
    assert (tmp_path / RECORDS_FILE).read_text() == first.model_dump_json() + "\n"
    # The retried sample and the next one start on lines of their own, so neither is lost.
    log.append(second)
    log.append(third)
    assert log.records() == {"s0": first, "s1": second, "s2": third}


def test_resume_keeps_a_complete_last_line(tmp_path):
    log = RunLog(tmp_path)
    log.create(manifest())
    log.append(record("s0", 0))
    log.append(record("s1", 1))
    text = (tmp_path / RECORDS_FILE).read_text()
    assert set(log.resume(CONFIG, manifest())) == {"s0", "s1"}
    assert (tmp_path / RECORDS_FILE).read_text() == text


def test_resume_of_a_run_without_records(tmp_path):
    RunLog(tmp_path).create(manifest())
    assert RunLog(tmp_path).resume(CONFIG, manifest()) == {}
    assert not (tmp_path / RECORDS_FILE).exists()


def test_a_run_that_stopped_before_its_first_sample_is_created_again(tmp_path):
    RunLog(tmp_path).create(manifest(samples=2))
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST_FILE]
    again = RunLog(tmp_path)
    again.create(manifest(samples=5))  # no need to delete the folder first
    assert again.manifest().samples == 5
    again.append(record("s0", 0))
    assert set(again.records()) == {"s0"}


def test_a_run_that_crashed_while_writing_its_first_sample_is_created_again(tmp_path):
    RunLog(tmp_path).create(manifest())
    (tmp_path / RECORDS_FILE).write_text(record("s0", 0).model_dump_json()[:40])  # torn: no record was written
    log = RunLog(tmp_path)
    log.create(manifest())
    log.append(record("s0", 0))
    assert set(log.records()) == {"s0"}


def test_create_refuses_a_folder_that_holds_a_run(tmp_path):
    log = RunLog(tmp_path / "run")
    log.create(manifest())
    log.append(record("s0", 0))
    with pytest.raises(RunLogError, match=r"run: already holds a run; pass --resume to continue it, or another --out"):
        RunLog(tmp_path / "run").create(manifest())
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a run")
    with pytest.raises(RunLogError, match="--resume"):
        RunLog(tmp_path / "other").create(manifest())
    assert (tmp_path / "other" / "notes.txt").read_text() == "not a run"
    (tmp_path / "empty").mkdir()
    RunLog(tmp_path / "empty").create(manifest())  # an empty folder is fine
    assert (tmp_path / "empty" / MANIFEST_FILE).is_file()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"localization": "uniform"}, "localization"),
        ({"split": ("easy", "hard")}, "split"),
        ({"three_way": True, "seed": 3}, "seed, three_way"),
        ({"lms": {**default_lms(), "differencer": LMConfig(model="openai/gpt-4o-mini")}}, "lms"),
    ],
)
def test_resume_refuses_a_changed_config(tmp_path, changes, named):
    RunLog(tmp_path).create(manifest())
    changed = RunConfig(**{**vars(CONFIG), **changes})
    with pytest.raises(RunLogError, match=rf"cannot resume with a different {named}; start a new run with another --out$"):
        RunLog(tmp_path).resume(changed, manifest(changed))
    assert RunLog(tmp_path).manifest().config["limit"] == 2  # the manifest is left as it was


def test_a_run_saved_before_a_config_key_was_added_resumes(tmp_path):
    RunLog(tmp_path).create(manifest())
    RunLog(tmp_path).append(record("s0", 0))
    document = json.loads((tmp_path / MANIFEST_FILE).read_text())
    del document["config"]["max_images"], document["config"]["lms"]["baseline"]  # as an older viddiff wrote it
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(document))
    assert set(RunLog(tmp_path).resume(CONFIG, manifest())) == {"s0"}


def test_resume_with_a_larger_limit_rewrites_the_manifest(tmp_path):
    RunLog(tmp_path).create(manifest(provenance={"git": {"commit": "abc", "dirty": False}}, samples=2))
    RunLog(tmp_path).append(record("s0", 0))
    larger = RunConfig(**{**vars(CONFIG), "limit": 5, "sample_threads": 4, "difference_threads": 2, "cache_dir": "/elsewhere"})
    records = RunLog(tmp_path).resume(larger, manifest(larger, samples=5, provenance={"git": {"commit": "def", "dirty": True}}))
    assert set(records) == {"s0"}
    saved = RunLog(tmp_path).manifest()
    assert (saved.config["limit"], saved.config["sample_threads"], saved.config["cache_dir"], saved.samples) == (5, 4, "/elsewhere", 5)
    assert saved.run_config == larger
    assert saved.provenance == {"git": {"commit": "abc", "dirty": False}}  # where the run started


def test_manifest_round_trip(tmp_path):
    written = manifest(held_out=["s7", "s9"], program="compiled.json", samples=3, excluded=2, row_errors=1, provenance={"python": "3.11"})
    RunLog(tmp_path).create(written)
    read = RunLog(tmp_path).manifest()
    assert read == written.model_copy(update={"config": json.loads(json.dumps(written.config))})
    assert read.schema_version == SCHEMA_VERSION and read.run_config == CONFIG
    assert json.loads((tmp_path / MANIFEST_FILE).read_text())["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("version", [1, SCHEMA_VERSION + 1, None])
def test_another_schema_version_is_refused(tmp_path, version):
    RunLog(tmp_path).create(manifest())
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    data["schema_version"] = version
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(RunLogError) as error:
        RunLog(tmp_path).manifest()
    message = str(error.value)
    assert message == f"{tmp_path / MANIFEST_FILE}: schema_version {version!r} is not supported (this viddiff reads {SCHEMA_VERSION}); run it again"
    assert "\n" not in message
    with pytest.raises(RunLogError, match="is not supported"):
        RunLog(tmp_path).resume(CONFIG, manifest())


def test_folders_that_are_not_runs_say_so(tmp_path):
    with pytest.raises(RunLogError, match="nowhere: no such run directory"):
        RunLog(tmp_path / "nowhere").manifest()
    (tmp_path / "config.json").write_text("{}")  # an old run directory, or some other folder
    with pytest.raises(RunLogError, match=r"has no manifest.json; is it a run directory written by `viddiff run`\?"):
        load_scored_run(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(RunLogError, match="manifest.json: not valid JSON"):
        RunLog(tmp_path).manifest()
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"schema_version": SCHEMA_VERSION, "config": {}, "system": "viddiff"}))
    with pytest.raises(RunLogError, match=r"manifest.json: sampling_rates: Field required"):
        RunLog(tmp_path).manifest()


def test_outcomes_round_trip(tmp_path):
    outcomes = [
        outcome("s0", "0", "a", "a"),
        outcome("s0", "1", "b", None, error="TimeoutError: no answer"),
        outcome("s0", "2", "a", None, unserved=True),
        outcome("s0", "3", "c", "a"),
        outcome("s1", "0", "b", "b", matched_key="p2", flipped=True),
    ]
    log = RunLog(tmp_path)
    log.write_outcomes(outcomes)
    assert log.outcomes() == outcomes
    assert [(o.positive, o.counted, o.missing) for o in outcomes] == [
        (True, True, False), (True, True, True), (True, False, False), (False, False, False), (True, True, False)
    ]
    (tmp_path / OUTCOMES_FILE).write_text((tmp_path / OUTCOMES_FILE).read_text() + '{"sample_key": "s2"}\n')
    with pytest.raises(RunLogError, match=r"outcomes.jsonl, line 6: split: Field required"):
        log.outcomes()


def test_metrics_and_predictions_files(tmp_path):
    log = RunLog(tmp_path)
    log.write_metrics({"mode": "closed", "overall": {"n": 3}}, {"splits": "split,score\neasy,0.5\n"})
    assert json.loads((tmp_path / METRICS_FILE).read_text()) == {"schema_version": SCHEMA_VERSION, "mode": "closed", "overall": {"n": 3}}
    assert log.metrics()["overall"] == {"n": 3}
    assert (tmp_path / "splits.csv").read_text() == "split,score\neasy,0.5\n"
    (tmp_path / METRICS_FILE).write_text(json.dumps({"schema_version": 1, "mode": "closed"}))
    with pytest.raises(RunLogError, match=rf"metrics.json: not metrics of this viddiff's schema {SCHEMA_VERSION}; score the run again"):
        log.metrics()
    path = log.write_predictions([None, {"0": {"description": "déeper", "prediction": "a"}}])
    assert path == log.predictions_path == tmp_path / PREDICTIONS_FILE
    assert json.loads(path.read_text(encoding="utf-8")) == [None, {"0": {"description": "déeper", "prediction": "a"}}]
    assert "déeper" in path.read_text(encoding="utf-8")


def test_load_scored_run(tmp_path):
    log = RunLog(tmp_path)
    log.create(manifest())
    unreadable = SampleRecord(sample_key="bad", row_index=None, status="error", error="RowError: unreadable")
    for written in (unreadable, record("s2", 2), record("s0", 0)):
        log.append(written)
    with pytest.raises(RunLogError) as error:
        load_scored_run(tmp_path)
    assert str(error.value) == (
        f"{tmp_path} is not scored; finish and score it with `viddiff run --out {tmp_path} --resume`, "
        f"or `viddiff eval --run {tmp_path}`"
    )
    outcomes = [outcome("s0", "0", "a", "a"), outcome("s2", "0", "b", "a")]
    log.write_outcomes(outcomes)
    log.write_metrics({"mode": "closed"}, {})
    run = load_scored_run(tmp_path)
    assert [r.sample_key for r in run.records] == ["s0", "s2", "bad"]  # row order, unreadable rows last
    assert run.outcomes == outcomes and run.outcomes_of("s2") == outcomes[1:]
    assert (run.mode, run.config["source"], run.manifest.sampling_rates) == ("closed", "runs/synth", {"fitness": 4.0, "ballsports": 5.0})
    assert run.path == tmp_path
