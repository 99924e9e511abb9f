"""A failure in the middle of a run: the exception reaches the caller, no MP4, sidecar or
temporary file is left, the pipeline's threads are gone, and the user's model is exactly as
it was (hooks, requires_grad, training flags, buffers, gradients)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest
import torch

import videocam
from videocam.cli import main
from videocam.errors import LayerNotFoundError
from videocam.models import register_model, unregister_model
from videocam.pipeline import explain as explain_module
from videocam.pipeline import explain_video, resolve_model
from videocam.video import ClipPreprocessor, ClipPreset, VideoWriter

from .helpers import (
    BrightnessNet,
    listing,
    model_state,
    pipeline_threads,
    same_state,
    tiny_config,
    write_labels,
    write_square_video,
)


class Boom(RuntimeError):
    pass


def _fail_in_model(monkeypatch: pytest.MonkeyPatch) -> BrightnessNet:
    return BrightnessNet(fail_at=3).eval()  # the 3rd batch (batch_size=1)


def _fail_in_decode(monkeypatch: pytest.MonkeyPatch) -> BrightnessNet:
    original = ClipPreprocessor.batch
    calls = {"n": 0}

    def batch(self, clips):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Boom("decode stage failed")
        return original(self, clips)

    monkeypatch.setattr(ClipPreprocessor, "batch", batch)
    return BrightnessNet().eval()


def _fail_in_render(monkeypatch: pytest.MonkeyPatch) -> BrightnessNet:
    class FailingWriter(VideoWriter):
        def write(self, frame):
            if self.frames_written == 6:
                raise Boom("encoder failed")
            super().write(frame)

    monkeypatch.setattr(explain_module, "VideoWriter", FailingWriter)
    return BrightnessNet().eval()


STAGES = {"model": _fail_in_model, "decode": _fail_in_decode, "render": _fail_in_render}


@pytest.mark.parametrize("stage", list(STAGES))
def test_failure_mid_run_leaves_nothing(
    stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_square_video(tmp_path / "in.mp4", 24)
    model = STAGES[stage](monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    frames_seen: list[int] = []
    with pytest.raises((Boom, RuntimeError), match="failed|failure") as caught:
        explain_video(
            video,
            model,
            layer="features",
            clip_len=4,
            batch_size=1,
            output=out / "x.mp4",
            on_frame=lambda index, heat: frames_seen.append(index),
        )
    assert type(caught.value) in (Boom, RuntimeError)
    assert frames_seen, "the failure must come after the run started"
    assert listing(out) == []
    assert pipeline_threads() == []


def test_failure_in_the_frame_callback(tmp_path: Path) -> None:
    video = write_square_video(tmp_path / "in.mp4", 24)

    def on_frame(index: int, heatmaps: dict) -> None:
        if index == 9:
            raise Boom("callback failed")

    with pytest.raises(Boom):
        explain_video(
            video,
            BrightnessNet().eval(),
            layer="features",
            clip_len=4,
            batch_size=1,
            output=tmp_path / "new" / "x.mp4",
            on_frame=on_frame,
        )
    assert not (tmp_path / "new").exists()  # the folder made for the run is gone again
    assert pipeline_threads() == []


def test_unexpected_failure_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not bad input: exit 1, one line naming the error, no traceback, nothing written."""
    labels = write_labels(tmp_path / "labels.txt")
    config = tiny_config(labels, name="pipeline_failing")
    register_model(
        type(config)(**{**config.__dict__, "builder": lambda n: BrightnessNet(n, fail_at=2)})
    )
    try:
        video = write_square_video(tmp_path / "in.mp4", 24)
        out = tmp_path / "out"
        out.mkdir()
        argv = ["explain", str(video), "--model", "pipeline_failing", "-o", str(out)]
        code = main([*argv, "--batch-size", "1", "--no-progress"])
    finally:
        unregister_model("pipeline_failing")
    err = capsys.readouterr().err
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("error: unexpected failure: RuntimeError: model failure")
    assert listing(out) == []
    assert pipeline_threads() == []


# ----------------------------------------------------------------------- model hygiene
def user_model() -> torch.nn.Module:
    """A compact C3D as a user would hold it: batch norm, one stage frozen, one submodule
    left in training mode, and a hook of the user's own."""
    torch.manual_seed(0)
    model = videocam.models.C3D(num_classes=4, widths=(4,) * 8, head="gap", batch_norm=True)
    model.eval()
    model.conv2.train()  # its batch norm would update running statistics
    for param in model.conv1.parameters():
        param.requires_grad_(False)
    return model


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_user_model_is_left_as_it_was(outcome: str, tmp_path: Path) -> None:
    model = user_model()
    calls: list[int] = []
    handle = model.conv3a.register_forward_hook(lambda module, i, o: calls.append(1))
    before = model_state(model)
    video = write_square_video(tmp_path / "in.mp4", 12, 64, 48)

    def on_frame(index: int, heatmaps: dict) -> None:
        if outcome == "failure" and index == 8:
            raise Boom("stop")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "training mode" warning: the top module is eval
        # the user's module with small 32x32 clips (a ResolvedModel carries the preset)
        resolved = resolve_model(model, layers="conv4b", clip_len=8)
        resolved = dataclasses.replace(resolved, preset=ClipPreset(resize=32, crop=32))
        assert resolved.model is model
        try:
            explain_video(
                video,
                resolved,
                batch_size=1,
                methods=("gradcam++", "guided-gradcam++"),
                output=tmp_path / "out.mp4",
                on_frame=on_frame,
            )
        except Boom:
            assert outcome == "failure"
        else:
            assert outcome == "success"
    assert calls, "the user's hook stays active during the run"
    assert same_state(before, model_state(model)) == []
    assert all(p.grad is None for p in model.parameters())
    handle.remove()
    assert all(not m._forward_hooks for m in model.modules())


def test_bad_layer_is_refused_before_anything_runs(tmp_path: Path) -> None:
    model = user_model()
    before = model_state(model)
    video = write_square_video(tmp_path / "in.mp4", 6)
    with pytest.raises(LayerNotFoundError, match="conv9"):
        explain_video(video, model, layer="conv9", output=tmp_path / "out" / "x.mp4")
    assert same_state(before, model_state(model)) == []
    assert not (tmp_path / "out").exists()
