"""Exception types of videocam.

Every error that bad input can cause is a subclass of :class:`VideocamError`, named after
the problem, with a one-line message. The CLI prints ``error: <message>`` and exits with
status 2 for these, and never shows a traceback. Each class also derives from the closest
built-in type (``ValueError``, ``LookupError``, ...) so generic handlers keep working.
"""

from __future__ import annotations


class VideocamError(Exception):
    """Base class of all errors caused by bad input or usage."""


# --- explanation engine -------------------------------------------------------------
class LayerNotFoundError(VideocamError, LookupError):
    """A target layer name does not name a module of the model."""

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0]) if self.args else ""


class LayerOutputError(VideocamError, ValueError):
    """A target layer's output is not a tensor of shape (B, C, *spatial)."""


class InputShapeError(VideocamError, ValueError):
    """The input clips do not have a supported shape."""


class TargetError(VideocamError, ValueError):
    """The requested target (class index, top-k, callable) is invalid."""


class ClassIndexError(TargetError, IndexError):
    """A class index is out of range for the model's output."""


class CAMNotApplicableError(VideocamError, ValueError):
    """CAM was asked for a model whose head is not global-average-pool + linear."""


class GradientError(VideocamError, RuntimeError):
    """The target score does not depend on the target layer (no gradient path)."""


# --- models -------------------------------------------------------------------------
class UnknownModelError(VideocamError, LookupError):
    """A model name is not in the registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CheckpointError(VideocamError, ValueError):
    """A checkpoint cannot be read or does not fit the model."""


class WeightsUnavailableError(VideocamError, RuntimeError):
    """Pretrained weights were asked for but cannot be obtained (e.g. offline)."""


class LabelFileError(VideocamError, ValueError):
    """A label file cannot be read or does not fit the model."""


# --- video --------------------------------------------------------------------------
class VideoNotFoundError(VideocamError, FileNotFoundError):
    """The video path does not exist or is not a file."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidVideoError(VideocamError, ValueError):
    """The file is not a decodable video (empty, corrupt, truncated, not a video)."""


class NoVideoStreamError(InvalidVideoError):
    """The container has no video stream (audio only) or no video frames."""


class MissingBackendError(VideocamError, ImportError):
    """An optional backend is not installed; the message names the extra to install."""


class OutputPathError(VideocamError, ValueError):
    """The output path is unusable (same as the input, unwritable folder, ...)."""


# --- datasets / evaluation ----------------------------------------------------------
class DatasetError(VideocamError, ValueError):
    """A dataset description (list file, labels, folder layout) is invalid."""


# --- model registry (appended) ------------------------------------------------------
class ModelConfigError(VideocamError, ValueError):
    """A model config is invalid, or a registry name is taken (see videocam.models)."""
