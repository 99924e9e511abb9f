"""videocam: spatiotemporal explanations (Grad-CAM++ and friends) for video models."""

from videocam._version import __version__

__all__ = ["__version__"]
