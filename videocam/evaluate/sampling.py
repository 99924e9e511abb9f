"""Clips for evaluation: the centre clip of a video, or N clips spread uniformly.

``videocam explain`` tiles a whole video with windows; evaluation instead takes a fixed
number of clips per video, as the test protocols of video classifiers do (one centre clip,
or N uniform "views" as in PySlowFast's multi-view testing). Frames are decoded in one
streaming pass and only the sampled ones are kept, so memory is N x clip_len frames
whatever the video's length.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from videocam.errors import InvalidVideoError
from videocam.video import TruncatedVideoWarning, VideoInfo, WindowSpec, open_video

__all__ = ["SampledClips", "clip_starts", "sample_clips"]

#: Frames whose longer side exceeds this are downscaled while decoding (as in
#: ``videocam explain``); the model sees a small crop anyway.
DECODE_MAX_SIZE = 1920


def clip_starts(num_frames: int, span: int, clips_per_video: int) -> list[int]:
    """First frames of the clips of a video.

    One clip: the centre one, starting at ``(num_frames - span) // 2`` (0 when the video
    is shorter than a clip). N clips: starts spread evenly from the first to the last
    possible start, ``round(i * (num_frames - span) / (N - 1))`` (all 0 when the video is
    shorter than a clip).

    Args:
        num_frames: Frames of the video.
        span: Frames one clip covers (``clip_len * sampling_rate``).
        clips_per_video: N >= 1.
    """
    if clips_per_video < 1:
        raise ValueError(f"clips_per_video must be >= 1, got {clips_per_video}")
    room = max(0, num_frames - span)
    if clips_per_video == 1:
        return [room // 2]
    return [int(round(i * room / (clips_per_video - 1))) for i in range(clips_per_video)]


@dataclass(frozen=True, eq=False)
class SampledClips:
    """The clips taken from one video.

    Attributes:
        images: One list of ``clip_len`` ``(H, W, 3)`` uint8 RGB frames per clip.
        frame_indices: The frame indices of each clip (a clip of a video shorter than its
            span repeats its last real frame).
        num_frames: The frame count the clips were planned with (the container's, or the
            count decoded when the container's was missing or too high).
        info: What the decoder reported.
    """

    images: list[list[np.ndarray]]
    frame_indices: list[tuple[int, ...]]
    num_frames: int
    info: VideoInfo


def _plan(num_frames: int, spec: WindowSpec, clips_per_video: int) -> list[tuple[int, ...]]:
    return [
        spec.sampled(start, num_frames)
        for start in clip_starts(num_frames, spec.span, clips_per_video)
    ]


def _decode(
    path: str | os.PathLike[str], plan: list[tuple[int, ...]] | None, backend: str
) -> tuple[dict[int, np.ndarray], int, VideoInfo]:
    """Decodes ``path`` keeping the frames ``plan`` needs; returns them, the number of
    frames seen and the reader's info. Without a plan, only counts."""
    needed = {i for clip in plan for i in clip} if plan is not None else set()
    last = max(needed) if needed else -1
    kept: dict[int, np.ndarray] = {}
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedVideoWarning)  # the count says it all
        with open_video(path, backend, max_size=DECODE_MAX_SIZE) as reader:
            info = reader.info
            for frame in reader:
                count = frame.index + 1
                if frame.index in needed:
                    kept[frame.index] = frame.image
                if plan is not None and frame.index >= last:
                    break
    return kept, count, info


def sample_clips(
    path: str | os.PathLike[str],
    clip_len: int,
    sampling_rate: int,
    clips_per_video: int = 1,
    *,
    backend: str = "pyav",
) -> SampledClips:
    """Decodes the clips of one video (see :func:`clip_starts`), streaming.

    The plan uses the container's frame count; when that is unknown, or wrong (the stream
    ends early), the video is decoded once more with the true count, so the clips are
    always those of the real length.

    Raises:
        VideoNotFoundError, InvalidVideoError: The file is missing or undecodable (see
            :func:`videocam.video.open_video`).
    """
    spec = WindowSpec(clip_len=clip_len, sampling_rate=sampling_rate)
    with open_video(path, backend, max_size=DECODE_MAX_SIZE) as reader:
        estimate = reader.info.num_frames
    if estimate is None or estimate < 1:
        _, estimate, _ = _decode(path, None, backend)
    plan = _plan(estimate, spec, clips_per_video)
    kept, seen, info = _decode(path, plan, backend)
    needed = {i for clip in plan for i in clip}
    if not needed.issubset(kept):  # the container over-estimated the length
        if seen < 1:
            raise InvalidVideoError(f"{path}: no frame could be decoded")
        plan = _plan(seen, spec, clips_per_video)
        kept, seen, info = _decode(path, plan, backend)
        if not {i for clip in plan for i in clip}.issubset(kept):
            raise InvalidVideoError(f"{path}: frames vanish between two decodes of the same file")
        estimate = seen
    return SampledClips(
        images=[[kept[i] for i in clip] for clip in plan],
        frame_indices=plan,
        num_frames=estimate,
        info=info,
    )
