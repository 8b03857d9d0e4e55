"""Compiling prompts: held-out slices, optimizer metrics, DSPy optimizers, compiled program files."""

from viddiff.optimize.closed_metric import closed_metric
from viddiff.optimize.compile import (
    OPTIMIZERS,
    STAGES,
    CompileResult,
    CompileSettings,
    PartScore,
    compile_program,
    compile_task,
    validation_score,
)
from viddiff.optimize.examples import sample_examples
from viddiff.optimize.held_out import HeldOutSlice, SliceError, select_held_out
from viddiff.optimize.open_metric import OpenRecallMetric
from viddiff.optimize.program_file import ProgramError, load_compiled, program_metadata, save_compiled

__all__ = [
    "OPTIMIZERS",
    "STAGES",
    "CompileResult",
    "CompileSettings",
    "HeldOutSlice",
    "OpenRecallMetric",
    "PartScore",
    "ProgramError",
    "SliceError",
    "closed_metric",
    "compile_program",
    "compile_task",
    "load_compiled",
    "program_metadata",
    "sample_examples",
    "save_compiled",
    "select_held_out",
    "validation_score",
]
