"""The LM test doubles work with real DSPy 3.4.1 machinery: adapters, retries, thread pools, HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import dspy
import pydantic
import pytest
from dspy import lm15

from tests.lm.fake_engine import FakeEngine, provider_error, rate_limit_error, server_error
from tests.lm.loopback_server import LoopbackServer, loopback_server
from tests.lm.prompt_schema import ValueGenerator, parse_output_fields

# ─── Small signatures shaped like the program's calls ───────────────────────────────────────────


class Proposal(pydantic.BaseModel):
    name: str = pydantic.Field(description="a short name")
    description: str
    num_frames: Literal["1", "gt_1"]


class Stage(pydantic.BaseModel):
    name: str
    retrieval_strings: list[str] = pydantic.Field(min_length=5, max_length=6)
    weight: float | None = None


class Propose(dspy.Signature):
    """Propose differences."""

    action: str = dspy.InputField()
    n: int = dspy.InputField()
    differences: list[Proposal] = dspy.OutputField()


class Plan(dspy.Signature):
    """Plan stages."""

    action: str = dspy.InputField()
    stages: list[Stage] = dspy.OutputField()


class Link(dspy.Signature):
    """Link differences to stages."""

    stages: list[str] = dspy.InputField()
    links: dict[str, list[str]] = dspy.OutputField()


class Compare(dspy.Signature):
    """Decide whether the statement applies more to video A or B."""

    statement: str = dspy.InputField()
    frames_a: list[dspy.Image] = dspy.InputField()
    frames_b: list[dspy.Image] = dspy.InputField()
    rationale: str = dspy.OutputField()
    answer: Literal["a", "b"] = dspy.OutputField()


class Compare3(Compare):
    """Decide A, B, or neither."""

    answer: Literal["a", "b", "c"] = dspy.OutputField()


def jpeg_uri(color: tuple[int, int, int], size: int = 8) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


RED, GREEN, BLUE, GREY = (jpeg_uri(c) for c in [(220, 20, 20), (20, 200, 20), (20, 20, 220), (128, 128, 128)])


def frames(*uris: str) -> list[dspy.Image]:
    return [dspy.Image(uri) for uri in uris]


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


def run(engine: FakeEngine, signature, **inputs):
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        return dspy.Predict(signature)(**inputs)


# ─── Typed outputs ─────────────────────────────────────────────────────────────────────────────


def test_list_of_pydantic_objects_parses(engine):
    prediction = run(engine, Propose, action="a squat", n=3)

    assert len(prediction.differences) == 3
    assert all(isinstance(item, Proposal) for item in prediction.differences)
    assert {item.num_frames for item in prediction.differences} <= {"1", "gt_1"}
    assert len({item.name for item in prediction.differences}) == 3
    (call,) = engine.calls
    assert call.output_fields == ("differences",)
    assert call.adapter == "chat" and call.image_urls == ()
    assert call.values["differences"][0]["name"] == "name 1"


def test_nested_lists_honour_min_and_max_items(engine):
    prediction = run(engine, Plan, action="a squat")

    assert [len(stage.retrieval_strings) for stage in prediction.stages] == [5, 5, 5]
    long = run(FakeEngine(list_len=9), Plan, action="a squat")
    assert {len(stage.retrieval_strings) for stage in long.stages} == {6}
    assert len(long.stages) == 9


def test_dict_of_lists_parses(engine):
    prediction = run(engine, Link, stages=["down", "up"])
    assert prediction.links == {"key_1": ["key_1 1", "key_1 2", "key_1 3"], "key_2": ["key_2 1", "key_2 2", "key_2 3"]}


def test_images_reach_the_call_in_order_and_literal_parses(engine):
    prediction = run(engine, Compare, statement="the squat is deeper", frames_a=frames(RED, GREEN),
                     frames_b=frames(BLUE, GREY))

    assert prediction.answer == "a"
    assert isinstance(prediction.rationale, str) and prediction.rationale
    (call,) = engine.calls
    assert call.image_urls == (RED, GREEN, BLUE, GREY)
    assert call.output_fields == ("rationale", "answer")
    assert [spec.kind for spec in call.specs] == ["str", "literal"]
    assert call.specs[1].options == ("a", "b")
    assert "the squat is deeper" in call.last_user_text


def test_choice_policies():
    inputs = dict(statement="s", frames_a=frames(RED), frames_b=frames(BLUE))
    assert run(FakeEngine(choice="last"), Compare3, **inputs).answer == "c"

    picks_b_when_swapped = FakeEngine(choice=lambda field, options, prompt: "b" if "swapped" in prompt else options[0])
    assert run(picks_b_when_swapped, Compare, **{**inputs, "statement": "swapped"}).answer == "b"
    assert run(picks_b_when_swapped, Compare, **inputs).answer == "a"

    by_hash = [run(FakeEngine(choice="hash"), Compare3, **{**inputs, "statement": f"s{i}"}).answer for i in range(30)]
    again = [run(FakeEngine(choice="hash"), Compare3, **{**inputs, "statement": f"s{i}"}).answer for i in range(30)]
    assert by_hash == again
    assert set(by_hash) == {"a", "b", "c"}
    # The hash sees the images too: same text, other frames.
    swapped = run(FakeEngine(choice="hash"), Compare3, statement="s0", frames_a=frames(BLUE), frames_b=frames(RED))
    assert swapped.answer in {"a", "b", "c"}


def test_value_generator_reads_schema_constraints():
    generator = ValueGenerator()
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 4},
            "one": {"type": "array", "items": {"type": "integer", "minimum": 7}, "maxItems": 1},
            "mode": {"enum": ["slow", "fast"]},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 2}]},
            "when": {"type": "string", "format": "date"},
        },
        "required": ["tags"],
    }
    value = generator.from_schema(schema, root=schema, path="x", label="x")
    assert value == {"tags": ["tags 1", "tags 2", "tags 3", "tags 4"], "one": [7], "mode": "slow", "maybe": 2.5,
                     "when": "2024-01-01"}


def test_prompt_parsing_covers_json_adapter_format():
    messages = dspy.JSONAdapter().format(Compare3, demos=[], inputs={"statement": "s", "frames_a": [],
                                                                      "frames_b": []})
    fields, adapter = parse_output_fields(messages[0]["content"])
    assert adapter == "json"
    assert [(f.name, f.kind, f.options) for f in fields] == [("rationale", "str", ()),
                                                              ("answer", "literal", ("a", "b", "c"))]


# ─── Scripts and malformed output ──────────────────────────────────────────────────────────────


def test_scripted_override_matches_prompt_substring():
    engine = FakeEngine(responses=[
        ("knee angle", {"answer": "b", "rationale": "B bends more."}),
        ("only answer", {"answer": "b"}),
        ("objects", {"differences": [Proposal(name="depth", description="deeper", num_frames="1")]}),
    ])
    inputs = dict(frames_a=frames(RED), frames_b=frames(BLUE))

    scripted = run(engine, Compare, statement="the knee angle is smaller", **inputs)
    assert (scripted.answer, scripted.rationale) == ("b", "B bends more.")
    partial = run(engine, Compare, statement="only answer is scripted", **inputs)
    assert partial.answer == "b" and partial.rationale == "Fake rationale."
    default = run(engine, Compare, statement="something else", **inputs)
    assert default.answer == "a"
    objects = run(engine, Propose, action="objects", n=1)
    assert objects.differences == [Proposal(name="depth", description="deeper", num_frames="1")]


def test_script_times_and_callables():
    engine = FakeEngine()
    engine.script("", {"answer": "b"}, times=1)
    engine.script(lambda call: RED in call.image_urls, lambda call: {"rationale": f"{len(call.image_urls)} frames"})
    inputs = dict(statement="s", frames_a=frames(RED, RED), frames_b=frames(BLUE))

    assert run(engine, Compare, **inputs).answer == "b"  # the first rule, used up
    second = run(engine, Compare, **inputs)
    assert (second.answer, second.rationale) == ("a", "3 frames")

    dynamic = FakeEngine(responses=lambda call: {"answer": "b"} if call.image_urls[0] == BLUE else None)
    assert run(dynamic, Compare, statement="s", frames_a=frames(BLUE), frames_b=frames(RED)).answer == "b"
    assert run(dynamic, Compare, statement="s", frames_a=frames(RED), frames_b=frames(BLUE)).answer == "a"


def test_malformed_reply_raises_adapter_parse_error_after_json_fallback():
    engine = FakeEngine(responses=[("", "I cannot tell from these frames.")])
    with pytest.raises(dspy.AdapterParseError) as info:
        run(engine, Compare, statement="s", frames_a=frames(RED), frames_b=frames(BLUE))

    assert info.value.adapter_name == "JSONAdapter"
    assert [call.adapter for call in engine.calls] == ["chat", "json"]  # ChatAdapter, then its one fallback
    assert engine.calls[1].image_urls == (RED, BLUE)


def test_malformed_once_is_rescued_by_the_json_adapter_fallback():
    engine = FakeEngine(responses=[("", "[[ ## answer ## ]]\nmaybe\n\n[[ ## completed ## ]]", 1)])
    prediction = run(engine, Compare, statement="s", frames_a=frames(RED), frames_b=frames(BLUE))

    assert prediction.answer == "a"
    assert [call.adapter for call in engine.calls] == ["chat", "json"]
    assert engine.calls[1].reply.lstrip().startswith("{")


# ─── Failure injection and retries ─────────────────────────────────────────────────────────────


def test_non_retryable_provider_error_is_raised_once():
    engine = FakeEngine(fail_when={"explode": provider_error("bad request")})
    with pytest.raises(dspy.LMProviderError) as info:
        run(engine, Propose, action="explode", n=1)

    assert isinstance(info.value, dspy.LMInvalidRequestError)
    assert isinstance(info.value.__cause__, lm15.InvalidRequestError)
    assert len(engine.calls) == 1 and isinstance(engine.calls[0].error, lm15.ProviderError)
    assert run(engine, Propose, action="fine", n=1).differences


def test_rate_limit_fails_n_times_then_succeeds():
    engine = FakeEngine(fail_when=[("", rate_limit_error(), 2)])
    prediction = run(engine, Propose, action="a squat", n=1)

    assert len(prediction.differences) == 3
    assert [type(call.error).__name__ if call.error else None for call in engine.calls] == [
        "RateLimitError", "RateLimitError", None]


def test_retries_run_out_with_the_public_error_type():
    engine = FakeEngine(fail_when={"": server_error()})
    with dspy.context(lm=engine.lm(num_retries=1), adapter=dspy.ChatAdapter()):
        with pytest.raises(dspy.LMServerError):
            dspy.Predict(Propose)(action="a squat", n=1)
    assert len(engine.calls) == 2  # one attempt plus one retry, no adapter fallback

    limited = FakeEngine(fail_when={"": lm15.RateLimitError})  # an exception class works too
    with dspy.context(lm=limited.lm(num_retries=0), adapter=dspy.ChatAdapter()):
        with pytest.raises(dspy.LMRateLimitError):
            dspy.Predict(Propose)(action="a squat", n=1)


def test_usage_is_reported():
    engine = FakeEngine()
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter(), track_usage=True):
        prediction = dspy.Predict(Compare)(statement="s", frames_a=frames(RED), frames_b=frames(BLUE))
    usage = prediction.get_lm_usage()["local/fake"]
    (call,) = engine.calls
    assert usage["prompt_tokens"] == call.usage["input_tokens"] > 2 * engine.tokens_per_image
    assert usage["completion_tokens"] == call.usage["output_tokens"] > 0


def test_plain_lm_call_and_async():
    engine = FakeEngine(default_text="hello back")
    assert engine.lm()("hello") == ["hello back"]

    async def go():
        with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
            return await dspy.Predict(Compare).acall(statement="s", frames_a=frames(GREEN), frames_b=frames(GREY))

    assert asyncio.run(go()).answer == "a"
    assert engine.calls[-1].image_urls == (GREEN, GREY)


# ─── Concurrency ───────────────────────────────────────────────────────────────────────────────


def test_batch_records_every_call_with_its_own_images():
    engine = FakeEngine(choice="hash")
    colours = [jpeg_uri((10 * i, 255 - 10 * i, 7 * i)) for i in range(12)]
    examples = [
        dspy.Example(statement=f"statement {i}", frames_a=frames(colours[i]), frames_b=frames(colours[-1 - i]))
        .with_inputs("statement", "frames_a", "frames_b")
        for i in range(12)
    ]
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        results = dspy.Predict(Compare).batch(examples, num_threads=4, timeout=0, disable_progress_bar=True)

    assert len(results) == 12 and all(r.answer in ("a", "b") for r in results)
    assert len(engine.calls) == 12
    assert sorted(call.index for call in engine.calls) == list(range(12))
    seen = {call.last_user_text.split("[[ ## statement ## ]]\n")[1].split("\n")[0]: call.image_urls
            for call in engine.calls}
    assert seen == {f"statement {i}": (colours[i], colours[-1 - i]) for i in range(12)}
    assert len({call.thread for call in engine.calls}) > 1


def test_parallel_module_records_every_call():
    engine = FakeEngine()
    predict = dspy.Predict(Propose)
    pairs = [(predict, {"action": f"action {i}", "n": i}) for i in range(8)]
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        results = dspy.Parallel(num_threads=4, disable_progress_bar=True)(pairs)
    assert len(results) == 8 and all(len(r.differences) == 3 for r in results)
    actions = sorted(call.last_user_text.split("\n")[1] for call in engine.calls)
    assert actions == sorted(f"action {i}" for i in range(8))


def test_engine_is_thread_safe_under_direct_load():
    engine = FakeEngine(fail_when=[("", server_error(), 5)])
    lm = engine.lm(num_retries=0)
    failures = []

    def one(i):
        try:
            return lm(f"call {i}")[0]
        except dspy.LMServerError as error:
            failures.append(error)
            return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(one, range(200)))

    assert len(engine.calls) == 200
    assert sorted(call.index for call in engine.calls) == list(range(200))
    assert len(failures) == 5 and replies.count("Fake response.") == 195


# ─── Through DSPy's real HTTP client ───────────────────────────────────────────────────────────


@pytest.fixture
def offline_litellm(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "true")


def test_loopback_server_through_the_real_http_client(openai_loopback: LoopbackServer, offline_litellm):
    server = openai_loopback
    server.engine.script("knee", {"answer": "b", "rationale": "B bends more."})
    lm = dspy.LM("openai/test-model", api_base=server.api_base, api_key="sk-test-not-secret", cache=False)
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(), track_usage=True):
        prediction = dspy.Predict(Compare)(statement="the knee bends more", frames_a=frames(RED, GREEN),
                                           frames_b=frames(BLUE))

    assert (prediction.answer, prediction.rationale) == ("b", "B bends more.")
    (request,) = server.requests
    assert (request.method, request.path, request.status) == ("POST", "/v1/chat/completions", 200)
    assert request.model == "test-model"
    assert request.header("authorization") == "Bearer sk-test-not-secret"
    assert [part["type"] for part in request.image_parts] == ["image_url"] * 3
    assert request.image_urls == [RED, GREEN, BLUE]
    assert request.messages[0]["role"] == "system"
    assert request.call is server.calls[0] and request.call.image_urls == (RED, GREEN, BLUE)
    assert prediction.get_lm_usage()["openai/test-model"]["prompt_tokens"] == request.call.usage["input_tokens"]


def test_loopback_server_failures_are_http_errors_dspy_retries(offline_litellm):
    engine = FakeEngine(fail_when=[("", rate_limit_error(), 2), ("fatal", provider_error(status=400))])
    with loopback_server(engine) as server:
        lm = dspy.LM("openai/test-model", api_base=server.api_base, api_key="sk-x", cache=False)
        with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
            assert len(dspy.Predict(Propose)(action="a squat", n=1).differences) == 3
            assert [r.status for r in server.requests] == [429, 429, 200]
            with pytest.raises(dspy.LMInvalidRequestError):
                dspy.Predict(Propose)(action="fatal", n=1)
            assert server.requests[-1].status == 400
        port = server.port

    with pytest.raises(OSError):  # stopped: nothing listens any more
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert not any(t.name == f"loopback-openai-{port}" for t in threading.enumerate())


def test_a_program_holding_a_fake_lm_can_be_saved(tmp_path):
    predict = dspy.Predict(Propose)
    predict.lm = FakeEngine(choice="hash").lm()
    predict.save(tmp_path / "program.json")
    saved = (tmp_path / "program.json").read_text()
    assert "tests.lm.fake_engine:FakeEngine" in saved and '"choice": "hash"' in saved
