"""Faithfulness and localization metrics for spatiotemporal explanations.

Every metric is an object with ``update(...)`` (takes tensors for a batch of samples,
returns the per-sample values and keeps them), ``add(values)`` (keeps per-sample values
computed earlier, e.g. read back from ``records.jsonl``), ``summary()`` and ``reset()``.
Tensors are torch throughout; nothing is copied to NumPy.

Conventions (also written in the evaluation report):

* **Input space.** Clips are given as the model sees them (normalised). Masking
  ("explanation map x input") happens on the *pixels*, before mean/std normalisation:
  :class:`InputSpace` undoes the normalisation, multiplies the pixels (0..1 or 0..255,
  the model's value range) by the map, and normalises again. A map value of 0 therefore
  makes a pixel black, exactly as multiplying an image by its map does in the paper.
* **Explanation map** (Chattopadhyay et al. 2018, section 6): E = L ⊙ I with L the map
  min-max normalised over the clip's space-time volume and I every frame of the clip.
  Y = softmax probability of the class predicted on I, O = the same class's probability
  on E.
* **Average Drop %** = 100 · mean( max(0, Y − O) / Y ) (lower is better);
  **% Increase in Confidence** = 100 · mean( [Y < O] ) (higher is better).
* **Win %** (method A against B) = 100 · share of samples where A's fall in confidence
  is smaller than B's. The fall is (Y − O) / Y *without* clipping at 0 (so when both
  maps increase the confidence, the larger increase wins; the paper's "fall in
  confidence" is not clipped either); exact ties count half a win for each, so the two
  directions of a pair add up to 100 %. Tie counts are reported.
* **Deletion / insertion** (Petsiuk et al., RISE, BMVC 2018) over space-time voxels: the
  T·H·W voxels are ranked by map value (ties in raster order, t then y then x); step k of
  n removes (deletion) or reveals (insertion) the first round(k/n · T·H·W) of them in
  every channel; the curve is the probability of the explained class after each step,
  and the AUC is its trapezoidal integral over the removed/revealed fraction [0, 1].
  Deletion replaces voxels with the deletion baseline (default black pixels, the same
  "absence" as a 0 in the explanation map); insertion starts from the insertion baseline
  (default the clip blurred in space and time, as RISE starts from a blurred image) and
  reveals the original voxels. Lower deletion AUC and higher insertion AUC are better.
* **Localization** (section 7.2 of the paper) needs ground truth given in the model's
  input space (the crop): the map is min-max normalised over the clip and binarised at
  δ (values *above* δ become 1). ``iou@δ`` is the space-time IoU of that binary map with
  the union of the ground-truth masks; ``loc@δ`` is the paper's measure
  Loc(δ) = Σ_inside L(δ) / (|boxes| + Σ_outside L(δ)), with the boxes' area as ground
  truth (for a binary L(δ) it is the IoU of the map with the union of the boxes).
* **Pointing game** (Zhang et al., 2016) per frame: a frame with ground truth is a hit
  when the frame's map maximum lies on the ground truth (within ``tolerance`` pixels);
  a frame whose map is flat is a miss. The clip's score is its share of hits.
* **Instance coverage**: the share of class-object instances whose region (its mask
  over the clip's frames) holds a *peak* of the map above δ: a voxel that equals the
  maximum of its 3x3x3 neighbourhood and exceeds δ after min-max normalisation. Grad-CAM
  tends to put one peak on one instance; the paper claims Grad-CAM++ covers several.
* **Top-k accuracy**: correct when one of the k best classes is in the label set
  (multi-label datasets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from videocam.video import ClipPreset

__all__ = [
    "AverageDrop",
    "DeletionAUC",
    "IncreaseInConfidence",
    "InputSpace",
    "InsertionAUC",
    "InstanceCoverage",
    "LocMeasure",
    "LocalizationIoU",
    "Metric",
    "PointingGame",
    "TopKAccuracy",
    "WinRate",
    "auc",
    "binarize",
    "explanation_clips",
    "make_baseline",
    "normalize_maps",
    "perturb",
    "perturbation_curves",
    "saliency_ranks",
]

Forward = Callable[[torch.Tensor], torch.Tensor]
BASELINES = ("black", "blur", "mean")


# ------------------------------------------------------------------------ input space
@dataclass(frozen=True)
class InputSpace:
    """The model's input normalisation: ``x = (pixels - mean) / std``.

    Attributes:
        mean: Per-channel mean, in pixel units of the model's value range.
        std: Per-channel standard deviation, same units.
    """

    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @classmethod
    def from_preset(cls, preset: ClipPreset) -> InputSpace:
        """The input space of a :class:`~videocam.video.ClipPreset`."""
        return cls(tuple(preset.mean), tuple(preset.std))  # type: ignore[arg-type]

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, 3) + (1,) * (x.ndim - 2)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
        return mean, std

    def to_pixels(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, ...) normalised clips -> pixels (0..1 or 0..255)."""
        mean, std = self._stats(clips)
        return clips * std + mean

    def from_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, ...) pixels -> normalised clips."""
        mean, std = self._stats(pixels)
        return (pixels - mean) / std


def normalize_maps(maps: torch.Tensor) -> torch.Tensor:
    """Min-max normalises each sample of ``maps`` (B, ...) over all its other dims.

    A constant map becomes all zeros.
    """
    flat = maps.reshape(maps.shape[0], -1).float()
    low = flat.min(dim=1, keepdim=True).values
    span = flat.max(dim=1, keepdim=True).values - low
    out = torch.where(span > 0, (flat - low) / span.clamp_min(1e-12), torch.zeros_like(flat))
    return out.reshape(maps.shape)


def binarize(maps: torch.Tensor, delta: float) -> torch.Tensor:
    """``normalize_maps(maps) > delta`` (bool)."""
    return normalize_maps(maps) > delta


def explanation_clips(clips: torch.Tensor, maps: torch.Tensor, space: InputSpace) -> torch.Tensor:
    """E = L ⊙ I on the pixels: (B, 3, T, H, W) normalised clips, (B, T, H, W) maps ->
    normalised clips whose pixels are the original pixels times the min-max normalised
    map."""
    weights = normalize_maps(maps).unsqueeze(1).to(clips.dtype)
    return space.from_pixels(space.to_pixels(clips) * weights)


def _as_tensor(values: torch.Tensor | Sequence[float]) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64).detach().flatten().cpu()


# ------------------------------------------------------------------------------ base
class Metric:
    """Keeps per-sample values; :meth:`summary` is their mean times :attr:`scale`.

    NaN (or ``None``) values mark samples the metric does not apply to (no ground truth,
    no label) and are skipped.
    """

    name = "metric"
    #: Factor applied by :meth:`summary` (100 for percentages).
    scale = 1.0

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        self._values: list[float] = []

    def add(self, values: Iterable[float | None] | torch.Tensor) -> None:
        """Keeps per-sample values computed before (``None``/NaN are skipped)."""
        items = values.flatten().tolist() if isinstance(values, torch.Tensor) else values
        for value in items:
            if value is not None and not math.isnan(float(value)):
                self._values.append(float(value))

    @property
    def values(self) -> list[float]:
        """The kept per-sample values."""
        return list(self._values)

    @property
    def count(self) -> int:
        """Number of kept samples."""
        return len(self._values)

    def summary(self) -> float | None:
        """Mean of the kept values times :attr:`scale`; ``None`` without samples."""
        if not self._values:
            return None
        return self.scale * math.fsum(self._values) / len(self._values)


# ----------------------------------------------------------------- confidence metrics
class AverageDrop(Metric):
    """Average Drop % = 100 · mean( max(0, Y − O) / Y ) (Chattopadhyay et al. 2018, eq. 25).

    Example:
        >>> metric = AverageDrop()
        >>> metric.update(torch.tensor([0.8, 0.5]), torch.tensor([0.4, 0.6])).tolist()
        [0.5, 0.0]
        >>> metric.summary()
        25.0
    """

    name = "average_drop"
    scale = 100.0

    def update(self, scores: torch.Tensor, explained_scores: torch.Tensor) -> torch.Tensor:
        """Args: Y (B,) and O (B,) probabilities. Returns the per-sample drops (fractions)."""
        y, o = _as_tensor(scores), _as_tensor(explained_scores)
        drops = torch.where(y > 0, (y - o).clamp_min(0) / y, torch.full_like(y, math.nan))
        self.add(drops)
        return drops


class IncreaseInConfidence(Metric):
    """% Increase in Confidence = 100 · mean( [Y < O] ) (Chattopadhyay et al. 2018, eq. 26)."""

    name = "increase_in_confidence"
    scale = 100.0

    def update(self, scores: torch.Tensor, explained_scores: torch.Tensor) -> torch.Tensor:
        """Args: Y (B,) and O (B,). Returns 1.0 where O > Y, else 0.0."""
        increase = (_as_tensor(scores) < _as_tensor(explained_scores)).double()
        self.add(increase)
        return increase


def relative_fall(scores: torch.Tensor, explained_scores: torch.Tensor) -> torch.Tensor:
    """(Y − O) / Y per sample, not clipped (negative when the confidence rises)."""
    y, o = _as_tensor(scores), _as_tensor(explained_scores)
    return torch.where(y > 0, (y - o) / y, torch.full_like(y, math.nan))


class WinRate:
    """Win % for every ordered pair of methods (see the module docstring for ties).

    Example:
        >>> win = WinRate(["gradcam++", "gradcam"])
        >>> win.update({"gradcam++": [0.1, 0.5, 0.2], "gradcam": [0.3, 0.4, 0.2]})
        >>> win.summary()["gradcam++ vs gradcam"]["win"]
        50.0
    """

    name = "win"

    def __init__(self, methods: Sequence[str]) -> None:
        if len(set(methods)) != len(methods):
            raise ValueError(f"methods repeat: {list(methods)}")
        self.methods = tuple(methods)
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        self._falls: dict[str, list[float]] = {m: [] for m in self.methods}

    def update(self, falls: Mapping[str, torch.Tensor | Sequence[float | None]]) -> None:
        """Adds samples: for each method the falls (Y − O) / Y of the same samples, in the
        same order (see :func:`relative_fall`); NaN/``None`` where a method has none."""
        lengths = {len(_as_list(falls.get(m, []))) for m in self.methods}
        if len(lengths) != 1:
            raise ValueError(f"every method needs the same samples, got lengths {lengths}")
        for method in self.methods:
            self._falls[method].extend(_as_list(falls[method]))

    add = update

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """``{"A vs B": {"win": %, "wins": n, "ties": n, "losses": n, "n": n}}`` for every
        ordered pair; ``win`` is ``None`` when the pair shares no sample."""
        out: dict[str, dict[str, float | int | None]] = {}
        for a in self.methods:
            for b in self.methods:
                if a == b:
                    continue
                wins = ties = losses = 0
                for fa, fb in zip(self._falls[a], self._falls[b], strict=True):
                    if math.isnan(fa) or math.isnan(fb):
                        continue
                    if fa < fb:
                        wins += 1
                    elif fa == fb:
                        ties += 1
                    else:
                        losses += 1
                n = wins + ties + losses
                out[f"{a} vs {b}"] = {
                    "win": 100.0 * (wins + 0.5 * ties) / n if n else None,
                    "wins": wins,
                    "ties": ties,
                    "losses": losses,
                    "n": n,
                }
        return out


def _as_list(values: torch.Tensor | Sequence[float | None]) -> list[float]:
    items = values.flatten().tolist() if isinstance(values, torch.Tensor) else list(values)
    return [math.nan if v is None else float(v) for v in items]


# ----------------------------------------------------------------- deletion/insertion
def saliency_ranks(maps: torch.Tensor) -> torch.Tensor:
    """Rank of every voxel by decreasing map value, per sample: (B, T, H, W) -> int64
    ranks (0 = most salient); ties keep raster order (t, then y, then x)."""
    flat = maps.reshape(maps.shape[0], -1)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices
    ranks = torch.empty_like(order)
    positions = torch.arange(flat.shape[1], device=maps.device).expand_as(order)
    ranks.scatter_(1, order, positions)
    return ranks.reshape(maps.shape)


def step_counts(num_voxels: int, steps: int) -> list[int]:
    """Voxels removed/revealed after each of the ``steps + 1`` points, round(k/n · V)."""
    return [int(round(k * num_voxels / steps)) for k in range(steps + 1)]


def perturb(
    clip: torch.Tensor,
    baseline: torch.Tensor,
    ranks: torch.Tensor,
    count: int,
    mode: str,
) -> torch.Tensor:
    """One deletion/insertion step of one clip.

    Args:
        clip: (3, T, H, W) normalised clip.
        baseline: (3, T, H, W) what deleted (or not yet inserted) voxels show.
        ranks: (T, H, W) from :func:`saliency_ranks`.
        count: How many of the most salient voxels are deleted / inserted.
        mode: ``"deletion"`` or ``"insertion"``.
    """
    chosen = (ranks < count).unsqueeze(0)
    if mode == "deletion":
        return torch.where(chosen, baseline, clip)
    if mode == "insertion":
        return torch.where(chosen, clip, baseline)
    raise ValueError(f"mode must be 'deletion' or 'insertion', got {mode!r}")


def auc(curve: torch.Tensor) -> torch.Tensor:
    """Trapezoidal area under curves sampled at evenly spaced points of [0, 1]:
    (..., n + 1) -> (...)."""
    n = curve.shape[-1] - 1
    if n < 1:
        raise ValueError("a curve needs at least 2 points")
    return (curve.sum(-1) - 0.5 * (curve[..., 0] + curve[..., -1])) / n


def _gaussian(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def make_baseline(
    clips: torch.Tensor,
    kind: str,
    space: InputSpace,
    *,
    sigma: tuple[float, float, float] = (2.0, 5.0, 5.0),
) -> torch.Tensor:
    """The clips that deleted / not-yet-inserted voxels are taken from.

    Args:
        clips: (B, 3, T, H, W) normalised clips.
        kind: ``"black"`` (pixels 0), ``"blur"`` (Gaussian blur over time, height and
            width with standard deviations ``sigma`` in voxels, edges replicated) or
            ``"mean"`` (each clip's mean colour).
        space: The model's input space.
        sigma: Blur standard deviations (T, H, W), in voxels; 0 skips an axis.
    """
    if kind == "black":
        return space.from_pixels(torch.zeros_like(clips))
    if kind == "mean":
        return clips.mean(dim=(2, 3, 4), keepdim=True).expand_as(clips).clone()
    if kind != "blur":
        raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, got {kind!r}")
    out = clips
    channels = clips.shape[1]
    for axis, s in enumerate(sigma):
        if s <= 0:
            continue
        kernel = _gaussian(float(s), clips.dtype, clips.device)
        radius = (kernel.numel() - 1) // 2
        shape = [1, 1, 1]
        shape[axis] = kernel.numel()
        weight = kernel.view(1, 1, *shape).expand(channels, 1, *shape)
        pad = [0, 0, 0, 0, 0, 0]  # (w_left, w_right, h_top, h_bottom, t_front, t_back)
        pad[2 * (2 - axis)] = pad[2 * (2 - axis) + 1] = radius
        out = F.conv3d(F.pad(out, pad, mode="replicate"), weight, groups=channels)
    return out


def _chunks(items: Iterator[torch.Tensor], size: int) -> Iterator[list[torch.Tensor]]:
    batch: list[torch.Tensor] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def batched_probabilities(
    forward: Forward,
    inputs: Iterable[tuple[torch.Tensor, int]],
    batch_size: int,
) -> list[float]:
    """Runs ``(clip (3, T, H, W), class)`` pairs through ``forward`` in batches and returns
    the softmax probability of each pair's class, in order."""
    out: list[float] = []
    pairs = iter(inputs)

    def clips() -> Iterator[torch.Tensor]:
        for clip, target in pairs:
            classes.append(target)
            yield clip

    classes: list[int] = []
    seen = 0
    for batch in _chunks(clips(), batch_size):
        with torch.inference_mode():
            probs = forward(torch.stack(batch)).float().softmax(dim=1)
        picked = probs[torch.arange(len(batch)), torch.tensor(classes[seen : seen + len(batch)])]
        out.extend(picked.tolist())
        seen += len(batch)
    return out


@dataclass(frozen=True)
class Curves:
    """What :func:`perturbation_curves` measured, per key (method) and sample.

    Attributes:
        explained: O, the class probability on the explanation clip E = L ⊙ I: (B,).
        deletion: (B, steps + 1) deletion curves (empty when steps is 0).
        insertion: (B, steps + 1) insertion curves (empty when steps is 0).
    """

    explained: torch.Tensor
    deletion: torch.Tensor
    insertion: torch.Tensor


def perturbation_curves(
    forward: Forward,
    clips: torch.Tensor,
    maps: Mapping[str, torch.Tensor],
    classes: torch.Tensor,
    scores: torch.Tensor,
    *,
    space: InputSpace,
    steps: int = 10,
    deletion_baseline: str = "black",
    insertion_baseline: str = "blur",
    batch_size: int = 16,
) -> dict[str, Curves]:
    """Explanation-clip probabilities and deletion/insertion curves of several maps of the
    same clips, with every forward pass batched together (in a fixed order, so the
    result of a clip never depends on what else is evaluated).

    Shared points are computed once: a deletion curve starts at ``scores`` (nothing
    deleted) and ends at the deletion baseline; an insertion curve starts at the insertion
    baseline and ends at ``scores``.

    Args:
        forward: Normalised (N, 3, T, H, W) clips -> (N, classes) logits.
        clips: (B, 3, T, H, W) normalised clips.
        maps: Per key (method) the (B, T, H, W) maps.
        classes: (B,) the explained class of each clip.
        scores: (B,) Y, the probability of that class on the clip.
        space: The model's input space.
        steps: n, points per curve minus one; 0 measures no curve.
        deletion_baseline: See :func:`make_baseline`.
        insertion_baseline: See :func:`make_baseline`.
        batch_size: Clips per forward pass.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    keys = list(maps)
    batch = clips.shape[0]
    num_voxels = int(clips[0, 0].numel())
    counts = step_counts(num_voxels, steps) if steps else []
    baselines: dict[str, torch.Tensor] = {}
    if steps:
        for kind in dict.fromkeys((deletion_baseline, insertion_baseline)):
            baselines[kind] = make_baseline(clips, kind, space)
    ranks = {key: saliency_ranks(maps[key]) for key in keys} if steps else {}
    explained = {key: explanation_clips(clips, maps[key], space) for key in keys}
    targets = [int(c) for c in classes.tolist()]

    def jobs() -> Iterator[tuple[torch.Tensor, int]]:
        for i in range(batch):
            for key in keys:
                yield explained[key][i], targets[i]
            if not steps:
                continue
            for kind in baselines:
                yield baselines[kind][i], targets[i]
            for key in keys:
                for k in range(1, steps):
                    yield (
                        perturb(
                            clips[i],
                            baselines[deletion_baseline][i],
                            ranks[key][i],
                            counts[k],
                            "deletion",
                        ),
                        targets[i],
                    )
                for k in range(1, steps):
                    yield (
                        perturb(
                            clips[i],
                            baselines[insertion_baseline][i],
                            ranks[key][i],
                            counts[k],
                            "insertion",
                        ),
                        targets[i],
                    )

    probs = iter(batched_probabilities(forward, jobs(), batch_size))
    y = scores.detach().double().cpu().tolist()
    out_o = {key: [0.0] * batch for key in keys}
    out_del = {key: [[0.0] * (steps + 1) for _ in range(batch)] for key in keys}
    out_ins = {key: [[0.0] * (steps + 1) for _ in range(batch)] for key in keys}
    for i in range(batch):
        for key in keys:
            out_o[key][i] = next(probs)
        if not steps:
            continue
        ends = {kind: next(probs) for kind in baselines}
        for key in keys:
            deletion = [y[i]] + [next(probs) for _ in range(1, steps)] + [ends[deletion_baseline]]
            insertion = [ends[insertion_baseline]] + [next(probs) for _ in range(1, steps)] + [y[i]]
            out_del[key][i] = deletion
            out_ins[key][i] = insertion
    return {
        key: Curves(
            explained=torch.tensor(out_o[key], dtype=torch.float64),
            deletion=torch.tensor(out_del[key], dtype=torch.float64).reshape(batch, -1)
            if steps
            else torch.empty(batch, 0, dtype=torch.float64),
            insertion=torch.tensor(out_ins[key], dtype=torch.float64).reshape(batch, -1)
            if steps
            else torch.empty(batch, 0, dtype=torch.float64),
        )
        for key in keys
    }


class _PerturbationAUC(Metric):
    mode = "deletion"

    def __init__(
        self,
        forward: Forward | None = None,
        *,
        space: InputSpace | None = None,
        steps: int = 10,
        baseline: str | None = None,
        batch_size: int = 16,
    ) -> None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.forward = forward
        self.space = space or InputSpace()
        self.steps = steps
        self.baseline = baseline or ("black" if self.mode == "deletion" else "blur")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {', '.join(BASELINES)}")
        self.batch_size = batch_size
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._curves: list[list[float]] = []

    def add_curves(self, curves: Iterable[Sequence[float]]) -> None:
        """Keeps per-sample curves computed before; their AUCs become the values."""
        for curve in curves:
            tensor = torch.as_tensor(list(curve), dtype=torch.float64)
            if tensor.numel() != self.steps + 1:
                raise ValueError(
                    f"expected curves of {self.steps + 1} points, got {tensor.numel()}"
                )
            self._curves.append(tensor.tolist())
            self.add([float(auc(tensor))])

    def update(
        self, clips: torch.Tensor, maps: torch.Tensor, classes: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Measures the curves of (B, 3, T, H, W) normalised clips under (B, T, H, W) maps
        for ``classes`` (default: the class predicted on each clip). Returns the AUCs."""
        if self.forward is None:
            raise ValueError("this metric was made without a forward function; use add_curves")
        with torch.inference_mode():
            probs = self.forward(clips).float().softmax(dim=1)
        if classes is None:
            classes = probs.argmax(dim=1)
        scores = probs.gather(1, classes.view(-1, 1)).squeeze(1)
        deletion = self.baseline if self.mode == "deletion" else "black"
        insertion = self.baseline if self.mode == "insertion" else "blur"
        curves = perturbation_curves(
            self.forward,
            clips,
            {"map": maps},
            classes,
            scores,
            space=self.space,
            steps=self.steps,
            deletion_baseline=deletion,
            insertion_baseline=insertion,
            batch_size=self.batch_size,
        )["map"]
        measured = curves.deletion if self.mode == "deletion" else curves.insertion
        self.add_curves(measured.tolist())
        return auc(measured)

    def curve(self) -> list[float] | None:
        """The mean curve over the kept samples."""
        if not self._curves:
            return None
        return torch.tensor(self._curves, dtype=torch.float64).mean(0).tolist()


class DeletionAUC(_PerturbationAUC):
    """Area under the deletion curve (lower is better); see the module docstring.

    Args:
        forward: Normalised clips (N, 3, T, H, W) -> logits (N, classes).
        space: The model's input space (for the black baseline).
        steps: Points of the curve minus one.
        baseline: ``"black"`` (default), ``"blur"`` or ``"mean"``.
        batch_size: Clips per forward pass.
    """

    name = "deletion_auc"
    mode = "deletion"


class InsertionAUC(_PerturbationAUC):
    """Area under the insertion curve (higher is better); see the module docstring.

    Args: as :class:`DeletionAUC`; the default baseline is ``"blur"``.
    """

    name = "insertion_auc"
    mode = "insertion"


# ------------------------------------------------------------------------ localization
def _check_pair(maps: torch.Tensor, masks: torch.Tensor) -> None:
    if maps.shape != masks.shape:
        raise ValueError(
            f"maps {tuple(maps.shape)} and ground truth {tuple(masks.shape)} differ in shape"
        )


class _PerDelta:
    """Keeps one list of per-sample values per threshold."""

    name = "per_delta"
    prefix = "iou"

    def __init__(self, deltas: Sequence[float] = (0.0, 0.25, 0.5)) -> None:
        self.deltas = tuple(float(d) for d in deltas)
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        self.metrics = {delta: Metric() for delta in self.deltas}

    def key(self, delta: float) -> str:
        """Summary key of a threshold (``iou@0.25``)."""
        return f"{self.prefix}@{delta:g}"

    def add(self, values: Mapping[float, Iterable[float | None]]) -> None:
        """Keeps per-sample values per threshold."""
        for delta in self.deltas:
            self.metrics[delta].add(values.get(delta, []))

    def summary(self) -> dict[str, float | None]:
        """``{"iou@0": mean, ...}``."""
        return {self.key(d): self.metrics[d].summary() for d in self.deltas}

    def _score(self, binary: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def update(self, maps: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W) maps and bool ground truth -> (B, len(deltas)) per-sample scores
        (NaN where a sample has no ground truth)."""
        _check_pair(maps, truth)
        truth = truth.bool()
        normalised = normalize_maps(maps)
        has_truth = truth.flatten(1).any(dim=1)
        columns = []
        for delta in self.deltas:
            score = self._score(normalised > delta, truth)
            score = torch.where(has_truth, score, torch.full_like(score, math.nan))
            self.metrics[delta].add(score)
            columns.append(score)
        return torch.stack(columns, dim=1)


class LocalizationIoU(_PerDelta):
    """Space-time IoU of the binarised map (normalised map > δ) with the ground-truth
    masks, at each δ of ``deltas``.

    Example:
        >>> maps = torch.tensor([[[[0.0, 0.2], [0.6, 1.0]]]])  # (B=1, T=1, H=2, W=2)
        >>> truth = torch.tensor([[[[False, False], [True, False]]]])
        >>> LocalizationIoU((0.5,)).update(maps, truth).tolist()
        [[0.5]]
    """

    name = "iou"
    prefix = "iou"

    def _score(self, binary: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        inter = (binary & truth).flatten(1).sum(1).double()
        union = (binary | truth).flatten(1).sum(1).double()
        return inter / union.clamp_min(1)


class LocMeasure(_PerDelta):
    """The paper's localization measure (Chattopadhyay et al. 2018, section 7.2):
    Loc(δ) = Σ_inside L(δ) / (|boxes| + Σ_outside L(δ)), L(δ) the binarised map, inside =
    within the ground-truth boxes (given as a (B, T, H, W) bool region)."""

    name = "loc"
    prefix = "loc"

    def _score(self, binary: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        inside = (binary & truth).flatten(1).sum(1).double()
        outside = (binary & ~truth).flatten(1).sum(1).double()
        area = truth.flatten(1).sum(1).double()
        return inside / (area + outside).clamp_min(1)


class PointingGame(Metric):
    """Per-frame pointing game: share of frames with ground truth whose map maximum lies
    on it (within ``tolerance`` pixels). A flat frame counts as a miss.

    Args:
        tolerance: Pixels the ground truth is dilated by (square neighbourhood).
    """

    name = "pointing_game"

    def __init__(self, tolerance: int = 0) -> None:
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {tolerance}")
        self.tolerance = int(tolerance)
        super().__init__()

    def update(self, maps: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W) maps and bool ground truth -> (B,) share of frames hit (NaN
        without ground truth)."""
        _check_pair(maps, truth)
        truth = truth.bool()
        if self.tolerance:
            size = 2 * self.tolerance + 1
            flat = truth.flatten(0, 1).unsqueeze(1).float()
            truth = (F.max_pool2d(flat, size, stride=1, padding=self.tolerance) > 0).view_as(truth)
        frames = maps.float().flatten(2)  # (B, T, H*W)
        top = frames.max(dim=2, keepdim=True).values
        flat_frame = (top == frames.min(dim=2, keepdim=True).values).squeeze(2)
        at_max = frames == top
        hit = (at_max & truth.flatten(2)).any(dim=2) & ~flat_frame
        with_truth = truth.flatten(2).any(dim=2)
        hits = (hit & with_truth).sum(1).double()
        counted = with_truth.sum(1).double()
        score = torch.where(
            counted > 0, hits / counted.clamp_min(1), torch.full_like(hits, math.nan)
        )
        self.add(score)
        return score


def map_peaks(maps: torch.Tensor, delta: float) -> torch.Tensor:
    """(B, T, H, W) -> bool peaks: voxels equal to the maximum of their 3x3x3
    neighbourhood whose min-max normalised value exceeds ``delta``."""
    normalised = normalize_maps(maps).unsqueeze(1)
    pooled = F.max_pool3d(normalised, kernel_size=3, stride=1, padding=1)
    return ((normalised == pooled) & (normalised > delta)).squeeze(1)


class InstanceCoverage(Metric):
    """Share of instances whose region holds a map peak above ``delta`` (pooled over all
    instances: covered instances / instances).

    Args:
        delta: Threshold on the min-max normalised map.
    """

    name = "instance_coverage"

    def __init__(self, delta: float = 0.5) -> None:
        self.delta = float(delta)
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.covered = 0
        self.instances = 0

    def add_counts(self, counts: Iterable[Sequence[int] | None]) -> None:
        """Keeps per-sample ``(covered, instances)`` pairs computed before."""
        for pair in counts:
            if pair is None or int(pair[1]) == 0:
                continue
            covered, total = int(pair[0]), int(pair[1])
            self.covered += covered
            self.instances += total
            self.add([covered / total])

    def update(
        self, maps: torch.Tensor, instance_masks: Sequence[torch.Tensor]
    ) -> list[tuple[int, int]]:
        """Args: (B, T, H, W) maps; per sample an (I, T, H, W) bool tensor of instance
        regions. Returns per sample ``(covered, visible instances)``."""
        if len(instance_masks) != maps.shape[0]:
            raise ValueError("one (I, T, H, W) instance tensor is needed per map")
        peaks = map_peaks(maps, self.delta)
        out = []
        for b, masks in enumerate(instance_masks):
            masks = masks.bool()
            if masks.shape[1:] != maps.shape[1:]:
                raise ValueError(
                    f"instance masks {tuple(masks.shape)} do not fit maps {tuple(maps.shape)}"
                )
            visible = masks.flatten(1).any(dim=1)
            covered = (masks & peaks[b]).flatten(1).any(dim=1) & visible
            out.append((int(covered.sum()), int(visible.sum())))
        self.add_counts(out)
        return out

    def summary(self) -> float | None:
        """Covered instances / instances (``None`` without instances)."""
        return self.covered / self.instances if self.instances else None


class TopKAccuracy:
    """Top-k accuracy (%) for multi-label ground truth: a sample is correct when one of
    its k most probable classes is in its label set. Samples without labels are skipped.

    Args:
        ks: The k values (default 1 and 5).
    """

    name = "accuracy"

    def __init__(self, ks: Sequence[int] = (1, 5)) -> None:
        self.ks = tuple(int(k) for k in ks)
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        self.metrics = {k: Metric() for k in self.ks}
        for metric in self.metrics.values():
            metric.scale = 100.0

    def update(self, scores: torch.Tensor, labels: Sequence[Iterable[int]]) -> torch.Tensor:
        """(B, N) logits or probabilities and one label set per sample -> (B, len(ks))
        1.0 / 0.0 (NaN for samples without labels)."""
        if scores.shape[0] != len(labels):
            raise ValueError("one label set is needed per sample")
        ranked = scores.float().argsort(dim=1, descending=True, stable=True).cpu()
        rows = []
        for b, label_set in enumerate(labels):
            wanted = {int(x) for x in label_set}
            row = []
            for k in self.ks:
                if not wanted:
                    row.append(math.nan)
                else:
                    row.append(1.0 if wanted & set(ranked[b, :k].tolist()) else 0.0)
            rows.append(row)
        out = torch.tensor(rows, dtype=torch.float64).reshape(len(labels), len(self.ks))
        self.add({k: out[:, i] for i, k in enumerate(self.ks)})
        return out

    def add(self, values: Mapping[int, Iterable[float | None] | torch.Tensor]) -> None:
        """Keeps per-sample 1/0 values per k."""
        for k in self.ks:
            self.metrics[k].add(values.get(k, []))

    def summary(self) -> dict[str, float | None]:
        """``{"top1": %, "top5": %}``."""
        return {f"top{k}": self.metrics[k].summary() for k in self.ks}
