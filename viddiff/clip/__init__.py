"""CLIP (open_clip) embeddings of frames and retrieval strings, with their on-disk cache.

Kept apart from `viddiff.retrieval` (pure numeric code) because it loads torch.
"""

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

__all__ = [
    "ClipEmbedder",
    "EmbeddingCache",
    "Weights",
    "WeightsError",
    "clip_identity",
    "create_clip",
    "default_embedding_cache_dir",
    "locate_weights",
    "preprocess_frames",
    "resolve_device",
    "resolve_precision",
    "write_random_clip_folder",
]
