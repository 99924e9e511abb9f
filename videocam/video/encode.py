"""Writing frames to browser-playable MP4 (and GIF) files, atomically.

The MP4 is H.264 (libx264) in yuv420p with ``movflags=+faststart`` (the ``moov`` index
before the media data, so browsers start playing before the download ends), the exact
frame rate asked for (``30000/1001`` stays ``30000/1001``), and even width and height:
libx264 refuses odd sizes in yuv420p, so an odd frame is padded by one row or column that
repeats its edge (a 321x241 video is written as 322x242).

Every writer writes to a hidden temporary file in the destination folder
(``.name.<random>.part.mp4``) and renames it onto the destination only when
:meth:`VideoWriter.close` finished: a failure (an exception inside the ``with`` block, a
crash of the encoder, :meth:`VideoWriter.abort`) never leaves a partial file behind.

Example:
    >>> import numpy as np
    >>> from videocam.video.encode import VideoWriter
    >>> with VideoWriter("out.mp4", fps=25) as writer:  # doctest: +SKIP
    ...     for i in range(50):
    ...         writer.write(np.full((240, 320, 3), i * 5, np.uint8))

Public API:
    :class:`VideoWriter`, :func:`write_video`, :class:`GifWriter`, :func:`write_gif`,
    :func:`check_output_path`, :func:`as_fraction`, :func:`even_size`.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from videocam.errors import InputShapeError, OutputPathError, VideocamError

__all__ = [
    "GifWriter",
    "VideoWriter",
    "as_fraction",
    "check_output_path",
    "even_size",
    "write_gif",
    "write_video",
]

PathLike = str | os.PathLike[str]


def as_fraction(fps: float | Fraction) -> Fraction:
    """Turn a frame rate into an exact fraction.

    Integral rates stay integers, the NTSC family (``23.976``, ``29.97``, ``59.94``, or
    the float of ``30000/1001``) becomes ``N*1000/1001``, anything else is approximated
    with a denominator of at most 1001.

    Args:
        fps: frames per second, a positive float, int or :class:`~fractions.Fraction`.

    Returns:
        The frame rate as a fraction.

    Raises:
        ValueError: if ``fps`` is not a finite positive number.
    """
    if isinstance(fps, Fraction):
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        return fps
    value = float(fps)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"fps must be a finite positive number, got {fps!r}")
    if abs(value - round(value)) < 1e-9:
        return Fraction(round(value))
    ntsc = round(value * 1.001)
    if ntsc > 0 and abs(value - ntsc * 1000 / 1001) < 1e-3:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(value).limit_denominator(1001)


def even_size(width: int, height: int, max_size: int | None = None) -> tuple[int, int]:
    """The output size of a frame: optionally downscaled, then made even.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        max_size: if given, the longer side is scaled down to at most this many pixels,
            keeping the aspect ratio (never scaled up).

    Returns:
        ``(width, height)``, both even and at least 2.
    """
    if max_size is not None:
        if max_size < 2:
            raise ValueError(f"max_size must be at least 2, got {max_size}")
        longer = max(width, height)
        if longer > max_size:
            scale = max_size / longer
            width = max(2, 2 * round(width * scale / 2))
            height = max(2, 2 * round(height * scale / 2))
    return width + (width % 2), height + (height % 2)


def _fit_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (area) and/or edge-pad an RGB frame to ``size`` = (width, height)."""
    height, width = frame.shape[:2]
    out_w, out_h = size
    pad_h, pad_w = out_h - height, out_w - width
    if pad_h not in (0, 1) or pad_w not in (0, 1):
        # downscaled (max_size): resize straight to the (even) output size
        return cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_AREA)
    if pad_h or pad_w:
        frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frame


def _check_frame(frame: Any) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", type(frame).__name__)
        raise InputShapeError(f"a frame must be an (H, W, 3) uint8 RGB array, got {shape}")
    if frame.dtype != np.uint8:
        raise InputShapeError(f"a frame must be uint8, got {frame.dtype}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise InputShapeError(f"a frame must not be empty, got shape {frame.shape}")
    return frame


def _size_changed(path: Path, before: tuple[int, int] | None, frame: np.ndarray) -> InputShapeError:
    width, height = before or (0, 0)
    return InputShapeError(
        f"frame size changed from {width}x{height} to {frame.shape[1]}x{frame.shape[0]} "
        f"in {str(path)!r}"
    )


def _writable_folder(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried for real: root ignores modes)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".videocam-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def check_output_path(output: PathLike, inputs: Iterable[PathLike] = ()) -> Path:
    """Check that a file can be written at ``output`` without harming an input.

    Args:
        output: the file to be written.
        inputs: input files that must not be overwritten.

    Returns:
        ``output`` as an absolute path.

    Raises:
        OutputPathError: if ``output`` is a folder, is the same file as one of ``inputs``
            (after resolving links), or its folder does not exist or is not writable.
    """
    path = Path(output).expanduser()
    resolved = path.resolve()
    if resolved.is_dir():
        raise OutputPathError(f"output path {str(path)!r} is a directory, not a file")
    for item in inputs:
        source = Path(item).expanduser()
        same = source.resolve() == resolved
        if not same and source.exists() and path.exists():
            same = os.path.samefile(source, path)
        if same:
            raise OutputPathError(
                f"output path {str(path)!r} is the input file {str(source)!r}; "
                "choose another output"
            )
    folder = resolved.parent
    if not folder.is_dir():
        raise OutputPathError(f"output folder {str(folder)!r} does not exist")
    if not _writable_folder(folder):
        raise OutputPathError(f"output folder {str(folder)!r} is not writable")
    return resolved


def _temp_path(path: Path) -> Path:
    """A hidden, unused sibling of ``path``: ``.name.<random>.part<suffix>``."""
    while True:
        candidate = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.part{path.suffix}")
        if not candidate.exists():
            return candidate


class _AtomicFile:
    """Common life cycle: write to a temporary sibling, rename on close, delete on abort."""

    def __init__(self, path: PathLike) -> None:
        self.path = check_output_path(path)
        self._temp: Path | None = None
        self._closed = False
        self._frames = 0

    @property
    def frames_written(self) -> int:
        """Number of frames written so far."""
        return self._frames

    @property
    def closed(self) -> bool:
        """Whether the writer was closed or aborted."""
        return self._closed

    def _ensure_open(self) -> None:
        if self._closed:
            raise ValueError(f"write to a closed writer of {str(self.path)!r}")

    def _remove_temp(self) -> None:
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp.unlink()
            self._temp = None

    def _commit(self) -> None:
        assert self._temp is not None
        os.replace(self._temp, self.path)
        self._temp = None

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> _AtomicFile:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # A writer dropped without close() must not leave its temporary file behind.
        if getattr(self, "_closed", True) is False:
            with contextlib.suppress(Exception):
                self.abort()


class VideoWriter(_AtomicFile):
    """Streaming H.264 MP4 writer (browser-playable), written atomically.

    The frame size is fixed by the first frame; every later frame must have the same
    shape. Frames are encoded as they arrive: memory does not grow with the video.

    Args:
        path: destination file (``.mp4``; other suffixes are passed to FFmpeg as is).
        fps: frame rate, float or :class:`~fractions.Fraction` (see :func:`as_fraction`).
        crf: libx264 constant rate factor (0 lossless ... 51 worst; 23 is the default).
        preset: libx264 speed preset (``ultrafast`` ... ``veryslow``).
        max_size: if given, frames whose longer side exceeds it are downscaled to it
            (aspect kept, even sizes).

    Raises:
        OutputPathError: at construction, if the destination cannot be written.
        ValueError: if ``fps`` or ``crf`` is invalid.

    Example:
        >>> with VideoWriter("out.mp4", fps=30000 / 1001, max_size=640) as w:  # doctest: +SKIP
        ...     w.write(frame)
    """

    def __init__(
        self,
        path: PathLike,
        fps: float | Fraction,
        *,
        crf: int = 23,
        preset: str = "veryfast",
        max_size: int | None = None,
    ) -> None:
        self.fps = as_fraction(fps)
        if not 0 <= int(crf) <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf}")
        if max_size is not None and max_size < 2:
            raise ValueError(f"max_size must be at least 2, got {max_size}")
        super().__init__(path)
        self.crf = int(crf)
        self.preset = preset
        self.max_size = max_size
        self.input_size: tuple[int, int] | None = None  # (width, height) of the frames given
        self.size: tuple[int, int] | None = None  # (width, height) written
        self._container: Any = None
        self._stream: Any = None

    def _open(self, frame: np.ndarray) -> None:
        import av

        height, width = frame.shape[:2]
        self.input_size = (width, height)
        self.size = even_size(width, height, self.max_size)
        self._temp = _temp_path(self.path)
        options = (
            {"movflags": "+faststart"}
            if self.path.suffix.lower() in (".mp4", ".mov", ".m4v")
            else {}
        )
        try:
            self._container = av.open(
                str(self._temp), mode="w", format=_format_for(self.path), options=options
            )
            stream = self._container.add_stream("libx264", rate=self.fps)
            stream.width, stream.height = self.size
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            stream.codec_context.time_base = 1 / self.fps
            self._stream = stream
        except Exception:
            self.abort()
            raise

    def write(self, frame: np.ndarray) -> None:
        """Encode one frame.

        Args:
            frame: an ``(H, W, 3)`` uint8 RGB array; ``H, W`` equal to the first frame's.

        Raises:
            InputShapeError: if the frame is not ``(H, W, 3)`` uint8 or its size changed.
            ValueError: if the writer is closed.
        """
        self._ensure_open()
        frame = _check_frame(frame)
        if self._container is None:
            self._open(frame)
        elif (frame.shape[1], frame.shape[0]) != self.input_size:
            raise _size_changed(self.path, self.input_size, frame)
        import av

        assert self.size is not None  # set by _open
        try:
            data = _fit_frame(np.ascontiguousarray(frame), self.size)
            video_frame = av.VideoFrame.from_ndarray(data, format="rgb24")
            video_frame.pts = self._frames
            video_frame.time_base = self._stream.codec_context.time_base
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        except Exception:
            self.abort()
            raise
        self._frames += 1

    def close(self) -> None:
        """Flush the encoder, finish the file and rename it onto the destination.

        Closing twice is harmless.

        Raises:
            VideocamError: if no frame was written (an MP4 needs at least one frame); no
                file is left behind.
        """
        if self._closed:
            return
        if self._container is None:
            self._closed = True
            raise VideocamError(f"no frame was written to {str(self.path)!r}; nothing saved")
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            self._container = None
            self._commit()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def abort(self) -> None:
        """Stop writing and delete the temporary file; the destination is not touched."""
        self._closed = True
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        self._remove_temp()

    def __enter__(self) -> VideoWriter:
        return self


def _format_for(path: Path) -> str | None:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}.get(
        path.suffix.lower()
    )


def write_video(
    path: PathLike, frames: Iterable[np.ndarray], fps: float | Fraction, **kw: Any
) -> Path:
    """Write all ``frames`` to an MP4 at ``path`` (see :class:`VideoWriter`).

    Args:
        path: destination file.
        frames: ``(H, W, 3)`` uint8 RGB arrays, consumed lazily.
        fps: frame rate.
        **kw: ``crf``, ``preset``, ``max_size`` of :class:`VideoWriter`.

    Returns:
        The absolute destination path.
    """
    with VideoWriter(path, fps, **kw) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path


class GifWriter(_AtomicFile):
    """Animated GIF writer (imageio + Pillow), written atomically, looping forever.

    GIF stores delays in hundredths of a second, so the frame rate is rounded to that.
    Pillow assembles the animation at close, so the frames are kept (palettised) until
    then: use GIFs for short previews, MP4 for whole videos.

    Args:
        path: destination file (``.gif``).
        fps: frame rate.
        max_size: if given, the longer side is downscaled to at most this many pixels.
        loop: number of loops, 0 meaning forever.
    """

    def __init__(
        self, path: PathLike, fps: float | Fraction, *, max_size: int | None = None, loop: int = 0
    ) -> None:
        self.fps = as_fraction(fps)
        super().__init__(path)
        self.max_size = max_size
        self.loop = loop
        self.input_size: tuple[int, int] | None = None
        self.size: tuple[int, int] | None = None
        self._writer: Any = None

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 RGB frame (same size as the first)."""
        self._ensure_open()
        frame = _check_frame(frame)
        if self._writer is None:
            import imageio.v3 as iio

            height, width = frame.shape[:2]
            self.input_size = (width, height)
            width_out, height_out = width, height
            if self.max_size is not None and max(width, height) > self.max_size:
                scale = self.max_size / max(width, height)
                width_out, height_out = max(1, round(width * scale)), max(1, round(height * scale))
            self.size = (width_out, height_out)
            self._temp = _temp_path(self.path)
            try:
                self._writer = iio.imopen(self._temp, "w", extension=".gif", plugin="pillow")
            except Exception:
                self.abort()
                raise
        elif (frame.shape[1], frame.shape[0]) != self.input_size:
            raise _size_changed(self.path, self.input_size, frame)
        if self.size is not None and (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        try:
            self._writer.write(
                frame, is_batch=False, duration=1000 / float(self.fps), loop=self.loop
            )
        except Exception:
            self.abort()
            raise
        self._frames += 1

    def close(self) -> None:
        """Write the animation and rename it onto the destination (twice is harmless)."""
        if self._closed:
            return
        if self._writer is None:
            self._closed = True
            raise VideocamError(f"no frame was written to {str(self.path)!r}; nothing saved")
        try:
            self._writer.close()
            self._writer = None
            self._commit()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def abort(self) -> None:
        """Stop writing and delete the temporary file."""
        self._closed = True
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        self._remove_temp()

    def __enter__(self) -> GifWriter:
        return self


def write_gif(
    path: PathLike, frames: Iterable[np.ndarray], fps: float | Fraction, **kw: Any
) -> Path:
    """Write all ``frames`` to an animated GIF at ``path`` (see :class:`GifWriter`)."""
    with GifWriter(path, fps, **kw) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path
