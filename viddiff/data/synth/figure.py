"""The stick figure: body proportions, posture -> 3-D joint positions, and drawing one frame.

Coordinates are in body units (standing height is about 1): x points to the figure's left,
y up, z forward (the way the figure faces); the origin is on the floor below the pelvis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
from PIL import Image, ImageDraw

ANKLE_HEIGHT = 0.04
THIGH = 0.245
SHIN = 0.245
LEG = THIGH + SHIN
HIP_HALF_WIDTH = 0.07
TORSO = 0.30
SHOULDER_HALF_WIDTH = 0.10
UPPER_ARM = 0.16
FOREARM = 0.16
NECK = 0.05
HEAD_RADIUS = 0.065
FOOT = 0.07
LIMB_WIDTH = 0.045
BALL_RADIUS = 0.065

FRAME_WIDTH, FRAME_HEIGHT = 160, 120
FLOOR_ROW = 108
SUPERSAMPLE = 2
"""Frames are drawn at this multiple of the frame size and box-filtered down (smooth motion)."""

Vec = tuple[float, float, float]

LEFT, RIGHT = 1.0, -1.0

# Every view turns the figure's right side towards the camera, so the left limbs are the far ones.
FAR_SIDE = "l_"
SEGMENTS = (
    ("l_toe", "l_ankle"), ("l_ankle", "l_knee"), ("l_knee", "l_hip"),
    ("r_toe", "r_ankle"), ("r_ankle", "r_knee"), ("r_knee", "r_hip"),
    ("l_hip", "r_hip"), ("pelvis", "neck"), ("l_shoulder", "r_shoulder"), ("neck", "head"),
    ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"),
    ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist"),
)  # fmt: skip


@dataclass(frozen=True)
class Posture:
    """The figure's degrees of freedom; the legs are solved from where the ankles are."""

    hip_height: float
    """Height of the pelvis above the floor."""
    left_ankle: Vec
    right_ankle: Vec
    lean: float = 0.0
    """Torso pitch in degrees: positive leans forward, negative back."""
    left_arm: tuple[float, float] = (8.0, 90.0)
    """(elevation from hanging straight down, azimuth: 0 = forward, 90 = out to the side), degrees."""
    right_arm: tuple[float, float] = (8.0, 90.0)
    knee_out: float = 0.0
    """How far bent knees turn outwards (0 = straight forward)."""


@dataclass(frozen=True)
class Scene:
    """What one frame shows: the figure and, for some actions, a ball (centre position)."""

    posture: Posture
    ball: Vec | None = None


@dataclass(frozen=True)
class Style:
    """How one video draws its scenes: the camera and the per-video nuisance."""

    yaw: float
    """Camera angle in degrees: 0 = facing the figure, 90 = seeing its right side."""
    scale: float
    """Pixels per body unit."""
    offset: float
    """Horizontal shift of the figure from the frame centre, in body units."""
    color: tuple[int, int, int]
    background: int
    """Grey level of the wall."""


def standing_hip_height(ankle_offset: float) -> float:
    """Pelvis height when the ankles stand `ankle_offset` sideways from the hip joints."""
    return ANKLE_HEIGHT + 0.995 * math.sqrt(LEG**2 - ankle_offset**2)


def joint_positions(posture: Posture) -> dict[str, np.ndarray]:
    """3-D position of every joint (and the head centre) for a posture."""
    pelvis = np.array([0.0, posture.hip_height, 0.0])
    lean = math.radians(posture.lean)
    up = np.array([0.0, math.cos(lean), math.sin(lean)])
    neck = pelvis + TORSO * up
    joints = {"pelvis": pelvis, "neck": neck, "head": neck + (NECK + HEAD_RADIUS) * up}
    legs = (("l_", LEFT, posture.left_ankle), ("r_", RIGHT, posture.right_ankle))
    for prefix, side, ankle in legs:
        hip = pelvis + np.array([side * HIP_HALF_WIDTH, 0.0, 0.0])
        knee, ankle_at = _solve_leg(hip, np.array(ankle, dtype=float), side, posture.knee_out)
        joints |= {prefix + "hip": hip, prefix + "knee": knee, prefix + "ankle": ankle_at}
        joints[prefix + "toe"] = ankle_at + FOOT * _foot_direction(knee, ankle_at)
    arms = (("l_", LEFT, posture.left_arm), ("r_", RIGHT, posture.right_arm))
    for prefix, side, (elevation, azimuth) in arms:
        shoulder = neck + np.array([side * SHOULDER_HALF_WIDTH, 0.0, 0.0])
        direction = _arm_direction(side, elevation, azimuth)
        elbow = shoulder + UPPER_ARM * direction
        joints |= {
            prefix + "shoulder": shoulder,
            prefix + "elbow": elbow,
            prefix + "wrist": elbow + FOREARM * direction,
        }
    return joints


def _solve_leg(hip: np.ndarray, ankle: np.ndarray, side: float, knee_out: float):
    """Knee and ankle for an ankle target; an out-of-reach target gets a straight leg towards it."""
    reach = ankle - hip
    distance = float(np.linalg.norm(reach))
    axis = reach / distance
    if distance >= LEG:
        return hip + THIGH * axis, hip + LEG * axis
    # The knee bends to the front of the hip-ankle line: that line turned 90 degrees in the
    # figure's side plane (down -> forward, forward-up -> back-up), splayed by knee_out.
    bend = np.array([side * knee_out, axis[2], -axis[1]])
    bend -= bend.dot(axis) * axis
    bend /= np.linalg.norm(bend)
    along = (THIGH**2 - SHIN**2 + distance**2) / (2 * distance)
    return hip + along * axis + math.sqrt(max(THIGH**2 - along**2, 0.0)) * bend, ankle


def _foot_direction(knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """Flat and forward on the floor; in the air, at a right angle to the shin."""
    if ankle[1] <= ANKLE_HEIGHT + 1e-3:
        return np.array([0.0, 0.0, 1.0])
    shin = (ankle - knee) / np.linalg.norm(ankle - knee)
    toe = np.array([0.0, shin[2], -shin[1]])
    return toe / np.linalg.norm(toe)


def _arm_direction(side: float, elevation: float, azimuth: float) -> np.ndarray:
    e, a = math.radians(elevation), math.radians(azimuth)
    return np.array([side * math.sin(e) * math.sin(a), -math.cos(e), math.sin(e) * math.cos(a)])


def render(scene: Scene, style: Style) -> np.ndarray:
    """Draw one frame: FRAME_HEIGHT x FRAME_WIDTH x 3 uint8 RGB."""
    k = SUPERSAMPLE
    width, height, floor = FRAME_WIDTH * k, FRAME_HEIGHT * k, FLOOR_ROW * k
    image = Image.new("RGB", (width, height), (style.background,) * 3)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, floor, width, height), fill=(style.background - 35,) * 3)
    draw.line(((0, floor), (width, floor)), fill=(90, 90, 90), width=k)

    yaw = math.radians(style.yaw)
    right = np.array([math.cos(yaw), 0.0, math.sin(yaw)])
    toward_camera = np.array([-math.sin(yaw), 0.0, math.cos(yaw)])
    pixels_per_unit = style.scale * k

    def to_pixel(point: np.ndarray) -> tuple[float, float]:
        u = width / 2 + pixels_per_unit * (style.offset + point.dot(right))
        return u, floor - pixels_per_unit * point[1]

    near = style.color
    far = tuple(round(0.62 * c) for c in style.color)
    limb = max(2, round(LIMB_WIDTH * pixels_per_unit))
    joints = joint_positions(scene.posture)
    shapes = []  # (distance towards the camera, draw call): drawn far to near
    for a, b in SEGMENTS:
        color = far if a.startswith(FAR_SIDE) and b.startswith(FAR_SIDE) else near
        ends = (to_pixel(joints[a]), to_pixel(joints[b]))
        depth = float((joints[a] + joints[b]).dot(toward_camera)) / 2
        shapes.append((depth, partial(_thick_line, ends=ends, color=color, width=limb)))
    head_radius = HEAD_RADIUS * pixels_per_unit
    head = partial(_disc, centre=to_pixel(joints["head"]), radius=head_radius, fill=near)
    shapes.append((float(joints["head"].dot(toward_camera)), head))
    if scene.ball is not None:
        ball = np.array(scene.ball)
        radius = BALL_RADIUS * pixels_per_unit
        disc = partial(_disc, centre=to_pixel(ball), radius=radius, fill=(250,) * 3, outline=(60,) * 3)
        shapes.append((float(ball.dot(toward_camera)), disc))
    for _, draw_shape in sorted(shapes, key=lambda shape: shape[0]):
        draw_shape(draw)
    return np.asarray(image.resize((FRAME_WIDTH, FRAME_HEIGHT), Image.Resampling.BOX))


def _thick_line(draw: ImageDraw.ImageDraw, ends, color, width: int) -> None:
    draw.line(ends, fill=color, width=width)
    for x, y in ends:  # round caps, so joints look continuous
        r = width / 2
        draw.ellipse((x - r, y - r, x + r, y + r), fill=color)


def _disc(draw: ImageDraw.ImageDraw, centre, radius: float, fill, outline=None) -> None:
    x, y = centre
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill, outline=outline, width=2)
