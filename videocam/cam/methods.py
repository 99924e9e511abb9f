"""CAM, Grad-CAM and Grad-CAM++ over the T x H x W feature volume of a target layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
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
from videocam.cam.guided import _pixel_input, _Switch, _warn_non_relu, guided_relu
from videocam.cam.result import CAMResult
from videocam.errors import CAMNotApplicableError, TargetError

__all__ = [
    "CAM",
    "GradCAM",
    "GradCAMPlusPlus",
    "GuidedGradCAMPlusPlus",
    "MultiCAM",
    "ScoreFn",
    "exp_score",
    "softmax_score",
]

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


_SCORES: dict[str, ScoreFn] = {"softmax": softmax_score, "exp": exp_score}


class _GradientCAM(Explainer):
    """Shared flow of the gradient methods: one forward pass, one batched head-only
    backward, then one weight rule per requested method.

    Several methods (``methods``) come from the SAME forward and backward pass: they
    differ only in how the gradients are turned into channel weights. When Guided
    Grad-CAM++ is among them, the forward records the graph down to the pixels with
    guided ReLUs (see :mod:`videocam.cam.guided`) and one extra backward gives the
    pixel-space gradients.
    """

    methods: tuple[str, ...] = ()

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
        self.alpha: str | AlphaFn = "closed_form"

    def _explain(
        self,
        tensors: list[torch.Tensor],
        original: Inputs,
        target: Target,
        top_k: int,
        create_graph: bool = False,
    ) -> CAMResult:
        return self._explain_all(tensors, original, target, top_k, create_graph)[self.method]

    def _explain_all(
        self,
        tensors: list[torch.Tensor],
        original: Inputs,
        target: Target,
        top_k: int,
        create_graph: bool = False,
    ) -> dict[str, CAMResult]:
        guided = "guided-gradcam++" in self.methods
        if create_graph and self.alpha == "exact":
            raise TargetError("differentiable maps need the closed-form Grad-CAM++ alphas")
        if guided:
            _warn_non_relu(self.model)
        switch = _Switch(guided=False)
        names = self.target_layers
        with borrowed(self.model, freeze=not create_graph, keep_buffers=create_graph):
            if guided:
                tensors = [t.requires_grad_(True) for t in tensors]
            with guided_relu(switch) if guided else nullcontext():
                output, acts = self._forward_capture(
                    tensors, original, detach=not (guided or create_graph)
                )
            scores, classes, logits = self._select_targets(output, target, top_k)
            if create_graph:
                logits = output  # with its graph: a training loss may use it
            raws = self._raw_maps(
                acts, scores, classes, logits, output, retain=guided, create_graph=create_graph
            )
            if guided:
                switch.guided = True
                pixel = _pixel_input(tensors)
                (pixel_grads,) = self._grads(
                    scores, [tensors[pixel]], names=["input"], batched=False
                )
        size = _output_size(tensors)
        results = {}
        for method in self.methods:
            layer_raw = raws[_RULE_OF[method]]
            cam_maps, layer_maps = _as_maps(layer_raw, size)
            extra: dict[str, Any] = {"maps": cam_maps}
            if method == "guided-gradcam++":
                gradients = W.precise(pixel_grads.detach()).transpose(0, 1)  # (B, K, C, *S)
                product = gradients * W.upsample(cam_maps, tuple(gradients.shape[3:])).unsqueeze(2)
                extra = {
                    "maps": W.normalize(product.abs().amax(dim=2)),
                    "gradients": gradients,
                    "guided": product,
                }
            results[method] = CAMResult(
                raw=layer_raw[0],
                classes=classes,
                scores=scores.detach(),
                logits=logits,
                method=method,
                layers=tuple(names),
                layer_maps=layer_maps,
                layer_raw=tuple(layer_raw),
                cam_maps=cam_maps,
                **extra,
            )
        return results

    def _raw_maps(
        self,
        acts: list[torch.Tensor],
        scores: torch.Tensor,
        classes: torch.Tensor,
        logits: torch.Tensor,
        output: Any,
        *,
        retain: bool,
        create_graph: bool = False,
    ) -> dict[str, list[torch.Tensor]]:
        """One raw map per target layer for each weight rule the methods need."""
        grads = self._grads(
            scores,
            acts,
            names=self.target_layers,
            retain_graph=retain,
            create_graph=create_graph,
            batched=not (retain or create_graph),
        )
        keep = (lambda t: t) if create_graph else (lambda t: t.detach())
        pairs = [(W.precise(keep(a)), W.precise(g)) for a, g in zip(acts, grads, strict=True)]
        rules = {_RULE_OF[m] for m in self.methods}
        return {rule: [W.combine(a, self._weights(rule, a, g)) for a, g in pairs] for rule in rules}

    def _weights(self, rule: str, acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
        if rule == "gradcam":
            return W.gradcam_weights(grads, per_step=self.per_step)
        alpha = self.alpha(acts, grads) if callable(self.alpha) else None
        return W.gradcampp_weights(acts, grads, per_step=self.per_step, alpha=alpha)


#: The weight rule behind each gradient method.
_RULE_OF = {"gradcam": "gradcam", "gradcam++": "gradcam++", "guided-gradcam++": "gradcam++"}


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
    methods = ("gradcam",)
    differentiable = True


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
    methods = ("gradcam++",)
    differentiable = True

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

    def _raw_maps(self, acts, scores, classes, logits, output, *, retain, create_graph=False):  # type: ignore[override]
        if self.alpha != "exact":
            return super()._raw_maps(
                acts, scores, classes, logits, output, retain=retain, create_graph=create_graph
            )
        if bool((classes < 0).any()):
            raise TargetError("alpha='exact' needs class targets, not a callable target")
        n_classes = logits.shape[1]
        all_classes = torch.arange(n_classes, device=logits.device).expand(logits.shape[0], -1)
        jacobians = self._grads(
            output.gather(1, all_classes), acts, names=self.target_layers, retain_graph=retain
        )
        raws = []
        for act, jacobian in zip(acts, jacobians, strict=True):
            act = W.precise(act.detach())
            weights = W.exact_gradcampp_weights(
                act,
                W.precise(jacobian),
                W.precise(logits),
                classes,
                self.score,
                per_step=self.per_step,
            )
            raws.append(W.combine(act, weights))
        return {"gradcam++": raws}


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
        raw = self.raw_map(act, logits, classes)
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

    def raw_map(
        self, act: torch.Tensor, logits: torch.Tensor, classes: torch.Tensor
    ) -> torch.Tensor:
        """CAM at the target layer's resolution, after checking the head is GAP + linear.

        Args:
            act: (B, C, *S') the target activation.
            logits: (B, N) the model's logits for the same input.
            classes: (B, K) the classes to explain.
        """
        if bool((classes < 0).any()):
            raise TargetError("CAM needs class targets, not a callable target")
        act = W.precise(act.detach())
        fc = self._find_fc(act.shape[1])
        weight = fc.weight.detach().to(act.dtype)
        bias = fc.bias.detach().to(act.dtype) if fc.bias is not None else 0
        recomputed = act.flatten(2).mean(dim=2) @ weight.T + bias
        tolerance = 1e-3 * float(logits.abs().max().clamp_min(1))
        if recomputed.shape != logits.shape or not torch.allclose(
            recomputed, logits.to(act.dtype), rtol=1e-3, atol=tolerance
        ):
            raise CAMNotApplicableError(
                f"CAM needs the head after {self.target_layers[0]!r} to be global average "
                "pooling + one linear layer (the logits are not fc(mean(A))); use GradCAM"
            )
        return W.combine(act, weight[classes.T])  # class weights (K, B, C)


class GuidedGradCAMPlusPlus(_GradientCAM):
    """Guided Grad-CAM++: guided-backprop pixel gradients times the upsampled Grad-CAM++
    map (Chattopadhyay et al. 2018, after Guided Grad-CAM of Selvaraju et al. 2017).

    One forward pass; the Grad-CAM++ part uses ordinary gradients at the target layer, the
    guided part guided gradients at the input. ``out.guided`` is (B, K, C, *S);
    ``out.cam_maps`` the Grad-CAM++ map; ``out.maps`` the normalised channel-wise maximum
    of ``|guided|``.

    Args:
        model: The model.
        target_layer: As for :class:`GradCAMPlusPlus`.
        weights: ``"global"`` or ``"per_step"``.
    """

    method = "guided-gradcam++"
    methods = ("guided-gradcam++",)


class MultiCAM(_GradientCAM):
    """Several methods from ONE forward pass: their maps differ only in the weight rule.

    Returns a dict ``{method: CAMResult}``. ``"cam"`` is computed from the same forward
    (it needs a GAP + linear head); ``"guided-gradcam++"`` adds the guided pixel gradients
    (the forward then records the graph down to the pixels).

    Example:
        >>> with MultiCAM(model, "layer4", methods=("gradcam", "gradcam++")) as cams:  # doctest: +SKIP
        ...     results = cams(clips)
        >>> results["gradcam++"].maps.shape  # doctest: +SKIP
    """

    method = "multi"

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        *,
        methods: Sequence[str] = ("gradcam", "gradcam++"),
        weights: WeightMode = "global",
    ) -> None:
        super().__init__(model, target_layer, weights=weights)
        unknown = [m for m in methods if m not in (*_RULE_OF, "cam")]
        if unknown or not methods:
            raise ValueError(
                f"MultiCAM methods must be among {', '.join((*_RULE_OF, 'cam'))}; got {list(methods)}"
            )
        self.with_cam = "cam" in methods
        self.requested = tuple(dict.fromkeys(methods))
        self.methods = tuple(m for m in self.requested if m != "cam")
        self._cam = CAM(model, target_layer) if self.with_cam and target_layer is not None else None

    def _explain(self, tensors, original, target, top_k):  # type: ignore[override]
        if not self.methods:  # CAM alone needs no gradients
            return {"cam": self._cam_explainer()._explain(tensors, original, target, top_k)}
        results = self._explain_all(tensors, original, target, top_k)
        if self.with_cam:
            first = next(iter(results.values()))
            cam = self._cam_explainer()
            raw = cam.raw_map(self._last_acts[0], first.logits, first.classes)
            maps, layer_maps = _as_maps([raw], tuple(first.maps.shape[2:]))
            results["cam"] = replace(
                first,
                method="cam",
                maps=maps,
                cam_maps=maps,
                raw=raw,
                layer_maps=layer_maps,
                layer_raw=(raw,),
                gradients=None,
                guided=None,
            )
        return {m: results[m] for m in self.requested}

    def _cam_explainer(self) -> CAM:
        if self._cam is None:
            self._cam = CAM(self.model, [n for n, _ in self._layers or []] or None)
        return self._cam

    def _raw_maps(self, acts, scores, classes, logits, output, *, retain, create_graph=False):  # type: ignore[override]
        self._last_acts = [a.detach() for a in acts]
        return super()._raw_maps(
            acts, scores, classes, logits, output, retain=retain, create_graph=create_graph
        )
