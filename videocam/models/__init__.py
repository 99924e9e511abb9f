"""Model knowledge: C3D, adapters for torchvision/pytorchvideo video models, and the registry.

Example:
    >>> from videocam.models import create_model, get_config, list_models
    >>> "slowfast_r50" in list_models("slow*")
    True
    >>> get_config("x3d_xs").target_layers
    ('blocks.4',)
"""

from videocam.models.c3d import C3D, Conv3dReLU, load_checkpoint, read_state_dict
from videocam.models.labels import LABEL_MAPS, list_label_maps, load_labels
from videocam.models.registry import (
    ModelConfig,
    create_model,
    get_config,
    list_models,
    register_model,
    unregister_model,
)

__all__ = [
    "C3D",
    "LABEL_MAPS",
    "Conv3dReLU",
    "ModelConfig",
    "create_model",
    "get_config",
    "list_label_maps",
    "list_models",
    "load_checkpoint",
    "load_labels",
    "read_state_dict",
    "register_model",
    "unregister_model",
]
