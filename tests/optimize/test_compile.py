"""Compiling on the synthetic benchmark with the schema-aware test LM, saving, reloading, running."""

import json
import signal

import dspy
import pytest

from tests.evaluation.test_scoring import make_sample
from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from viddiff.cli import main
from viddiff.config import RunConfig
from viddiff.data import load_benchmark
from viddiff.data.synth import generate_benchmark
from viddiff.optimize import (
    CompileSettings,
    ProgramError,
    closed_metric,
    compile_program,
    load_compiled,
    program_metadata,
    sample_examples,
    select_held_out,
)
from viddiff.optimize.compile import CompileInterrupted
from viddiff.programs import DifferencePrediction, VidDiff
from viddiff.retrieval import FrameLocalizer


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("compile") / "synth"
    generate_benchmark(out, pairs=12, seed=41, progress=False)
    return out


def _lm_args(server, tmp_path):
    return ["--localization", "uniform", "--lm", "openai/test-model", "--api-base", server.api_base, "--cache-dir", str(tmp_path / "cache")]


def _compile(synth_dir, server, tmp_path, optimizer, *extra):
    out = tmp_path / f"{optimizer}.json"
    args = ["compile", str(synth_dir), "--mode", "closed", "--optimizer", optimizer, "--out", str(out),
            "--held-out-fraction", "0.75", "--trials", "2", "--candidates", "2", *_lm_args(server, tmp_path), *extra]
    assert main(args) == 0
    return out


SECRET = "sk-compile-SECRET-0123456789"


@pytest.mark.parametrize("optimizer", ["instructions", "fewshot"])
def test_compile_save_reload_run_without_the_slice(synth_dir, tmp_path, optimizer, capsys, monkeypatch):
    monkeypatch.setenv("VIDDIFF_TEST_KEY", SECRET)
    with loopback_server(scripted_engine(choice="hash")) as server:
        program_path = _compile(synth_dir, server, tmp_path, optimizer, "--api-key-env", "VIDDIFF_TEST_KEY")
        assert {r.authorization for r in server.completion_requests()} == {f"Bearer {SECRET}"}
        assert SECRET not in program_path.read_text()  # the key reaches the server, never the saved program
        compile_requests = server.completion_requests()
        printed = capsys.readouterr().out
        assert "held-out slice: 3 samples to learn from, 3 to select on, 3 untouched" in printed
        assert "accuracy on the validation part (candidates were selected on it):" in printed
        assert "accuracy on the test part (never seen while compiling):" in printed
        assert "(3 samples; sample-level sign-flip test p = " in printed

        # Images stay bounded (at most 3 + 3 frames, plus one demo's) and never enter text prompts.
        assert max(len(r.image_urls) for r in compile_requests) <= 6 * 2
        assert not any("base64" in c.prompt for c in server.calls)

        metadata = program_metadata(program_path)
        assert metadata["variant"] == {"mode": "closed", "three_way": False, "chain_of_thought": False}
        assert metadata["dspy_version"] == dspy.__version__
        assert metadata["optimizer"]["optimizer"] == optimizer and metadata["optimizer"]["stages"] == ["differencer"]
        parts = {part: set(metadata["held_out"][part]) for part in ("train", "validation", "test")}
        assert [len(p) for p in parts.values()] == [3, 3, 3]  # one of each action's 4 samples in each part
        assert not parts["test"] & (parts["train"] | parts["validation"]) and not parts["train"] & parts["validation"]
        held_out = set().union(*parts.values())
        assert metadata["lms"]["differencer"]["api_base"] == server.api_base
        assert metadata["scores"]["metric"] == "accuracy"
        assert [(p["part"], p["samples"]) for p in metadata["scores"]["parts"]] == [("validation", 3), ("test", 3)]

        run_dir = tmp_path / "run"
        assert main(["run", str(synth_dir), "--out", str(run_dir), "--program", str(program_path), *_lm_args(server, tmp_path), "--api-key-env", "VIDDIFF_TEST_KEY"]) == 0
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert len(records) == 3 and not {r["sample_key"] for r in records} & held_out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["samples"]["excluded"] == 9 and metrics["samples"]["scored"] == 3
    assert sorted(json.loads((run_dir / "manifest.json").read_text())["held_out"]) == sorted(held_out)
    assert str(program_path) in metrics["samples"]["excluded_because"]
    predictions = json.loads((run_dir / "predictions.json").read_text())
    rows = [json.loads(line) for line in (synth_dir / "dataset.jsonl").read_text().splitlines()]
    assert all(predictions[i] is None for i, row in enumerate(rows) if row["sample_key"] in held_out)

    # Scoring any predictions of the compiled program leaves its slice out: beside the run's
    # manifest, or given the program.
    every_row = [{k: "a" for k, v in json.loads(row["differences_gt"]).items() if v} for row in rows]
    for path, extra in ((run_dir / "all.json", []), (tmp_path / "all.json", ["--program", str(program_path)])):
        path.write_text(json.dumps(every_row))
        assert main(["eval", str(path), "--dataset", str(synth_dir), "--mode", "closed", *extra]) == 0
        scored = json.loads((path.parent / "all-eval" / "metrics.json").read_text())["samples"]
        assert (scored["excluded"], scored["scored"]) == (9, 3)


def test_only_the_chosen_stages_change(synth_dir, tmp_path):
    with loopback_server(scripted_engine(choice="hash")) as server:
        program_path = _compile(synth_dir, server, tmp_path, "instructions", "--stages", "differencer")
    saved = json.loads(program_path.read_text())
    default = VidDiff(FrameLocalizer("uniform"))
    assert saved["differencer.compare"]["signature"]["instructions"] != default.differencer.compare.signature.instructions
    for frozen in ("proposer.propose", "planner.plan", "linker.link"):
        predictor = dict(default.named_predictors())[frozen]
        assert saved[frozen]["signature"]["instructions"] == predictor.signature.instructions
        assert saved[frozen]["demos"] == []


def _sample_examples(synth_dir):
    bench = load_benchmark(synth_dir, actions=["synth_squat"])
    config = RunConfig(source=str(synth_dir), localization="uniform")
    return sample_examples(bench.samples, config, None)


def test_fewshot_demos_are_capped_saved_and_reloaded(synth_dir, tmp_path):
    examples = _sample_examples(synth_dir)
    engine = scripted_engine()
    program = VidDiff(FrameLocalizer("uniform"))
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        compiled = compile_program(
            program, CompileSettings("fewshot", max_demos=1), trainset=examples, valset=examples,
            metric=lambda example, pred, trace=None: True,
        )
    demos = compiled.differencer.compare.demos
    assert len(demos) == 1 and all(isinstance(image, dspy.Image) for image in demos[0]["frames_a"])
    assert compiled.planner.plan.demos == []  # frozen: the planner is not among the chosen stages
    path = tmp_path / "program.json"
    compiled.save(str(path))
    reloaded = VidDiff(FrameLocalizer("uniform"))
    reloaded.load(str(path))
    assert len(reloaded.differencer.compare.demos) == 1
    # Running with the demo: each differencer call carries the demo's frames, then its own.
    engine.calls.clear()
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        reloaded(**examples[0].inputs())
    differencer_calls = [c for c in engine.calls if "answer" in c.output_fields]
    demo_images = len(demos[0]["frames_a"]) + len(demos[0]["frames_b"])
    assert all(len(c.image_urls) > demo_images for c in differencer_calls)


def test_closed_metric_hand_computed():
    sample = make_sample("s", 0, "easy", "fitness_0", {"0": "a", "1": "b", "2": "c", "3": "a"})
    example = dspy.Example(sample=sample)
    answers = {"0": "a", "1": "a", "2": "b", "3": None}
    pred = dspy.Prediction(predictions=[DifferencePrediction(k, k, k, "1", v) for k, v in answers.items()])
    assert closed_metric(example, pred) == pytest.approx(1 / 3)  # of a/b labels 0, 1, 3 only 0 is right
    assert closed_metric(example, pred, trace=[]) is False
    right = dspy.Prediction(predictions=[DifferencePrediction(k, k, k, "1", v) for k, v in {"0": "a", "1": "b", "3": "a"}.items()])
    assert closed_metric(example, right) == 1.0 and closed_metric(example, right, trace=[]) is True


def test_loading_refuses_another_mode_version_or_benchmark(synth_dir, tmp_path):
    with loopback_server(scripted_engine()) as server:
        program_path = _compile(synth_dir, server, tmp_path, "fewshot")
    config = RunConfig(source=str(synth_dir), localization="uniform")
    with pytest.raises(ProgramError, match="compiled with mode = 'closed', this run has 'open': run it with --mode closed"):
        load_compiled(VidDiff(FrameLocalizer("uniform")), program_path, RunConfig(source=str(synth_dir), mode="open"))
    with pytest.raises(ProgramError, match="three_way = False, this run has True: run it with no --three-way"):
        load_compiled(VidDiff(FrameLocalizer("uniform"), three_way=True), program_path, RunConfig(source=str(synth_dir), three_way=True))
    with pytest.raises(ProgramError, match="was compiled on .* this run uses elsewhere"):
        load_compiled(VidDiff(FrameLocalizer("uniform")), program_path, RunConfig(source="elsewhere"))
    document = json.loads(program_path.read_text())
    document["viddiff"]["dspy_version"] = "2.6.0"
    program_path.write_text(json.dumps(document))
    with pytest.raises(ProgramError, match="compiled with dspy 2.6.0, this is dspy 3.4.1: compile it again"):
        load_compiled(VidDiff(FrameLocalizer("uniform")), program_path, config)
    del document["viddiff"]
    program_path.write_text(json.dumps(document))
    with pytest.raises(ProgramError, match="not a program compiled by this viddiff"):
        load_compiled(VidDiff(FrameLocalizer("uniform")), program_path, config)


def test_held_out_selection_ignores_nothing_by_accident(synth_dir):
    bench = load_benchmark(synth_dir)
    held_out = select_held_out(bench.samples, source=str(synth_dir), seed=0, fraction=0.67)
    assert {s.action for s in bench if s.sample_key in held_out.sample_keys} == {s.action for s in bench}


def test_variants_run_side_by_side(synth_dir, tmp_path):
    with loopback_server(scripted_engine()) as server:
        for name, extra in (("cot", ["--chain-of-thought"]), ("one-frame", ["--frames", "1"]), ("three-way", ["--three-way"])):
            assert main(["run", str(synth_dir), "--out", str(tmp_path / name), "--limit", "3", *_lm_args(server, tmp_path), *extra]) == 0
        cot_calls = [c for c in server.calls if "answer" in c.output_fields and "reasoning" in c.output_fields]
    assert cot_calls, "chain of thought asks for reasoning before the answer"
    one_frame = [json.loads(line) for line in (tmp_path / "one-frame" / "records.jsonl").read_text().splitlines()]
    assert all(len(p["frames_a"]) == 1 and len(p["frames_b"]) == 1 for r in one_frame for p in r["predictions"])
    config = json.loads((tmp_path / "three-way" / "manifest.json").read_text())["config"]
    assert config["three_way"] is True


def test_a_malformed_instruction_proposal_does_not_lose_the_compile(synth_dir, tmp_path, caplog):
    engine = scripted_engine(choice="hash")
    engine.script(lambda call: "proposed_instruction" in call.output_fields, "this is not a valid reply at all", times=2)
    with loopback_server(engine) as server:
        program_path = _compile(synth_dir, server, tmp_path, "instructions", "--no-lm-cache")
    warnings = [r.getMessage() for r in caplog.records if "instruction proposal failed" in r.getMessage()]
    assert warnings == [
        "instruction proposal failed (AdapterParseError: LM response cannot be serialized to a JSON object.); "
        "the current instructions stay the only candidates"
    ]
    saved = json.loads(program_path.read_text())
    default = VidDiff(FrameLocalizer("uniform"))
    assert saved["differencer.compare"]["signature"]["instructions"] == default.differencer.compare.signature.instructions


def test_a_planner_that_fails_during_compiling_scores_zero_instead_of_stopping(synth_dir, tmp_path):
    from tests.lm.fake_engine import provider_error

    engine = scripted_engine(choice="hash")
    engine.fail(lambda call: "stages" in call.output_fields and len(engine.calls_for("stages")) % 3 == 0, provider_error("flaky"))
    with loopback_server(engine) as server:
        program_path = _compile(synth_dir, server, tmp_path, "fewshot", "--no-lm-cache")
    assert program_metadata(program_path)["scores"]["metric"] == "accuracy"


def test_an_interrupted_fewshot_compile_saves_the_demos_bootstrapped_so_far(synth_dir, tmp_path, monkeypatch, capsys, python_ctrl_c):
    traced = []

    def first_passes_then_ctrl_c(example, pred, trace=None):
        if trace is None:
            return closed_metric(example, pred)
        traced.append(example)
        if len(traced) == 2:
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C: KeyboardInterrupt in the main thread
        return True

    monkeypatch.setattr("viddiff.optimize.compile.closed_metric", first_passes_then_ctrl_c)
    out = tmp_path / "interrupted.json"
    with loopback_server(scripted_engine(choice="hash")) as server:
        code = main(["compile", str(synth_dir), "--mode", "closed", "--optimizer", "fewshot", "--max-demos", "3", "--out", str(out),
                     "--held-out-fraction", "0.75", *_lm_args(server, tmp_path)])
    assert code == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"viddiff: interrupted: saved what was learned so far (1 bootstrapped demo) to {out}"
    )
    saved = json.loads(out.read_text())
    assert len(saved["differencer.compare"]["demos"]) == 1
    scores = program_metadata(out)["scores"]
    assert scores["interrupted"] == "1 bootstrapped demo"
    assert [(p["part"], p["after"]) for p in scores["parts"]] == [("validation", None), ("test", None)]
    assert all(p["before"] is not None for p in scores["parts"])
    load_compiled(VidDiff(FrameLocalizer("uniform")), out, RunConfig(source=str(synth_dir), localization="uniform"))


@pytest.fixture
def python_ctrl_c():
    """Python's own Ctrl-C handler (KeyboardInterrupt in the main thread), as in a fresh `viddiff`
    process: a library an earlier test loaded into this process may have replaced it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _ctrl_c_on_evaluation(evaluation: int, per_evaluation: int):
    """A metric scoring the default program (the first evaluation) 0 and every candidate 1, that
    presses Ctrl-C when evaluation number `evaluation` starts."""
    calls = []

    def metric(example, pred, trace=None):
        if trace is not None:  # MIPROv2 bootstraps (zero demos kept) before it evaluates
            return True
        calls.append(example)
        if len(calls) == (evaluation - 1) * per_evaluation + 1:
            signal.raise_signal(signal.SIGINT)
        return float(len(calls) > per_evaluation)

    return metric


@pytest.mark.parametrize(
    "evaluation, learned",
    [(2, "no candidate beat the default prompts yet"), (3, "the best of 1 candidates evaluated, 100.0% on the validation part")],
)
def test_an_interrupted_instruction_compile_keeps_the_best_candidate_that_beat_the_default(synth_dir, evaluation, learned, python_ctrl_c):
    examples = _sample_examples(synth_dir)
    engine = scripted_engine()
    program = VidDiff(FrameLocalizer("uniform"))
    default = program.differencer.compare.signature.instructions
    settings = CompileSettings("instructions", candidates=2, trials=4)
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()), pytest.raises(CompileInterrupted) as interrupted:
        compile_program(program, settings, trainset=examples, valset=examples, metric=_ctrl_c_on_evaluation(evaluation, len(examples)))
    assert interrupted.value.learned == learned
    if evaluation == 2:
        assert interrupted.value.program is None
    else:
        kept = interrupted.value.program
        assert kept.differencer.compare.signature.instructions != default
        assert not kept.planner._compiled  # frozen stages are unfrozen again
