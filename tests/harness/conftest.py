"""A synthetic benchmark, its rows as lmms-eval documents, and a scored closed run of it."""

import json

import pytest

from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from viddiff.cli import main
from viddiff.data.synth import generate_benchmark
from viddiff.harness.documents import MODE_FIELD, ROOT_FIELD, SOURCE_FIELD

TEST_KEY = "sk-test-harness-0123456789"


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("harness") / "synth"
    generate_benchmark(out, pairs=4, seed=5, progress=False)
    return out


@pytest.fixture(scope="session")
def rows(synth_dir):
    return [json.loads(line) for line in (synth_dir / "dataset.jsonl").read_text().splitlines()]


@pytest.fixture
def docs(rows, synth_dir):
    """Each row as a closed-set document of a task folder (its video root and benchmark beside it)."""
    return [{**row, ROOT_FIELD: str(synth_dir), SOURCE_FIELD: str(synth_dir), MODE_FIELD: "closed"} for row in rows]


@pytest.fixture(scope="session")
def closed_run(synth_dir, tmp_path_factory):
    """A scored closed-set VidDiff run (uniform localization) against the loopback server."""
    work = tmp_path_factory.mktemp("harness-run")
    out = work / "run"
    with pytest.MonkeyPatch.context() as patch, loopback_server(scripted_engine(choice="hash")) as server:
        patch.setenv("VIDDIFF_TEST_KEY", TEST_KEY)
        code = main([
            "run", str(synth_dir), "--out", str(out), "--localization", "uniform", "--lm", "openai/test-model",
            "--api-base", server.api_base, "--api-key-env", "VIDDIFF_TEST_KEY", "--cache-dir", str(work / "cache"),
        ])
    assert code == 0
    return out
