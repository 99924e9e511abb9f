"""The result of an explanation call."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["CAMResult"]


@dataclass(frozen=True)
class CAMResult:
    """What an explainer returns for a batch of clips (or images).

    Shapes use B = batch, K = explained classes per clip, S = the input's spatial dims
    (T, H, W for clips, H, W for images), S' = the target layer's spatial dims.

    Attributes:
        maps: (B, K, *S) float32 in [0, 1]: the method's explanation, upsampled to the
            input (trilinear for clips) and min-max normalised per clip and class. For
            several target layers, the fused map (mean of the per-layer maps,
            renormalised). For guided methods, the channel-wise maximum of the absolute
            pixel-space explanation.
        raw: (B, K, *S') the un-normalised map at the (first) target layer, after ReLU;
            ``None`` for plain guided backpropagation.
        classes: (B, K) int64 explained class indices (-1 for a callable target).
        scores: (B, K) the explained scores (logits, or the callable's value).
        logits: (B, N) the model's output, detached.
        method: The method's name.
        layers: Names of the target layers.
        layer_maps: One (B, K, *S) normalised map per target layer.
        layer_raw: One (B, K, *S') raw map per target layer.
        cam_maps: (B, K, *S) the localisation map (equal to ``maps`` for CAM methods; the
            Grad-CAM++ map for Guided Grad-CAM++).
        gradients: (B, K, C_in, *S) pixel-space guided-backprop gradients, guided methods only.
        guided: (B, K, C_in, *S) Guided Grad-CAM++ (gradients x cam_maps), that method only.
    """

    maps: torch.Tensor
    raw: torch.Tensor | None
    classes: torch.Tensor
    scores: torch.Tensor
    logits: torch.Tensor
    method: str
    layers: tuple[str, ...] = ()
    layer_maps: tuple[torch.Tensor, ...] = ()
    layer_raw: tuple[torch.Tensor, ...] = ()
    cam_maps: torch.Tensor | None = None
    gradients: torch.Tensor | None = None
    guided: torch.Tensor | None = None

    @property
    def probabilities(self) -> torch.Tensor:
        """(B, K) softmax probabilities of the explained classes (NaN for callable targets)."""
        probs = self.logits.float().softmax(dim=1)
        valid = self.classes >= 0
        picked = probs.gather(1, self.classes.clamp_min(0))
        return torch.where(valid, picked, torch.full_like(picked, float("nan")))

    def to(self, device: torch.device | str) -> CAMResult:
        """Returns a copy with every tensor moved to ``device``."""

        def move(value):
            if isinstance(value, torch.Tensor):
                return value.to(device)
            if isinstance(value, tuple) and value and isinstance(value[0], torch.Tensor):
                return tuple(v.to(device) for v in value)
            return value

        return CAMResult(**{k: move(v) for k, v in self.__dict__.items()})
