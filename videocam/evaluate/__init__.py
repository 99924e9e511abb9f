"""Evaluating explanations on video datasets: readers, metrics, the runner and the report.

* :mod:`~videocam.evaluate.datasets`: Sports-1M partition files, list files, class
  folders, Kinetics CSVs, UCF101 lists and the videocam synthetic layout (with ground
  truth); :func:`open_dataset` recognises them.
* :mod:`~videocam.evaluate.metrics`: Average Drop, Increase in Confidence, Win %,
  deletion/insertion AUC, localization IoU and Loc at δ, pointing game, instance
  coverage, top-k accuracy: objects with ``update()``, ``summary()``, ``reset()``.
* :func:`evaluate`: the resumable, torchrun-aware runner behind ``videocam evaluate``;
  writes ``records.jsonl``, ``summary.json``, ``summary.md`` and ``report/index.html``.

Example:
    >>> from videocam.evaluate import evaluate
    >>> summary = evaluate("synthetic_test", "c3d_synthetic", out_dir="eval")  # doctest: +SKIP
    >>> summary.methods["gradcam++"]["average_drop"]                            # doctest: +SKIP
"""

from videocam.evaluate.datasets import (
    FORMATS,
    VideoDataset,
    VideoItem,
    open_dataset,
    read_class_folders,
    read_kinetics_csv,
    read_list_file,
    read_sports1m,
    read_synthetic,
    read_ucf101,
)
from videocam.evaluate.metrics import (
    AverageDrop,
    DeletionAUC,
    IncreaseInConfidence,
    InputSpace,
    InsertionAUC,
    InstanceCoverage,
    LocalizationIoU,
    LocMeasure,
    PointingGame,
    TopKAccuracy,
    WinRate,
)
from videocam.evaluate.records import RecordsError
from videocam.evaluate.runner import (
    DEFAULT_METHODS,
    EVALUATION_METHODS,
    Summary,
    align_labels,
    evaluate,
)

__all__ = [
    "DEFAULT_METHODS",
    "EVALUATION_METHODS",
    "FORMATS",
    "AverageDrop",
    "DeletionAUC",
    "IncreaseInConfidence",
    "InputSpace",
    "InsertionAUC",
    "InstanceCoverage",
    "LocMeasure",
    "LocalizationIoU",
    "PointingGame",
    "RecordsError",
    "Summary",
    "TopKAccuracy",
    "VideoDataset",
    "VideoItem",
    "WinRate",
    "align_labels",
    "evaluate",
    "open_dataset",
    "read_class_folders",
    "read_kinetics_csv",
    "read_list_file",
    "read_sports1m",
    "read_synthetic",
    "read_ucf101",
]
