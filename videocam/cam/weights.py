"""The weight rules of the CAM family, as pure tensor functions.

Every function works on activations of shape (B, C, *spatial) for any number of spatial
dims (clips: T, H, W; images: H, W), so 2D and 3D share every line. Gradients come with
a leading class dim: (K, B, C, *spatial).

Notation (Chattopadhyay et al., "Grad-CAM++", WACV 2018): A^k_p is channel k of the
target activation at space-time position p, g_p = dS^c / dA^k_p the gradient of the
class score (a logit), Z the number of positions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "precise",
    "reduce_dims",
    "gradcam_weights",
    "gradcampp_alpha",
    "gradcampp_weights",
    "exact_gradcampp_weights",
    "combine",
    "upsample",
    "normalize",
]


def precise(tensor: torch.Tensor) -> torch.Tensor:
    """At least float32 (autocast gives bf16/fp16 activations; float64 stays float64)."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def reduce_dims(ndim: int, per_step: bool) -> tuple[int, ...]:
    """Dims of a (..., C, *spatial) tensor with ``ndim`` dims to reduce over for weights.

    With ``per_step`` and a temporal axis (3 spatial dims: T, H, W), time is kept, giving
    one weight vector per time step (the MMAction2 / PySlowFast video variant).
    ``ndim`` counts the dims of a (K, B, C, *spatial) gradient tensor.
    """
    n_spatial = ndim - 3
    first = 3 + (1 if per_step and n_spatial == 3 else 0)
    return tuple(range(first, ndim))


def gradcam_weights(grads: torch.Tensor, *, per_step: bool = False) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017): w_k = (1/Z) sum_p g_p.

    Args:
        grads: (K, B, C, *spatial) gradients of the scores w.r.t. the activation.
        per_step: Average over H x W only (one weight per time step).

    Returns:
        (K, B, C) weights, or (K, B, C, T) with ``per_step``.
    """
    return grads.mean(dim=reduce_dims(grads.ndim, per_step))


def gradcampp_alpha(acts: torch.Tensor, grads: torch.Tensor, *, per_step: bool = False):
    """Grad-CAM++ alphas by the closed form (paper eq. 19, with Y = exp(S)).

    alpha_p = g_p^2 / (2 g_p^2 + (sum_q A_q) g_p^3), and 0 where the denominator is 0.

    Args:
        acts: (B, C, *spatial) activation.
        grads: (K, B, C, *spatial) gradients of the logits.
        per_step: Sum A over H x W of each time step only.
    """
    dims = reduce_dims(grads.ndim, per_step)
    act_sum = acts.sum(dim=tuple(d - 1 for d in dims), keepdim=True).unsqueeze(0)
    g2 = grads.pow(2)
    denom = 2 * g2 + act_sum * g2 * grads
    safe = torch.where(denom != 0, denom, torch.ones_like(denom))
    return torch.where(denom != 0, g2 / safe, torch.zeros_like(denom))


def gradcampp_weights(
    acts: torch.Tensor,
    grads: torch.Tensor,
    *,
    per_step: bool = False,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """Grad-CAM++ channel weights: w_k = sum_p alpha_p relu(g_p).

    Args:
        acts: (B, C, *spatial) activation.
        grads: (K, B, C, *spatial) gradients of the logits.
        per_step: One weight vector per time step.
        alpha: Override the alphas (e.g. 1/Z, which gives Grad-CAM exactly).

    Returns:
        (K, B, C) weights, or (K, B, C, T) with ``per_step``.
    """
    if alpha is None:
        alpha = gradcampp_alpha(acts, grads, per_step=per_step)
    return (alpha * grads.clamp_min(0)).sum(dim=reduce_dims(grads.ndim, per_step))


def exact_gradcampp_weights(
    acts: torch.Tensor,
    jacobian: torch.Tensor,
    logits: torch.Tensor,
    classes: torch.Tensor,
    score: Callable[[torch.Tensor, int], torch.Tensor],
    *,
    per_step: bool = False,
    chunk: int = 8192,
) -> torch.Tensor:
    """Grad-CAM++ with exact alphas (paper eq. 10) for a smooth score Y = score(S, c).

    alpha_p = Y''_p / (2 Y''_p + (sum_q A_q) Y'''_p),  w_k = sum_p alpha_p relu(Y'_p),

    where Y^(n)_p is the n-th derivative of Y w.r.t. the single activation A_p. The
    derivatives come from autograd (nested forward-mode ``torch.func.jvp``) along the
    direction J[:, p] = dS/dA_p: this is exact whenever the layers between the target
    layer and the logits are piecewise linear (ReLU, max/avg pooling, linear, batch norm
    in eval mode), because then d^2 S / dA_p^2 = 0 almost everywhere — the setting of the
    paper's derivation (its eqs. 21-24 for the softmax). For ``score = exp(S_c)`` this
    reduces to the closed form of eq. 19.

    Args:
        acts: (B, C, *spatial) activation.
        jacobian: (N, B, C, *spatial) gradient of every logit w.r.t. the activation.
        logits: (B, N) logits.
        classes: (B, K) classes to explain.
        score: Maps a (N,) logit vector and a class index to the scalar score Y.
        per_step: One weight vector per time step.
        chunk: Positions per vectorised batch (bounds memory).

    Returns:
        (K, B, C) weights, or (K, B, C, T) with ``per_step``.
    """
    n_classes, batch = jacobian.shape[:2]
    spatial = acts.shape[1:]
    out_d1, out_d2, out_d3 = [], [], []
    for b in range(batch):
        directions = jacobian[:, b].reshape(n_classes, -1).T  # (P, N)
        per_class = []
        for c in classes[b].tolist():

            def class_score(s: torch.Tensor, c: int = c) -> torch.Tensor:
                return score(s, c)

            chunks = [
                _directional_derivatives(class_score, logits[b], directions[i : i + chunk])
                for i in range(0, directions.shape[0], chunk)
            ]
            d = [torch.cat(parts) for parts in zip(*chunks, strict=True)]
            per_class.append([x.reshape(spatial) for x in d])
        out_d1.append(torch.stack([p[0] for p in per_class]))
        out_d2.append(torch.stack([p[1] for p in per_class]))
        out_d3.append(torch.stack([p[2] for p in per_class]))
    d1, d2, d3 = (torch.stack(x, dim=1) for x in (out_d1, out_d2, out_d3))  # (K, B, C, *sp)
    dims = reduce_dims(d1.ndim, per_step)
    act_sum = acts.sum(dim=tuple(d - 1 for d in dims), keepdim=True).unsqueeze(0)
    denom = 2 * d2 + act_sum * d3
    safe = torch.where(denom != 0, denom, torch.ones_like(denom))
    alpha = torch.where(denom != 0, d2 / safe, torch.zeros_like(denom))
    return (alpha * d1.clamp_min(0)).sum(dim=dims)


def _directional_derivatives(
    fn: Callable[[torch.Tensor], torch.Tensor], point: torch.Tensor, directions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """First, second and third derivatives of ``fn`` at ``point`` along each direction."""

    def first(x, v):
        return torch.func.jvp(fn, (x,), (v,))[1]

    def second(x, v):
        return torch.func.jvp(lambda y: first(y, v), (x,), (v,))[1]

    def third(x, v):
        return torch.func.jvp(lambda y: second(y, v), (x,), (v,))[1]

    point = point.detach()
    directions = directions.detach()
    return tuple(  # type: ignore[return-value]
        torch.func.vmap(fn_n, in_dims=(None, 0))(point, directions)
        for fn_n in (first, second, third)
    )


def combine(acts: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """L = relu(sum_k w_k A^k).

    Args:
        acts: (B, C, *spatial).
        weights: (K, B, C) or (K, B, C, T) per-step weights.

    Returns:
        (B, K, *spatial) maps, computed outside autocast in the activation's precision.
    """
    with torch.autocast(device_type=acts.device.type, enabled=False):
        return _combine(acts, weights.to(acts.dtype))


def _combine(acts: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    batch, channels = acts.shape[:2]
    spatial = acts.shape[2:]
    if weights.ndim == 3:
        maps = torch.einsum("kbc,bcp->bkp", weights, acts.reshape(batch, channels, -1))
    else:  # per step: (K, B, C, T) with acts (B, C, T, H, W)
        flat = acts.reshape(batch, channels, spatial[0], -1)
        maps = torch.einsum("kbct,bctp->bktp", weights, flat)
    return F.relu(maps.reshape(batch, weights.shape[0], *spatial))


def upsample(maps: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """Resizes (B, K, *spatial) maps to ``size`` (linear/bilinear/trilinear)."""
    if tuple(maps.shape[2:]) == tuple(size):
        return maps
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(size)]
    lead = maps.shape[:2]
    out = F.interpolate(maps.flatten(0, 1).unsqueeze(1), size=size, mode=mode, align_corners=False)
    return out.reshape(*lead, *size)


def normalize(maps: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Min-max normalises each (B, K) map to [0, 1].

    Degenerate maps are defined: a map that is zero everywhere stays zero, and a constant
    positive map (every position equally important) becomes all ones. Non-finite values
    are treated as 0.
    """
    maps = torch.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0)
    flat = maps.flatten(2)
    low = flat.amin(dim=2, keepdim=True)
    high = flat.amax(dim=2, keepdim=True)
    span = high - low
    flat_range = span <= eps * high.abs().clamp_min(1.0)
    scaled = (flat - low) / torch.where(flat_range, torch.ones_like(span), span)
    constant = torch.where(high > 0, torch.ones_like(flat), torch.zeros_like(flat))
    return torch.where(flat_range, constant, scaled).reshape(maps.shape).clamp_(0, 1)
