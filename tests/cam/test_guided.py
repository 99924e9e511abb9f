"""Guided backpropagation and Guided Grad-CAM++ against a hand-written reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import videocam

from .nets import TinyNet, seeded


class ReluVariants(TinyNet):
    """TinyNet whose ReLUs are called in a chosen way."""

    def __init__(self, how: str):
        super().__init__(classes=4, inplace=how == "module_inplace")
        self.how = how

    def act(self, x, module):
        if self.how.startswith("module"):
            return module(x)
        if self.how == "functional":
            return F.relu(x)
        if self.how == "torch":
            return torch.relu(x)
        if self.how == "method":
            return x.relu()
        if self.how == "inplace_statement":  # the in-place side effect, return value ignored
            x.relu_()
            return x
        raise AssertionError(self.how)

    def forward(self, x):
        x = self.act(self.conv2(self.act(self.conv1(x), self.relu1)), self.relu2)
        return self.fc(x.flatten(2).mean(2))


def hand_guided_backprop(net: TinyNet, x: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
    """Guided backprop written out: forward, then the backward by hand, layer by layer."""
    with torch.no_grad():
        h1 = net.conv1(x)
        a1 = h1.clamp_min(0)
        h2 = net.conv2(a1)
        z = h2[0, 0].numel()
        grad_a2 = net.fc.weight[cls][:, :, None, None, None].expand_as(h2) / z
        grad_h2 = grad_a2.clamp_min(0) * (h2 > 0)
        grad_a1 = torch.nn.grad.conv3d_input(a1.shape, net.conv2.weight, grad_h2, padding=1)
        grad_h1 = grad_a1.clamp_min(0) * (h1 > 0)
        return torch.nn.grad.conv3d_input(x.shape, net.conv1.weight, grad_h1, padding=1)


@pytest.mark.parametrize(
    "how", ["module", "module_inplace", "functional", "torch", "method", "inplace_statement"]
)
def test_guided_backprop_equals_hand_written_reference(how):
    net = seeded(ReluVariants(how), seed=11)
    x = torch.randn(3, 3, 4, 6, 6)
    out = videocam.GuidedBackprop(net)(x, top_k=2)
    assert out.gradients.shape == (3, 2, 3, 4, 6, 6)
    for k in range(2):
        expected = hand_guided_backprop(net, x, out.classes[:, k])
        torch.testing.assert_close(out.gradients[:, k], expected, rtol=1e-4, atol=1e-6)
    assert out.gradients[1].abs().sum() > 0  # batch item 1 is not zeros
    assert out.gradients[2].abs().sum() > 0
    # guided differs from the plain input gradient (it drops negative gradients)
    x_req = x.clone().requires_grad_(True)
    (plain,) = torch.autograd.grad(net(x_req).gather(1, out.classes[:, :1]).sum(), x_req)
    assert not torch.allclose(plain, out.gradients[:, 0], atol=1e-6)


def test_guided_backprop_without_relu_modules_is_the_plain_gradient():
    net = nn.Sequential(
        nn.Conv3d(3, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 2 * 4 * 4, 3)
    ).eval()
    x = torch.randn(2, 3, 2, 4, 4)
    out = videocam.GuidedBackprop(net)(x, target=1)
    x_req = x.clone().requires_grad_(True)
    (plain,) = torch.autograd.grad(net(x_req)[:, 1].sum(), x_req)
    torch.testing.assert_close(out.gradients[:, 0], plain)


def test_guided_gradcampp_is_guided_backprop_times_gradcampp():
    net = seeded(TinyNet(classes=4), seed=12)
    x = torch.randn(2, 3, 4, 6, 6)
    out = videocam.GuidedGradCAMPlusPlus(net, "relu2")(x, top_k=2)
    gb = videocam.GuidedBackprop(net)(x, top_k=2)
    cam = videocam.GradCAMPlusPlus(net, "relu2")(x, top_k=2)
    torch.testing.assert_close(out.gradients, gb.gradients)
    torch.testing.assert_close(out.cam_maps, cam.maps)
    torch.testing.assert_close(out.raw, cam.raw)
    torch.testing.assert_close(out.guided, gb.gradients * cam.maps.unsqueeze(2))
    expected = videocam.cam.weights.normalize(out.guided.abs().amax(2))
    torch.testing.assert_close(out.maps, expected)


def test_guided_gradcampp_does_not_leak_guidance_into_the_cam_part():
    # the head has a ReLU above the target layer: the CAM gradient must be the ordinary one
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(3, 4, 3, padding=1)
            self.mix = nn.Linear(4, 6)
            self.fc = nn.Linear(6, 3)

        def forward(self, x):
            a = torch.relu(self.conv(x))
            return self.fc(torch.relu(self.mix(a.flatten(2).mean(2))))

    torch.manual_seed(3)
    net = Head().eval()
    x = torch.randn(2, 3, 2, 5, 5)
    out = videocam.GuidedGradCAMPlusPlus(net, "conv")(x, target=0)
    cam = videocam.GradCAMPlusPlus(net, "conv")(x, target=0)
    torch.testing.assert_close(out.raw, cam.raw)


def test_guided_warns_about_other_activations():
    net = nn.Sequential(nn.Conv3d(3, 2, 1), nn.SiLU(), nn.Flatten(), nn.Linear(2 * 8, 2)).eval()
    with pytest.warns(UserWarning, match="SiLU"):
        videocam.GuidedBackprop(net)(torch.randn(1, 3, 2, 2, 2))


def test_guided_backprop_on_images():
    net = seeded(TinyNet(dims=2, classes=3), seed=1)
    out = videocam.GuidedBackprop(net)(torch.randn(2, 3, 8, 8))
    assert out.gradients.shape == (2, 1, 3, 8, 8) and out.maps.shape == (2, 1, 8, 8)
