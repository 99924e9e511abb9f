"""The explanation engine: pure torch, no I/O, no video knowledge.

Methods share one core (:class:`~videocam.cam.core.Explainer`) that borrows the model,
captures the target layers and takes gradients from the scores back to those layers only;
each method is one weight rule in :mod:`videocam.cam.weights`.
"""

from videocam.cam.core import Explainer, borrowed, find_default_layer, resolve_layers
from videocam.cam.guided import GuidedBackprop
from videocam.cam.methods import (
    CAM,
    GradCAM,
    GradCAMPlusPlus,
    GuidedGradCAMPlusPlus,
    MultiCAM,
    exp_score,
    softmax_score,
)
from videocam.cam.result import CAMResult

METHODS = {
    "cam": CAM,
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "guided-backprop": GuidedBackprop,
    "guided-gradcam++": GuidedGradCAMPlusPlus,
}

__all__ = [
    "CAM",
    "METHODS",
    "CAMResult",
    "Explainer",
    "GradCAM",
    "GradCAMPlusPlus",
    "GuidedBackprop",
    "GuidedGradCAMPlusPlus",
    "MultiCAM",
    "borrowed",
    "exp_score",
    "find_default_layer",
    "resolve_layers",
    "softmax_score",
]
