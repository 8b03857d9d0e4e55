"""`viddiff report`: a scored run as one self-contained HTML page and a Markdown summary."""

from __future__ import annotations

import argparse

from viddiff.cli import COMMANDS


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "report",
        help=COMMANDS["report"].help,
        description=(
            "Render RUN_DIR (a run directory, scored when `viddiff run` finishes or by `viddiff eval --run`) as report.html, a single self-contained page "
            "(split table next to the published figures, per-action chart, per-difference table, "
            "errors, cost, and the frames each difference was judged on for a few samples), and "
            "report.md, a Markdown summary. More runs of the same benchmark and mode (other systems, "
            "models or prompts) appear beside it in the split and cost tables."
        ),
        epilog=(
            "examples:\n"
            "  viddiff report runs/easy-closed\n"
            "  viddiff report runs/easy-open --samples 5 --out reports/easy-open\n"
            "  viddiff report runs/paper runs/paper-frames runs/paper-gemini   # the systems side by side"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory holding metrics.json")
    parser.add_argument("others", nargs="*", metavar="OTHER_RUN", help="more scored runs of the same benchmark and mode, shown beside it")
    parser.add_argument(
        "--samples",
        type=int,
        default=3,
        metavar="N",
        help="show the frames of the first N samples that finished without errors (default: %(default)s)",
    )
    parser.add_argument("--out", metavar="DIR", help="folder for report.html and report.md (default: RUN_DIR)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from viddiff.report import render_report

    html_path, markdown_path = render_report(args.run_dir, others=args.others, samples=args.samples, out=args.out)
    print(f"report: {html_path}\nsummary: {markdown_path}")
    return 0
