import pytest

from viddiff.config import LMConfig
from viddiff.lms import (
    LOCAL_SERVER_KEY,
    CredentialsError,
    build_lm,
    redact,
    resolve_api_keys,
    server_rollout_id,
    usage_cost,
)


def test_keys_come_from_each_providers_variable():
    lms = {"proposer": LMConfig("openai/gpt-4o"), "differencer": LMConfig("gemini/gemini-2.5-pro")}
    assert resolve_api_keys(lms, {"OPENAI_API_KEY": "k1", "GOOGLE_API_KEY": "k2"}) == {"proposer": "k1", "differencer": "k2"}
    custom = {"planner": LMConfig("anthropic/claude", api_key_env="MY_KEY")}
    assert resolve_api_keys(custom, {"MY_KEY": "k3", "ANTHROPIC_API_KEY": "other"}) == {"planner": "k3"}


def test_missing_keys_are_named_in_one_message():
    lms = {
        "proposer": LMConfig("openai/gpt-4o"),
        "differencer": LMConfig("openai/gpt-4o"),
        "planner": LMConfig("gemini/gemini-2.5-pro"),
    }
    with pytest.raises(CredentialsError) as caught:
        resolve_api_keys(lms, {})
    assert str(caught.value) == (
        "missing API key: set OPENAI_API_KEY for proposer (openai/gpt-4o), differencer (openai/gpt-4o); "
        "set GEMINI_API_KEY or GOOGLE_API_KEY for planner (gemini/gemini-2.5-pro)"
    )


def test_a_local_server_needs_no_key():
    lms = {"differencer": LMConfig("openai/qwen2-vl", api_base="http://127.0.0.1:8000/v1")}
    assert resolve_api_keys(lms, {}) == {"differencer": LOCAL_SERVER_KEY}


def test_server_address_enters_the_lm_as_rollout_id():
    lm = build_lm(LMConfig("openai/m", api_base="http://127.0.0.1:8000/v1/"), "k")
    assert lm.kwargs["rollout_id"] == server_rollout_id("http://127.0.0.1:8000/v1")
    assert server_rollout_id("http://127.0.0.1:8000/v1") != server_rollout_id("http://127.0.0.1:8001/v1")
    assert "rollout_id" not in build_lm(LMConfig("openai/m"), "k").kwargs


def test_usage_cost():
    usage = {"openai/gpt-4o-2024-08-06": {"prompt_tokens": 576, "completion_tokens": 117}}
    # $2.50 per million prompt tokens, $10 per million completion tokens.
    assert usage_cost(usage) == pytest.approx(576 * 2.5e-6 + 117 * 10e-6)
    assert usage_cost({}) == 0.0
    assert usage_cost({"openai/served-locally": {"prompt_tokens": 5}}) is None


def test_redact_replaces_secrets_everywhere():
    record = {"error": "bad key sk-abc123 given", "nested": [{"x": "sk-abc123"}, 3], "n": 1.5}
    assert redact(record, ["sk-abc123"]) == {"error": "bad key [redacted] given", "nested": [{"x": "[redacted]"}, 3], "n": 1.5}
    assert redact("text", [LOCAL_SERVER_KEY, ""]) == "text"
    # A placeholder key for a local server is no secret: messages keep their letters.
    assert redact("FileNotFoundError: text", ["x", "EMPTY", "ollama"]) == "FileNotFoundError: text"
