"""C3D: the published architecture, logits, checkpoint loading."""

from __future__ import annotations

import pytest
import torch

import videocam
from videocam.errors import CheckpointError
from videocam.models import C3D, load_checkpoint

NAMES = [
    "conv1",
    "conv2",
    "conv3a",
    "conv3b",
    "conv4a",
    "conv4b",
    "conv5a",
    "conv5b",
    "fc6",
    "fc7",
    "fc8",
]


@pytest.fixture(scope="module")
def c3d():
    torch.manual_seed(0)
    return C3D(num_classes=487).eval()


def test_layer_names_and_parameter_count(c3d):
    modules = dict(c3d.named_modules())
    for name in [*NAMES, "pool1", "pool2", "pool3", "pool4", "pool5"]:
        assert name in modules
    assert sorted(c3d.state_dict()) == sorted(f"{n}.{p}" for n in NAMES for p in ("weight", "bias"))
    count = sum(p.numel() for p in c3d.parameters())
    assert 77_000_000 < count < 81_000_000  # published: about 78M
    # exactly the layer table of Tran et al. (2015): 3x3x3 convs, fc6 8192->4096, fc7, fc8
    channels = [3, 64, 128, 256, 256, 512, 512, 512, 512]
    convs = sum(cin * cout * 27 + cout for cin, cout in zip(channels, channels[1:], strict=False))
    fcs = (8192 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 487 + 487)
    assert count == convs + fcs


def test_output_is_logits_for_two_clips(c3d):
    with torch.no_grad():
        out = c3d(torch.rand(2, 3, 16, 112, 112) * 255)
    assert out.shape == (2, 487)
    assert not torch.allclose(out.sum(1), torch.ones(2))  # not softmax probabilities


def test_pool5_gives_8192_features(c3d):
    with torch.no_grad():
        feats = c3d.pool5(c3d.features(torch.rand(1, 3, 16, 112, 112)))
    assert feats.shape == (1, 512, 1, 4, 4) and feats[0].numel() == 8192


def test_default_target_layer_conv5b_is_post_relu_and_explainable():
    model = C3D(num_classes=5, widths=(4, 4, 8, 8, 8, 8, 8, 8), fc_dim=16).eval()
    with videocam.GradCAMPlusPlus(model, "conv5b") as cam:
        out = cam(torch.rand(1, 3, 16, 112, 112))
    assert out.raw.shape == (1, 1, 2, 7, 7)
    captured = []
    h = model.conv5b.register_forward_hook(lambda m, i, o: captured.append(o))
    model(torch.rand(1, 3, 16, 112, 112))
    h.remove()
    assert captured[0].min() >= 0


def test_checkpoint_round_trip_with_the_converted_key_names(tmp_path, c3d):
    torch.save(c3d.state_dict(), tmp_path / "c3d.pth")  # the full Sports-1M layout
    fresh = load_checkpoint(C3D(num_classes=487), tmp_path / "c3d.pth")
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, c3d.state_dict()[k]), k
    small = C3D(num_classes=4, widths=(4,) * 8, fc_dim=8)
    state = small.state_dict()
    for wrapper, name in [
        (lambda s: {"state_dict": s}, "wrapped.pth"),
        (lambda s: {"model": s}, "model.pth"),
        (lambda s: {f"module.{k}": v for k, v in s.items()}, "dataparallel.pth"),
    ]:
        torch.save(wrapper(state), tmp_path / name)
        loaded = load_checkpoint(C3D(num_classes=4, widths=(4,) * 8, fc_dim=8), tmp_path / name)
        for k, v in loaded.state_dict().items():
            assert torch.equal(v, state[k]), k


def test_wrong_checkpoint_names_the_keys(tmp_path):
    small = C3D(num_classes=10, widths=(4,) * 8, fc_dim=8)
    state = small.state_dict()
    state["fc9.weight"] = state.pop("fc8.weight")
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointError, match=r"missing keys \[fc8.weight\].*unexpected keys \[fc9.weight\]"
    ):
        load_checkpoint(C3D(num_classes=10, widths=(4,) * 8, fc_dim=8), tmp_path / "bad.pth")
    torch.save(C3D(num_classes=11, widths=(4,) * 8, fc_dim=8).state_dict(), tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match="wrong shapes.*fc8.weight"):
        load_checkpoint(C3D(num_classes=10, widths=(4,) * 8, fc_dim=8), tmp_path / "shape.pth")


def test_checkpoints_are_untrusted_input(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"state_dict": Evil()}, tmp_path / "evil.pth", _use_new_zipfile_serialization=True)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(C3D(num_classes=2, widths=(4,) * 8, fc_dim=8), tmp_path / "evil.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(C3D(num_classes=2, widths=(4,) * 8, fc_dim=8), tmp_path / "junk.pth")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(C3D(num_classes=2), tmp_path / "missing.pth")


def test_gap_head_with_batch_norm_supports_cam():
    model = C3D(num_classes=3, widths=(4,) * 8, batch_norm=True, head="gap").eval()
    out = videocam.CAM(model, "conv5b")(torch.rand(2, 3, 16, 64, 64))
    assert out.maps.shape == (2, 1, 16, 64, 64)
