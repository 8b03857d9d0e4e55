import pytest

from viddiff.data.records import Difference
from viddiff.programs.repair import RepairError, clean_proposals, clean_stages, normalize_num_frames, repair_links
from viddiff.retrieval.localizer import Stage
from viddiff.signatures.types import PlannedStage, ProposedDifference


@pytest.mark.parametrize(
    "raw, expected",
    [("1", "1"), (1, "1"), ("one", "1"), ("gt_1", "gt_1"), (">1", "gt_1"), ("3", "gt_1"), ("multiple", "gt_1"), ("", "1"), ("0", "1")],
)
def test_normalize_num_frames(raw, expected):
    assert normalize_num_frames(raw) == expected


def _proposal(name, description, query="q", num_frames="1"):
    return ProposedDifference(name=name, description=description, query_string=query, num_frames=num_frames)


def test_clean_proposals_drops_blanks_and_repeats_and_truncates():
    raw = [
        _proposal("depth", "the squat is deeper", num_frames="1"),
        _proposal("Depth", "the hips go lower"),  # repeated name
        _proposal("speed", "   ", num_frames="2"),  # blank description
        _proposal(" speed ", " the descent is faster ", query="", num_frames="several"),
        _proposal("stance", "the feet are wider apart"),
        _proposal("arms", "the arms are higher"),
    ]
    assert clean_proposals(raw, limit=3) == {
        "0": Difference("0", "depth", "the squat is deeper", "q", "1"),
        "1": Difference("1", "speed", "the descent is faster", "the descent is faster", "gt_1"),
        "2": Difference("2", "stance", "the feet are wider apart", "q", "1"),
    }


def test_clean_proposals_with_nothing_usable():
    with pytest.raises(RepairError, match="no usable difference"):
        clean_proposals([_proposal("x", "  ")], limit=3)
    with pytest.raises(RepairError):
        clean_proposals([], limit=3)


def _planned(name, strings):
    return PlannedStage(name=name, description="", retrieval_strings=strings)


def test_clean_stages():
    raw = [
        _planned("setup", ["A photo of a person standing", " ", "A photo of a person standing"]),
        _planned("empty", []),
        _planned("SETUP", ["A photo of a duplicate name"]),
        _planned("", ["A photo of a person crouching"]),
        *[_planned(f"s{i}", [f"A photo {i}"]) for i in range(5)],
    ]
    stages = clean_stages(raw)
    assert stages[:2] == [
        Stage("setup", ("A photo of a person standing",)),
        Stage("stage 2", ("A photo of a person crouching",)),
    ]
    assert [s.name for s in stages] == ["setup", "stage 2", "s0", "s1", "s2"]  # at most 5
    with pytest.raises(RepairError, match="no stage with a retrieval string"):
        clean_stages([_planned("a", [])])


STAGES = [Stage("standing", ("x",)), Stage("descending", ("x",)), Stage("bottom position", ("x",)), Stage("rising", ("x",))]
DIFFERENCES = {
    "0": Difference("0", "depth", "the squat is deeper", "", "1"),
    "1": Difference("1", "descent speed", "the descent is faster", "", "gt_1"),
    "2": Difference("2", "stance width", "the feet are wider", "", "1"),
    "3": Difference("3", "arm height", "the arms are higher", "", "1"),
}


def test_repair_links():
    raw = {
        "depth": ["bottom position"],  # exact
        "descent sped": ["Descending", "bottom positon"],  # invented difference name; case and typo in stages
        "stance width": ["warm-up"],  # invented stage, nothing close: dropped
        # "arm height" left out
    }
    assert repair_links(raw, STAGES, DIFFERENCES) == {"0": (2,), "1": (1, 2), "2": (), "3": ()}


def test_repair_links_accepts_a_bare_stage_name_and_merges_duplicates():
    raw = {"depth": "bottom position", "Depth": ["rising", "bottom position"]}
    assert repair_links(raw, STAGES, DIFFERENCES)["0"] == (2, 3)
