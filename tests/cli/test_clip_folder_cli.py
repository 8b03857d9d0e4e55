"""`viddiff clip-folder`: a random-weight CLIP folder, labelled useless for accuracy, that
`--clip-model local-dir:OUT` loads without any download."""

import json
import re

import numpy as np
import pytest

from tests.lm.loopback_server import loopback_server
from tests.lm.viddiff_roles import scripted_engine
from viddiff.cli import main
from viddiff.clip import ClipEmbedder
from viddiff.config import ClipConfig
from viddiff.data.synth import generate_benchmark

WARNING = "RANDOM WEIGHTS, USELESS FOR ACCURACY: only for trying the pipeline offline"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """HF_HUB_OFFLINE set, an empty Hugging Face cache, and no request or download possible."""
    import huggingface_hub
    import huggingface_hub.constants
    import open_clip

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))

    def forbidden(*args, **kwargs):
        raise AssertionError("the network must not be used")

    monkeypatch.setattr(huggingface_hub, "get_session", forbidden)
    monkeypatch.setattr(open_clip, "download_pretrained", forbidden)


def test_clip_folder_writes_a_labelled_random_clip_that_loads_offline(offline, tmp_path, capsys):
    out = tmp_path / "random-clip"
    assert main(["clip-folder", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {out}: CLIP tiny, {WARNING}", f"use it with --clip-model local-dir:{out}"]
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "open_clip_config.json", "open_clip_pytorch_model.bin"]
    readme = (out / "README.txt").read_text()
    assert readme.startswith(f"{WARNING}.\n") and "seed 0" in readme and f"--clip-model local-dir:{out}" in readme
    config = json.loads((out / "open_clip_config.json").read_text())
    assert config["model_cfg"]["embed_dim"] == 32 and set(config["preprocess_cfg"]) == {"mean", "std", "interpolation"}

    embedder = ClipEmbedder(ClipConfig(model=f"local-dir:{out}", pretrained=None, device="cpu"))
    frames = np.random.default_rng(0).integers(0, 256, (3, 24, 40, 3), dtype=np.uint8)
    embeddings = embedder.embed_frames(frames)
    texts = embedder.embed_texts(["a person standing", "a person squatting"])
    assert embeddings.shape == (3, 32) and texts.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)

    again, other = tmp_path / "again", tmp_path / "other"
    assert main(["clip-folder", str(again)]) == 0 and main(["clip-folder", str(other), "--seed", "1"]) == 0
    same = ClipEmbedder(ClipConfig(model=f"local-dir:{again}", pretrained=None, device="cpu")).embed_frames(frames)
    np.testing.assert_array_equal(same, embeddings)  # seeded
    different = ClipEmbedder(ClipConfig(model=f"local-dir:{other}", pretrained=None, device="cpu")).embed_frames(frames)
    assert not np.allclose(different, embeddings)


def test_clip_folder_never_writes_over_files(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["clip-folder", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"viddiff: error: {out} already exists and is not an empty folder; pass a new folder"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_clip_folder_refuses_unknown_or_hub_built_models(tmp_path, capsys):
    assert main(["clip-folder", str(tmp_path / "a"), "--model", "ViT-Q-99"]) == 2
    assert capsys.readouterr().err.strip() == (
        "viddiff: error: unknown CLIP model 'ViT-Q-99': pass tiny or an open_clip model name (open_clip.list_models())"
    )
    assert main(["clip-folder", str(tmp_path / "b"), "--model", "ViT-B-16-SigLIP"]) == 2
    assert capsys.readouterr().err.strip() == (
        "viddiff: error: CLIP model 'ViT-B-16-SigLIP' takes its text tower or tokenizer from the Hugging Face Hub; pass tiny "
        "or a model with open_clip's own text tower (e.g. ViT-B-32)"
    )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_clip_folder_help_labels_it_and_shows_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["clip-folder", "--help"])
    text = capsys.readouterr().out
    assert "USELESS FOR ACCURACY" in text
    assert "  viddiff clip-folder runs/random-clip\n" in text
    assert "  viddiff run runs/synth --clip-model local-dir:runs/random-clip --out runs/try" in text


def test_diff_runs_offline_with_the_folder_and_says_nothing_of_an_ignored_tag(offline, tmp_path, capsys, caplog):
    bench = tmp_path / "synth"
    generate_benchmark(bench, pairs=1, seed=4, progress=False)
    row = json.loads((bench / "dataset.jsonl").read_text().splitlines()[0])
    video_a, video_b = (bench / v["path"] for v in json.loads(row["videos"]))
    folder = tmp_path / "random-clip"
    assert main(["clip-folder", str(folder)]) == 0
    capsys.readouterr()
    with loopback_server(scripted_engine(choice="first")) as server:
        code = main([
            "diff", str(video_a), str(video_b), "--action", row["action_description"], "--out", str(tmp_path / "diff"),
            "--difference", "the squat is deeper", "--localization", "viterbi",
            "--clip-model", f"local-dir:{folder}", "--clip-pretrained", "laion2b_s39b_b160k", "--clip-device", "cpu",
            "--lm", "openai/test-model", "--api-base", server.api_base, "--cache-dir", str(tmp_path / "cache"),
        ])
    assert code == 0
    err = capsys.readouterr().err
    assert "laion2b_s39b_b160k" not in err and "Ignoring" not in err and "WARNING" not in err
    frames = [int(n) for n in re.findall(r"video [AB]: (\d+) frames at", err)]
    for count in frames:  # a bar per video while CLIP embeds its frames, counting to the end
        assert re.search(rf"embedding frames \(CLIP\): 100%\S* *\| *{count}/{count} ", err), err
    assert not [r.getMessage() for r in caplog.records if "laion2b_s39b_b160k" in r.getMessage()]  # logged: printed by a configured root logger
    assert json.loads((tmp_path / "diff" / "result.json").read_text())["predictions"][0]["answer"] == "a"
