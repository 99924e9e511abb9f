"""The core every explainer shares: borrowing the model, capturing target layers, choosing
targets and taking gradients from the scores back to the target layer only.

Design (see DESIGN.md): the model is borrowed. For the duration of one call its
parameters are frozen (``requires_grad=False``) so that autograd records nothing below the
target layer and computes no parameter gradient; a forward hook on each target layer
turns its output into a fresh leaf that requires grad, so the graph starts there. Hooks
live for one call and are removed in ``finally``; ``requires_grad`` flags, train/eval
flags and (for models left in training mode) batch-norm buffers are restored, also after
an exception.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from videocam.cam import weights as W
from videocam.cam.result import CAMResult
from videocam.errors import (
    ClassIndexError,
    GradientError,
    InputShapeError,
    LayerNotFoundError,
    LayerOutputError,
    TargetError,
)

__all__ = [
    "Explainer",
    "LayerSpec",
    "Target",
    "borrowed",
    "resolve_layers",
    "find_default_layer",
]

LayerSpec = str | nn.Module | Sequence[str | nn.Module] | None
Target = None | int | Sequence[int] | torch.Tensor | Callable[[Any], torch.Tensor]
Inputs = torch.Tensor | Sequence[torch.Tensor]

_POOLING = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)


# --------------------------------------------------------------------------- borrowing
@contextmanager
def borrowed(
    model: nn.Module, *, freeze: bool = True, keep_buffers: bool = False
) -> Iterator[None]:
    """Borrows ``model`` for one call and gives it back exactly as it was.

    Restores every parameter's ``requires_grad``, every module's ``training`` flag and,
    if any module is in training mode (batch norm updates running statistics there),
    every buffer's value.

    Args:
        model: The user's model.
        freeze: Set ``requires_grad=False`` on all parameters for the duration, so no
            autograd graph is recorded through them and no parameter gradient is computed.
        keep_buffers: Leave buffers as the call left them (a training forward).
    """
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    modes = [(m, m.training) for m in model.modules()]
    snapshot = None
    if not keep_buffers and any(training for _, training in modes):
        snapshot = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        if freeze:
            for p in params:
                p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)
        for module, training in modes:
            module.training = training
        if snapshot is not None:
            with torch.no_grad():
                for buffer, value in snapshot:
                    buffer.copy_(value)


# --------------------------------------------------------------------------- layers
def resolve_layers(model: nn.Module, target_layer: LayerSpec) -> list[tuple[str, nn.Module]]:
    """Turns a layer spec (dotted name, module, or a list of them) into (name, module) pairs.

    Raises:
        LayerNotFoundError: A name is not a module of ``model`` (the message lists the
            nearest valid names), or a module is not part of ``model``.
    """
    if target_layer is None:
        raise LayerNotFoundError("no target layer given")
    specs = (
        list(target_layer)
        if isinstance(target_layer, Sequence) and not isinstance(target_layer, str)
        else [target_layer]
    )
    if not specs:
        raise LayerNotFoundError("the list of target layers is empty")
    named = dict(model.named_modules())
    by_id = {id(m): n for n, m in named.items()}
    out: list[tuple[str, nn.Module]] = []
    for spec in specs:
        if isinstance(spec, nn.Module):
            if id(spec) not in by_id:
                raise LayerNotFoundError(
                    f"the {type(spec).__name__} module given as target layer is not part of "
                    f"the {type(model).__name__} model"
                )
            out.append((by_id[id(spec)] or "<model>", spec))
        elif isinstance(spec, str):
            key = spec.strip()
            if key not in named or key == "":
                raise LayerNotFoundError(_unknown_layer_message(model, key, named))
            out.append((key, named[key]))
        else:
            raise LayerNotFoundError(
                f"target layer must be a module name or a module, got {type(spec).__name__}"
            )
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise LayerNotFoundError(f"target layers repeat: {names}")
    return out


def _unknown_layer_message(model: nn.Module, key: str, named: dict[str, nn.Module]) -> str:
    names = [n for n in named if n]
    near = difflib.get_close_matches(key, names, n=5, cutoff=0.5)
    if not near:  # fall back to the top-level children, which is what users usually want
        near = [n for n in names if "." not in n][:8]
    return f"unknown target layer {key!r} in {type(model).__name__}; nearest: {', '.join(near)}"


def find_default_layer(model: nn.Module, inputs: Inputs) -> str:
    """Finds the layer CAM methods usually explain: the last module, in execution order,
    whose output is a (B, C, *spatial) tensor with as many spatial dims as the input and
    more than one position, pooling layers excluded.

    Runs one forward pass without gradients (the model is borrowed and restored).

    Raises:
        LayerOutputError: No module produces such an output.
    """
    inputs_list = _as_list(inputs)
    n_spatial = inputs_list[0].ndim - 2
    found: list[str] = []
    names = {id(m): n for n, m in model.named_modules() if n}

    def hook(module: nn.Module, _inp: Any, out: Any) -> None:
        if isinstance(module, _POOLING) or id(module) not in names:
            return
        if (
            isinstance(out, torch.Tensor)
            and out.ndim == n_spatial + 2
            and out.shape[2:].numel() > 1
        ):
            found.append(names[id(module)])

    handles = [m.register_forward_hook(hook) for m in model.modules() if id(m) in names]
    try:
        with borrowed(model), torch.no_grad():
            model(*_model_args(model, inputs_list, inputs))
    finally:
        for h in handles:
            h.remove()
    if not found:
        raise LayerOutputError(
            f"{type(model).__name__} has no layer with a (B, C, *spatial) output; "
            "name a target_layer"
        )
    return found[-1]


# --------------------------------------------------------------------------- inputs
def _as_list(inputs: Inputs) -> list[torch.Tensor]:
    if isinstance(inputs, torch.Tensor):
        tensors = [inputs]
    elif (
        isinstance(inputs, Sequence) and inputs and all(isinstance(t, torch.Tensor) for t in inputs)
    ):
        tensors = list(inputs)
    else:
        raise InputShapeError(
            "input must be a tensor (B, C, T, H, W) / (B, C, H, W) or a list of such tensors"
        )
    for t in tensors:
        if t.ndim not in (4, 5):
            raise InputShapeError(
                f"input must be clips (B, C, T, H, W) or images (B, C, H, W), got {tuple(t.shape)}"
            )
        if t.shape[0] != tensors[0].shape[0]:
            raise InputShapeError("all input tensors must have the same batch size")
        if not t.is_floating_point():
            raise InputShapeError(f"input must be a floating point tensor, got {t.dtype}")
    return tensors


def _model_args(model: nn.Module, tensors: list[torch.Tensor], original: Inputs) -> tuple:
    """A list input (SlowFast's [slow, fast]) is passed as one list argument: a fresh
    list, since some models (PyTorchVideo's SlowFast) write their features into it."""
    return (list(tensors),) if not isinstance(original, torch.Tensor) else (tensors[0],)


def _model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    for param in model.parameters():
        return param.device
    for buffer in model.buffers():
        return buffer.device
    return fallback


def _output_size(tensors: list[torch.Tensor]) -> tuple[int, ...]:
    dims = max(t.ndim for t in tensors) - 2
    return tuple(max(t.shape[2 + i] for t in tensors if t.ndim - 2 == dims) for i in range(dims))


# --------------------------------------------------------------------------- explainer
class Explainer:
    """Base class: owns the model borrowing, the hooks and target selection.

    Subclasses implement :meth:`_explain`. Use as a context manager (or call directly;
    hooks live for one call either way)::

        with videocam.GradCAMPlusPlus(model, target_layer="layer4") as cam:
            out = cam(clips, top_k=3)
    """

    method = "explainer"
    needs_layer = True
    #: Whether ``create_graph=True`` (differentiable maps) is supported.
    differentiable = False

    def __init__(self, model: nn.Module, target_layer: LayerSpec = None) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self._layer_spec = target_layer
        self._layers: list[tuple[str, nn.Module]] | None = (
            resolve_layers(model, target_layer) if target_layer is not None else None
        )
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    # context manager -------------------------------------------------------------
    def __enter__(self) -> Explainer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove_hooks()

    def remove_hooks(self) -> None:
        """Removes any hook this explainer placed (harmless to call twice)."""
        while self._handles:
            self._handles.pop().remove()

    @property
    def target_layers(self) -> list[str]:
        """Names of the target layers (resolved on the first call if auto-detected)."""
        return [n for n, _ in self._layers] if self._layers else []

    # public call ---------------------------------------------------------------------
    def __call__(
        self,
        inputs: Inputs,
        target: Target = None,
        top_k: int = 1,
        *,
        create_graph: bool = False,
    ) -> CAMResult:
        """Explains ``inputs``.

        Args:
            inputs: (B, C, T, H, W) clips, (B, C, H, W) images, or a list of clips for
                multi-pathway models (SlowFast's ``[slow, fast]``).
            target: ``None`` (the predicted class, or the ``top_k`` best), an int (one class
                for every clip), a sequence/tensor of B ints (one per clip) or of shape
                (B, K) (K classes per clip), or a callable mapping the model output to one
                differentiable score per clip.
            top_k: With ``target=None``, explain the K best classes of every clip, from
                one forward pass.
            create_graph: Differentiable maps (Grad-CAM and Grad-CAM++ only): the maps,
                raw maps and logits keep their autograd graph down to the model's
                parameters, so a loss on them trains the model (explanation-guided
                distillation). This call is then a training forward: parameters keep
                ``requires_grad``, nothing is detached, and batch-norm running statistics
                update as in any training forward; hooks are still removed and flags
                restored.

        Returns:
            A :class:`CAMResult`.
        """
        if create_graph and not self.differentiable:
            raise TargetError(
                f"{type(self).__name__} does not make differentiable maps; use GradCAM or "
                "GradCAMPlusPlus"
            )
        tensors = _as_list(inputs)
        if self.model.training and not create_graph:
            warnings.warn(
                f"{type(self.model).__name__} is in training mode: dropout and batch norm make "
                "maps depend on the batch; call model.eval() first",
                stacklevel=2,
            )
        device = _model_device(self.model, tensors[0].device)
        with torch.inference_mode(False), torch.enable_grad():
            # Inference tensors (made under torch.inference_mode) cannot enter autograd.
            tensors = [(t.clone() if t.is_inference() else t).detach().to(device) for t in tensors]
            if self.needs_layer and self._layers is None:
                self._layers = resolve_layers(
                    self.model, find_default_layer(self.model, self._pack(tensors, inputs))
                )
            try:
                if create_graph:
                    return self._explain(tensors, inputs, target, top_k, create_graph=True)  # type: ignore[call-arg]
                return self._explain(tensors, inputs, target, top_k)
            finally:
                self.remove_hooks()

    def _explain(
        self, tensors: list[torch.Tensor], original: Inputs, target: Target, top_k: int
    ) -> Any:
        raise NotImplementedError

    # helpers for subclasses -------------------------------------------------------------
    @staticmethod
    def _pack(tensors: list[torch.Tensor], original: Inputs) -> Inputs:
        return tensors[0] if isinstance(original, torch.Tensor) else tensors

    def _forward_capture(
        self, tensors: list[torch.Tensor], original: Inputs, *, detach: bool
    ) -> tuple[Any, list[torch.Tensor]]:
        """Runs the model once, capturing the target layers' outputs.

        With ``detach``, each captured output becomes a new autograd leaf (nothing below
        the layer is recorded), unless it already requires grad because another target
        layer lies upstream of it. The hook hands a clone downstream, so in-place ops after
        the layer (e.g. ``ReLU(inplace=True)``) can neither corrupt the captured
        activation nor touch an autograd leaf.
        """
        assert self._layers is not None
        captured: dict[str, list[torch.Tensor]] = {name: [] for name, _ in self._layers}

        def make_hook(name: str) -> Callable:
            def hook(_module: nn.Module, _inp: Any, out: Any) -> torch.Tensor:
                if not isinstance(out, torch.Tensor) or out.ndim < 3:
                    shape = (
                        tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    )
                    raise LayerOutputError(
                        f"target layer {name!r} outputs {shape}, not a (B, C, *spatial) tensor; "
                        "choose a convolutional layer or block"
                    )
                # A layer downstream of another target layer is already in the graph that
                # starts at the upstream leaf: keep it attached so both get gradients.
                act = out.detach().requires_grad_(True) if detach and not out.requires_grad else out
                captured[name].append(act)
                return act.clone()

            return hook

        for name, module in self._layers:
            self._handles.append(module.register_forward_hook(make_hook(name)))
        output = self.model(*_model_args(self.model, tensors, original))
        self.remove_hooks()
        acts = []
        for name, _ in self._layers:
            runs = captured[name]
            if len(runs) != 1:
                raise LayerOutputError(
                    f"target layer {name!r} ran {len(runs)} times in one forward pass; "
                    "choose a layer that runs exactly once"
                )
            if runs[0].shape[0] != tensors[0].shape[0]:
                raise LayerOutputError(
                    f"target layer {name!r} output {tuple(runs[0].shape)} does not keep the batch "
                    f"dim of the input ({tensors[0].shape[0]})"
                )
            acts.append(runs[0])
        return output, acts

    @staticmethod
    def _select_targets(
        output: Any, target: Target, top_k: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Picks the explained scores.

        Returns:
            scores (B, K) differentiable, classes (B, K) int64 (-1 for callables) and the
            detached logits (B, N) (or the callable's (B, 1) scores when the model output
            is not a (B, N) tensor).
        """
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise TargetError(f"top_k must be a positive int, got {top_k!r}")
        if callable(target) and not isinstance(target, torch.Tensor):
            if top_k != 1:
                raise TargetError("top_k > 1 cannot be combined with a callable target")
            scores = target(output)
            if not isinstance(scores, torch.Tensor) or scores.ndim != 1:
                raise TargetError(
                    "a callable target must return one score per clip, a tensor of shape (B,)"
                )
            scores = scores.unsqueeze(1)
            classes = torch.full_like(scores, -1, dtype=torch.long)
            logits = output.detach() if _is_logits(output) else scores.detach()
            return scores, classes, logits
        if not _is_logits(output):
            shape = (
                tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            )
            raise TargetError(
                f"the model returned {shape}, not (B, num_classes) logits; "
                "pass a callable target that maps the output to one score per clip"
            )
        batch, n_classes = output.shape
        if target is None:
            if top_k > n_classes:
                raise TargetError(f"top_k={top_k} exceeds the {n_classes} classes of the model")
            classes = output.detach().topk(top_k, dim=1).indices
        else:
            if top_k != 1:
                raise TargetError("give either target classes or top_k > 1, not both")
            classes = _target_tensor(target, batch, output.device)
            bad = (classes < 0) | (classes >= n_classes)
            if bool(bad.any()):
                raise ClassIndexError(
                    f"class index {int(classes[bad][0])} is out of range for a model with "
                    f"{n_classes} classes (valid: 0..{n_classes - 1})"
                )
        return output.gather(1, classes), classes, output.detach()

    @staticmethod
    def _grads(
        scores: torch.Tensor,
        inputs: Sequence[torch.Tensor],
        *,
        names: Sequence[str],
        retain_graph: bool = False,
        create_graph: bool = False,
        batched: bool = True,
    ) -> list[torch.Tensor]:
        """d scores[:, k] / d inputs for every k, as (K, B, ...) tensors.

        Clips are independent in an eval-mode model, so the gradient of the batch sum of
        one class column gives every clip's own gradient. The K columns go through one
        vectorised backward (``is_grads_batched``); a loop is the fallback.
        """
        if not scores.requires_grad:
            raise GradientError(
                f"the target score does not depend on {', '.join(map(repr, names))}: "
                "it carries no gradient"
            )
        n_targets = scores.shape[1]
        if n_targets == 1 or not batched:
            per_k = []
            for k in range(n_targets):
                grads = torch.autograd.grad(
                    scores[:, k].sum(),
                    list(inputs),
                    retain_graph=retain_graph or create_graph or k < n_targets - 1,
                    create_graph=create_graph,
                    allow_unused=True,
                )
                per_k.append(grads)
            _check_used(per_k[0], names)
            return [torch.stack([g[i] for g in per_k]) for i in range(len(inputs))]
        eye = torch.eye(n_targets, dtype=scores.dtype, device=scores.device)
        grad_outputs = eye[:, None, :].expand(n_targets, scores.shape[0], n_targets)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # vmap fallback performance warnings
                grads = torch.autograd.grad(
                    scores,
                    list(inputs),
                    grad_outputs=grad_outputs,
                    retain_graph=retain_graph or create_graph,
                    create_graph=create_graph,
                    is_grads_batched=True,
                    allow_unused=True,
                )
        except RuntimeError:
            return Explainer._grads(
                scores,
                inputs,
                names=names,
                retain_graph=retain_graph,
                create_graph=create_graph,
                batched=False,
            )
        _check_used(grads, names)
        return list(grads)


def _is_logits(output: Any) -> bool:
    return isinstance(output, torch.Tensor) and output.ndim == 2 and output.is_floating_point()


def _target_tensor(target: Target, batch: int, device: torch.device) -> torch.Tensor:
    if isinstance(target, bool):
        raise TargetError(f"target must be a class index, got {target!r}")
    if isinstance(target, int):
        return torch.full((batch, 1), target, dtype=torch.long, device=device)
    try:
        classes = torch.as_tensor(target, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TargetError(f"target must be class indices, got {target!r}") from exc
    if classes.is_floating_point() or classes.dtype == torch.bool:
        raise TargetError(f"target must hold integer class indices, got {classes.dtype}")
    classes = classes.long()
    if classes.ndim == 0:
        classes = classes.expand(batch)
    if classes.ndim == 1:
        classes = classes.unsqueeze(1)
    if classes.ndim != 2 or classes.shape[0] != batch:
        raise TargetError(
            f"target must give one class per clip (B={batch}) or (B, K) classes, "
            f"got shape {tuple(classes.shape)}"
        )
    return classes


def _check_used(grads: Sequence[torch.Tensor | None], names: Sequence[str]) -> None:
    for grad, name in zip(grads, names, strict=True):
        if grad is None:
            raise GradientError(
                f"the target score does not depend on {name!r}: no gradient flows from the "
                "output to it"
            )


def _as_maps(
    per_layer_raw: Sequence[torch.Tensor], size: tuple[int, ...]
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Upsamples and normalises per-layer raw maps; fuses several layers by their mean."""
    layer_maps = tuple(W.normalize(W.upsample(raw, size)) for raw in per_layer_raw)
    fused = layer_maps[0] if len(layer_maps) == 1 else W.normalize(torch.stack(layer_maps).mean(0))
    return fused, layer_maps
