"""The model zoo: every entry builds and is explainable; logits; checkpoints; weights; errors."""

from __future__ import annotations

import ast
import dataclasses
import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

import videocam
from videocam.errors import (
    CheckpointError,
    InputShapeError,
    ModelConfigError,
    UnknownModelError,
    VideocamError,
    WeightsUnavailableError,
)
from videocam.models import (
    C3D,
    ModelConfig,
    create_model,
    get_config,
    list_models,
    register_model,
    unregister_model,
)
from videocam.models.adapters import PackPathways, fetch_weights

EXPECTED = {
    "c3d", "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "x3d_xs", "x3d_s", "x3d_m", "slow_r50",
    "slowfast_r50", "i3d_r50", "c2d_r50", "csn_r101", "r2plus1d_r50",
}  # fmt: skip
#: Entries whose test input is large (C3D only accepts its native 16 x 112 x 112 clip).
SLOW = {"c3d"}
#: Models several tests use are built once (random weights, seed 0; never modified).
_SHARED = {"slowfast_r50", "s3d", "x3d_xs"}
_BUILT: dict[str, nn.Module] = {}


def built(name: str) -> nn.Module:
    if name in _BUILT:
        return _BUILT[name]
    torch.manual_seed(0)
    model = create_model(name)
    if name in _SHARED:
        _BUILT[name] = model
    return model


def small_clip(config: ModelConfig) -> torch.Tensor:
    """A cheap input the architecture accepts: its native size if fixed, else about
    4 x 64 x 64 (more frames where the architecture needs them)."""
    torch.manual_seed(0)
    if config.fixed_input_size:
        return torch.rand(1, 3, *config.input_size)
    frames = max(4, config.min_clip_len)
    frames += -frames % config.clip_len_multiple
    return torch.rand(1, 3, config.check_clip_len(frames), 64, 64)


def test_registry_holds_the_zoo() -> None:
    assert set(list_models()) >= EXPECTED
    assert list_models("x3d_*") == ["x3d_m", "x3d_s", "x3d_xs"]
    assert set(list_models("*_r50")) == {
        "slow_r50", "slowfast_r50", "i3d_r50", "c2d_r50", "r2plus1d_r50",
    }  # fmt: skip
    assert list_models("nothing*") == []
    assert get_config("R3D-18") is get_config("r3d_18")


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(EXPECTED)]
)
def test_every_entry_builds_and_explains_at_its_default_layers(name: str) -> None:
    config = get_config(name)
    model = built(name)
    assert not any(m.training for m in model.modules())

    # Capture the head's raw output and the target layers' outputs during the CAM pass.
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        model.get_submodule(n).register_forward_hook(
            lambda _m, _i, out, n=n: captured.__setitem__(n, out.detach().clone())
        )
        for n in (config.head, *config.target_layers)
    ]
    clip = small_clip(config)
    try:
        with videocam.GradCAMPlusPlus(model, target_layer=list(config.target_layers)) as cam:
            out = cam(config.prepare_inputs(clip))
    finally:
        for h in hooks:
            h.remove()

    size = tuple(clip.shape[2:])
    assert out.maps.shape == (1, 1, *size)
    assert out.layers == config.target_layers
    assert len(out.layer_maps) == len(config.target_layers)
    for layer, raw, layer_map in zip(
        config.target_layers, out.layer_raw, out.layer_maps, strict=True
    ):
        act = captured[layer]
        assert act.ndim == 5 and raw.shape == (1, 1, *act.shape[2:])
        assert act.min() >= 0, f"{layer} is not a post-activation output"
        assert layer_map.shape == (1, 1, *size)
    assert torch.isfinite(out.maps).all() and out.maps.min() >= 0 and out.maps.max() <= 1

    # Logits, not probabilities: the output is the classifier's own output, unchanged.
    assert out.logits.shape == (1, config.num_classes)
    head_out = captured[config.head]
    assert head_out.numel() == config.num_classes
    torch.testing.assert_close(out.logits, head_out.reshape(1, -1))
    assert not torch.allclose(out.logits.sum(1), torch.ones(1), atol=1e-3)


def test_slowfast_explains_both_pathways_and_fuses_them() -> None:
    config = get_config("slowfast_r50")
    assert isinstance(config.prepare_inputs, PackPathways) and config.prepare_inputs.alpha == 4
    model = built("slowfast_r50")
    clip = torch.rand(1, 3, 8, 64, 64)
    slow, fast = config.prepare_inputs(clip)
    with videocam.GradCAMPlusPlus(model, target_layer=list(config.target_layers)) as cam:
        out = cam([slow, fast])
    # the input list is not overwritten by the model (MultiPathWayWithFuse inplace=False)
    assert slow.shape[2] == 2 and fast.shape[2] == 8
    slow_raw, fast_raw = out.layer_raw
    assert slow_raw.shape[2] == 2 and fast_raw.shape[2] == 8  # one map per pathway
    assert all(m.shape == (1, 1, 8, 64, 64) for m in (*out.layer_maps, out.maps))
    fused = torch.stack(out.layer_maps).mean(0)
    assert torch.corrcoef(torch.stack([fused.flatten(), out.maps.flatten()]))[0, 1] > 0.999


def test_pack_pathways_samples_the_slow_pathway_uniformly() -> None:
    clip = torch.arange(32.0).view(1, 1, 32, 1, 1).expand(2, 3, 32, 4, 4)
    slow, fast = PackPathways(alpha=4)(clip)
    assert fast is clip
    frames = slow[0, 0, :, 0, 0]
    assert slow.shape == (2, 3, 8, 4, 4)
    assert frames[0] == 0 and frames[-1] == 31  # spans the whole clip
    steps = frames.diff()
    assert (steps >= 4).all() and (steps <= 5).all()  # every ~4th frame
    for frames in (3, 6):
        with pytest.raises(InputShapeError, match="multiple of 4"):
            PackPathways(alpha=4)(torch.rand(1, 3, frames, 4, 4))


def test_clip_length_limits_are_the_architectures_own() -> None:
    """min_clip_len is the real minimum: one frame fewer fails inside the network."""
    for name in ("s3d", "i3d_r50"):
        config = get_config(name)
        model = built(name) if name == "s3d" else create_model(name)
        with torch.no_grad():
            model(torch.rand(1, 3, config.min_clip_len, 32, 32))
            with pytest.raises(RuntimeError):
                model(torch.rand(1, 3, config.min_clip_len - 1, 32, 32))
        with pytest.raises(InputShapeError, match=f"at least {config.min_clip_len}"):
            config.check_clip_len(config.min_clip_len - 1)
    with pytest.raises(InputShapeError, match="multiple of 4"):
        get_config("slowfast_r50").check_clip_len(30)
    with pytest.raises(InputShapeError, match="only accepts 16-frame"):
        get_config("c3d").check_clip_len(8)
    assert get_config("r3d_18").check_clip_len(3) == 3


# --------------------------------------------------------------------------- adapters
def test_adapted_heads_are_exact_at_the_native_size() -> None:
    """Identity instead of Softmax and global instead of fixed pooling change nothing at
    the training size: ours equals the library's head (after its Softmax, for X3D)."""
    from pytorchvideo.models import hub
    from torchvision.models.video import s3d

    cases = [
        # (name, original, head blocks, features at the native size)
        ("x3d_xs", hub.x3d_xs, (5,), torch.rand(1, 192, 4, 5, 5)),  # 4 x 160 x 160 clip
        (
            "slowfast_r50", hub.slowfast_r50, (5, 6),
            [torch.rand(1, 2048, 8, 7, 7), torch.rand(1, 256, 32, 7, 7)],  # 32 x 224 x 224
        ),
    ]  # fmt: skip
    for name, build_original, blocks, features in cases:
        ours, original = built(name), build_original(pretrained=False).eval()
        original.load_state_dict(ours.state_dict())
        a, b = features, features
        with torch.no_grad():
            for i in blocks:
                a = ours.blocks[i](list(a) if isinstance(a, list) else a)
                b = original.blocks[i](list(b) if isinstance(b, list) else b)
        if isinstance(original.blocks[blocks[-1]].activation, nn.Softmax):
            a = a.softmax(1)
        assert a.shape == (1, 400)
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)

    ours, original = built("s3d"), s3d().eval()
    original.load_state_dict(ours.state_dict())
    features = torch.rand(1, 1024, 2, 7, 7)  # 16 x 224 x 224 clip
    with torch.no_grad():
        a = ours.classifier(ours.avgpool(features))
        b = original.classifier(original.avgpool(features))
    torch.testing.assert_close(a, b)


def test_weight_urls_are_the_libraries_own() -> None:
    from pytorchvideo.models.hub import csn, r2plus1d, resnet, slowfast, x3d
    from torchvision.models import video

    enums = {
        "r3d_18": video.R3D_18_Weights, "mc3_18": video.MC3_18_Weights,
        "r2plus1d_18": video.R2Plus1D_18_Weights, "s3d": video.S3D_Weights,
    }  # fmt: skip
    for name, weights in enums.items():
        assert get_config(name).weights == weights.KINETICS400_V1.url
        transforms = weights.KINETICS400_V1.transforms()
        assert get_config(name).crop_size == transforms.crop_size[0]
        assert list(get_config(name).resize) == list(transforms.resize_size)
        assert list(get_config(name).mean) == list(transforms.mean)
    paths = {**x3d.checkpoint_paths, **resnet.checkpoint_paths, **slowfast.checkpoint_paths}
    paths.update(csn.checkpoint_paths, **r2plus1d.checkpoint_paths)
    for name in list_models():
        if get_config(name).source == "pytorchvideo":
            assert get_config(name).weights == paths[name], name


# --------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip_state_dict_and_model_state(tmp_path: Path) -> None:
    for name, wrap, clip in (
        ("s3d", None, torch.rand(1, 3, 5, 32, 32)),
        ("x3d_xs", "model_state", torch.rand(1, 3, 4, 64, 64)),  # PyTorchVideo's layout
    ):
        torch.manual_seed(1)
        source = create_model(name)
        path = tmp_path / f"{name}.pt"
        state = source.state_dict()
        torch.save({wrap: state, "epoch": 3} if wrap else state, path)
        torch.manual_seed(2)
        loaded = create_model(name, checkpoint=path)
        assert not loaded.training
        with torch.no_grad():
            torch.testing.assert_close(loaded(clip), source(clip), rtol=0, atol=0)


def test_checkpoint_with_other_num_classes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = create_model("x3d_xs", num_classes=7)
    path = tmp_path / "finetuned.pt"
    torch.save(source.state_dict(), path)
    with pytest.raises(CheckpointError, match=r"num_classes=7") as info:
        create_model("x3d_xs", checkpoint=path)
    assert "blocks.5.proj.weight" in str(info.value)
    model = create_model("x3d_xs", checkpoint=path, num_classes=7)
    assert model(torch.rand(1, 3, 4, 64, 64)).shape == (1, 7)


def test_wrong_checkpoint_names_the_keys(tmp_path: Path) -> None:
    state = built("x3d_xs").state_dict()
    state.pop("blocks.5.proj.bias")
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        create_model("x3d_xs", checkpoint=path)
    message = str(info.value)
    assert "blocks.5.proj.bias" in message and "extra.weight" in message and "\n" not in message

    with pytest.raises(CheckpointError, match="missing keys"):
        create_model("s3d", checkpoint=path)  # another architecture entirely
    with pytest.raises(CheckpointError, match="not found"):
        create_model("x3d_xs", checkpoint=tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        create_model("x3d_xs", checkpoint=tmp_path / "junk.pt")


def test_checkpoint_that_runs_code_is_refused(tmp_path: Path) -> None:
    """weights_only=True: a pickle holding an arbitrary object is not loaded."""
    path = tmp_path / "evil.pt"
    torch.save({"model_state": {"w": torch.zeros(1)}, "hook": _Payload()}, path)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        create_model("x3d_xs", checkpoint=path)


class _Payload:
    """Stands for an object a malicious pickle would rebuild (never allowed to load)."""


# --------------------------------------------------------------------------- pretrained
@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache, so that nothing cached on this machine is used."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def test_pretrained_offline_raises_a_clear_error(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def offline(url, dst, hash_prefix=None, progress=True):
        calls.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    for name in ("r3d_18", "x3d_xs", "slowfast_r50"):
        with pytest.raises(WeightsUnavailableError) as info:
            create_model(name, pretrained=True)
        message = str(info.value)
        assert name in message and "checkpoint=PATH" in message and "\n" not in message
        assert "name resolution" in message
    assert calls == [get_config(n).weights for n in ("r3d_18", "x3d_xs", "slowfast_r50")]
    assert not any(p.is_file() for p in torch_home.rglob("*"))  # nothing half-written

    with pytest.raises(WeightsUnavailableError, match="checkpoint=PATH"):
        create_model("c3d", pretrained=True)  # no published URL at all


def test_pretrained_loads_the_downloaded_file(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = built("x3d_xs")
    seen = {}

    def fake_download(url, dst, hash_prefix=None, progress=True):
        seen.update(url=url, hash_prefix=hash_prefix)
        torch.save({"model_state": published.state_dict()}, dst)  # PyTorchVideo's layout

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    model = create_model("x3d_xs", pretrained=True, progress=False)
    assert seen == {"url": get_config("x3d_xs").weights, "hash_prefix": None}
    clip = torch.rand(1, 3, 4, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(clip), published(clip), rtol=0, atol=0)

    # the second call uses the cache; num_classes swaps in a fresh head of that size
    monkeypatch.setattr(torch.hub, "download_url_to_file", None)
    model5 = create_model("x3d_xs", pretrained=True, num_classes=5)
    assert model5(clip).shape == (1, 5)
    torch.testing.assert_close(
        model5.blocks[4].state_dict(), published.blocks[4].state_dict(), rtol=0, atol=0
    )
    with pytest.raises(CheckpointError, match="not both"):
        create_model("x3d_xs", pretrained=True, checkpoint=torch_home)


def test_torchvision_downloads_are_hash_checked(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = {}

    def fake_download(url, dst, hash_prefix=None, progress=True):
        seen["hash_prefix"] = hash_prefix
        raise RuntimeError('invalid hash value (expected "b3b3357e", got "00000000")')

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    with pytest.raises(WeightsUnavailableError, match="invalid hash"):
        fetch_weights(get_config("r3d_18").weights, model_name="r3d_18")
    assert seen["hash_prefix"] == "b3b3357e"


# --------------------------------------------------------------------------- errors, registry
def test_unknown_model_lists_the_nearest_names() -> None:
    with pytest.raises(UnknownModelError) as info:
        create_model("r3d18")
    assert "r3d_18" in str(info.value) and isinstance(info.value, VideocamError)
    with pytest.raises(UnknownModelError, match="slowfast_r50"):
        get_config("slowfast")
    with pytest.raises(UnknownModelError, match="available"):
        get_config("zzzzzzzz")
    with pytest.raises(ModelConfigError):
        create_model("x3d_xs", num_classes=0)


@pytest.fixture
def tiny_config():
    config = ModelConfig(
        name="tiny_c3d_test",
        builder=lambda n: C3D(num_classes=n, widths=(4,) * 8, head="gap"),
        target_layers="conv5b",
        head="fc8",
        num_classes=3,
        labels="sports1m",
        clip_len=8,
        sampling_rate=1,
        crop_size=32,
        resize=36,
        mean=(10.0, 20.0, 30.0),
        std=(2.0, 4.0, 8.0),
        value_range=255.0,
        channel_order="BGR",
    )
    yield register_model(config)
    if config.name in list_models():
        unregister_model(config.name)


def test_register_a_new_entry(tiny_config: ModelConfig) -> None:
    assert "tiny_c3d_test" in list_models("tiny*")
    assert tiny_config.target_layers == ("conv5b",)  # a single name becomes a tuple
    model = create_model("tiny_c3d_test", num_classes=4)
    with videocam.GradCAMPlusPlus(model, target_layer=list(tiny_config.target_layers)) as cam:
        out = cam(torch.rand(1, 3, 8, 32, 32))
    assert out.maps.shape == (1, 1, 8, 32, 32) and out.logits.shape == (1, 4)
    with pytest.raises(ModelConfigError, match="already registered"):
        register_model(tiny_config)
    register_model(dataclasses.replace(tiny_config, clip_len=4), overwrite=True)
    assert get_config("tiny_c3d_test").clip_len == 4
    unregister_model("tiny_c3d_test")
    with pytest.raises(UnknownModelError):
        get_config("tiny_c3d_test")


def test_normalize_follows_the_config(tiny_config: ModelConfig) -> None:
    rgb = torch.tensor([100, 150, 200], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 2, 2, 2)
    # tiny config: BGR, 0..255, mean (10, 20, 30), std (2, 4, 8)
    got = tiny_config.normalize(rgb)[:, 0, 0, 0]
    torch.testing.assert_close(got, torch.tensor([(200 - 10) / 2, (150 - 20) / 4, (100 - 30) / 8]))
    kinetics = get_config("r3d_18").normalize(rgb.unsqueeze(0))[0, :, 0, 0, 0]
    expected = [
        (v / 255 - m) / s
        for v, m, s in zip(
            (100, 150, 200), (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989), strict=True
        )
    ]  # noqa: E501
    torch.testing.assert_close(kinetics, torch.tensor(expected))
    c3d = get_config("c3d").normalize(rgb.float())
    torch.testing.assert_close(c3d, rgb.float())  # raw 0..255, no mean subtraction
    with pytest.raises(ValueError):
        tiny_config.normalize(torch.zeros(1, 2, 3, 4, 4))


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Bad Name"},
        {"target_layers": ()},
        {"clip_len": 0},
        {"clip_len": 6, "clip_len_multiple": 4},
        {"resize": 16},  # smaller than the crop
        {"std": (1.0, 0.0, 1.0)},
        {"value_range": 2.0},
        {"channel_order": "RGBA"},
    ],
)
def test_invalid_configs_are_refused(tiny_config: ModelConfig, change: dict) -> None:
    with pytest.raises(ModelConfigError):
        dataclasses.replace(tiny_config, **change)


def test_configs_are_complete_and_consistent() -> None:
    for name in list_models():
        config = get_config(name)
        assert config.name == name and config.description
        assert len(config.load_labels()) == config.num_classes
        summary = config.summary()
        assert summary["name"] == name and isinstance(summary["target_layers"], list)
        if config.source == "pytorchvideo":
            assert config.mean == (0.45, 0.45, 0.45) and config.value_range == 1.0
    assert get_config("c3d").labels == "sports1m" and get_config("c3d").num_classes == 487
    assert get_config("slowfast_r50").target_layers == (
        "blocks.4.multipathway_blocks.0",
        "blocks.4.multipathway_blocks.1",
    )


def test_pytorchvideo_is_imported_lazily_and_only_its_models() -> None:
    """No module of videocam imports pytorchvideo at import time (only inside functions,
    when such a model is built), and none imports anything but ``pytorchvideo.models``
    (``pytorchvideo.transforms`` fails with current torchvision)."""
    package = Path(videocam.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lazy = {
            id(node)
            for func in ast.walk(tree)
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(func)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for module in modules:
                if module.split(".")[0] == "pytorchvideo":
                    found.append(module)
                    where = f"{path.relative_to(package)}:{node.lineno}"
                    assert id(node) in lazy, f"eager import of {module} at {where}"
                    assert module.startswith("pytorchvideo.models"), f"{module} at {where}"
    assert "pytorchvideo.models" in found  # the check saw the adapter's import
