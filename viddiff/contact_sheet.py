"""A contact sheet: for each difference, the frames of A and B it was judged on, side by side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viddiff.data.video import Frames
from viddiff.programs.records import DifferencePrediction

TILE = 160
GAP = 16
CAPTION = 18
HEADER = 22
MAX_TILES = 8
"""Most frames shown per video in a row (a difference judged on every frame of its videos, as
the frames system's are, shows an even subset, first and last included)."""
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


def contact_sheet(videos: tuple[Frames, Frames], predictions: Sequence[DifferencePrediction]) -> Image.Image:
    """One row per prediction: a header (difference and answer), video A's frames, a gap, B's frames."""
    widest = max((len(_shown(p.frames_a)) + len(_shown(p.frames_b)) for p in predictions), default=2)
    width = widest * TILE + GAP
    row_height = HEADER + TILE + CAPTION
    sheet = Image.new("RGB", (max(width, 4 * TILE), max(1, len(predictions)) * row_height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for row, prediction in enumerate(predictions):
        top = row * row_height
        answer = (prediction.answer or "?").upper() if prediction.error is None else "error"
        shown = (_shown(prediction.frames_a), _shown(prediction.frames_b))
        note = ""
        if len(shown[0]) < len(prediction.frames_a) or len(shown[1]) < len(prediction.frames_b):
            note = f" ({len(shown[0])} of {len(prediction.frames_a)} frames of A, {len(shown[1])} of {len(prediction.frames_b)} of B shown)"
        draw.text((4, top + 4), f"[{answer}] {prediction.description}{note}", fill=INK, font=font)
        x = 0
        for label, frames, indices in (("A", videos[0], shown[0]), ("B", videos[1], shown[1])):
            for index in indices:
                sheet.paste(_tile(frames.images[index]), (x, top + HEADER))
                draw.text((x + 4, top + HEADER + TILE + 2), f"{label} {frames.timestamps[index]:.2f}s", fill=INK, font=font)
                x += TILE
            x += GAP
    return sheet


def _shown(indices: Sequence[int]) -> list[int]:
    """At most MAX_TILES of the indices, evenly spread, first and last included."""
    if len(indices) <= MAX_TILES:
        return list(indices)
    return [indices[int(i)] for i in np.floor(np.linspace(0, len(indices) - 1, MAX_TILES) + 0.5)]


def _tile(image: np.ndarray) -> Image.Image:
    """The frame letterboxed into a TILE x TILE square."""
    picture = Image.fromarray(image)
    picture.thumbnail((TILE, TILE))
    tile = Image.new("RGB", (TILE, TILE), BACKGROUND)
    tile.paste(picture, ((TILE - picture.width) // 2, (TILE - picture.height) // 2))
    return tile
