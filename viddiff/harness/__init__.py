"""viddiff inside lmms-eval: the task folder (`tasks/`, for `--include_path`), the `viddiff`
model (`model.py`, registered through the `lmms_eval.models` entry point), and the files that
move between the two (`files.py`). Only `model.py` and `plugin.py` import lmms-eval."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.harness.files import TASKS_DIR, export_run, sample_log_rows, write_task_folder

__getattr__, __dir__, __all__ = lazy_exports(
    __name__, {"files": ("TASKS_DIR", "export_run", "sample_log_rows", "write_task_folder")}
)
