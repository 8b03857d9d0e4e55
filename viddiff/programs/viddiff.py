"""The VidDiff program: propose -> plan and link stages -> localize frames -> decide."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence

import dspy
import numpy as np

from viddiff.config import FRAMES_OPTIONS
from viddiff.data.records import Difference
from viddiff.data.video import Frames
from viddiff.errors import error_text
from viddiff.programs.differencer import FrameDifferencer
from viddiff.programs.images import ImageEncoding
from viddiff.programs.linker import DifferenceLinker
from viddiff.programs.planner import StagePlanner
from viddiff.programs.proposer import DifferenceProposer
from viddiff.programs.records import DifferencePrediction
from viddiff.programs.threads import map_in_threads
from viddiff.retrieval.localizer import FrameLocalizer
from viddiff.retrieval.modes import LOCALIZATION_MODES, DifferenceQuery, Localization

FATAL_ERRORS = (dspy.LMAuthError,)
"""Errors no other difference or sample can escape (a rejected API key): raised, not recorded."""


class VidDiff(dspy.Module):
    """How two people differ performing the same action, from frames of their two videos.

    Closed set: pass `differences` (the candidate statements). Open set: pass
    `n_differences`; the proposer writes at most that many and each is decided.

    Args:
        localizer: chooses each difference's frames (its mode decides whether stages are planned).
        lms: role -> LM (`proposer`, `planner`, `differencer`); a missing role uses the
            globally configured LM.
        three_way: let the differencer answer 'c' (no visible difference).
        chain_of_thought: the differencer reasons step by step first (dspy.ChainOfThought).
        frames: frames per video for every difference: 'auto' (each difference's own
            `num_frames`), '1' or '3'.
        images: how frames are encoded for the VLM (size None keeps them as decoded).
        num_threads: differencer calls run concurrently.

    Example:
        >>> program = VidDiff(FrameLocalizer("viterbi", embedder=embedder), lms=lms)
        >>> result = program(videos=(frames_a, frames_b), action_description="a squat", n_differences=6)
        >>> [(p.description, p.answer) for p in result.predictions]
    """

    def __init__(
        self,
        localizer: FrameLocalizer,
        *,
        lms: Mapping[str, dspy.LM] | None = None,
        three_way: bool = False,
        chain_of_thought: bool = False,
        frames: str = "auto",
        images: ImageEncoding = ImageEncoding(),
        num_threads: int = 8,
    ):
        super().__init__()
        self.proposer = DifferenceProposer()
        self.planner = StagePlanner()
        self.linker = DifferenceLinker()
        self.differencer = FrameDifferencer(three_way, chain_of_thought)
        if frames not in FRAMES_OPTIONS:
            raise ValueError(f"frames must be one of {', '.join(FRAMES_OPTIONS)}, got {frames!r}")
        self.frames = frames
        self.localizer = localizer
        self.lms = dict(lms or {})
        self.images = images
        self.num_threads = num_threads

    def forward(
        self,
        videos: tuple[Frames, Frames],
        action_description: str,
        *,
        differences: Mapping[str, Difference] | None = None,
        n_differences: int | None = None,
        key_points: tuple[Mapping[str, Sequence[int] | None], Mapping[str, Sequence[int] | None]] = ({}, {}),
        trim_starts: tuple[int, int] = (0, 0),
        seed: int = 0,
    ) -> dspy.Prediction:
        if differences is None:
            differences = self.propose(action_description, n_differences, seed)
        stages, links = [], {key: () for key in differences}
        if LOCALIZATION_MODES[self.localizer.mode].needs_stages:
            with self._role("planner"):
                stages = self.planner(action_description, differences, **self._config("planner", seed)).stages
                links = self.linker(action_description, stages, differences, **self._config("planner", seed)).links
        queries = [DifferenceQuery(key, self._num_frames(d), links[key]) for key, d in differences.items()]
        placed = tuple(
            self.localizer.localize(
                videos[w], stages, queries, key_points=key_points[w], trim_start=trim_starts[w], seed_key=(seed, w)
            )
            for w in (0, 1)
        )
        predictions = self._decide(videos, action_description, differences, placed, seed)
        return dspy.Prediction(
            differences=differences, stages=stages, links=links, localizations=placed, predictions=predictions
        )

    def propose(self, action_description: str, n_differences: int | None, seed: int = 0) -> dict[str, Difference]:
        """Open set, first stage alone: at most `n_differences` proposed differences."""
        if not n_differences:
            raise ValueError("give the closed-set differences or, for the open set, n_differences >= 1")
        with self._role("proposer"):
            return self.proposer(action_description, n_differences, **self._config("proposer", seed)).differences

    def _decide(
        self,
        videos: tuple[Frames, Frames],
        action_description: str,
        differences: Mapping[str, Difference],
        placed: tuple[Localization, Localization],
        seed: int,
    ) -> list[DifferencePrediction]:
        served = [key for key in differences if all(key not in placed[w].unserved and placed[w].frames.get(key) for w in (0, 1))]
        # Every chosen frame of a video in one pass (differences share frames and keyframes);
        # a video that cannot be read again fails the differences that show it.
        shown = [{i for key in served for i in placed[w].frames[key]} for w in (0, 1)]
        encoded = map_in_threads(lambda w: self.images.encode_chosen(videos[w], shown[w]), (0, 1), 2)

        def decide(key: str) -> dspy.Prediction | None:
            if key not in served:
                return None  # unserved: the mode cannot place it (oracle: no annotated key point)
            failed = next((e for e in encoded if isinstance(e, Exception)), None)
            if failed is not None:
                raise failed
            images = [[encoded[w][i] for i in placed[w].frames[key]] for w in (0, 1)]
            chosen = [placed[w].frames[key] for w in (0, 1)]
            with self._role("differencer"):
                return self.differencer(
                    action_description,
                    differences[key].description,
                    images[0],
                    images[1],
                    _seconds_between(videos[0].timestamps, chosen[0]),
                    **self._config("differencer", seed),
                )

        results = map_in_threads(decide, list(differences), self.num_threads)
        fatal = next((r for r in results if isinstance(r, FATAL_ERRORS)), None)
        if fatal is not None:
            raise fatal
        return [
            _prediction(differences[key], result, [placed[w].frames.get(key, []) for w in (0, 1)], videos)
            for key, result in zip(differences, results)
        ]

    def _num_frames(self, difference: Difference) -> str:
        return {"auto": difference.num_frames, "1": "1", "3": "gt_1"}[self.frames]

    def _role(self, role: str):
        lm = self.lms.get(role)
        return dspy.context(lm=lm) if lm is not None else contextlib.nullcontext()

    def _config(self, role: str, seed: int) -> dict:
        """Per-call LM settings: a rollout id mixing the LM's server identity with the sample's
        seed, so samples of one action get their own (cached) answers, as the published code's
        per-sample seeds did."""
        lm = self.lms.get(role) or dspy.settings.lm
        server = (lm.kwargs.get("rollout_id") if lm is not None else None) or 0
        digest = hashlib.sha256(f"{server}|{seed}".encode()).digest()
        return {"rollout_id": int.from_bytes(digest[:6], "big")}


def _seconds_between(timestamps: np.ndarray, chosen: Sequence[int]) -> float:
    if len(chosen) < 2:
        return 0.0
    return round(float(np.mean(np.diff(timestamps[list(chosen)]))), 3)


def _prediction(
    difference: Difference, result: dspy.Prediction | Exception | None, chosen: list[list[int]], videos: tuple[Frames, Frames]
) -> DifferencePrediction:
    """`result`: the differencer's answer, its failure, or None when the difference was unserved."""
    common = _placed(difference, chosen, videos)
    if result is None:
        return DifferencePrediction(**common, answer=None, unserved=True)
    if isinstance(result, Exception):
        return DifferencePrediction(**common, answer=None, error=error_text(result))
    return DifferencePrediction(**common, answer=result.answer, rationale=result.rationale)


def _placed(difference: Difference, chosen: list[list[int]], videos: tuple[Frames, Frames]) -> dict:
    """A prediction's difference and the frames chosen for it in each video, with their times."""
    return dict(
        key=difference.key,
        name=difference.name,
        description=difference.description,
        num_frames=difference.num_frames,
        frames_a=tuple(chosen[0]),
        frames_b=tuple(chosen[1]),
        times_a=tuple(round(float(videos[0].timestamps[i]), 3) for i in chosen[0]),
        times_b=tuple(round(float(videos[1].timestamps[i]), 3) for i in chosen[1]),
    )


class StageLocalization(VidDiff):
    """VidDiff up to the frame localizer: plans the stages, links the differences, chooses their
    frames, and decides nothing (no VLM call; every answer is None). What the planner is compiled
    against when the objective is the distance to annotated key points. Its predictors are
    VidDiff's, under the same names, so its saved prompts load into VidDiff."""

    def _decide(self, videos, action_description, differences, placed, seed) -> list[DifferencePrediction]:
        return [
            DifferencePrediction(**_placed(differences[key], [placed[w].frames.get(key, []) for w in (0, 1)], videos), answer=None)
            for key in differences
        ]
