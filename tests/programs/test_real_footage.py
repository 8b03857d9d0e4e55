"""The whole program on real camera footage: the VidDiff demo pair (ball sports, Ego-Exo4D)."""

import dspy
import pytest

from tests.conftest import TINY_CLIP
from tests.data.test_real_clip import CLIP, LEFT, RIGHT
from tests.lm.viddiff_roles import scripted_engine
from viddiff.data.records import Difference
from viddiff.data.video import read_frames, sampling_fps
from viddiff.programs import VidDiff, encode_frames
from viddiff.programs.images import ImageEncoding
from viddiff.clip import ClipEmbedder
from viddiff.config import ClipConfig
from viddiff.retrieval import FrameLocalizer

pytestmark = [
    pytest.mark.real_footage,
    pytest.mark.skipif(not CLIP.exists(), reason=f"real footage fixture not found at {CLIP}"),
]


def test_closed_set_on_the_real_pair(tiny_clip_checkpoint):
    fps = sampling_fps("ballsports")
    # The first 20 s: the title card near the end is not part of the action.
    videos = tuple(read_frames(CLIP, fps, trim=(0, 480), size=384, crop=crop) for crop in (LEFT, RIGHT))
    differences = {
        "0": Difference("0", "run-up speed", "the run-up to the ball is faster", "speed of the approach", "gt_1"),
        "1": Difference("1", "plant foot", "the plant foot is closer to the ball", "plant foot position", "1"),
    }
    clip = ClipEmbedder(ClipConfig(model=TINY_CLIP, pretrained=str(tiny_clip_checkpoint), device="cpu"))
    program = VidDiff(FrameLocalizer("viterbi", embedder=clip), images=ImageEncoding(size=256))
    engine = scripted_engine()
    with dspy.context(lm=engine.lm(), adapter=dspy.ChatAdapter()):
        result = program(videos=videos, action_description="a soccer penalty kick", differences=differences)

    assert len(videos[0]) == len(videos[1]) == 100  # 20 s at 5 fps
    assert all(len(loc.segments) == 3 and loc.segments[-1][1] == 100 for loc in result.localizations)
    by_key = {p.key: p for p in result.predictions}
    assert len(by_key["0"].frames_a) == 3 and len(by_key["1"].frames_b) == 1
    # Three frames spaced round(0.35 s x 5 fps) = 2 sampled frames apart: 0.4 s, on the clip's 24 fps grid.
    times = by_key["0"].times_a
    assert all(abs((b - a) - 0.4) < 1 / 24 for a, b in zip(times, times[1:]))
    call = next(c for c in engine.calls if "answer" in c.output_fields and "run-up" in c.last_user_text)
    expected = [
        image.url
        for w, chosen in ((0, by_key["0"].frames_a), (1, by_key["0"].frames_b))
        for image in encode_frames(videos[w].images, chosen, size=256, quality=85)
    ]
    assert list(call.image_urls) == expected  # real frames of A, then of B, as encoded JPEGs
