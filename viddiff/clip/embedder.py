"""CLIP embeddings of frames and retrieval strings (open_clip), cached on disk.

The model is built lazily: a run whose frames and strings are all in the cache never loads
the weights. Frames are preprocessed as one tensor batch (resize, letterbox or centre crop,
normalise) on the model's device instead of image by image through PIL.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from viddiff.clip.cache import EmbeddingCache
from viddiff.clip.progress import embedding_progress
from viddiff.clip.weights import WeightsError, describe, ignores_pretrained, locate_weights, quiet_loading
from viddiff.data.video import ShorterSide
from viddiff.config import LOCAL_DIR, RESIZE_MODES, ClipConfig
from viddiff.errors import ViddiffError

if TYPE_CHECKING:  # torch is imported where frames are embedded, so building a program does not load it
    import torch

__all__ = ["ClipEmbedder", "WeightsError", "clip_identity", "create_clip", "preprocess_frames", "resolve_device", "resolve_precision"]


def resolve_device(config: ClipConfig) -> torch.device:
    """The configured device, or CUDA when available."""
    import torch

    return torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))


def resolve_precision(config: ClipConfig) -> str:
    """The configured precision, or bf16 on CUDA and fp32 elsewhere."""
    if config.precision is not None:
        return config.precision
    return "bf16" if resolve_device(config).type == "cuda" else "fp32"


def clip_identity(config: ClipConfig) -> str:
    """What decides the embeddings: model, weights (file identity for local ones), preprocessing,
    precision. A pretrained tag that the model name ignores (`local-dir:`, `hf-hub:`) is left out."""
    pretrained = None if ignores_pretrained(config.model) else config.pretrained
    parts = [config.model, pretrained or "", config.resize_mode, resolve_precision(config)]
    for local in (_local_path(config.model), _local_path(pretrained)):
        if local is not None and local.exists():
            files = sorted(local.rglob("*")) if local.is_dir() else [local]
            parts += [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files if f.is_file()]
    return "|".join(parts)


class ClipEmbedder:
    """L2-normalised CLIP embeddings of frames (N x H x W x 3 uint8) and of strings.

    Example:
        >>> embedder = ClipEmbedder(ClipConfig(), cache=EmbeddingCache(Path("~/.cache/viddiff/clip")))
        >>> frame_embeddings = embedder.embed_frames(frames.images)   # T x D float32
        >>> string_embeddings = embedder.embed_texts(["A photo of a person standing"])
    """

    def __init__(self, config: ClipConfig, cache: EmbeddingCache | None = None, *, built=None):
        """`built`: a model and tokenizer already built (benches time a random-weight bigG
        without writing its weights to disk); None builds them from `config` on first use."""
        if config.resize_mode not in RESIZE_MODES:
            raise ViddiffError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, got {config.resize_mode!r}")
        if config.batch_size < 1:
            raise ViddiffError(f"batch_size must be at least 1, got {config.batch_size}")
        self.config = config
        self.cache = cache
        self._model, self._tokenizer = built or (None, None)
        self._load_error: WeightsError | None = None
        self._load_lock = threading.Lock()

    @functools.cached_property
    def model_id(self) -> str:
        """The embeddings' cache key (`clip_identity`); found on first use, as it may load torch."""
        return clip_identity(self.config)

    def embed_frames(self, images: np.ndarray) -> np.ndarray:
        """Embeddings of RGB frames, T x D float32, each row of unit length."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or not len(images):
            raise ViddiffError(f"frames must be a non-empty N x H x W x 3 uint8 array, got {images.dtype} {images.shape}")
        if self.cache is not None:
            cached = self.cache.get_frames(self.model_id, images)
            if cached is not None:
                return cached
        step = self.config.batch_size
        start = embedding_progress.get()
        advance = start(len(images)) if start is not None else None
        batches = []
        for i in range(0, len(images), step):
            batches.append(self._encode_images(images[i : i + step]))
            if advance is not None:
                advance(len(batches[-1]))
        embeddings = np.concatenate(batches)
        if self.cache is not None:
            self.cache.put_frames(self.model_id, images, embeddings)
        return embeddings

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of strings, N x D float32, each row of unit length (cached per string)."""
        if not texts or not all(isinstance(t, str) and t for t in texts):
            raise ViddiffError(f"texts must be a non-empty list of non-empty strings, got {list(texts)!r}")
        found = {} if self.cache is None else self.cache.get_texts(self.model_id, texts)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        for i in range(0, len(missing), self.config.batch_size):
            batch = missing[i : i + self.config.batch_size]
            for text, embedding in zip(batch, self._encode_texts(batch)):
                found[text] = embedding
                if self.cache is not None:
                    self.cache.put_text(self.model_id, text, embedding)
        return np.stack([found[t] for t in texts])

    def load(self):
        """The model and tokenizer, built once on first use, from any thread (call early to pay
        the loading time up front); a failed load is raised again without retrying."""
        with self._load_lock:
            if self._load_error is not None:
                raise self._load_error
            if self._model is None:
                try:
                    self._model, self._tokenizer = create_clip(self.config)
                except WeightsError as e:
                    self._load_error = e
                    raise
        return self._model, self._tokenizer

    def read_size(self) -> int | ShorterSide:
        """The smallest frames that lose nothing of what the model sees: the longer side at its
        input size (letterbox), or the shorter side (centre crop). Loads the model."""
        model, _ = self.load()
        size = model.visual.preprocess_cfg["size"]
        pixels = max(size) if isinstance(size, (tuple, list)) else int(size)
        return pixels if self.config.resize_mode == "longest" else ShorterSide(pixels)

    def _encode_images(self, images: np.ndarray) -> np.ndarray:
        import torch

        model, _ = self.load()
        with torch.inference_mode():
            batch = preprocess_frames(
                torch.from_numpy(images).to(resolve_device(self.config)),
                model.visual.preprocess_cfg,
                self.config.resize_mode,
            )
            features = model.encode_image(batch.to(next(model.parameters()).dtype), normalize=False)
            return _unit_rows(features)

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        model, tokenizer = self.load()
        with torch.inference_mode():
            tokens = tokenizer(texts).to(resolve_device(self.config))
            return _unit_rows(model.encode_text(tokens, normalize=False))


def create_clip(config: ClipConfig):
    """The open_clip model (eval mode, on its device and precision) and its tokenizer.

    The weights are found first (`locate_weights`: a missing file is reported at once, without
    network retries); what open_clip and huggingface_hub log while loading is silenced. A
    pretrained tag given with a `local-dir:` or `hf-hub:` model is ignored without a word.

    Raises:
        WeightsError: the weights or model config cannot be loaded, in one line with how to get them.
    """
    import open_clip

    weights = locate_weights(config.model, config.pretrained)
    try:
        with quiet_loading():
            model = open_clip.create_model(
                weights.model,
                pretrained=weights.checkpoint,
                precision=resolve_precision(config),
                device=resolve_device(config),
                force_preprocess_cfg=weights.preprocess,
            )
            tokenizer = open_clip.get_tokenizer(weights.model)
    except Exception as e:  # open_clip raises RuntimeError, ValueError, OS and torch loading errors
        message = str(e).strip()
        first = message.splitlines()[0] if message else repr(e)
        raise WeightsError(
            f"cannot load {describe(config.model, config.pretrained)} ({type(e).__name__}: {first}); "
            "check that the weights are those of this model"
        ) from e
    model.eval()
    return model, tokenizer


def preprocess_frames(images: torch.Tensor, preprocess_cfg: dict, resize_mode: str) -> torch.Tensor:
    """uint8 N x H x W x 3 frames -> normalised float N x 3 x S x S model input.

    `longest` scales the longer side to S and pads the rest with black (letterbox);
    `shortest` scales the shorter side to S and centre-crops.
    """
    import torch
    import torch.nn.functional as F

    size = preprocess_cfg["size"]
    height_out, width_out = (size, size) if isinstance(size, int) else size
    x = images.permute(0, 3, 1, 2).float() / 255.0
    height, width = x.shape[-2:]
    fit = min if resize_mode == "longest" else max
    scale = fit(height_out / height, width_out / width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    x = F.interpolate(x, size=(new_h, new_w), mode="bicubic", antialias=True, align_corners=False).clamp_(0, 1)
    top, left = (new_h - height_out) // 2, (new_w - width_out) // 2
    if resize_mode == "shortest":
        x = x[..., top : top + height_out, left : left + width_out]
    else:
        pad_top, pad_left = -top if top < 0 else 0, -left if left < 0 else 0
        x = F.pad(x, (pad_left, width_out - new_w - pad_left, pad_top, height_out - new_h - pad_top))
    mean = torch.tensor(preprocess_cfg["mean"], device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(preprocess_cfg["std"], device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def _unit_rows(features: torch.Tensor) -> np.ndarray:
    import torch.nn.functional as F

    return F.normalize(features.float(), dim=-1).cpu().numpy()


def _local_path(value: str | None) -> Path | None:
    if value is None:
        return None
    if value.startswith(LOCAL_DIR):
        return Path(value[len(LOCAL_DIR) :])
    return Path(value) if ("/" in value or value.endswith((".pt", ".bin", ".safetensors"))) else None
