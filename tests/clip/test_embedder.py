import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import TINY_CLIP, TINY_CLIP_CONFIG
from viddiff.errors import ViddiffError
from viddiff.clip import embedder as embedder_module
from viddiff.clip.embedder import ClipEmbedder, WeightsError, clip_identity, create_clip, preprocess_frames
from viddiff.config import ClipConfig
from viddiff.clip.cache import EmbeddingCache
from viddiff.clip.progress import embedding_progress


def _frames(n=5, height=24, width=40, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


@pytest.fixture
def config(tiny_clip_checkpoint):
    return ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu", batch_size=64)


def test_frame_embeddings_are_unit_rows_independent_of_batching(config):
    frames = _frames(7)
    whole = ClipEmbedder(config).embed_frames(frames)
    assert whole.shape == (7, 32) and whole.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)
    batched = ClipEmbedder(ClipConfig(**{**config.__dict__, "batch_size": 3})).embed_frames(frames)
    np.testing.assert_allclose(batched, whole, atol=1e-5)
    assert not np.allclose(whole[0], whole[1])


def test_checkpoint_weights_are_the_ones_used(config, tiny_clip_checkpoint):
    import open_clip

    reference = open_clip.create_model(TINY_CLIP, pretrained=None)
    reference.load_state_dict(torch.load(tiny_clip_checkpoint))
    reference.eval()
    frames = _frames(3)
    batch = preprocess_frames(torch.from_numpy(frames), reference.visual.preprocess_cfg, "longest")
    with torch.inference_mode():
        expected = reference.encode_image(batch, normalize=True).numpy()
        expected_text = reference.encode_text(open_clip.get_tokenizer(TINY_CLIP)(["a person squatting"]), normalize=True).numpy()
    embedder = ClipEmbedder(config)
    np.testing.assert_allclose(embedder.embed_frames(frames), expected, atol=1e-5)
    np.testing.assert_allclose(embedder.embed_texts(["a person squatting"]), expected_text, atol=1e-5)


@pytest.mark.parametrize("mode", ["longest", "shortest"])
def test_preprocessing_matches_open_clips_own_transform(config, mode):
    import open_clip

    _, _, transform = open_clip.create_model_and_transforms(TINY_CLIP, pretrained=None, image_resize_mode=mode)
    model, _ = create_clip(config)
    # A smooth wide image, so resampling kernels agree closely.
    y, x = np.mgrid[0:60, 0:120]
    image = np.stack([x * 2, y * 4, (x + y)], axis=-1).clip(0, 255).astype(np.uint8)
    ours = preprocess_frames(torch.from_numpy(image[None]), model.visual.preprocess_cfg, mode)[0]
    theirs = transform(Image.fromarray(image))
    assert ours.shape == theirs.shape == (3, 32, 32)
    assert float((ours - theirs).abs().mean()) < 0.05


def test_letterbox_pads_with_black_and_crop_keeps_the_centre():
    cfg = {"size": (8, 8), "mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}
    wide = np.full((1, 4, 16, 3), 255, np.uint8)  # 4 x 16 white: letterboxed to 8 x 2 rows of white
    boxed = preprocess_frames(torch.from_numpy(wide), cfg, "longest")[0, 0]
    assert torch.all(boxed[:3] == 0) and torch.all(boxed[5:] == 0)
    assert torch.allclose(boxed[3:5], torch.ones(2, 8), atol=1e-3)
    striped = np.zeros((1, 8, 32, 3), np.uint8)
    striped[:, :, 14:18] = 255  # the crop keeps columns 12..19: black, black, 4 white, black, black
    cropped = preprocess_frames(torch.from_numpy(striped), cfg, "shortest")[0, 0]
    assert torch.allclose(cropped[:, [0, 1, 6, 7]], torch.zeros(8, 4), atol=1e-3)
    assert torch.allclose(cropped[:, 2:6], torch.ones(8, 4), atol=1e-3)


def test_text_embeddings(config):
    embedder = ClipEmbedder(config)
    texts = ["A photo of a person standing", "A photo of a person squatting", "A photo of a person standing"]
    embeddings = embedder.embed_texts(texts)
    assert embeddings.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(embeddings[0], embeddings[2])
    assert not np.allclose(embeddings[0], embeddings[1])


def test_embedding_progress_hears_each_batch_and_nothing_of_cached_frames(config, tmp_path):
    heard = []

    def start(frames):
        heard.append(("start", frames))
        return lambda count: heard.append(("batch", count))

    embedder = ClipEmbedder(ClipConfig(**{**config.__dict__, "batch_size": 2}), cache=EmbeddingCache(tmp_path / "cache"))
    frames = _frames(5)
    token = embedding_progress.set(start)
    try:
        embedder.embed_frames(frames)
        embedder.embed_frames(frames)  # cached: no bar
    finally:
        embedding_progress.reset(token)
    assert heard == [("start", 5), ("batch", 2), ("batch", 2), ("batch", 1)]
    embedder.embed_frames(_frames(3, seed=1))  # nobody listening: nothing heard, nothing fails
    assert len(heard) == 4


def test_second_run_embeds_nothing_and_loads_no_model(config, tmp_path, monkeypatch):
    cache = EmbeddingCache(tmp_path / "cache")
    frames = _frames(4)
    first = ClipEmbedder(config, cache=cache)
    frame_embeddings = first.embed_frames(frames)
    text_embeddings = first.embed_texts(["standing", "squatting"])

    def no_model(config):
        raise AssertionError("the model must not be loaded when everything is cached")

    monkeypatch.setattr(embedder_module, "create_clip", no_model)
    second = ClipEmbedder(config, cache=cache)
    np.testing.assert_array_equal(second.embed_frames(frames.copy()), frame_embeddings)
    np.testing.assert_array_equal(second.embed_texts(["squatting", "standing"]), text_embeddings[::-1])


def test_text_cache_is_per_string(config, tmp_path, monkeypatch):
    cache = EmbeddingCache(tmp_path / "cache")
    ClipEmbedder(config, cache=cache).embed_texts(["standing", "squatting"])
    encoded = []
    original = ClipEmbedder._encode_texts

    def recording(self, texts):
        encoded.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(ClipEmbedder, "_encode_texts", recording)
    ClipEmbedder(config, cache=cache).embed_texts(["standing", "jumping", "jumping"])
    assert encoded == ["jumping"]


def test_cache_key_follows_weights_and_preprocessing(config, tiny_clip_checkpoint, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    frames = _frames(2)
    ClipEmbedder(config, cache=cache).embed_frames(frames)
    other_mode = ClipConfig(**{**config.__dict__, "resize_mode": "shortest"})
    assert cache.get_frames(ClipEmbedder(other_mode).model_id, frames) is None
    copy = tmp_path / "weights.pt"
    shutil.copy(tiny_clip_checkpoint, copy)
    before = clip_identity(ClipConfig(**{**config.__dict__, "pretrained": str(copy)}))
    os.utime(copy, ns=(1, 1))
    assert clip_identity(ClipConfig(**{**config.__dict__, "pretrained": str(copy)})) != before


def test_corrupt_cache_entry_is_recomputed(config, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    frames = _frames(2)
    expected = ClipEmbedder(config, cache=cache).embed_frames(frames)
    (entry,) = (tmp_path / "cache").rglob("frames/*.npy")
    entry.write_bytes(b"garbage")
    np.testing.assert_allclose(ClipEmbedder(config, cache=cache).embed_frames(frames), expected, atol=1e-6)
    np.testing.assert_allclose(np.load(entry), expected, atol=1e-6)


def test_local_dir_model(tiny_clip_checkpoint, tmp_path):
    folder = tmp_path / "tiny_local"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP_CONFIG}))
    shutil.copy(tiny_clip_checkpoint, folder / "open_clip_pytorch_model.bin")
    local = ClipEmbedder(ClipConfig(model=f"local-dir:{folder}", pretrained=None, device="cpu"))
    from_file = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu"))
    np.testing.assert_allclose(local.embed_frames(_frames(2)), from_file.embed_frames(_frames(2)), atol=1e-5)


def test_absent_weights_offline_give_a_clear_error(monkeypatch, tmp_path, tiny_clip_checkpoint):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    embedder = ClipEmbedder(ClipConfig(model="ViT-B-32", pretrained="laion2b_s34b_b79k", device="cpu"))
    with pytest.raises(WeightsError) as raised:
        embedder.embed_texts(["a photo"])
    assert str(raised.value) == (
        f"cannot load CLIP ViT-B-32 with weights laion2b_s34b_b79k: not in the Hugging Face cache ({tmp_path / 'hub'}) "
        "and HF_HUB_OFFLINE is set; download "
        "https://huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/main/open_clip_pytorch_model.bin and pass "
        "the file with --clip-pretrained FILE, or pass --clip-model local-dir:PATH (`viddiff clip-folder PATH` writes a "
        "random-weight one for trying the pipeline)"
    )
    missing = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=str(tmp_path / "nope.pt"), device="cpu"))
    with pytest.raises(WeightsError) as raised:
        missing.embed_frames(_frames(1))
    assert str(raised.value) == (
        f"cannot load CLIP {TINY_CLIP} with weights {tmp_path / 'nope.pt'}: no such file, and not a pretrained tag of "
        f"{TINY_CLIP} (it has no tags)"
    )


def test_bad_inputs(config):
    embedder = ClipEmbedder(config)
    with pytest.raises(ViddiffError, match="N x H x W x 3 uint8"):
        embedder.embed_frames(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ViddiffError, match="N x H x W x 3 uint8"):
        embedder.embed_frames(np.zeros((0, 8, 8, 3), np.uint8))
    with pytest.raises(ViddiffError, match="non-empty strings"):
        embedder.embed_texts([])
    with pytest.raises(ViddiffError, match="resize_mode"):
        ClipEmbedder(ClipConfig(resize_mode="stretch"))


def test_a_built_model_is_used_as_given(config, monkeypatch):
    expected = ClipEmbedder(config).embed_frames(_frames(3))
    built = create_clip(config)
    monkeypatch.setattr(embedder_module, "create_clip", lambda config: pytest.fail("a built model is not built again"))
    embedder = ClipEmbedder(config, built=built)
    assert embedder.load() == built
    np.testing.assert_allclose(embedder.embed_frames(_frames(3)), expected, atol=1e-6)


def test_threads_storing_the_same_strings_at_once_all_succeed(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    embedding = np.arange(32, dtype=np.float32)

    def store(i):
        for text in ("standing", "squatting", "jumping"):
            cache.put_text("model", text, embedding + i % 2)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert [f.exception() for f in [pool.submit(store, i) for i in range(64)]] == [None] * 64
    found = cache.get_texts("model", ["standing", "squatting", "jumping"])
    assert sorted(found) == ["jumping", "squatting", "standing"]
    assert all(np.array_equal(v, embedding) or np.array_equal(v, embedding + 1) for v in found.values())
    assert not list((tmp_path / "cache").rglob("*.tmp"))
