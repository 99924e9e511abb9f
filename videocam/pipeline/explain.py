"""``explain_video``: a video file in, heatmap MP4 + JSON sidecar out, streaming.

Three stages run at once, connected by bounded queues (so memory is bounded by a few
batches of windows, never by the video's length)::

    decode thread:  frames -> windows -> preprocessed clip batches  ──queue──▶
    model (caller): explain every method from ONE forward pass, stitch maps onto frames ──queue──▶
    render thread:  colour maps, captions, timeline -> H.264 MP4 (temp file, renamed at the end)

The wall time approaches the slowest stage instead of the sum. On CUDA each decoded frame
is uploaded once (through pinned staging buffers, on a side stream), the clips are built
and preprocessed from the device copies, and the heatmaps are coloured and blended over
the frames on the GPU; only the finished uint8 overlays come back, through pinned buffers
(:mod:`videocam.pipeline.cuda`). A failure in any stage
stops the others, deletes the temporary output and re-raises in the caller: no partial
file is ever left behind.
"""

from __future__ import annotations

import math
import numbers
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from videocam import cam as cam_engine
from videocam.errors import InvalidVideoError, VideocamError
from videocam.pipeline.cuda import (
    DeviceFrameStore,
    HostBufferPool,
    color_lut,
    download,
    overlay_on_device,
)
from videocam.pipeline.setup import (
    ResolvedModel,
    output_paths,
    removing_new_folders,
    resolve_model,
    window_spec_for,
)
from videocam.pipeline.sidecar import write_json_atomic
from videocam.video import (
    ClipPreprocessor,
    FrameRenderer,
    GifWriter,
    Stitcher,
    VideoWriter,
    batch_windows,
    iter_windows,
    open_video,
)

__all__ = ["ExplainResult", "WindowRecord", "explain_video", "explain_videos", "METHOD_TITLES"]

METHOD_TITLES = {
    "cam": "CAM",
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "guided-gradcam++": "Guided Grad-CAM++",
}
#: Frames whose longer side exceeds this are downscaled while decoding, unless
#: ``max_size`` asks for something else (the model sees a small crop anyway).
DECODE_MAX_SIZE = 1920
#: Keep frames on the model's device and blend the overlays there: ``"auto"`` does it on
#: CUDA (on the CPU, OpenCV's blend is faster); ``True``/``False`` force it (tests run the
#: device path on the CPU this way).
DEVICE_FRAMES: bool | str = "auto"
_DONE = object()


def _use_device_frames(device: torch.device) -> bool:
    if DEVICE_FRAMES == "auto":
        return device.type == "cuda"
    return bool(DEVICE_FRAMES)


@dataclass(frozen=True)
class WindowRecord:
    """One window of the video and what the model made of it."""

    index: int
    first_frame: int
    last_frame: int
    start_time: float
    end_time: float
    explained_class: int
    top_k: list[tuple[int, str, float]]  # (class, label, probability)

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "start_time": round(self.start_time, 6),
            "end_time": round(self.end_time, 6),
            "explained_class": self.explained_class,
            "top_k": [
                {"class": c, "label": label, "probability": round(p, 6)}
                for c, label, p in self.top_k
            ],
        }


@dataclass(frozen=True)
class ExplainResult:
    """What :func:`explain_video` produced.

    Attributes:
        video: The input file.
        output: The MP4.
        sidecar: The JSON sidecar next to it.
        gif: The GIF, if asked for.
        num_frames: Frames decoded and written.
        fps: Frame rate of the output.
        methods: Methods rendered, in panel order.
        windows: Per-window records (frames, times, top-k).
        importance: Per method, the per-frame importance curve (map mass per frame).
        predicted: Video-level top-k (mean of window probabilities): (class, label, prob).
        timings: Seconds spent in each stage (they overlap) and the wall time.
    """

    video: Path
    output: Path
    sidecar: Path
    gif: Path | None
    num_frames: int
    fps: float
    methods: tuple[str, ...]
    windows: list[WindowRecord]
    importance: dict[str, list[float]]
    predicted: list[tuple[int, str, float]]
    timings: dict[str, float] = field(default_factory=dict)


class _Stage(threading.Thread):
    """A daemon thread that records its exception for the caller."""

    def __init__(self, name: str, target: Callable[[], None], stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self._work = target
        self.stop = stop
        self.error: BaseException | None = None
        self.busy = 0.0

    def run(self) -> None:
        try:
            self._work()
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self.error = exc
            self.stop.set()


class _Caller:
    """The model stage runs in the caller's thread; this is its face towards the others."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.done = False

    def is_alive(self) -> bool:
        return not self.done


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event, producer: _Stage | _Caller) -> Any:
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set() or not producer.is_alive():
                if producer.error is not None:
                    raise producer.error from None
                if stop.is_set():
                    raise _Stopped() from None
                try:
                    return q.get_nowait()
                except queue.Empty:
                    raise _Stopped() from None


class _Stopped(Exception):
    """Another stage failed; this one stops quietly."""


def explain_video(
    video: str | Path,
    model: str | nn.Module | ResolvedModel = "c3d",
    *,
    output: str | Path | None = None,
    methods: Sequence[str] = ("gradcam++",),
    checkpoint: str | Path | None = None,
    labels: str | Path | list[str] | None = None,
    layer: str | Sequence[str] | None = None,
    target_class: int | None = None,
    top_k: int = 3,
    clip_len: int | None = None,
    sampling_rate: int | None = None,
    stride: int | None = None,
    batch_size: int = 4,
    device: str | torch.device | None = "cpu",
    amp: bool = False,
    colormap: str = "turbo",
    alpha: float = 0.5,
    layout: str = "overlay",
    timeline: bool = True,
    fps: float | None = None,
    max_size: int | None = None,
    gif: bool = False,
    backend: str = "pyav",
    allow_truncated: bool = False,
    progress: bool | Callable[[int], None] = False,
    on_frame: Callable[[int, dict[str, torch.Tensor]], None] | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> ExplainResult:
    """Explains a video with one or several CAM methods and writes a heatmap MP4.

    Args:
        video: The video file.
        model: A registry name (see ``videocam models``), an ``nn.Module`` (used as is,
            never modified), or a :class:`~videocam.pipeline.setup.ResolvedModel`.
        output: ``.mp4`` file or folder (default ``videocam-out/``); a JSON sidecar is
            written next to the MP4 with the same stem.
        methods: One or more of ``gradcam++``, ``gradcam``, ``cam``, ``guided-gradcam++``;
            each becomes a panel, all from one forward pass per batch.
        checkpoint: Weights for a registry model.
        labels: Label file or names (default: the model's).
        layer: Target layer(s) (default: the model's registered ones).
        target_class: Explain this class in every window (default: each window's top-1).
        top_k: Classes shown in captions and recorded per window.
        clip_len: Frames per clip (default: the model's).
        sampling_rate: Take every n-th frame into a clip (default: the model's).
        stride: Frames between window starts (default: a window's span: no overlap;
            smaller strides overlap windows and average their maps).
        batch_size: Windows per forward pass.
        device: ``cpu``, ``cuda``, ... (``None``: CUDA if available).
        amp: bfloat16 autocast for the forward pass (maps stay float32).
        colormap: ``turbo``, ``jet``, ``viridis`` or ``inferno``.
        alpha: Opacity of the heatmap over the frame.
        layout: ``overlay`` (one panel per method) or ``side-by-side`` (original first).
        timeline: Draw the importance strip under the panels (``False``: the output
            frames have exactly the panels' size, e.g. the source's size for ``overlay``).
        fps: Output frame rate (default: the source's).
        max_size: Downscale so the longer side is at most this many pixels (at least 2):
            frames are decoded at most this large and the output is scaled to fit.
        gif: Also write a GIF next to the MP4.
        backend: Video decoder: ``pyav``, ``decord`` or ``torchcodec``.
        allow_truncated: A file whose end is missing or corrupt (a broken download) is bad
            input by default (nothing is written); with ``True`` the frames that decode
            are explained and a ``TruncatedVideoWarning`` says what is missing.
        progress: Show a progress bar (``True``) or call ``progress(n_frames)`` per batch.
        on_frame: Called as ``on_frame(index, heatmaps)`` once per frame, in frame order,
            in the caller's thread, as soon as the frame's map is final. ``heatmaps`` maps
            each method to its ``(H, W)`` float32 map in [0, 1] (on the model's device) in
            the pixels of the decoded frame (the source's size unless it was downscaled
            while decoding, see ``max_size``), with the resize and crop undone (0 outside
            the crop). An exception raised by it stops the run like any other failure.
        extra_metadata: Added to the sidecar.

    Returns:
        An :class:`ExplainResult`.

    Raises:
        VideocamError: Bad input (missing or undecodable video, unknown model, layer or
            method, class out of range, unusable output path, ...); nothing is written.
    """
    with removing_new_folders(output):
        methods = _check_methods(methods)
        _check_output_options(fps, max_size)
        video = Path(video)
        (out_path,) = output_paths([video], output)
        resolved = (
            model
            if isinstance(model, ResolvedModel)
            else resolve_model(
                model,
                checkpoint=checkpoint,
                labels=labels,
                layers=layer,
                clip_len=clip_len,
                sampling_rate=sampling_rate,
                device=device,
            )
        )
        resolved.check_class(target_class)
        if not isinstance(top_k, int) or top_k < 1:
            raise VideocamError(f"top_k must be a positive integer, got {top_k!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise VideocamError(f"batch_size must be a positive integer, got {batch_size!r}")
        spec = window_spec_for(resolved, stride)
        layers = list(resolved.target_layers) or None
        explainer = cam_engine.MultiCAM(resolved.model, layers, methods=methods)
        renderers = [
            FrameRenderer(
                colormap=colormap,
                alpha=alpha,
                layout=layout if i == 0 else "overlay",
                timeline=timeline,
            )
            for i in range(len(methods))
        ]
        decode_max = max_size if max_size is not None else DECODE_MAX_SIZE
        started = time.perf_counter()
        with open_video(video, backend=backend, max_size=decode_max) as reader:
            info = reader.info
            expected = info.num_frames
            for renderer in renderers:
                renderer.expected_frames = expected
                renderer.reset()
            out_fps = fps if fps is not None else info.frame_rate
            runner = _Run(
                resolved=resolved,
                explainer=explainer,
                methods=methods,
                renderers=renderers,
                target_class=target_class,
                top_k=min(top_k, resolved.num_classes) if resolved.num_classes else top_k,
                amp=amp,
                progress=progress,
                on_frame=on_frame,
                expected_frames=expected,
                device_frames=_use_device_frames(resolved.device),
            )
            preprocessor = ClipPreprocessor(resolved.preset, device=resolved.device)
            writer = VideoWriter(out_path, out_fps, max_size=max_size)
            gif_writer = (
                GifWriter(out_path.with_suffix(".gif"), float(out_fps), max_size=max_size)
                if gif
                else None
            )
            try:
                reader.warn_truncated = allow_truncated
                runner.run(reader, spec, batch_size, preprocessor, writer, gif_writer)
                if reader.truncated is not None and not allow_truncated:
                    raise InvalidVideoError(
                        f"{reader.truncated}; pass allow_truncated=True (--allow-truncated) "
                        "to explain the frames that decode"
                    )
                sidecar_path = out_path.with_suffix(".json")
                predicted = runner.video_top_k()
                sidecar = _sidecar(
                    video,
                    out_path,
                    resolved,
                    methods,
                    info,
                    spec,
                    runner,
                    predicted,
                    extra_metadata,
                )
                temp_sidecar = write_json_atomic(sidecar_path, sidecar, commit=False)
                try:
                    writer.close()
                    if gif_writer is not None:
                        gif_writer.close()
                except BaseException:
                    temp_sidecar.unlink(missing_ok=True)
                    raise
                temp_sidecar.replace(sidecar_path)
            except BaseException:
                writer.abort()
                if gif_writer is not None:
                    gif_writer.abort()
                raise
        timings = dict(runner.timings, wall=time.perf_counter() - started)
        return ExplainResult(
            video=video,
            output=out_path,
            sidecar=sidecar_path,
            gif=out_path.with_suffix(".gif") if gif else None,
            num_frames=runner.frames_written,
            fps=float(out_fps),
            methods=tuple(methods),
            windows=runner.windows,
            importance=runner.importance,
            predicted=predicted,
            timings=timings,
        )


def explain_videos(
    videos: Sequence[str | Path], model: str | nn.Module | ResolvedModel = "c3d", **kwargs: Any
) -> Iterator[tuple[Path, ExplainResult | VideocamError]]:
    """Explains several videos with one model (built once). Yields ``(video, result or
    error)`` pairs: a bad video does not stop the others."""
    output = kwargs.pop("output", None)
    paths = [Path(v) for v in videos]
    with removing_new_folders(output):  # a folder it made stays only if something is in it
        outputs = output_paths(paths, output)
        resolve_keys = ("checkpoint", "labels", "clip_len", "sampling_rate", "device")
        resolve_args = {k: kwargs.pop(k) for k in resolve_keys if k in kwargs}
        if "layer" in kwargs:
            resolve_args["layers"] = kwargs.pop("layer")
        resolved = (
            model if isinstance(model, ResolvedModel) else resolve_model(model, **resolve_args)
        )
        for video, out in zip(paths, outputs, strict=True):
            try:
                yield video, explain_video(video, resolved, output=out, **kwargs)
            except VideocamError as exc:
                yield video, exc


def _check_output_options(fps: Any, max_size: Any) -> None:
    """Bad ``fps``/``max_size`` are bad input (VideocamError), caught before any work."""
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < float(fps) < math.inf
    ):
        raise VideocamError(f"fps must be a positive number, got {fps!r}")
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, numbers.Integral) or max_size < 2
    ):
        raise VideocamError(f"max_size must be an integer of at least 2 pixels, got {max_size!r}")


def _check_methods(methods: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    methods = tuple(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in METHOD_TITLES]
    if unknown or not methods:
        raise VideocamError(
            f"unknown method {', '.join(unknown) or '(none)'}; choose from {', '.join(METHOD_TITLES)}"
        )
    return methods


class _Run:
    """State of one explain_video run: the three stages and what they record."""

    def __init__(
        self,
        *,
        resolved: ResolvedModel,
        explainer: cam_engine.MultiCAM,
        methods: tuple[str, ...],
        renderers: list[FrameRenderer],
        target_class: int | None,
        top_k: int,
        amp: bool,
        progress: bool | Callable[[int], None],
        on_frame: Callable[[int, dict[str, torch.Tensor]], None] | None,
        expected_frames: int | None,
        device_frames: bool = False,
    ) -> None:
        self.resolved = resolved
        self.explainer = explainer
        self.methods = methods
        self.renderers = renderers
        self.target_class = target_class
        self.top_k = top_k
        self.amp = amp
        self.progress = progress
        self.on_frame = on_frame
        self.expected_frames = expected_frames
        self.windows: list[WindowRecord] = []
        self.importance: dict[str, list[float]] = {m: [] for m in methods}
        self.frames_written = 0
        self.timings: dict[str, float] = {"decode": 0.0, "model": 0.0, "render": 0.0}
        self._prob_sum: torch.Tensor | None = None
        self._captions: deque[WindowRecord] = deque()
        self.store: DeviceFrameStore | None = None
        if device_frames:
            device = resolved.device
            self.pool = HostBufferPool(pin=device.type == "cuda")
            self.store = DeviceFrameStore(device, self.pool if self.pool.pin else None)
            self.luts = [color_lut(r.colormap, device) for r in renderers]

    # ------------------------------------------------------------------ stages
    def run(self, reader, spec, batch_size, preprocessor, writer, gif_writer) -> None:
        stop = threading.Event()
        batches: queue.Queue = queue.Queue(maxsize=2)
        frames_out: queue.Queue = queue.Queue(maxsize=4)

        def decode() -> None:
            clock = time.perf_counter()
            for batch in batch_windows(iter_windows(reader, spec), batch_size):
                if self.store is not None:  # each frame goes up once; clips built there
                    self.store.add(batch)
                    frames = self.store.clip_frames(batch)  # (B*T, H, W, 3) uint8
                    clips = preprocessor.batch(frames.unflatten(0, (len(batch), -1)))
                else:
                    clips = preprocessor.batch([w.images for w in batch])
                if clips.device.type == "cpu" and self.resolved.device.type == "cuda":
                    clips = clips.pin_memory()
                self.timings["decode"] += time.perf_counter() - clock
                if not _put(batches, (batch, clips), stop):
                    return
                clock = time.perf_counter()
            self.timings["decode"] += time.perf_counter() - clock
            _put(batches, _DONE, stop)

        def render() -> None:
            bar = self._progress_bar()
            try:
                while True:
                    item = _get(frames_out, stop, caller)
                    if item is _DONE:
                        return
                    clock = time.perf_counter()
                    frames, copies = item
                    overlays = {m: c.wait() for m, c in copies.items()}
                    for i, (frame_image, panels) in enumerate(frames):
                        composed = self._compose(frame_image, panels, overlays, i)
                        writer.write(composed)
                        if gif_writer is not None:
                            gif_writer.write(composed)
                        self.frames_written += 1
                    for copy in copies.values():
                        copy.release()
                    self.timings["render"] += time.perf_counter() - clock
                    if bar is not None:
                        bar.update(len(frames))
                    elif callable(self.progress):
                        self.progress(len(frames))
            finally:
                if bar is not None:
                    bar.close()

        caller = _Caller()
        decoder = _Stage("videocam-decode", decode, stop)
        renderer = _Stage("videocam-render", render, stop)
        decoder.start()
        renderer.start()
        finished = False
        try:
            self._model_stage(batches, frames_out, stop, decoder, preprocessor)
            caller.done = True
            renderer.join()
            finished = True
        except _Stopped:
            pass  # another stage failed: its error is raised below
        finally:
            caller.done = True
            if not finished:
                stop.set()
            decoder.join()
            renderer.join()
        for stage in (decoder, renderer):
            if stage.error is not None:
                raise stage.error
        if not finished:  # pragma: no cover - every stop has a recorded cause
            raise RuntimeError("the explain pipeline stopped without an error")

    def _model_stage(self, batches, frames_out, stop, decoder, preprocessor) -> None:
        stitchers = {m: Stitcher() for m in self.methods}
        guided = [Stitcher() for _ in range(3)] if "guided-gradcam++" in self.methods else None
        geometry = None
        while True:
            item = _get(batches, stop, decoder)
            if item is _DONE:
                break
            windows, clips = item
            if geometry is None:
                height, width = windows[0].images[0].shape[:2]
                geometry = preprocessor.geometry(height, width)
                for stitcher in stitchers.values():
                    stitcher.geometry = geometry
            clock = time.perf_counter()
            results = self._explain(clips)
            self.timings["model"] += time.perf_counter() - clock
            for b, window in enumerate(windows):
                self._record(window, results, b)
                emitted = {m: stitchers[m].add(window, results[m].maps[b, 0]) for m in self.methods}
                guided_frames = self._add_guided(guided, window, results, b)
                self._forward_frames(emitted, guided_frames, frames_out, stop)
        emitted = {m: stitchers[m].finish() for m in self.methods}
        guided_frames = [s.finish() for s in guided] if guided is not None else None
        self._forward_frames(emitted, guided_frames, frames_out, stop)
        if not _put(frames_out, _DONE, stop):
            raise _Stopped()

    def _explain(self, clips: torch.Tensor) -> dict[str, cam_engine.CAMResult]:
        inputs = self.resolved.prepare_inputs(clips.to(self.resolved.device, non_blocking=True))
        batch = clips.shape[0]
        target = None if self.target_class is None else [self.target_class] * batch
        autocast = (
            torch.autocast(self.resolved.device.type, dtype=torch.bfloat16)
            if self.amp
            else nullcontext()
        )
        with autocast:
            # MultiCAM returns {method: CAMResult}; its base class annotates one CAMResult
            return cast(dict[str, cam_engine.CAMResult], self.explainer(inputs, target=target))

    def _record(self, window, results, b: int) -> None:
        first = next(iter(results.values()))
        probs = first.logits[b].float().softmax(0)
        self._prob_sum = (
            probs.detach().clone() if self._prob_sum is None else self._prob_sum + probs
        )
        k = min(self.top_k, probs.numel())
        values, indices = probs.topk(k)
        labels = self.resolved.labels
        top = [
            (int(c), labels[int(c)] if int(c) < len(labels) else str(int(c)), float(p))
            for p, c in zip(values.tolist(), indices.tolist(), strict=True)
        ]
        record = WindowRecord(
            index=window.index,
            first_frame=window.first_frame,
            last_frame=window.last_frame,
            start_time=window.start_time,
            end_time=window.end_time,
            explained_class=int(first.classes[b, 0]),
            top_k=top,
        )
        self.windows.append(record)
        self._captions.append(record)

    @staticmethod
    def _add_guided(guided, window, results, b):
        if guided is None:
            return None
        gradients = results["guided-gradcam++"].guided[b, 0]  # (3, T, h, w), crop space
        return [s.add(window, gradients[c]) for c, s in enumerate(guided)]

    def _forward_frames(self, emitted, guided_frames, frames_out, stop) -> None:
        first = emitted[self.methods[0]]
        if not first:
            return
        items = []
        for i, done in enumerate(first):
            index = done.frame.index
            if self.on_frame is not None:
                self.on_frame(index, {m: emitted[m][i].heatmap for m in self.methods})
            while len(self._captions) > 1 and self._captions[1].first_frame <= index:
                self._captions.popleft()
            caption = self._captions[0] if self._captions else None
            panels = []
            for m in self.methods:
                frame = emitted[m][i]
                self.importance[m].append(float(frame.importance))
                guide = None
                if m == "guided-gradcam++" and guided_frames is not None:
                    guide = torch.stack([g[i].heatmap for g in guided_frames]).cpu().numpy()
                panels.append(
                    (
                        m,
                        None if self.store is not None else frame.heatmap.cpu().numpy(),
                        float(frame.importance),
                        guide,
                        caption,
                    )
                )
            items.append((done.frame.image, panels))
        copies = self._overlays_on_device(first, emitted) if self.store is not None else {}
        if not _put(frames_out, (items, copies), stop):
            raise _Stopped()

    def _overlays_on_device(self, first, emitted) -> dict[str, Any]:
        """Colour and blend the emitted frames' heatmaps over the frames on the device;
        start copying the uint8 overlays back (pinned buffers, asynchronous on CUDA)."""
        assert self.store is not None
        frames = self.store.pop([done.frame.index for done in first])  # (N, H, W, 3)
        copies = {}
        for renderer, lut, m in zip(self.renderers, self.luts, self.methods, strict=True):
            heat = torch.stack([frame.heatmap for frame in emitted[m]])
            rgb = overlay_on_device(frames, heat, lut, renderer.alpha, renderer.heat_range)
            copies[m] = download(rgb, self.pool)
        return copies

    def _compose(self, image: np.ndarray, panels, overlays=None, index: int = 0) -> np.ndarray:
        rendered = []
        for renderer, (method, heat, importance, guide, caption) in zip(
            self.renderers, panels, strict=True
        ):
            lines: list[Any] = [METHOD_TITLES[method]]
            if caption is not None:
                lines += [(label, p) for _, label, p in caption.top_k]
            # a copy: the caption is drawn on it and the pooled buffer is reused
            overlay = overlays[method][index].copy() if overlays else None
            rendered.append(
                renderer.render(
                    image,
                    heat,
                    importance=importance,
                    caption=lines,
                    guided=guide,
                    overlay=overlay,
                )
            )
        return rendered[0] if len(rendered) == 1 else np.concatenate(rendered, axis=1)

    def _progress_bar(self):
        if self.progress is not True:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.expected_frames, unit="frame", desc="explain", leave=False)

    def video_top_k(self) -> list[tuple[int, str, float]]:
        if self._prob_sum is None:
            return []
        mean = self._prob_sum / max(1, len(self.windows))
        values, indices = mean.topk(min(self.top_k, mean.numel()))
        labels = self.resolved.labels
        return [
            (int(c), labels[int(c)] if int(c) < len(labels) else str(int(c)), float(p))
            for p, c in zip(values.tolist(), indices.tolist(), strict=True)
        ]


def _sidecar(video, out_path, resolved, methods, info, spec, runner, predicted, extra) -> dict:
    from videocam import __version__

    def finite(values: list[float]) -> list[float]:
        return [round(v, 6) if math.isfinite(v) else 0.0 for v in values]

    data = {
        "schema": "videocam.explain/1",
        "videocam_version": __version__,
        "torch_version": torch.__version__,
        "video": str(video),
        "output": out_path.name,
        "model": resolved.name,
        "checkpoint": resolved.checkpoint,
        "target_layers": list(runner.explainer.target_layers),
        "methods": list(methods),
        "device": str(resolved.device),
        "clip_len": spec.clip_len,
        "sampling_rate": spec.sampling_rate,
        "stride": spec.step,
        "source": {
            "width": info.width,
            "height": info.height,
            "fps": float(info.fps),
            "rotation": info.rotation,
        },
        "num_frames": runner.frames_written,
        "predicted": [
            {"class": c, "label": label, "probability": round(p, 6)} for c, label, p in predicted
        ],
        "windows": [w.as_json() for w in runner.windows],
        "importance": {m: finite(v) for m, v in runner.importance.items()},
    }
    if extra:
        data.update(extra)
    return data
