"""The user's model is borrowed: after any call it is exactly as it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import videocam
from videocam.cam.core import Explainer

from .nets import TinyNet, seeded

ALL = [
    lambda m: videocam.GradCAM(m, "relu2"),
    lambda m: videocam.GradCAMPlusPlus(m, "relu2"),
    lambda m: videocam.GradCAMPlusPlus(m, "relu2", alpha="exact"),
    lambda m: videocam.CAM(m, "relu2"),
    lambda m: videocam.GuidedBackprop(m),
    lambda m: videocam.GuidedGradCAMPlusPlus(m, "relu2"),
]


def hook_count(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in model.modules()
    )


def state(model: nn.Module):
    return (
        [
            (n, p.requires_grad, None if p.grad is None else p.grad.clone())
            for n, p in model.named_parameters()
        ],
        [(n, m.training) for n, m in model.named_modules()],
        {k: v.clone() for k, v in model.state_dict().items()},
    )


def assert_same_state(before, after):
    assert [x[:2] for x in before[0]] == [x[:2] for x in after[0]]
    for (_, _, g0), (_, _, g1) in zip(before[0], after[0], strict=True):
        assert (g0 is None and g1 is None) or torch.equal(g0, g1)
    assert before[1] == after[1]
    assert before[2].keys() == after[2].keys()
    for k in before[2]:
        assert torch.equal(before[2][k], after[2][k]), k


@pytest.fixture()
def model():
    net = seeded(TinyNet(classes=4), seed=0)
    net.conv1.weight.requires_grad_(False)  # a mixed pattern that must survive
    net.fc.weight.grad = torch.full_like(net.fc.weight, 3.0)  # user's accumulated grads
    net.relu1.train()  # a mixed train/eval pattern
    return net


@pytest.mark.parametrize("make", ALL)
def test_model_is_unchanged_after_a_call(model, make):
    before = state(model)
    hooks = hook_count(model)
    with make(model) as cam:
        out = cam(torch.rand(2, 3, 4, 6, 6), top_k=2)
    assert out.maps.shape[:2] == (2, 2)
    assert hook_count(model) == hooks
    assert_same_state(before, state(model))
    assert model.conv2.weight.grad is None


@pytest.mark.parametrize("make", ALL)
def test_model_is_unchanged_after_an_exception_in_the_block(model, make):
    before = state(model)
    with pytest.raises(RuntimeError, match="user error"), make(model) as cam:
        cam(torch.rand(1, 3, 4, 6, 6))
        raise RuntimeError("user error")
    assert hook_count(model) == 0
    assert_same_state(before, state(model))


@pytest.mark.parametrize("make", ALL)
def test_model_is_unchanged_after_the_model_raises(model, make):
    def boom(*_):
        raise ValueError("forward failed")

    handle = model.conv2.register_forward_hook(boom)
    before = state(model)
    with pytest.raises(ValueError, match="forward failed"), make(model) as cam:
        cam(torch.rand(1, 3, 4, 6, 6))
    handle.remove()
    assert hook_count(model) == 0
    assert_same_state(before, state(model))
    assert not torch._C._is_torch_function_mode_enabled()


def test_model_is_unchanged_after_a_bad_target(model):
    before = state(model)
    with pytest.raises(videocam.errors.ClassIndexError):
        videocam.GuidedGradCAMPlusPlus(model, "relu2")(torch.rand(1, 3, 4, 6, 6), target=99)
    assert hook_count(model) == 0
    assert_same_state(before, state(model))


def test_entering_and_exiting_twice_is_harmless(model):
    cam = videocam.GradCAMPlusPlus(model, "relu2")
    x = torch.rand(1, 3, 4, 6, 6)
    with cam, cam:
        first = cam(x)
    cam.__exit__(None, None, None)
    cam.remove_hooks()
    again = cam(x)  # still usable after exit; hooks live for one call only
    torch.testing.assert_close(first.maps, again.maps)
    assert hook_count(model) == 0


def test_hooks_do_not_pile_up_over_many_calls(model):
    cam = videocam.GradCAMPlusPlus(model, "relu2")
    for _ in range(5):
        cam(torch.rand(1, 3, 4, 6, 6))
    assert hook_count(model) == 0


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_calls_under_no_grad_or_inference_mode_are_handled(model, context):
    x = torch.rand(2, 3, 4, 6, 6)
    reference = videocam.GradCAMPlusPlus(model, "relu2")(x)
    with context():
        clips = x.clone()  # an inference tensor under inference_mode
        out = videocam.GradCAMPlusPlus(model, "relu2")(clips)
        guided = videocam.GuidedGradCAMPlusPlus(model, "relu2")(clips)
    torch.testing.assert_close(out.maps, reference.maps)
    assert out.maps.abs().sum() > 0 and guided.gradients.abs().sum() > 0


def test_no_parameter_gradients_and_no_graph_below_the_target_layer(model):
    seen = []

    def spy(module, inp, out):
        seen.append((module, out.requires_grad))

    handles = [model.conv1.register_forward_hook(spy), model.conv2.register_forward_hook(spy)]
    try:
        videocam.GradCAMPlusPlus(model, "relu2")(torch.rand(1, 3, 4, 6, 6))
    finally:
        for h in handles:
            h.remove()
    assert [requires for _, requires in seen] == [False, False]  # nothing recorded below
    assert model.conv2.weight.grad is None and model.fc.bias.grad is None


def test_training_mode_model_warns_and_keeps_its_batch_norm_statistics():
    net = nn.Sequential(
        nn.Conv3d(3, 4, 3, padding=1),
        nn.BatchNorm3d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    ).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.warns(UserWarning, match="training mode"):
        videocam.GradCAMPlusPlus(net, "2")(torch.rand(2, 3, 2, 4, 4))
    for k, v in net.state_dict().items():
        assert torch.equal(before[k], v), k
    assert net.training


def test_input_is_not_modified_and_its_grad_untouched(model):
    x = torch.rand(2, 3, 4, 6, 6, requires_grad=True)
    copy = x.detach().clone()
    videocam.GuidedGradCAMPlusPlus(model, "relu2")(x)
    assert torch.equal(x.detach(), copy) and x.grad is None


def test_explainer_rejects_non_modules():
    with pytest.raises(TypeError, match="nn.Module"):
        Explainer(lambda x: x, "a")  # type: ignore[arg-type]
