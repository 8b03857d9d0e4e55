"""Fixtures for program tests: synthetic samples."""

import pytest

from viddiff.data import load_benchmark
from viddiff.data.synth import generate_benchmark


@pytest.fixture(scope="session")
def synth_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("programs") / "synth"
    generate_benchmark(out, pairs=6, seed=11, progress=False)
    return load_benchmark(out)
