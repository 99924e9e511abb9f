"""The stages together, as the pipeline chains them: decode -> windows -> preprocess ->
(a stand-in model) -> stitch -> render -> encode, on an odd-sized video."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import torch
import torch.nn.functional as functional

from videocam.video import (
    ClipPreprocessor,
    ClipPreset,
    FrameRenderer,
    Stitcher,
    VideoWriter,
    WindowSpec,
    batch_windows,
    iter_windows,
    open_video,
)


def test_stages_chain_into_a_playable_mp4(make_video, tmp_path: Path) -> None:
    source = make_video("odd.mp4", num_frames=11, width=321, height=241, fps=Fraction(30000, 1001))
    target = tmp_path / "explained.mp4"
    pre = ClipPreprocessor(ClipPreset(resize=32, crop=32))
    stitcher = Stitcher()
    with open_video(source) as reader:
        info = reader.info
        renderer = FrameRenderer(layout="overlay", timeline=False, expected_frames=info.num_frames)
        with VideoWriter(target, info.frame_rate) as writer:

            def emit(done: list) -> None:
                for item in done:
                    writer.write(
                        renderer.render(item.frame.image, item.heatmap, importance=item.importance)
                    )

            for batch in batch_windows(iter_windows(reader, WindowSpec(4, 2, 6)), 2):
                clips = pre.batch([window.images for window in batch])  # (B, 3, 4, 32, 32)
                maps = functional.avg_pool3d(clips.mean(dim=1, keepdim=True), (2, 8, 8))[:, 0]
                maps = (maps - maps.amin()) / (maps.amax() - maps.amin() + 1e-6)  # (B, 2, 4, 4)
                stitcher.geometry = pre.geometry(info.height, info.width)
                for window, window_maps in zip(batch, maps, strict=True):
                    emit(stitcher.add(window, window_maps))
            emit(stitcher.finish())
    assert torch.is_tensor(maps)
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (322, 242)
        assert stream.average_rate == Fraction(30000, 1001)
        assert sum(1 for _ in container.decode(stream)) == 11
