"""CLIP (open_clip) embeddings of frames and retrieval strings, with their on-disk cache.

Kept apart from `viddiff.retrieval` (pure numeric code) because it loads torch; the package
itself loads nothing heavy until one of its names is used (`viddiff.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.clip.cache import EmbeddingCache, default_embedding_cache_dir
    from viddiff.clip.embedder import (
        ClipEmbedder,
        clip_identity,
        create_clip,
        preprocess_frames,
        resolve_device,
        resolve_precision,
    )
    from viddiff.clip.folder import write_random_clip_folder
    from viddiff.clip.weights import Weights, WeightsError, locate_weights

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "cache": ("EmbeddingCache", "default_embedding_cache_dir"),
        "embedder": ("ClipEmbedder", "clip_identity", "create_clip", "preprocess_frames", "resolve_device", "resolve_precision"),
        "folder": ("write_random_clip_folder",),
        "weights": ("Weights", "WeightsError", "locate_weights"),
    },
)
