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

__all__ = [
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
