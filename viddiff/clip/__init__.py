"""CLIP (open_clip) embeddings of frames and retrieval strings, with their on-disk cache.

Kept apart from `viddiff.retrieval` (pure numeric code) because it loads torch.
"""

from viddiff.clip.cache import EmbeddingCache, default_embedding_cache_dir
from viddiff.clip.embedder import (
    ClipEmbedder,
    WeightsError,
    clip_identity,
    create_clip,
    preprocess_frames,
    resolve_device,
    resolve_precision,
)

__all__ = [
    "ClipEmbedder",
    "EmbeddingCache",
    "WeightsError",
    "clip_identity",
    "create_clip",
    "default_embedding_cache_dir",
    "preprocess_frames",
    "resolve_device",
    "resolve_precision",
]
