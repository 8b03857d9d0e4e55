"""Finding CLIP weights before loading: the Hugging Face cache first, HF_HUB_OFFLINE respected,
one short request to an unreachable Hub, one line when they are missing, `local-dir:` folders
that ignore a pretrained tag without a word. The network is never used: a test that would
touch it fails."""

import json
import logging
import shutil

import numpy as np
import pytest

from tests.conftest import TINY_CLIP, TINY_CLIP_CONFIG
from viddiff.clip import weights as weights_module
from viddiff.clip.embedder import ClipEmbedder, clip_identity, create_clip
from viddiff.clip.weights import WeightsError, locate_weights, quiet_loading
from viddiff.config import ClipConfig

TAIL = (
    "download https://huggingface.co/laion/CLIP-ViT-bigG-14-laion2B-39B-b160k/resolve/main/open_clip_pytorch_model.bin "
    "and pass the file with --clip-pretrained FILE, or pass --clip-model local-dir:PATH (`viddiff clip-folder PATH` "
    "writes a random-weight one for trying the pipeline)"
)
FAKE_REPO = "viddiff-test/tiny-clip"
FAKE_TAG = {"hf_hub": f"{FAKE_REPO}/", "mean": (0.1, 0.2, 0.3), "std": (0.5, 0.5, 0.5), "interpolation": "bicubic"}


class Session:
    """huggingface_hub's HTTP session, answering HEAD with `reply` (an exception is raised)."""

    def __init__(self, reply=None):
        self.reply = reply
        self.requests = []

    def head(self, url, timeout):
        self.requests.append((url, timeout))
        if isinstance(self.reply, BaseException):
            raise self.reply
        return self.reply


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """An empty Hugging Face cache, set the way a user sets it (environment) and as
    huggingface_hub read it at import; online unless a test says otherwise; no download."""
    import huggingface_hub
    import huggingface_hub.constants
    import open_clip

    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    session = Session(AssertionError("the network must not be used"))
    monkeypatch.setattr(huggingface_hub, "get_session", lambda: session)

    def no_download(*args, **kwargs):
        raise AssertionError("nothing may be downloaded")

    monkeypatch.setattr(open_clip, "download_pretrained", no_download)
    return cache, session


@pytest.fixture
def fake_tag(monkeypatch, tiny_clip_checkpoint):
    """A pretrained tag `fake` of the tiny model, whose weights live in the Hub repo FAKE_REPO."""
    import open_clip

    real = open_clip.get_pretrained_cfg
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", lambda model, tag: FAKE_TAG if (model, tag) == (TINY_CLIP, "fake") else real(model, tag))
    return "fake"


def _put_in_cache(cache, repo, filename, source):
    """`source` as `filename` of `repo` in a Hugging Face cache, in huggingface_hub's own layout."""
    commit = "0" * 40
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "snapshots" / commit).mkdir(parents=True)
    shutil.copy(source, folder / "snapshots" / commit / filename)
    return folder / "snapshots" / commit / filename


def _frames(n=2):
    return np.random.default_rng(0).integers(0, 256, (n, 24, 40, 3), dtype=np.uint8)


def test_offline_and_not_cached_fails_at_once_in_one_line(hub, monkeypatch, caplog, capfd):
    import huggingface_hub.constants

    cache, session = hub
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    embedder = ClipEmbedder(ClipConfig(model="ViT-bigG-14", pretrained="laion2b_s39b_b160k", device="cpu"))
    with pytest.raises(WeightsError) as raised:
        embedder.embed_frames(_frames())
    assert str(raised.value) == (
        f"cannot load CLIP ViT-bigG-14 with weights laion2b_s39b_b160k: not in the Hugging Face cache ({cache}) "
        f"and HF_HUB_OFFLINE is set; {TAIL}"
    )
    assert session.requests == []  # offline: not even the probe
    assert not caplog.records and capfd.readouterr() == ("", "")
    with pytest.raises(WeightsError):  # remembered: not looked for again
        embedder.embed_texts(["a squat"])


def test_unreachable_hub_costs_one_request_and_one_line(hub, caplog, capfd):
    cache, session = hub
    session.reply = ConnectionError("[Errno -2] Name or service not known")
    with pytest.raises(WeightsError) as raised:
        create_clip(ClipConfig(model="ViT-bigG-14", pretrained="laion2b_s39b_b160k", device="cpu"))
    assert str(raised.value) == (
        f"cannot load CLIP ViT-bigG-14 with weights laion2b_s39b_b160k: not in the Hugging Face cache ({cache}) "
        f"and https://huggingface.co cannot be reached (ConnectionError: [Errno -2] Name or service not known); {TAIL}"
    )
    assert session.requests == [("https://huggingface.co", weights_module.HUB_PROBE_TIMEOUT_S)]
    assert not caplog.records and capfd.readouterr() == ("", "")


def test_a_cached_tag_loads_from_the_cache_without_the_network(hub, fake_tag, tiny_clip_checkpoint):
    import huggingface_hub.constants

    cache, session = hub
    cached = _put_in_cache(cache, FAKE_REPO, "open_clip_pytorch_model.bin", tiny_clip_checkpoint)
    assert locate_weights(TINY_CLIP, fake_tag).checkpoint == str(cached)
    model, _ = create_clip(ClipConfig(model=TINY_CLIP, pretrained=fake_tag, device="cpu"))
    assert tuple(model.visual.preprocess_cfg["mean"]) == FAKE_TAG["mean"]  # the tag's preprocessing, as open_clip applies it
    assert tuple(model.visual.preprocess_cfg["std"]) == FAKE_TAG["std"]
    huggingface_hub.constants.HF_HUB_OFFLINE = True  # restored by the fixture's monkeypatch
    by_tag = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=fake_tag, device="cpu")).embed_texts(["a squat"])
    by_file = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu")).embed_texts(["a squat"])
    np.testing.assert_allclose(by_tag, by_file, atol=1e-6)
    assert session.requests == []


def test_the_safetensors_file_is_preferred_like_open_clip_does(hub, fake_tag, tiny_clip_checkpoint, tmp_path):
    cache, _ = hub
    _put_in_cache(cache, FAKE_REPO, "open_clip_pytorch_model.bin", tiny_clip_checkpoint)
    commit_folder = next((cache / f"models--{FAKE_REPO.replace('/', '--')}" / "snapshots").iterdir())
    (commit_folder / "open_clip_model.safetensors").write_bytes(b"")
    assert locate_weights(TINY_CLIP, fake_tag).checkpoint == str(commit_folder / "open_clip_model.safetensors")


def test_a_reachable_hub_downloads_the_tag_once(hub, fake_tag, tiny_clip_checkpoint, monkeypatch):
    import open_clip

    _, session = hub
    session.reply = object()  # any answer: the Hub is there
    downloads = []
    monkeypatch.setattr(open_clip, "download_pretrained", lambda cfg: downloads.append(cfg) or str(tiny_clip_checkpoint))
    embedder = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=fake_tag, device="cpu"))
    embedder.embed_frames(_frames())
    embedder.embed_texts(["a squat"])
    assert downloads == [FAKE_TAG] and len(session.requests) == 1


def test_a_failed_download_is_one_line(hub, fake_tag, monkeypatch):
    import open_clip

    _, session = hub
    session.reply = object()

    def failing(cfg):
        raise OSError("Connection reset by peer\nmore detail")

    monkeypatch.setattr(open_clip, "download_pretrained", failing)
    with pytest.raises(WeightsError) as raised:
        locate_weights(TINY_CLIP, fake_tag)
    assert str(raised.value) == (
        f"cannot load CLIP {TINY_CLIP} with weights fake: download from "
        f"https://huggingface.co/{FAKE_REPO}/resolve/main/open_clip_pytorch_model.bin failed (OSError: Connection reset by peer)"
    )


@pytest.fixture
def local_folder(tiny_clip_checkpoint, tmp_path):
    folder = tmp_path / "tiny_local"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP_CONFIG}))
    shutil.copy(tiny_clip_checkpoint, folder / "open_clip_pytorch_model.bin")
    return folder


def test_local_dir_ignores_a_pretrained_tag_without_a_word(hub, local_folder, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    tagged = ClipConfig(model=f"local-dir:{local_folder}", pretrained="laion2b_s39b_b160k", device="cpu")
    untagged = ClipConfig(model=f"local-dir:{local_folder}", pretrained=None, device="cpu")
    embeddings = ClipEmbedder(tagged).embed_frames(_frames())
    np.testing.assert_array_equal(embeddings, ClipEmbedder(untagged).embed_frames(_frames()))
    assert clip_identity(tagged) == clip_identity(untagged)  # the tag decides nothing, so it keys nothing
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
    assert capfd.readouterr() == ("", "")


def test_local_dir_errors_say_what_the_folder_must_hold_and_never_name_the_tag(hub, local_folder, tmp_path):
    expected = "(a local-dir: folder holds open_clip_config.json and open_clip_pytorch_model.bin (or open_clip_model.safetensors))"
    (local_folder / "open_clip_pytorch_model.bin").unlink()  # open_clip itself would build random weights
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        tmp_path / "absent": "no such folder",
        empty: "no open_clip_config.json in it",
        local_folder: "no weights file in it",
    }
    for folder, problem in cases.items():
        with pytest.raises(WeightsError) as raised:
            ClipEmbedder(ClipConfig(model=f"local-dir:{folder}", pretrained="laion2b_s39b_b160k", device="cpu")).embed_texts(["a"])
        assert str(raised.value) == f"cannot load CLIP local-dir:{folder}: {problem} {expected}"


def test_unknown_model_and_missing_weights_are_one_line(hub, tiny_clip_checkpoint):
    with pytest.raises(WeightsError) as raised:
        locate_weights("ViT-Q-99", "laion2b_s39b_b160k")
    assert str(raised.value) == (
        "cannot load CLIP ViT-Q-99 with weights laion2b_s39b_b160k: open_clip has no model 'ViT-Q-99' "
        "(open_clip.list_models() lists them); or pass --clip-model local-dir:PATH (`viddiff clip-folder PATH` writes a "
        "random-weight one for trying the pipeline)"
    )
    with pytest.raises(WeightsError) as raised:
        locate_weights(TINY_CLIP, None)
    assert str(raised.value) == (
        f"cannot load CLIP {TINY_CLIP}: no weights given; pass a pretrained tag (it has no tags) or a checkpoint file, or "
        "pass --clip-model local-dir:PATH (`viddiff clip-folder PATH` writes a random-weight one for trying the pipeline)"
    )
    with pytest.raises(WeightsError) as raised:
        locate_weights("ViT-bigG-14", "laion2b")
    assert str(raised.value) == (
        "cannot load CLIP ViT-bigG-14 with weights laion2b: no such file, and not a pretrained tag of ViT-bigG-14 "
        "(tags: laion2b_s39b_b160k, metaclip_fullcc)"
    )


def test_a_checkpoint_of_another_model_is_one_line(hub, tiny_clip_checkpoint):
    with pytest.raises(WeightsError) as raised:
        create_clip(ClipConfig(model="ViT-B-32", pretrained=str(tiny_clip_checkpoint), device="cpu"))
    assert str(raised.value) == (
        f"cannot load CLIP ViT-B-32 with weights {tiny_clip_checkpoint} (AssertionError: text pos_embed width changed!); "
        "check that the weights are those of this model"
    )


def test_quiet_loading_silences_open_clip_and_the_hub_only_inside(local_folder, caplog):
    import open_clip

    caplog.set_level(logging.DEBUG)
    hub_logger = logging.getLogger("huggingface_hub.utils._http")
    level = logging.getLogger("huggingface_hub").level
    with quiet_loading():
        hub_logger.warning("Retrying in 1s [Retry 1/5].")
        open_clip.create_model(f"local-dir:{local_folder}", pretrained="x")  # logs 'Ignoring pretrained' on the root logger
        logging.getLogger("viddiff.elsewhere").warning("kept")
    hub_logger.warning("after")
    open_clip.create_model(f"local-dir:{local_folder}", pretrained="x")
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert messages == ["kept", "after", "Ignoring `pretrained='x'` because `model_name` has 'local-dir' schema."]
    assert logging.getLogger("huggingface_hub").level == level


def test_a_tag_trained_with_quick_gelu_still_warns_as_open_clip_did(hub, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.warns(UserWarning, match=r"^QuickGELU mismatch between model ViT-B-32 \(quick_gelu=False\) and pretrained tag 'openai' \(quick_gelu=True\): use ViT-B-32-quickgelu$"):
        with pytest.raises(WeightsError, match="^cannot load CLIP ViT-B-32 with weights openai: not in the Hugging Face cache"):
            locate_weights("ViT-B-32", "openai")
