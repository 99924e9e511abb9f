"""The accelerator path's building blocks (videocam.pipeline.cuda), on every device here.

On a machine without a GPU the CPU path runs (plain memory, synchronous copies); with
CUDA the same tests also run the pinned-buffer, side-stream path.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videocam.pipeline import cuda
from videocam.video import WindowSpec, iter_windows
from videocam.video.decode import Frame
from videocam.video.render import blend, colorize

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _frames(n: int, height: int = 12, width: int = 20, seed: int = 0) -> list[Frame]:
    rng = np.random.default_rng(seed)
    return [
        Frame(index=i, time=i / 25, image=rng.integers(0, 256, (height, width, 3), np.uint8))
        for i in range(n)
    ]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("colormap", ["turbo", "inferno"])
def test_overlay_on_device_matches_the_cpu_renderer(device, colormap):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 17, 23, 3), np.uint8)
    heat = rng.uniform(-0.2, 1.2, (3, 17, 23)).astype(np.float32)  # out of range: clipped
    lut = cuda.color_lut(colormap, device)
    out = cuda.overlay_on_device(
        torch.from_numpy(frames).to(device), torch.from_numpy(heat).to(device), lut, 0.4
    )
    assert out.dtype == torch.uint8 and out.device.type == device
    for i in range(3):
        expected = blend(frames[i], colorize(heat[i], colormap), 0.4)
        diff = np.abs(out[i].cpu().numpy().astype(int) - expected.astype(int))
        assert diff.max() <= 1  # OpenCV rounds its float sum the same way, up to float error
        assert (diff == 0).mean() > 0.99


def test_overlay_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="must match"):
        cuda.overlay_on_device(
            torch.zeros(2, 4, 4, 3, dtype=torch.uint8),
            torch.zeros(2, 4, 5),
            cuda.color_lut("jet", "cpu"),
            0.5,
        )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("stride", [None, 3])
def test_frame_store_uploads_every_frame_once(device, stride):
    frames = _frames(23)
    spec = WindowSpec(clip_len=4, sampling_rate=2, stride=stride)
    windows = list(iter_windows(iter(frames), spec))
    pool = cuda.HostBufferPool(pin=True) if device == "cuda" else None
    store = cuda.DeviceFrameStore(device, pool)
    done: set[int] = set()
    seen = 0
    for batch in (windows[i : i + 2] for i in range(0, len(windows), 2)):
        store.add(batch)
        seen += sum(len(w.new_frames) for w in batch)
        clips = store.clip_frames(batch)
        expected = np.stack([image for w in batch for image in w.images])
        assert clips.device.type == device
        assert torch.equal(clips.cpu(), torch.from_numpy(expected))
        finished = [i for i in range(min(seen, batch[-1].next_start)) if i not in done]
        if finished:  # what a stitcher would emit now: no later window touches them
            popped = store.pop(finished)
            expected = np.stack([frames[i].image for i in finished])
            assert torch.equal(popped.cpu(), torch.from_numpy(expected))
            done.update(finished)
    rest = [i for i in range(len(frames)) if i not in done]
    if rest:
        store.pop(rest)
    assert store.uploaded == len(frames)  # overlapping windows share the uploaded frames
    assert len(store) == 0


def test_host_buffer_pool_reuses_released_buffers():
    pool = cuda.HostBufferPool(pin=False)
    a = pool.acquire((4, 5, 3))
    a.fill_(7)
    pool.release(a)
    b = pool.acquire((2, 5, 3))  # fits in the released buffer: no new allocation
    assert pool.allocated == 1 and b.shape == (2, 5, 3)
    c = pool.acquire((100,))
    assert pool.allocated == 2 and c.numel() == 100
    floats = pool.acquire((3,), torch.float32)
    assert floats.dtype == torch.float32 and floats.shape == (3,)


@pytest.mark.parametrize("device", DEVICES)
def test_download_gives_the_tensor_back(device):
    pool = cuda.HostBufferPool(pin=device == "cuda")
    tensor = torch.arange(60, dtype=torch.uint8).reshape(2, 5, 6).to(device)
    copy = cuda.download(tensor, pool)
    np.testing.assert_array_equal(copy.wait(), tensor.cpu().numpy())
    copy.release()
    again = cuda.download(tensor + 1, pool)
    np.testing.assert_array_equal(again.wait(), (tensor + 1).cpu().numpy())
    assert pool.allocated == 1


def test_channels_last_only_for_registry_models_under_amp_on_cuda():
    cuda_dev, cpu = torch.device("cuda"), torch.device("cpu")
    assert cuda.use_channels_last(cuda_dev, amp=True, registry_model=True)
    assert not cuda.use_channels_last(cuda_dev, amp=True, registry_model=False)
    assert not cuda.use_channels_last(cuda_dev, amp=False, registry_model=True)
    assert not cuda.use_channels_last(cpu, amp=True, registry_model=True)


def test_channels_last_model_gives_the_same_logits_and_maps():
    import videocam

    torch.manual_seed(0)
    model = videocam.models.C3D(num_classes=5, widths=(4,) * 8, head="gap").eval()
    clips = torch.rand(2, 3, 8, 32, 32)
    with videocam.GradCAMPlusPlus(model, "conv5b") as cam:
        ref = cam(clips)
    cuda.to_channels_last(model)
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last_3d)
    inputs = cuda.channels_last_inputs(clips)
    assert inputs.is_contiguous(memory_format=torch.channels_last_3d)
    with videocam.GradCAMPlusPlus(model, "conv5b") as cam:
        out = cam(inputs)
    torch.testing.assert_close(out.logits, ref.logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.maps, ref.maps, rtol=1e-3, atol=1e-4)
    listed = cuda.channels_last_inputs([clips, torch.rand(2, 3)])
    assert listed[0].is_contiguous(memory_format=torch.channels_last_3d)
    assert listed[1].shape == (2, 3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "options",
    [
        {"layout": "side-by-side", "methods": ("gradcam++", "gradcam")},
        {"stride": 2, "sampling_rate": 2, "methods": ("gradcam++",)},
    ],
    ids=["side-two-methods", "overlap-sampling"],
)
def test_explain_with_frames_on_the_device_writes_the_same_video(
    tmp_path, monkeypatch, device, options
):
    """The device path (frames uploaded once, overlays blended on the device, pinned
    downloads on CUDA) gives the same MP4 as the OpenCV path, up to a grey level."""
    from videocam.pipeline import explain as explain_module

    from .helpers import BrightnessNet, probe, write_square_video

    stores = []

    class RecordingStore(cuda.DeviceFrameStore):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(explain_module, "DeviceFrameStore", RecordingStore)
    video = write_square_video(tmp_path / "in.mp4", 13, 64, 48)
    outputs = {}
    for device_frames in (False, True):
        monkeypatch.setattr(explain_module, "DEVICE_FRAMES", device_frames)
        result = explain_module.explain_video(
            video,
            BrightnessNet().eval(),
            layer="features",
            clip_len=4,
            device=device,
            output=tmp_path / f"out-{device_frames}.mp4",
            **options,
        )
        outputs[device_frames] = probe(result.output)["images"]
    (store,) = stores
    assert store.uploaded == 13 and len(store) == 0  # every frame up once, none left behind
    assert len(outputs[True]) == len(outputs[False]) == 13
    for a, b in zip(outputs[True], outputs[False], strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 0.5


@pytest.mark.parametrize("heat_range", [None, (0.2, 0.7)])
def test_overlay_on_device_scales_like_the_renderer(heat_range):
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (2, 9, 11, 3), np.uint8)
    heat = rng.uniform(0.1, 0.9, (2, 9, 11)).astype(np.float32)
    out = cuda.overlay_on_device(
        torch.from_numpy(frames),
        torch.from_numpy(heat),
        cuda.color_lut("jet", "cpu"),
        0.5,
        heat_range,
    )
    for i in range(2):
        expected = blend(frames[i], colorize(heat[i], "jet", heat_range), 0.5)
        assert np.abs(out[i].numpy().astype(int) - expected.astype(int)).max() <= 1
