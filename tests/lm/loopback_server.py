"""A tiny OpenAI-compatible HTTP server on 127.0.0.1 for tests that go through DSPy's real HTTP client.

It answers ``POST /v1/chat/completions`` (non-streaming) with the same schema-aware answers as
:class:`tests.lm.fake_engine.FakeEngine` (it delegates to one: scripts, failures, choice policy and
``engine.calls`` work the same), and records every HTTP request it receives.

Usage::

    with loopback_server() as server:            # or the `openai_loopback` fixture
        lm = dspy.LM("openai/test-model", api_base=server.api_base, api_key="sk-test", cache=False)
        ...
        server.requests[-1].header("Authorization")   # "Bearer sk-test"
        server.requests[-1].image_urls                 # the image_url parts, in order

The server only lives inside the ``with`` block (or the fixture's test): it is shut down and its
socket closed on exit. Each connection is closed after one response (HTTP/1.0), so no handler thread
outlives the server for long.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.lm.fake_engine import FakeCall, FakeEngine
from tests.lm.prompt_schema import view_from_openai_messages

__all__ = ["LoopbackRequest", "LoopbackServer", "loopback_server", "openai_loopback", "openai_loopback_factory"]


@dataclass
class LoopbackRequest:
    """One HTTP request as the server received it.

    headers: every header, names as the client sent them (use :meth:`header` for a case-insensitive read).
    body: the parsed JSON body (None if it was not JSON; ``raw`` keeps the bytes).
    status: the HTTP status the server answered with; call: the FakeEngine record for a completion.
    """

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any
    status: int = 0
    call: FakeCall | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), default)

    @property
    def authorization(self) -> str | None:
        return self.header("Authorization")

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def image_parts(self) -> list[dict[str, Any]]:
        """Every ``{"type": "image_url", ...}`` content part, in order."""
        return [
            part
            for message in self.messages
            if isinstance(message.get("content"), list)
            for part in message["content"]
            if isinstance(part, dict) and part.get("type") == "image_url"
        ]

    @property
    def image_urls(self) -> list[str]:
        urls = []
        for part in self.image_parts:
            image = part.get("image_url")
            urls.append(image.get("url") if isinstance(image, dict) else image)
        return urls


_STATUS_BY_ERROR = (
    ("ContextLengthError", 400),
    ("AuthError", 401),
    ("BillingError", 402),
    ("RateLimitError", 429),
    ("UnsupportedModelError", 404),
    ("InvalidRequestError", 400),
    ("TimeoutError", 408),
    ("ServerError", 500),
)


def _error_status(error: BaseException) -> int:
    status = getattr(error, "status", None)
    if isinstance(status, int) and 400 <= status < 600:
        return status
    names = {cls.__name__ for cls in type(error).__mro__}
    return next((code for name, code in _STATUS_BY_ERROR if name in names), 500)


class LoopbackServer:
    """The running server: ``api_base``, ``requests``, ``engine`` (and its ``calls``)."""

    def __init__(self, engine: FakeEngine, host: str = "127.0.0.1", port: int = 0):
        self.engine = engine
        self.requests: list[LoopbackRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    @property
    def calls(self) -> list[FakeCall]:
        return self.engine.calls

    def completion_requests(self) -> list[LoopbackRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"loopback-openai-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def _record(self, request: LoopbackRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler_for(server: LoopbackServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        timeout = 10  # a stalled client cannot pin a handler thread for long

        def log_message(self, format, *args):  # noqa: A002 - quiet in tests
            pass

        def _send(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _receive(self) -> LoopbackRequest:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = None
            request = LoopbackRequest(method=self.command, path=self.path, headers=dict(self.headers.items()),
                                      raw=raw, body=body)
            server._record(request)
            return request

        def do_GET(self):  # noqa: N802
            request = self._receive()
            if self.path.rstrip("/").endswith("/models"):
                request.status = 200
                self._send(200, {"object": "list", "data": []})
            else:
                request.status = 404
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self):  # noqa: N802
            request = self._receive()
            if not self.path.split("?")[0].rstrip("/").endswith("/chat/completions"):
                request.status = 404
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            body = request.body
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                request.status = 400
                self._send(400, {"error": {"message": "expected a JSON body with messages",
                                           "type": "invalid_request_error"}})
                return
            if body.get("stream"):
                request.status = 400
                self._send(400, {"error": {"message": "the loopback server does not stream",
                                           "type": "invalid_request_error"}})
                return
            model = str(body.get("model") or "")
            view = view_from_openai_messages(model, body["messages"])
            try:
                call = server.engine.respond(view, source="http", request=body)
            except Exception as error:  # an injected failure: answer as the provider would
                request.call = server.engine.calls[-1] if server.engine.calls else None
                status = _error_status(error)
                request.status = status
                headers = {}
                retry_after = getattr(error, "retry_after", None)
                if retry_after is not None:
                    seconds = float(retry_after)
                    headers["Retry-After"] = str(int(seconds)) if seconds.is_integer() else str(seconds)
                self._send(status, {"error": {"message": str(error) or type(error).__name__,
                                              "type": type(error).__name__, "code": getattr(error, "code", None)}},
                           headers)
                return
            request.call = call
            request.status = 200
            self._send(200, {
                "id": f"chatcmpl-loopback-{call.index}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": call.reply},
                    "finish_reason": "stop",
                }],
                "usage": {
                    "prompt_tokens": call.usage["input_tokens"],
                    "completion_tokens": call.usage["output_tokens"],
                    "total_tokens": call.usage["total_tokens"],
                },
            })

    return Handler


@contextlib.contextmanager
def loopback_server(engine: FakeEngine | None = None, **engine_kwargs: Any) -> Iterator[LoopbackServer]:
    """Run an OpenAI-compatible server on a free 127.0.0.1 port for the duration of the block.

    Pass a configured ``engine`` (a FakeEngine) or FakeEngine keyword arguments
    (``responses=``, ``fail_when=``, ``choice=``, ...).
    """
    if engine is not None and engine_kwargs:
        raise TypeError("pass either engine= or FakeEngine keyword arguments, not both")
    server = LoopbackServer(engine if engine is not None else FakeEngine(**engine_kwargs))
    with server:
        yield server


@pytest.fixture
def openai_loopback() -> Iterator[LoopbackServer]:
    """A running loopback server with a default FakeEngine (script it via ``server.engine``)."""
    with loopback_server() as server:
        yield server


@pytest.fixture
def openai_loopback_factory():
    """``start(engine=None, **engine_kwargs) -> LoopbackServer``; every server stops after the test."""
    with contextlib.ExitStack() as stack:

        def start(engine: FakeEngine | None = None, **engine_kwargs: Any) -> LoopbackServer:
            return stack.enter_context(loopback_server(engine, **engine_kwargs))

        yield start
