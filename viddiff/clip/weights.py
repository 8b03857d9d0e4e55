"""Where a CLIP's weights come from, found before open_clip builds anything.

A `local-dir:` folder, a checkpoint file, or the Hugging Face Hub file of a pretrained tag. A
tag's file is taken from the Hugging Face cache when it is there (no network at all), fetched
only when the Hub answers, and otherwise reported in one line at once: with `HF_HUB_OFFLINE`
set the network is never touched, and an unreachable Hub costs one short request instead of
huggingface_hub's minute of retries. What open_clip and huggingface_hub log while the weights
load is silenced; failures reach the user as one `WeightsError` line.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from viddiff.config import HF_HUB, LOCAL_DIR
from viddiff.errors import ViddiffError

CONFIG_FILE = "open_clip_config.json"
"""The config file of a `local-dir:` folder: {"model_cfg": ..., "preprocess_cfg": ...}."""
WEIGHTS_FILE = "open_clip_pytorch_model.bin"
"""The weights file of a `local-dir:` folder and of open_clip's Hub repos (a torch state dict)."""
SAFE_WEIGHTS_FILE = "open_clip_model.safetensors"
"""The same weights as safetensors, which open_clip prefers where a repo or folder has both."""
WEIGHTS_SUFFIXES = (".safetensors", ".bin", ".pth")
"""open_clip takes the weights of a `local-dir:` folder from the first file with one of these."""
HUB_PROBE_TIMEOUT_S = 5.0
"""How long one request may take to tell whether the Hub can be reached before a download."""
QUIET_LOGGERS = ("huggingface_hub", "urllib3", "httpx", "httpx2", "filelock")
"""Loggers silenced while weights load (open_clip's own messages go to the root logger)."""
FOLDER_HINT = "pass --clip-model local-dir:PATH (`viddiff clip-folder PATH` writes a random-weight one for trying the pipeline)"


class WeightsError(ViddiffError):
    """CLIP weights cannot be loaded (absent offline, bad path, unknown model)."""


@dataclasses.dataclass(frozen=True)
class Weights:
    """What to hand open_clip's `create_model`."""

    model: str
    """The model name (`local-dir:` and `hf-hub:` names carry their own weights)."""
    checkpoint: str | None
    """A local checkpoint file, or None where the model name carries the weights."""
    preprocess: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The pretrained tag's preprocessing (mean, std, ...), which a bare file does not carry."""


def ignores_pretrained(model: str) -> bool:
    """Whether `model` names its own weights (`local-dir:` or `hf-hub:`), so a pretrained tag
    or file given with it is ignored."""
    return model.startswith((LOCAL_DIR, HF_HUB))


def describe(model: str, pretrained: str | None) -> str:
    """`CLIP <model> with weights <pretrained>`, without weights a model name ignores."""
    if ignores_pretrained(model) or not pretrained:
        return f"CLIP {model}"
    return f"CLIP {model} with weights {pretrained}"


def locate_weights(model: str, pretrained: str | None) -> Weights:
    """The weights of `model`/`pretrained`, on local disk (downloading a tag's file into the
    Hugging Face cache only when the Hub can be reached).

    Raises:
        WeightsError: one line naming what is missing and how to get it.
    """
    if model.startswith(LOCAL_DIR):
        check_local_dir(Path(model[len(LOCAL_DIR) :]))
        return Weights(model, None)
    if model.startswith(HF_HUB):
        repo = model[len(HF_HUB) :]
        if not (_cached(repo, CONFIG_FILE) and any(_cached(repo, name) for name in (SAFE_WEIGHTS_FILE, WEIGHTS_FILE))):
            _require_hub(f"cannot load CLIP {model}: not in the Hugging Face cache ({_hub_cache()})", _file_url(repo, WEIGHTS_FILE))
        return Weights(model, None)

    import open_clip

    what = describe(model, pretrained)
    model_cfg = open_clip.get_model_config(model.replace("/", "-"))
    if model_cfg is None:
        raise WeightsError(f"cannot load {what}: open_clip has no model {model!r} (open_clip.list_models() lists them); or {FOLDER_HINT}")
    if not pretrained:
        raise WeightsError(
            f"cannot load CLIP {model}: no weights given; pass a pretrained tag ({_tags(model)}) or a checkpoint file, or {FOLDER_HINT}"
        )
    tag = open_clip.get_pretrained_cfg(model, pretrained)
    if not tag:
        if os.path.isfile(pretrained):
            return Weights(model, pretrained)
        raise WeightsError(f"cannot load {what}: no such file, and not a pretrained tag of {model} ({_tags(model)})")
    if not tag.get("hf_hub"):  # a tag with a plain URL: open_clip fetches it itself
        return Weights(model, pretrained)
    if tag.get("quick_gelu", False) != model_cfg.get("quick_gelu", False):
        _warn_quick_gelu(model, model_cfg, pretrained, tag)
    return _hub_weights(what, model, tag)


def _hub_weights(what: str, model: str, tag: dict[str, Any]) -> Weights:
    """A pretrained tag's file from the Hugging Face cache, else downloaded when the Hub answers."""
    import open_clip

    repo, filename = os.path.split(tag["hf_hub"])
    filename = filename or WEIGHTS_FILE
    preprocess = _preprocess_of(tag)
    for name in _weights_candidates(filename):
        cached = _cached(repo, name)
        if cached:
            return Weights(model, cached, preprocess)
    _require_hub(f"cannot load {what}: not in the Hugging Face cache ({_hub_cache()})", _file_url(repo, filename))
    try:
        with quiet_loading():
            checkpoint = open_clip.download_pretrained(tag)
    except Exception as e:  # huggingface_hub raises HTTP, OS and its own errors
        raise WeightsError(f"cannot load {what}: download from {_file_url(repo, filename)} failed ({_first_line(e)})") from e
    return Weights(model, checkpoint, preprocess)


def _warn_quick_gelu(model: str, model_cfg: dict[str, Any], pretrained: str, tag: dict[str, Any]) -> None:
    """open_clip's warning for a tag trained with another activation than the model's."""
    import open_clip

    variant = f"{model}-quickgelu"
    fix = f": use {variant}" if tag.get("quick_gelu") and open_clip.get_model_config(variant) is not None else ""
    warnings.warn(
        f"QuickGELU mismatch between model {model} (quick_gelu={model_cfg.get('quick_gelu', False)}) and pretrained tag "
        f"{pretrained!r} (quick_gelu={tag.get('quick_gelu', False)}){fix}",
        UserWarning,
        stacklevel=4,
    )


def check_local_dir(folder: Path) -> None:
    """Raises WeightsError unless `folder` holds open_clip's config and a weights file (open_clip
    itself would build a model of random weights from a folder without weights)."""
    what = f"cannot load CLIP {LOCAL_DIR}{folder}"
    expected = f"a local-dir: folder holds {CONFIG_FILE} and {WEIGHTS_FILE} (or {SAFE_WEIGHTS_FILE})"
    if not folder.is_dir():
        raise WeightsError(f"{what}: no such folder ({expected})")
    if not (folder / CONFIG_FILE).is_file():
        raise WeightsError(f"{what}: no {CONFIG_FILE} in it ({expected})")
    if not any(p.is_file() and p.suffix in WEIGHTS_SUFFIXES for p in folder.iterdir()):
        raise WeightsError(f"{what}: no weights file in it ({expected})")


_QUIET_LOCK = threading.Lock()


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence what open_clip (root logger), huggingface_hub and HTTP clients log inside the
    block: retries, 'Ignoring pretrained', download failures; errors are raised instead.

    Logger levels are process-wide, so blocks run one at a time."""
    import open_clip

    package = os.path.dirname(open_clip.__file__) + os.sep
    from_open_clip = _DropFrom(package)
    with _QUIET_LOCK:
        loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        root = logging.getLogger()
        root.addFilter(from_open_clip)
        try:
            yield
        finally:
            root.removeFilter(from_open_clip)
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


class _DropFrom(logging.Filter):
    """Drops records logged from files below one folder."""

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.pathname.startswith(self.folder)


def _require_hub(problem: str, url: str) -> None:
    """Returns when the Hub may be asked for a file; otherwise raises one line saying why not
    (`HF_HUB_OFFLINE`, or the Hub does not answer one short request) and what to fetch."""
    from huggingface_hub import constants

    if constants.is_offline_mode():
        reason = "and HF_HUB_OFFLINE is set"
    else:
        failure = _hub_unreachable()
        if failure is None:
            return
        reason = f"and {constants.ENDPOINT} cannot be reached ({failure})"
    raise WeightsError(f"{problem} {reason}; download {url} and pass the file with --clip-pretrained FILE, or {FOLDER_HINT}")


def _hub_unreachable() -> str | None:
    """None when the Hub answers one request (any HTTP status), else why not, in one line."""
    from huggingface_hub import constants, get_session

    try:
        get_session().head(constants.ENDPOINT, timeout=HUB_PROBE_TIMEOUT_S)
    except Exception as e:  # connection, DNS, proxy and timeout errors of the HTTP client
        return _first_line(e)
    return None


def _cached(repo: str, filename: str) -> str | None:
    """The file's path in the Hugging Face cache, or None (reads the disk only)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename)
    return found if isinstance(found, str) else None


def _hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _file_url(repo: str, filename: str) -> str:
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo, filename)


def _weights_candidates(filename: str) -> list[str]:
    """The files open_clip's download tries for `filename`, in its order: the safetensors
    version first (when safetensors is installed), then the file itself."""
    try:
        import safetensors  # noqa: F401
    except ImportError:
        return [filename]
    if filename == WEIGHTS_FILE:
        return [SAFE_WEIGHTS_FILE, filename]
    if filename.endswith((".bin", ".pth")):
        return [filename[:-4] + ".safetensors", filename]
    return [filename]


def _preprocess_of(tag: dict[str, Any]) -> dict[str, Any]:
    """The preprocessing a pretrained tag sets (open_clip applies it only when loading by tag);
    the image size always comes from the model."""
    from open_clip.transform import PreprocessCfg

    keys = {f.name for f in dataclasses.fields(PreprocessCfg)} - {"size"}
    return {key: value for key, value in tag.items() if key in keys and value is not None}


def _tags(model: str) -> str:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(model)
    return f"tags: {', '.join(tags)}" if tags else "it has no tags"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
