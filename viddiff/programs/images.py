"""Frames as the images a VLM receives: JPEG data URIs at a chosen size."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import dspy
import numpy as np
from PIL import Image


def encode_frames(images: np.ndarray, indices: Sequence[int], *, size: int, quality: int) -> list[dspy.Image]:
    """The frames at `indices` as JPEG data URIs, the longer side scaled down to at most `size`."""
    encoded = []
    for index in indices:
        image = Image.fromarray(images[index])
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        encoded.append(dspy.Image(f"data:image/jpeg;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"))
    return encoded
