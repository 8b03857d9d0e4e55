"""The single-call baselines: both videos in one call, as sampled frames (the paper's GPT-4o and
Claude rows) or as two video clips (its Gemini row)."""

from typing import Literal

import dspy

from viddiff.signatures.types import StatedDifference, Video


class DecideDifferencesFromFrames(dspy.Signature):
    """Two people perform the same action. You see the sampled frames of video A, in time
    order, then those of video B; the text before each video's frames says how many there are
    and when each was taken. For every difference statement, decide whether it applies more to
    video A or to video B, judging only from what the frames show. Answer every key given, and
    no other key."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    video_a: str = dspy.InputField(desc="how many frames of video A follow, their sampling rate and the time of each")
    frames_a: list[dspy.Image] = dspy.InputField(desc="the frames of video A, in time order")
    video_b: str = dspy.InputField(desc="how many frames of video B follow, their sampling rate and the time of each")
    frames_b: list[dspy.Image] = dspy.InputField(desc="the frames of video B, in time order")
    differences: dict[str, str] = dspy.InputField(desc="key -> a statement that applies more to one video than to the other")
    answers: dict[str, Literal["a", "b"]] = dspy.OutputField(
        desc="every key of the differences -> 'a' if its statement applies more to video A, 'b' if more to video B"
    )


class FindDifferencesFromFrames(dspy.Signature):
    """Two people perform the same action. You see the sampled frames of video A, in time
    order, then those of video B; the text before each video's frames says how many there are
    and when each was taken. List the differences in how the two perform the action, at most
    the number asked for, most important first. Each is a visual statement about how the action
    is performed that applies more to one video than to the other, phrased without naming a
    video (say 'the jump is higher', not 'the jump in video B is higher'), with 'a' or 'b' for
    the video it applies more to."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    video_a: str = dspy.InputField(desc="how many frames of video A follow, their sampling rate and the time of each")
    frames_a: list[dspy.Image] = dspy.InputField(desc="the frames of video A, in time order")
    video_b: str = dspy.InputField(desc="how many frames of video B follow, their sampling rate and the time of each")
    frames_b: list[dspy.Image] = dspy.InputField(desc="the frames of video B, in time order")
    n_differences: int = dspy.InputField(desc="the most differences to list")
    differences: list[StatedDifference] = dspy.OutputField(desc="the differences, most important first")


class DecideDifferencesFromVideos(dspy.Signature):
    """Two people perform the same action. You see video A, then video B; the text before each
    video says how long it is and its frame rate. For every difference statement, decide whether
    it applies more to video A or to video B, judging only from what the videos show. Answer
    every key given, and no other key."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    video_a: str = dspy.InputField(desc="the length and frame rate of video A")
    clip_a: Video = dspy.InputField(desc="video A")
    video_b: str = dspy.InputField(desc="the length and frame rate of video B")
    clip_b: Video = dspy.InputField(desc="video B")
    differences: dict[str, str] = dspy.InputField(desc="key -> a statement that applies more to one video than to the other")
    answers: dict[str, Literal["a", "b"]] = dspy.OutputField(
        desc="every key of the differences -> 'a' if its statement applies more to video A, 'b' if more to video B"
    )


class FindDifferencesFromVideos(dspy.Signature):
    """Two people perform the same action. You see video A, then video B; the text before each
    video says how long it is and its frame rate. List the differences in how the two perform
    the action, at most the number asked for, most important first. Each is a visual statement
    about how the action is performed that applies more to one video than to the other, phrased
    without naming a video (say 'the jump is higher', not 'the jump in video B is higher'), with
    'a' or 'b' for the video it applies more to."""

    action_description: str = dspy.InputField(desc="the action both videos show")
    video_a: str = dspy.InputField(desc="the length and frame rate of video A")
    clip_a: Video = dspy.InputField(desc="video A")
    video_b: str = dspy.InputField(desc="the length and frame rate of video B")
    clip_b: Video = dspy.InputField(desc="video B")
    n_differences: int = dspy.InputField(desc="the most differences to list")
    differences: list[StatedDifference] = dspy.OutputField(desc="the differences, most important first")
