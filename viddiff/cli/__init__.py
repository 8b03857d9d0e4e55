"""The `viddiff` command: one module per subcommand, each with `add_parser` and `run`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import dspy

from viddiff import __version__
from viddiff.cli import compare, compile, data, diff, eval, report, run, synth
from viddiff.errors import ViddiffError

EPILOG = """quick start:
  viddiff synth runs/synth --pairs 12 --seed 0      # a small benchmark of stick-figure videos
  viddiff data runs/synth --check                   # its summary; decode every video
  viddiff run runs/synth --split easy --out runs/easy   # VidDiff on it (needs OPENAI_API_KEY, CLIP weights)
  viddiff report runs/easy                          # report.html + report.md of a scored run
  viddiff compile runs/synth --optimizer instructions --out programs/p.json   # compile prompts
  viddiff compare runs/easy runs/easy-compiled      # paired test between two runs
  viddiff diff a.mp4 b.mp4 --action "a squat"        # how two videos of one action differ
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viddiff",
        description="Tell how two people differ when performing the same action, from two videos.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"viddiff {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for module in (diff, run, eval, report, compile, compare, synth, data):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a usage or input error)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # no price-table download
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ViddiffError as e:
        _error(str(e), args)
        return 2
    except dspy.LMAuthError as e:  # DSPy's message runs over several lines of advice
        _error(f"{str(e).splitlines()[0]}; check the API key you set", args)
        return 2
    except KeyboardInterrupt:
        print("viddiff: interrupted", file=sys.stderr)
        return 130


def _error(message: str, args: argparse.Namespace) -> None:
    """Print one error line with every configured secret redacted (a server may echo the key)."""
    from viddiff.lms import configured_secrets, redact

    secrets = configured_secrets(os.environ, extra_variables=(getattr(args, "api_key_env", None),))
    print(f"viddiff: error: {redact(message, secrets)}", file=sys.stderr)
