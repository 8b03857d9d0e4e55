"""The `viddiff` command: one module per subcommand, each with `add_parser` and `run`.

A command's module is imported only when that command runs (or its --help is asked for), so
`viddiff --help` and the commands that need no model start without loading torch or dspy.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from viddiff import __version__
from viddiff.errors import ViddiffError


class Command(NamedTuple):
    module: str
    """The module defining the command's `add_parser` and `run`."""
    help: str
    """The one-line help `viddiff --help` lists (the module passes it to `add_parser`)."""


COMMANDS = {
    "diff": Command("viddiff.cli.diff", "compare two videos of the same action"),
    "run": Command("viddiff.cli.run", "run VidDiff (or a baseline system) on benchmark samples, writing a resumable run directory"),
    "eval": Command(
        "viddiff.cli.eval",
        "score predictions in the benchmark's format (closed accuracy or open recall@N_diff), or rescore a run",
    ),
    "report": Command(
        "viddiff.cli.report",
        "render a scored run as one HTML page (report.html) and a Markdown summary (report.md)",
    ),
    "compile": Command("viddiff.cli.compile", "optimize the prompts on a held-out slice of a benchmark (DSPy optimizers)"),
    "compare": Command(
        "viddiff.cli.compare",
        "compare scored runs on the same samples (sample-level permutation test, bootstrap score gap)",
    ),
    "synth": Command("viddiff.cli.synth", "render a small synthetic benchmark (stick-figure videos, VidDiffBench schema)"),
    "data": Command("viddiff.cli.data", "summarise a benchmark (pairs, differences, label balance) and check its videos"),
    "export": Command("viddiff.cli.export", "write a scored run as lmms-eval's results and samples files, or a benchmark as lmms-eval tasks"),
    "embed": Command("viddiff.cli.embed", "CLIP-embed a benchmark's videos ahead of a run, in this process or as a Ray Data job"),
    "clip-folder": Command("viddiff.cli.clip_folder", "write a random-weight CLIP folder (useless for accuracy) to try the pipeline offline"),
}
"""Every subcommand, in the order `viddiff --help` lists them."""

EPILOG = """quick start:
  viddiff synth runs/synth --pairs 12 --seed 0      # a small benchmark of stick-figure videos
  viddiff data runs/synth --check                   # its summary; decode every video
  viddiff run runs/synth --split easy --out runs/easy   # VidDiff on it (needs OPENAI_API_KEY, CLIP weights)
  viddiff report runs/easy                          # report.html + report.md of a scored run
  viddiff compile runs/synth --optimizer instructions --out programs/p.json   # compile prompts
  viddiff compare runs/easy runs/easy-compiled      # paired test between two runs
  viddiff diff a.mp4 b.mp4 --action "a squat"        # how two videos of one action differ
"""


def build_parser(loaded: Iterable[str] = COMMANDS) -> argparse.ArgumentParser:
    """The command line parser; only the `loaded` commands get their options (and import their
    module), the others only their name and one-line help."""
    parser = argparse.ArgumentParser(
        prog="viddiff",
        description="Tell how two people differ when performing the same action, from two videos.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"viddiff {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    loaded = set(loaded)
    for name, command in COMMANDS.items():
        if name in loaded:
            importlib.import_module(command.module).add_parser(commands)
        else:
            commands.add_parser(name, help=command.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a usage or input error)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # no price-table download
    argv = sys.argv[1:] if argv is None else list(argv)
    named = next((arg for arg in argv if not arg.startswith("-")), None)  # viddiff's own options take no value
    args = build_parser(loaded=[named] if named in COMMANDS else []).parse_args(argv)
    try:
        return args.run(args)
    except ViddiffError as e:
        _error(str(e), args)
        return 2
    except Exception as e:
        dspy = sys.modules.get("dspy")  # not loaded: the command called no LM, so no LM error
        if dspy is None or not isinstance(e, dspy.LMAuthError):
            raise
        _error(f"{str(e).splitlines()[0]}; check the API key you set", args)  # DSPy's runs over several lines of advice
        return 2
    except KeyboardInterrupt:
        print("viddiff: interrupted", file=sys.stderr)
        return 130


def _error(message: str, args: argparse.Namespace) -> None:
    """Print one error line with every configured secret redacted (a server may echo the key)."""
    from viddiff.lms import configured_secrets, redact

    secrets = configured_secrets(os.environ, extra_variables=(getattr(args, "api_key_env", None),))
    print(f"viddiff: error: {redact(message, secrets)}", file=sys.stderr)
