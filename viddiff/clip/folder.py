"""A `local-dir:` CLIP folder of random weights, for trying the pipeline without any download.

The folder has open_clip's own layout, the one `--clip-model local-dir:PATH` reads:
`open_clip_config.json` ({"model_cfg": ..., "preprocess_cfg": ...}), `open_clip_pytorch_model.bin`
(the model's state dict, `torch.save`) and a `README.txt` saying that the weights are random.
Its embeddings are noise: useless for accuracy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from viddiff import __version__
from viddiff.clip.weights import CONFIG_FILE, WEIGHTS_FILE, quiet_loading
from viddiff.config import LOCAL_DIR
from viddiff.errors import ViddiffError

README_FILE = "README.txt"
TINY_MODEL = "tiny"
"""A two-layer CLIP (32-d embeddings, 32 x 32 px input, about 14 MB) made up for trying the pipeline."""
TINY_MODEL_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
RANDOM_WARNING = "RANDOM WEIGHTS, USELESS FOR ACCURACY: only for trying the pipeline offline"


def write_random_clip_folder(out: str | Path, model: str = TINY_MODEL, seed: int = 0) -> Path:
    """Writes a new folder `out` holding an open_clip model of seeded random weights; returns it.

    `model` is `tiny` (TINY_MODEL_CFG) or an open_clip model name (e.g. `ViT-B-32`, about 600 MB)
    whose towers open_clip builds itself (no Hugging Face text tower or tokenizer).

    Raises:
        ViddiffError: `out` already holds files, or `model` is unknown or needs Hub files to build.
    """
    import open_clip
    import torch
    from open_clip.transform import PreprocessCfg

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ViddiffError(f"{out} already exists and is not an empty folder; pass a new folder")
    model_cfg = TINY_MODEL_CFG if model == TINY_MODEL else open_clip.get_model_config(model)
    if model_cfg is None:
        raise ViddiffError(f"unknown CLIP model {model!r}: pass {TINY_MODEL} or an open_clip model name (open_clip.list_models())")
    text_cfg = model_cfg.get("text_cfg", {})
    if "hf_model_name" in text_cfg or "hf_tokenizer_name" in text_cfg:
        raise ViddiffError(
            f"CLIP model {model!r} takes its text tower or tokenizer from the Hugging Face Hub; pass {TINY_MODEL} "
            "or a model with open_clip's own text tower (e.g. ViT-B-32)"
        )
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    defaults = PreprocessCfg()
    config = {
        "model_cfg": model_cfg,
        "preprocess_cfg": {"mean": list(defaults.mean), "std": list(defaults.std), "interpolation": defaults.interpolation},
    }
    (partial / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    with torch.random.fork_rng(devices=[]), quiet_loading():  # open_clip warns that the folder has no weights yet
        torch.manual_seed(seed)
        clip = open_clip.create_model(f"{LOCAL_DIR}{partial}", pretrained=None)
    torch.save(clip.state_dict(), partial / WEIGHTS_FILE)
    (partial / README_FILE).write_text(readme_text(out, model, seed))
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return out


def readme_text(out: Path, model: str, seed: int) -> str:
    """The README.txt of a random-weight folder."""
    return (
        f"{RANDOM_WARNING}.\n\n"
        f"Written by `viddiff clip-folder` (viddiff {__version__}): CLIP architecture {model}, weights drawn at random\n"
        f"with seed {seed}. Its embeddings are noise, so frames chosen with it are arbitrary and the scores of\n"
        "any run that uses it mean nothing. It lets the whole pipeline (decode, embed, Viterbi, LM calls)\n"
        "run without downloading CLIP weights:\n\n"
        f"    viddiff run runs/synth --clip-model {LOCAL_DIR}{out} --out runs/try\n\n"
        "Files (open_clip's local-dir layout):\n"
        + "".join(
            f"    {name:<29}{what}\n"
            for name, what in (
                (CONFIG_FILE, '{"model_cfg": architecture, "preprocess_cfg": mean, std, interpolation}'),
                (WEIGHTS_FILE, "the model's state dict (torch.save)"),
                (README_FILE, "this note"),
            )
        )
    )
