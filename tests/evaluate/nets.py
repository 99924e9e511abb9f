"""Tiny models for the evaluation tests (importable as ``tests.evaluate.nets`` or, with
this folder on ``PYTHONPATH``, as ``nets``: the subprocess tests name them with
``--model nets:TINY``)."""

from __future__ import annotations

from pathlib import Path

import torch

from videocam.models import C3D, ModelConfig

LABELS = Path(__file__).with_name("tiny_labels.txt")
CLASSES = ("dribble", "juggle", "pass", "spin")


def build_tiny(num_classes: int) -> C3D:
    """A C3D with 4 channels per layer and a GAP head; deterministic random weights."""
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(0)
        model = C3D(num_classes=num_classes, widths=(4,) * 8, head="gap", dropout=0.0)
        for module in model.modules():  # He init: outputs that depend on the input
            if isinstance(module, torch.nn.Conv3d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                torch.nn.init.zeros_(module.bias)
        torch.nn.init.normal_(model.fc8.weight, std=3.0)
    finally:
        torch.random.set_rng_state(generator_state)
    return model


TINY = ModelConfig(
    name="tiny_c3d",
    builder=build_tiny,
    target_layers=("conv5b",),
    head="fc8",
    num_classes=len(CLASSES),
    labels=str(LABELS),
    clip_len=8,
    sampling_rate=1,
    crop_size=32,
    resize=36,
    mean=(0.45, 0.45, 0.45),
    std=(0.225, 0.225, 0.225),
    description="tiny C3D for tests",
)

TINY_CONV3 = ModelConfig(
    name="tiny_c3d_conv3",
    builder=build_tiny,
    target_layers=("conv3b",),
    head="fc8",
    num_classes=len(CLASSES),
    labels=str(LABELS),
    clip_len=8,
    sampling_rate=1,
    crop_size=32,
    resize=36,
    mean=(0.45, 0.45, 0.45),
    std=(0.225, 0.225, 0.225),
    description="tiny C3D for tests, explained at conv3b",
)
