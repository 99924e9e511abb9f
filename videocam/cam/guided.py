"""Guided backpropagation (Springenberg et al., ICLR-W 2015) and Guided Grad-CAM++.

Guided backprop changes the backward pass of every ReLU: the gradient passes only where
the forward input was positive (the normal ReLU rule) AND the incoming gradient is
positive. videocam applies it with a ``TorchFunctionMode`` that is active during the
forward pass only, so it covers ``nn.ReLU`` modules (in-place or not), ``F.relu``,
``torch.relu``, ``Tensor.relu`` and the in-place ``relu_`` variants alike, without touching
the user's modules. Other activations (SiLU/Swish as in X3D, GELU, ReLU6, LeakyReLU,
``clamp``) keep their normal gradient; a warning names them when the model has such
modules.

Each guided ReLU reads a per-call switch in its backward, so Guided Grad-CAM++
(:class:`videocam.cam.methods.GuidedGradCAMPlusPlus`) needs ONE forward pass: the Grad-CAM++ gradient at the target layer is taken with the switch off
(ordinary ReLU gradients) and the pixel-space gradient with the switch on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from videocam.cam import weights as W
from videocam.cam.core import Explainer, Inputs, Target, _model_args, borrowed
from videocam.cam.result import CAMResult

__all__ = ["GuidedBackprop", "guided_relu"]

_NON_RELU = (nn.SiLU, nn.GELU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.Hardswish, nn.PReLU, nn.Mish)


@dataclass
class _Switch:
    guided: bool


class _GuidedReLU(torch.autograd.Function):
    """ReLU whose backward reads ``switch.guided``: off, the ordinary ReLU gradient
    (pass where the output is positive); on, guided backprop (also drop negative incoming
    gradients)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, switch: _Switch) -> torch.Tensor:  # type: ignore[override]
        out = x.clamp_min(0)
        ctx.save_for_backward(out)
        ctx.switch = switch
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (out,) = ctx.saved_tensors
        if ctx.switch.guided:
            grad = grad.clamp_min(0)
        return grad * (out > 0), None


class _GuidedReLUInplace(_GuidedReLU):
    """The in-place variant (``relu_``, ``ReLU(inplace=True)``): same backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, switch: _Switch) -> torch.Tensor:  # type: ignore[override]
        x.clamp_(min=0)
        ctx.mark_dirty(x)
        ctx.save_for_backward(x)
        ctx.switch = switch
        return x


_OUT_OF_PLACE = {torch.relu, torch.Tensor.relu}
_IN_PLACE = {torch.relu_, torch.Tensor.relu_, F.relu_}


class guided_relu(TorchFunctionMode):  # noqa: N801 - used like a function-style context
    """Context in which every ReLU evaluated through torch uses the guided backward.

    Args:
        switch: Object whose ``guided`` flag each ReLU's backward reads (off: ordinary ReLU
            gradient; on: guided backprop).
    """

    def __init__(self, switch: _Switch) -> None:
        super().__init__()
        self.switch = switch

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.relu:
            inplace = kwargs.get("inplace", args[1] if len(args) > 1 else False)
            fn = _GuidedReLUInplace if inplace else _GuidedReLU
            return fn.apply(args[0], self.switch)
        if func in _OUT_OF_PLACE:
            return _GuidedReLU.apply(args[0], self.switch)
        if func in _IN_PLACE:
            return _GuidedReLUInplace.apply(args[0], self.switch)
        return func(*args, **kwargs)


def _warn_non_relu(model: nn.Module) -> None:
    kinds = sorted(
        {type(m).__name__ for m in model.modules() if isinstance(m, _NON_RELU)}
        | {type(m).__name__ for m in model.modules() if type(m).__name__ == "Swish"}
    )
    if kinds:
        warnings.warn(
            f"guided backprop modifies ReLUs only; {', '.join(kinds)} keep their normal gradient",
            stacklevel=4,
        )


def _pixel_input(tensors: list[torch.Tensor]) -> int:
    """The input whose pixels guided gradients are reported for: the largest one (for
    SlowFast, the fast pathway, which holds every frame of the clip)."""
    return max(range(len(tensors)), key=lambda i: tensors[i].numel())


class GuidedBackprop(Explainer):
    """Guided backpropagation to the input pixels, for clips and images, any batch size.

    ``out.gradients`` holds the (B, K, C, *S) guided gradients of each explained class;
    ``out.maps`` their channel-wise maximum absolute value, normalised to [0, 1].

    Example:
        >>> with GuidedBackprop(model) as gb:  # doctest: +SKIP
        ...     grads = gb(clips).gradients
    """

    method = "guided-backprop"
    needs_layer = False

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, None)

    def _explain(
        self, tensors: list[torch.Tensor], original: Inputs, target: Target, top_k: int
    ) -> CAMResult:
        _warn_non_relu(self.model)
        switch = _Switch(guided=True)
        with borrowed(self.model):
            tensors = [t.requires_grad_(True) for t in tensors]
            pixel = _pixel_input(tensors)
            with guided_relu(switch):
                output = self.model(*_model_args(self.model, tensors, original))
            scores, classes, logits = self._select_targets(output, target, top_k)
            (grads,) = self._grads(scores, [tensors[pixel]], names=["input"], batched=False)
        gradients = W.precise(grads.detach()).transpose(0, 1)  # (B, K, C, *S)
        maps = W.normalize(gradients.abs().amax(dim=2))
        return CAMResult(
            maps=maps,
            raw=None,
            classes=classes,
            scores=scores.detach(),
            logits=logits,
            method=self.method,
            gradients=gradients,
        )
