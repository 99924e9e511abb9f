"""Invariants of the engine: batch independence, top-k from one pass, 2D = 3D with T=1,
targets, several layers, and the clear errors."""

from __future__ import annotations

import pytest
import torch
import torchvision

import videocam
from videocam.errors import (
    ClassIndexError,
    GradientError,
    InputShapeError,
    LayerNotFoundError,
    LayerOutputError,
    TargetError,
)

from .nets import TinyNet, seeded

METHODS = [videocam.GradCAM, videocam.GradCAMPlusPlus, videocam.GuidedGradCAMPlusPlus]


@pytest.fixture(scope="module")
def r3d():
    torch.manual_seed(0)
    return torchvision.models.video.r3d_18(num_classes=7).eval()


@pytest.fixture(scope="module")
def clips():
    torch.manual_seed(1)
    return torch.rand(2, 3, 4, 32, 32)


@pytest.mark.parametrize("method", METHODS)
def test_a_clips_map_does_not_depend_on_its_batch(r3d, clips, method):
    together = method(r3d, "layer4")(clips, top_k=2)
    alone = method(r3d, "layer4")(clips[1:2], top_k=2)
    torch.testing.assert_close(together.raw[1:2], alone.raw, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(together.maps[1:2], alone.maps, rtol=1e-4, atol=1e-5)
    assert torch.equal(together.classes[1:2], alone.classes)


@pytest.mark.parametrize("method", METHODS)
def test_top_k_from_one_pass_equals_k_single_class_runs(r3d, clips, method):
    calls = []
    handle = r3d.register_forward_hook(lambda *a: calls.append(1))
    try:
        out = method(r3d, "layer4")(clips, top_k=3)
    finally:
        handle.remove()
    assert len(calls) == 1  # one forward pass for all three classes
    logits = r3d(clips)
    assert torch.equal(out.classes, logits.topk(3, dim=1).indices)
    torch.testing.assert_close(out.scores, logits.topk(3, dim=1).values, rtol=1e-5, atol=1e-5)
    for k in range(3):
        single = method(r3d, "layer4")(clips, target=out.classes[:, k].tolist())
        torch.testing.assert_close(out.raw[:, k], single.raw[:, 0], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(out.maps[:, k], single.maps[:, 0], rtol=1e-4, atol=1e-5)


def test_explicit_k_classes_per_clip(r3d, clips):
    targets = torch.tensor([[0, 1], [4, 5]])
    out = videocam.GradCAMPlusPlus(r3d, "layer4")(clips, target=targets)
    assert torch.equal(out.classes, targets)
    one = videocam.GradCAMPlusPlus(r3d, "layer4")(clips[1:], target=5)
    torch.testing.assert_close(out.raw[1:, 1], one.raw[:, 0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", [videocam.GradCAM, videocam.GradCAMPlusPlus, videocam.CAM])
def test_clip_with_one_frame_equals_the_image_path(method):
    net3 = seeded(TinyNet(dims=3, classes=4), seed=7)
    net2 = TinyNet(dims=2, classes=4).eval()
    with torch.no_grad():  # a 3x3x3 conv on a single frame (zero padding) = its middle slice
        for name in ("conv1", "conv2"):
            getattr(net2, name).weight.copy_(getattr(net3, name).weight[:, :, 1])
            getattr(net2, name).bias.copy_(getattr(net3, name).bias)
        net2.fc.load_state_dict(net3.fc.state_dict())
    images = torch.rand(2, 3, 10, 12)
    out3 = method(net3, "relu2")(images.unsqueeze(2), top_k=2)
    out2 = method(net2, "relu2")(images, top_k=2)
    assert out2.maps.shape == (2, 2, 10, 12) and out3.maps.shape == (2, 2, 1, 10, 12)
    torch.testing.assert_close(out3.maps[:, :, 0], out2.maps, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out3.raw[:, :, 0], out2.raw, rtol=1e-4, atol=1e-6)


def test_target_forms(r3d, clips):
    cam = videocam.GradCAMPlusPlus(r3d, "layer4")
    by_int = cam(clips, target=4)
    assert by_int.classes.tolist() == [[4]] * 2
    by_list = cam(clips, target=[4, 4])
    torch.testing.assert_close(by_int.raw, by_list.raw)
    by_callable = cam(clips, target=lambda logits: logits[:, 4])
    torch.testing.assert_close(by_int.raw, by_callable.raw)
    assert by_callable.classes.tolist() == [[-1]] * 2
    # any differentiable score: a difference of two logits
    diff = cam(clips, target=lambda logits: logits[:, 4] - logits[:, 2])
    assert diff.maps.shape == (2, 1, 4, 32, 32)
    predicted = cam(clips)
    assert torch.equal(predicted.classes[:, 0], r3d(clips).argmax(1))


def test_several_layers_give_one_map_each_and_a_fused_map(r3d, clips):
    out = videocam.GradCAMPlusPlus(r3d, ["layer3", "layer4"])(clips, top_k=2)
    assert out.layers == ("layer3", "layer4")
    assert [m.shape for m in out.layer_maps] == [(2, 2, 4, 32, 32)] * 2
    assert out.layer_raw[0].shape == (2, 2, 1, 4, 4) and out.layer_raw[1].shape == (2, 2, 1, 2, 2)
    single = videocam.GradCAMPlusPlus(r3d, "layer4")(clips, top_k=2)
    torch.testing.assert_close(out.layer_maps[1], single.maps, rtol=1e-4, atol=1e-5)
    fused = videocam.cam.weights.normalize((out.layer_maps[0] + out.layer_maps[1]) / 2)
    torch.testing.assert_close(out.maps, fused)


def test_model_given_a_list_of_inputs_gets_it_as_one_argument():
    class TwoPath(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.slow = torch.nn.Conv3d(3, 4, 3, padding=1)
            self.fast = torch.nn.Conv3d(3, 4, 3, padding=1)
            self.fc = torch.nn.Linear(8, 3)

        def forward(self, x):
            s, f = torch.relu(self.slow(x[0])), torch.relu(self.fast(x[1]))
            return self.fc(torch.cat([s.flatten(2).mean(2), f.flatten(2).mean(2)], 1))

    net = TwoPath().eval()
    slow, fast = torch.rand(2, 3, 2, 16, 16), torch.rand(2, 3, 8, 16, 16)
    out = videocam.GradCAMPlusPlus(net, ["slow", "fast"])([slow, fast])
    assert out.maps.shape == (2, 1, 8, 16, 16)
    assert out.layer_raw[0].shape[2] == 2 and out.layer_raw[1].shape[2] == 8


def test_unknown_layer_lists_the_nearest_names(r3d):
    with pytest.raises(LayerNotFoundError, match="layer4") as info:
        videocam.GradCAMPlusPlus(r3d, "layer5")
    assert "\n" not in str(info.value)
    with pytest.raises(LayerNotFoundError, match="not part"):
        videocam.GradCAM(r3d, torch.nn.Conv3d(1, 1, 1))


def test_layer_with_a_flat_output_is_a_clear_error(r3d, clips):
    with pytest.raises(LayerOutputError, match="fc"):
        videocam.GradCAMPlusPlus(r3d, "fc")(clips)


def test_layer_that_does_not_run_or_runs_twice(clips):
    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv3d(3, 3, 3, padding=1)
            self.unused = torch.nn.Conv3d(3, 3, 1)
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(self.conv(self.conv(x)).flatten(2).mean(2))

    net = Twice().eval()
    with pytest.raises(LayerOutputError, match="2 times"):
        videocam.GradCAM(net, "conv")(clips)
    with pytest.raises(LayerOutputError, match="0 times"):
        videocam.GradCAM(net, "unused")(clips)


def test_score_that_does_not_depend_on_the_layer(r3d, clips):
    with pytest.raises(GradientError, match="does not depend"):
        videocam.GradCAM(r3d, "layer4")(clips, target=lambda out: out.detach()[:, 0])


def test_bad_targets(r3d, clips):
    cam = videocam.GradCAMPlusPlus(r3d, "layer4")
    with pytest.raises(ClassIndexError, match="out of range"):
        cam(clips, target=7)
    with pytest.raises(ClassIndexError):
        cam(clips, target=-1)
    with pytest.raises(TargetError, match="one class per clip"):
        cam(clips, target=[1, 2, 3])
    with pytest.raises(TargetError, match="top_k"):
        cam(clips, top_k=0)
    with pytest.raises(TargetError, match="exceeds"):
        cam(clips, top_k=8)
    with pytest.raises(TargetError, match="integer"):
        cam(clips, target=[0.5, 1.0, 2.0])
    with pytest.raises(TargetError, match="shape"):
        cam(clips, target=lambda out: out)


def test_bad_inputs(r3d):
    cam = videocam.GradCAMPlusPlus(r3d, "layer4")
    with pytest.raises(InputShapeError):
        cam(torch.rand(3, 8, 48, 48, 1, 1))
    with pytest.raises(InputShapeError):
        cam(torch.randint(0, 255, (1, 3, 8, 48, 48), dtype=torch.uint8))
    with pytest.raises(InputShapeError):
        cam("clip.mp4")


def test_default_layer_is_found_for_a_user_module(r3d, clips):
    cam = videocam.GradCAMPlusPlus(r3d)
    cam(clips[:1])
    assert cam.target_layers == ["layer4"]
    c3d = videocam.models.C3D(num_classes=3, widths=(4,) * 8).eval()
    cam = videocam.GradCAM(c3d)
    cam(torch.rand(1, 3, 16, 112, 112))
    assert cam.target_layers == ["conv5b"]


def test_degenerate_map_is_zero_not_nan():
    net = seeded(TinyNet(classes=2), seed=0)
    with torch.no_grad():
        net.conv2.weight.zero_()
        net.conv2.bias.fill_(-1.0)  # relu2 output is all zero
    for method in (videocam.GradCAM, videocam.GradCAMPlusPlus, videocam.CAM):
        out = method(net, "relu2")(torch.rand(2, 3, 4, 8, 8))
        assert torch.equal(out.maps, torch.zeros_like(out.maps))
        assert torch.isfinite(out.raw).all()


def test_finite_output_for_extreme_finite_input(r3d):
    x = torch.full((1, 3, 4, 32, 32), 1e4)
    x[..., ::2, :] = -1e4
    for method in METHODS:
        out = method(r3d, "layer4")(x)
        assert torch.isfinite(out.maps).all() and torch.isfinite(out.raw).all()
        assert out.maps.min() >= 0 and out.maps.max() <= 1


def test_cpu_autocast_bfloat16_agrees_and_returns_float32():
    net = seeded(TinyNet(classes=4, width=8), seed=3)
    x = torch.rand(2, 3, 4, 16, 16)
    reference = videocam.GradCAMPlusPlus(net, "relu2")(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = videocam.GradCAMPlusPlus(net, "relu2")(x, target=reference.classes[:, 0].tolist())
    assert out.maps.dtype == torch.float32 and out.raw.dtype == torch.float32
    r = torch.corrcoef(torch.stack([out.maps.flatten(), reference.maps.flatten()]))[0, 1]
    assert r > 0.95


def test_multicam_gives_every_method_from_one_forward_pass(r3d, clips):
    calls = []
    handle = r3d.register_forward_hook(lambda *a: calls.append(1))
    try:
        methods = ("cam", "gradcam", "gradcam++", "guided-gradcam++")
        results = videocam.MultiCAM(r3d, "layer4", methods=methods)(clips, top_k=2)
    finally:
        handle.remove()
    assert len(calls) == 1 and list(results) == list(methods)
    single = {
        "cam": videocam.CAM(r3d, "layer4"),
        "gradcam": videocam.GradCAM(r3d, "layer4"),
        "gradcam++": videocam.GradCAMPlusPlus(r3d, "layer4"),
        "guided-gradcam++": videocam.GuidedGradCAMPlusPlus(r3d, "layer4"),
    }
    for method, explainer in single.items():
        expected = explainer(clips, top_k=2)
        got = results[method]
        assert got.method == method
        torch.testing.assert_close(got.raw, expected.raw, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(got.maps, expected.maps, rtol=1e-4, atol=1e-5)
        if method == "guided-gradcam++":
            torch.testing.assert_close(got.guided, expected.guided, rtol=1e-4, atol=1e-7)
