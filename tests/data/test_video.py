"""Frame sampling from video files and frame folders, and the frame cache."""

from __future__ import annotations

import json
import os
import re
import struct
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from viddiff.data.frame_cache import FrameCache, default_cache_dir
from viddiff.data.video import (
    BASELINE_FPS,
    FOLDER_NEEDS_RATE,
    METHOD_FPS,
    Frames,
    _sample_by_time,
    read_frames,
    sampling_fps,
    write_video,
)
from viddiff.errors import MissingVideoError, ViddiffError, VideoError

BLOCK = 16
"""Side of one code block: H.264 macroblocks, so a block's level survives encoding."""
HEIGHT, WIDTH = 64, 96
GRID = (HEIGHT // BLOCK, WIDTH // BLOCK)


def code_frame(number: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A frame showing `number` in binary: one black or white block per bit, row-major."""
    rows, cols = height // BLOCK, width // BLOCK
    bits = [(number >> b) & 1 for b in range(rows * cols)]
    blocks = np.array(bits, dtype=np.uint8).reshape(rows, cols) * 255
    return np.repeat(np.repeat(blocks, BLOCK, axis=0), BLOCK, axis=1)[..., None].repeat(3, axis=2)


def read_code(image: np.ndarray, grid: tuple[int, int] = GRID) -> int:
    """The number `code_frame` drew, from an image of any size showing the same grid."""
    rows, cols = grid
    height, width = image.shape[:2]
    number = 0
    for bit in range(rows * cols):
        r, c = divmod(bit, cols)
        block = image[r * height // rows : (r + 1) * height // rows,
                      c * width // cols : (c + 1) * width // cols]
        number |= int(block.mean() > 128) << bit
    return number


def read_codes(images: np.ndarray, grid: tuple[int, int] = GRID) -> list[int]:
    return [read_code(image, grid) for image in images]


def names(path: Path, text: str) -> str:
    """A `match` pattern: the message names the file, then says `text`."""
    return re.escape(str(path)) + ".*" + text


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    write_video(folder / "cfr30.mp4", (code_frame(i) for i in range(60)), 30)
    pair = (np.concatenate([code_frame(i), code_frame(63 - i)], axis=1) for i in range(30))
    write_video(folder / "pair.mp4", pair, 30)
    return folder


@pytest.fixture
def cfr30(clips: Path) -> Path:
    """2 s at 30 fps, 96x64; frame i shows i."""
    return clips / "cfr30.mp4"


# --- sampling on constant-rate video ---------------------------------------------------

def test_cfr_at_10_fps_keeps_every_third_frame(cfr30: Path) -> None:
    frames = read_frames(cfr30, 10)
    expected = list(range(0, 60, 3))
    assert frames.source_indices.tolist() == expected
    assert read_codes(frames.images) == expected
    np.testing.assert_array_equal(frames.timestamps, [k / 10 for k in range(20)])
    assert frames.images.shape == (20, HEIGHT, WIDTH, 3)
    assert frames.images.dtype == np.uint8
    assert frames.source_indices.dtype == np.int64
    assert frames.fps == 10.0
    assert len(frames) == 20
    assert frames.warnings == ()


def test_cfr_at_8_fps_keeps_last_frame_at_or_before_each_target(cfr30: Path) -> None:
    frames = read_frames(cfr30, 8)
    # target k / 8 s keeps frame floor(30 k / 8); the last target is 15 / 8 = 1.875 s
    expected = [0, 3, 7, 11, 15, 18, 22, 26, 30, 33, 37, 41, 45, 48, 52, 56]
    assert frames.source_indices.tolist() == expected
    assert read_codes(frames.images) == expected
    np.testing.assert_array_equal(frames.timestamps, [i / 30 for i in expected])


def test_sampling_at_the_original_rate_keeps_every_frame(cfr30: Path) -> None:
    frames = read_frames(cfr30, 30)
    assert frames.source_indices.tolist() == list(range(60))


# --- variable frame rate ---------------------------------------------------------------

VFR_TIMES = [0.0, 0.01, 0.05, 0.2, 0.21, 0.5, 0.51, 0.52, 0.9, 1.0]


def test_vfr_keeps_last_frame_whose_time_is_at_or_before_each_target(tmp_path: Path) -> None:
    path = write_video(tmp_path / "vfr.mp4", (code_frame(i) for i in range(10)), 30,
                       timestamps=VFR_TIMES)
    frames = read_frames(path, 10)
    # targets 0.0, 0.1, ..., 1.0; the gaps 0.21-0.5 and 0.52-0.9 repeat frames 4 and 7
    expected = [0, 2, 3, 4, 4, 5, 7, 7, 7, 8, 9]
    assert frames.source_indices.tolist() == expected
    assert read_codes(frames.images) == expected
    np.testing.assert_array_equal(frames.timestamps, [VFR_TIMES[i] for i in expected])
    assert frames.warnings == ()


def test_sample_by_time_matches_brute_force_on_random_timestamps() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        times = np.cumsum(rng.uniform(0.001, 0.3, size=int(rng.integers(1, 40))))
        fps = float(rng.uniform(0.5, 12))
        kept = [i for i, _, _ in _sample_by_time(((i, t, None) for i, t in enumerate(times)), fps)]
        targets = times[0] + np.arange(int((times[-1] - times[0]) * fps) + 2) / fps
        targets = targets[targets <= times[-1] + 1e-6]
        reference = [int(np.flatnonzero(times <= t + 1e-6)[-1]) for t in targets]
        assert kept == reference


# --- rotation, size, crop --------------------------------------------------------------

def corner_frame() -> np.ndarray:
    """Stored 96x64 frame, black with a white 16x16 block in its top-left corner."""
    image = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[:BLOCK, :BLOCK] = 255
    return image


def white_corner(image: np.ndarray) -> str:
    h, w = image.shape[:2]
    top, bottom = slice(None, h // 4), slice(-(h // 4), None)
    left, right = slice(None, w // 4), slice(-(w // 4), None)
    corners = {
        "top-left": image[top, left], "top-right": image[top, right],
        "bottom-left": image[bottom, left], "bottom-right": image[bottom, right],
    }
    bright = [name for name, patch in corners.items() if patch.mean() > 128]
    assert len(bright) == 1, bright
    return bright[0]


@pytest.mark.parametrize(
    ("rotation", "corner"),
    [(0, "top-left"), (90, "bottom-left"), (-90, "top-right"), (270, "top-right"),
     (180, "bottom-right")],
)
def test_rotation_gives_display_orientation(tmp_path: Path, rotation: int, corner: str) -> None:
    path = write_video(tmp_path / "rotated.mp4", [corner_frame()] * 3, 30, rotation=rotation)
    frames = read_frames(path, 30)
    quarter = rotation % 180 == 90
    assert frames.images.shape[1:3] == ((WIDTH, HEIGHT) if quarter else (HEIGHT, WIDTH))
    assert white_corner(frames.images[0]) == corner


def test_rotated_clip_scaled_by_longer_display_side(tmp_path: Path) -> None:
    path = write_video(tmp_path / "rotated.mp4", [corner_frame()] * 3, 30, rotation=90)
    frames = read_frames(path, 30, size=48)
    assert frames.images.shape == (3, 48, 32, 3)
    assert white_corner(frames.images[0]) == "bottom-left"
    exact = read_frames(path, 30, size=(40, 60))
    assert exact.images.shape == (3, 60, 40, 3)
    assert white_corner(exact.images[0]) == "bottom-left"


def test_crop_is_in_display_pixels_of_a_rotated_clip(tmp_path: Path) -> None:
    path = write_video(tmp_path / "rotated.mp4", [corner_frame()] * 3, 30, rotation=90)
    # displayed 64 wide x 96 high, the white block at x 0-16, y 80-96
    frames = read_frames(path, 30, crop=(0, 48, 32, 48))
    assert frames.images.shape == (3, 48, 32, 3)
    assert white_corner(frames.images[0]) == "bottom-left"
    with pytest.raises(VideoError, match=names(path, "does not fit.*64x96")):
        read_frames(path, 30, crop=(0, 0, 96, 64))


def test_size_int_scales_longer_side_and_never_upscales(cfr30: Path) -> None:
    frames = read_frames(cfr30, 10, size=48)
    assert frames.images.shape == (20, 32, 48, 3)
    assert read_codes(frames.images) == list(range(0, 60, 3))
    assert read_frames(cfr30, 10, size=500).images.shape == (20, HEIGHT, WIDTH, 3)


def test_size_pair_is_exact_width_and_height(cfr30: Path) -> None:
    frames = read_frames(cfr30, 10, size=(40, 30))
    assert frames.images.shape == (20, 30, 40, 3)
    assert read_codes(frames.images) == list(range(0, 60, 3))


def test_crop_splits_a_side_by_side_pair(clips: Path) -> None:
    path = clips / "pair.mp4"
    left = read_frames(path, 10, crop=(0, 0, WIDTH, HEIGHT))
    right = read_frames(path, 10, crop=(WIDTH, 0, WIDTH, HEIGHT), size=48)
    assert left.images.shape == (10, HEIGHT, WIDTH, 3)
    assert right.images.shape == (10, 32, 48, 3)
    assert read_codes(left.images) == list(range(0, 30, 3))
    assert read_codes(right.images) == [63 - i for i in range(0, 30, 3)]
    np.testing.assert_array_equal(left.timestamps, right.timestamps)


# --- trim ------------------------------------------------------------------------------

def test_trim_samples_from_its_first_frame(cfr30: Path) -> None:
    frames = read_frames(cfr30, 10, trim=(5, 20))
    expected = [5, 8, 11, 14, 17]
    assert frames.source_indices.tolist() == expected
    assert read_codes(frames.images) == expected
    np.testing.assert_array_equal(frames.timestamps, [i / 30 for i in expected])


def test_trim_end_past_the_last_frame_is_clipped(cfr30: Path) -> None:
    assert read_frames(cfr30, 10, trim=(50, 1000)).source_indices.tolist() == [50, 53, 56, 59]
    assert read_frames(cfr30, 10, trim=(50, None)).source_indices.tolist() == [50, 53, 56, 59]
    assert read_frames(cfr30, 10, trim=(5, 20)).warnings == ()
    assert read_frames(cfr30, 10, trim=(50, None)).warnings == ()


# --- decoding that stops well short of the expected end --------------------------------

def test_truncated_file_warns_with_where_decoding_stopped(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.mkv", (code_frame(i) for i in range(120)), 30)  # 4 s
    assert read_frames(full, 30).warnings == ()
    data = full.read_bytes()
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[: len(data) // 2])  # the header still declares 4 s
    frames = read_frames(path, 30)  # every decoded frame is kept: the last is where it stopped
    assert 0 < len(frames) < 100
    stopped = frames.timestamps[-1] + 1 / 30
    (warning,) = frames.warnings
    assert re.fullmatch(
        re.escape(f"{path}: decoded up to {stopped:.2f} s, well short of the 4.00 s expected (the ")
        + "(stream|container)"
        + re.escape("'s declared duration); the file may be truncated"),
        warning,
    ), warning


def write_clip_claiming(path: Path, frames: int, claimed_ms: float) -> Path:
    """A 30 fps Matroska clip of `frames` frames whose header claims `claimed_ms` milliseconds."""
    data = write_video(path, (code_frame(i) for i in range(frames)), 30).read_bytes()
    at = data.index(bytes.fromhex("4489") + b"\x88") + 3  # Segment Info > Duration, 8-byte float
    assert struct.unpack(">d", data[at : at + 8]) == (frames / 30 * 1000,)
    path.write_bytes(data[:at] + struct.pack(">d", claimed_ms) + data[at + 8 :])
    return path


def test_clip_whose_container_claims_a_longer_duration_warns(tmp_path: Path) -> None:
    path = write_clip_claiming(tmp_path / "claims.mkv", 30, 4000.0)  # 1 s of frames, claims 4 s
    frames = read_frames(path, 10)
    assert frames.source_indices.tolist() == list(range(0, 30, 3))
    assert frames.warnings == (
        f"{path}: decoded up to 1.00 s, well short of the 4.00 s expected (the container's "
        "declared duration); the file may be truncated",
    )


def test_shortfall_of_at_most_the_allowance_does_not_warn(tmp_path: Path) -> None:
    # allowed: max(1 s, 2 sampling intervals): 1 s at 10 fps, 2 s at 1 fps
    assert read_frames(write_clip_claiming(tmp_path / "a.mkv", 30, 2000.0), 10).warnings == ()
    assert len(read_frames(write_clip_claiming(tmp_path / "b.mkv", 30, 2050.0), 10).warnings) == 1
    assert read_frames(write_clip_claiming(tmp_path / "c.mkv", 30, 3000.0), 1).warnings == ()
    assert len(read_frames(write_clip_claiming(tmp_path / "d.mkv", 30, 3050.0), 1).warnings) == 1


def test_trim_end_well_past_the_video_warns(cfr30: Path) -> None:
    frames = read_frames(cfr30, 10, trim=(30, 120))  # asks up to 4 s of a 2 s clip
    assert frames.source_indices.tolist() == list(range(30, 60, 3))
    assert frames.warnings == (
        f"{cfr30}: decoded up to 2.00 s, well short of the 4.00 s expected (trim end: frame 120 "
        "at 30 fps); the video may be truncated, or the trim end lies past its last frame",
    )
    assert read_frames(cfr30, 10, trim=(30, 90)).warnings == ()  # 1 s short: within 1 s
    assert read_frames(cfr30, 1, trim=(0, 120)).warnings == ()  # 2 s short: within 2 / fps
    assert len(read_frames(cfr30, 1, trim=(0, 121)).warnings) == 1


def test_trim_end_well_past_a_frame_folder_warns(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 12)
    frames = read_frames(folder, 2, trim=(0, 24), fps_original=6)
    assert frames.source_indices.tolist() == [0, 3, 6, 9]
    assert frames.warnings == (
        f"{folder}: decoded up to 2.00 s, well short of the 4.00 s expected (trim end: frame 24 "
        "at 6 fps); the video may be truncated, or the trim end lies past its last frame",
    )
    assert read_frames(folder, 2, trim=(0, 18), fps_original=6).warnings == ()
    assert read_frames(folder, 2, fps_original=6).warnings == ()


# --- repr ------------------------------------------------------------------------------

def test_repr_is_one_short_line(cfr30: Path) -> None:
    frames = Frames(
        images=np.zeros((40, 120, 160, 3), np.uint8),
        timestamps=np.arange(40) / 8,
        source_indices=np.arange(40) * 3,
        fps=8.0,
    )
    assert repr(frames) == "Frames(40 frames 160x120, 8.0 fps, 0.00-4.88 s)"
    assert str(frames) == repr(frames)
    assert repr(read_frames(cfr30, 10, size=48)) == "Frames(20 frames 48x32, 10.0 fps, 0.00-1.90 s)"
    warned = read_frames(cfr30, 7.5, trim=(30, 120))
    assert repr(warned) == "Frames(8 frames 96x64, 7.5 fps, 1.00-1.93 s, 1 warning)"
    empty = Frames(np.empty((0, 0, 0, 3), np.uint8), np.empty(0), np.empty(0, np.int64), 2.0)
    assert repr(empty) == "Frames(0 frames, 2.0 fps)"


# --- frame folders ---------------------------------------------------------------------

def write_frame_folder(folder: Path, count: int, name: str = "f{}.png") -> Path:
    folder.mkdir()
    for i in range(count):
        Image.fromarray(code_frame(i)).save(folder / name.format(i))
    return folder


def test_folder_frames_in_natural_order_with_trim(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 25)  # f2.png must come before f10.png
    (folder / "notes.txt").write_text("not a frame")
    frames = read_frames(folder, 5, trim=(3, 12), fps_original=10)
    expected = [3, 5, 7, 9, 11]
    assert frames.source_indices.tolist() == expected
    assert read_codes(frames.images) == expected
    np.testing.assert_array_equal(frames.timestamps, [i / 10 for i in expected])


def test_folder_with_zero_padded_names_and_size(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 12, name="{:05d}.jpg")
    frames = read_frames(folder, 2, fps_original=6, size=48)
    assert frames.source_indices.tolist() == [0, 3, 6, 9]
    assert read_codes(frames.images) == [0, 3, 6, 9]
    assert frames.images.shape == (4, 32, 48, 3)


def test_folder_opens_only_kept_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_frame_folder(tmp_path / "frames", 12)
    opened: list[str] = []
    real_open = Image.open

    def recording_open(path: Path, *args, **kwargs):
        opened.append(Path(path).name)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", recording_open)
    read_frames(folder, 2, fps_original=6)
    assert opened == ["f0.png", "f3.png", "f6.png", "f9.png"]


def test_folder_of_mixed_sizes_needs_an_exact_size(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 2)
    Image.fromarray(code_frame(2, height=32)).save(folder / "f2.png")
    with pytest.raises(VideoError, match=names(folder, "frame 2 is 96x32.*pass size")):
        read_frames(folder, 1, fps_original=1)
    assert read_frames(folder, 1, fps_original=1, size=(48, 32)).images.shape == (3, 32, 48, 3)


# --- frame cache -----------------------------------------------------------------------

class OpenCounter:
    """Stands in for av.open, counting calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._open = av.open

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self._open(*args, **kwargs)


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> OpenCounter:
    counter = OpenCounter()
    monkeypatch.setattr(av, "open", counter)
    return counter


def assert_same_frames(a, b) -> None:
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.source_indices, b.source_indices)
    assert a.fps == b.fps
    assert a.images.dtype == b.images.dtype
    assert a.source_indices.dtype == b.source_indices.dtype


def test_cache_hit_returns_identical_frames_without_decoding(
    cfr30: Path, tmp_path: Path, opens: OpenCounter
) -> None:
    cache = FrameCache(tmp_path / "cache")
    first = read_frames(cfr30, 10, trim=(5, 20), size=48, cache=cache)
    second = read_frames(cfr30, 10, trim=(5, 20), size=48, cache=cache)
    assert opens.calls == 1
    assert_same_frames(first, second)
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".json", ".npy"]


def test_cache_misses_when_arguments_or_file_change(
    clips: Path, tmp_path: Path, opens: OpenCounter
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes((clips / "cfr30.mp4").read_bytes())
    cache = FrameCache(tmp_path / "cache")
    reads = [
        dict(fps=10), dict(fps=5), dict(fps=10, size=48), dict(fps=10, trim=(1, None)),
        dict(fps=10, crop=(0, 0, 32, 32)), dict(fps=10, fps_original=30),
    ]
    for kwargs in reads:
        read_frames(path, cache=cache, **kwargs)
    assert opens.calls == len(reads)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    read_frames(path, 10, cache=cache)
    assert opens.calls == len(reads) + 1


def test_cache_hit_keeps_the_warnings(tmp_path: Path, opens: OpenCounter) -> None:
    path = write_clip_claiming(tmp_path / "claims.mkv", 30, 4000.0)
    cache = FrameCache(tmp_path / "cache")
    written = opens.calls
    first = read_frames(path, 10, cache=cache)
    second = read_frames(path, 10, cache=cache)
    assert opens.calls == written + 1
    assert_same_frames(first, second)
    assert len(first.warnings) == 1
    assert second.warnings == first.warnings


def test_cache_entry_without_warnings_is_a_miss(
    cfr30: Path, tmp_path: Path, opens: OpenCounter
) -> None:
    root = tmp_path / "cache"
    cache = FrameCache(root)
    read_frames(cfr30, 10, cache=cache)
    (meta,) = root.glob("*.json")
    entry = json.loads(meta.read_text())
    assert entry["warnings"] == []
    del entry["warnings"]  # as a version-1 entry would be
    meta.write_text(json.dumps(entry))
    assert read_frames(cfr30, 10, cache=cache).warnings == ()
    assert opens.calls == 2


def test_cache_treats_a_corrupt_or_partial_entry_as_a_miss(
    cfr30: Path, tmp_path: Path, opens: OpenCounter
) -> None:
    root = tmp_path / "cache"
    cache = FrameCache(root)
    first = read_frames(cfr30, 10, cache=cache)
    (npy,) = root.glob("*.npy")
    npy.write_bytes(npy.read_bytes()[:200])
    assert_same_frames(read_frames(cfr30, 10, cache=cache), first)
    assert opens.calls == 2
    (meta,) = root.glob("*.json")
    meta.unlink()  # as if the writer died before the json
    assert_same_frames(read_frames(cfr30, 10, cache=cache), first)
    assert opens.calls == 3
    assert_same_frames(read_frames(cfr30, 10, cache=cache), first)  # rewritten: a hit again
    assert opens.calls == 3


def test_cache_of_a_folder_misses_when_an_image_is_added(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 4)
    cache = FrameCache(tmp_path / "cache")
    key = cache.key(folder, fps=1, trim=(0, None), size=None, crop=None, fps_original=2)
    assert len(read_frames(folder, 1, fps_original=2, cache=cache)) == 2
    assert cache.load(key) is not None
    Image.fromarray(code_frame(4)).save(folder / "f4.png")
    assert cache.key(folder, fps=1, trim=(0, None), size=None, crop=None, fps_original=2) != key
    assert len(read_frames(folder, 1, fps_original=2, cache=cache)) == 3


def test_failed_read_caches_nothing(cfr30: Path, tmp_path: Path) -> None:
    cache = FrameCache(tmp_path / "cache")
    with pytest.raises(VideoError):
        read_frames(cfr30, 10, trim=(100, None), cache=cache)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_default_cache_dir_is_under_the_home_cache() -> None:
    assert default_cache_dir() == Path.home() / ".cache" / "viddiff" / "frames"


# --- bad input -------------------------------------------------------------------------

def test_missing_file_and_folder(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.mp4", tmp_path / "no_frames_here"):
        with pytest.raises(MissingVideoError, match=names(path, "no such video file or frame")):
            read_frames(path, 5)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoError, match=names(path, r"is empty \(0 bytes\)")):
        read_frames(path, 5)


def test_file_that_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("these are not the frames you are looking for\n" * 20)
    with pytest.raises(VideoError, match=names(path, "cannot be decoded.*is it a video file")) as e:
        read_frames(path, 5)
    assert isinstance(e.value.__cause__, av.FFmpegError)


def test_file_whose_packets_are_garbage(cfr30: Path, tmp_path: Path) -> None:
    data = bytearray(cfr30.read_bytes())
    mdat = data.index(b"mdat")
    size = int.from_bytes(data[mdat - 4 : mdat], "big")
    data[mdat + 4 : mdat - 4 + size] = b"\x55" * (size - 8)
    path = tmp_path / "garbled.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(VideoError, match=names(path, "cannot be decoded")):
        read_frames(path, 5)


def test_file_without_a_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "sound.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    with pytest.raises(VideoError, match=names(path, "has no video stream")):
        read_frames(path, 5)


def test_video_that_decodes_zero_frames(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.mkv", (code_frame(i) for i in range(5)), 30)
    data = full.read_bytes()
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[: data.index(bytes.fromhex("1F43B675")) + 4])  # headers, no frames
    with pytest.raises(VideoError, match=names(path, "decodes to zero frames")):
        read_frames(path, 5)


def test_empty_frame_folder(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "readme.txt").write_text("no frames")
    with pytest.raises(VideoError, match=names(folder, "holds no images")):
        read_frames(folder, 5, fps_original=30)


def test_unreadable_image_in_a_folder(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 3)
    (folder / "f1.png").write_text("not a png")
    with pytest.raises(VideoError, match=names(folder / "f1.png", "cannot be read as an image")):
        read_frames(folder, 10, fps_original=10)


def test_folder_needs_fps_original(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 3)
    with pytest.raises(VideoError) as e:
        read_frames(folder, 5)
    assert str(e.value) == f"{folder}: a frame folder needs its original frame rate (fps_original)"
    assert e.value.reason == FOLDER_NEEDS_RATE


def test_fps_above_the_original_rate(cfr30: Path, tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=names(cfr30, "sampling fps 31 is above .* rate 30")):
        read_frames(cfr30, 31)
    folder = write_frame_folder(tmp_path / "frames", 3)
    with pytest.raises(VideoError, match=names(folder, "fps 12 is above .*fps_original 10")):
        read_frames(folder, 12, fps_original=10)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        (dict(fps=0), "fps must be positive"),
        (dict(fps=-1), "fps must be positive"),
        (dict(fps=5, trim=(-1, 10)), "negative index"),
        (dict(fps=5, trim=(10, 10)), r"trim \[10, 10\) is empty"),
        (dict(fps=5, trim=(60, None)), r"trim \[60, None\) is outside the video, which has 60 "),
        (dict(fps=5, trim=(70, 80)), r"trim \[70, 80\) is outside the video, which has 60 "),
        (dict(fps=5, size=0), "size 0 must be"),
        (dict(fps=5, size=(10,)), "size"),
        (dict(fps=5, crop=(-1, 0, 10, 10)), "crop"),
        (dict(fps=5, crop=(90, 0, 10, 10)), r"crop \(90, 0, 10, 10\).*does not fit.*96x64"),
    ],
)
def test_bad_arguments(cfr30: Path, kwargs: dict, problem: str) -> None:
    with pytest.raises(VideoError, match=names(cfr30, problem)):
        read_frames(cfr30, **kwargs)


def test_trim_outside_a_folder(tmp_path: Path) -> None:
    folder = write_frame_folder(tmp_path / "frames", 3)
    with pytest.raises(VideoError, match=names(folder, "outside the video, which has 3 frames")):
        read_frames(folder, 1, trim=(3, None), fps_original=1)


# --- frame-rate tables -----------------------------------------------------------------

def test_sampling_fps_tables_and_override() -> None:
    assert METHOD_FPS == {"fitness": 8, "ballsports": 5, "diving": 6, "music": 1, "surgery": 1}
    assert BASELINE_FPS == {"fitness": 4, "ballsports": 5, "diving": 6, "music": 1, "surgery": 1}
    assert sampling_fps("fitness") == 8.0
    assert sampling_fps("fitness", table="baseline") == 4.0
    assert sampling_fps("diving", override=2) == 2.0
    assert sampling_fps("cooking", override=3) == 3.0


def test_sampling_fps_errors() -> None:
    with pytest.raises(ViddiffError, match="unknown domain 'cooking'.*ballsports.*fps override"):
        sampling_fps("cooking")
    with pytest.raises(ViddiffError, match="unknown frame-rate table 'paper'"):
        sampling_fps("fitness", table="paper")  # type: ignore[arg-type]
    with pytest.raises(ViddiffError, match="must be positive"):
        sampling_fps("fitness", override=0)


# --- reading chosen frames again at another size ----------------------------------------

def test_fetched_frames_equal_a_read_at_that_size_in_the_order_asked(cfr30: Path) -> None:
    from viddiff.data.video import fetch_frames

    small, full = read_frames(cfr30, 10, size=24), read_frames(cfr30, 10)
    assert small.images.shape[1:] == (16, 24, 3)
    chosen = [19, 0, 7, 8, 3]  # out of order, neighbours and far apart: decoded on or seeked to
    again = fetch_frames(small, chosen, None)
    np.testing.assert_array_equal(again, full.images[chosen])
    assert read_codes(again) == [3 * i for i in chosen]
    # Frames read at least as large are given as they are (the encoder scales them).
    np.testing.assert_array_equal(fetch_frames(full, chosen, 48), full.images[chosen])
    # Frames made in memory have nothing to read again from.
    bare = Frames(full.images, full.timestamps, full.source_indices, 10.0)
    np.testing.assert_array_equal(fetch_frames(bare, chosen, None), full.images[chosen])


def test_fetched_frames_of_a_trimmed_cropped_read_and_of_a_folder(clips: Path, tmp_path: Path) -> None:
    from viddiff.data.video import ShorterSide, fetch_frames

    left = (0, 0, WIDTH, HEIGHT)
    small = read_frames(clips / "pair.mp4", 10, trim=(6, 30), size=ShorterSide(16), crop=left)
    assert small.images.shape[1:] == (16, 24, 3)  # the shorter side at 16
    full = read_frames(clips / "pair.mp4", 10, trim=(6, 30), crop=left)
    np.testing.assert_array_equal(fetch_frames(small, [0, 4, 7], None), full.images[[0, 4, 7]])
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(code_frame(i)).save(folder / f"f{i}.png")
    small = read_frames(folder, 5, size=24, fps_original=10)
    full = read_frames(folder, 5, fps_original=10)
    np.testing.assert_array_equal(fetch_frames(small, [5, 1], None), full.images[[5, 1]])
    assert read_codes(fetch_frames(small, [5, 1], None)) == [10, 2]


@pytest.mark.parametrize("capacity", [1, 4, 5, 50])
def test_frame_stack_holds_every_frame_whatever_the_estimate(capacity):
    """Too low an estimate grows the stack, one far too high is given back; the frames are exact."""
    from viddiff.data.video import _FrameStack

    images = [np.full((2, 3, 3), i, dtype=np.uint8) for i in range(5)]
    stack = _FrameStack(Path("clip.mp4"), capacity)
    for i, image in enumerate(images):
        stack.append(image, i)
    stacked = stack.finish()
    assert stacked.shape == (5, 2, 3, 3) and stacked.flags.writeable
    assert np.array_equal(stacked, np.stack(images))
    assert stacked.base is None or stacked.base.nbytes <= stacked.nbytes / 0.9
