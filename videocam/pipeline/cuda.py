"""Building blocks of the fast accelerator path of the explain pipeline.

On a GPU the explain pipeline is bound by moving frames, not by the model: a 1080p frame
is 6 MB as uint8 and 8 MB as a float32 heatmap. These pieces let every frame cross the
bus exactly once each way:

- :class:`HostBufferPool`: reusable page-locked (pinned) host buffers, so uploads and
  downloads are asynchronous (``non_blocking=True``) DMA copies.
- :class:`DeviceFrameStore`: uploads each decoded frame once (the frames a window is the
  first to cover, staged in one pinned buffer, copied on a side stream so decoding and the
  GPU overlap), builds the windows' clips from the device copies, and keeps each frame on
  the device until its overlay is drawn there.
- :func:`overlay_on_device`: colour mapping (a 256-entry lookup table) and alpha blending
  on the device, equal to :class:`videocam.video.FrameRenderer`'s OpenCV path to within one
  grey level; only the finished uint8 overlay comes back (:func:`download`).
- :func:`use_channels_last` / :func:`to_channels_last`: NDHWC memory for the models
  videocam builds itself (never a user's module), where cuDNN's tensor-core kernels want it.

Everything is plain torch and runs on any device; on the CPU (no pinned memory, no
streams) the same code takes the synchronous path, which is how it is tested without a GPU.

Example:
    >>> pool = HostBufferPool(pin=torch.cuda.is_available())            # doctest: +SKIP
    >>> store = DeviceFrameStore("cuda", pool)                          # doctest: +SKIP
    >>> store.add(windows)              # decode thread: new frames up, once  # doctest: +SKIP
    >>> frames = store.clip_frames(windows)  # (B*T, H, W, 3) uint8 on the GPU  # doctest: +SKIP
    >>> rgb = overlay_on_device(store.pop(indices), heatmaps, lut, 0.5)  # doctest: +SKIP
    >>> images = download(rgb, pool).wait()  # (N, H, W, 3) uint8 NumPy  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "DeviceFrameStore",
    "HostBufferPool",
    "HostCopy",
    "channels_last_inputs",
    "color_lut",
    "download",
    "overlay_on_device",
    "to_channels_last",
    "use_channels_last",
]


# --------------------------------------------------------------------------- pinned buffers
class HostBufferPool:
    """Reusable host buffers, page-locked when ``pin`` (needs CUDA).

    A buffer is handed out by :meth:`acquire` and comes back with :meth:`release`; a
    released buffer is reused for any later request that fits in it. ``pin=False`` gives
    ordinary memory (the CPU path, and tests).

    Args:
        pin: Page-lock the buffers (``torch.cuda.is_available()`` must be true).
    """

    def __init__(self, pin: bool) -> None:
        if pin and not torch.cuda.is_available():
            raise RuntimeError("pinned host buffers need CUDA")
        self.pin = pin
        self._free: list[torch.Tensor] = []
        self._lock = threading.Lock()
        self.allocated = 0  # buffers created so far (the pool's high-water mark)

    def acquire(self, shape: Sequence[int], dtype: torch.dtype = torch.uint8) -> torch.Tensor:
        """A host tensor of ``shape`` (a view into a pooled buffer of at least that size)."""
        size = int(np.prod(shape)) * torch.empty((), dtype=dtype).element_size()
        with self._lock:
            for i, buf in enumerate(self._free):
                if buf.numel() >= size:
                    del self._free[i]
                    return buf[:size].view(dtype).view(*shape)
        self.allocated += 1
        buf = torch.empty(size, dtype=torch.uint8, pin_memory=self.pin)
        return buf.view(dtype).view(*shape)

    def release(self, tensor: torch.Tensor) -> None:
        """Gives a buffer from :meth:`acquire` back (its copies must have finished)."""
        base = tensor
        while base._base is not None:  # the pooled byte buffer behind the views
            base = base._base
        with self._lock:
            self._free.append(base)


class HostCopy:
    """A device -> host copy in flight; :meth:`wait` gives the NumPy array.

    The array is a view of a pooled buffer: call :meth:`release` once it has been
    consumed (encoded), so the buffer can be reused.
    """

    def __init__(self, host: torch.Tensor, pool: HostBufferPool, event: Any) -> None:
        self._host = host
        self._pool = pool
        self._event = event

    def wait(self) -> np.ndarray:
        if self._event is not None:
            self._event.synchronize()
        return self._host.numpy()

    def release(self) -> None:
        self._pool.release(self._host)


def download(tensor: torch.Tensor, pool: HostBufferPool) -> HostCopy:
    """Starts copying ``tensor`` into a pooled host buffer without blocking the host.

    On CUDA the copy is queued on the current stream after the work that produced
    ``tensor`` and an event marks its end; elsewhere it is a plain copy.
    """
    host = pool.acquire(tuple(tensor.shape), tensor.dtype)
    if tensor.device.type == "cuda":
        host.copy_(tensor, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        return HostCopy(host, pool, event)
    host.copy_(tensor)
    return HostCopy(host, pool, None)


# --------------------------------------------------------------------------- frames on device
class DeviceFrameStore:
    """Decoded frames, each uploaded to ``device`` once and kept there until popped.

    Thread-safe: the decode thread :meth:`add`\\ s windows, the model thread reads clips
    and pops finished frames.

    Args:
        device: Where the frames go.
        pool: Pinned staging buffers (CUDA); ``None`` uploads from pageable memory.
    """

    def __init__(self, device: torch.device | str, pool: HostBufferPool | None = None) -> None:
        self.device = torch.device(device)
        self.pool = pool
        self._frames: dict[int, torch.Tensor] = {}
        self._lock = threading.Lock()
        self._stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
        self._ready: Any = None  # event after the latest upload (CUDA)
        self._staged: list[tuple[torch.Tensor, Any]] = []  # pinned buffers in flight
        self.uploaded = 0  # frames copied to the device so far

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, windows: Sequence[Any]) -> None:
        """Uploads the frames these windows are the first to cover (``new_frames``)."""
        frames = [f for w in windows for f in w.new_frames]
        if not frames:
            return
        images = [f.image for f in frames]
        if self._stream is not None:
            self._recycle()
            if self.pool is not None:
                host = self.pool.acquire((len(images), *images[0].shape))
                np.stack(images, out=host.numpy())  # the one host copy: decoder -> pinned
            else:
                host = torch.from_numpy(np.stack(images))
            with torch.cuda.stream(self._stream):
                stack = host.to(self.device, non_blocking=True)
                event = torch.cuda.Event()
                event.record(self._stream)
            self._ready = event
            if self.pool is not None:
                self._staged.append((host, event))
        else:  # CPU (or another device without streams): synchronous
            stack = torch.from_numpy(np.stack(images)).to(self.device)
        with self._lock:
            for frame, image in zip(frames, stack.unbind(0), strict=True):
                self._frames[frame.index] = image
        self.uploaded += len(frames)

    def _recycle(self) -> None:
        """Gives the staging buffers whose upload has finished back to the pool."""
        keep = []
        for host, event in self._staged:
            if event.query():
                self.pool.release(host)  # type: ignore[union-attr]
            else:
                keep.append((host, event))
        self._staged = keep

    def _sync(self, frames: list[torch.Tensor]) -> list[torch.Tensor]:
        """Makes the caller's current stream wait for the uploads so far, and tells the
        caching allocator that ``frames`` (allocated on the upload stream) are used on it."""
        if self._ready is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_event(self._ready)
            for frame in frames:
                frame.record_stream(current)
        return frames

    def clip_frames(self, windows: Sequence[Any]) -> torch.Tensor:
        """(B * T, H, W, 3) uint8 device frames of the windows' clips, in clip order."""
        with self._lock:
            frames = [self._frames[i] for w in windows for i in w.frame_indices]
        return torch.stack(self._sync(frames))

    def pop(self, indices: Sequence[int]) -> torch.Tensor:
        """(N, H, W, 3) device frames of ``indices``, forgotten by the store."""
        with self._lock:
            frames = [self._frames.pop(i) for i in indices]
        return torch.stack(self._sync(frames))


# --------------------------------------------------------------------------- overlay
def color_lut(colormap: str, device: torch.device | str) -> torch.Tensor:
    """(256, 3) uint8 RGB lookup table of a :data:`videocam.video.render.COLORMAPS` entry."""
    from videocam.video.render import _lut

    return torch.from_numpy(_lut(colormap).copy()).to(device)


def overlay_on_device(
    frames: torch.Tensor,
    heat: torch.Tensor,
    lut: torch.Tensor,
    alpha: float,
    heat_range: tuple[float, float] | None = (0.0, 1.0),
) -> torch.Tensor:
    """Colours heatmaps and blends them over frames, on the frames' device.

    Same arithmetic as the CPU renderer: levels = round(clip((heat - low) / (high - low),
    0, 1) * 255), colour = ``lut[levels]``, out = round((1 - alpha) * frame + alpha *
    colour), saturated.

    Args:
        frames: (N, H, W, 3) uint8 RGB.
        heat: (N, H, W) float heatmaps.
        lut: (256, 3) uint8 colours (:func:`color_lut`).
        alpha: weight of the colours, in [0, 1].
        heat_range: heat values mapped to the ends of the colour map (clipped); ``None``
            scales each frame by its own min and max (as ``FrameRenderer``).

    Returns:
        (N, H, W, 3) uint8 RGB overlays.
    """
    if frames.shape[:-1] != heat.shape or frames.shape[-1] != 3:
        raise ValueError(
            f"frames (N, H, W, 3) and heat (N, H, W) must match, got "
            f"{tuple(frames.shape)} and {tuple(heat.shape)}"
        )
    from videocam.video.render import heat_levels

    colours = lut[heat_levels(heat, heat_range).long()].float()
    out = frames.float().mul_(1.0 - alpha).add_(colours.mul_(alpha))
    return out.round_().clamp_(0, 255).to(torch.uint8)


# --------------------------------------------------------------------------- memory format
def use_channels_last(device: torch.device, amp: bool, registry_model: bool) -> bool:
    """Whether the NDHWC layout is worth it: on CUDA, under bf16 autocast (tensor-core
    convolutions in cuDNN prefer channels-last), and only for a model videocam built
    itself (a user's module is never converted)."""
    return registry_model and amp and device.type == "cuda"


def to_channels_last(model: nn.Module) -> nn.Module:
    """Converts a model videocam built to ``torch.channels_last_3d`` in place (5-D weights
    only; other parameters are untouched) and returns it."""
    return model.to(memory_format=torch.channels_last_3d)


def channels_last_inputs(inputs: torch.Tensor | list[torch.Tensor]) -> Any:
    """5-D clips (or a list of them) in ``channels_last_3d`` memory; other tensors as they are."""

    def convert(t: torch.Tensor) -> torch.Tensor:
        return t.contiguous(memory_format=torch.channels_last_3d) if t.ndim == 5 else t

    if isinstance(inputs, list):
        return [convert(t) for t in inputs]
    return convert(inputs)
