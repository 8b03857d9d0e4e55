"""`viddiff embed`: the embedding job, in this process and as a Ray Data job on a local Ray
instance, writes the embeddings a run reads, so the run that follows embeds nothing; a failing
video is recorded and the job goes on."""

import json
import os
import shutil

import numpy as np
import pytest

from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from viddiff.cli import main
from viddiff.clip.embedder import ClipEmbedder
from viddiff.clip.folder import write_random_clip_folder
from viddiff.data.synth import generate_benchmark


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("embed") / "synth"
    generate_benchmark(out, pairs=3, seed=13, progress=False)
    return out


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    """A tiny random-weight CLIP as a local-dir folder: Ray's worker processes load it too."""
    return write_random_clip_folder(tmp_path_factory.mktemp("clip") / "tiny")


def _clip_args(folder, cache):
    return ["--clip-model", f"local-dir:{folder}", "--clip-device", "cpu", "--cache-dir", str(cache)]


def _embeddings(cache):
    """Every cached frame embedding, by file name (a hash of the frames)."""
    return {p.name: np.load(p) for p in sorted(cache.glob("clip/*/frames/*.npy"))}


def _run_without_encoding(synth_dir, tmp_path, cache, monkeypatch):
    """A viterbi run that fails the moment CLIP would encode a frame."""

    def refuse(self, images):
        raise AssertionError("a frame was embedded during the run")

    monkeypatch.setattr(ClipEmbedder, "_encode_images", refuse)
    with loopback_server(scripted_engine()) as server:
        code = main(["run", str(synth_dir), "--out", str(tmp_path / "run"), "--localization", "viterbi", "--lm", "openai/test-model",
                     "--api-base", server.api_base, "--no-lm-cache", *_clip_args(cache.folder, cache.path)])
    assert code == 0


class _Cache:
    def __init__(self, path, folder):
        self.path, self.folder = path, folder


def test_in_process_embedding_fills_the_cache_the_run_reads(synth_dir, tmp_path, clip_folder, capsys, monkeypatch):
    cache = tmp_path / "cache"
    assert main(["embed", str(synth_dir), *_clip_args(clip_folder, cache)]) == 0
    assert "embedded 3 of 3 samples" in capsys.readouterr().out
    assert len(_embeddings(cache)) == 6  # two videos per sample
    _run_without_encoding(synth_dir, tmp_path, _Cache(cache, clip_folder), monkeypatch)


def test_a_failing_video_is_recorded_and_the_job_goes_on(synth_dir, tmp_path, clip_folder, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(synth_dir, broken)
    row = json.loads((broken / "dataset.jsonl").read_text().splitlines()[1])
    (broken / json.loads(row["videos"])[0]["path"]).write_bytes(b"not a video")
    assert main(["embed", str(broken), *_clip_args(clip_folder, tmp_path / "cache")]) == 1
    printed = capsys.readouterr().out
    assert "embedded 2 of 3 samples" in printed and f"failed: {row['sample_key']}: " in printed


def test_the_ray_job_writes_the_embeddings_of_the_in_process_job(synth_dir, tmp_path, clip_folder, monkeypatch):
    """The Ray job runs in a process of its own (a local Ray instance), so no Ray state
    (its threads, its C-level signal handlers) stays in the test process."""
    pytest.importorskip("ray", reason="the Ray embedding job needs Ray Data: pip install 'viddiff[ray]'")
    import subprocess
    import sys
    from pathlib import Path

    import torch

    in_process, with_ray = tmp_path / "in-process", tmp_path / "ray"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in Ray's actors (OMP_NUM_THREADS=1): float sums in the same order
    try:
        assert main(["embed", str(synth_dir), *_clip_args(clip_folder, in_process)]) == 0
    finally:
        torch.set_num_threads(threads)
    viddiff = str(Path(sys.executable).with_name("viddiff"))
    job = subprocess.run(
        [viddiff, "embed", str(synth_dir), "--ray", "--actors", "2", *_clip_args(clip_folder, with_ray)],
        capture_output=True, text=True, timeout=600, env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"},
    )
    assert job.returncode == 0, job.stderr[-2000:]
    assert "embedded 3 of 3 samples" in job.stdout and "Ray" in job.stdout
    expected, got = _embeddings(in_process), _embeddings(with_ray)
    assert list(got) == list(expected)  # the same frames (their hash names the file)
    assert all(np.array_equal(got[name], expected[name]) for name in expected)
    _run_without_encoding(synth_dir, tmp_path, _Cache(with_ray, clip_folder), monkeypatch)


def test_without_ray_the_job_says_what_to_install(synth_dir, tmp_path, clip_folder, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main(["embed", str(synth_dir), "--ray", *_clip_args(clip_folder, tmp_path / "cache")]) == 2
    assert capsys.readouterr().err.strip() == "viddiff: error: the Ray embedding job needs Ray Data: pip install 'viddiff[ray]'"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--localization", "uniform"], "--localization uniform embeds no frame: there is nothing to embed ahead"),
        (["--system", "frames"], "the frames system embeds no frame (only VidDiff's localizer uses CLIP): there is nothing to embed ahead"),
    ],
)
def test_nothing_to_embed_is_one_line(synth_dir, tmp_path, capsys, extra, message):
    assert main(["embed", str(synth_dir), "--cache-dir", str(tmp_path / "cache"), *extra]) == 2
    assert capsys.readouterr().err.strip() == f"viddiff: error: {message}"
