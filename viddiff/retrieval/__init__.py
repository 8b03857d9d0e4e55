"""Frame localizer: CLIP embeddings, stage scores, stage alignment, frame selection, modes.

The numeric core is pure functions of arrays (no I/O, no models, no global random state).
Per video: `stage_scores` (frame and retrieval-string embeddings -> K x T scores),
`align_stages` (scores -> one contiguous segment per stage; `even_segments` is the "no
Viterbi" ablation), then `select_frames` per difference. `localize` runs a named mode
(`LOCALIZATION_MODES` says what each needs); `FrameLocalizer` puts an embedder (`viddiff.clip`,
which loads torch; nothing here does) in front of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from viddiff.lazy import lazy_exports

if TYPE_CHECKING:
    from viddiff.retrieval.alignment import Segment, align_stages, even_segments, segment_score
    from viddiff.retrieval.localization_error import ErrorSummary, localization_errors, summarize_errors
    from viddiff.retrieval.localizer import FrameLocalizer, Stage, key_point_times
    from viddiff.retrieval.modes import LOCALIZATION_MODES, DifferenceQuery, Localization, LocalizationMode, localize
    from viddiff.retrieval.scores import stage_scores
    from viddiff.retrieval.selection import nearest_frames, random_frames, select_frames

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "alignment": ("Segment", "align_stages", "even_segments", "segment_score"),
        "localization_error": ("ErrorSummary", "localization_errors", "summarize_errors"),
        "localizer": ("FrameLocalizer", "Stage", "key_point_times"),
        "modes": ("LOCALIZATION_MODES", "DifferenceQuery", "Localization", "LocalizationMode", "localize"),
        "scores": ("stage_scores",),
        "selection": ("nearest_frames", "random_frames", "select_frames"),
    },
)
