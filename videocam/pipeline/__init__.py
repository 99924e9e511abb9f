"""Ties video, models and the CAM engine together: ``explain_video`` streams a video
through a model and writes heatmap MP4s with JSON sidecars."""

from videocam.pipeline.explain import (
    METHOD_TITLES,
    ExplainResult,
    WindowRecord,
    explain_video,
    explain_videos,
)
from videocam.pipeline.setup import (
    ResolvedModel,
    output_paths,
    preset_for,
    resolve_device,
    resolve_model,
    window_spec_for,
)
from videocam.pipeline.sidecar import write_json_atomic

__all__ = [
    "METHOD_TITLES",
    "ExplainResult",
    "ResolvedModel",
    "WindowRecord",
    "explain_video",
    "explain_videos",
    "output_paths",
    "preset_for",
    "resolve_device",
    "resolve_model",
    "window_spec_for",
    "write_json_atomic",
]
