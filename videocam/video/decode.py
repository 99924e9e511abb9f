"""Streaming video decoding: RGB frames with their timestamps, one at a time.

:func:`open_video` opens a file with one of three backends and returns a
:class:`VideoReader`: a context manager whose :attr:`~VideoReader.info` describes the
video (:class:`VideoInfo`) and whose iteration yields :class:`Frame` objects (index,
presentation time in seconds, ``(H, W, 3)`` uint8 RGB image) in display order.

- ``"pyav"`` (default, always installed): FFmpeg through PyAV.
- ``"decord"``: the optional extra ``videocam[decord]``.
- ``"torchcodec"``: the optional extra ``videocam[torchcodec]``.

Optional backends are imported only when asked for; a missing one raises
:class:`~videocam.errors.MissingBackendError` naming the extra to install.

Behaviour shared by every backend:

- Errors are raised eagerly, by :func:`open_video`: the file is probed and its first
  frame decoded before the reader is returned. A missing path or a directory raises
  :class:`~videocam.errors.VideoNotFoundError`; an empty, corrupt, non-video or truncated
  file without a single decodable frame raises :class:`~videocam.errors.InvalidVideoError`;
  a file without a video stream (audio only) or whose video stream holds no frame raises
  :class:`~videocam.errors.NoVideoStreamError` (a subclass of ``InvalidVideoError``).
- A file whose first frames decode but whose end is broken (a truncated download) yields
  the frames that decode, then stops with a :class:`TruncatedVideoWarning`.
- Rotation metadata (the display matrix of phone videos) is applied: frames come out
  as they should be displayed, and ``info.width``/``info.height`` are the displayed
  sizes. Only rotations by multiples of 90 degrees are applied (flips are ignored).
- Timestamps come from the stream (``pts``), so variable frame rate videos have their
  true times; ``info.fps`` is the average rate.
- Memory is bounded: frames are decoded one at a time, nothing is kept. ``max_size``
  optionally downscales frames whose longer side exceeds it during decoding (inside
  FFmpeg's colour conversion), which bounds the memory of the later stages for very
  large videos.

Example:
    >>> from videocam.video import open_video
    >>> with open_video("clip.mp4") as reader:  # doctest: +SKIP
    ...     print(reader.info.fps, reader.info.num_frames)
    ...     for frame in reader:
    ...         print(frame.index, frame.time, frame.image.shape)

Public API:
    :func:`open_video`, :class:`VideoReader`, :class:`VideoInfo`, :class:`Frame`,
    :class:`TruncatedVideoWarning`, :data:`BACKENDS`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from videocam.errors import (
    InvalidVideoError,
    MissingBackendError,
    NoVideoStreamError,
    VideoNotFoundError,
)

__all__ = [
    "BACKENDS",
    "Frame",
    "TruncatedVideoWarning",
    "VideoInfo",
    "VideoReader",
    "open_video",
]

BACKENDS = ("pyav", "decord", "torchcodec")
"""Names accepted by :func:`open_video`."""

PathLike = str | os.PathLike[str]


class TruncatedVideoWarning(UserWarning):
    """Decoding stopped early: the end of the file is missing or corrupt."""


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video before decoding it all.

    Attributes:
        path: absolute path of the file.
        width: width of the frames as delivered (after rotation and ``max_size``).
        height: height of the frames as delivered.
        fps: average frame rate (float).
        num_frames: number of frames, from the container or estimated from the duration;
            ``None`` when unknown. Treat it as an estimate: iteration is the truth.
        duration: duration in seconds, or ``None`` when unknown.
        rotation: clockwise rotation in degrees (0, 90, 180, 270) applied to the coded
            frames to display them (the convention of the old ``rotate`` tag).
        codec: name of the video codec (e.g. ``"h264"``).
        backend: the backend that decodes the frames.
        frame_rate: the average frame rate as an exact fraction (e.g. 30000/1001).
    """

    path: Path
    width: int
    height: int
    fps: float
    num_frames: int | None
    duration: float | None
    rotation: int
    codec: str
    backend: str
    frame_rate: Fraction


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame.

    Attributes:
        index: 0-based position in display order.
        time: presentation time in seconds from the start of the video stream.
        image: ``(H, W, 3)`` uint8 RGB array, rotation applied.
    """

    index: int
    time: float
    image: np.ndarray

    def __repr__(self) -> str:
        return f"Frame(index={self.index}, time={self.time:.4f}, image={self.image.shape})"


def _check_path(path: PathLike) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise VideoNotFoundError(f"video file not found: {str(path)!r}")
    if path.is_dir():
        raise VideoNotFoundError(f"{str(path)!r} is a directory, not a video file")
    if not path.is_file():
        raise VideoNotFoundError(f"{str(path)!r} is not a regular file")
    if path.stat().st_size == 0:
        raise InvalidVideoError(f"{str(path)!r} is an empty file (0 bytes), not a video")
    return path.resolve()


def _scaled_size(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    if max_size is None or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class VideoReader:
    """A video opened for streaming decoding (base class of the backends).

    Use it as a context manager; iterate it to get :class:`Frame` objects. The first
    iteration continues from the probe (no frame is decoded twice); iterating again
    reopens the file and starts from the first frame.

    Attributes:
        info: the :class:`VideoInfo` of the video.
        truncated: after iteration, ``None`` if every frame decoded, else the message of
            the :class:`TruncatedVideoWarning` (the file ended early or broke).
        warn_truncated: issue that warning (set ``False`` when the caller checks
            :attr:`truncated` itself and treats it as an error).
    """

    info: VideoInfo
    truncated: str | None = None
    warn_truncated: bool = True

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file; closing twice is harmless."""

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()

    def __repr__(self) -> str:
        info = self.info
        return (
            f"{type(self).__name__}({str(info.path)!r}, {info.width}x{info.height}, "
            f"fps={info.fps:.3f}, frames={info.num_frames})"
        )


# --------------------------------------------------------------------------------------
# PyAV
# --------------------------------------------------------------------------------------
def _rotation_of(av_frame: Any) -> int:
    """Clockwise display rotation (0/90/180/270) of a decoded PyAV frame."""
    try:
        ccw = av_frame.rotation
    except Exception:  # no display matrix, or an old PyAV
        return 0
    if not ccw:
        return 0
    return int(round(-float(ccw) / 90.0)) % 4 * 90


def _rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate an (H, W, C) image clockwise by ``rotation`` degrees."""
    if rotation == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))


class _PyAVReader(VideoReader):
    def __init__(self, path: Path, max_size: int | None, threads: int) -> None:
        self._path = path
        self._max_size = max_size
        self._threads = threads
        self._container: Any = None
        self._pending: Iterator[Frame] | None = None
        self.info, self._pending = self._probe()

    def _open(self, threaded: bool = True) -> tuple[Any, Any]:
        import av

        try:
            container = av.open(str(self._path), mode="r")
        except Exception as error:  # FFmpegError, OSError, UnicodeDecodeError in metadata
            raise InvalidVideoError(
                f"cannot read {str(self._path)!r} as a video: {_one_line(error)}"
            ) from None
        if not container.streams.video:
            container.close()
            raise NoVideoStreamError(f"{str(self._path)!r} has no video stream")
        stream = container.streams.video[0]
        if threaded:
            stream.thread_type = "AUTO"
            if self._threads:
                stream.codec_context.thread_count = self._threads
        return container, stream

    def _probe(self) -> tuple[VideoInfo, Iterator[Frame]]:
        container, stream = self._open()
        self._container = container
        declared = int(stream.frames or 0)
        frames = self._decode(container, stream, rotation=None)
        try:
            first = next(frames)
        except StopIteration:
            self.close()
            if declared > 0:
                raise InvalidVideoError(
                    f"{str(self._path)!r} has no decodable video frame (truncated or corrupt)"
                ) from None
            raise NoVideoStreamError(f"{str(self._path)!r} has no video frames") from None
        except InvalidVideoError:
            self.close()
            raise
        # decoding may have reopened the file (see _decode): read the metadata from the
        # container now open
        container = self._container
        stream = container.streams.video[0]
        rotation = self._rotation
        height, width = first.image.shape[:2]
        time_base = stream.time_base
        duration: float | None = None
        if stream.duration and time_base:
            duration = float(stream.duration * time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        frame_rate = Fraction(rate) if rate else Fraction(0)
        if not frame_rate and duration and declared:
            frame_rate = Fraction(declared / duration).limit_denominator(1001)
        num_frames: int | None = declared or None
        if num_frames is None and duration and frame_rate:
            num_frames = max(1, round(duration * frame_rate))
        info = VideoInfo(
            path=self._path,
            width=width,
            height=height,
            fps=float(frame_rate),
            num_frames=num_frames,
            duration=duration,
            rotation=rotation,
            codec=stream.codec_context.name,
            backend="pyav",
            frame_rate=frame_rate,
        )
        return info, _chain(first, frames)

    def _decode(self, container: Any, stream: Any, rotation: int | None) -> Iterator[Frame]:
        """Demux and decode packet by packet; a broken packet ends the stream with a warning."""
        import av

        self._rotation = rotation if rotation is not None else 0
        time_base = stream.time_base
        start = stream.start_time or 0
        index = 0
        last_time = -math.inf
        step = 1.0 / float(stream.average_rate) if stream.average_rate else 0.0
        size: tuple[int, int] | None = None

        def convert(av_frame: Any) -> Frame:
            nonlocal index, last_time, size
            if index == 0 and rotation is None:
                self._rotation = _rotation_of(av_frame)
            if size is None:
                size = _scaled_size(av_frame.width, av_frame.height, self._max_size)
            if size != (av_frame.width, av_frame.height):
                image = av_frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
            else:
                image = av_frame.to_ndarray(format="rgb24")
            image = _rotate(image, self._rotation)
            if av_frame.pts is not None and time_base is not None:
                time = float((av_frame.pts - start) * time_base)
            else:
                time = last_time + step if index else 0.0
            last_time = time
            frame = Frame(index=index, time=time, image=image)
            index += 1
            return frame

        threaded = True  # _open turns frame threading on; a retry turns it off
        skip = 0  # frames already delivered, when decoding again after an error
        produced = 0  # frames decoded by the current attempt

        def fresh(decoded: list[Any]) -> list[Any]:
            nonlocal produced
            start = produced
            produced += len(decoded)
            return decoded[max(0, skip - start) :]

        while True:
            broken: str | None = None
            flushed = False
            produced = 0
            try:
                for packet in container.demux(stream):
                    flushed = packet.size == 0  # demux ends with an empty packet: a flush
                    try:
                        decoded = packet.decode()
                    except av.FFmpegError as error:
                        broken = _one_line(error)
                        if threaded or index:
                            break
                        continue  # keep looking for a first decodable frame
                    for av_frame in fresh(decoded):
                        yield convert(av_frame)
            except av.FFmpegError as error:  # demuxing failed (truncated file)
                broken = _one_line(error)
            if not flushed or broken:  # frames the decoder still holds back for reordering
                try:
                    for av_frame in fresh(stream.decode(None)):
                        yield convert(av_frame)
                except av.EOFError:
                    pass
                except av.FFmpegError as error:
                    broken = broken or _one_line(error)
            if not (broken and threaded):
                break
            # Frame threading loses the frames in flight when a packet is broken: decode
            # again on one thread, skipping the frames already delivered.
            container.close()
            container, stream = self._open(threaded=False)
            self._container = container
            threaded, skip = False, index
        declared = int(stream.frames or 0)
        if index and (broken or (declared and index < declared)):
            self.truncated = (
                f"{str(self._path)!r}: decoded {index} of "
                f"{declared or 'an unknown number of'} frames, the rest is missing or "
                f"corrupt ({broken or 'file ends early'})"
            )
            if self.warn_truncated:
                warnings.warn(self.truncated, TruncatedVideoWarning, stacklevel=2)

    def __iter__(self) -> Iterator[Frame]:
        if self._pending is not None:
            frames, self._pending = self._pending, None
            return _closing(frames, self)
        container, stream = self._open()
        self.close()
        self._container = container
        return _closing(self._decode(container, stream, rotation=self.info.rotation), self)

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()


def _chain(first: Frame, rest: Iterator[Frame]) -> Iterator[Frame]:
    yield first
    yield from rest


def _closing(frames: Iterator[Frame], reader: VideoReader) -> Iterator[Frame]:
    """Yield ``frames`` and release the reader's file once they are exhausted."""
    try:
        yield from frames
    finally:
        reader.close()


def _fit(image: np.ndarray, info: VideoInfo) -> np.ndarray:
    """Downscale a frame of the optional backends to the probed size (``max_size``)."""
    if image.shape[:2] == (info.height, info.width):
        return image
    import cv2

    return cv2.resize(image, (info.width, info.height), interpolation=cv2.INTER_AREA)


def _frames_by_chunks(
    info: VideoInfo,
    total: int,
    read_range: Callable[[int, int], tuple[Any, list[float]]],
    read_one: Callable[[int], tuple[np.ndarray, float]],
    chunk: int = 8,
    reader: VideoReader | None = None,
) -> Iterator[Frame]:
    """Frames of an index-based backend, read ``chunk`` at a time.

    A chunk that fails is retried frame by frame, so the frames before a broken one are
    still delivered; decoding stops at the first broken frame with a warning.
    """
    for begin in range(0, total, chunk):
        stop = min(begin + chunk, total)
        failure: BaseException | None = None
        try:
            images, times = read_range(begin, stop)
        except Exception:
            images, times = [], []
            for index in range(begin, stop):
                try:
                    image, time = read_one(index)
                except Exception as error:
                    failure = error
                    break
                images.append(image)
                times.append(time)
        for offset, time in enumerate(times):  # images: (N, H, W, 3) uint8
            image = _fit(np.ascontiguousarray(images[offset]), info)
            yield Frame(index=begin + offset, time=float(time), image=image)
        if failure is not None:
            message = (
                f"{str(info.path)!r}: decoded {begin + len(times)} of {total} frames, the "
                f"rest is missing or corrupt ({_one_line(failure)})"
            )
            if reader is not None:
                reader.truncated = message
            if reader is None or reader.warn_truncated:
                warnings.warn(message, TruncatedVideoWarning, stacklevel=2)
            return


# --------------------------------------------------------------------------------------
# decord
# --------------------------------------------------------------------------------------
def _import_optional(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingBackendError(
            f"the {extra} video backend is not installed: pip install videocam[{extra}] "
            f"({_one_line(error)})"
        ) from None
    except Exception as error:  # installed, but its native libraries fail to load
        raise MissingBackendError(
            f"the {extra} video backend is installed but cannot be loaded "
            f"({_one_line(error)}); reinstall it with pip install videocam[{extra}]"
        ) from None


class _DecordReader(VideoReader):
    """decord decodes; PyAV probes (same errors and metadata as ``"pyav"``).

    decord applies the rotation metadata itself (checked with decord 0.6.0). It cannot open
    a truncated MP4 at all: that raises :class:`~videocam.errors.InvalidVideoError`.
    """

    def __init__(self, path: Path, max_size: int | None, threads: int) -> None:
        decord = _import_optional("decord", "decord")
        probe = _PyAVReader(path, max_size, threads)
        probe.close()
        self._decord = decord
        self._path = path
        self._threads = threads
        self._max_size = max_size
        self._reader: Any = None
        reader = self._open()
        num_frames = len(reader)
        if num_frames == 0:
            raise NoVideoStreamError(f"{str(path)!r} has no video frames")
        self.info = VideoInfo(
            path=path,
            width=probe.info.width,
            height=probe.info.height,
            fps=probe.info.fps,
            num_frames=num_frames,
            duration=probe.info.duration,
            rotation=probe.info.rotation,
            codec=probe.info.codec,
            backend="decord",
            frame_rate=probe.info.frame_rate,
        )

    def _open(self) -> Any:
        try:
            self._reader = self._decord.VideoReader(str(self._path), num_threads=self._threads)
        except Exception as error:
            raise InvalidVideoError(
                f"decord cannot read {str(self._path)!r}: {_one_line(error)}"
            ) from None
        return self._reader

    def __iter__(self) -> Iterator[Frame]:
        reader = self._reader if self._reader is not None else self._open()
        self._reader = None
        return _closing(self._frames(reader), self)

    def _frames(self, reader: Any) -> Iterator[Frame]:
        def read_range(begin: int, stop: int) -> tuple[Any, list[float]]:
            indices = list(range(begin, stop))
            times = reader.get_frame_timestamp(indices)[:, 0].tolist()
            return reader.get_batch(indices).asnumpy(), times

        def read_one(index: int) -> tuple[np.ndarray, float]:
            return reader[index].asnumpy(), float(reader.get_frame_timestamp(index)[0])

        return _frames_by_chunks(self.info, len(reader), read_range, read_one, reader=self)

    def close(self) -> None:
        self._reader = None


# --------------------------------------------------------------------------------------
# torchcodec
# --------------------------------------------------------------------------------------
class _TorchCodecReader(VideoReader):
    """torchcodec decodes; PyAV probes (same errors and metadata as ``"pyav"``).

    torchcodec applies the rotation metadata itself (checked with torchcodec 0.17.0) and
    needs FFmpeg's shared libraries (4 to 8) installed on the system.
    """

    def __init__(self, path: Path, max_size: int | None, threads: int) -> None:
        decoders = _import_optional("torchcodec.decoders", "torchcodec")
        probe = _PyAVReader(path, max_size, threads)
        probe.close()
        self._decoders = decoders
        self._path = path
        self._max_size = max_size
        self._decoder: Any = self._open()
        self.info = VideoInfo(
            path=path,
            width=probe.info.width,
            height=probe.info.height,
            fps=probe.info.fps,
            num_frames=probe.info.num_frames,
            duration=probe.info.duration,
            rotation=probe.info.rotation,
            codec=probe.info.codec,
            backend="torchcodec",
            frame_rate=probe.info.frame_rate,
        )

    def _open(self) -> Any:
        try:
            return self._decoders.VideoDecoder(
                str(self._path), dimension_order="NHWC", seek_mode="approximate"
            )
        except Exception as error:
            if "load libtorchcodec" in str(error):  # FFmpeg's shared libraries are missing
                raise MissingBackendError(
                    "the torchcodec video backend cannot load FFmpeg's shared libraries "
                    "(install FFmpeg 4 to 9, e.g. apt install ffmpeg, and "
                    "pip install videocam[torchcodec]), or use backend='pyav'"
                ) from None
            raise InvalidVideoError(
                f"torchcodec cannot read {str(self._path)!r}: {_one_line(error)}"
            ) from None

    def __iter__(self) -> Iterator[Frame]:
        decoder = self._decoder if self._decoder is not None else self._open()
        self._decoder = None
        return _closing(self._frames(decoder), self)

    def _frames(self, decoder: Any) -> Iterator[Frame]:
        def read_range(begin: int, stop: int) -> tuple[Any, list[float]]:
            batch = decoder.get_frames_in_range(begin, stop)
            return batch.data.numpy(), batch.pts_seconds.tolist()

        def read_one(index: int) -> tuple[np.ndarray, float]:
            single = decoder.get_frame_at(index)
            return single.data.numpy(), float(single.pts_seconds)

        return _frames_by_chunks(self.info, len(decoder), read_range, read_one, reader=self)

    def close(self) -> None:
        self._decoder = None


# --------------------------------------------------------------------------------------
def open_video(
    path: PathLike,
    backend: str = "pyav",
    *,
    max_size: int | None = None,
    threads: int = 0,
) -> VideoReader:
    """Open a video for streaming decoding, checking it eagerly.

    Args:
        path: the video file.
        backend: ``"pyav"`` (default), ``"decord"`` or ``"torchcodec"``.
        max_size: if given, frames whose longer side is larger are downscaled to it
            (aspect kept) while decoding.
        threads: decoder threads; 0 lets FFmpeg choose.

    Returns:
        A :class:`VideoReader` (use it as a context manager).

    Raises:
        VideoNotFoundError: the path does not exist or is a directory.
        InvalidVideoError: the file is empty, corrupt, not a video, or has no decodable
            frame.
        NoVideoStreamError: the file has no video stream or no video frame.
        MissingBackendError: the optional backend is not installed.
        ValueError: unknown backend or invalid ``max_size``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown video backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size must be positive, got {max_size}")
    if backend == "decord":
        _import_optional("decord", "decord")
    elif backend == "torchcodec":
        _import_optional("torchcodec.decoders", "torchcodec")
    checked = _check_path(path)
    if backend == "pyav":
        return _PyAVReader(checked, max_size, threads)
    if backend == "decord":
        return _DecordReader(checked, max_size, threads)
    return _TorchCodecReader(checked, max_size, threads)
