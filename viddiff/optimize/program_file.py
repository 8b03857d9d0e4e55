"""Compiled program files: DSPy's saved program plus a `viddiff` block (variant, held-out slice,
LMs without keys, versions, scores), and loading one into a program of the same variant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from viddiff import __version__
from viddiff.config import RunConfig
from viddiff.errors import ViddiffError
from viddiff.optimize.held_out import HeldOutSlice

if TYPE_CHECKING:
    import dspy

FORMAT_VERSION = 1
VARIANT_KEYS = ("mode", "three_way", "chain_of_thought")
"""Config values a compiled program is tied to: they decide its predictors and signatures."""


class ProgramError(ViddiffError):
    """A compiled program cannot be loaded for this run."""


def save_compiled(program: dspy.Module, path: str | Path, *, config: RunConfig, settings, held_out: HeldOutSlice, scores: dict[str, Any]) -> Path:
    """DSPy's saved program plus a `viddiff` block: variant, held-out slice, LMs, versions, scores.
    No API key is part of it (keys are never in a RunConfig)."""
    import dspy

    path = Path(path)
    program.save(str(path))
    document = json.loads(path.read_text())
    document["viddiff"] = {
        "format": FORMAT_VERSION,
        "viddiff_version": __version__,
        "dspy_version": dspy.__version__,
        "system": config.system,
        "variant": {key: getattr(config, key) for key in VARIANT_KEYS},
        "localization": config.localization,
        "frames": config.frames,
        "source": config.source,
        "split": list(config.split),
        "lms": {role: vars(lm) for role, lm in config.lms.items()},
        "optimizer": vars(settings) | {"stages": list(settings.stages)},
        "held_out": held_out.to_dict(),
        "scores": scores,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def program_metadata(path: str | Path) -> dict[str, Any]:
    """The `viddiff` block of a compiled program file."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ProgramError(f"{path}: no such compiled program") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ProgramError(f"{path}: not valid JSON ({e})") from e
    metadata = document.get("viddiff") if isinstance(document, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_VERSION:
        raise ProgramError(f"{path}: not a program compiled by this viddiff (`viddiff compile` writes them)")
    return metadata


def load_compiled(program: dspy.Module, path: str | Path, config: RunConfig) -> HeldOutSlice:
    """Load a compiled program's prompts into `program`; returns its held-out slice.

    Raises:
        ProgramError: compiled for another system, mode or variant, with another dspy version, or on
            another benchmark.
    """
    import dspy

    metadata = program_metadata(path)
    system = metadata.get("system", "viddiff")  # programs compiled before there were other systems
    if system != config.system:
        raise ProgramError(f"{path} was compiled for the {system} system, this run uses {config.system}: run it with --system {system}")
    for key, value in metadata["variant"].items():
        if getattr(config, key) != value:
            flag = f"--mode {value}" if key == "mode" else f"--{key.replace('_', '-')}" if value else f"no --{key.replace('_', '-')}"
            raise ProgramError(f"{path} was compiled with {key} = {value!r}, this run has {getattr(config, key)!r}: run it with {flag}")
    if _minor(metadata["dspy_version"]) != _minor(dspy.__version__):
        raise ProgramError(f"{path} was compiled with dspy {metadata['dspy_version']}, this is dspy {dspy.__version__}: compile it again")
    if metadata["source"] != config.source:
        raise ProgramError(f"{path} was compiled on {metadata['source']}, this run uses {config.source}: its held-out slice would not apply")
    program.load(str(path))
    return HeldOutSlice.from_dict(metadata["held_out"])


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
