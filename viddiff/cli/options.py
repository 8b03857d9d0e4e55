"""Options shared by the commands that run the program, and building a RunConfig from them."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from typing import Any

from viddiff.config import (
    CPU_CLIP_MODEL,
    CPU_CLIP_PRETRAINED,
    DEFAULT_CLIP_MODEL,
    DEFAULT_CLIP_PRETRAINED,
    FRAME_SAMPLING,
    FRAMES_AS,
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
    ClipConfig,
    LMConfig,
    RunConfig,
    apply_preset,
    clip_default_for_device,
    field_problem,
    field_type,
    load_yaml,
    merge,
    number_problem,
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
        "frame of both videos in one call of the baseline role (--baseline-lm) at the baselines' per-domain rates; "
        "video: the paper's Gemini baseline, both trimmed clips as videos in one google-genai call "
        "(--baseline-lm gemini/<model>, GEMINI_API_KEY)",
    )
    lm = parser.add_argument_group("language models", LM_HELP)
    lm.add_argument("--lm", metavar="MODEL", help="model for every role")
    for role in ROLES:
        lm.add_argument(f"--{role}-lm", metavar="MODEL", help=f"model for the {role}")
    lm.add_argument(
        "--api-base", type=config_type(LMConfig, "api_base"), metavar="URL", help="OpenAI-compatible server for every role"
    )
    lm.add_argument(
        "--api-key-env",
        type=config_type(LMConfig, "api_key_env"),
        metavar="VAR",
        help="environment variable holding the API key (default: the provider's)",
    )
    lm.add_argument(
        "--temperature",
        type=config_type(LMConfig, "temperature"),
        metavar="T",
        help="sampling temperature, 0 to 2 (default: 1, as published)",
    )
    lm.add_argument("--no-lm-cache", action="store_true", default=None, help="do not read or write DSPy's LM answer cache")

    clip = parser.add_argument_group(
        "frame localizer",
        f"CLIP weights: the default, {DEFAULT_CLIP_MODEL}/{DEFAULT_CLIP_PRETRAINED} on CUDA (the paper's) and "
        f"{CPU_CLIP_MODEL}/{CPU_CLIP_PRETRAINED} on CPU, downloads from the Hugging Face Hub on first use (bigG: about "
        "10 GB); offline, pass a checkpoint file to --clip-pretrained or --clip-model local-dir:/path",
    )
    clip.add_argument("--localization", choices=LOCALIZATION_MODES, help="how frames are chosen (default: viterbi)")
    clip.add_argument(
        "--clip-model", metavar="NAME", help=f"open_clip model (default: {DEFAULT_CLIP_MODEL} on CUDA, {CPU_CLIP_MODEL} on CPU)"
    )
    clip.add_argument(
        "--clip-pretrained",
        metavar="TAG_OR_FILE",
        help=f"pretrained tag or checkpoint file (default: {DEFAULT_CLIP_PRETRAINED} on CUDA, {CPU_CLIP_PRETRAINED} on CPU)",
    )
    clip.add_argument(
        "--clip-device",
        type=config_type(ClipConfig, "device"),
        metavar="DEVICE",
        help="cpu, cuda, cuda:N or mps (default: cuda when available)",
    )
    clip.add_argument(
        "--clip-batch-size", type=config_type(ClipConfig, "batch_size"), metavar="N", help="frames per CLIP batch (default: 64)"
    )
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
    program.add_argument("--fps", type=config_type(RunConfig, "fps"), help="sampling rate, overriding the per-domain rates")
    program.add_argument(
        "--max-images",
        type=config_type(RunConfig, "max_images"),
        metavar="N",
        help="frames system: most images in one call; above it each video sends an even subset of its frames (default: 150)",
    )
    program.add_argument(
        "--frames-as",
        choices=FRAMES_AS,
        help="frames system: each video's frames as separate images (default) or as one video item (vLLM's video_url "
        "of JPEG frames at their rate, for open video models such as Qwen2.5-VL)",
    )
    program.add_argument(
        "--max-videos",
        type=config_type(RunConfig, "max_videos"),
        metavar="N",
        help="most video items the server takes in one request (vLLM's --limit-mm-per-prompt video; default: 2, "
        "what the video system and --frames-as video send)",
    )
    program.add_argument(
        "--frame-sampling",
        choices=FRAME_SAMPLING,
        help="rate (default): frames at the true rate, by timestamp; stride: every int(fps_original / fps)-th "
        "original frame, as the published code sampled",
    )
    program.add_argument("--seed", type=config_type(RunConfig, "seed"), help="run seed, mixed with each sample's hash (default: 0)")
    program.add_argument(
        "--difference-threads",
        type=config_type(RunConfig, "difference_threads"),
        metavar="N",
        help="differencer calls in flight (default: 8)",
    )
    program.add_argument("--cache-dir", metavar="DIR", help="frame and CLIP embedding cache (default: ~/.cache/viddiff)")


def add_mode_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, help="closed: decide the benchmark's differences; open: propose, then decide (default: closed)")


def image_size_arg(text: str) -> int | str:
    """--image-size: a number of pixels, or 'full' (kept as 'full': None would read as not given)."""
    if text.strip().lower() == FULL_RESOLUTION:
        return FULL_RESOLUTION
    try:
        pixels = int(text)
    except ValueError:
        pixels = 0
    if pixels < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of pixels or '{FULL_RESOLUTION}', got {_shown(text)}")
    return pixels


def config_type(record_type: type, name: str) -> Callable[[str], Any]:
    """An argparse `type` for a flag that sets the config field `name` of `record_type`: the
    text read as the field's type, then checked by the config's own check (`field_problem`),
    so a flag and a YAML value are refused alike, the flag at parse time, as argparse does:
    "argument --temperature: expected a number from 0 to 2, got -1"."""
    return _checked_type(field_type(record_type, name), lambda value: field_problem(record_type, name, value), name)


def number_type(
    kind: type, *, low: float | None = None, high: float | None = None, above: float | None = None
) -> Callable[[str], Any]:
    """An argparse `type` for a command's own numeric flag (not a config field), checked by the
    config's rules: `number_type(int, low=1)` refuses '0' with "expected a positive integer, got 0"."""
    return _checked_type(kind, lambda value: number_problem(value, kind, low=low, high=high, above=above), kind.__name__)


def _checked_type(kind: type, problem: Callable[[Any], str | None], name: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text) if kind in (int, float) else text
        except ValueError:
            value = text
        expected = problem(value)
        if expected is not None:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)}")
        return value

    parse.__name__ = name  # argparse names the type in some of its messages
    return parse


def _shown(text: str) -> str:
    """A flag's value in an error: a number as typed, other text quoted."""
    try:
        float(text)
    except ValueError:
        return repr(text)
    return text


def build_config(args: argparse.Namespace, *, base: RunConfig | None = None, **changes: Any) -> RunConfig:
    """`base` (default: the defaults), then the preset (--preset, else the --config file's
    `preset`), then the --config file, then the flags given, then `changes`; validated. A
    command defines only the flags it needs; absent ones count as not given. A command with
    CLIP options whose CLIP model nobody chose gets the default of the device it embeds on
    (`clip_default_for_device`: ViT-B-32 on CPU), recorded in the config.
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
            "difference_threads", "cache_dir", "max_images", "frames_as", "max_videos",
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
    config = merge(config, {**_given(top), "lms": lms, "clip": _given(clip), **changes}).validate()
    if "clip_model" in vars(args) and not _clip_chosen(base, preset, from_file, _given(clip), changes):
        config = clip_default_for_device(config)
    return config


def _clip_chosen(
    base: RunConfig | None,
    preset: str | None,
    from_file: Mapping[str, Any],
    flags: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> bool:
    """Whether the CLIP model or its weights were chosen: by a resumed run's config, the preset,
    the file, the flags or the caller. If not, a command with CLIP options (those that embed
    frames) gets the default of the device it embeds on."""
    layers = (PRESETS.get(preset or "", {}).get("clip", {}), from_file.get("clip") or {}, flags, changes.get("clip") or {})
    return base is not None or any(key in layer for layer in layers for key in ("model", "pretrained"))


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def api_keys_for(config: RunConfig, roles: tuple[str, ...]) -> dict[str, str]:
    """Keys of the roles a command uses, from the environment (checked before any video is read)."""
    return resolve_api_keys({role: config.lms[role] for role in roles}, os.environ)
