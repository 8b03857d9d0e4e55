"""Compiling prompts: held-out slices, optimizer metrics, DSPy optimizers, compiled programs."""

from viddiff.optimize.closed_metric import closed_metric
from viddiff.optimize.compile import (
    OPTIMIZERS,
    STAGES,
    CompileSettings,
    ProgramError,
    compile_program,
    load_compiled,
    program_metadata,
    save_compiled,
    validation_score,
)
from viddiff.optimize.examples import sample_examples
from viddiff.optimize.held_out import HeldOutSlice, SliceError, exclude, select_held_out
from viddiff.optimize.open_metric import OpenRecallMetric

__all__ = [
    "OPTIMIZERS",
    "STAGES",
    "CompileSettings",
    "HeldOutSlice",
    "OpenRecallMetric",
    "ProgramError",
    "SliceError",
    "closed_metric",
    "compile_program",
    "exclude",
    "load_compiled",
    "program_metadata",
    "sample_examples",
    "save_compiled",
    "select_held_out",
    "validation_score",
]
