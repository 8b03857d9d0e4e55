"""One place for a run's configuration: defaults, then a YAML file, then command-line flags."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viddiff.data.benchmark import DEFAULT_SOURCE
from viddiff.data.records import SPLITS
from viddiff.errors import ViddiffError
from viddiff.retrieval.modes import LOCALIZATION_MODES

MODES = ("closed", "open")
OPEN_PROTOCOLS = ("verify-then-match", "published")
SYSTEMS = ("viddiff", "frames", "video")
"""Systems a task can run: `viddiff` (proposer, stage planner, CLIP + Viterbi localizer, differencer);
`frames` (the paper's GPT-4o/Claude baseline: all sampled frames of both videos in one call);
`video` (the paper's Gemini baseline: both trimmed clips as videos in one google-genai call)."""
SINGLE_CALL_SYSTEMS = ("frames", "video")
FRAMES_AS = ("images", "video")
"""How the frames system sends each video's frames: separate images, or one video item (vLLM's
`video_url` of JPEG frames, for open video models)."""
FRAMES_OPTIONS = ("auto", "1", "3")
"""Frames per video for every difference: each difference's own `num_frames`, one, or three."""
RESIZE_MODES = ("longest", "shortest")
IMAGE_FORMATS = ("jpeg", "png")
"""How frames are encoded for the VLM."""
IMAGE_DETAILS = ("auto", "low", "high")
"""OpenAI's image `detail`; `auto` sends none (the API's default is auto)."""
FRAME_SAMPLING = ("rate", "stride")
"""`rate`: frames at the true sampling rate, by timestamp; `stride`: every k-th original
frame, k = int(fps_original / fps), as the published code sampled."""
FULL_RESOLUTION = "full"
"""The value of `image_size` (YAML or --image-size) that keeps frames at full resolution (None)."""
ROLES = ("proposer", "planner", "differencer", "baseline", "matcher", "reflection")
"""LM roles: proposes differences, plans stages and links, decides each difference, answers a
whole sample from all its frames (the single-call systems), scores open-set output, and, when
compiling, writes new instructions (GEPA's reflection, which sees the frames: it must take
images; MIPROv2's proposals)."""
DEFAULT_MODEL = "openai/gpt-4o-2024-08-06"
"""The camera-ready paper's proposer and differencer."""
DEFAULT_CLIP_MODEL = "ViT-bigG-14"
DEFAULT_CLIP_PRETRAINED = "laion2b_s39b_b160k"
"""The paper's CLIP, the default on CUDA (about 0.2 frames/s on CPU)."""
CPU_CLIP_MODEL = "ViT-B-32"
CPU_CLIP_PRETRAINED = "laion2b_s34b_b79k"
"""The CLIP default of a command run without CUDA (see `clip_default_for_device`)."""
LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"
"""Prefixes of CLIP model names that carry their own weights (a pretrained tag is ignored)."""
MODEL_STRING_HELP = (
    "a model string looks like openai/gpt-4o, gemini/gemini-2.5-pro, or hosted_vllm/<served-name> "
    "with --api-base for a local server"
)
COMMON_PROVIDERS = frozenset(
    ("openai", "gemini", "anthropic", "openrouter", "azure", "vertex_ai", "bedrock", "hosted_vllm", "vllm",
     "ollama", "ollama_chat", "lm_studio", "litellm_proxy", "together_ai", "groq", "mistral", "deepseek",
     "fireworks_ai", "xai")
)
"""Model string prefixes known without importing litellm (whose `provider_list` holds them all)."""


class ConfigError(ViddiffError):
    """A configuration value is invalid or unknown."""


def _spec(
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    pattern: str | None = None,
    expected: str | None = None,
    checked_by_validate: bool = False,
) -> dict[str, Any]:
    """A config field's metadata for `field_problem`: bounds of a number (`low` and `high`
    included, `above` excluded), or the pattern a whole string matches and what it names."""
    return {
        "low": low, "high": high, "above": above, "pattern": pattern, "expected": expected,
        "checked_by_validate": checked_by_validate,
    }


@dataclass(frozen=True)
class LMConfig:
    """One role's LM, as a DSPy model string plus the settings that reach the provider."""

    model: str = DEFAULT_MODEL
    """`openai/gpt-4o`, `gemini/gemini-2.5-pro`, `anthropic/...`, or `openai/<served-name>`
    with `api_base` for an OpenAI-compatible server."""
    api_base: str | None = field(default=None, metadata=_spec(pattern=r"https?://\S+", expected="an http:// or https:// URL"))
    api_key_env: str | None = field(
        default=None, metadata=_spec(pattern=r"[A-Za-z_][A-Za-z0-9_]*", expected="an environment variable name")
    )
    """Environment variable holding the key; None: the provider's usual variable."""
    temperature: float = field(default=1.0, metadata=_spec(low=0, high=2))
    max_tokens: int | None = field(default=None, metadata=_spec(low=1))
    num_retries: int = field(default=3, metadata=_spec(low=0))
    cache: bool = True

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0] if "/" in self.model else "openai"


@dataclass(frozen=True)
class ClipConfig:
    """Which CLIP model embeds frames and strings, and how (`viddiff.clip` builds it)."""

    model: str = DEFAULT_CLIP_MODEL
    """open_clip model name, or `local-dir:/path` to a folder holding config and weights. A
    command run off CUDA that chose no CLIP gets CPU_CLIP_MODEL (`clip_default_for_device`)."""
    pretrained: str | None = DEFAULT_CLIP_PRETRAINED
    """A pretrained tag, a local checkpoint file, or None (with `local-dir:` models)."""
    device: str | None = field(default=None, metadata=_spec(pattern=r"cpu|cuda(:\d+)?|mps", expected="cpu, cuda, cuda:N or mps"))
    """`cpu`, `cuda`, `cuda:N` or `mps`; None picks CUDA when available."""
    batch_size: int = field(default=64, metadata=_spec(low=1))
    resize_mode: str = "longest"
    """`longest` letterboxes the whole frame; `shortest` centre-crops (the published code's
    default preprocessing, which cuts off the sides of wide frames)."""
    precision: str | None = None
    """open_clip precision (`fp32`, `bf16`, ...); None: bf16 on CUDA, fp32 elsewhere."""

    def __post_init__(self):
        if self.model.startswith((LOCAL_DIR, HF_HUB)):  # the folder or Hub repo holds the weights
            object.__setattr__(self, "pretrained", None)


def default_lms() -> dict[str, LMConfig]:
    return {role: LMConfig() for role in ROLES}


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's results (API keys excluded: they never enter a config)."""

    preset: str | None = None
    """Named defaults applied under the YAML file and the flags: one of PRESETS (`paper`: the
    published reproduction settings), or None."""
    system: str = "viddiff"
    """Which system answers: one of SYSTEMS."""
    source: str = DEFAULT_SOURCE
    """Benchmark: Hugging Face id, local file or folder."""
    split: tuple[str, ...] = ()
    """Splits to run (empty: all)."""
    actions: tuple[str, ...] = ()
    mode: str = "closed"
    """`closed`: decide the given differences; `open`: propose up to N_diff, then decide them."""
    limit: int | None = field(default=None, metadata=_spec(low=1))
    video_root: str | None = None
    revision: str | None = None
    localization: str = "viterbi"
    open_protocol: str = "verify-then-match"
    """Open set: `verify-then-match` decides every proposal, then matches them to the ground
    truth (with the opposite check); `published` matches proposals first and decides only the
    matched ones, as the published code did (same recall definition, fewer VLM calls, no
    opposite check)."""
    three_way: bool = False
    """Let the differencer answer 'c' (not visible); in closed accuracy 'c' counts as wrong."""
    chain_of_thought: bool = False
    """The differencer reasons step by step first (dspy.ChainOfThought instead of Predict)."""
    frames: str = "auto"
    """Frames per video shown for each difference: 'auto' (the difference's own '1' or
    'gt_1'), '1', or '3'."""
    program: str | None = None
    """A compiled program (`viddiff compile`) whose prompts replace the defaults."""
    seed: int = 0
    fps: float | None = field(default=None, metadata=_spec(above=0))
    """Sampling rate override; by default the method's per-domain rates."""
    frame_sampling: str = "rate"
    """`rate` keeps frames at the true rate by timestamp; `stride` keeps every
    int(fps_original / fps)-th original frame, as the published code did."""
    image_size: int | None = field(default=512, metadata=_spec(checked_by_validate=True))
    """Longer side of the decoded frames (what CLIP and the VLM see), in pixels; None (`full`
    in YAML and on the command line): full resolution, as the published code sent them."""
    image_format: str = "jpeg"
    """How frames are encoded for the VLM: `jpeg` (at `jpeg_quality`) or `png` (lossless)."""
    jpeg_quality: int = 85
    image_detail: str = "auto"
    """The `detail` of each image part (`low`, `high`); `auto` sends none, which OpenAI treats
    as auto. Providers other than OpenAI ignore it."""
    max_images: int = field(default=150, metadata=_spec(low=2))
    """The frames system: most images in one call; above it, each video sends an even subset of
    its sampled frames (the published code refused more than 150)."""
    frames_as: str = "images"
    """The frames system: each video's frames as separate images, or as one video item (`video`:
    vLLM's `video_url` of JPEG frames, so a video model sees them as a video at their rate)."""
    max_videos: int = field(default=2, metadata=_spec(low=0))
    """Most video items the server takes in one request (vLLM's `--limit-mm-per-prompt`); the
    video system and `frames_as: video` send two, A and B."""
    difference_threads: int = field(default=8, metadata=_spec(low=1))
    """Differencer calls in flight per sample."""
    sample_threads: int = field(default=2, metadata=_spec(low=1))
    """Samples processed at once."""
    cache_dir: str = "~/.cache/viddiff"
    """Frames and CLIP embeddings are cached below it (LM answers: DSPy's own cache)."""
    lms: dict[str, LMConfig] = field(default_factory=default_lms)
    clip: ClipConfig = field(default_factory=ClipConfig)

    def validate(self) -> RunConfig:
        """All checks: each value's type and range (`field_problem`), the choices, the model
        strings, then the cross-field checks; returns self so it can end a chain."""
        if self.preset is not None and (not isinstance(self.preset, str) or self.preset not in PRESETS):
            raise ConfigError(_preset_error(self.preset))
        _check_values(RunConfig, {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, "")
        _check_values(ClipConfig, dataclasses.asdict(self.clip), "clip.")
        for role, lm in self.lms.items():
            _check_values(LMConfig, dataclasses.asdict(lm), f"lms.{role}.")
        if self.system not in SYSTEMS:
            raise ConfigError(f"system must be one of {', '.join(SYSTEMS)}, got {self.system!r}")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        unknown_splits = [s for s in self.split if s not in SPLITS]
        if unknown_splits:
            raise ConfigError(f"unknown split {', '.join(unknown_splits)}: choose from {', '.join(SPLITS)}")
        if self.open_protocol not in OPEN_PROTOCOLS:
            raise ConfigError(f"open_protocol must be one of {', '.join(OPEN_PROTOCOLS)}, got {self.open_protocol!r}")
        if self.frames not in FRAMES_OPTIONS:
            raise ConfigError(f"frames must be one of {', '.join(FRAMES_OPTIONS)}, got {self.frames!r}")
        if self.localization not in LOCALIZATION_MODES:
            raise ConfigError(f"localization must be one of {', '.join(LOCALIZATION_MODES)}, got {self.localization!r}")
        if self.clip.resize_mode not in RESIZE_MODES:
            raise ConfigError(f"clip.resize_mode must be one of {', '.join(RESIZE_MODES)}")
        if self.image_size is not None and (not _is_int(self.image_size) or self.image_size < 1):
            raise ConfigError(
                f"image_size must be at least 1 (pixels) or '{FULL_RESOLUTION}' (full resolution), got {self.image_size!r}"
            )
        if self.image_format not in IMAGE_FORMATS:
            raise ConfigError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got {self.image_format!r}")
        if self.image_detail not in IMAGE_DETAILS:
            raise ConfigError(f"image_detail must be one of {', '.join(IMAGE_DETAILS)}, got {self.image_detail!r}")
        if self.frame_sampling not in FRAME_SAMPLING:
            raise ConfigError(f"frame_sampling must be one of {', '.join(FRAME_SAMPLING)}, got {self.frame_sampling!r}")
        if self.system in SINGLE_CALL_SYSTEMS and self.mode == "open" and self.open_protocol == "published":
            raise ConfigError(
                f"open_protocol 'published' matches VidDiff's proposals before deciding; the {self.system} system "
                "decides in its one call: use verify-then-match"
            )
        if self.frames_as not in FRAMES_AS:
            raise ConfigError(f"frames_as must be one of {', '.join(FRAMES_AS)}, got {self.frames_as!r}")
        if self.frames_as == "video" and (self.system != "frames" or self.image_format != "jpeg"):
            raise ConfigError("frames_as 'video' sends JPEG frames as one video item per video: use it with the frames system and jpeg images")
        if (self.system == "video" or self.frames_as == "video") and self.max_videos < 2:
            raise ConfigError(
                f"each request carries 2 videos (A and B) but the server takes at most {self.max_videos}: launch vLLM with "
                """--limit-mm-per-prompt '{"video": 2}' and pass --max-videos 2, or send the frames as images"""
            )
        if self.system == "video" and not self.lms["baseline"].model.startswith("gemini/"):
            raise ConfigError(
                "the video system sends videos through google-genai: its baseline model must be gemini/<model> "
                f"(--baseline-lm gemini/gemini-2.5-pro), got {self.lms['baseline'].model!r}"
            )
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg_quality must be between 1 and 100, got {self.jpeg_quality}")
        unknown_roles = sorted(set(self.lms) - set(ROLES))
        if unknown_roles:
            raise ConfigError(f"unknown LM role {', '.join(unknown_roles)}: roles are {', '.join(ROLES)}")
        _check_models(self.lms)
        return self

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir).expanduser()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """A config from nested plain values (a YAML file, a saved config.json); unknown keys
        are errors. A `preset` key applies that preset under the other values."""
        return merge(apply_preset(cls(), data.get("preset")), data)


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "lms": {"all": {"model": DEFAULT_MODEL, "temperature": 1.0}},
        "image_size": None,
        "image_format": "png",
        "image_detail": "high",
        "fps": None,
        "frame_sampling": "stride",
        "clip": {"model": DEFAULT_CLIP_MODEL, "pretrained": DEFAULT_CLIP_PRETRAINED, "resize_mode": "shortest"},
        "localization": "viterbi",
    },
}
"""Named sets of defaults, applied above the built-in defaults and under a YAML file and flags.

`paper`: the camera-ready paper's and the released code's settings: gpt-4o-2024-08-06 for
every role at temperature 1; frames at full resolution sent losslessly (the released code
encoded them as PNG) at `detail: high`; the method's per-domain rates taken by integer
stride over the original frames; CLIP ViT-bigG-14 / laion2b_s39b_b160k with open_clip's
centre crop; Viterbi localization. See docs/DEVIATIONS.md for what no option restores.
"""


def apply_preset(config: RunConfig, name: str | None) -> RunConfig:
    """`config` with the named preset's values applied and `preset` recorded; None: unchanged."""
    if name is None:
        return config
    if not isinstance(name, str) or name not in PRESETS:
        raise ConfigError(_preset_error(name))
    return merge(config, {**PRESETS[name], "preset": name})


def merge(config: RunConfig, changes: Mapping[str, Any]) -> RunConfig:
    """`config` with `changes` applied: nested `lms` (per role, or `all` for every role) and
    `clip`; `image_size: full` means full resolution (None)."""
    changes = dict(changes)
    unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(RunConfig)})
    if unknown:
        raise ConfigError(f"unknown config key {', '.join(unknown)}")
    if changes.get("image_size") == FULL_RESOLUTION:
        changes["image_size"] = None
    _check_values(RunConfig, changes, "")
    lms = dict(config.lms)
    for role, values in (changes.pop("lms", None) or {}).items():
        targets = ROLES if role == "all" else (role,)
        if role != "all" and role not in ROLES:
            raise ConfigError(f"unknown LM role {role!r}: roles are {', '.join(ROLES)}, or 'all'")
        for target in targets:
            lms[target] = _replace(lms.get(target, LMConfig()), values, f"lms.{role}")
    clip = _replace(config.clip, changes.pop("clip", None) or {}, "clip")
    for key in ("split", "actions"):
        if key in changes:
            value = changes[key]
            changes[key] = (value,) if isinstance(value, str) else tuple(value)
    return dataclasses.replace(config, lms=lms, clip=clip, **changes)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys")
    return data


def _preset_error(name: object) -> str:
    return f"preset must be one of {', '.join(PRESETS)}, got {name!r}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _replace(record, values: Mapping[str, Any], where: str):
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {values!r}")
    known = {f.name for f in dataclasses.fields(record)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown key {', '.join(unknown)} in {where}: known keys are {', '.join(sorted(known))}")
    _check_values(type(record), values, f"{where}.")
    return dataclasses.replace(record, **values)


def field_problem(record_type: type, name: str, value: Any) -> str | None:
    """What the field `name` of a config record (`RunConfig`, `LMConfig`, `ClipConfig`) expects,
    as in 'a positive integer', when `value` is not valid for it; None when it is.

    The one check of a value's type and range, for YAML files, saved configs and flags alike:
    booleans are YAML's true and false only (never the string 'false'), integers are not
    booleans, numbers are finite. Nested records (`lms`, `clip`) are checked key by key.
    """
    hint, optional, spec = _field_specs(record_type)[name]
    if spec["checked_by_validate"] or hint not in (bool, int, float, str, tuple):
        return None
    ok = optional if value is None else _value_ok(hint, spec, value)
    return None if ok else _expected(hint, spec)


def number_problem(
    value: Any, kind: type, *, low: float | None = None, high: float | None = None, above: float | None = None
) -> str | None:
    """What a number outside the config expects (a command's own flag, as in 'a positive
    integer'), when `value` is not one of `kind` within the bounds; the rules of `field_problem`."""
    spec = _spec(low=low, high=high, above=above)
    return None if _value_ok(kind, spec, value) else _expected(kind, spec)


def field_type(record_type: type, name: str) -> type:
    """The type of a config field's values (`int`, `float`, `str`, `bool`, `tuple`, ...), None aside."""
    return _field_specs(record_type)[name][0]


def model_string_problem(model: str) -> str | None:
    """What is wrong with a DSPy (litellm) model string, or None: it needs a provider prefix that
    litellm knows. litellm is imported only for a prefix outside COMMON_PROVIDERS."""
    provider, slash, name = model.partition("/")
    if not slash:
        return "has no provider prefix"
    if not provider or not name.strip():
        return "is not provider/model"
    if provider in COMMON_PROVIDERS or provider in _litellm_providers():
        return None
    return f"names a provider litellm does not know ({provider!r})"


def uses_clip(config: RunConfig) -> bool:
    """Whether a run of `config` embeds frames with CLIP (the VidDiff system with viterbi)."""
    return config.system == "viddiff" and LOCALIZATION_MODES[config.localization].needs_embedder


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (imports torch)."""
    import torch

    return torch.cuda.is_available()


def clip_default_for_device(config: RunConfig) -> RunConfig:
    """`config` with the CLIP default of the device it embeds on: the paper's ViT-bigG-14 on
    CUDA, ViT-B-32 elsewhere (bigG runs about 0.2 frames/s on CPU); for a config whose CLIP
    model and weights nobody chose, so that the config records the model a run uses.
    Unchanged when the run embeds nothing. Imports torch when `clip.device` is not set."""
    if not uses_clip(config):
        return config
    if _clip_device(config).startswith("cuda"):
        return merge(config, {"clip": {"model": DEFAULT_CLIP_MODEL, "pretrained": DEFAULT_CLIP_PRETRAINED}})
    return merge(config, {"clip": {"model": CPU_CLIP_MODEL, "pretrained": CPU_CLIP_PRETRAINED}})


def cpu_clip_note(config: RunConfig) -> str | None:
    """A one-line note when a run embeds frames with the CPU default CLIP (ViT-B-32) off CUDA:
    the paper used ViT-bigG-14, and how to use it; None otherwise. Imports torch when
    `clip.device` is not set."""
    if not uses_clip(config) or (config.clip.model, config.clip.pretrained) != (CPU_CLIP_MODEL, CPU_CLIP_PRETRAINED):
        return None
    device = _clip_device(config)
    if device.startswith("cuda"):
        return None
    return (
        f"note: on {'CPU' if device == 'cpu' else device} the CLIP default is {CPU_CLIP_MODEL} ({CPU_CLIP_PRETRAINED}); "
        f"the paper used {DEFAULT_CLIP_MODEL} (about 0.2 frames/s on CPU): pass --clip-model {DEFAULT_CLIP_MODEL} "
        f"--clip-pretrained {DEFAULT_CLIP_PRETRAINED} (or --preset paper) to use it"
    )


def _clip_device(config: RunConfig) -> str:
    return config.clip.device or ("cuda" if cuda_available() else "cpu")


def _check_values(record_type: type, values: Mapping[str, Any], where: str) -> None:
    for name, value in values.items():
        expected = field_problem(record_type, name, value)
        if expected is not None:
            raise ConfigError(f"config key {where}{name}: expected {expected}, got {value!r}")


def _check_models(lms: Mapping[str, LMConfig]) -> None:
    """One error naming the first bad model string and every role that has it."""
    bad: dict[tuple[str, str], list[str]] = {}
    for role, lm in lms.items():
        problem = model_string_problem(lm.model)
        if problem is not None:
            bad.setdefault((lm.model, problem), []).append(role)
    if bad:
        (model, problem), roles = next(iter(bad.items()))
        named = roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} and {roles[-1]}"
        raise ConfigError(f"LM model {model!r} of the {named} {problem}; {MODEL_STRING_HELP}")


@functools.cache
def _field_specs(record_type: type) -> dict[str, tuple[Any, bool, dict[str, Any]]]:
    """Field name -> (type without None, whether None is allowed, `_spec` metadata)."""
    hints = typing.get_type_hints(record_type)
    specs = {}
    for f in dataclasses.fields(record_type):
        hint, optional = hints[f.name], False
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            others = [a for a in typing.get_args(hint) if a is not type(None)]
            optional = len(others) < len(typing.get_args(hint))
            hint = others[0] if len(others) == 1 else hint
        specs[f.name] = (typing.get_origin(hint) or hint, optional, {**_spec(), **f.metadata})
    return specs


def _value_ok(hint: type, spec: Mapping[str, Any], value: Any) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return _is_int(value) and _within(value, spec)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and _within(value, spec)
    if hint is str:
        return isinstance(value, str) and (spec["pattern"] is None or re.fullmatch(spec["pattern"], value) is not None)
    return isinstance(value, str) or (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value))


def _within(value: float, spec: Mapping[str, Any]) -> bool:
    return (
        (spec["low"] is None or value >= spec["low"])
        and (spec["high"] is None or value <= spec["high"])
        and (spec["above"] is None or value > spec["above"])
    )


def _expected(hint: type, spec: Mapping[str, Any]) -> str:
    if spec["expected"]:
        return spec["expected"]
    if hint is bool:
        return "true or false"
    if hint is str:
        return "a string"
    if hint is tuple:
        return "a string or a list of strings"
    noun = "an integer" if hint is int else "a number"
    low, high, above = spec["low"], spec["high"], spec["above"]
    if low is not None and high is not None:
        return f"{noun} from {low} to {high}"
    if above == 0 or (hint is int and low == 1):
        return f"a positive {noun.split()[-1]}"
    if low == 0:
        return f"a non-negative {noun.split()[-1]}"
    if low is not None:
        return f"{noun} of at least {low}"
    return noun


@functools.cache
def _litellm_providers() -> frozenset[str]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # no price-table download
    import litellm

    return frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)
