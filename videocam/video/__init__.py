"""Video input and output of videocam: decoding, clip windows, preprocessing, stitching,
rendering and encoding. Knows frames, float heatmaps and files; nothing of models or CAM."""

from videocam.video.encode import (
    GifWriter,
    VideoWriter,
    as_fraction,
    check_output_path,
    even_size,
    write_gif,
    write_video,
)

__all__ = [
    "GifWriter",
    "VideoWriter",
    "as_fraction",
    "check_output_path",
    "even_size",
    "write_gif",
    "write_video",
]
