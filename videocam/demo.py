"""``videocam demo``: the main job on a fresh machine.

Explains the bundled sample clips (``clips/`` of the repository: synthetic sports-like
videos whose class evidence is known) with the bundled ``c3d_synthetic`` model, Grad-CAM
and Grad-CAM++ side by side and Guided Grad-CAM++ as a panel, and writes MP4s, JSON
sidecars and an ``index.html`` that shows them. Without the bundled model it falls back to
C3D with random weights on a generated clip, and says so.
"""

from __future__ import annotations

import html
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videocam.errors import VideocamError

__all__ = ["run_demo", "sample_clips", "SampleClip"]

DEMO_METHODS = ("gradcam", "gradcam++", "guided-gradcam++")
BUNDLED_MODEL = "c3d_synthetic"
#: Seed and indices of the sample clips (``scripts/make_sample_clips.py`` writes them).
SAMPLE_SEED = 20261127


@dataclass(frozen=True)
class SampleClip:
    """A sample video with its true label (and ground truth next to it, if any)."""

    video: Path
    label: int | None
    label_name: str | None
    num_instances: int | None = None


def repository_clips() -> Path:
    """The ``clips/`` folder of the source tree this package was installed from."""
    return Path(__file__).resolve().parent.parent / "clips"


def sample_clips(folder: Path | None = None) -> list[SampleClip]:
    """The sample clips in ``folder`` (default: the repository's ``clips/``): every
    ``*.mp4`` with a ``.json`` of the same stem giving ``class_index``/``class_name``."""
    folder = folder or repository_clips()
    clips = []
    for video in sorted(folder.glob("*.mp4")) if folder.is_dir() else []:
        meta_path = video.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        clips.append(
            SampleClip(
                video=video,
                label=meta.get("class_index"),
                label_name=meta.get("class_name"),
                num_instances=meta.get("num_instances"),
            )
        )
    return clips


def _model_available(name: str) -> bool:
    from videocam.models import list_models

    return name in list_models()


def _fallback_clip(folder: Path) -> SampleClip:
    """Generates one synthetic clip (no bundled clips found)."""
    from videocam.synthetic import generate_clip
    from videocam.video import write_video

    clip = generate_clip(seed=SAMPLE_SEED, index=0, class_index=0)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "generated_clip.mp4"
    write_video(path, list(clip.frames), clip.fps, crf=18)
    return SampleClip(path, clip.class_index, clip.class_name, clip.num_instances)


def run_demo(output: Path, *, device: str = "cpu") -> int:
    """Runs the demo; returns the exit status. See the module docstring."""
    from videocam.pipeline import explain_videos, resolve_model, write_json_atomic

    started = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    if _model_available(BUNDLED_MODEL):
        model_name, note = BUNDLED_MODEL, None
        clips = sample_clips()
        if not clips:
            clips = [_fallback_clip(output / "source")]
    else:
        model_name = "c3d"
        note = (
            "NOTE: the bundled trained model is not installed, so this demo uses C3D with "
            "RANDOM weights: the maps show the method's mechanics, not learned evidence."
        )
        print(note)
        clips = [_fallback_clip(output / "source")]
    resolved = resolve_model(model_name, device=device)
    rows = []
    for clip, result in explain_videos(
        [c.video for c in clips],
        resolved,
        output=output,
        methods=DEMO_METHODS,
        layout="side-by-side",
        top_k=3,
        batch_size=2,
    ):
        sample = next(c for c in clips if c.video == clip)
        if isinstance(result, VideocamError):
            print(f"error: {clip}: {result}", file=sys.stderr)
            return 2
        predicted = result.predicted[0] if result.predicted else (None, "?", float("nan"))
        sidecar = json.loads(result.sidecar.read_text())
        sidecar["true_label"] = {"class": sample.label, "label": sample.label_name}
        write_json_atomic(result.sidecar, sidecar)
        rows.append((sample, result, predicted))
    index = _write_index(output, rows, model_name, note)
    print(f"videocam demo: {model_name} on {len(rows)} clip(s), methods {', '.join(DEMO_METHODS)}")
    for sample, result, (cls, label, prob) in rows:
        truth = sample.label_name if sample.label_name is not None else "?"
        judged = note is None and sample.label is not None
        mark = (" (correct)" if cls == sample.label else " (wrong)") if judged else ""
        print(
            f"  {sample.video.name}: true {truth}, predicted {label} {prob:.2f}{mark} -> {result.output}"
        )
    print(f"open {index} in a browser ({time.perf_counter() - started:.0f} s)")
    return 0


def _write_index(output: Path, rows, model_name: str, note: str | None) -> Path:
    esc = html.escape
    cards = []
    for sample, result, (_, label, prob) in rows:
        truth = esc(str(sample.label_name)) if sample.label_name is not None else "?"
        curve = result.importance.get("gradcam++") or next(iter(result.importance.values()))
        peak = int(np.argmax(curve)) if curve else 0
        cards.append(
            f"""<section>
  <h2>{esc(sample.video.name)}</h2>
  <p>true class: <b>{truth}</b>; predicted: <b>{esc(str(label))}</b> ({prob:.2f});
  most important frame (Grad-CAM++): {peak}</p>
  <video src="{esc(result.output.name)}" controls loop muted playsinline width="100%"></video>
  <p><a href="{esc(result.sidecar.name)}">sidecar JSON</a></p>
</section>"""
        )
    note_html = f'<p class="note">{esc(note)}</p>' if note else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>videocam demo</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;}}
section{{margin-bottom:2em}} .note{{color:#a00}}</style></head>
<body><h1>videocam demo: {esc(model_name)}</h1>{note_html}
<p>Panels: original | Grad-CAM | Grad-CAM++ | Guided Grad-CAM++ (overlay and guided
gradients). The strip under each panel is the per-frame importance curve.</p>
{"".join(cards)}
</body></html>
"""
    path = output / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
