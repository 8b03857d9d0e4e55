"""Running calls concurrently while keeping DSPy's per-context settings (LM, adapter)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_threads(
    function: Callable[[Item], Result], items: Iterable[Item], num_threads: int
) -> list[Result | Exception]:
    """`function` over `items` on up to `num_threads` threads, in order; a failure is returned
    as its exception in place of the result, so one failed item never loses the others.

    Each call runs in a copy of the caller's context, so `dspy.context(lm=...)` reaches it.
    """

    def call(item: Item) -> Result | Exception:
        try:
            return function(item)
        except Exception as e:  # recorded per item by the caller
            return e

    items = list(items)
    if num_threads <= 1 or len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(num_threads, len(items))) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call, item) for item in items]
        return [f.result() for f in futures]
