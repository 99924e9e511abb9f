"""videocam: spatiotemporal explanations (Grad-CAM++ and friends) for video models.

Example:
    >>> import torch, videocam
    >>> model = videocam.models.C3D(num_classes=10, widths=(8,) * 8, head="gap").eval()
    >>> with videocam.GradCAMPlusPlus(model, target_layer="conv5b") as cam:
    ...     out = cam(torch.rand(1, 3, 16, 112, 112))
    >>> out.maps.shape
    torch.Size([1, 1, 16, 112, 112])
"""

from videocam import models
from videocam._version import __version__
from videocam.cam import (
    CAM,
    METHODS,
    CAMResult,
    GradCAM,
    GradCAMPlusPlus,
    GuidedBackprop,
    GuidedGradCAMPlusPlus,
    MultiCAM,
)

_LAZY = {
    "explain_video": ("videocam.pipeline", "explain_video"),
    "explain_videos": ("videocam.pipeline", "explain_videos"),
    "ExplainResult": ("videocam.pipeline", "ExplainResult"),
}
_LAZY_MODULES = ("pipeline", "video", "distill", "evaluate", "synthetic", "errors", "cli", "demo")


def __getattr__(name: str):
    """Imports the video-facing parts on first use (``import videocam`` stays light)."""
    import importlib

    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"videocam.{name}")
    raise AttributeError(f"module 'videocam' has no attribute {name!r}")


__all__ = [
    "ExplainResult",
    "explain_video",
    "explain_videos",
    "CAM",
    "METHODS",
    "CAMResult",
    "GradCAM",
    "GradCAMPlusPlus",
    "GuidedBackprop",
    "GuidedGradCAMPlusPlus",
    "MultiCAM",
    "__version__",
    "models",
]
