"""A loopback fake of the Gemini REST API (the part google-genai uses to generate and to upload
files), on 127.0.0.1, for tests that go through google-genai's real HTTP client.

Routes: ``POST /v1beta/models/{model}:generateContent``; the resumable upload of the Files API
(``POST /upload/v1beta/files`` then ``POST`` to the session URL it returns); ``GET`` and
``DELETE /v1beta/files/{id}``. Answers come from a :class:`tests.lm.fake_engine.FakeEngine`
(scripts, injected failures and ``engine.calls`` work as with the OpenAI loopback server);
injected lm15 errors are answered with their HTTP status in Gemini's error shape.

Usage::

    with gemini_server() as server:
        lm = gemini_lm(LMConfig(model="gemini/gemini-test", api_base=server.url, cache=False), "key-123456789")
        ...
        server.generations[-1].videos        # the video parts of the last request, in order
        server.files                         # uploaded files by id: bytes, state, deleted
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.lm.fake_engine import FakeCall, FakeEngine
from tests.lm.loopback_server import _error_status
from tests.lm.prompt_schema import PromptMessage, make_view

__all__ = ["GeminiFile", "GeminiServer", "GeminiVideo", "Generation", "gemini_server"]

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class GeminiFile:
    """A file uploaded through the Files API."""

    id: str
    mime_type: str
    data: bytes = b""
    gets: int = 0
    deleted: bool = False
    state: str = "PROCESSING"

    def resource(self, url: str) -> dict[str, Any]:
        return {"name": f"files/{self.id}", "mimeType": self.mime_type, "sizeBytes": str(len(self.data)),
                "state": self.state, "uri": f"{url}/v1beta/files/{self.id}"}


@dataclass
class GeminiVideo:
    """One video part of a generateContent request: its bytes, how it came (`inline` or `file`),
    the frame rate its videoMetadata gave, and the text parts before it in the request."""

    data: bytes
    source: str
    mime_type: str
    fps: float | None
    file_id: str | None = None


@dataclass
class Generation:
    """One generateContent request: model, API key header, system text, the parts in order (as
    ('text', str) / ('video', GeminiVideo) / ('image', mime)), and the FakeEngine call."""

    model: str
    api_key: str | None
    system: str
    parts: list[tuple[str, Any]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)
    call: FakeCall | None = None
    status: int = 0

    @property
    def videos(self) -> list[GeminiVideo]:
        return [value for kind, value in self.parts if kind == "video"]

    @property
    def text(self) -> str:
        return "".join(value for kind, value in self.parts if kind == "text")


class GeminiServer:
    """The running fake: ``url`` (the base URL for google-genai), ``generations``, ``files``.

    Args:
        engine: answers the prompts (default: a fresh FakeEngine).
        processing_polls: GETs of an uploaded file answered PROCESSING before it turns ACTIVE.
        fail_processing: uploaded files end FAILED instead of ACTIVE.
        refuse_uploads: the upload start is answered 400.
    """

    def __init__(self, engine: FakeEngine | None = None, *, processing_polls: int = 1, fail_processing: bool = False,
                 refuse_uploads: bool = False):
        self.engine = engine or FakeEngine()
        self.processing_polls = processing_polls
        self.fail_processing = fail_processing
        self.refuse_uploads = refuse_uploads
        self.generations: list[Generation] = []
        self.files: dict[str, GeminiFile] = {}
        self.upload_starts = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> GeminiServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._thread.join(timeout=5)
        self._httpd.server_close()

    def new_file(self, mime_type: str) -> GeminiFile:
        with self._lock:
            self.upload_starts += 1
            file = GeminiFile(id=f"file{next(self._ids)}", mime_type=mime_type)
            self.files[file.id] = file
            return file

    def generate(self, model: str, api_key: str | None, body: dict[str, Any]) -> Generation:
        system = "".join(p.get("text", "") for p in (_field(body, "systemInstruction") or {}).get("parts", []))
        generation = Generation(model=model, api_key=api_key, system=system, body=body)
        messages = []
        for content in body.get("contents", []):
            texts = []
            for part in content.get("parts", []):
                if "text" in part:
                    texts.append(part["text"])
                    generation.parts.append(("text", part["text"]))
                elif _field(part, "inlineData") or _field(part, "fileData"):
                    generation.parts.append(self._media(part))
            role = "assistant" if content.get("role") == "model" else "user"
            messages.append(PromptMessage(role=role, text="".join(texts), image_urls=()))
        with self._lock:
            self.generations.append(generation)
        generation.call = self.engine.respond(make_view(model, system, messages), source="http", request=body)
        return generation

    def _media(self, part: dict[str, Any]) -> tuple[str, Any]:
        fps = (_field(part, "videoMetadata") or {}).get("fps")
        blob = _field(part, "inlineData")
        if blob:
            mime = _field(blob, "mimeType") or ""
            if not mime.startswith("video/"):
                return "image", mime
            return "video", GeminiVideo(_decode(blob["data"]), "inline", mime, fps)
        reference = _field(part, "fileData")
        file_id = _field(reference, "fileUri").rstrip("/").rsplit("/", 1)[-1]
        file = self.files.get(file_id)
        if file is None or file.deleted or file.state != "ACTIVE":
            raise LookupError(f"file {file_id} is not ACTIVE")
        return "video", GeminiVideo(file.data, "file", _field(reference, "mimeType") or "", fps, file_id)


def _decode(text: str) -> bytes:
    """Base64 in either alphabet (google-genai sends the URL-safe one), padding optional."""
    return base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))


def _field(message: dict[str, Any], name: str) -> Any:
    """A field of a JSON message by its camelCase or snake_case name (the API accepts both)."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return message.get(name, message.get(snake))


def _handler_for(server: GeminiServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        timeout = 10

        def log_message(self, format, *args):  # noqa: A002 - quiet in tests
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}})

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_POST(self):  # noqa: N802
            path = self.path.split("?")[0]
            raw = self._body()
            if path.endswith("/files") and path.startswith("/upload/"):
                if server.refuse_uploads:
                    return self._error(400, "upload refused: video too long")
                mime = json.loads(raw or b"{}").get("file", {}).get("mimeType") or self.headers.get(
                    "X-Goog-Upload-Header-Content-Type", "")
                file = server.new_file(mime)
                return self._send(200, {}, {"x-goog-upload-url": f"{server.url}/upload-session/{file.id}",
                                            "x-goog-upload-status": "active"})
            if path.startswith("/upload-session/"):
                file = server.files[path.rsplit("/", 1)[-1]]
                file.data += raw
                if "finalize" not in self.headers.get("X-Goog-Upload-Command", ""):
                    return self._send(200, {}, {"x-goog-upload-status": "active"})
                return self._send(200, {"file": file.resource(server.url)}, {"x-goog-upload-status": "final"})
            if ":generateContent" in path:
                model = path.rsplit("/", 1)[-1].split(":")[0]
                try:
                    generation = server.generate(model, self.headers.get("x-goog-api-key"), json.loads(raw))
                except LookupError as error:
                    return self._error(400, str(error))
                except Exception as error:  # an injected failure: answered as Gemini would
                    return self._error(_error_status(error), str(error) or type(error).__name__)
                call = generation.call
                generation.status = 200
                return self._send(200, {
                    "candidates": [{"content": {"role": "model", "parts": [{"text": call.reply}]}, "finishReason": "STOP"}],
                    "usageMetadata": {"promptTokenCount": call.usage["input_tokens"],
                                      "candidatesTokenCount": call.usage["output_tokens"],
                                      "totalTokenCount": call.usage["total_tokens"]},
                    "responseId": f"gemini-fake-{call.index}",
                })
            return self._error(404, f"no route {path}")

        def _file(self) -> GeminiFile | None:
            return server.files.get(self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1])

        def do_GET(self):  # noqa: N802
            file = self._file()
            if file is None or file.deleted:
                return self._error(404, "no such file")
            file.gets += 1
            if file.state == "PROCESSING" and file.gets > server.processing_polls:
                file.state = "FAILED" if server.fail_processing else "ACTIVE"
            self._send(200, file.resource(server.url))

        def do_DELETE(self):  # noqa: N802
            file = self._file()
            if file is None:
                return self._error(404, "no such file")
            file.deleted = True
            self._send(200, {})

    return Handler


@contextlib.contextmanager
def gemini_server(engine: FakeEngine | None = None, **options: Any) -> Iterator[GeminiServer]:
    """Run the fake Gemini API on a free 127.0.0.1 port for the duration of the block."""
    with GeminiServer(engine, **options) as server:
        yield server
