"""Shared test fixtures: a tiny random-weight open_clip model registered offline."""

import json
import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # price tables from the installed package, no download

TINY_CLIP = "viddiff-tiny-test"
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="session")
def tiny_clip_checkpoint(tmp_path_factory):
    """Registers the tiny model config with open_clip; returns a checkpoint file of seeded random weights."""
    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("tiny_clip")
    (folder / f"{TINY_CLIP}.json").write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(folder)
    torch.manual_seed(0)
    model = open_clip.create_model(TINY_CLIP, pretrained=None)
    checkpoint = folder / "tiny.pt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint


@pytest.fixture(autouse=True)
def isolated_dspy_cache(tmp_path_factory):
    """DSPy's disk cache in a temporary folder, never the user's ~/.dspy_cache, and a new one for
    each test: the cache keys a loopback server by its address, and a later test's server can get
    an earlier one's port, with another fake engine behind it."""
    import dspy

    dspy.configure_cache(disk_cache_dir=str(tmp_path_factory.mktemp("dspy_cache")))
