"""Frame localizer: CLIP embeddings, stage scores, stage alignment, frame selection, modes.

The numeric core is pure functions of arrays (no I/O, no models, no global random state).
Per video: `stage_scores` (frame and retrieval-string embeddings -> K x T scores),
`align_stages` (scores -> one contiguous segment per stage; `even_segments` is the "no
Viterbi" ablation), then `select_frames` per difference. `localize` runs a named mode
(`viterbi`, `uniform`, `random`, `oracle`); `FrameLocalizer` adds the CLIP embedder
(`ClipEmbedder`, cached on disk by `EmbeddingCache`) in front of it.
"""

from viddiff.retrieval.alignment import Segment, align_stages, even_segments, segment_score
from viddiff.retrieval.embedder import (
    DEFAULT_CLIP_MODEL,
    DEFAULT_CLIP_PRETRAINED,
    ClipConfig,
    ClipEmbedder,
    WeightsError,
    create_clip,
    preprocess_frames,
)
from viddiff.retrieval.embedding_cache import EmbeddingCache, default_embedding_cache_dir
from viddiff.retrieval.localization_error import ErrorSummary, localization_errors, summarize_errors
from viddiff.retrieval.localizer import FrameLocalizer, Stage, key_point_times
from viddiff.retrieval.modes import LOCALIZATION_MODES, DifferenceQuery, Localization, localize
from viddiff.retrieval.scores import stage_scores
from viddiff.retrieval.selection import nearest_frames, random_frames, select_frames

__all__ = [
    "DEFAULT_CLIP_MODEL",
    "DEFAULT_CLIP_PRETRAINED",
    "LOCALIZATION_MODES",
    "ClipConfig",
    "ClipEmbedder",
    "DifferenceQuery",
    "EmbeddingCache",
    "ErrorSummary",
    "FrameLocalizer",
    "Localization",
    "Segment",
    "Stage",
    "WeightsError",
    "align_stages",
    "create_clip",
    "default_embedding_cache_dir",
    "even_segments",
    "key_point_times",
    "localization_errors",
    "localize",
    "nearest_frames",
    "preprocess_frames",
    "random_frames",
    "segment_score",
    "select_frames",
    "stage_scores",
    "summarize_errors",
]
