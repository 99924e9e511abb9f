"""The peer explanation libraries, called the way their documentation calls them.

Used by ``scripts/bench.py``. Each peer variant has a timed call (what a user of that
library runs to get the maps of the predicted class, or of the top-5 classes, for a
batch of clips) and an untimed one that returns its maps in a comparable form for the
agreement check:

- ``final``: (B, T, H, W) the map at the clip's resolution, as the library delivers it
  (pytorch-grad-cam upsamples with ``scipy.ndimage.zoom`` itself; torchcam and Captum
  return maps at the layer's resolution, which the timed call upsamples trilinearly, as
  a user must, to give the same product as videocam).
- ``raw``: (B, T', H', W') the map at the target layer's resolution after ReLU, before
  any normalisation or resizing, where the formulas can be compared directly.

The libraries are the ``bench`` extra (``pip install -e .[bench]``); a missing one is
reported as such, never faked. Peers run on plain single-tensor models (here C3D and
r3d_18).

Public API: :data:`PEERS`, :func:`versions`, :class:`PeerVariant`, :func:`peer_variants`,
:func:`videocam_maps`, :func:`pearson`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Distribution name -> import name of each peer library.
PEERS = {"grad-cam": "pytorch_grad_cam", "torchcam": "torchcam", "captum": "captum"}
#: How the peers are named in the tables.
PEER_LABELS = {"grad-cam": "pytorch-grad-cam", "torchcam": "torchcam", "captum": "Captum"}


def versions() -> dict[str, str | None]:
    """Installed version of each peer library (``None`` when it cannot be imported)."""
    out: dict[str, str | None] = {}
    for dist, module in PEERS.items():
        try:
            importlib.import_module(module)
            out[dist] = importlib.metadata.version(dist)
        except Exception:  # noqa: BLE001 - any import failure means "not usable here"
            out[dist] = None
    return out


@dataclass
class PeerVariant:
    """One peer method as a benchmark variant.

    Attributes:
        library: distribution name (a key of :data:`PEERS`).
        label: the library's class (and mode), e.g. ``"GradCAMPlusPlus"``.
        method: the videocam variant it is compared with (``gradcam``, ``gradcam++``,
            ``gradcam++ top-5``, ``guided-gradcam++``).
        run: the timed call.
        maps: untimed; ``(final, raw)`` maps of the top-1 class for the agreement check
            (``raw`` may be ``None``), or ``None`` when there is nothing comparable.
        note: what the comparison means, when it is not the same formula.
    """

    library: str
    label: str
    method: str
    run: Callable[[], object]
    maps: Callable[[], tuple[torch.Tensor, torch.Tensor | None]] | None = None
    note: str = ""

    @property
    def name(self) -> str:
        return f"{PEER_LABELS[self.library]} {self.label}"


def pearson(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """Pearson r between ``a[i]`` and ``b[i]`` for every clip ``i``: (mean, min) over clips.

    A constant map has no correlation; its r is reported as NaN.
    """
    a = a.detach().double().flatten(1)
    b = b.detach().double().flatten(1)
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    r = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))
    return float(r.mean()), float(r.min())


def _upsample(maps: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """(B, t, h, w) -> (B, T, H, W), trilinear (as videocam does)."""
    return F.interpolate(
        maps.unsqueeze(1).float(), size=size, mode="trilinear", align_corners=False
    )[:, 0]


def videocam_maps(
    model: nn.Module, layer: str, clips: torch.Tensor, method: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """videocam's top-1 ``(final, raw)`` maps for ``method`` (as in :class:`PeerVariant`)."""
    import videocam

    cls = {
        "gradcam": videocam.GradCAM,
        "gradcam++": videocam.GradCAMPlusPlus,
        "guided-gradcam++": videocam.GuidedGradCAMPlusPlus,
    }[method]
    with cls(model, layer) as cam:
        out = cam(clips)
    if method == "guided-gradcam++":
        return out.guided[:, 0].sum(1), None  # (B, T, H, W): channel sum of the product
    return out.maps[:, 0], out.raw[:, 0]


def _top_classes(model: nn.Module, clips: torch.Tensor, k: int) -> torch.Tensor:
    with torch.no_grad():
        return model(clips).topk(k, dim=1).indices


# --------------------------------------------------------------------------- pytorch-grad-cam
def _grad_cam_variants(model: nn.Module, layer: str, clips: torch.Tensor) -> list[PeerVariant]:
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    module = dict(model.named_modules())[layer]

    def one(cls):
        def run():
            with cls(model=model, target_layers=[module]) as cam:
                return cam(input_tensor=clips, targets=None)  # None: each clip's top-1

        return run

    def top5(cls):
        def run():
            # Its targets API takes ONE class per clip: top-5 costs 5 calls (5 forward and
            # 5 full backward passes); the first call's logits give the 5 classes.
            with cls(model=model, target_layers=[module]) as cam:
                maps = [cam(input_tensor=clips, targets=None)]
                classes = cam.outputs.detach().topk(5, dim=1).indices
                for k in range(1, 5):
                    targets = [ClassifierOutputTarget(int(c)) for c in classes[:, k]]
                    maps.append(cam(input_tensor=clips, targets=targets))
            return maps

        return run

    def maps(cls):
        def get():
            with cls(model=model, target_layers=[module]) as cam:
                final = cam(input_tensor=clips, targets=None)
                acts = [a.numpy() for a in cam.activations_and_grads.activations]
                grads = [g.numpy() for g in cam.activations_and_grads.gradients]
                targets = [ClassifierOutputTarget(int(c)) for c in cam.outputs.argmax(1)]
                raw = cam.get_cam_image(clips, module, targets, acts[0], grads[0], False)
            return torch.from_numpy(final), torch.from_numpy(raw).clamp_min(0)

        return get

    return [
        PeerVariant("grad-cam", "GradCAM", "gradcam", one(GradCAM), maps(GradCAM)),
        PeerVariant(
            "grad-cam",
            "GradCAMPlusPlus",
            "gradcam++",
            one(GradCAMPlusPlus),
            maps(GradCAMPlusPlus),
        ),
        PeerVariant(
            "grad-cam", "GradCAMPlusPlus x5 (top-5)", "gradcam++ top-5", top5(GradCAMPlusPlus)
        ),
    ]


# --------------------------------------------------------------------------- torchcam
def _torchcam_variants(model: nn.Module, layer: str, clips: torch.Tensor) -> list[PeerVariant]:
    from torchcam.methods import GradCAM, GradCAMpp

    size = tuple(clips.shape[2:])

    def extract(cls, k: int, normalized: bool = True):
        # One forward with the autograd graph, then one backward to the layer per class
        # (retain_graph between them), as torchcam's docs do for several classes.
        with cls(model, target_layer=layer) as extractor:
            scores = model(clips)
            classes = scores.detach().topk(k, dim=1).indices
            maps = []
            for j in range(k):
                (cam,) = extractor(
                    class_idx=classes[:, j].tolist(),
                    scores=scores,
                    normalized=normalized,
                    retain_graph=j < k - 1,
                )
                maps.append(cam)
        return maps

    def run(cls, k: int):
        return lambda: [_upsample(cam, size) for cam in extract(cls, k)]

    def maps(cls):
        def get():
            (raw,) = extract(cls, 1, normalized=False)
            return _upsample(extract(cls, 1)[0], size), raw

        return get

    return [
        PeerVariant("torchcam", "GradCAM", "gradcam", run(GradCAM, 1), maps(GradCAM)),
        PeerVariant(
            "torchcam",
            "GradCAMpp",
            "gradcam++",
            run(GradCAMpp, 1),
            maps(GradCAMpp),
        ),
        PeerVariant("torchcam", "GradCAMpp (top-5)", "gradcam++ top-5", run(GradCAMpp, 5)),
    ]


# --------------------------------------------------------------------------- Captum
def _captum_variants(model: nn.Module, layer: str, clips: torch.Tensor) -> list[PeerVariant]:
    from captum.attr import GuidedBackprop, GuidedGradCam, LayerAttribution, LayerGradCam

    module = dict(model.named_modules())[layer]
    size = tuple(clips.shape[2:])
    # Captum needs the target class; finding it (a forward pass) is NOT timed here.
    target = _top_classes(model, clips, 1)[:, 0]

    def gradcam_raw() -> torch.Tensor:
        attr = LayerGradCam(model, module).attribute(clips, target=target, relu_attributions=True)
        return attr  # (B, 1, T', H', W')

    def run_gradcam():
        return LayerAttribution.interpolate(gradcam_raw(), size, interpolate_mode="trilinear")

    def maps_gradcam():
        raw = gradcam_raw().detach()
        return _upsample(raw[:, 0], size), raw[:, 0]

    def run_guided():
        return GuidedGradCam(model, module).attribute(clips, target=target)

    def maps_guided():
        product = run_guided().detach().sum(1)
        return product, None

    def guided_backprop() -> torch.Tensor:
        return GuidedBackprop(model).attribute(clips, target=target).detach()

    variants = [
        PeerVariant("captum", "LayerGradCam", "gradcam", run_gradcam, maps_gradcam),
        PeerVariant(
            "captum",
            "GuidedGradCam",
            "guided-gradcam++",
            run_guided,
            maps_guided,
            note="Guided Grad-CAM (nearest upsampling) against Guided Grad-CAM++: not the same method",
        ),
    ]
    variants[1].guided_backprop = guided_backprop  # type: ignore[attr-defined]
    return variants


_BUILDERS = {
    "grad-cam": _grad_cam_variants,
    "torchcam": _torchcam_variants,
    "captum": _captum_variants,
}


def peer_variants(
    model: nn.Module, layer: str, clips: torch.Tensor, libraries: list[str] | None = None
) -> list[PeerVariant]:
    """The variants of every installed peer library (``libraries``: a subset of :data:`PEERS`)."""
    installed = versions()
    out: list[PeerVariant] = []
    for library in libraries or list(PEERS):
        if installed.get(library):
            out += _BUILDERS[library](model, layer, clips)
    return out


def videocam_guided_backprop(model: nn.Module, clips: torch.Tensor) -> torch.Tensor:
    """videocam's guided-backprop pixel gradients (B, C, T, H, W) of each clip's top-1."""
    import videocam

    with videocam.GuidedBackprop(model) as gb:
        return gb(clips).gradients[:, 0]
