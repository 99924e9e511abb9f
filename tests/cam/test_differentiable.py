"""Differentiable maps (create_graph=True) for explanation-guided training."""

from __future__ import annotations

import pytest
import torch

import videocam
from videocam.errors import TargetError

from .nets import PiecewiseLinearNet, TinyNet, seeded


@pytest.mark.parametrize("method", [videocam.GradCAM, videocam.GradCAMPlusPlus])
def test_differentiable_map_equals_the_plain_map(method):
    net = seeded(TinyNet(classes=4), seed=2)
    x = torch.rand(2, 3, 4, 6, 6)
    plain = method(net, "relu2")(x, top_k=2)
    diff = method(net, "relu2")(x, top_k=2, create_graph=True)
    assert diff.raw.requires_grad and diff.maps.requires_grad and diff.logits.requires_grad
    torch.testing.assert_close(diff.raw.detach(), plain.raw)
    torch.testing.assert_close(diff.maps.detach(), plain.maps)


@pytest.mark.parametrize("method", [videocam.GradCAM, videocam.GradCAMPlusPlus])
def test_gradient_wrt_parameters_matches_finite_differences(method):
    net = seeded(PiecewiseLinearNet(classes=3, size=(2, 4, 4)), seed=5, dtype=torch.float64)
    x = torch.rand(2, 3, 2, 4, 4, dtype=torch.float64)
    weights = torch.rand(2, 1, 2, 4, 4, dtype=torch.float64)
    cam = method(net, "block")

    def loss() -> torch.Tensor:
        return (cam(x, target=[0, 2], create_graph=True).raw * weights).sum()

    params = dict(net.named_parameters())
    grads = torch.autograd.grad(loss(), list(params.values()), allow_unused=True)
    checked = 0
    gen = torch.Generator().manual_seed(0)
    for (name, param), grad in zip(params.items(), grads, strict=True):
        for flat_index in torch.randint(0, param.numel(), (3,), generator=gen).tolist():
            eps = 1e-6
            with torch.no_grad():
                original = param.view(-1)[flat_index].item()
                param.view(-1)[flat_index] = original + eps
                up = loss().item()
                param.view(-1)[flat_index] = original - eps
                down = loss().item()
                param.view(-1)[flat_index] = original
            numeric = (up - down) / (2 * eps)
            analytic = 0.0 if grad is None else grad.reshape(-1)[flat_index].item()
            assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-7), name
            checked += 1
    assert checked == 3 * len(params)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_differentiable_call_leaves_flags_and_hooks_and_no_param_grads():
    net = seeded(TinyNet(classes=4), seed=1)
    net.conv1.weight.requires_grad_(False)
    out = videocam.GradCAMPlusPlus(net, "relu2")(torch.rand(1, 3, 4, 6, 6), create_graph=True)
    assert [p.requires_grad for p in net.parameters()] == [False] + [True] * 5
    assert all(not m._forward_hooks for m in net.modules())
    assert all(p.grad is None for p in net.parameters())
    out.raw.sum().backward()  # the user's loss trains the model
    assert net.conv2.weight.grad is not None and net.conv1.weight.grad is None


def test_methods_without_differentiable_maps_say_so():
    net = seeded(TinyNet(classes=4), seed=1)
    x = torch.rand(1, 3, 4, 6, 6)
    for explainer in (
        videocam.CAM(net, "relu2"),
        videocam.GuidedBackprop(net),
        videocam.GuidedGradCAMPlusPlus(net, "relu2"),
        videocam.GradCAMPlusPlus(net, "relu2", alpha="exact"),
    ):
        with pytest.raises(TargetError, match="differentiable"):
            explainer(x, create_graph=True)
