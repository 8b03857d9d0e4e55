"""A fake LM scripted to answer every VidDiff role with valid output (test double)."""

import json
import re

from tests.lm.fake_engine import FakeEngine

STAGE_NAMES = ["standing", "lowest position", "standing up"]
PROPOSALS = [
    {"name": "depth", "description": "the squat is deeper", "query_string": "hip height", "num_frames": "1"},
    {"name": "speed", "description": "the descent is faster", "query_string": "speed", "num_frames": "several"},
    {"name": "Depth", "description": "the hips go lower", "query_string": "hips", "num_frames": "1"},
    {"name": "stance", "description": "the feet are wider apart", "query_string": "feet", "num_frames": "gt_1"},
]


def input_json(call, field: str):
    """The JSON value the ChatAdapter rendered for an input field of a call."""
    match = re.search(rf"\[\[ ## {field} ## \]\]\n(.*?)(?=\n\n|\Z)", call.last_user_text, re.S)
    return json.loads(match.group(1))


def link_every_difference_to_the_middle_stage(call):
    return {"links": {name: ["lowest position"] for name in input_json(call, "differences")}}


def scripted_engine(**kwargs) -> FakeEngine:
    """Answers the planner, linker and proposer with valid plans; the differencer by the default policy."""
    engine = FakeEngine(**kwargs)
    engine.script(lambda c: "stages" in c.output_fields, {
        "stages": [
            {"name": name, "description": name, "retrieval_strings": [f"A photo of a person {name}", f"A photo of someone {name}"]}
            for name in STAGE_NAMES
        ]
    })
    engine.script(lambda c: "links" in c.output_fields, link_every_difference_to_the_middle_stage)
    engine.script(lambda c: "differences" in c.output_fields, {"differences": PROPOSALS})
    return engine


def match_in_order(call):
    """Matcher double: the i-th ground-truth difference matches the i-th prediction."""
    ground_truth, predicted = input_json(call, "ground_truth"), input_json(call, "predicted")
    return {"matches": dict(zip(ground_truth, list(predicted) + ["none"] * len(ground_truth)))}


def scripted_engine_with_matcher(**kwargs) -> FakeEngine:
    """scripted_engine, plus an in-order matcher that flags no opposites."""
    engine = scripted_engine(**kwargs)
    engine.script(lambda c: "matches" in c.output_fields, match_in_order)
    engine.script(lambda c: "opposite_keys" in c.output_fields, {"opposite_keys": []})
    return engine
