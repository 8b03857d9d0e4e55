"""Progress of frame embedding, heard by whoever displays it: a context variable, so a display
set up around a program call reaches the embedder inside it without either knowing the other."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

EmbeddingProgress = Callable[[int], Callable[[int], None]]
"""Told how many frames are about to be embedded; returns a function told each batch's count."""

embedding_progress: ContextVar[EmbeddingProgress | None] = ContextVar("embedding_progress", default=None)
