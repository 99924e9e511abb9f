"""Models whose trained weights ship with videocam (package data in ``models/weights/``).

Each bundled model is described by a model card, ``<name>.json``, next to its weights:

.. code-block:: json

    {"name": "c3d_synthetic",
     "architecture": {"type": "C3D", "num_classes": 8, "widths": [...], "batch_norm": true,
                      "head": "gap", "dropout": 0.2},
     "weights": "c3d_synthetic.pt", "labels": ["dribble", "..."],
     "preprocess": {"clip_len": 16, "sampling_rate": 1, "resize": 128, "crop_size": 112,
                    "mean": [...], "std": [...], "value_range": 1.0},
     "target_layers": ["conv5b"], "description": "...", "training": {...}}

:func:`register_bundled_models` registers every card whose weights file is present, with
``weights_by_default=True``, so ``create_model(name)`` returns the trained model. The
class names are in ``<name>.labels.txt`` (one per line) beside the card.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from torch import nn

from videocam.errors import ModelConfigError
from videocam.models.c3d import C3D

__all__ = ["WEIGHTS_DIR", "build_from_card", "read_card", "register_bundled_models"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def read_card(path: Path) -> dict[str, Any]:
    """Reads and checks a model card."""
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelConfigError(f"cannot read model card {path}: {exc}") from exc
    for key in ("name", "architecture", "weights", "labels", "preprocess"):
        if key not in card:
            raise ModelConfigError(f"model card {path} lacks {key!r}")
    if card["architecture"].get("type") != "C3D":
        raise ModelConfigError(f"model card {path}: only C3D-family cards are supported")
    return card


def build_from_card(architecture: dict[str, Any], num_classes: int) -> nn.Module:
    """A randomly initialised model of the card's architecture with ``num_classes`` outputs."""
    return C3D(
        num_classes=num_classes,
        widths=tuple(architecture["widths"]),
        batch_norm=bool(architecture.get("batch_norm", False)),
        head=architecture.get("head", "fc"),
        fc_dim=int(architecture.get("fc_dim", 4096)),
        dropout=float(architecture.get("dropout", 0.5)),
    )


def register_bundled_models(folder: Path = WEIGHTS_DIR) -> list[str]:
    """Registers the bundled models found in ``folder``; returns their names."""
    from videocam.models.registry import ModelConfig, register_model

    names = []
    for card_path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        card = read_card(card_path)
        weights = card_path.parent / card["weights"]
        if not weights.is_file():
            continue
        labels_path = card_path.with_suffix(".labels.txt")
        if not labels_path.is_file():
            raise ModelConfigError(f"bundled model {card['name']}: {labels_path.name} is missing")
        pre = card["preprocess"]
        architecture = card["architecture"]
        config = ModelConfig(
            name=card["name"],
            builder=partial(build_from_card, architecture),
            target_layers=tuple(card.get("target_layers", ["conv5b"])),
            head="fc8",
            num_classes=int(architecture["num_classes"]),
            labels=str(labels_path),
            clip_len=int(pre["clip_len"]),
            sampling_rate=int(pre.get("sampling_rate", 1)),
            crop_size=int(pre["crop_size"]),
            resize=pre["resize"] if isinstance(pre["resize"], int) else tuple(pre["resize"]),
            mean=tuple(pre["mean"]),
            std=tuple(pre["std"]),
            value_range=float(pre.get("value_range", 1.0)),
            weights=str(weights),
            weights_by_default=True,
            source="videocam",
            description=card.get("description", "bundled model"),
        )
        register_model(config, overwrite=True)
        names.append(config.name)
    return names
