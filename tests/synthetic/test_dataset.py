"""The written dataset layout: files, partitions, annotations, videos, resume, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

import videocam.synthetic.dataset as dataset_module
from videocam.errors import DatasetError, OutputPathError, VideocamError
from videocam.synthetic import (
    FORMAT,
    GeneratorConfig,
    generate_clip,
    is_synthetic_dataset,
    load_annotation,
    make_dataset,
    normalise_instances,
    parse_instances,
    plan_dataset,
    read_manifest,
)

ARGS = {
    "n": 6,
    "seed": 3,
    "classes": ("dribble", "spin", "orbit"),
    "size": (64, 86),
    "num_frames": 8,
    "instances": {1: 1.0, 2: 1.0, 3: 1.0},
    "test_fraction": 0.5,
    "progress": False,
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "data"
    make_dataset(path, **ARGS)  # type: ignore[arg-type]
    return path


def _config() -> GeneratorConfig:
    return GeneratorConfig(
        classes=ARGS["classes"], size=ARGS["size"], num_frames=ARGS["num_frames"]
    )  # type: ignore[arg-type]


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file except the videos (whose bytes may carry encoder metadata)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".mp4"
    }


def test_layout_labels_and_partitions(root: Path) -> None:
    names = sorted(p.name for p in root.iterdir())
    assert names == [
        "annotations",
        "labels.txt",
        "manifest.json",
        "test_partition.txt",
        "train_partition.txt",
        "videos",
    ]
    assert not [p for p in root.rglob("*") if p.name.startswith(".")]  # no temp files left
    assert (root / "labels.txt").read_text().splitlines() == list(ARGS["classes"])
    seen: dict[str, int] = {}
    for split in ("train", "test"):
        lines = (root / f"{split}_partition.txt").read_text().splitlines()
        assert len(lines) == 3  # one per class: test_fraction 0.5 of 2 clips per class
        for line in lines:
            path, label = line.split(" ")
            assert (root / path).is_file() and path.startswith("videos/clip_")
            assert path not in seen
            seen[path] = int(label)
        assert sorted(int(line.split(" ")[1]) for line in lines) == [0, 1, 2]
    assert len(seen) == ARGS["n"]
    assert len(list((root / "videos").iterdir())) == ARGS["n"]
    assert len(list((root / "annotations").iterdir())) == 2 * ARGS["n"]


def test_manifest_lists_every_clip_and_round_trips(root: Path) -> None:
    data = json.loads((root / "manifest.json").read_text())
    assert data["format"] == FORMAT and data["complete"] is True
    assert data["seed"] == 3 and data["n"] == 6 and data["crf"] == 18
    assert data["config"]["size"] == [64, 86] and data["config"]["num_frames"] == 8
    assert data["counts"]["per_class"] == {"dribble": 2, "spin": 2, "orbit": 2}
    manifest = read_manifest(root)
    assert manifest.complete and manifest.classes == ARGS["classes"]
    assert manifest.config == _config()
    assert [c.stem for c in manifest.clips] == [f"clip_{i:05d}" for i in range(6)]
    partition = (root / "test_partition.txt").read_text()
    assert partition == "".join(f"{c.video} {c.class_index}\n" for c in manifest.split("test"))
    assert is_synthetic_dataset(root) and not is_synthetic_dataset(root / "videos")


def test_annotations_match_the_generator_and_each_other(root: Path) -> None:
    manifest = read_manifest(root)
    counts = set()
    for record in manifest.clips:
        gt = load_annotation(root, record.stem)
        clip = generate_clip(3, record.index, record.class_index, record.num_instances, _config())
        assert gt.masks.dtype == bool and gt.masks.shape == (record.num_instances, 8, 64, 86)
        assert gt.masks.tobytes() == clip.masks.tobytes()
        assert gt.boxes.tobytes() == clip.boxes.tobytes()
        assert gt.class_index == record.class_index and gt.split == record.split
        assert gt.class_name == ARGS["classes"][record.class_index]
        assert gt.video == (root / record.video).resolve() and gt.seed == 3
        meta = json.loads((root / "annotations" / f"{record.stem}.json").read_text())
        assert meta["num_instances"] == record.num_instances
        assert len(meta["boxes"]) == 8 and all(
            len(b) == record.num_instances for b in meta["boxes"]
        )
        for t, frame_boxes in enumerate(meta["boxes"]):
            for i, box in enumerate(frame_boxes):
                expected = gt.boxes[i, t].tolist()
                assert box == (None if expected[0] < 0 else expected)
        counts.add(record.num_instances)
        assert load_annotation(root, record.video).masks.shape == gt.masks.shape
    assert len(counts) >= 2  # the fixture mixes instance counts


def test_videos_decode_to_the_rendered_frames(root: Path) -> None:
    manifest = read_manifest(root)
    for record in manifest.clips[:3]:
        with av.open(str(root / record.video)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.codec_context.pix_fmt == "yuv420p"
            frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        assert frames.shape == (8, 64, 86, 3)
        clip = generate_clip(3, record.index, record.class_index, record.num_instances, _config())
        error = np.abs(frames.astype(int) - clip.frames)
        assert error.mean() < 8.0  # crf 18 keeps frames close (chroma is subsampled)


def test_same_arguments_same_dataset_other_seed_other_dataset(root: Path, tmp_path: Path) -> None:
    make_dataset(tmp_path / "again", **ARGS)  # type: ignore[arg-type]
    assert _snapshot(tmp_path / "again") == _snapshot(root)
    make_dataset(tmp_path / "other", **{**ARGS, "seed": 4})  # type: ignore[arg-type]
    a = load_annotation(root, "clip_00000").masks
    b = load_annotation(tmp_path / "other", "clip_00000").masks
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_killed_run_leaves_no_partial_file_and_resumes(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = dataset_module.write_clip
    calls = []

    def dying(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # as if killed while writing the fourth clip
        real(*args, **kwargs)  # type: ignore[arg-type]

    target = tmp_path / "killed"
    monkeypatch.setattr(dataset_module, "write_clip", dying)
    with pytest.raises(KeyboardInterrupt):
        make_dataset(target, **ARGS)  # type: ignore[arg-type]
    monkeypatch.setattr(dataset_module, "write_clip", real)
    assert json.loads((target / "manifest.json").read_text())["complete"] is False
    assert not (target / "train_partition.txt").exists()
    assert len(list((target / "videos").iterdir())) == 3
    assert not [p for p in target.rglob("*") if p.name.startswith(".")]
    assert not read_manifest(target).complete
    with pytest.raises(DatasetError, match="not complete"):
        read_manifest(target, require_complete=True)

    resumed = []
    monkeypatch.setattr(
        dataset_module, "write_clip", lambda *a, **k: (resumed.append(a[2].index), real(*a, **k))
    )
    manifest = make_dataset(target, **ARGS)  # type: ignore[arg-type]
    assert resumed == [3, 4, 5] and manifest.complete
    assert _snapshot(target) == _snapshot(root)


def test_refuses_other_datasets_and_foreign_folders(root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="different synthetic dataset"):
        make_dataset(root, **{**ARGS, "seed": 9})  # type: ignore[arg-type]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError):
        make_dataset(foreign, **ARGS)  # type: ignore[arg-type]
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError):
        make_dataset(tmp_path / "file", **ARGS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0},
        {"seed": -1},
        {"test_fraction": 1.5},
        {"crf": 60},
        {"workers": 0},
        {"classes": ("kick",)},
        {"size": (64, 85)},
        {"instances": {0: 1.0}},
        {"instances": {1: 0.0}},
    ],
)
def test_bad_arguments_raise_before_writing(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(VideocamError):
        make_dataset(tmp_path / "bad", **{**ARGS, **kwargs})  # type: ignore[arg-type]
    assert not (tmp_path / "bad").exists()


def test_every_clip_gets_the_requested_instance_count(tmp_path: Path) -> None:
    manifest = make_dataset(tmp_path / "two", **{**ARGS, "n": 3, "instances": 2})  # type: ignore[arg-type]
    for record in manifest.clips:
        gt = load_annotation(tmp_path / "two", record.stem)
        assert record.num_instances == gt.num_instances == gt.boxes.shape[0] == 2
        assert gt.masks.any(axis=(2, 3)).any(axis=1).all()  # both instances appear


def test_reading_errors_are_dataset_errors(root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="manifest"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(DatasetError, match="not a"):
        read_manifest(tmp_path)
    with pytest.raises(DatasetError, match="no annotation"):
        load_annotation(root, "clip_99999")


def test_plan_balances_classes_and_stratifies_the_split() -> None:
    plan = plan_dataset(100, 1, 8, {1: 0.6, 2: 0.3, 3: 0.1}, 0.25)
    assert plan == plan_dataset(100, 1, 8, {1: 0.6, 2: 0.3, 3: 0.1}, 0.25)
    per_class = np.bincount([c.class_index for c in plan], minlength=8)
    assert per_class.max() - per_class.min() <= 1
    for c in range(8):
        members = [r for r in plan if r.class_index == c]
        assert sum(r.split == "test" for r in members) == round(0.25 * len(members))
    shares = np.bincount([c.num_instances for c in plan], minlength=4)[1:] / 100
    assert np.abs(shares - [0.6, 0.3, 0.1]).max() < 0.12


def test_instances_argument_forms() -> None:
    assert parse_instances("2") == {2: 1.0}
    assert parse_instances("1,2,3") == pytest.approx({1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
    assert parse_instances("1:3, 2:1") == {1: 0.75, 2: 0.25}
    assert normalise_instances([1, 1, 2]) == {1: 0.5, 2: 0.5}
    for bad in ("", "two", "1:x", "0", "7", "1:-1"):
        with pytest.raises(DatasetError):
            parse_instances(bad)


def test_parallel_workers_write_the_same_dataset(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fork instead of the default spawn only to keep the test fast (no imports to redo)
    monkeypatch.setattr(dataset_module, "_START_METHOD", "fork")
    make_dataset(tmp_path / "parallel", **{**ARGS, "workers": 2})  # type: ignore[arg-type]
    assert _snapshot(tmp_path / "parallel") == _snapshot(root)
