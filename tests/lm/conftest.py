"""Fixtures of the LM test doubles, for the tests in this folder.

Tests elsewhere can use them by importing the fixture into their module or conftest:
``from tests.lm.loopback_server import openai_loopback, openai_loopback_factory  # noqa: F401``.
"""

from tests.lm.loopback_server import openai_loopback, openai_loopback_factory

__all__ = ["openai_loopback", "openai_loopback_factory"]
