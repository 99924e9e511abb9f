"""Video input and output of videocam.

Decoding (:mod:`~videocam.video.decode`), clip windows (:mod:`~videocam.video.windows`),
preprocessing and crop geometry (:mod:`~videocam.video.preprocess`), stitching of window
maps back onto frames (:mod:`~videocam.video.stitch`), rendering
(:mod:`~videocam.video.render`) and MP4/GIF encoding (:mod:`~videocam.video.encode`).

This package handles frames, float heatmaps and files; it knows nothing of models or CAM.
A typical flow (the pipeline runs these stages in threads)::

    with open_video(path) as reader:
        spec = WindowSpec(clip_len=16, sampling_rate=2, stride=16)
        pre = ClipPreprocessor(preset)
        stitcher, renderer = Stitcher(), FrameRenderer(expected_frames=reader.info.num_frames)
        with VideoWriter(out, reader.info.frame_rate) as writer:
            for batch in batch_windows(iter_windows(reader, spec), 4):
                clips = pre.batch([w.images for w in batch])           # (B, 3, T, h, w)
                maps = explain(clips)                                   # (B, T', h', w')
                for window, window_maps in zip(batch, maps):
                    stitcher.geometry = pre.geometry(*window.images[0].shape[:2])
                    for done in stitcher.add(window, window_maps):
                        writer.write(renderer.render(done.frame.image, done.heatmap,
                                                     importance=done.importance))
            for done in stitcher.finish():
                writer.write(renderer.render(done.frame.image, done.heatmap,
                                             importance=done.importance))
"""

from videocam.video.decode import (
    BACKENDS,
    Frame,
    TruncatedVideoWarning,
    VideoInfo,
    VideoReader,
    open_video,
)
from videocam.video.encode import (
    GifWriter,
    VideoWriter,
    as_fraction,
    check_output_path,
    even_size,
    write_gif,
    write_video,
)
from videocam.video.preprocess import ClipPreprocessor, ClipPreset, CropGeometry
from videocam.video.render import (
    COLORMAPS,
    LAYOUTS,
    FrameRenderer,
    RenderOptionError,
    blend,
    colorize,
    deprocess_gradient,
)
from videocam.video.stitch import StitchedFrame, Stitcher, frame_weights
from videocam.video.windows import (
    Window,
    WindowSpec,
    WindowSpecError,
    batch_windows,
    count_windows,
    iter_windows,
    plan_windows,
)

__all__ = [
    "BACKENDS",
    "COLORMAPS",
    "LAYOUTS",
    "ClipPreprocessor",
    "ClipPreset",
    "CropGeometry",
    "Frame",
    "FrameRenderer",
    "GifWriter",
    "RenderOptionError",
    "StitchedFrame",
    "Stitcher",
    "TruncatedVideoWarning",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "Window",
    "WindowSpec",
    "WindowSpecError",
    "as_fraction",
    "batch_windows",
    "blend",
    "check_output_path",
    "colorize",
    "count_windows",
    "deprocess_gradient",
    "even_size",
    "frame_weights",
    "iter_windows",
    "open_video",
    "plan_windows",
    "write_gif",
    "write_video",
]
