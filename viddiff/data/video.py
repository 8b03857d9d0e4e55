"""Video files and frame folders: decoding sampled frames, and writing clips."""

from __future__ import annotations

import collections
import dataclasses
import functools
import io
import mmap
import re
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

import numpy as np
from PIL import Image

from viddiff.errors import MissingVideoError, ViddiffError, VideoError

if TYPE_CHECKING:
    import av  # imported where a video is opened: commands that read no video never load PyAV

    from viddiff.data.frame_cache import FrameCache

METHOD_FPS: dict[str, float] = {
    "fitness": 8, "ballsports": 5, "diving": 6, "music": 1, "surgery": 1
}
"""Frames per second the VidDiff method samples, per domain (SPEC section 2)."""
BASELINE_FPS: dict[str, float] = {
    "fitness": 4, "ballsports": 5, "diving": 6, "music": 1, "surgery": 1
}
"""Frames per second the single-call LMM baselines sample, per domain."""
FPS_TABLES: dict[str, dict[str, float]] = {"method": METHOD_FPS, "baseline": BASELINE_FPS}

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
"""File types read as frames in a frame folder (any case)."""

_TIME_TOLERANCE = 1e-6
"""Seconds; absorbs float rounding when comparing frame times with target times."""
_RATE_TOLERANCE = 1e-6
"""Relative; a requested fps this close above the original rate is allowed."""
SHORTFALL_SECONDS = 1.0
SHORTFALL_INTERVALS = 2
"""A read is "well short" (and its `Frames` carry a warning) when decoding stops more than
max(SHORTFALL_SECONDS, SHORTFALL_INTERVALS / fps) seconds before the expected end."""
FOLDER_NEEDS_RATE = "a frame folder needs its original frame rate (fps_original)"
"""The reason of the VideoError for a frame folder read without `fps_original`."""

@dataclasses.dataclass(frozen=True)
class ShorterSide:
    """A read size that scales the shorter side to `pixels` (never upscaling), e.g. what a
    centre-cropping CLIP needs; an int size scales the longer side."""

    pixels: int


Size = int | tuple[int, int] | ShorterSide
Crop = tuple[int, int, int, int]
_Payload = TypeVar("_Payload")


@dataclasses.dataclass(frozen=True)
class FrameOrigin:
    """The video file or frame folder sampled frames were read from, and the crop, size and
    (a folder's) frame rate of that read."""

    path: Path
    crop: Crop | None = None
    size: Size | None = None
    fps_original: float | None = None


@dataclasses.dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Frames:
    """Frames sampled from one video, in display orientation."""

    images: np.ndarray
    """uint8, N x H x W x 3 (RGB)."""
    timestamps: np.ndarray
    """float64 seconds: presentation time of each kept frame, from the stream's start."""
    source_indices: np.ndarray
    """int64: index of each kept frame among the original frames (what `frames_trim` and
    `retrieval_frames` count), in presentation order."""
    fps: float
    """The requested sampling rate."""
    warnings: tuple[str, ...] = ()
    """One line each: what went wrong without stopping the read (decoding stopped well short
    of the expected end: a truncated file, or a trim past the end of the video)."""
    origin: FrameOrigin | None = None
    """Where they were read from and how, so chosen frames can be read again at another size
    (`fetch_frames`); None for frames made in memory."""

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        """One short line (no pixel values), e.g. `Frames(40 frames 160x120, 8.0 fps, 0.00-4.88 s)`:
        count, width x height, sampling rate, first and last timestamp, and any warnings."""
        parts = [f"{len(self)} frames"]
        if len(self) and self.images.ndim == 4:
            parts[0] += f" {self.images.shape[2]}x{self.images.shape[1]}"
        parts.append(f"{round(self.fps, 2)} fps")
        if len(self.timestamps):
            parts.append(f"{self.timestamps[0]:.2f}-{self.timestamps[-1]:.2f} s")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) > 1 else ''}")
        return f"Frames({', '.join(parts)})"


def sampling_fps(
    domain: str, table: Literal["method", "baseline"] = "method", override: float | None = None
) -> float:
    """Frames per second to sample for a domain: `override` if given, else the table's value.

    Args:
        table: "method" (VidDiff's rates) or "baseline" (the single-call LMM baselines' rates).
    """
    if table not in FPS_TABLES:
        raise ViddiffError(f"unknown frame-rate table {table!r}; use one of {sorted(FPS_TABLES)}")
    if override is not None:
        if override <= 0:
            raise ViddiffError(f"fps override must be positive, got {override}")
        return float(override)
    rates = FPS_TABLES[table]
    if domain not in rates:
        raise ViddiffError(
            f"unknown domain {domain!r}; known domains are {sorted(rates)}; pass an fps override"
        )
    return float(rates[domain])


def read_frames(
    path: str | Path,
    fps: float,
    trim: tuple[int, int | None] | None = None,
    size: Size | None = None,
    *,
    fps_original: float | None = None,
    crop: Crop | None = None,
    cache: FrameCache | None = None,
) -> Frames:
    """Sample frames from a video file or a folder of frame images at `fps` frames per second.

    Sampling is by timestamp at the true requested rate: the target times are
    t0 + k / fps (k = 0, 1, ...) up to the last frame's time, where t0 is the time of the
    first frame inside the trim, and each target keeps the last frame shown at or before it.
    This is right on variable-frame-rate video. On a constant-rate clip whose rate is a
    multiple of `fps` it keeps every (rate / fps)-th frame, the integer stride of the
    published code. Where the video has a gap longer than 1 / fps, the frame shown during
    the gap is kept for each target inside it, so it appears more than once.

    Args:
        path: a video file, or a folder of frame images (.jpg, .jpeg, .png, .bmp, .webp),
            ordered by natural sort of their names (f2 before f10).
        fps: sampling rate; must not exceed the original rate.
        trim: Python slice [start, end) over the original frame indices; end None keeps to
            the last frame, an end past the last frame is clipped (with a warning when it is
            well past, see below).
        size: None keeps the original size; an int scales the longer side to that many
            pixels keeping the aspect ratio (never upscaling); (width, height) is exact.
        fps_original: frame rate of a frame folder (frame i is at i / fps_original);
            required for a folder, ignored for a file (its stream's timestamps are used).
        crop: (x, y, width, height) in display pixels of the full-size frame, applied
            before scaling (e.g. one half of a side-by-side pair).
        cache: where to keep decoded frames for the next identical read.

    Warnings: when decoding stops well short of the expected end, the result's `warnings`
    holds one line naming the path, where decoding stopped and where it was expected to:
    the expected end is the trim end's time (end / the original rate) when the trim has an
    end, else the file's declared duration (the stream's, or the container's); a frame
    folder without a trim end has none. Decoding stopped at the last decoded frame inside
    the trim plus one frame interval; "well short" is more than max(1 s, 2 / fps) before
    the expected end. A cached read keeps the warnings of the read that filled the cache.

    Raises:
        MissingVideoError: `path` does not exist.
        VideoError: the video cannot be read, or the arguments do not fit it.
    """
    path = Path(path)
    if not path.exists():
        raise MissingVideoError(path, "no such video file or frame folder; check the video root")
    trim = _checked_trim(path, trim)
    _check_arguments(path, fps, size, crop)
    origin = FrameOrigin(path, crop, size, fps_original)
    if cache is None:
        return dataclasses.replace(_read(path, fps, trim, size, crop, fps_original), origin=origin)
    key = cache.key(path, fps=fps, trim=trim, size=size, crop=crop, fps_original=fps_original)
    frames = cache.load(key)
    if frames is None:
        frames = _read(path, fps, trim, size, crop, fps_original)
        cache.store(key, frames)
    return dataclasses.replace(frames, origin=origin)


def fetch_frames(frames: Frames, indices: Sequence[int], size: Size | None) -> np.ndarray:
    """The sampled frames at `indices`, at least as large as reading them at `size` (None:
    full size) makes them: taken from `frames` as they are when they were read that large or
    larger (the caller scales them down), else read again at `size` from their video, seeking
    to each (or from their folder). A read for CLIP can so stay small while the VLM gets its
    few frames at the size it asks for.

    Frames made in memory (no `origin`) are given as they are.

    Raises:
        VideoError: their video cannot be read again.
    """
    indices = list(indices)
    origin = frames.origin
    if not indices:
        return frames.images[:0]
    if origin is None or _covers(frames, size):
        return frames.images[indices]
    keys = {i: (origin.path, origin.crop, size, int(frames.source_indices[i]), float(frames.timestamps[i])) for i in indices}
    images = {i: _FETCHED.get(key) for i, key in keys.items()}  # one lookup each: an entry may be evicted meanwhile
    missing = [i for i, image in images.items() if image is None]
    if missing and origin.path.is_dir():
        paths = frame_image_paths(origin.path)
        fetched = [_crop_and_resize(_load_image(paths[int(frames.source_indices[i])]), origin.crop, size) for i in missing]
    elif missing:
        fetched = list(_seek_frames(origin.path, [float(frames.timestamps[i]) for i in missing], size, origin.crop))
    for i, image in zip(missing, fetched if missing else (), strict=True):
        images[i] = image
        _FETCHED.put(keys[i], image)
    return np.stack([images[i] for i in indices])


class _FrameMemo:
    """The frames `fetch_frames` read again (the differences of a sample often share frames),
    the least recently used dropped beyond `capacity_bytes`; safe across threads."""

    def __init__(self, capacity_bytes: int):
        self._capacity = capacity_bytes
        self._bytes = 0
        self._items: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> np.ndarray | None:
        with self._lock:
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def put(self, key, image: np.ndarray) -> None:
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key).nbytes
            self._items[key] = image
            self._bytes += image.nbytes
            while self._bytes > self._capacity and len(self._items) > 1:
                self._bytes -= self._items.popitem(last=False)[1].nbytes


_FETCHED = _FrameMemo(capacity_bytes=128 * 2**20)


def _covers(frames: Frames, size: Size | None) -> bool:
    """Whether the frames as read are at least as large as reading them at `size` would make them."""
    origin = frames.origin
    if origin.size is None or origin.size == size or not len(frames):
        return True
    height, width = frames.images.shape[1:3]
    wanted = _output_size(_display_size(origin.path, origin.crop, int(frames.source_indices[0])), size)
    return wanted[0] <= width and wanted[1] <= height


@functools.lru_cache(maxsize=256)
def _display_size(path: Path, crop: Crop | None, first_index: int) -> tuple[int, int]:
    """(width, height) of a video's frames as displayed (rotated, cropped), from one frame."""
    if crop is not None:
        return crop[2], crop[3]
    if path.is_dir():
        image = _load_image(frame_image_paths(path)[first_index])
        return image.shape[1], image.shape[0]
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        quarter_turns = ((frame.rotation or 0) // 90) % 4
        return (frame.width, frame.height) if quarter_turns % 2 == 0 else (frame.height, frame.width)


SEEK_AHEAD_SECONDS = 2.0
"""A wanted frame less than this far after the last one decoded is reached by decoding on;
farther, by seeking to the keyframe before it."""


def _seek_frames(path: Path, times: Sequence[float], size: Size | None, crop: Crop | None) -> np.ndarray:
    """The frames shown at `times` (seconds from the stream's start, as `read_frames` gives
    them), decoded again at `size`, in the order asked."""
    import av

    order = sorted(range(len(times)), key=lambda i: times[i])
    images: list[np.ndarray | None] = [None] * len(times)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = stream.time_base or Fraction(1)
            origin = stream.start_time
            if origin is None:
                origin = next(container.decode(stream)).pts or 0
            decoded, last = iter(()), None
            for i in order:
                wanted = times[i]
                if last is None or wanted < last or wanted - last > SEEK_AHEAD_SECONDS:
                    container.seek(origin + int(wanted / time_base), stream=stream, backward=True, any_frame=False)
                    decoded = container.decode(stream)
                for frame in decoded:
                    last = float((frame.pts - origin) * time_base)
                    if last >= wanted - 1e-4:
                        images[i] = _frame_to_image(path, frame, size, crop)
                        break
                if images[i] is None:
                    raise VideoError(path, f"has no frame at {wanted:.3f} s to read again")
    except av.FFmpegError as e:
        raise VideoError(path, f"cannot be decoded again: {e}") from e
    return np.stack(images)


def _read(
    path: Path,
    fps: float,
    trim: tuple[int, int | None],
    size: Size | None,
    crop: Crop | None,
    fps_original: float | None,
) -> Frames:
    if path.is_dir():
        return _read_folder(path, fps, trim, size, crop, fps_original)
    return _read_file(path, fps, trim, size, crop)


def frame_image_paths(folder: Path) -> list[Path]:
    """Image files of a frame folder, in natural order of their names (f2 before f10)."""
    images = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(images, key=lambda p: (_natural_key(p.name), p.name))


def _natural_key(name: str) -> tuple[str | int, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _checked_trim(path: Path, trim: tuple[int, int | None] | None) -> tuple[int, int | None]:
    if trim is None:
        return 0, None
    start, end = trim
    if start < 0 or (end is not None and end < 0):
        raise VideoError(path, f"trim [{start}, {end}) has a negative index; use indices >= 0")
    if end is not None and start >= end:
        raise VideoError(path, f"trim [{start}, {end}) is empty; its start must be below its end")
    return start, end


def _check_arguments(path: Path, fps: float, size: Size | None, crop: Crop | None) -> None:
    if fps <= 0:
        raise VideoError(path, f"sampling fps must be positive, got {fps}")
    if size is not None and not _is_valid_size(size):
        raise VideoError(path, f"size {size!r} must be a positive int, (width, height) or ShorterSide(pixels)")
    if crop is not None:
        x, y, width, height = crop
        if x < 0 or y < 0 or width <= 0 or height <= 0:
            raise VideoError(path, f"crop {crop} needs x, y >= 0 and a positive width and height")


def _is_valid_size(size: object) -> bool:
    if isinstance(size, ShorterSide):
        return _is_valid_size(size.pixels)
    if isinstance(size, int) and not isinstance(size, bool):
        return size > 0
    return (
        isinstance(size, tuple)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    )


def _check_rate(path: Path, fps: float, original: float | None, what: str) -> None:
    if original is not None and fps > original * (1 + _RATE_TOLERANCE):
        raise VideoError(
            path, f"sampling fps {fps:g} is above the {what} {original:g}; use at most {original:g}"
        )


def _trim_error(path: Path, trim: tuple[int, int | None], n_frames: int) -> VideoError:
    start, end = trim
    return VideoError(
        path, f"trim [{start}, {end}) is outside the video, which has {n_frames} frames"
    )


class _ExpectedEnd(NamedTuple):
    """Where decoding should stop, in seconds from the stream's start, and why."""

    seconds: float
    source: str
    cause: str
    """What a read stopping well short of it suggests."""


def _trim_end(end: int, rate: float) -> _ExpectedEnd:
    return _ExpectedEnd(
        end / rate,
        f"trim end: frame {end} at {rate:g} fps",
        "the video may be truncated, or the trim end lies past its last frame",
    )


def _shortfall_warning(
    path: Path, fps: float, decoded_end: float, expected: _ExpectedEnd | None
) -> tuple[str, ...]:
    """The warning for a read whose decoding stopped at `decoded_end` seconds, well short of
    the expected end (see `read_frames`), or none."""
    if expected is None:
        return ()
    allowed = max(SHORTFALL_SECONDS, SHORTFALL_INTERVALS / fps)
    if expected.seconds - decoded_end <= allowed + _TIME_TOLERANCE:
        return ()
    return (
        f"{path}: decoded up to {decoded_end:.2f} s, well short of the {expected.seconds:.2f} s "
        f"expected ({expected.source}); {expected.cause}",
    )


def _sample_by_time(
    frames: Iterable[tuple[int, float, _Payload]], fps: float
) -> Iterator[tuple[int, float, _Payload]]:
    """For each target time t0 + k / fps up to the last frame's time, yield the last frame
    (index, time, payload) at or before it; frames must come in presentation order.

    A frame is yielded as soon as the next frame shows it is the last one before a target,
    so a payload is still valid when yielded (PyAV frames are only held one at a time).
    """
    candidate: tuple[int, float, _Payload] | None = None
    t0 = 0.0
    k = 0
    for frame in frames:
        if candidate is None:
            t0 = frame[1]
        else:
            while frame[1] > t0 + k / fps + _TIME_TOLERANCE:
                yield candidate
                k += 1
        candidate = frame
    if candidate is None:
        return
    while t0 + k / fps <= candidate[1] + _TIME_TOLERANCE:
        yield candidate
        k += 1


def _output_size(display: tuple[int, int], size: Size | None) -> tuple[int, int]:
    """(width, height) of an output frame whose display size is `display`."""
    if size is None:
        return display
    if isinstance(size, tuple):
        return size
    if isinstance(size, ShorterSide):
        shorter = min(display)
        if size.pixels >= shorter:
            return display
        width, height = display
        return max(1, round(width * size.pixels / shorter)), max(1, round(height * size.pixels / shorter))
    longer = max(display)
    if size >= longer:
        return display
    width, height = display
    return max(1, round(width * size / longer)), max(1, round(height * size / longer))


def _check_crop(path: Path, crop: Crop | None, display: tuple[int, int]) -> None:
    if crop is None:
        return
    x, y, width, height = crop
    if x + width > display[0] or y + height > display[1]:
        raise VideoError(
            path,
            f"crop {crop} (x, y, width, height) does not fit in the frame, "
            f"which is {display[0]}x{display[1]}",
        )


def _crop_and_resize(image: np.ndarray, crop: Crop | None, size: Size | None) -> np.ndarray:
    """Crop a display-oriented H x W x 3 image, then scale it with PIL (antialiased bilinear)."""
    if crop is not None:
        x, y, width, height = crop
        image = image[y : y + height, x : x + width]
    out = _output_size((image.shape[1], image.shape[0]), size)
    if out == (image.shape[1], image.shape[0]):
        return image
    resized = Image.fromarray(np.ascontiguousarray(image)).resize(out, Image.Resampling.BILINEAR)
    return np.asarray(resized)


class _FrameStack:
    """Kept images in one growing uint8 array, so peak memory stays near their total size."""

    def __init__(self, path: Path, capacity: int):
        self._path = path
        self._capacity = max(capacity, 1)
        self._array: np.ndarray | None = None
        self._count = 0

    def append(self, image: np.ndarray, index: int) -> None:
        if self._array is None:
            self._array = _mapped_in((self._capacity, *image.shape))
        elif image.shape != self._array.shape[1:]:
            h, w = self._array.shape[1:3]
            raise VideoError(
                self._path,
                f"frame {index} is {image.shape[1]}x{image.shape[0]}, but earlier frames are "
                f"{w}x{h}; pass size=(width, height) to scale every frame to one size",
            )
        if self._count == len(self._array):  # more frames than the stream's duration promised
            grown = _mapped_in((self._count * 3 // 2 + 1, *self._array.shape[1:]))
            grown[: self._count] = self._array
            self._array = grown
        self._array[self._count] = image
        self._count += 1

    def finish(self) -> np.ndarray:
        if self._array is None:
            return np.empty((0, 0, 0, 3), dtype=np.uint8)
        if self._count <= len(self._array) * 0.9:
            return self._array[: self._count].copy()  # give back what the estimate overshot
        return self._array[: self._count]


def _mapped_in(shape: tuple[int, ...]) -> np.ndarray:
    """A new uint8 array whose memory is mapped in by one call (MAP_POPULATE, on Linux) rather
    than page by page as frames are written into it: in this project's VM, that page-by-page
    first touch made a full-size read 1.2x slower than keeping the decoder's own buffers."""
    populate = getattr(mmap, "MAP_POPULATE", None)
    nbytes = int(np.prod(shape))
    if populate is None or nbytes == 0:
        return np.empty(shape, dtype=np.uint8)
    memory = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(memory, dtype=np.uint8).reshape(shape)


def _collect(
    path: Path,
    kept: Iterable[tuple[int, float, _Payload]],
    to_image: Callable[[_Payload], np.ndarray],
    capacity: int,
    fps: float,
) -> Frames:
    """Convert each kept frame once (a frame kept twice reuses its image) into `Frames`
    (without warnings: the caller adds them once the reading is done)."""
    stack = _FrameStack(path, capacity)
    timestamps: list[float] = []
    indices: list[int] = []
    image = np.empty(0, dtype=np.uint8)
    for index, timestamp, payload in kept:
        if not indices or indices[-1] != index:
            image = to_image(payload)
        stack.append(image, index)
        timestamps.append(timestamp)
        indices.append(index)
    return Frames(
        images=stack.finish(),
        timestamps=np.asarray(timestamps, dtype=np.float64),
        source_indices=np.asarray(indices, dtype=np.int64),
        fps=float(fps),
    )


def _read_folder(
    folder: Path,
    fps: float,
    trim: tuple[int, int | None],
    size: Size | None,
    crop: Crop | None,
    fps_original: float | None,
) -> Frames:
    if fps_original is None:
        raise VideoError(folder, FOLDER_NEEDS_RATE)
    if fps_original <= 0:
        raise VideoError(folder, f"fps_original must be positive, got {fps_original}")
    paths = frame_image_paths(folder)
    if not paths:
        raise VideoError(folder, f"frame folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
    _check_rate(folder, fps, fps_original, "frame folder's fps_original")
    start, end = trim
    if start >= len(paths):
        raise _trim_error(folder, trim, len(paths))
    stop = len(paths) if end is None else min(end, len(paths))
    in_trim = ((i, i / fps_original, paths[i]) for i in range(start, stop))
    kept = list(_sample_by_time(in_trim, fps))

    def to_image(image_path: Path) -> np.ndarray:
        image = _load_image(image_path)
        _check_crop(image_path, crop, (image.shape[1], image.shape[0]))
        return _crop_and_resize(image, crop, size)

    frames = _collect(folder, kept, to_image, len(kept), fps)
    if end is None:
        return frames
    warnings = _shortfall_warning(folder, fps, stop / fps_original, _trim_end(end, fps_original))
    return dataclasses.replace(frames, warnings=warnings)


def _load_image(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise VideoError(path, f"cannot be read as an image ({e}); replace or remove it") from e


def _read_file(
    path: Path, fps: float, trim: tuple[int, int | None], size: Size | None, crop: Crop | None
) -> Frames:
    import av

    if path.stat().st_size == 0:
        raise VideoError(path, "is empty (0 bytes); download or copy the video again")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(path, "has no video stream; is it a video file?")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame and slice threads: decoding is the bottleneck
            rate = stream.average_rate or stream.guessed_rate
            _check_rate(path, fps, float(rate) if rate else None, "video's frame rate")
            decoded = _DecodedFrames(path, container, stream, trim)
            frames = _collect(
                path,
                _sample_by_time(decoded, fps),
                lambda frame: _frame_to_image(path, frame, size, crop),
                _estimated_kept_count(stream, trim, fps),
                fps,
            )
            expected = _expected_end(container, stream, trim[1])
    except av.FFmpegError as e:
        raise VideoError(path, f"cannot be decoded: {e}; is it a video file?") from e
    if decoded.count == 0:
        raise VideoError(path, "decodes to zero frames; the file is truncated or holds no video")
    if len(frames) == 0 or decoded.last_time is None:
        raise _trim_error(path, trim, decoded.count)
    rate = stream.average_rate or stream.guessed_rate
    decoded_end = decoded.last_time + (1 / float(rate) if rate else 0.0)
    warnings = _shortfall_warning(path, fps, decoded_end, expected)
    return dataclasses.replace(frames, warnings=warnings) if warnings else frames


def _expected_end(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, end: int | None
) -> _ExpectedEnd | None:
    """Where decoding should stop, from metadata only: the trim end's time if the trim has an
    end, else the declared duration; None when the file does not say."""
    import av

    truncated = "the file may be truncated"
    if end is not None:
        rate = stream.average_rate or stream.guessed_rate
        return _trim_end(end, float(rate)) if rate else None
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
        return _ExpectedEnd(seconds, "the stream's declared duration", truncated)
    if container.duration:
        seconds = container.duration / av.time_base
        return _ExpectedEnd(seconds, "the container's declared duration", truncated)
    return None


class _DecodedFrames:
    """Decodes sequentially, yielding (index, seconds from stream start, frame) inside a trim,
    and stopping after its end; `count` is how many frames were decoded, `last_time` the
    time of the last frame yielded (None before the first)."""

    def __init__(
        self,
        path: Path,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        trim: tuple[int, int | None],
    ):
        self._path = path
        self._container = container
        self._stream = stream
        self._trim = trim
        self.count = 0
        self.last_time: float | None = None

    def __iter__(self) -> Iterator[tuple[int, float, av.VideoFrame]]:
        start, end = self._trim
        time_base = self._stream.time_base or Fraction(1)
        rate = self._stream.average_rate or self._stream.guessed_rate
        origin = self._stream.start_time
        for index, frame in enumerate(self._container.decode(self._stream)):
            self.count = index + 1
            if end is not None and index >= end:
                return
            if origin is None:
                origin = frame.pts
            if index < start:
                continue
            if frame.pts is not None:
                timestamp = float((frame.pts - (origin or 0)) * time_base)
            elif rate:
                timestamp = float(index / rate)  # no timestamp: assume the nominal constant rate
            else:
                raise VideoError(self._path, f"frame {index} has no timestamp, the stream no rate")
            self.last_time = timestamp
            yield index, timestamp, frame


def _estimated_kept_count(
    stream: av.video.stream.VideoStream, trim: tuple[int, int | None], fps: float
) -> int:
    """How many frames sampling will keep, from the stream's metadata (a first buffer size)."""
    rate = stream.average_rate
    n_frames = stream.frames
    if not n_frames and rate and stream.duration and stream.time_base:
        n_frames = int(stream.duration * stream.time_base * rate)
    if not rate or not n_frames:
        return 64
    start, end = trim
    last = n_frames - 1 if end is None else min(end, n_frames) - 1
    return max(int((last - start) / rate * fps) + 1, 1)


def _frame_to_image(
    path: Path, frame: av.VideoFrame, size: Size | None, crop: Crop | None
) -> np.ndarray:
    """RGB array of a decoded frame in display orientation, cropped and scaled."""
    rotation = frame.rotation or 0
    if rotation % 90:
        raise VideoError(
            path, f"has a display rotation of {rotation} degrees; only multiples of 90 are handled"
        )
    quarter_turns = (rotation // 90) % 4
    display = (frame.width, frame.height) if quarter_turns % 2 == 0 else (frame.height, frame.width)
    _check_crop(path, crop, display)
    if crop is not None:
        full = np.rot90(frame.to_ndarray(format="rgb24"), k=quarter_turns)
        return _crop_and_resize(full, crop, size)
    width, height = _output_size(display, size)
    if quarter_turns % 2:
        width, height = height, width
    if (width, height) == (frame.width, frame.height):
        coded = frame.to_ndarray(format="rgb24")
    else:
        coded = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
    return np.rot90(coded, k=quarter_turns)


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
    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        _encode(container, frames, fps, timestamps=timestamps, rotation=rotation, crf=crf)
    if rotation and not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        _write_track_rotation(path, rotation)
    return path


def _write_track_rotation(path: Path, rotation: int) -> None:
    """Store a display rotation (a multiple of 90 degrees, counter-clockwise) in the MP4's track
    header matrix, as PyAV 16's `set_display_rotation` makes FFmpeg write it; for PyAV 15, which
    has no way to set it (lmms-eval pins av<16)."""
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90 degrees, got {rotation}")
    cos, sin = [(1, 0), (0, 1), (-1, 0), (0, -1)][(rotation // 90) % 4]
    one, w = 1 << 16, 1 << 30  # 16.16 and 2.30 fixed point
    matrix = struct.pack(">9i", cos * one, -sin * one, 0, sin * one, cos * one, 0, 0, 0, w)
    data = bytearray(path.read_bytes())
    box = data.index(b"tkhd")  # the one track's header: type, version/flags, times, reserved, layer..volume
    start = box + 4 + 4 + (20 if data[box + 4] == 0 else 32) + 16
    data[start : start + 36] = matrix
    path.write_bytes(bytes(data))


def video_bytes(frames: Iterable[np.ndarray], fps: float, *, crf: int = 18) -> bytes:
    """RGB frames (H x W x 3 uint8, even H and W) as the bytes of an H.264 MP4, frame i at i / fps."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        _encode(container, frames, fps, crf=crf)
    return buffer.getvalue()


def _encode(container, frames: Iterable[np.ndarray], fps: float, *, timestamps=None, rotation: int = 0, crf: int = 18) -> None:
    import av

    time_base = Fraction(1, 90_000)
    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.pix_fmt = "yuv420p"
    stream.time_base = stream.codec_context.time_base = time_base
    # One encoder thread keeps the output byte-identical from run to run.
    stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
    if rotation and hasattr(stream, "set_display_rotation"):  # PyAV 16+; else write_video patches the file
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
