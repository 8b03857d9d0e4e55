"""Exception types. Each message is one line naming the bad value and what to do about it."""

from __future__ import annotations

from pathlib import Path


def error_text(error: BaseException) -> str:
    """One line for a recorded failure: the exception type and the first line of its message
    (provider errors append lines of generic advice that would only mislead in a record)."""
    message = str(error).strip()
    return f"{type(error).__name__}: {message.splitlines()[0] if message else repr(error)}"


class ViddiffError(Exception):
    """Base class: an error caused by input or environment, reported to the user as one line."""


class DatasetError(ViddiffError):
    """A benchmark source cannot be loaded (unknown file type, rejected dataset, offline hub)."""


class RowError(DatasetError):
    """One benchmark row is malformed; names the sample and the field."""

    def __init__(self, sample_key: str, field: str, reason: str):
        self.sample_key = sample_key
        self.field = field
        self.reason = reason
        super().__init__(f"sample {sample_key!r}, field {field!r}: {reason}")


class VideoError(ViddiffError):
    """A video (file or folder of frames) cannot be read as asked."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class MissingVideoError(VideoError):
    """The video file or frame folder does not exist."""
