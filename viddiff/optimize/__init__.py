"""Compiling prompts: held-out slices, optimizer metrics, DSPy optimizers, compiled program files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.optimize.closed_metric import closed_metric
    from viddiff.optimize.compile import (
        OPTIMIZERS,
        STAGES,
        CompileResult,
        CompileSettings,
        PartScore,
        compile_program,
        compile_task,
        sample_scores,
    )
    from viddiff.optimize.examples import sample_examples
    from viddiff.optimize.held_out import HeldOutSlice, SliceError, select_held_out
    from viddiff.optimize.open_metric import OpenRecallMetric
    from viddiff.optimize.program_file import ProgramError, load_compiled, program_metadata, save_compiled

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "closed_metric": ("closed_metric",),
        "compile": (
            "OPTIMIZERS", "STAGES", "CompileResult", "CompileSettings", "PartScore",
            "compile_program", "compile_task", "sample_scores",
        ),
        "examples": ("sample_examples",),
        "held_out": ("HeldOutSlice", "SliceError", "select_held_out"),
        "open_metric": ("OpenRecallMetric",),
        "program_file": ("ProgramError", "load_compiled", "program_metadata", "save_compiled"),
    },
)
