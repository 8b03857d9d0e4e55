"""LMs whose rate limits pause every thread sending to the same model on the same server.

DSPy retries a failed call inside that call: a 429 makes its own thread wait out Retry-After
while the other sample and difference threads go on sending, and collect 429s of their own.
`GatedLM` takes the retries over (DSPy makes one attempt per try) and, on a rate limit, closes
a gate shared by every LM of that model and server: each thread waits before its next request
until the gate opens again. Other transient errors (5xx, timeouts, dropped connections) wait on
their own thread, as in DSPy. The wait is DSPy's: the provider's Retry-After, else 2^attempt s
up to 60 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import dspy
from dspy.utils.callback import with_callbacks
from dspy.utils.exceptions import is_retryable_lm_error


class RateLimitGate:
    """Closed for a while after a rate limit; `wait` blocks until it opens."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._open_at = 0.0
        self._lock = threading.Lock()

    def close_for(self, seconds: float) -> None:
        """Keep the gate closed for `seconds` from now (or longer, if it already is)."""
        with self._lock:
            self._open_at = max(self._open_at, self._clock() + seconds)

    def wait(self) -> float:
        """Block until the gate is open; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                delay = self._open_at - self._clock()
            if delay <= 0:
                return waited
            self._sleep(delay)
            waited += delay


_GATES: dict[tuple[str, str | None], RateLimitGate] = {}
_GATES_LOCK = threading.Lock()


def gate_for(model: str, api_base: str | None) -> RateLimitGate:
    """The one gate of a model on a server, shared by every role and LM copy that uses it."""
    with _GATES_LOCK:
        return _GATES.setdefault((model, api_base.rstrip("/") if api_base else None), RateLimitGate())


def retry_delay(error: Exception, attempt: int) -> float:
    """Seconds to wait before retry `attempt + 1`: the error's Retry-After, else 2^attempt, at most 60."""
    hint = getattr(error, "retry_after", None)
    if isinstance(hint, (int, float)) and not isinstance(hint, bool) and 0 <= hint < float("inf"):
        return float(hint)
    return float(min(2 ** min(attempt, 6), 60))


_SEND_ONCE = dspy.BaseLM.__call__.__wrapped__  # one DSPy call without its callbacks (they run once, around the retries)


class GatedLM(dspy.LM):
    """A `dspy.LM` that retries transient errors itself, `num_retries` times, behind `gate`."""

    def __init__(self, model: str, *, num_retries: int, gate: RateLimitGate, sleep: Callable[[float], None] = time.sleep, **kwargs):
        super().__init__(model, num_retries=0, **kwargs)
        self.retries, self.gate, self._sleep = num_retries, gate, sleep

    @with_callbacks
    def __call__(self, prompt=None, *, messages=None, **kwargs):
        attempt = 0
        while True:
            self.gate.wait()
            try:
                return _SEND_ONCE(self, prompt, messages=messages, **kwargs)
            except Exception as error:
                if attempt == self.retries or not is_retryable_lm_error(error):
                    raise
                delay = retry_delay(error, attempt)
                if isinstance(error, dspy.LMRateLimitError):
                    self.gate.close_for(delay)
                else:
                    self._sleep(delay)
            attempt += 1
