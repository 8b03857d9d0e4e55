"""`viddiff export`: a scored run as lmms-eval's output files, or a benchmark as lmms-eval tasks."""

from __future__ import annotations

import argparse

from viddiff.cli import COMMANDS
from viddiff.errors import ViddiffError

FORMATS = ("lmms-eval",)


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "export",
        help=COMMANDS["export"].help,
        description=(
            "Write RUN_DIR (a scored run) as lmms-eval writes a run of the viddiff task with --log_samples: "
            "OUT/viddiff/<date>_results.json (the task's metrics, from viddiff's outcomes) and "
            "OUT/viddiff/<date>_samples_<task>.jsonl (each document's reply and outcomes). lmms-eval reads them "
            "back, e.g. `lmms-eval ... --baseline OUT/viddiff/<date>_samples_viddiff_closed.jsonl` for a paired "
            "comparison. With --benchmark, write lmms-eval tasks (<name>_closed, <name>_open) over any benchmark "
            "in VidDiffBench's schema instead; --task-dir prints the folder of the tasks shipped with viddiff "
            "(viddiff_closed, viddiff_open on jmhb/VidDiffBench, videos under $VIDDIFF_VIDEO_ROOT)."
        ),
        epilog=(
            "examples:\n"
            "  viddiff export runs/easy-closed --out lmms-logs\n"
            "  viddiff export --benchmark runs/synth --name synth --out tasks/synth\n"
            "  lmms-eval --model viddiff --model_args lm=openai/gpt-4o-2024-08-06 --tasks synth_closed \\\n"
            "      --include_path tasks/synth --log_samples --output_path lmms-logs\n"
            "  lmms-eval --model openai --tasks viddiff_closed --include_path \"$(viddiff export --task-dir)\" ..."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a scored run directory")
    parser.add_argument("--format", choices=FORMATS, default="lmms-eval", help="the harness (default: %(default)s)")
    parser.add_argument("--out", metavar="DIR", help="where to write (default: RUN_DIR/lmms-eval; with --benchmark, required)")
    parser.add_argument("--task", metavar="NAME", help="the task the run is filed under (default: viddiff_closed / viddiff_open by its mode)")
    parser.add_argument("--benchmark", metavar="SOURCE", help="write lmms-eval tasks over this benchmark instead of exporting a run")
    parser.add_argument("--name", default="viddiff_local", help="with --benchmark: the tasks are NAME_closed and NAME_open (default: %(default)s)")
    parser.add_argument("--video-root", help="with --benchmark: folder the video paths are relative to (default: the source's folder)")
    parser.add_argument("--revision", help="with --benchmark: Hub revision to pin")
    parser.add_argument("--task-dir", action="store_true", help="print the folder of the tasks shipped with viddiff (for --include_path) and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from viddiff.harness.files import TASKS_DIR, export_run, write_task_folder

    if args.task_dir:
        print(TASKS_DIR)
        return 0
    if (args.run_dir is None) == (args.benchmark is None):
        raise ViddiffError("give RUN_DIR to export a run, or --benchmark SOURCE --out DIR to write lmms-eval tasks")
    if args.benchmark:
        if not args.out:
            raise ViddiffError("--benchmark needs --out DIR, the task folder to write")
        written = write_task_folder(args.benchmark, args.out, name=args.name, video_root=args.video_root, revision=args.revision)
        print("wrote " + ", ".join(str(p) for p in written))
        print(f"tasks {args.name}_closed and {args.name}_open: lmms-eval ... --include_path {written[0].parent}")
        return 0
    from pathlib import Path

    results, samples = export_run(args.run_dir, args.out or Path(args.run_dir) / "lmms-eval", task=args.task)
    print(f"wrote {results}\nwrote {samples}")
    return 0
