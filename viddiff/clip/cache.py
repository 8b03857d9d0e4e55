"""On-disk cache of CLIP embeddings: frames keyed by their pixels, strings one by one."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CACHE_FORMAT_VERSION = 1


def default_embedding_cache_dir() -> Path:
    return Path.home() / ".cache" / "viddiff" / "clip"


class EmbeddingCache:
    """Embeddings under `root/<model>/frames/` and `root/<model>/texts/`, one `.npy` per entry.

    `model_id` is any string that decides the embeddings (see `ClipConfig.identity`); frames
    are keyed by a hash of their shape and bytes, so the same frames reach the cache from any
    video, run or prompt variant. Unreadable entries count as misses and are rewritten.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()

    def get_frames(self, model_id: str, images: np.ndarray) -> np.ndarray | None:
        return _load(self._frames_path(model_id, images))

    def put_frames(self, model_id: str, images: np.ndarray, embeddings: np.ndarray) -> None:
        _store(self._frames_path(model_id, images), embeddings)

    def get_texts(self, model_id: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached embedding of each string that has one."""
        found = {}
        for text in texts:
            embedding = _load(self._text_path(model_id, text))
            if embedding is not None:
                found[text] = embedding
        return found

    def put_text(self, model_id: str, text: str, embedding: np.ndarray) -> None:
        _store(self._text_path(model_id, text), embedding)

    def _model_dir(self, model_id: str) -> Path:
        return self.root / _digest(f"v{CACHE_FORMAT_VERSION}|{model_id}".encode())[:24]

    def _frames_path(self, model_id: str, images: np.ndarray) -> Path:
        content = hashlib.blake2b(f"{images.shape}|{images.dtype}".encode(), digest_size=32)
        content.update(np.ascontiguousarray(images).data)
        return self._model_dir(model_id) / "frames" / f"{content.hexdigest()}.npy"

    def _text_path(self, model_id: str, text: str) -> Path:
        return self._model_dir(model_id) / "texts" / f"{_digest(text.encode())}.npy"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load(path: Path) -> np.ndarray | None:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None


def _store(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.tmp")  # unique: threads store the same key at once
    with open(temporary, "wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    os.replace(temporary, path)
