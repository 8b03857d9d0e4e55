"""Clean-up of what the LMs return: plain Python, testable without an LM.

LMs invent or drop names, return bad `num_frames` values and empty lists; each function here
turns a raw structured output into something the next stage can rely on, or raises
`RepairError` when nothing usable is left.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from viddiff.data.records import Difference
from viddiff.errors import ViddiffError
from viddiff.retrieval.localizer import Stage
from viddiff.signatures.types import PlannedStage, ProposedDifference

MAX_STAGES = 5
STAGE_MATCH_CUTOFF = 0.6
"""How close an invented stage name must be to a real one to be mapped to it (difflib ratio)."""


class RepairError(ViddiffError):
    """An LM output had nothing usable left after repair."""


def normalize_num_frames(value: object) -> str:
    """'1' or 'gt_1' from what an LM wrote ('1', 1, 'gt_1', '>1', 'multiple', '3', ...)."""
    text = str(value).strip().lower().replace(" ", "")
    if text in ("1", "one", "single", "1frame"):
        return "1"
    if text.isdigit():
        return "1" if int(text) <= 1 else "gt_1"
    return "gt_1" if text else "1"


def clean_proposals(raw: Sequence[ProposedDifference], limit: int) -> dict[str, Difference]:
    """Proposed differences keyed "0", "1", ...: blanks and repeated names dropped, at most `limit`.

    Raises:
        RepairError: no usable difference was proposed.
    """
    differences: dict[str, Difference] = {}
    seen: set[str] = set()
    for proposal in raw:
        name, description = proposal.name.strip(), proposal.description.strip()
        if not description or name.lower() in seen or len(differences) == limit:
            continue
        seen.add(name.lower())
        key = str(len(differences))
        differences[key] = Difference(
            key=key,
            name=name or description,
            description=description,
            query_string=proposal.query_string.strip() or description,
            num_frames=normalize_num_frames(proposal.num_frames),  # type: ignore[arg-type]
        )
    if not differences:
        raise RepairError("the proposer returned no usable difference")
    return differences


def clean_stages(raw: Sequence[PlannedStage], max_stages: int = MAX_STAGES) -> list[Stage]:
    """Stages with at least one retrieval string, unique names, at most `max_stages`, in order.

    Raises:
        RepairError: no stage with a retrieval string was returned.
    """
    stages: list[Stage] = []
    seen: set[str] = set()
    for planned in raw:
        strings = tuple(dict.fromkeys(s.strip() for s in planned.retrieval_strings if s.strip()))
        name = planned.name.strip() or f"stage {len(stages) + 1}"
        if not strings or name.lower() in seen:
            continue
        seen.add(name.lower())
        stages.append(Stage(name=name, retrieval_strings=strings))
    if not stages:
        raise RepairError("the stage planner returned no stage with a retrieval string")
    return stages[:max_stages]


def repair_links(
    raw: Mapping[str, Sequence[str]], stages: Sequence[Stage], differences: Mapping[str, Difference]
) -> dict[str, tuple[int, ...]]:
    """Difference key -> indices of its linked stages, in stage order.

    An invented difference name maps to the closest real one; an invented stage name to the
    closest real stage when it is close, else it is dropped. A difference left without a
    stage gets an empty tuple (the localizer then uses the middle stage, index K // 2).
    """
    stage_names = [s.name for s in stages]
    key_by_name = {d.name: key for key, d in differences.items()}
    links: dict[str, set[int]] = {key: set() for key in differences}
    for name, linked in raw.items():
        key = key_by_name.get(name) or key_by_name.get(_closest(name, list(key_by_name), cutoff=0.0) or "")
        if key is None:
            continue
        for stage_name in [linked] if isinstance(linked, str) else linked:
            match = _closest(str(stage_name), stage_names, cutoff=STAGE_MATCH_CUTOFF)
            if match is not None:
                links[key].add(stage_names.index(match))
    return {key: tuple(sorted(indices)) for key, indices in links.items()}


def _closest(name: str, candidates: list[str], cutoff: float) -> str | None:
    """The exact (case-insensitive) or the closest candidate at or above `cutoff`."""
    lowered = {c.lower(): c for c in candidates}
    if name.strip().lower() in lowered:
        return lowered[name.strip().lower()]
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[matches[0]] if matches else None


NONE_ANSWERS = {"", "none", "null", "no match", "-"}
"""What a matcher may write for 'no prediction matches'."""


def one_to_one(raw: Mapping[str, object], ground_truth: Sequence[str], predicted: Sequence[str]) -> dict[str, str | None]:
    """Every ground-truth key -> at most one predicted key, each predicted key used at most once.

    Unknown keys are dropped; when the LM gives one prediction to several ground-truth keys,
    the first ground-truth key (in the ground truth's order) keeps it and the others are
    unmatched.
    """
    valid = set(predicted)
    used: set[str] = set()
    matches: dict[str, str | None] = {}
    for key in ground_truth:
        answer = raw.get(key)
        candidate = None if answer is None else str(answer).strip()
        if candidate is None or candidate.lower() in NONE_ANSWERS or candidate not in valid or candidate in used:
            matches[key] = None
            continue
        used.add(candidate)
        matches[key] = candidate
    return matches
