"""The bundled c3d_synthetic model: it is registered, loads its shipped weights, and
classifies freshly generated clips of a seed it never saw."""

from __future__ import annotations

import json

import numpy as np
import torch

import videocam
from videocam.models import create_model, get_config, list_models
from videocam.models.bundled import WEIGHTS_DIR
from videocam.pipeline.setup import preset_for
from videocam.synthetic import GeneratorConfig, generate_clip
from videocam.video import ClipPreprocessor

HELD_OUT_SEED = 424242  # not a training seed (scripts/train_synthetic.py) nor the demo's


def test_bundled_model_is_registered_with_its_card():
    assert "c3d_synthetic" in list_models()
    config = get_config("c3d_synthetic")
    card = json.loads((WEIGHTS_DIR / "c3d_synthetic.json").read_text())
    assert config.load_labels() == card["labels"] == list(GeneratorConfig().classes)
    assert config.target_layers == tuple(card["target_layers"])
    assert (WEIGHTS_DIR / card["weights"]).stat().st_size < 10 * 1024 * 1024
    assert card["evaluation"]["accuracy"] >= 0.90  # 0.93 measured; the issue aimed at 0.95


def test_create_model_loads_the_shipped_weights_not_random_ones():
    first = create_model("c3d_synthetic")
    second = create_model("c3d_synthetic")
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    shipped = torch.load(WEIGHTS_DIR / "c3d_synthetic.pt", weights_only=True)
    assert torch.equal(first.state_dict()["fc8.weight"], shipped["fc8.weight"])
    assert not first.training


def test_accuracy_on_fresh_clips_of_an_unseen_seed():
    model = create_model("c3d_synthetic")
    config = get_config("c3d_synthetic")
    gen = GeneratorConfig()
    preprocess = ClipPreprocessor(preset_for(config))  # exactly what `videocam explain` does
    correct, n = 0, 0
    rng = np.random.default_rng(0)
    clips, labels = [], []
    for index in range(48):
        label = index % len(gen.classes)
        clip = generate_clip(
            HELD_OUT_SEED, index, label, int(rng.choice([1, 2], p=[0.7, 0.3])), gen
        )
        start = (clip.frames.shape[0] - config.clip_len) // 2
        clips.append(preprocess(clip.frames[start : start + config.clip_len]))
        labels.append(label)
    with torch.no_grad():
        for i in range(0, len(clips), 16):
            predicted = model(torch.stack(clips[i : i + 16])).argmax(1)
            correct += int((predicted == torch.tensor(labels[i : i + 16])).sum())
            n += predicted.numel()
    assert correct / n >= 0.90, f"accuracy {correct / n:.3f} on {n} fresh clips"


def test_grad_cam_plus_plus_on_the_bundled_model_points_near_the_object():
    """On a one-instance clip the map's peak over the centre clip lies on or near the
    class object more often than chance (the map carries class evidence)."""
    model = create_model("c3d_synthetic")
    config = get_config("c3d_synthetic")
    gen = GeneratorConfig(distractors=(1, 1))
    preprocess = ClipPreprocessor(preset_for(config))
    hits, total = 0, 0
    for index in range(8):
        clip = generate_clip(HELD_OUT_SEED + 1, index, index % len(gen.classes), 1, gen)
        start = (clip.frames.shape[0] - config.clip_len) // 2
        frames = clip.frames[start : start + config.clip_len]
        x = preprocess(frames).unsqueeze(0)
        out = videocam.GradCAMPlusPlus(model, list(config.target_layers))(
            x, target=clip.class_index
        )
        # the map back on the original frame's pixels, as the pipeline renders it
        maps = preprocess.geometry(*frames.shape[1:3]).unproject(out.maps[0, 0])  # (T, H, W)
        masks = torch.from_numpy(clip.masks[0, start : start + config.clip_len])
        near = torch.nn.functional.max_pool2d(masks.float()[:, None], 17, 1, 8)[:, 0] > 0
        for t in range(maps.shape[0]):
            peak = int(maps[t].argmax())
            hits += bool(near[t].flatten()[peak])
            total += 1
    chance = 0.15  # the dilated object covers well under 15% of the frame
    assert hits / total > chance, f"pointing {hits / total:.2f}"
