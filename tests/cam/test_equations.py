"""The engine against the equations: brute-force autograd, hand-computed values, invariants."""

from __future__ import annotations

import pytest
import torch

import videocam
from videocam.cam import weights as W

from .nets import PiecewiseLinearNet, TinyNet, seeded


def _brute_force_gradcampp(head, act, cls, score):
    """Paper eq. 10 by autograd: per-position 2nd and 3rd derivatives of Y = score(S)."""
    act = act.detach().clone().requires_grad_(True)
    y = score(head(act)[0], cls)
    (d1,) = torch.autograd.grad(y, act, create_graph=True)
    flat_d1 = d1.flatten()
    d2 = torch.zeros_like(flat_d1)
    d3 = torch.zeros_like(flat_d1)
    for p in range(flat_d1.numel()):
        (row,) = torch.autograd.grad(flat_d1[p], act, create_graph=True)
        d2_p = row.flatten()[p]
        d2[p] = d2_p.detach()
        if d2_p.requires_grad:
            (row3,) = torch.autograd.grad(d2_p, act, retain_graph=True)
            d3[p] = row3.flatten()[p]
    d1, d2, d3 = d1.detach(), d2.view_as(act), d3.view_as(act)
    a = act.detach()
    act_sum = a.flatten(2).sum(2)[..., None, None, None]
    denom = 2 * d2 + act_sum * d3
    alpha = torch.where(denom != 0, d2 / torch.where(denom != 0, denom, 1), 0)
    w = (alpha * d1.clamp_min(0)).flatten(2).sum(2)  # (1, C)
    return torch.relu((w[..., None, None, None] * a).sum(1))  # (1, T, H, W)


@pytest.fixture(scope="module")
def pl_net():
    torch.manual_seed(0)
    net = seeded(PiecewiseLinearNet(classes=4, size=(2, 4, 4)), seed=3, dtype=torch.float64)
    x = torch.rand(1, 3, 2, 4, 4, dtype=torch.float64)
    return net, x


def _block_activation(net, x):
    return net.block(net.stem(x)).detach()


@pytest.mark.parametrize("cls", [0, 3])
def test_closed_form_eq19_equals_autograd_eq10_with_exp_score(pl_net, cls):
    net, x = pl_net
    expected = _brute_force_gradcampp(
        net.head, _block_activation(net, x), cls, lambda s, c: s[c].exp()
    )
    with videocam.GradCAMPlusPlus(net, "block") as cam:
        out = cam(x, target=cls)
    assert out.raw.dtype == torch.float64
    assert expected.abs().max() > 0  # the test has something to compare
    # eq. 19 drops the common factor exp(S^c) of dY/dA (it cancels inside alpha)
    scale = net(x)[0, cls].exp()
    torch.testing.assert_close(out.raw[:, 0] * scale, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cls", [0, 2])
def test_exact_alpha_softmax_matches_brute_force_autograd(pl_net, cls):
    net, x = pl_net
    act = _block_activation(net, x)
    expected = _brute_force_gradcampp(net.head, act, cls, lambda s, c: s.softmax(-1)[c])
    with videocam.GradCAMPlusPlus(net, "block", alpha="exact", score="softmax") as cam:
        out = cam(x, target=cls)
    assert expected.abs().max() > 0
    torch.testing.assert_close(out.raw[:, 0], expected, rtol=1e-8, atol=1e-12)
    # and it differs from the closed form (the softmax couples the classes)
    closed = videocam.GradCAMPlusPlus(net, "block")(x, target=cls).raw
    assert not torch.allclose(W.normalize(closed), W.normalize(out.raw), atol=1e-3)


def test_exact_alpha_with_exp_score_equals_closed_form(pl_net):
    net, x = pl_net
    exact = videocam.GradCAMPlusPlus(net, "block", alpha="exact", score="exp")(x, target=1).raw
    closed = videocam.GradCAMPlusPlus(net, "block")(x, target=1).raw
    # exp(S) rescales every weight by the same factor: equal after normalisation
    torch.testing.assert_close(W.normalize(exact), W.normalize(closed), rtol=1e-9, atol=1e-12)
    scale = exact.sum() / closed.sum()
    torch.testing.assert_close(exact, closed * scale, rtol=1e-9, atol=1e-12)
    logits = net(x)[0]
    torch.testing.assert_close(scale, logits[1].exp(), rtol=1e-9, atol=0)


def test_alpha_one_over_z_gives_gradcam_for_positive_gradients():
    net = seeded(TinyNet(classes=3), seed=1)
    with torch.no_grad():
        net.fc.weight.abs_()  # GAP + linear with positive weights: every gradient is > 0
    x = torch.rand(2, 3, 4, 8, 8)
    uniform = videocam.GradCAMPlusPlus(
        net, "relu2", alpha=lambda a, g: torch.full_like(g, 1.0 / a[0, 0].numel())
    )(x, top_k=2)
    gradcam = videocam.GradCAM(net, "relu2")(x, top_k=2)
    assert gradcam.raw.abs().max() > 0
    torch.testing.assert_close(uniform.raw, gradcam.raw)
    torch.testing.assert_close(uniform.maps, gradcam.maps)


def test_alpha_one_over_z_is_mean_positive_gradient_in_general():
    torch.manual_seed(0)
    acts = torch.rand(2, 5, 3, 4, 4)
    grads = torch.randn(3, 2, 5, 3, 4, 4)
    z = 3 * 4 * 4
    w = W.gradcampp_weights(acts, grads, alpha=torch.full_like(grads, 1 / z))
    torch.testing.assert_close(w, W.gradcam_weights(grads.clamp_min(0)))


def test_closed_form_alpha_hand_computed():
    acts = torch.tensor([[[[[1.0, 3.0]]]]])  # (B=1, C=1, 1, 1, 2), sum A = 4
    grads = torch.tensor([[[[[[0.5, -2.0]]]]]])  # (K=1, ...)
    alpha = W.gradcampp_alpha(acts, grads)
    # p0: 0.25 / (0.5 + 4 * 0.125) = 0.25;  p1: 4 / (8 + 4 * -8) = -1/6
    torch.testing.assert_close(alpha.flatten(), torch.tensor([0.25, -1 / 6]))
    w = W.gradcampp_weights(acts, grads)
    torch.testing.assert_close(w.flatten(), torch.tensor([0.25 * 0.5]))  # relu kills p1


def test_zero_denominator_gives_zero_alpha():
    acts = torch.zeros(1, 2, 1, 2, 2)
    grads = torch.zeros(1, 1, 2, 1, 2, 2)
    assert torch.equal(W.gradcampp_alpha(acts, grads), torch.zeros_like(grads))


def test_cam_equals_gradcam_up_to_positive_factor():
    net = seeded(TinyNet(classes=4), seed=2)
    x = torch.rand(3, 3, 4, 8, 8)
    cam = videocam.CAM(net, "relu2")(x, top_k=2)
    grad = videocam.GradCAM(net, "relu2")(x, top_k=2)
    assert torch.equal(cam.classes, grad.classes)
    z = 4 * 8 * 8
    torch.testing.assert_close(cam.raw, grad.raw * z, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(cam.maps, grad.maps, rtol=1e-4, atol=1e-5)


def test_cam_rejects_a_head_that_is_not_gap_linear(pl_net):
    net, x = pl_net
    with pytest.raises(videocam.errors.CAMNotApplicableError, match="global.average"):
        videocam.CAM(net, "block")(x)
    # a linear layer of the right size exists, but the pooling is max, not mean
    max_head = seeded(TinyNet(classes=3), seed=5)
    max_head.forward = lambda v: max_head.fc(
        max_head.relu2(max_head.conv2(max_head.relu1(max_head.conv1(v)))).flatten(2).amax(2)
    )
    with pytest.raises(videocam.errors.CAMNotApplicableError, match="fc\\(mean\\(A\\)\\)"):
        videocam.CAM(max_head, "relu2")(torch.rand(2, 3, 4, 8, 8))


def test_per_step_weights_hand_computed():
    net = seeded(TinyNet(classes=3), seed=4)
    x = torch.rand(1, 3, 4, 6, 6)
    out = videocam.GradCAM(net, "relu2", weights="per_step")(x, target=1)
    # by hand: A (1, 6, 4, 6, 6); g = W[1, k] / Z everywhere (GAP + linear head)
    act = net.relu2(net.conv2(net.relu1(net.conv1(x)))).detach()
    g = net.fc.weight[1].detach() / act[0, 0].numel()
    expected = torch.relu(torch.einsum("c,cthw->thw", g, act[0]))
    torch.testing.assert_close(out.raw[0, 0], expected)
    # with a non-uniform gradient, per-step differs from global weights
    pl = seeded(PiecewiseLinearNet(classes=4, size=(2, 4, 4)), seed=3)
    xx = torch.rand(1, 3, 2, 4, 4)
    per_step = videocam.GradCAM(pl, "block", weights="per_step")(xx, target=0)
    act = pl.block(pl.stem(xx)).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(pl.head(act)[0, 0], act)
    w_t = g[0].mean(dim=(2, 3))  # (C, T)
    expected = torch.relu(torch.einsum("ct,cthw->thw", w_t, act[0].detach()))
    torch.testing.assert_close(per_step.raw[0, 0], expected)


def test_gradcam_hand_computed_on_piecewise_linear_head(pl_net):
    net, x = pl_net
    act = _block_activation(net, x).requires_grad_(True)
    (g,) = torch.autograd.grad(net.head(act)[0, 2], act)
    expected = torch.relu(torch.einsum("c,cthw->thw", g[0].mean(dim=(1, 2, 3)), act[0].detach()))
    out = videocam.GradCAM(net, "block")(x, target=2)
    torch.testing.assert_close(out.raw[0, 0], expected, rtol=1e-10, atol=1e-12)


def test_maps_are_upsampled_trilinearly_and_normalised():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv3d(3, 4, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool3d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    ).eval()
    out = videocam.GradCAMPlusPlus(net, "1")(torch.rand(2, 3, 8, 12, 16), top_k=2)
    assert out.raw.shape == (2, 2, 4, 6, 8)
    assert out.maps.shape == (2, 2, 8, 12, 16) and out.maps.dtype == torch.float32
    assert out.maps.min() >= 0 and out.maps.max() <= 1
    raw_up = torch.nn.functional.interpolate(
        out.raw.flatten(0, 1)[:, None], size=(8, 12, 16), mode="trilinear"
    ).view(2, 2, 8, 12, 16)
    torch.testing.assert_close(out.maps, W.normalize(raw_up))
    flat = out.maps.flatten(2)
    assert torch.allclose(flat.amax(2)[flat.amax(2) > 0], torch.tensor(1.0))


def test_normalize_degenerate_maps():
    maps = torch.stack(
        [torch.zeros(2, 3), torch.full((2, 3), 0.7), torch.tensor([[0, 1, 2], [3, 4, 5.0]])]
    )
    out = W.normalize(maps.unsqueeze(0))[0]
    assert torch.equal(out[0], torch.zeros(2, 3))  # all-zero stays zero
    assert torch.equal(out[1], torch.ones(2, 3))  # uniform importance
    torch.testing.assert_close(out[2], maps[2] / 5)
    bad = torch.tensor([[[float("nan"), float("inf"), 1.0]]])
    assert torch.isfinite(W.normalize(bad)).all()
