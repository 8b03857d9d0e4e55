"""Parameterised actions: their benchmark metadata, differences, timing and motion.

Each difference compares one motion parameter between the two videos; its label follows from
the two values (`DifferenceSpec.label`). Event times name the moments where a difference is
visible; they become the `retrieval_frames` of the benchmark rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from viddiff.data.records import Label, NumFrames
from viddiff.data.synth.figure import (
    ANKLE_HEIGHT,
    BALL_RADIUS,
    FOOT,
    HIP_HALF_WIDTH,
    LEFT,
    RIGHT,
    SHIN,
    THIGH,
    Posture,
    Scene,
    standing_hip_height,
)

Parameters = Mapping[str, float]

STILL_S = 0.25
"""Standing still at the start and end of every motion (inside the trimmed clip)."""


@dataclass(frozen=True)
class DifferenceSpec:
    """One difference: a statement that applies more to the video with more (or less) of a parameter."""

    name: str
    description: str
    query_string: str
    num_frames: NumFrames
    parameter: str
    low: float
    high: float
    """Range the parameter is drawn from."""
    negligible: float
    """Values closer than this count as the same (label "c")."""
    larger_applies_more: bool
    """True when the description applies more to the video with the larger value."""
    keypoints: tuple[str, ...]
    """Events whose frames show the difference."""

    def label(self, value_a: float, value_b: float) -> Label:
        """"c" when the values are negligibly apart, else the video the description applies more to."""
        if abs(value_a - value_b) < self.negligible:
            return "c"
        return "a" if (value_a > value_b) == self.larger_applies_more else "b"

    def annotation(self) -> dict[str, str]:
        """The difference as a `differences_annotated` entry."""
        return {
            "name": self.name,
            "description": self.description,
            "query_string": self.query_string,
            "num_frames": self.num_frames,
        }


@dataclass(frozen=True)
class ActionSpec:
    """An action: benchmark metadata, its differences (keys "0", "1", ... in order) and its motion."""

    action: str
    action_name: str
    description: str
    split: str
    domain: str
    differences: tuple[DifferenceSpec, ...]
    events: Callable[[Parameters], dict[str, float]]
    """Event name -> seconds from the start of the motion; "end" is the motion's length."""
    scene: Callable[[Parameters, float], Scene]
    """What the frame at a time (seconds from the start of the motion) shows."""
    yaw: float
    """Camera angle (see `Style.yaw`) before per-video jitter."""
    offset: float = 0.0
    """Horizontal position of the figure (see `Style.offset`) before per-video jitter."""
    free_parameters: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Motion parameters drawn per video that no difference compares."""

    @property
    def keyed_differences(self) -> dict[str, DifferenceSpec]:
        """Differences by their benchmark key."""
        return {str(i): d for i, d in enumerate(self.differences)}


def _ramp(t: float, start: float, end: float) -> float:
    return min(max((t - start) / (end - start), 0.0), 1.0)


def _ease(x: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * x)


def _lerp(a: float, b: float, x: float) -> float:
    return a + (b - a) * x


# --- squat -------------------------------------------------------------------------------


def _squat_events(p: Parameters) -> dict[str, float]:
    bottom_start = STILL_S + p["descent_s"]
    bottom_end = bottom_start + p["hold_s"]
    ascent_end = bottom_end + p["ascent_s"]
    return {
        "descent_start": STILL_S,
        "bottom_start": bottom_start,
        "bottom": (bottom_start + bottom_end) / 2,
        "bottom_end": bottom_end,
        "ascent_end": ascent_end,
        "end": ascent_end + STILL_S,
    }


def _squat_scene(p: Parameters, t: float) -> Scene:
    e = _squat_events(p)
    lowered = _ease(_ramp(t, e["descent_start"], e["bottom_start"])) * (
        1 - _ease(_ramp(t, e["bottom_end"], e["ascent_end"]))
    )
    half_stance = p["stance"] / 2
    standing = standing_hip_height(half_stance - HIP_HALF_WIDTH)
    arms = (_lerp(8.0, p["arm_height"], lowered), _lerp(80.0, 0.0, lowered))
    posture = Posture(
        hip_height=standing * (1 - p["depth"] * lowered),
        left_ankle=(LEFT * half_stance, ANKLE_HEIGHT, 0.0),
        right_ankle=(RIGHT * half_stance, ANKLE_HEIGHT, 0.0),
        lean=lowered * (10.0 + 45.0 * p["depth"]),  # deeper squats lean further forward
        left_arm=arms,
        right_arm=arms,
        knee_out=0.25 * lowered,
    )
    return Scene(posture)


SQUAT = ActionSpec(
    action="synth_squat",
    action_name="squat",
    description=(
        "A person does a bodyweight squat: stands, bends the knees to lower the hips, "
        "then stands back up."
    ),
    split="easy",
    domain="fitness",
    differences=(
        DifferenceSpec(
            name="squat depth",
            description="the squat is deeper",
            query_string="how low the hips go at the bottom of the squat",
            num_frames="1",
            parameter="depth",
            low=0.2,
            high=0.6,
            negligible=0.05,
            larger_applies_more=True,
            keypoints=("bottom",),
        ),
        DifferenceSpec(
            name="descent speed",
            description="the descent into the squat is faster",
            query_string="how fast the hips are lowered into the squat",
            num_frames="gt_1",
            parameter="descent_s",
            low=0.4,
            high=1.2,
            negligible=0.12,
            larger_applies_more=False,
            keypoints=("descent_start", "bottom_start"),
        ),
        DifferenceSpec(
            name="stance width",
            description="the feet are placed wider apart",
            query_string="distance between the feet",
            num_frames="1",
            parameter="stance",
            low=0.2,
            high=0.5,
            negligible=0.04,
            larger_applies_more=True,
            keypoints=("descent_start",),
        ),
        DifferenceSpec(
            name="arm height",
            description="the arms are raised higher in front of the body at the bottom of the squat",
            query_string="height of the arms held out in front",
            num_frames="1",
            parameter="arm_height",
            low=20.0,
            high=90.0,
            negligible=8.0,
            larger_applies_more=True,
            keypoints=("bottom",),
        ),
        DifferenceSpec(
            name="pause at the bottom",
            description="the bottom position of the squat is held longer",
            query_string="how long the bottom position is held",
            num_frames="gt_1",
            parameter="hold_s",
            low=0.1,
            high=0.6,
            negligible=0.08,
            larger_applies_more=True,
            keypoints=("bottom_start", "bottom_end"),
        ),
    ),
    events=_squat_events,
    scene=_squat_scene,
    yaw=35.0,
    free_parameters={"ascent_s": (0.5, 0.8)},
)


# --- jumping jack ------------------------------------------------------------------------

JACK_REPETITIONS = 2
JACK_CLOSED_HALF_WIDTH = 0.08


def _jack_events(p: Parameters) -> dict[str, float]:
    rep = p["rep_s"]
    return {
        "rep_start": STILL_S,
        "apex": STILL_S + rep / 4,
        "open": STILL_S + rep / 2,
        "rep_end": STILL_S + rep,
        "end": STILL_S + JACK_REPETITIONS * rep + STILL_S,
    }


def _jack_scene(p: Parameters, t: float) -> Scene:
    moving = 0.0 <= t - STILL_S <= JACK_REPETITIONS * p["rep_s"]
    phase = (t - STILL_S) / p["rep_s"] if moving else 0.0
    # Per repetition: jump out (airborne), land open, jump in (airborne), land closed.
    openness = 0.5 - 0.5 * math.cos(2 * math.pi * phase)
    lift = p["jump_height"] * abs(math.sin(2 * math.pi * phase))
    half_width = _lerp(JACK_CLOSED_HALF_WIDTH, p["spread"] / 2, openness)
    arms = (_lerp(8.0, p["arm_top"], openness), 90.0)
    posture = Posture(
        hip_height=standing_hip_height(half_width - HIP_HALF_WIDTH) + lift,
        left_ankle=(LEFT * half_width, ANKLE_HEIGHT + lift, 0.0),
        right_ankle=(RIGHT * half_width, ANKLE_HEIGHT + lift, 0.0),
        left_arm=arms,
        right_arm=arms,
    )
    return Scene(posture)


JUMPING_JACK = ActionSpec(
    action="synth_jumping_jack",
    action_name="jumping jack",
    description=(
        "A person does jumping jacks: jumps to spread the feet while swinging the arms up "
        "overhead, then jumps back to feet together with the arms down."
    ),
    split="medium",
    domain="fitness",
    differences=(
        DifferenceSpec(
            name="arm height",
            description="the arms are raised higher above the head",
            query_string="how high the hands reach in the open position",
            num_frames="1",
            parameter="arm_top",
            low=135.0,
            high=180.0,
            negligible=8.0,
            larger_applies_more=True,
            keypoints=("open",),
        ),
        DifferenceSpec(
            name="leg spread",
            description="the feet land wider apart",
            query_string="distance between the feet in the open position",
            num_frames="1",
            parameter="spread",
            low=0.3,
            high=0.7,
            negligible=0.05,
            larger_applies_more=True,
            keypoints=("open",),
        ),
        DifferenceSpec(
            name="jump height",
            description="the jumps are higher",
            query_string="how high the feet leave the floor",
            num_frames="1",
            parameter="jump_height",
            low=0.03,
            high=0.15,
            negligible=0.025,
            larger_applies_more=True,
            keypoints=("apex",),
        ),
        DifferenceSpec(
            name="tempo",
            description="the jumping jacks are performed faster",
            query_string="how quickly each repetition is completed",
            num_frames="gt_1",
            parameter="rep_s",
            low=0.6,
            high=1.2,
            negligible=0.1,
            larger_applies_more=False,
            keypoints=("rep_start", "rep_end"),
        ),
    ),
    events=_jack_events,
    scene=_jack_scene,
    yaw=8.0,
)


# --- kick --------------------------------------------------------------------------------

KICK_HOLD_S = 0.1
KICK_FOLLOW_S = 0.25
KICK_RETURN_S = 0.6
BALL_REST_Z = FOOT + BALL_RADIUS
"""At rest the ball touches the toe of the kicking foot."""
BALL_TRAVEL = 0.5
"""Ball speed (body units per second) times the swing time: faster swings kick it faster."""


def _kick_events(p: Parameters) -> dict[str, float]:
    backswing = STILL_S + p["windup_s"]
    swing_start = backswing + KICK_HOLD_S
    contact = swing_start + p["swing_s"]
    follow_through = contact + KICK_FOLLOW_S
    return {
        "windup_start": STILL_S,
        "backswing": backswing,
        "swing_start": swing_start,
        "contact": contact,
        "follow_through": follow_through,
        "end": follow_through + KICK_RETURN_S + STILL_S,
    }


def _kick_thigh_angle(p: Parameters, e: dict[str, float], t: float) -> float:
    """Kicking thigh angle from vertical in degrees, forward positive."""
    if t < e["swing_start"]:
        return -p["backswing"] * _ease(_ramp(t, e["windup_start"], e["backswing"]))
    if t < e["contact"]:  # accelerating through the ball
        return -p["backswing"] * (1 - _ramp(t, e["swing_start"], e["contact"]) ** 2)
    if t < e["follow_through"]:
        return p["follow_through"] * math.sin(math.pi / 2 * _ramp(t, e["contact"], e["follow_through"]))
    returned = _ease(_ramp(t, e["follow_through"], e["follow_through"] + KICK_RETURN_S))
    return p["follow_through"] * (1 - returned)


def _kick_scene(p: Parameters, t: float) -> Scene:
    e = _kick_events(p)
    thigh = _kick_thigh_angle(p, e, t)
    shin = thigh - 1.6 * max(0.0, -thigh)  # the knee folds as the leg draws back
    hip_height = standing_hip_height(0.0)
    knee_z = THIGH * math.sin(math.radians(thigh))
    knee_y = hip_height - THIGH * math.cos(math.radians(thigh))
    kicking_ankle = (
        RIGHT * HIP_HALF_WIDTH,
        knee_y - SHIN * math.cos(math.radians(shin)),
        knee_z + SHIN * math.sin(math.radians(shin)),
    )
    engaged = _ease(_ramp(t, e["windup_start"], e["backswing"])) * (
        1 - _ease(_ramp(t, e["follow_through"], e["follow_through"] + KICK_RETURN_S))
    )
    arms = (_lerp(10.0, p["arm_raise"], engaged), 90.0)
    rolled = max(0.0, t - e["contact"]) * BALL_TRAVEL / p["swing_s"]
    posture = Posture(
        hip_height=hip_height,
        left_ankle=(LEFT * HIP_HALF_WIDTH, ANKLE_HEIGHT, 0.0),
        right_ankle=kicking_ankle,
        lean=-p["lean_back"] * engaged,
        left_arm=arms,
        right_arm=arms,
    )
    return Scene(posture, ball=(RIGHT * HIP_HALF_WIDTH, BALL_RADIUS, BALL_REST_Z + rolled))


KICK = ActionSpec(
    action="synth_kick",
    action_name="kick",
    description=(
        "A person kicks a ball on the ground: draws the kicking leg back, swings it through "
        "the ball, follows through, and returns to standing."
    ),
    split="hard",
    domain="ballsports",
    differences=(
        DifferenceSpec(
            name="backswing",
            description="the kicking leg swings further back before the kick",
            query_string="how far the kicking leg is drawn back",
            num_frames="1",
            parameter="backswing",
            low=20.0,
            high=60.0,
            negligible=5.0,
            larger_applies_more=True,
            keypoints=("backswing",),
        ),
        DifferenceSpec(
            name="kick speed",
            description="the kicking leg swings forward faster",
            query_string="speed of the kicking leg swinging through the ball",
            num_frames="gt_1",
            parameter="swing_s",
            low=0.15,
            high=0.45,
            negligible=0.05,
            larger_applies_more=False,
            keypoints=("swing_start", "contact"),
        ),
        DifferenceSpec(
            name="follow-through height",
            description="the kicking leg rises higher after striking the ball",
            query_string="height of the kicking foot after the kick",
            num_frames="1",
            parameter="follow_through",
            low=45.0,
            high=100.0,
            negligible=8.0,
            larger_applies_more=True,
            keypoints=("follow_through",),
        ),
        DifferenceSpec(
            name="arm balance",
            description="the arms are raised higher out to the sides for balance",
            query_string="height of the arms held out to the sides",
            num_frames="1",
            parameter="arm_raise",
            low=20.0,
            high=90.0,
            negligible=8.0,
            larger_applies_more=True,
            keypoints=("contact",),
        ),
        DifferenceSpec(
            name="torso lean",
            description="the torso leans further back while kicking",
            query_string="how far the upper body leans backwards",
            num_frames="1",
            parameter="lean_back",
            low=0.0,
            high=25.0,
            negligible=4.0,
            larger_applies_more=True,
            keypoints=("contact",),
        ),
    ),
    events=_kick_events,
    scene=_kick_scene,
    yaw=65.0,
    offset=-0.45,
    free_parameters={"windup_s": (0.35, 0.5)},
)

ACTIONS: tuple[ActionSpec, ...] = (SQUAT, JUMPING_JACK, KICK)
"""Every synthetic action, in the order pairs cycle through them."""
