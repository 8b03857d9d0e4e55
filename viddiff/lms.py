"""Language models per role: configuration, credentials, and the DSPy LM objects.

Roles: `proposer` (proposes differences), `planner` (stages, retrieval strings and links),
`differencer` (the VLM answering each difference), `matcher` (scores open-set output).
API keys are read from the environment by the caller and handed in; they are never stored
in a config, a run directory or a saved program.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from viddiff.config import LMConfig
from viddiff.errors import ViddiffError

if TYPE_CHECKING:
    import dspy

KEY_VARIABLES = {
    "openai": ("OPENAI_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "azure": ("AZURE_API_KEY",),
}
"""Environment variables holding each provider's key, in the order they are looked up."""
LOCAL_SERVER_KEY = "not-needed"
"""Sent to an OpenAI-compatible server (vLLM, SGLang, Ollama) when no key is set for it."""


class CredentialsError(ViddiffError):
    """An LM's API key is not set."""


def key_variables(config: LMConfig) -> tuple[str, ...]:
    """Environment variables that may hold a role's key, in the order they are looked up."""
    if config.api_key_env:
        return (config.api_key_env,)
    return KEY_VARIABLES.get(config.provider, (f"{config.provider.upper()}_API_KEY",))


def resolve_api_keys(lms: Mapping[str, LMConfig], environ: Mapping[str, str]) -> dict[str, str]:
    """The API key of each role, from `environ`; raises naming every variable still to set.

    An OpenAI-compatible server (`api_base` given) without a key set gets a placeholder key.
    """
    keys, missing = {}, {}
    for role, config in lms.items():
        variables = key_variables(config)
        value = next((environ[v] for v in variables if environ.get(v)), None)
        if value is None and config.api_base:
            value = LOCAL_SERVER_KEY
        if value is None:
            missing.setdefault(" or ".join(variables), []).append(f"{role} ({config.model})")
        else:
            keys[role] = value
    if missing:
        needs = "; ".join(f"set {variable} for {', '.join(roles)}" for variable, roles in missing.items())
        raise CredentialsError(f"missing API key: {needs}")
    return keys


def build_lm(config: LMConfig, api_key: str, *, engine: str = "auto") -> dspy.LM:
    """A dspy.LM for a role (`engine`: DSPy's backend, `auto` or `litellm`); a rate limit
    pauses every thread sending to the same model and server (`viddiff.gated_lm`).

    DSPy's disk cache ignores `api_base`, so two servers serving one model name would share
    answers; the server address is folded into the cache key through `rollout_id`, which DSPy
    keeps in the key and strips before sending.
    """
    from viddiff.gated_lm import GatedLM, gate_for

    if engine == "litellm":  # importing litellm's client warns about typing details of its own
        warnings.filterwarnings("ignore", message=r".*using the `ReadOnly` qualifier", category=UserWarning)
    kwargs = {}
    if config.api_base:
        kwargs["api_base"] = config.api_base
        kwargs["rollout_id"] = server_rollout_id(config.api_base)
    return GatedLM(
        config.model,
        gate=gate_for(config.model, config.api_base),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        num_retries=config.num_retries,
        cache=config.cache,
        api_key=api_key,
        engine=engine,
        **kwargs,
    )


def server_rollout_id(api_base: str) -> int:
    """A stable integer naming a server, for the cache key."""
    return int.from_bytes(hashlib.sha256(api_base.rstrip("/").encode()).digest()[:6], "big")


REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8
"""Shorter values (`x`, `EMPTY`, `ollama`: placeholders for local servers) are no keys, and
replacing them would mangle every message that contains those letters."""


def configured_secrets(environ: Mapping[str, str], extra_variables: Iterable[str | None] = ()) -> list[str]:
    """The values of every provider key variable set in `environ` (and of `extra_variables`)."""
    names = {v for variables in KEY_VARIABLES.values() for v in variables} | {v for v in extra_variables if v}
    return [environ[name] for name in sorted(names) if environ.get(name)]


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """`value` (nested dicts, lists, strings) with every secret (of MIN_SECRET_LENGTH or more
    characters) replaced by `[redacted]`."""
    secrets = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH and s != LOCAL_SERVER_KEY]
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    return value


def usage_cost(usage: Mapping[str, Mapping[str, Any]]) -> float | None:
    """Estimated USD cost of a usage record (model -> token counts), from litellm's bundled
    price table; None when a model has no known price (a local server, a new model)."""
    import litellm

    total = 0.0
    for model, counts in usage.items():
        try:
            prompt, completion = litellm.cost_per_token(
                model=model,
                prompt_tokens=int(counts.get("prompt_tokens") or 0),
                completion_tokens=int(counts.get("completion_tokens") or 0),
            )
        except Exception:  # litellm raises its own types for unmapped models
            return None
        total += prompt + completion
    return round(total, 6)


def cost_text(cost: float | None) -> str:
    """'$1.23' (four decimals under a cent), or 'unknown cost' (a model without a known price)."""
    if cost is None:
        return "unknown cost"
    return f"${cost:,.2f}" if cost == 0 or cost >= 0.01 else f"${cost:.4f}"


def total_cost(costs: Iterable[float | None]) -> float | None:
    """Summed costs (e.g. the `cost_usd` of run records); None when any is unknown."""
    costs = list(costs)
    return None if any(c is None for c in costs) else round(sum(costs), 6)


def usage_tokens(usage: Mapping[str, Mapping[str, Any]]) -> int:
    """Prompt plus completion tokens over the models of a usage record."""
    return sum(int(u.get("prompt_tokens") or 0) + int(u.get("completion_tokens") or 0) for u in usage.values())


@dataclass(frozen=True)
class UsagePerSample:
    """What one sample cost on average: LM calls, images and videos sent (over the samples whose
    record counted them, `counted`), tokens, and dollars (None when a model's price is unknown)."""

    samples: int
    counted: int
    lm_calls: float | None
    images: float | None
    videos: float | None
    tokens: float | None
    cost_usd: float | None

    def text(self) -> str:
        """'per sample: 1.0 LM calls, 20.5 images, 0.0 videos, 612 tokens, $0.0123'."""
        if not self.samples:
            return "per sample: no samples"
        parts = [f"{self.lm_calls:.1f} LM calls, {self.images:.1f} images, {self.videos:.1f} videos"] if self.counted else []
        parts += [f"{self.tokens:,.0f} tokens", cost_text(self.cost_usd)]
        return "per sample: " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def usage_per_sample(records: Sequence) -> UsagePerSample:
    """The mean cost of one of `records` (run records: `usage`, `cost_usd`, `lm_calls`, ...)."""
    records = list(records)
    counted = [r for r in records if r.lm_calls is not None]

    def mean(values: Iterable[float], n: int) -> float | None:
        return round(sum(values) / n, 3) if n else None

    cost = total_cost(r.cost_usd for r in records)
    return UsagePerSample(
        samples=len(records),
        counted=len(counted),
        lm_calls=mean((r.lm_calls for r in counted), len(counted)),
        images=mean((r.images or 0 for r in counted), len(counted)),
        videos=mean((r.videos or 0 for r in counted), len(counted)),
        tokens=mean((usage_tokens(r.usage) for r in records), len(records)),
        cost_usd=None if cost is None or not records else round(cost / len(records), 6),
    )
