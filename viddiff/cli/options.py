"""Options shared by the commands that run the program, and building a RunConfig from them."""

from __future__ import annotations

import argparse
import os
from typing import Any

from viddiff.config import (
    FRAME_SAMPLING,
    FRAMES_OPTIONS,
    FULL_RESOLUTION,
    IMAGE_DETAILS,
    IMAGE_FORMATS,
    LOCALIZATION_MODES,
    MODES,
    PRESETS,
    RESIZE_MODES,
    ROLES,
    SYSTEMS,
    RunConfig,
    apply_preset,
    load_yaml,
    merge,
)
from viddiff.lms import resolve_api_keys

PRESET_HELP = (
    "published reproduction settings as defaults, under --config and the flags given: paper = "
    "openai/gpt-4o-2024-08-06 for every role at temperature 1, full-resolution PNG frames at detail high, "
    "the per-domain rates by integer stride, CLIP ViT-bigG-14/laion2b_s39b_b160k with centre crop, viterbi "
    "(docs/DEVIATIONS.md lists what stays different)"
)

LM_HELP = """language models (DSPy model strings; defaults: openai/gpt-4o-2024-08-06 for every role):
  openai/gpt-4o needs OPENAI_API_KEY, gemini/... GEMINI_API_KEY, anthropic/... ANTHROPIC_API_KEY;
  a local OpenAI-compatible server (vLLM, SGLang, Ollama): --lm openai/<served-name> --api-base http://host:port/v1"""


def add_program_options(parser: argparse.ArgumentParser) -> None:
    """LM, CLIP, localization and frame options, plus --config."""
    parser.add_argument("--config", metavar="YAML", help="config file (flags given on the command line override it)")
    parser.add_argument("--preset", choices=tuple(PRESETS), help=PRESET_HELP)
    parser.add_argument(
        "--system",
        choices=SYSTEMS,
        help="viddiff (default): the VidDiff method; frames: the paper's GPT-4o/Claude baseline, every sampled "
        "frame of both videos in one call of the baseline role (--baseline-lm) at the baselines' per-domain rates",
    )
    lm = parser.add_argument_group("language models", LM_HELP)
    lm.add_argument("--lm", metavar="MODEL", help="model for every role")
    for role in ROLES:
        lm.add_argument(f"--{role}-lm", metavar="MODEL", help=f"model for the {role}")
    lm.add_argument("--api-base", metavar="URL", help="OpenAI-compatible server for every role")
    lm.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key (default: the provider's)")
    lm.add_argument("--temperature", type=float, help="sampling temperature (default: 1, as published)")
    lm.add_argument("--no-lm-cache", action="store_true", default=None, help="do not read or write DSPy's LM answer cache")

    clip = parser.add_argument_group(
        "frame localizer",
        "CLIP weights: the default ViT-bigG-14/laion2b_s39b_b160k downloads from the Hugging Face Hub on first use "
        "(about 10 GB); offline, pass a checkpoint file to --clip-pretrained or --clip-model local-dir:/path",
    )
    clip.add_argument("--localization", choices=LOCALIZATION_MODES, help="how frames are chosen (default: viterbi)")
    clip.add_argument("--clip-model", metavar="NAME", help="open_clip model (default: ViT-bigG-14)")
    clip.add_argument("--clip-pretrained", metavar="TAG_OR_FILE", help="pretrained tag or checkpoint file (default: laion2b_s39b_b160k)")
    clip.add_argument("--clip-device", metavar="DEVICE", help="cuda, cpu, ... (default: cuda when available)")
    clip.add_argument("--clip-batch-size", type=int, metavar="N")
    clip.add_argument("--clip-resize", choices=RESIZE_MODES, help="letterbox (longest, default) or centre-crop (shortest) frames for CLIP")

    program = parser.add_argument_group("differencer")
    program.add_argument("--three-way", action="store_true", default=None, help="let the VLM answer 'c' (not visible)")
    program.add_argument("--chain-of-thought", action="store_true", default=None, help="the VLM reasons step by step first (dspy.ChainOfThought)")
    program.add_argument("--frames", choices=FRAMES_OPTIONS, help="frames per video for every difference (default: auto, each difference's own)")
    program.add_argument("--program", metavar="PROGRAM.json", help="compiled program from `viddiff compile` (its held-out slice is excluded from scores)")
    program.add_argument(
        "--image-size",
        type=image_size_arg,
        metavar="PX|full",
        help="longer side of the decoded frames, for CLIP and the VLM, or 'full' resolution (default: 512)",
    )
    program.add_argument("--image-format", choices=IMAGE_FORMATS, help="frames sent to the VLM as jpeg (default) or lossless png")
    program.add_argument(
        "--image-detail", choices=IMAGE_DETAILS, help="OpenAI image detail: auto (default; none sent), low or high"
    )
    program.add_argument("--fps", type=float, help="sampling rate, overriding the per-domain rates")
    program.add_argument(
        "--max-images",
        type=int,
        metavar="N",
        help="frames system: most images in one call; above it each video sends an even subset of its frames (default: 150)",
    )
    program.add_argument(
        "--frame-sampling",
        choices=FRAME_SAMPLING,
        help="rate (default): frames at the true rate, by timestamp; stride: every int(fps_original / fps)-th "
        "original frame, as the published code sampled",
    )
    program.add_argument("--seed", type=int, help="run seed, mixed with each sample's hash (default: 0)")
    program.add_argument("--difference-threads", type=int, metavar="N", help="differencer calls in flight (default: 8)")
    program.add_argument("--cache-dir", metavar="DIR", help="frame and CLIP embedding cache (default: ~/.cache/viddiff)")


def add_mode_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, help="closed: decide the benchmark's differences; open: propose, then decide (default: closed)")


def image_size_arg(text: str) -> int | str:
    """--image-size: a number of pixels, or 'full' (kept as 'full': None would read as not given)."""
    if text.strip().lower() == FULL_RESOLUTION:
        return FULL_RESOLUTION
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels or '{FULL_RESOLUTION}', got {text!r}") from None


def build_config(args: argparse.Namespace, *, base: RunConfig | None = None, **changes: Any) -> RunConfig:
    """`base` (default: the defaults), then the preset (--preset, else the --config file's
    `preset`), then the --config file, then the flags given, then `changes`; validated. A
    command defines only the flags it needs; absent ones count as not given.
    """

    def flag(name: str) -> Any:
        return getattr(args, name, None)

    config = base or RunConfig()
    from_file = load_yaml(flag("config")) if flag("config") else {}
    preset = flag("preset") or from_file.get("preset")
    config = apply_preset(config, preset)
    config = merge(config, {**from_file, "preset": config.preset})
    top = {
        key: flag(key)
        for key in (
            "system", "mode", "localization", "three_way", "chain_of_thought", "frames", "program",
            "image_size", "image_format", "image_detail", "fps", "frame_sampling", "seed",
            "difference_threads", "cache_dir", "max_images",
        )
    }
    shared = {"model": flag("lm"), "api_base": flag("api_base"), "api_key_env": flag("api_key_env"), "temperature": flag("temperature")}
    shared["cache"] = False if flag("no_lm_cache") else None
    lms: dict[str, dict[str, Any]] = {"all": _given(shared)}
    lms.update({role: {"model": flag(f"{role}_lm")} for role in ROLES if flag(f"{role}_lm")})
    clip = {
        "model": flag("clip_model"),
        "pretrained": flag("clip_pretrained"),
        "device": flag("clip_device"),
        "batch_size": flag("clip_batch_size"),
        "resize_mode": flag("clip_resize"),
    }
    config = merge(config, {**_given(top), "lms": lms, "clip": _given(clip), **changes})
    return config.validate()


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def api_keys_for(config: RunConfig, roles: tuple[str, ...]) -> dict[str, str]:
    """Keys of the roles a command uses, from the environment (checked before any video is read)."""
    return resolve_api_keys({role: config.lms[role] for role in roles}, os.environ)
