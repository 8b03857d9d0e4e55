"""The declared dependencies install and import together (torchvision must match torch)."""

import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["torch", "torchvision", "open_clip", "dspy", "av", "datasets", "google.genai", "openai", "scipy"]
)
def test_dependency_imports(module):
    assert importlib.import_module(module) is not None


def test_torchvision_ops_registered_with_torch():
    # The registry's torchvision fails on a mismatched torch with "operator torchvision::nms does not exist".
    import torch
    import torchvision

    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    assert torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0]


def test_dspy_is_the_pinned_version():
    import dspy

    assert dspy.__version__ == "3.4.1"
