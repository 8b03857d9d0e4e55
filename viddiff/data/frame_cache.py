"""Disk cache of sampled frames, keyed by the video's identity and the sampling arguments."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from viddiff.data.video import Crop, Frames, ShorterSide, Size, frame_image_paths

CACHE_FORMAT_VERSION = 2
"""Bump when what an entry holds, or how frames are sampled, changes: old entries then miss.
Version 2: entries hold the read's warnings."""


def default_cache_dir() -> Path:
    """Where frames are cached unless the caller says otherwise: ~/.cache/viddiff/frames."""
    return Path.home() / ".cache" / "viddiff" / "frames"


class FrameCache:
    """Frames of earlier `read_frames` calls: per entry, the images as an uncompressed `.npy`
    and a small `.json` (timestamps, source indices, fps, warnings), written last so that an
    entry whose `.json` exists is whole. An unreadable entry counts as a miss and is rewritten.
    A hit returns the warnings of the read that filled the entry (a truncated file keeps
    warning); they name the path as that read spelled it.

    A key covers the resolved path, the file's size and mtime (every image's, for a frame
    folder), and every sampling argument, so an edited video or other arguments miss.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def key(
        self,
        path: Path,
        *,
        fps: float,
        trim: tuple[int, int | None] | None,
        size: Size | None,
        crop: Crop | None,
        fps_original: float | None,
    ) -> str:
        """Hex digest naming the entry for reading `path` with these arguments."""
        description = {
            "version": CACHE_FORMAT_VERSION,
            "path": str(Path(path).resolve()),
            "identity": _identity(Path(path)),
            "trim": list(trim) if trim is not None else None,
            "fps": float(fps),
            "size": list(size) if isinstance(size, tuple) else {"shorter": size.pixels} if isinstance(size, ShorterSide) else size,
            "crop": list(crop) if crop is not None else None,
            "fps_original": float(fps_original) if fps_original is not None else None,
        }
        return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()

    def load(self, key: str) -> Frames | None:
        """The cached frames for `key`, or None when the entry is absent or unreadable."""
        images_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
            # Mapped from the file, read-only: a cached read copies nothing into fresh memory
            # (4 GB of full-size frames came back in 11 s by copy here, in 0.7 s at best).
            images = np.load(images_path, mmap_mode="r", allow_pickle=False)
            frames = Frames(
                images=images,
                timestamps=np.asarray(meta["timestamps"], dtype=np.float64),
                source_indices=np.asarray(meta["source_indices"], dtype=np.int64),
                fps=float(meta["fps"]),
                warnings=_warnings(meta["warnings"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return frames if _is_consistent(frames) else None

    def store(self, key: str, frames: Frames) -> None:
        """Write the entry for `key`, replacing any old one."""
        self.root.mkdir(parents=True, exist_ok=True)
        images_path, meta_path = self._paths(key)
        meta = {
            "timestamps": frames.timestamps.tolist(),
            "source_indices": frames.source_indices.tolist(),
            "fps": frames.fps,
            "warnings": list(frames.warnings),
        }
        _write_atomically(images_path, lambda f: np.save(f, frames.images, allow_pickle=False))
        _write_atomically(meta_path, lambda f: f.write(json.dumps(meta).encode()))

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.npy", self.root / f"{key}.json"


def _identity(path: Path) -> object:
    """What changes when the video changes: size and mtime of the file, or of each frame."""
    if path.is_dir():
        return [(p.name, *_size_and_mtime(p)) for p in frame_image_paths(path)]
    return _size_and_mtime(path)


def _size_and_mtime(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _warnings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise TypeError(f"warnings must be a list of strings, got {value!r}")
    return tuple(value)


def _is_consistent(frames: Frames) -> bool:
    n = len(frames.images)
    return (
        frames.images.dtype == np.uint8
        and frames.images.ndim == 4
        and frames.images.shape[3] == 3
        and len(frames.timestamps) == n
        and len(frames.source_indices) == n
    )


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write to a temporary name, then rename: readers see the old file or the whole new one."""
    temp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "wb") as f:
            write(f)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
