"""Helpers of the pipeline and CLI tests: tiny synthetic videos written with PyAV (not with
videocam's own encoder) and tiny models whose explanations are known in advance."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from torch import nn

from videocam.models import ModelConfig

SQUARE = 16  # side of the bright square, in source pixels
TINY_MODEL = "pipeline_tiny"  # registry name of the tiny test model (see tiny_config)
TINY_LABELS = ("bright", "dark", "half")


# ----------------------------------------------------------------------------- videos
def square_origin(
    index: int, start: tuple[int, int] = (30, 50), velocity: tuple[int, int] = (1, 2)
) -> tuple[int, int]:
    """Top-left ``(y, x)`` of the bright square in frame ``index``: it moves by
    ``velocity`` pixels per frame (slowly enough that its positions in two frames two
    apart overlap, so an interpolated map still peaks on the frame in between)."""
    return start[0] + velocity[0] * index, start[1] + velocity[1] * index


def square_frame(
    index: int,
    height: int,
    width: int,
    start: tuple[int, int] = (30, 50),
    velocity: tuple[int, int] = (1, 2),
) -> np.ndarray:
    """A dim background (brighter towards the bottom right, at most 70) with a white
    ``SQUARE`` x ``SQUARE`` square at :func:`square_origin`."""
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    gray = 20.0 + 25.0 * ys + 25.0 * xs
    image = np.repeat(np.rint(gray).astype(np.uint8)[..., None], 3, axis=2)
    y, x = square_origin(index, start, velocity)
    image[max(0, y) : y + SQUARE, max(0, x) : x + SQUARE] = 250
    return image


def write_av_video(
    path: Path,
    frames: Sequence[np.ndarray],
    fps: float | Fraction = 25,
    *,
    faststart: bool = False,
) -> Path:
    """Encode RGB frames as H.264 with PyAV (yuv444p for odd sizes, which 4:2:0 refuses)."""
    height, width = frames[0].shape[:2]
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv444p" if width % 2 or height % 2 else "yuv420p"
        stream.options = {"crf": "10", "preset": "ultrafast"}
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_square_video(
    path: Path,
    num_frames: int = 12,
    width: int = 64,
    height: int = 48,
    fps: float | Fraction = 25,
    *,
    start: tuple[int, int] = (8, 8),
    velocity: tuple[int, int] = (1, 2),
    faststart: bool = False,
) -> Path:
    """A video of :func:`square_frame` frames."""
    frames = [square_frame(i, height, width, start, velocity) for i in range(num_frames)]
    return write_av_video(path, frames, fps, faststart=faststart)


def write_audio_only(path: Path) -> Path:
    """An MP4 holding one AAC audio stream and no video stream."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_zero_frame_video(path: Path) -> Path:
    """A Matroska file with an H.264 video stream that holds no frame (and a little audio;
    MP4 drops an empty track, Matroska keeps it)."""
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = 16000, 0
        for packet in audio.encode(frame):
            container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
    return path


def probe(path: Path) -> dict[str, object]:
    """What PyAV reads from a file: codec, pixel format, size, rate, frames decoded."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "rate": stream.average_rate,
            "frames": len(frames),
            "images": frames,
        }


def listing(folder: Path) -> list[str]:
    """Every name under ``folder``, hidden ones included, recursively."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def pipeline_threads() -> list[str]:
    """Names of the explain pipeline's threads still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("videocam-")]


# ----------------------------------------------------------------------------- models
class BrightnessNet(nn.Module):
    """A model whose explanation is known: the target layer ``features`` outputs each
    frame's brightness (mean over RGB) average-pooled over 4x4 pixels; the head is global
    average pooling and a linear layer whose class 0 weight is positive. The score of
    class 0 grows with every pixel's brightness, so Grad-CAM++ (a positive weight times
    the one activation channel) is the pooled brightness: its peak is the bright square.

    Args:
        num_classes: Output size (at least 2).
        fail_at: Raise ``RuntimeError`` on this forward call (1-based); ``None``: never.
    """

    def __init__(self, num_classes: int = 3, fail_at: int | None = None) -> None:
        super().__init__()
        self.features = nn.AvgPool3d((1, 4, 4))
        self.fc = nn.Linear(1, num_classes)
        with torch.no_grad():
            weights = torch.linspace(1.0, -1.0, num_classes)
            self.fc.weight.copy_(weights.view(num_classes, 1))
            self.fc.bias.zero_()
        self.fail_at = fail_at
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise RuntimeError(f"model failure on forward call {self.calls}")
        activation = self.features(x.mean(1, keepdim=True))
        return self.fc(activation.mean(dim=(2, 3, 4)))


def tiny_config(labels_file: Path, *, name: str = TINY_MODEL, clip_len: int = 4) -> ModelConfig:
    """A registry entry for :class:`BrightnessNet` with small clips (``clip_len`` x 32 x 32)."""
    return ModelConfig(
        name=name,
        builder=lambda num_classes: BrightnessNet(num_classes),
        target_layers=("features",),
        head="fc",
        num_classes=len(TINY_LABELS),
        labels=str(labels_file),
        clip_len=clip_len,
        sampling_rate=1,
        crop_size=32,
        resize=32,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        description="videocam test model (brightness)",
    )


def write_labels(path: Path) -> Path:
    path.write_text("\n".join(TINY_LABELS) + "\n", encoding="utf-8")
    return path


def model_state(model: nn.Module) -> dict[str, object]:
    """Everything explain_video must leave as it was: hooks of every kind, parameter
    flags, values and gradients, buffers and training flags."""
    state: dict[str, object] = {}
    for name, module in model.named_modules():
        state[f"{name}:training"] = module.training
        for kind in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
            "_state_dict_hooks",
        ):
            state[f"{name}:{kind}"] = list(getattr(module, kind, {}).keys())
    for name, param in model.named_parameters():
        state[f"{name}:requires_grad"] = param.requires_grad
        state[f"{name}:grad"] = None if param.grad is None else param.grad.clone()
        state[f"{name}:value"] = param.detach().clone()
    for name, buffer in model.named_buffers():
        state[f"{name}:buffer"] = buffer.detach().clone()
    return state


def same_state(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """Keys whose values differ (tensors compared exactly)."""
    diff = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            if a.shape != b.shape or not torch.equal(a, b):
                diff.append(key)
        elif a != b:
            diff.append(key)
    return diff


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
