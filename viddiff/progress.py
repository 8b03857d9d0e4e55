"""Watching a program's LM calls through DSPy callbacks, so the program itself knows nothing of
it: `StageProgress` shows on stderr the stage a call is in and the LM calls done, with an ETA,
and a bar per video while CLIP embeds its frames (the embedder hears of it through
`viddiff.clip.progress.embedding_progress`); `RequestCounter` counts what a sample's calls send.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from dspy.utils.callback import BaseCallback
from tqdm import tqdm

from viddiff.clip.progress import embedding_progress

STAGE_OF_MODULE = {
    "DifferenceProposer": "proposing differences",
    "StagePlanner": "planning stages",
    "DifferenceLinker": "linking differences to stages",
    "FrameDifferencer": "deciding differences",
    "BaselineAnswerer": "asking about all frames",
}
"""The stage each of the program's modules runs, by class name."""
AFTER_MODULE = {"DifferenceLinker": "localizing frames (CLIP)"}
"""What runs, with no LM call, after a module ends."""


class StageProgress(BaseCallback):
    """A tqdm bar over the expected LM calls whose description is the current stage.

    Example:
        >>> with StageProgress(total_calls=7) as progress, dspy.context(callbacks=[progress]):
        ...     program(...)
    """

    def __init__(self, total_calls: int, *, disable: bool = False):
        self.bar = tqdm(total=total_calls, desc="starting", unit="LM call", file=sys.stderr, disable=disable)
        self._modules: dict[str, str] = {}
        self._lock = threading.Lock()

    def on_module_start(self, call_id, instance, inputs):
        name = type(instance).__name__
        if name in STAGE_OF_MODULE:
            with self._lock:
                self._modules[call_id] = name
                self.bar.set_description(STAGE_OF_MODULE[name], refresh=True)

    def on_module_end(self, call_id, outputs, exception):
        with self._lock:
            name = self._modules.pop(call_id, None)
            if name in AFTER_MODULE:
                self.bar.set_description(AFTER_MODULE[name], refresh=True)

    def on_lm_end(self, call_id, outputs, exception):
        with self._lock:
            self.bar.update()

    def embedding(self, frames: int) -> Callable[[int], None]:
        """A bar over the frames of one embedding call (frames found in the cache show none)."""
        bar = tqdm(total=frames, desc="embedding frames (CLIP)", unit="frame", file=sys.stderr, leave=False, disable=self.bar.disable)

        def advance(count: int) -> None:
            bar.update(count)
            if bar.n >= frames:
                bar.refresh()  # the full count shows, however soon after the last refresh it came
                bar.close()

        return advance

    def __enter__(self) -> StageProgress:
        self._embedding = embedding_progress.set(self.embedding)
        return self

    def __exit__(self, *exc) -> None:
        embedding_progress.reset(self._embedding)
        self.bar.set_description("done", refresh=False)
        self.bar.close()


class RequestCounter(BaseCallback):
    """Counts the LM calls made under it (`dspy.context(callbacks=[..., counter])`, which reaches
    DSPy's and viddiff's worker threads) and the images and videos they carry. Calls answered from
    DSPy's cache count too: the figures say what the system asks for."""

    def __init__(self):
        self.calls = self.images = self.videos = 0
        self._lock = threading.Lock()

    def on_lm_start(self, call_id, instance, inputs):
        kinds = [part_kind(part) for message in inputs.get("messages") or () for part in _parts(message)]
        with self._lock:
            self.calls += 1
            self.images += kinds.count("image")
            self.videos += kinds.count("video")


def part_kind(part) -> str | None:
    """`image`, `video` or None for one content part of an OpenAI-style message."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "image_url":
        return "image"
    if kind == "video_url" or (kind == "file" and str(part.get("file", {}).get("file_data", "")).startswith("data:video/")):
        return "video"
    return None


def _parts(message) -> list:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []
