import threading
import time

import dspy
import pytest

from tests.lm.fake_engine import FakeEngine, provider_error, rate_limit_error, server_error
from viddiff.config import LMConfig
from viddiff.gated_lm import GatedLM, RateLimitGate, gate_for, retry_delay
from viddiff.lms import build_lm
from viddiff.progress import RequestCounter


class FakeClock:
    """Time that passes only when slept."""

    def __init__(self):
        self.now, self.slept = 100.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def _lm(engine, gate, sleep=time.sleep, retries=3):
    return GatedLM("local/fake", engine=engine, cache=False, num_retries=retries, gate=gate, sleep=sleep)


def test_gate_stays_closed_for_the_longest_wait_asked():
    clock = FakeClock()
    gate = RateLimitGate(clock, clock.sleep)
    assert gate.wait() == 0 and clock.slept == []
    gate.close_for(2.0)
    gate.close_for(0.5)  # a shorter wait asked later does not open it sooner
    assert gate.wait() == 2.0 and clock.slept == [2.0]
    assert gate.wait() == 0


def test_retry_delay_is_retry_after_else_exponential_up_to_60_s():
    assert retry_delay(dspy.LMRateLimitError("x", retry_after=7.5), 0) == 7.5
    assert [retry_delay(RuntimeError(), attempt) for attempt in (0, 1, 3, 6, 9)] == [1, 2, 8, 60, 60]


def test_a_rate_limit_closes_the_gate_for_retry_after_and_the_call_is_retried_once_counted():
    clock = FakeClock()
    engine = FakeEngine(fail_when=[("", rate_limit_error(retry_after=4.0), 1)])
    lm = _lm(engine, RateLimitGate(clock, clock.sleep))
    counter = RequestCounter()
    with dspy.context(callbacks=[counter]):
        assert lm("hello") == ["Fake response."]
    assert len(engine.calls) == 2 and engine.calls[0].error is not None and engine.calls[1].succeeded
    assert clock.slept == [4.0]
    assert counter.calls == 1  # callbacks run once around the retries: one call of the program


def test_a_server_error_waits_on_its_own_thread_and_leaves_the_gate_open():
    clock, own = FakeClock(), FakeClock()
    gate = RateLimitGate(clock, clock.sleep)
    engine = FakeEngine(fail_when=[("", server_error(retry_after=None), 2)])
    assert _lm(engine, gate, sleep=own.sleep)("hello") == ["Fake response."]
    assert own.slept == [1.0, 2.0] and clock.slept == [] and gate.wait() == 0


def test_errors_that_are_not_transient_and_the_last_attempt_are_raised():
    clock = FakeClock()
    engine = FakeEngine(fail_when=[("", provider_error("bad request"))])
    with pytest.raises(dspy.LMProviderError, match="bad request"):
        _lm(engine, RateLimitGate(clock, clock.sleep))("hello")
    assert len(engine.calls) == 1 and clock.slept == []

    engine = FakeEngine(fail_when=[("", rate_limit_error(retry_after=1.0))])
    with pytest.raises(dspy.LMRateLimitError):
        _lm(engine, RateLimitGate(clock, clock.sleep), retries=2)("hello")
    assert len(engine.calls) == 3 and clock.slept == [1.0, 1.0]


def test_one_threads_rate_limit_holds_back_the_requests_of_other_threads():
    """Thread A's first request is refused with Retry-After 0.5 s; thread B, sending through another
    LM of the same model and server, starts while the gate is closed and reaches the server only
    once it opens."""
    refused = threading.Event()
    arrivals = {"A": [], "B": []}

    def first_from_a(call):
        sender = "A" if "from A" in call.prompt else "B"
        arrivals[sender].append(time.monotonic())
        first = sender == "A" and len(arrivals["A"]) == 1
        if first:
            refused.set()
        return first

    engine = FakeEngine(fail_when=[(first_from_a, rate_limit_error(retry_after=0.5))])
    config = LMConfig(model="openai/gated-test", api_base="http://127.0.0.1:9/v1", cache=False)
    lm_a, lm_b = (_lm(engine, gate_for(config.model, config.api_base)) for _ in "ab")
    assert lm_a.gate is lm_b.gate is lm_a.copy().gate
    assert build_lm(config, "key").gate is lm_a.gate
    thread_a = threading.Thread(target=lm_a, args=("from A",))
    thread_a.start()
    refused.wait(5)
    time.sleep(0.1)  # A's thread closes the gate as the refusal comes back
    assert lm_b("from B") == ["Fake response."]
    thread_a.join()
    (refused_at, retried_at), (b_at,) = arrivals["A"], arrivals["B"]
    assert b_at - refused_at >= 0.45 and retried_at - refused_at >= 0.45
