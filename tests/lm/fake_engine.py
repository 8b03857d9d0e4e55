"""A schema-aware fake LM engine for DSPy 3.4.1 tests (test double: never used by product code).

Usage::

    engine = FakeEngine()
    lm = dspy.LM("local/fake", engine=engine, cache=False)   # or engine.lm()
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        prediction = dspy.Predict(MySignature)(...)
    engine.calls[-1].image_urls   # the images that call carried, in order

DSPy calls ``engine.complete(request: dspy.lm15.Request) -> dspy.lm15.Response`` once per attempt
(from any thread). The engine reads the output fields the adapter asked for from the system message
and answers every one with a deterministic valid value, unless a scripted rule says otherwise.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.lm.prompt_schema import (
    OutputField,
    PromptMessage,
    PromptView,
    ValueGenerator,
    render_reply,
    view_from_request,
)

__all__ = [
    "AsyncFakeEngine",
    "FakeCall",
    "FakeEngine",
    "iter_images",
    "provider_error",
    "rate_limit_error",
    "server_error",
]

Pattern = str | re.Pattern | Callable[["FakeCall"], bool]


# ─── Errors a real provider would raise ─────────────────────────────────────────────────────────
# Engines raise dspy.lm15 errors; DSPy projects them to dspy.utils.exceptions (LMRateLimitError,
# LMServerError, LMProviderError, ...) and retries the retryable ones (rate limit, timeout, server,
# transport) up to LM(num_retries=3) times, sleeping `retry_after` seconds (else 1, 2, 4, ... s).


def rate_limit_error(message: str = "fake rate limit", *, retry_after: float | None = 0.0):
    """An lm15 RateLimitError (HTTP 429): retryable; DSPy raises ``dspy.LMRateLimitError`` when retries run out."""
    from dspy.lm15 import RateLimitError

    return RateLimitError(message, provider="fake", status=429, retry_after=retry_after)


def server_error(message: str = "fake server error", *, retry_after: float | None = 0.0):
    """An lm15 ServerError (HTTP 500): retryable; surfaces as ``dspy.LMServerError``."""
    from dspy.lm15 import ServerError

    return ServerError(message, provider="fake", status=500, retry_after=retry_after)


def provider_error(message: str = "fake provider error", *, status: int = 400):
    """An lm15 InvalidRequestError (a 4xx): not retried; surfaces as ``dspy.LMInvalidRequestError``,
    a subclass of ``dspy.LMProviderError``."""
    from dspy.lm15 import InvalidRequestError

    return InvalidRequestError(message, provider="fake", status=status)


# ─── Records ───────────────────────────────────────────────────────────────────────────────────


@dataclass
class FakeCall:
    """One request the fake received (one attempt: a retried call is recorded once per attempt).

    prompt: all text (system message, then each message) joined by blank lines; images are not in it.
    image_urls: every image of the request, in order (data URIs exactly as sent).
    output_fields: the names of the output fields asked for, in order ([] for a non-adapter prompt).
    values: the field values answered (None for a raw-text answer or a failure).
    reply: the text returned (None when the call failed); error: the exception raised, if any.
    """

    index: int
    model: str
    source: str
    prompt: str
    system: str
    messages: tuple[PromptMessage, ...]
    image_urls: tuple[str, ...]
    output_fields: tuple[str, ...]
    specs: tuple[OutputField, ...]
    adapter: str | None
    thread: str
    request: Any = None
    reply: str | None = None
    values: dict[str, Any] | None = None
    error: BaseException | None = None
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def last_user_text(self) -> str:
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.reply is not None


class _Rule:
    """A scripted answer or failure: applies while its pattern matches and it has uses left."""

    def __init__(self, pattern: Pattern, payload: Any, times: int | None, dynamic: bool = False):
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ValueError("times must be a non-negative int or None (unlimited)")
        if not isinstance(pattern, (str, re.Pattern)) and not callable(pattern):
            raise TypeError("a pattern is a substring, a compiled regex, or a callable(call) -> bool")
        self.pattern, self.payload, self.times, self.used = pattern, payload, times, 0
        self.dynamic = dynamic  # payload is fn(call) -> value or None (None: the rule passes)

    def matches(self, call: FakeCall) -> bool:
        if isinstance(self.pattern, str):
            return self.pattern in call.prompt
        if isinstance(self.pattern, re.Pattern):
            return self.pattern.search(call.prompt) is not None
        return bool(self.pattern(call))

    def take(self, call: FakeCall) -> bool:
        """Whether this rule applies to ``call``, using one of its uses if so (caller holds the lock)."""
        if self.times is not None and self.used >= self.times:
            return False
        if not self.matches(call):
            return False
        self.used += 1
        return True


def _rules(spec: Any, what: str) -> list[_Rule]:
    """Rules from a dict {pattern: payload}, a list of (pattern, payload[, times]) / callables, or a callable."""
    if spec is None:
        return []
    if callable(spec) and not isinstance(spec, (Mapping, list, tuple)):
        spec = [spec]
    if isinstance(spec, Mapping):
        spec = list(spec.items())
    rules = []
    for entry in spec:
        if callable(entry) and not isinstance(entry, tuple):
            # A bare callable: fn(call) returns the payload, or None to pass.
            rules.append(_Rule(lambda call: True, entry, None, dynamic=True))
            continue
        if not isinstance(entry, tuple) or len(entry) not in (2, 3):
            raise TypeError(f"{what} entries are (pattern, value) or (pattern, value, times) tuples, or callables")
        rules.append(_Rule(entry[0], entry[1], entry[2] if len(entry) == 3 else None))
    return rules


def _make_error(payload: Any, pattern: Any) -> BaseException:
    if isinstance(payload, BaseException):
        return copy.copy(payload)
    if isinstance(payload, type) and issubclass(payload, BaseException):
        return payload(f"injected failure for {pattern!r}")
    if callable(payload):
        error = payload()
        if isinstance(error, BaseException):
            return error
    raise TypeError("a failure is an exception instance, an exception class, or a callable returning one")


# ─── The engine ────────────────────────────────────────────────────────────────────────────────


class FakeEngine:
    """A deterministic, schema-aware stand-in for a provider, for ``dspy.LM(..., engine=FakeEngine())``.

    Args:
        responses: scripted answers, tried in order, first match wins. Either a dict
            ``{pattern: value}``, a list of ``(pattern, value)`` / ``(pattern, value, times)`` tuples and
            callables, or one callable. A pattern is a substring of the prompt text (``""`` matches every
            call), a compiled regex searched in it, or ``callable(call) -> bool``. A value is a dict of
            field values (merged over the generated ones; strings are inserted verbatim, anything else
            JSON-encoded as the ChatAdapter expects), a str (the raw reply text, e.g. a malformed
            answer), or ``callable(call)`` returning either. A bare callable entry is ``fn(call)`` that
            returns a value or None to pass. ``times`` limits how often the entry applies.
        fail_when: injected failures, same shapes as ``responses``: ``{pattern: error}`` or
            ``(pattern, error, times)`` where error is an exception instance (a copy is raised), an
            exception class, or a zero-argument callable returning one. With ``times=N`` the first N
            matching attempts fail and later ones succeed (DSPy retries retryable errors by itself).
            Failures are checked before answers. Use :func:`rate_limit_error`, :func:`server_error`,
            :func:`provider_error` for errors DSPy treats like a real provider's.
        choice: how a Literal option / schema enum value is picked: ``"first"``, ``"last"``, ``"hash"``
            (from a digest of the prompt text and images, so it varies per call but is reproducible), or
            ``callable(field, options, prompt_text) -> option``, where field is the output field name
            (``"answer"``) or a path inside a schema (``"stages[0].kind"``).
        list_len / dict_len: size of generated lists / free-form dicts (schema minItems/maxItems and
            minProperties/maxProperties are honoured).
        fill_optional: also fill optional (non-required) properties of objects.
        default_text: the reply to a prompt that asks for no output fields (not a DSPy adapter prompt).
        tokens_per_image: counted into the reported input tokens for each image.

    Attributes:
        calls: every attempt, in arrival order, as :class:`FakeCall` records (thread-safe).
    """

    def __init__(
        self,
        responses: Any = None,
        *,
        fail_when: Any = None,
        choice: str | Callable[[str, Sequence[Any], str], Any] = "first",
        list_len: int = 3,
        dict_len: int = 2,
        fill_optional: bool = True,
        default_text: str = "Fake response.",
        tokens_per_image: int = 85,
    ):
        if isinstance(choice, str) and choice not in ("first", "last", "hash"):
            raise ValueError("choice is 'first', 'last', 'hash' or a callable(field, options, prompt_text)")
        if not isinstance(choice, str) and not callable(choice):
            raise TypeError("choice is 'first', 'last', 'hash' or a callable(field, options, prompt_text)")
        self.choice = choice
        self.list_len = list_len
        self.dict_len = dict_len
        self.fill_optional = fill_optional
        self.default_text = default_text
        self.tokens_per_image = tokens_per_image
        self.calls: list[FakeCall] = []
        self._responses = _rules(responses, "responses")
        self._failures = _rules(fail_when, "fail_when")
        # Reentrant: scripted callables run under it and may inspect the engine (e.g. calls_for).
        self._lock = threading.RLock()
        self._counter = itertools.count()

    # ── scripting after construction ──

    def script(self, pattern: Pattern, value: Any, times: int | None = None) -> FakeEngine:
        """Add a scripted answer (after the existing ones). Returns self."""
        with self._lock:
            self._responses.extend(_rules([(pattern, value, times)], "responses"))
        return self

    def fail(self, pattern: Pattern, error: Any, times: int | None = None) -> FakeEngine:
        """Add an injected failure (after the existing ones). Returns self."""
        with self._lock:
            self._failures.extend(_rules([(pattern, error, times)], "fail_when"))
        return self

    def reset(self) -> None:
        """Forget the recorded calls (scripts and their use counts stay)."""
        with self._lock:
            self.calls.clear()

    # ── inspecting ──

    def calls_for(self, output_field: str) -> list[FakeCall]:
        """The recorded calls that asked for ``output_field``."""
        with self._lock:
            return [call for call in self.calls if output_field in call.output_fields]

    @property
    def successful_calls(self) -> list[FakeCall]:
        with self._lock:
            return [call for call in self.calls if call.succeeded]

    # ── the engine contract (dspy.clients.engines.base.Engine) ──

    def complete(self, request):
        """One attempt: ``dspy.lm15.Request`` in, ``dspy.lm15.Response`` out (or an injected lm15 error)."""
        from dspy.lm15 import Message, Response, TextPart, Usage

        call = self.respond(view_from_request(request), source="engine", request=request)
        return Response(
            id=f"fake-{call.index}",
            model=request.model,
            message=Message.assistant([TextPart(call.reply)]),
            finish_reason="stop",
            usage=Usage(**call.usage),
        )

    def stream(self, request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass

    # ── shared with the loopback server ──

    def respond(self, view: PromptView, *, source: str = "engine", request: Any = None) -> FakeCall:
        """Record one attempt, raise its injected failure if any, else fill in its reply. Thread-safe."""
        with self._lock:
            call = FakeCall(
                index=next(self._counter),
                model=view.model,
                source=source,
                prompt=view.text,
                system=view.system,
                messages=view.messages,
                image_urls=view.image_urls,
                output_fields=tuple(spec.name for spec in view.output_fields),
                specs=view.output_fields,
                adapter=view.adapter,
                thread=threading.current_thread().name,
                request=request,
            )
            self.calls.append(call)
            failure = self._failure(call)
            scripted = None if failure is not None else self._scripted(call)
        if failure is not None:
            call.error = failure
            raise failure
        try:
            values, reply = self._answer(view, call, scripted)
        except BaseException as exc:
            call.error = exc
            raise
        call.values, call.reply = values, reply
        input_tokens = len(call.prompt) // 4 + self.tokens_per_image * len(call.image_urls)
        output_tokens = max(1, len(reply) // 4)
        call.usage = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens}
        return call

    def _failure(self, call: FakeCall) -> BaseException | None:
        """The injected failure for this attempt, if any (caller holds the lock)."""
        for rule in self._failures:
            if rule.dynamic:
                payload = rule.payload(call)
                if payload is not None:
                    rule.used += 1
                    return _make_error(payload, "callable")
            elif rule.take(call):
                return _make_error(rule.payload, rule.pattern)
        return None

    def _scripted(self, call: FakeCall) -> tuple[bool, Any]:
        """(found, value) of the first scripted answer that applies (caller holds the lock)."""
        for rule in self._responses:
            if rule.dynamic:
                value = rule.payload(call)
                if value is not None:
                    rule.used += 1
                    return True, value
            elif rule.take(call):
                value = rule.payload(call) if callable(rule.payload) else rule.payload
                return True, value
        return False, None

    def _chooser(self, view: PromptView):
        if self.choice == "first":
            return lambda path, options: options[0]
        if self.choice == "last":
            return lambda path, options: options[-1]
        if self.choice == "hash":
            fingerprint = view.fingerprint()

            def by_hash(path, options):
                digest = hashlib.sha256(f"{fingerprint}\x00{path}".encode()).digest()
                return options[int.from_bytes(digest[:8], "big") % len(options)]

            return by_hash
        text = view.text
        return lambda path, options: self.choice(path, options, text)

    def _answer(self, view: PromptView, call: FakeCall, scripted) -> tuple[dict[str, Any] | None, str]:
        found, value = scripted if scripted is not None else (False, None)
        if found and isinstance(value, str):
            return None, value
        if found and not isinstance(value, Mapping):
            raise TypeError(f"a scripted answer is a dict of field values or a raw str, got {type(value).__name__}")
        generator = ValueGenerator(choose=self._chooser(view), list_len=self.list_len, dict_len=self.dict_len,
                                   fill_optional=self.fill_optional)
        values = {spec.name: generator.value(spec) for spec in view.output_fields}
        if found:
            values.update(value)
        if not values:
            return None, self.default_text
        return values, render_reply(view, values)

    # ── conveniences ──

    def lm(self, model: str = "local/fake", *, cache: bool = False, **kwargs):
        """A ``dspy.LM`` driven by this engine (sync and async), uncached by default."""
        import dspy

        return dspy.LM(model, engine=self, async_engine=AsyncFakeEngine(self), cache=cache, **kwargs)

    def dump_state(self) -> dict[str, Any]:
        """Lets a program whose predictor holds this LM be saved; scripts and failures are not saved."""
        return {
            "choice": self.choice if isinstance(self.choice, str) else "first",
            "list_len": self.list_len,
            "dict_len": self.dict_len,
            "fill_optional": self.fill_optional,
            "default_text": self.default_text,
            "tokens_per_image": self.tokens_per_image,
        }

    @classmethod
    def load_state(cls, state: Mapping[str, Any]) -> FakeEngine:
        return cls(**dict(state))


class AsyncFakeEngine:
    """The async counterpart (``dspy.LM(..., async_engine=AsyncFakeEngine(engine))``); shares records."""

    def __init__(self, sync: FakeEngine):
        self.sync = sync

    async def complete(self, request):
        return self.sync.complete(request)

    async def stream(self, request):
        for event in self.sync.stream(request):
            yield event

    async def aclose(self) -> None:
        pass

    def dump_state(self) -> dict[str, Any]:
        return self.sync.dump_state()

    @classmethod
    def load_state(cls, state: Mapping[str, Any]) -> AsyncFakeEngine:
        # A loaded LM gets a fresh engine pair that records separately from the one saved.
        return cls(FakeEngine.load_state(state))


def iter_images(calls: Iterable[FakeCall]) -> list[str]:
    """All image URLs of ``calls``, in call order."""
    return [url for call in calls for url in call.image_urls]
