"""Gemini through google-genai, as a DSPy LM engine: the video baseline's LM.

DSPy's own Gemini path sends images but not video. This engine receives DSPy's request (a
`dspy.lm15.Request`) and sends it with google-genai: text parts as text, images as inline
images, and each MP4 document part (a `dspy.File` of `video/mp4`) as one video part, inline
when the request's videos are small, through the Files API when they are not (uploaded, waited
for until ACTIVE, deleted after the call). Each video part tells Gemini the clip's own frame
rate, so it samples every frame sent rather than its default one per second.

Example:
    >>> lm = gemini_lm(LMConfig(model="gemini/gemini-2.5-pro"), api_key=os.environ["GEMINI_API_KEY"])
    >>> with dspy.context(lm=lm):
    ...     program(...)
"""

from __future__ import annotations

import base64
import io
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from viddiff.config import LMConfig
from viddiff.lms import server_rollout_id

if TYPE_CHECKING:
    import dspy
    from google.genai import types

INLINE_LIMIT_BYTES = 15 * 1024 * 1024
"""Largest total of video bytes sent inline in one request (Gemini refuses requests above
20 MB); above it every video of the request goes through the Files API."""
UPLOAD_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 2.0
"""How long to wait for an uploaded video to become ACTIVE, and how often to ask."""
VIDEO_TYPES = ("video/mp4",)


class GeminiEngine:
    """Sends DSPy requests to one Gemini model with google-genai (`complete(request) -> Response`).

    Args:
        model: the Gemini model name, e.g. `gemini-2.5-pro` (no `gemini/` prefix).
        api_key: the key (GEMINI_API_KEY or GOOGLE_API_KEY); never logged nor stored.
        api_base: another server for the Gemini REST API (a proxy, a test server).
        inline_limit_bytes: most video bytes sent inline in one request.
        poll_seconds, upload_timeout: waiting for an uploaded video to become ACTIVE.
    """

    def __init__(
        self,
        model: str,
        api_key: str,
        *,
        api_base: str | None = None,
        inline_limit_bytes: int = INLINE_LIMIT_BYTES,
        poll_seconds: float = POLL_SECONDS,
        upload_timeout: float = UPLOAD_TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ):
        from google import genai
        from google.genai import types

        self.model = model
        self.inline_limit_bytes = inline_limit_bytes
        self.poll_seconds = poll_seconds
        self.upload_timeout = upload_timeout
        self._sleep = sleep
        self._client = genai.Client(api_key=api_key, http_options=types.HttpOptions(base_url=api_base) if api_base else None)

    def complete(self, request):
        """One attempt; google-genai's errors become lm15 errors, which DSPy retries when they are
        retryable (429, 5xx) and otherwise raises as provider errors."""
        from dspy.lm15 import Message, Response, TextPart, Usage
        from google.genai import errors, types

        uploaded: list[types.File] = []
        try:
            contents = self._contents(request, uploaded)
            response = self._client.models.generate_content(model=self.model, contents=contents, config=_generation_config(request))
        except errors.APIError as error:
            raise lm15_error(error) from error
        finally:
            for file in uploaded:
                self._delete(file)
        usage = response.usage_metadata
        input_tokens = (usage.prompt_token_count or 0) if usage else 0
        output_tokens = ((usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)) if usage else 0
        return Response(
            id=response.response_id,
            model=request.model,
            message=Message.assistant([TextPart(response.text or "")]),
            finish_reason=_finish_reason(response),
            usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens),
        )

    def _contents(self, request, uploaded: list) -> list[types.Content]:
        """The request's messages as google-genai contents (the system prompt goes in the config)."""
        from google.genai import types

        videos = [part for message in request.messages for part in message.parts if _is_video(part)]
        inline = sum(len(part.data) * 3 // 4 for part in videos) <= self.inline_limit_bytes
        return [
            types.Content(
                role="model" if message.role == "assistant" else "user",
                parts=[self._part(part, inline, uploaded) for part in message.parts],
            )
            for message in request.messages
        ]

    def _part(self, part, inline: bool, uploaded: list) -> types.Part:
        from google.genai import types

        kind = getattr(part, "type", None)
        if kind == "text":
            return types.Part(text=part.text)
        if kind == "image" and part.data is not None:
            return types.Part.from_bytes(data=base64.b64decode(part.data), mime_type=part.media_type)
        if _is_video(part):
            data = base64.b64decode(part.data)
            metadata = types.VideoMetadata(fps=video_rate(data))
            if inline:
                return types.Part(inline_data=types.Blob(data=data, mime_type=part.media_type), video_metadata=metadata)
            file = self._upload(data, part.media_type)
            uploaded.append(file)
            return types.Part(file_data=types.FileData(file_uri=file.uri, mime_type=part.media_type), video_metadata=metadata)
        raise ValueError(f"the Gemini engine cannot send a {kind or type(part).__name__} part")

    def _upload(self, data: bytes, mime_type: str) -> types.File:
        """Upload a video and wait until Gemini has processed it (state ACTIVE)."""
        from google.genai import errors, types

        file = self._client.files.upload(
            file=io.BytesIO(data), config=types.UploadFileConfig(mime_type=mime_type, display_name=f"viddiff-{uuid.uuid4().hex[:12]}")
        )
        waited = 0.0
        while file.state == types.FileState.PROCESSING:
            if waited >= self.upload_timeout:
                self._delete(file)
                raise errors.APIError(408, {"error": {"message": f"uploaded video {file.name} still processing after {waited:.0f} s"}})
            self._sleep(self.poll_seconds)
            waited += self.poll_seconds
            file = self._client.files.get(name=file.name)
        if file.state == types.FileState.FAILED:
            self._delete(file)
            reason = file.error.message if file.error and file.error.message else "no reason given"
            raise errors.APIError(400, {"error": {"message": f"Gemini could not process the uploaded video {file.name}: {reason}"}})
        return file

    def _delete(self, file) -> None:
        from google.genai import errors

        try:
            self._client.files.delete(name=file.name)
        except errors.APIError:  # an undeleted upload expires after 48 hours
            pass

    def __deepcopy__(self, memo) -> GeminiEngine:
        """Copies of a program (optimizers make many) share the engine: it holds only the client
        and settings, and is safe to call from several threads."""
        return self

    def close(self) -> None:
        self._client.close()


def gemini_lm(config: LMConfig, api_key: str, **engine_options: Any) -> dspy.LM:
    """A dspy.LM for a `gemini/<model>` role whose requests go through `GeminiEngine`.

    The engine owns the connection (key, server); the server address goes into the cache key
    through `rollout_id`, as `viddiff.lms.build_lm` does for OpenAI-compatible servers.
    """
    from viddiff.gated_lm import GatedLM, gate_for

    provider, _, name = config.model.partition("/")
    if provider != "gemini" or not name:
        raise ValueError(f"the video system sends videos through google-genai: its model must be gemini/<model>, got {config.model!r}")
    kwargs = {"rollout_id": server_rollout_id(config.api_base)} if config.api_base else {}
    return GatedLM(
        config.model,
        gate=gate_for(config.model, config.api_base),
        engine=GeminiEngine(name, api_key, api_base=config.api_base, **engine_options),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        num_retries=config.num_retries,
        cache=config.cache,
        **kwargs,
    )


def video_rate(data: bytes) -> float:
    """The frame rate of an MP4 (frames over duration), as the clip was encoded."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
    return round(float(rate), 3) if rate else 1.0


def lm15_error(error) -> Exception:
    """The lm15 error DSPy handles for a google-genai APIError: 429 a rate limit, 5xx a server
    error (both retried), 401/403 an auth error, other 4xx an invalid request."""
    from dspy.lm15 import AuthError, InvalidRequestError, RateLimitError, ServerError

    code = int(error.code or 500)
    message = f"Gemini {code} {error.status or ''}: {error.message or 'no message'}".replace("  ", " ")
    if code == 429:
        return RateLimitError(message, provider="gemini", status=code)
    if code >= 500:
        return ServerError(message, provider="gemini", status=code)
    if code in (401, 403):
        return AuthError(message, provider="gemini", status=code)
    return InvalidRequestError(message, provider="gemini", status=code)


def _is_video(part) -> bool:
    return getattr(part, "media_type", None) in VIDEO_TYPES and getattr(part, "data", None) is not None


def _system_text(system) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    return "".join(getattr(part, "text", "") or "" for part in system)


def _generation_config(request) -> types.GenerateContentConfig:
    from google.genai import types

    config = request.config
    return types.GenerateContentConfig(
        system_instruction=_system_text(request.system) or None,
        temperature=config.temperature,
        max_output_tokens=config.max_tokens,
        top_p=config.top_p,
        stop_sequences=list(config.stop) or None,
    )


def _finish_reason(response) -> str:
    candidates = response.candidates or []
    reason = candidates[0].finish_reason if candidates else None
    return "length" if reason is not None and reason.name == "MAX_TOKENS" else "stop"
