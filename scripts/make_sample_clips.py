"""Regenerates the bundled sample clips in ``clips/``: synthetic sports-like videos with
their label and ground truth next to each.

For each clip: ``<stem>.mp4`` (H.264, yuv420p), ``<stem>.json`` (class, instance count,
per-frame boxes of the class objects) and ``<stem>.npz`` (per-instance masks, boxes,
centres). The seed is not used for training or for the held-out evaluation sets.

Usage: python scripts/make_sample_clips.py [--out clips]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
#: (stem, class name, instances): one clip per motion family, one with two instances.
SAMPLES = (
    ("juggle_two_players", "juggle", 2),
    ("dribble", "dribble", 1),
    ("orbit", "orbit", 1),
    ("stop_and_go", "stop_and_go", 1),
)


def main() -> None:
    from videocam.demo import SAMPLE_SEED
    from videocam.synthetic import GeneratorConfig, generate_clip
    from videocam.video import write_video

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "clips")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = GeneratorConfig()
    total = 0
    for index, (stem, class_name, instances) in enumerate(SAMPLES):
        clip = generate_clip(
            SAMPLE_SEED, index, config.classes.index(class_name), instances, config
        )
        video = write_video(args.out / f"{stem}.mp4", list(clip.frames), clip.fps, crf=20)
        np.savez_compressed(
            args.out / f"{stem}.npz", masks=clip.masks, boxes=clip.boxes, centers=clip.centers
        )
        meta = {
            "video": video.name,
            "class_index": clip.class_index,
            "class_name": clip.class_name,
            "num_instances": clip.num_instances,
            "num_distractors": clip.num_distractors,
            "num_frames": int(clip.frames.shape[0]),
            "size": list(clip.frames.shape[1:3]),
            "fps": clip.fps,
            "seed": clip.seed,
            "index": clip.index,
            "boxes": [
                [None if (b < 0).all() else [int(v) for v in b] for b in clip.boxes[:, t]]
                for t in range(clip.frames.shape[0])
            ],
        }
        (args.out / f"{stem}.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        size = sum(p.stat().st_size for p in args.out.glob(f"{stem}.*"))
        total += size
        print(f"{stem}: {clip.class_name}, {clip.num_instances} instance(s), {size / 1024:.0f} kB")
    print(f"total {total / 1024:.0f} kB in {args.out}")


if __name__ == "__main__":
    main()
