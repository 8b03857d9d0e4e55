"""Frames as the images a VLM receives: JPEG or PNG data URIs at a chosen size and detail."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dspy
import numpy as np
from PIL import Image

from viddiff.data.video import Frames, fetch_frames

IMAGE_FORMATS = {"jpeg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png")}
"""Format name -> (PIL format, MIME type of the data URI)."""
IMAGE_DETAILS = ("auto", "low", "high")


class DetailedImage(dspy.Image):
    """A `dspy.Image` whose OpenAI-style part carries `detail`:
    `{"type": "image_url", "image_url": {"url": ..., "detail": "high"}}`.

    dspy 3.4.1's `Image` has no detail field (its `format()` writes the URL alone); a
    `dspy.Type` subclass overriding `format()` is DSPy's documented way to shape a part. DSPy
    keeps the key through its request conversion (lm15 `ImagePart.detail`) to OpenAI's chat
    and responses APIs, and it is part of the message, hence of DSPy's cache key. Other
    providers' dialects drop it.
    """

    detail: Literal["low", "high", "auto"]

    def format(self) -> list[dict[str, Any]]:
        return [{"type": "image_url", "image_url": {"url": self.url, "detail": self.detail}}]


@dataclass(frozen=True)
class ImageEncoding:
    """How frames are encoded for the VLM (see `encode_frames`): the config's `image_size`,
    `image_format`, `jpeg_quality` and `image_detail`."""

    size: int | None = 512
    format: str = "jpeg"
    quality: int = 85
    detail: str = "auto"

    @classmethod
    def of(cls, config) -> ImageEncoding:
        """The encoding a RunConfig asks for."""
        return cls(config.image_size, config.image_format, config.jpeg_quality, config.image_detail)

    def encode(self, images: np.ndarray, indices: Sequence[int]) -> list[dspy.Image]:
        return encode_frames(images, indices, size=self.size, quality=self.quality, format=self.format, detail=self.detail)

    def encode_chosen(self, frames: Frames, indices: Iterable[int]) -> dict[int, dspy.Image]:
        """The frames at `indices`, by index, encoded at this size: read again from their video,
        in one pass, when the frames at hand were read smaller (for CLIP; `fetch_frames`)."""
        indices = sorted(set(indices))
        pixels = fetch_frames(frames, indices, self.size)
        return dict(zip(indices, self.encode(pixels, range(len(pixels))), strict=True))


def encode_frames(
    images: np.ndarray,
    indices: Sequence[int],
    *,
    size: int | None,
    quality: int,
    format: str = "jpeg",
    detail: str = "auto",
) -> list[dspy.Image]:
    """The frames at `indices` as data URIs for the VLM.

    Args:
        size: the longer side is scaled down to at most this many pixels; None keeps the
            frames as decoded (full resolution when they were decoded at full size).
        quality: JPEG quality (1-100); unused for PNG.
        format: `jpeg` or `png` (lossless).
        detail: OpenAI's image detail, `low` or `high`; `auto` sends no detail key (the API
            then uses auto), so the request is a plain `dspy.Image`.
    """
    if format not in IMAGE_FORMATS:
        raise ValueError(f"image format must be one of {', '.join(IMAGE_FORMATS)}, got {format!r}")
    if detail not in IMAGE_DETAILS:
        raise ValueError(f"image detail must be one of {', '.join(IMAGE_DETAILS)}, got {detail!r}")
    pil_format, mime = IMAGE_FORMATS[format]
    encoded = []
    for index in indices:
        image = Image.fromarray(images[index])
        if size is not None:
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format=pil_format, **({"quality": quality} if pil_format == "JPEG" else {}))
        uri = f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
        encoded.append(dspy.Image(uri) if detail == "auto" else DetailedImage(uri, detail=detail))
    return encoded
