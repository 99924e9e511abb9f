"""The evaluation runner: dataset x model x methods -> records, summary and report.

Per video: the centre clip (or ``clips_per_video`` uniform clips) is decoded and
preprocessed for the model; one forward pass gives the predicted class of each clip and
the video's top-1/top-5 prediction (mean probability over its clips); every method
explains the predicted class (one forward/backward for all CAM methods, see
:class:`videocam.cam.MultiCAM`); then the explanation clips and the deletion/insertion
steps of every method run through the model together, in batches; localization metrics
use the ground truth projected into the model's crop. Each (video, method) gives one
record, appended to ``records.jsonl`` as soon as the video is done (see
:mod:`videocam.evaluate.records` for the layout and for resuming).

A video's results never depend on which other videos run in the same process (videos are
not batched together), so a resumed or distributed run computes exactly what an
uninterrupted single process computes.
"""

from __future__ import annotations

import importlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from videocam import __version__
from videocam.cam import GuidedBackprop, MultiCAM
from videocam.errors import DatasetError, VideocamError
from videocam.evaluate import distributed
from videocam.evaluate.datasets import VideoDataset, VideoItem, open_dataset
from videocam.evaluate.metrics import (
    BASELINES,
    InputSpace,
    InstanceCoverage,
    LocalizationIoU,
    LocMeasure,
    PointingGame,
    TopKAccuracy,
    auc,
    normalize_maps,
    perturbation_curves,
    relative_fall,
)
from videocam.evaluate.records import (
    RECORDS,
    RecordWriter,
    clean_json,
    load_records,
    merge_records,
    prepare_output,
    write_text_atomic,
)
from videocam.evaluate.sampling import SampledClips, sample_clips
from videocam.evaluate.summary import summarize, summary_markdown
from videocam.models import ModelConfig, create_model
from videocam.pipeline import ResolvedModel, resolve_device, resolve_model
from videocam.pipeline.explain import METHOD_TITLES
from videocam.synthetic.dataset import Annotation
from videocam.video import ClipPreprocessor, CropGeometry

__all__ = [
    "DEFAULT_METHODS",
    "EVALUATION_METHODS",
    "Summary",
    "evaluate",
    "load_model_spec",
]

#: Methods explained by default (the paper's comparison).
DEFAULT_METHODS = ("gradcam", "gradcam++", "guided-gradcam++")
#: Methods ``evaluate`` accepts.
EVALUATION_METHODS = (*METHOD_TITLES, "guided-backprop")
DEFAULT_MODEL = "c3d_synthetic"


@dataclass(frozen=True)
class Summary:
    """What :func:`evaluate` returns.

    Attributes:
        out_dir: The output folder.
        data: The content of ``summary.json``.
    """

    out_dir: Path
    data: dict[str, Any] = field(repr=False)

    @property
    def records_path(self) -> Path:
        """``OUTDIR/records.jsonl``."""
        return self.out_dir / RECORDS

    @property
    def summary_path(self) -> Path:
        """``OUTDIR/summary.json``."""
        return self.out_dir / "summary.json"

    @property
    def markdown_path(self) -> Path:
        """``OUTDIR/summary.md``."""
        return self.out_dir / "summary.md"

    @property
    def report_path(self) -> Path:
        """``OUTDIR/report/index.html`` (exists when the report was written)."""
        return self.out_dir / "report" / "index.html"

    @property
    def methods(self) -> dict[str, dict[str, Any]]:
        """Per-method metrics."""
        return self.data["methods"]

    @property
    def counts(self) -> dict[str, int]:
        """Videos done, failed, missing, pending."""
        return self.data["counts"]


# ------------------------------------------------------------------------------ model
def load_model_spec(spec: str) -> ModelConfig | nn.Module:
    """Imports ``"package.module:attribute"``: a :class:`~videocam.models.ModelConfig`, an
    ``nn.Module``, or a callable returning one of them.

    Raises:
        VideocamError: The module or attribute cannot be imported, or is of another kind.
    """
    module_name, _, attribute = spec.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as exc:
        raise VideocamError(f"cannot import model {spec!r}: {exc}") from exc
    if callable(value) and not isinstance(value, (ModelConfig, nn.Module)):
        value = value()
    if not isinstance(value, (ModelConfig, nn.Module)):
        raise VideocamError(
            f"model {spec!r} is a {type(value).__name__}, not a ModelConfig or nn.Module"
        )
    return value


def _resolve(
    model: str | ModelConfig | nn.Module,
    config: ModelConfig | None,
    checkpoint: str | Path | None,
    target_layers: Sequence[str] | None,
    device: torch.device,
) -> tuple[ResolvedModel, str, bool]:
    """The resolved model, its name, and whether it was built here (not the user's)."""
    if isinstance(model, str) and ":" in model:
        model = load_model_spec(model)
    layers = list(target_layers) if target_layers else None
    if isinstance(model, ModelConfig):
        module = create_model(model, checkpoint=checkpoint, device=device)
        resolved = resolve_model(module, config=model, layers=layers, device=device)
        return resolved, model.name, True
    if isinstance(model, nn.Module):
        if checkpoint is not None:
            raise VideocamError("checkpoint= applies to registry models; load your module yourself")
        resolved = resolve_model(model, config=config, layers=layers, device=device)
        return resolved, type(model).__name__, False
    resolved = resolve_model(model, checkpoint=checkpoint, layers=layers, device=device)
    return resolved, resolved.name, True


def _normal_name(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


def align_labels(classes: Sequence[str], model_labels: Sequence[str]) -> tuple[list[int], str]:
    """Maps dataset class indices to model class indices.

    By name when every dataset class name is a model label (case, ``_``, ``-`` and
    spaces ignored), else by index when the model has at least as many classes.

    Returns:
        (model index of each dataset class, ``"name"`` or ``"index"``).

    Raises:
        DatasetError: Neither works (more dataset classes than model classes, names
            unknown to the model).
    """
    by_name = {_normal_name(n): i for i, n in enumerate(model_labels)}
    if model_labels and all(_normal_name(c) in by_name for c in classes):
        return [by_name[_normal_name(c)] for c in classes], "name"
    if not model_labels or len(classes) <= len(model_labels):
        return list(range(len(classes))), "index"
    raise DatasetError(
        f"the dataset has {len(classes)} classes but the model only {len(model_labels)}, "
        "and their names do not match"
    )


# ------------------------------------------------------------------------------ truth
@dataclass(frozen=True)
class _Truth:
    union: torch.Tensor  # (N, T, h, w) bool
    instances: list[torch.Tensor]  # N x (I, T, h, w) bool
    boxes: torch.Tensor  # (N, T, h, w) bool


def _box_region(
    boxes: torch.Tensor, geometry: CropGeometry, scale: tuple[float, float]
) -> torch.Tensor:
    """(I, T, 4) [x0, y0, x1, y1] boxes of the video frames -> (T, h, w) bool union in
    the crop (a crop pixel is inside when its centre is)."""
    h, w = geometry.crop_size
    rows = torch.arange(h, dtype=torch.float64) + 0.5
    cols = torch.arange(w, dtype=torch.float64) + 0.5
    out = torch.zeros(boxes.shape[1], h, w, dtype=torch.bool)
    for instance in boxes:
        for t, (x0, y0, x1, y1) in enumerate(instance.tolist()):
            if x0 < 0 or x1 <= x0 or y1 <= y0:
                continue
            top, left = geometry.to_crop(y0 * scale[0], x0 * scale[1])
            bottom, right = geometry.to_crop(y1 * scale[0], x1 * scale[1])
            inside = ((rows >= top) & (rows < bottom))[:, None] & ((cols >= left) & (cols < right))[
                None
            ]
            out[t] |= inside
    return out


def _truth(
    annotation: Annotation, sampled: SampledClips, geometry: CropGeometry, device: torch.device
) -> _Truth:
    masks = torch.from_numpy(annotation.masks)  # (I, Tv, Hv, Wv) bool
    boxes = torch.from_numpy(annotation.boxes).long()  # (I, Tv, 4)
    frame_h, frame_w = geometry.frame_size
    scale = (frame_h / masks.shape[2], frame_w / masks.shape[3])
    unions, instances, regions = [], [], []
    for indices in sampled.frame_indices:
        picked = torch.zeros(masks.shape[0], len(indices), *masks.shape[2:], dtype=torch.bool)
        picked_boxes = torch.full((boxes.shape[0], len(indices), 4), -1, dtype=torch.long)
        for position, index in enumerate(indices):
            if index < masks.shape[1]:
                picked[:, position] = masks[:, index]
                picked_boxes[:, position] = boxes[:, index]
        frames = picked.float()
        if (masks.shape[2], masks.shape[3]) != (frame_h, frame_w):
            frames = F.interpolate(frames, size=(frame_h, frame_w), mode="nearest")
        crop = geometry.project(frames) >= 0.5  # (I, T, h, w)
        instances.append(crop.to(device))
        unions.append(crop.any(dim=0))
        regions.append(_box_region(picked_boxes, geometry, scale))
    return _Truth(
        union=torch.stack(unions).to(device),
        instances=instances,
        boxes=torch.stack(regions).to(device),
    )


# ------------------------------------------------------------------------------ runner
@dataclass
class _Run:
    """Everything one process needs to evaluate videos."""

    dataset: VideoDataset
    resolved: ResolvedModel
    model_name: str
    methods: tuple[str, ...]
    label_map: list[int]
    clips_per_video: int
    batch_size: int
    amp: bool
    steps: int
    deltas: tuple[float, ...]
    coverage_delta: float
    pointing_tolerance: int
    deletion_baseline: str
    insertion_baseline: str
    channels_last: bool = False
    space: InputSpace = field(init=False)
    preprocessor: ClipPreprocessor = field(init=False)
    multicam: MultiCAM | None = field(init=False)
    guided_backprop: GuidedBackprop | None = field(init=False)

    def __post_init__(self) -> None:
        resolved = self.resolved
        if self.channels_last:  # oneDNN's fast layout for 3D convolutions and pooling on CPU
            resolved.model.to(memory_format=torch.channels_last_3d)
        self.space = InputSpace.from_preset(resolved.preset)
        self.preprocessor = ClipPreprocessor(resolved.preset, device=resolved.device)
        layers = list(resolved.target_layers) or None
        cams = [m for m in self.methods if m in METHOD_TITLES]
        self.multicam = MultiCAM(resolved.model, layers, methods=cams) if cams else None
        self.guided_backprop = (
            GuidedBackprop(resolved.model) if "guided-backprop" in self.methods else None
        )

    # -------------------------------------------------------------- model calls
    def _autocast(self):
        if not self.amp:
            return nullcontext()
        return torch.autocast(self.resolved.device.type, dtype=torch.bfloat16)

    def _layout(self, clips: torch.Tensor) -> torch.Tensor:
        if self.channels_last and clips.ndim == 5:
            return clips.contiguous(memory_format=torch.channels_last_3d)
        return clips

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Normalised clips -> logits (float32)."""
        with torch.inference_mode(), self._autocast():
            return self.resolved.model(self.resolved.prepare_inputs(self._layout(clips))).float()

    def explain(self, clips: torch.Tensor, classes: torch.Tensor) -> dict[str, Any]:
        """Maps (N, T, H, W) per method, or the exception a method raised."""
        out: dict[str, Any] = {}
        inputs = self.resolved.prepare_inputs(self._layout(clips))
        target = classes.tolist()
        if self.multicam is not None:
            try:
                with self._autocast():
                    results: dict[str, Any] = self.multicam(inputs, target=target)  # type: ignore[assignment]
                for method, result in results.items():
                    out[method] = result.maps[:, 0].float()
            except Exception as exc:  # noqa: BLE001 - recorded per method
                out.update({m: exc for m in self.methods if m in METHOD_TITLES})
        if self.guided_backprop is not None:
            try:
                with self._autocast():
                    result = self.guided_backprop(inputs, target=target)
                out["guided-backprop"] = result.maps[:, 0].float()
            except Exception as exc:  # noqa: BLE001
                out["guided-backprop"] = exc
        return out

    # -------------------------------------------------------------- one video
    def evaluate_item(self, item: VideoItem) -> dict[str, dict[str, Any]]:
        """One record per method for ``item`` (error records when it fails)."""
        base: dict[str, Any] = {
            "index": item.index,
            "video": item.source,
            "labels": list(item.labels),
            "label_names": self.dataset.label_names(item),
            "num_instances": item.num_instances,
        }
        if item.path is None:
            return {
                m: {**base, "method": m, "status": "missing", "error": item.missing}
                for m in self.methods
            }
        try:
            return self._evaluate(item, base)
        except Exception as exc:  # noqa: BLE001 - a failing video is recorded, the run goes on
            message = f"{type(exc).__name__}: {_one_line(exc)}"
            return {
                m: {**base, "method": m, "status": "error", "error": message} for m in self.methods
            }

    def _evaluate(self, item: VideoItem, base: dict[str, Any]) -> dict[str, dict[str, Any]]:
        assert item.path is not None
        resolved = self.resolved
        sampled = sample_clips(
            item.path, resolved.clip_len, resolved.sampling_rate, self.clips_per_video
        )
        clips = self.preprocessor.batch(sampled.images)
        height, width = sampled.images[0][0].shape[:2]
        geometry = self.preprocessor.geometry(height, width)
        annotation = self.dataset.ground_truth(item)
        truth = _truth(annotation, sampled, geometry, clips.device) if annotation else None
        logits = self.forward(clips)
        probs = logits.softmax(dim=1)
        classes = probs.argmax(dim=1)
        scores = probs.gather(1, classes[:, None]).squeeze(1)
        video_probs = probs.mean(dim=0, keepdim=True)
        wanted = [self.label_map[label] for label in item.labels]
        top = TopKAccuracy((1, 5)).update(video_probs, [wanted])[0].tolist()
        names = resolved.labels
        if annotation is not None and base["num_instances"] is None:
            base["num_instances"] = annotation.num_instances
        base = {
            **base,
            "num_frames": sampled.num_frames,
            "fps": float(sampled.info.fps),
            "predicted": [int(c) for c in classes.tolist()],
            "predicted_names": [names[c] if c < len(names) else str(c) for c in classes.tolist()],
            "top1": top[0],
            "top5": top[1],
        }
        maps = self.explain(clips, classes)
        good = {m: v for m, v in maps.items() if isinstance(v, torch.Tensor)}
        curves = perturbation_curves(
            self.forward,
            clips,
            {m: good[m] for m in self.methods if m in good},
            classes,
            scores,
            space=self.space,
            steps=self.steps,
            deletion_baseline=self.deletion_baseline,
            insertion_baseline=self.insertion_baseline,
            batch_size=self.batch_size,
        )
        out: dict[str, dict[str, Any]] = {}
        for method in self.methods:
            value = maps.get(method)
            if not isinstance(value, torch.Tensor):
                error = f"{type(value).__name__}: {_one_line(value)}" if value else "no map"
                out[method] = {**base, "method": method, "status": "error", "error": error}
                continue
            clips_out = self._clip_metrics(value, curves[method], scores, classes, truth, sampled)
            out[method] = {**base, "method": method, "status": "ok", "clips": clips_out}
        return out

    def _clip_metrics(self, maps, curves, scores, classes, truth, sampled) -> list[dict[str, Any]]:
        y = scores.double().cpu()
        o = curves.explained
        drops = (y - o).clamp_min(0) / y
        falls = relative_fall(y, o)
        normalised = normalize_maps(maps)
        temporal = normalised.mean(dim=(2, 3)).cpu().tolist()
        located: list[dict[str, Any]] = []
        if truth is not None:
            iou = LocalizationIoU(self.deltas).update(maps, truth.union).cpu().tolist()
            loc = LocMeasure(self.deltas).update(maps, truth.boxes).cpu().tolist()
            pointing = PointingGame(self.pointing_tolerance).update(maps, truth.union).tolist()
            coverage = InstanceCoverage(self.coverage_delta).update(maps, truth.instances)
            located = [
                {
                    "iou": {f"{d:g}": _finite(iou[i][k]) for k, d in enumerate(self.deltas)},
                    "loc": {f"{d:g}": _finite(loc[i][k]) for k, d in enumerate(self.deltas)},
                    "pointing": _finite(pointing[i]),
                    "coverage": list(coverage[i]) if coverage[i][1] else None,
                }
                for i in range(maps.shape[0])
            ]
        out = []
        for i in range(maps.shape[0]):
            clip: dict[str, Any] = {
                "start": int(sampled.frame_indices[i][0]),
                "class": int(classes[i]),
                "y": float(y[i]),
                "o": float(o[i]),
                "drop": float(drops[i]),
                "increase": float(y[i] < o[i]),
                "fall": float(falls[i]),
            }
            if self.steps:
                clip["deletion"] = curves.deletion[i].tolist()
                clip["insertion"] = curves.insertion[i].tolist()
                clip["deletion_auc"] = float(auc(curves.deletion[i]))
                clip["insertion_auc"] = float(auc(curves.insertion[i]))
            if located:
                clip.update(located[i])
            clip["temporal"] = temporal[i]
            out.append(clip)
        return out


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _check_settings(
    methods: Sequence[str],
    clips_per_video: int,
    batch_size: int,
    steps: int,
    deltas: Sequence[float],
    baselines: Sequence[str],
    limit: int | None,
) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    chosen = tuple(dict.fromkeys(m.strip().lower() for m in methods))
    unknown = [m for m in chosen if m not in EVALUATION_METHODS]
    if unknown or not chosen:
        raise VideocamError(
            f"unknown method {', '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(EVALUATION_METHODS)}"
        )
    for name, value, low in (
        ("clips per video", clips_per_video, 1),
        ("batch size", batch_size, 1),
        ("steps", steps, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise VideocamError(f"{name} must be an integer >= {low}, got {value!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise VideocamError(f"limit must be an integer >= 0, got {limit!r}")
    if any(not 0.0 <= float(d) < 1.0 for d in deltas):
        raise VideocamError(f"localization thresholds must be in [0, 1), got {list(deltas)}")
    for baseline in baselines:
        if baseline not in BASELINES:
            raise VideocamError(
                f"unknown baseline {baseline!r}; choose from {', '.join(BASELINES)}"
            )
    return chosen


def evaluate(
    dataset: str | Path | VideoDataset,
    model: str | ModelConfig | nn.Module = DEFAULT_MODEL,
    *,
    out_dir: str | Path,
    methods: Sequence[str] | str = DEFAULT_METHODS,
    checkpoint: str | Path | None = None,
    config: ModelConfig | None = None,
    target_layers: Sequence[str] | None = None,
    clips_per_video: int = 1,
    limit: int | None = None,
    batch_size: int = 16,
    device: str | torch.device | None = None,
    amp: bool = False,
    resume: bool = False,
    steps: int = 10,
    deltas: Sequence[float] = (0.0, 0.25, 0.5),
    coverage_delta: float = 0.5,
    pointing_tolerance: int = 0,
    deletion_baseline: str = "black",
    insertion_baseline: str = "blur",
    split: str = "test",
    dataset_format: str | None = None,
    labels: str | Path | None = None,
    video_root: str | Path | None = None,
    gallery: int = 4,
    report: bool = True,
    progress: bool = True,
) -> Summary:
    """Evaluates explanation methods on a dataset: ``videocam evaluate`` as a function.

    Works alike in one process and under ``torchrun`` (see
    :mod:`videocam.evaluate.distributed`); writes ``out_dir/records.jsonl``,
    ``summary.json``, ``summary.md`` and ``report/index.html``.

    Args:
        dataset: A dataset folder or description file (see
            :func:`videocam.evaluate.open_dataset`), or an opened dataset.
        model: A registry name, ``"package.module:attribute"`` naming a
            :class:`~videocam.models.ModelConfig` (or a module, or a factory of either),
            a ``ModelConfig``, or an ``nn.Module`` (with ``config`` for its preprocessing).
        out_dir: The output folder.
        methods: Methods to compare (names or a comma-separated string), from
            :data:`EVALUATION_METHODS`.
        checkpoint: Weights for a registry model or config.
        config: Preprocessing config of an ``nn.Module`` ``model``.
        target_layers: Layers to explain (default: the model's).
        clips_per_video: 1 = the centre clip; N = N clips spread uniformly.
        limit: Evaluate only the first ``limit`` videos (by index).
        batch_size: Clips per forward pass of the faithfulness measurements.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``None`` (CUDA if available).
        amp: bfloat16 autocast.
        resume: Continue the run recorded in ``out_dir`` (same settings).
        steps: Deletion/insertion steps (0 = skip those metrics).
        deltas: Localization thresholds δ.
        coverage_delta: δ of instance coverage.
        pointing_tolerance: Pixels of tolerance of the pointing game.
        deletion_baseline: ``"black"``, ``"blur"`` or ``"mean"``.
        insertion_baseline: ``"black"``, ``"blur"`` or ``"mean"``.
        split: Split of a dataset folder.
        dataset_format: Force a dataset layout.
        labels: Class names for list files and Kinetics CSVs.
        video_root: Where a Kinetics CSV's / UCF101 list's videos are.
        gallery: Explained clips shown as videos in the report.
        report: Write ``report/index.html``.
        progress: Show a progress bar (rank 0).

    Returns:
        The :class:`Summary` (on every rank).

    Raises:
        VideocamError: Bad arguments, dataset, model or output folder (one-line message).
            A video that cannot be decoded or explained does not raise: it becomes an
            error record.
    """
    chosen = _check_settings(
        methods,
        clips_per_video,
        batch_size,
        steps,
        deltas,
        (deletion_baseline, insertion_baseline),
        limit,
    )
    started = time.time()
    ctx, dev = distributed.setup(resolve_device(device))
    try:
        return _evaluate(
            ctx,
            dev,
            started,
            dataset=dataset,
            model=model,
            out_dir=Path(out_dir),
            methods=chosen,
            checkpoint=checkpoint,
            config=config,
            target_layers=target_layers,
            clips_per_video=clips_per_video,
            limit=limit,
            batch_size=batch_size,
            amp=amp,
            resume=resume,
            steps=steps,
            deltas=tuple(float(d) for d in deltas),
            coverage_delta=float(coverage_delta),
            pointing_tolerance=int(pointing_tolerance),
            deletion_baseline=deletion_baseline,
            insertion_baseline=insertion_baseline,
            split=split,
            dataset_format=dataset_format,
            labels=labels,
            video_root=video_root,
            gallery=gallery,
            report=report,
            progress=progress,
        )
    finally:
        ctx.close()


def _agree(ctx: distributed.Context, action: Callable[[], Any]) -> Any:
    """Runs ``action`` on every rank; if it fails on any, every rank raises (instead of
    the others waiting forever for the failed one)."""
    error: Exception | None = None
    result = None
    try:
        result = action()
    except Exception as exc:  # noqa: BLE001 - re-raised below, after telling the other ranks
        error = exc
    messages = ctx.all_gather(None if error is None else f"{type(error).__name__}: {error}")
    if error is not None:
        raise error
    failed = [m for m in messages if m is not None]
    if failed:
        raise VideocamError(f"another process failed: {failed[0]}")
    return result


def _evaluate(ctx: distributed.Context, dev: torch.device, started: float, **kw: Any) -> Summary:
    out_dir: Path = kw["out_dir"]
    methods: tuple[str, ...] = kw["methods"]
    dataset = kw["dataset"]

    def setup() -> tuple[VideoDataset, ResolvedModel, str, list[int], str, bool]:
        ds = dataset
        if not isinstance(ds, VideoDataset):
            ds = open_dataset(
                ds,
                split=kw["split"],
                format=kw["dataset_format"],
                labels=kw["labels"],
                video_root=kw["video_root"],
            )
        resolved, name, owned = _resolve(
            kw["model"], kw["config"], kw["checkpoint"], kw["target_layers"], dev
        )
        label_map, alignment = align_labels(ds.classes, resolved.labels)
        return ds, resolved, name, label_map, alignment, owned

    ds, resolved, model_name, label_map, alignment, owned = _agree(ctx, setup)
    settings = {
        "dataset": {"source": str(ds.source), "format": ds.format, "split": ds.split},
        "model": model_name,
        "checkpoint": str(kw["checkpoint"]) if kw["checkpoint"] is not None else None,
        "target_layers": list(resolved.target_layers),
        "clip_len": resolved.clip_len,
        "sampling_rate": resolved.sampling_rate,
        "methods": list(methods),
        "clips_per_video": kw["clips_per_video"],
        "steps": kw["steps"],
        "deletion_baseline": kw["deletion_baseline"],
        "insertion_baseline": kw["insertion_baseline"],
        "deltas": list(kw["deltas"]),
        "coverage_delta": kw["coverage_delta"],
        "pointing_tolerance": kw["pointing_tolerance"],
        "limit": kw["limit"],
        "batch_size": kw["batch_size"],
        "amp": kw["amp"],
    }
    _agree(ctx, lambda: prepare_output(out_dir, settings, resume=kw["resume"], write=ctx.is_main))
    ctx.barrier()
    existing = _agree(ctx, lambda: load_records(out_dir))
    done: set[tuple[int, str]] = set()
    for keys in ctx.all_gather(sorted(existing)):
        done.update((int(i), str(m)) for i, m in keys)
    count = len(ds) if kw["limit"] is None else min(kw["limit"], len(ds))
    todo = [i for i in ctx.shard(range(count)) if any((i, m) not in done for m in methods)]
    run = _Run(
        dataset=ds,
        resolved=resolved,
        model_name=model_name,
        methods=methods,
        label_map=label_map,
        clips_per_video=kw["clips_per_video"],
        batch_size=kw["batch_size"],
        amp=kw["amp"],
        steps=kw["steps"],
        deltas=kw["deltas"],
        coverage_delta=kw["coverage_delta"],
        pointing_tolerance=kw["pointing_tolerance"],
        deletion_baseline=kw["deletion_baseline"],
        insertion_baseline=kw["insertion_baseline"],
        channels_last=owned and dev.type == "cpu",
    )
    own = out_dir / (RECORDS if not ctx.active else f"records.rank{ctx.rank}.jsonl")
    new_records = _run_shard(run, todo, done, own, show=kw["progress"] and ctx.is_main)
    gathered = ctx.gather(list(existing.values()) + new_records)
    data = None
    if ctx.is_main:
        assert gathered is not None
        merged = merge_records(out_dir, [r for part in gathered for r in part], methods)
        describe = {
            "dataset": {**ds.describe(), "label_alignment": alignment},
            "model": {
                "name": model_name,
                "checkpoint": settings["checkpoint"],
                "target_layers": list(resolved.target_layers),
                "clip_len": resolved.clip_len,
                "sampling_rate": resolved.sampling_rate,
                "num_classes": len(resolved.labels) or None,
            },
            "settings": {
                k: v for k, v in settings.items() if k not in ("dataset", "model", "checkpoint")
            },
        }
        data = summarize(
            [r for r in merged if int(r["index"]) < count],
            methods,
            videos=count,
            deltas=kw["deltas"],
            steps=kw["steps"],
            describe=describe,
        )
        data["run"] = {
            "processes": ctx.world_size,
            "device": str(dev),
            "seconds": round(time.time() - started, 3),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "videocam_version": __version__,
            "torch_version": torch.__version__,
        }
        data = clean_json(data)
        from videocam.pipeline import write_json_atomic

        write_json_atomic(out_dir / "summary.json", data)
        write_text_atomic(out_dir / "summary.md", summary_markdown(data))
        if kw["report"]:
            from videocam.evaluate.report import write_report

            write_report(out_dir, data, merged, run=run, gallery=kw["gallery"])
    data = ctx.broadcast(data)
    return Summary(out_dir=out_dir, data=data)


def _run_shard(
    run: _Run,
    todo: list[int],
    done: set[tuple[int, str]],
    path: Path,
    *,
    show: bool,
) -> list[dict[str, Any]]:
    """Evaluates the videos ``todo``, appending their new records to ``path``."""
    from tqdm.auto import tqdm

    written: list[dict[str, Any]] = []
    failed = 0
    bar = tqdm(total=len(todo), desc="evaluate", unit="video", disable=not show, file=sys.stderr)
    try:
        with RecordWriter(path) as writer:
            for index in todo:
                item = run.dataset[index]
                records = run.evaluate_item(item)
                for method in run.methods:
                    if (index, method) in done:
                        continue
                    writer.write(records[method])
                    written.append(clean_json(records[method]))
                errors = {r.get("error") for r in records.values() if r["status"] != "ok"}
                if errors:
                    failed += 1
                    message = (
                        f"warning: video {index} ({item.source}): {sorted(errors, key=str)[0]}"
                    )
                    tqdm.write(message, file=sys.stderr)
                    bar.set_postfix(failed=failed)
                bar.update(1)
    finally:
        bar.close()
    return written
