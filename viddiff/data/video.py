"""Video files and frame folders: decoding sampled frames, and writing clips."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    timestamps: Sequence[float] | None = None,
    rotation: int = 0,
    crf: int = 18,
) -> Path:
    """Encode RGB frames (H x W x 3 uint8, even H and W) as H.264 in an MP4 file.

    Args:
        fps: nominal frame rate; frame i is shown at i / fps unless `timestamps` is given.
        timestamps: presentation time of each frame in seconds (strictly increasing), for
            variable-frame-rate clips.
        rotation: display rotation in degrees, counter-clockwise, stored in the container's
            display matrix (as phones do); the pixels are stored unrotated.
    """
    path = Path(path)
    time_base = Fraction(1, 90_000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.pix_fmt = "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base
        # One encoder thread keeps the output byte-identical from run to run.
        stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        if rotation:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            if i == 0:
                stream.height, stream.width = image.shape[:2]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            t = timestamps[i] if timestamps is not None else i / fps
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
