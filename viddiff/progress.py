"""Progress of one program call on stderr: the stage it is in and the LM calls done, with an ETA.

A DSPy callback, so the program itself knows nothing of it: `dspy.context(callbacks=[progress])`.
"""

from __future__ import annotations

import sys
import threading

from dspy.utils.callback import BaseCallback
from tqdm import tqdm

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

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.set_description("done", refresh=False)
        self.bar.close()
