"""`viddiff clip-folder`: write a random-weight CLIP folder for trying the pipeline offline."""

from __future__ import annotations

import argparse

from viddiff.cli import COMMANDS


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "clip-folder",
        help=COMMANDS["clip-folder"].help,
        description=(
            "Write OUT, a CLIP folder of seeded RANDOM weights in open_clip's local-dir layout "
            "(open_clip_config.json, open_clip_pytorch_model.bin, README.txt), for --clip-model "
            "local-dir:OUT. It lets the whole pipeline run offline without downloading weights; its "
            "embeddings are noise, so it is USELESS FOR ACCURACY: frames chosen with it are arbitrary "
            "and scores of runs that use it mean nothing."
        ),
        epilog=(
            "example:\n"
            "  viddiff clip-folder runs/random-clip\n"
            "  viddiff run runs/synth --clip-model local-dir:runs/random-clip --out runs/try"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out_dir", metavar="OUT", help="new folder to write (must not exist or be empty)")
    parser.add_argument(
        "--model",
        default="tiny",
        help="architecture: tiny (2 layers, about 14 MB) or an open_clip model name, e.g. ViT-B-32 (about 600 MB) (default: tiny)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the weights (default: 0)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from viddiff.clip.folder import RANDOM_WARNING, write_random_clip_folder

    path = write_random_clip_folder(args.out_dir, model=args.model, seed=args.seed)
    print(f"wrote {path}: CLIP {args.model}, {RANDOM_WARNING}")
    print(f"use it with --clip-model local-dir:{path}")
    return 0
