"""The published VidDiffBench results (ICLR 2025 camera-ready), shown next to a run's own.

Percent, per split: (easy, medium, hard, avg); avg is the unweighted mean of the three splits.
"""

from __future__ import annotations

PUBLISHED_SOURCE = "published figures, ICLR 2025 camera-ready"

PUBLISHED: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "closed": {
        "GPT-4o": (58.3, 53.2, 48.9, 53.5),
        "Gemini-1.5-Pro": (67.8, 53.6, 51.7, 57.7),
        "Claude-3.5-Sonnet": (57.1, 50.5, 52.5, 53.4),
        "LLaVA-Video-7B": (56.6, 52.0, 48.3, 52.3),
        "Qwen2-VL-7B": (49.0, 52.6, 49.6, 50.4),
        "VidDiff": (62.7, 56.2, 50.0, 56.3),
    },
    "open": {
        "GPT-4o": (45.7, 41.5, 38.0, 41.7),
        "Gemini-1.5-Pro": (30.3, 30.5, 24.1, 28.3),
        "Claude-3.5-Sonnet": (37.8, 34.6, 34.3, 35.6),
        "LLaVA-Video-7B": (7.8, 9.0, 8.5, 8.4),
        "Qwen2-VL-7B": (11.2, 8.8, 1.6, 7.2),
        "VidDiff": (49.9, 37.9, 38.5, 42.1),
    },
}
"""Mode -> system -> (easy, medium, hard, avg), percent: closed accuracy, open recall@N_diff."""

RANDOM_BASELINE: dict[str, float] = {"closed": 50.0}
"""The published random baseline per mode, percent (the paper gives none for open recall)."""
