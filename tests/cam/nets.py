"""Tiny deterministic networks for engine tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TinyNet(nn.Module):
    """conv -> relu -> conv -> relu -> GAP -> linear, for clips (dims=3) or images (dims=2)."""

    def __init__(self, dims: int = 3, classes: int = 5, width: int = 4, inplace: bool = True):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.conv1 = conv(3, width, 3, padding=1)
        self.relu1 = nn.ReLU(inplace=inplace)
        self.conv2 = conv(width, 6, 3, padding=1)
        self.relu2 = nn.ReLU(inplace=inplace)
        self.fc = nn.Linear(6, classes)

    def forward(self, x):
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc(x.flatten(2).mean(2))


class Block(nn.Module):
    def __init__(self, cin, cout, dims=3):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.conv = conv(cin, cout, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x))


class PiecewiseLinearNet(nn.Module):
    """A block whose output is the target, then a non-GAP piecewise-linear head
    (conv, relu, max-pool, flatten, linear, relu, linear)."""

    def __init__(self, classes: int = 4, size=(2, 4, 4)):
        super().__init__()
        self.stem = Block(3, 3)
        self.block = Block(3, 3)
        self.head_conv = nn.Conv3d(3, 4, 1)
        self.pool = nn.MaxPool3d((1, 2, 2))
        t, h, w = size
        self.fc1 = nn.Linear(4 * t * (h // 2) * (w // 2), 8)
        self.fc2 = nn.Linear(8, classes)

    def head(self, a):
        x = self.pool(F.relu(self.head_conv(a))).flatten(1)
        return self.fc2(F.relu(self.fc1(x)))

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


def seeded(module: nn.Module, seed: int = 0, dtype=torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    for p in module.parameters():
        nn.init.normal_(p, std=0.5)
    return module.to(dtype).eval()
