"""Model knowledge: C3D, adapters for torchvision/pytorchvideo video models, and the registry."""

from videocam.models.c3d import C3D, Conv3dReLU, load_checkpoint, read_state_dict

__all__ = ["C3D", "Conv3dReLU", "load_checkpoint", "read_state_dict"]
