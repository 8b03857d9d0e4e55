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
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)


def contact_sheet(videos: tuple[Frames, Frames], predictions: Sequence[DifferencePrediction]) -> Image.Image:
    """One row per prediction: a header (difference and answer), video A's frames, a gap, B's frames."""
    widest = max((len(p.frames_a) + len(p.frames_b) for p in predictions), default=2)
    width = widest * TILE + GAP
    row_height = HEADER + TILE + CAPTION
    sheet = Image.new("RGB", (max(width, 4 * TILE), max(1, len(predictions)) * row_height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for row, prediction in enumerate(predictions):
        top = row * row_height
        answer = (prediction.answer or "?").upper() if prediction.error is None else "error"
        draw.text((4, top + 4), f"[{answer}] {prediction.description}", fill=INK, font=font)
        x = 0
        for label, frames, indices in (("A", videos[0], prediction.frames_a), ("B", videos[1], prediction.frames_b)):
            for index in indices:
                sheet.paste(_tile(frames.images[index]), (x, top + HEADER))
                draw.text((x + 4, top + HEADER + TILE + 2), f"{label} {frames.timestamps[index]:.2f}s", fill=INK, font=font)
                x += TILE
            x += GAP
    return sheet


def _tile(image: np.ndarray) -> Image.Image:
    """The frame letterboxed into a TILE x TILE square."""
    picture = Image.fromarray(image)
    picture.thumbnail((TILE, TILE))
    tile = Image.new("RGB", (TILE, TILE), BACKGROUND)
    tile.paste(picture, ((TILE - picture.width) // 2, (TILE - picture.height) // 2))
    return tile
