"""CAM, Grad-CAM and Grad-CAM++ over the T x H x W feature volume of a target layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn

from videocam.cam import weights as W
from videocam.cam.core import (
    Explainer,
    Inputs,
    LayerSpec,
    Target,
    _as_maps,
    _output_size,
    borrowed,
    resolve_layers,
)
from videocam.cam.result import CAMResult
from videocam.errors import CAMNotApplicableError, TargetError

__all__ = ["CAM", "GradCAM", "GradCAMPlusPlus", "ScoreFn", "softmax_score", "exp_score"]

WeightMode = Literal["global", "per_step"]
ScoreFn = Callable[[torch.Tensor, int], torch.Tensor]
#: ``alpha(acts (B, C, *S), grads (K, B, C, *S)) -> alphas`` broadcastable to the grads.
AlphaFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def softmax_score(logits: torch.Tensor, c: int) -> torch.Tensor:
    """Y = softmax(S)_c, the class probability (paper eqs. 21-24)."""
    return torch.softmax(logits, dim=-1)[c]


def exp_score(logits: torch.Tensor, c: int) -> torch.Tensor:
    """Y = exp(S_c), the score of the closed form (paper eq. 19)."""
    return torch.exp(logits[c])


def _precise(tensor: torch.Tensor) -> torch.Tensor:
    """At least float32 (autocast gives bf16/fp16 activations; float64 stays float64)."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


_SCORES: dict[str, ScoreFn] = {"softmax": softmax_score, "exp": exp_score}


class _GradientCAM(Explainer):
    """Shared flow of the gradient methods: one forward, one batched head-only backward."""

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        *,
        weights: WeightMode = "global",
    ) -> None:
        super().__init__(model, target_layer)
        if weights not in ("global", "per_step"):
            raise ValueError(f"weights must be 'global' or 'per_step', got {weights!r}")
        self.per_step = weights == "per_step"

    def _explain(
        self, tensors: list[torch.Tensor], original: Inputs, target: Target, top_k: int
    ) -> CAMResult:
        with borrowed(self.model):
            output, acts = self._forward_capture(tensors, original, detach=True)
            scores, classes, logits = self._select_targets(output, target, top_k)
            raws = self._layer_maps(acts, scores, classes, logits, output)
        maps, layer_maps = _as_maps(raws, _output_size(tensors))
        return CAMResult(
            maps=maps,
            raw=raws[0],
            classes=classes,
            scores=scores.detach(),
            logits=logits,
            method=self.method,
            layers=tuple(self.target_layers),
            layer_maps=layer_maps,
            layer_raw=tuple(raws),
            cam_maps=maps,
        )

    def _layer_maps(
        self,
        acts: list[torch.Tensor],
        scores: torch.Tensor,
        classes: torch.Tensor,
        logits: torch.Tensor,
        output: Any,
    ) -> list[torch.Tensor]:
        grads = self._grads(scores, acts, names=self.target_layers)
        out = []
        for act, grad in zip(acts, grads, strict=True):
            act, grad = _precise(act.detach()), _precise(grad)
            out.append(W.combine(act, self._weights(act, grad)))
        return out

    def _weights(self, acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class GradCAM(_GradientCAM):
    """Grad-CAM (Selvaraju et al., ICCV 2017) over space-time.

    w^c_k = (1/Z) sum_p dS^c/dA^k_p,  L^c = relu(sum_k w^c_k A^k), Z = T' x H' x W'.

    Args:
        model: Any module mapping clips to (B, num_classes) logits.
        target_layer: Dotted module name, module, or a list of them (one map per layer
            plus a fused map). ``None`` picks the last convolutional-looking layer.
        weights: ``"global"`` (one weight per channel) or ``"per_step"`` (one per channel
            and time step, averaged over H' x W' only: the MMAction2/PySlowFast variant).

    Example:
        >>> with GradCAM(model, target_layer="layer4") as cam:  # doctest: +SKIP
        ...     out = cam(clips, top_k=5)
    """

    method = "gradcam"

    def _weights(self, acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
        return W.gradcam_weights(grads, per_step=self.per_step)


class GradCAMPlusPlus(_GradientCAM):
    """Grad-CAM++ (Chattopadhyay et al., WACV 2018) over space-time.

    Default (``alpha="closed_form"``), paper eq. 19 with Y = exp(S):
    alpha_p = g_p^2 / (2 g_p^2 + (sum_q A_q) g_p^3),  w_k = sum_p alpha_p relu(g_p),
    L = relu(sum_k w_k A^k), where g = dS^c/dA^k is one head-only backward pass.

    ``alpha="exact"`` evaluates paper eq. 10 for the smooth score ``score`` (default the
    softmax probability) with derivatives from autograd; see
    :func:`videocam.cam.weights.exact_gradcampp_weights` for when it is exact. It needs the
    gradient of every logit (N head-only backward passes), so it is slower.

    Args:
        model: Any module mapping clips to (B, num_classes) logits.
        target_layer: Dotted module name, module, or a list of them.
        weights: ``"global"`` or ``"per_step"`` (see :class:`GradCAM`).
        alpha: ``"closed_form"`` (eq. 19), ``"exact"`` (eq. 10), or a callable
            ``(acts, grads) -> alphas`` (e.g. ``1/Z``, which gives Grad-CAM on the
            positive gradients).
        score: For ``alpha="exact"``: ``"softmax"``, ``"exp"`` or a callable
            ``(logits (N,), class) -> scalar``.

    Example:
        >>> import torch, torchvision, videocam
        >>> model = torchvision.models.video.r3d_18(num_classes=10).eval()
        >>> with videocam.GradCAMPlusPlus(model, target_layer="layer4") as cam:
        ...     out = cam(torch.rand(2, 3, 8, 64, 64), top_k=3)
        >>> out.maps.shape, out.raw.shape
        (torch.Size([2, 3, 8, 64, 64]), torch.Size([2, 3, 1, 4, 4]))
    """

    method = "gradcam++"

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        *,
        weights: WeightMode = "global",
        alpha: Literal["closed_form", "exact"] | AlphaFn = "closed_form",
        score: str | ScoreFn = "softmax",
    ) -> None:
        super().__init__(model, target_layer, weights=weights)
        if not callable(alpha) and alpha not in ("closed_form", "exact"):
            raise ValueError(f"alpha must be 'closed_form', 'exact' or a callable, got {alpha!r}")
        if isinstance(score, str) and score not in _SCORES:
            raise ValueError(f"score must be one of {sorted(_SCORES)} or a callable, got {score!r}")
        self.alpha = alpha
        self.score: ScoreFn = _SCORES[score] if isinstance(score, str) else score

    def _layer_maps(self, acts, scores, classes, logits, output):  # type: ignore[override]
        if self.alpha != "exact":
            return super()._layer_maps(acts, scores, classes, logits, output)
        if bool((classes < 0).any()):
            raise TargetError("alpha='exact' needs class targets, not a callable target")
        n_classes = logits.shape[1]
        all_classes = torch.arange(n_classes, device=logits.device).expand(logits.shape[0], -1)
        jacobians = self._grads(output.gather(1, all_classes), acts, names=self.target_layers)
        return [
            W.combine(
                _precise(a.detach()),
                W.exact_gradcampp_weights(
                    _precise(a.detach()),
                    _precise(j),
                    _precise(logits),
                    classes,
                    self.score,
                    per_step=self.per_step,
                ),
            )
            for a, j in zip(acts, jacobians, strict=True)
        ]

    def _weights(self, acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha(acts, grads) if callable(self.alpha) else None
        return W.gradcampp_weights(acts, grads, per_step=self.per_step, alpha=alpha)


class CAM(Explainer):
    """Class Activation Mapping (Zhou et al., CVPR 2016): w^c_k = fc weight (c, k).

    Only defined for models whose head is global average pooling of the target layer
    followed by one linear layer. That is checked on every call by recomputing the logits
    as ``fc(mean(A))``; any other head raises :class:`CAMNotApplicableError`. Needs no
    gradients: one forward pass without autograd.

    Args:
        model: The model.
        target_layer: The layer right before the global average pooling.
        fc_layer: The final linear layer (name or module); ``None`` takes the last
            ``nn.Linear`` of the model whose input size is the layer's channel count.
    """

    method = "cam"

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        *,
        fc_layer: str | nn.Module | None = None,
    ) -> None:
        super().__init__(model, target_layer)
        if self._layers is not None and len(self._layers) != 1:
            raise ValueError("CAM explains a single target layer")
        self._fc_spec = fc_layer

    def _find_fc(self, channels: int) -> nn.Linear:
        if self._fc_spec is not None:
            module = resolve_layers(self.model, self._fc_spec)[0][1]
            if not isinstance(module, nn.Linear):
                raise CAMNotApplicableError(
                    f"fc_layer must be an nn.Linear, got {type(module).__name__}"
                )
            return module
        linears = [m for m in self.model.modules() if isinstance(m, nn.Linear)]
        matching = [m for m in linears if m.in_features == channels]
        if not matching:
            raise CAMNotApplicableError(
                f"CAM needs a global-average-pool + linear head after the target layer; "
                f"{type(self.model).__name__} has no linear layer with {channels} inputs"
            )
        return matching[-1]

    def _explain(
        self, tensors: list[torch.Tensor], original: Inputs, target: Target, top_k: int
    ) -> CAMResult:
        if len(self.target_layers) != 1:
            raise ValueError("CAM explains a single target layer")
        with borrowed(self.model), torch.no_grad():
            output, (act,) = self._forward_capture(tensors, original, detach=False)
            scores, classes, logits = self._select_targets(output, target, top_k)
        if bool((classes < 0).any()):
            raise TargetError("CAM needs class targets, not a callable target")
        act = _precise(act)
        fc = self._find_fc(act.shape[1])
        pooled = act.flatten(2).mean(dim=2)
        weight = fc.weight.detach().to(act.dtype)
        bias = fc.bias.detach().to(act.dtype) if fc.bias is not None else 0
        recomputed = pooled @ weight.T + bias
        if recomputed.shape != logits.shape or not torch.allclose(
            recomputed,
            logits.to(act.dtype),
            rtol=1e-3,
            atol=1e-3 * float(logits.abs().max().clamp_min(1)),
        ):
            raise CAMNotApplicableError(
                f"CAM needs the head after {self.target_layers[0]!r} to be global average "
                "pooling + one linear layer (the logits are not fc(mean(A))); use GradCAM"
            )
        class_weights = weight[classes.T]  # (K, B, C)
        raw = W.combine(act, class_weights)
        maps, layer_maps = _as_maps([raw], _output_size(tensors))
        return CAMResult(
            maps=maps,
            raw=raw,
            classes=classes,
            scores=scores.detach(),
            logits=logits,
            method=self.method,
            layers=tuple(self.target_layers),
            layer_maps=layer_maps,
            layer_raw=(raw,),
            cam_maps=maps,
        )
