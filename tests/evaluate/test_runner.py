"""The runner: records, error records, consistency of the summary with the records,
resuming after SIGKILL, and torchrun with two gloo processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from videocam.errors import DatasetError, VideocamError
from videocam.evaluate import RecordsError, WinRate, align_labels, evaluate
from videocam.evaluate.records import read_records

from .conftest import EVIL, evaluate_command, run, subprocess_env
from .nets import TINY, TINY_CONV3

METHODS = ("gradcam", "gradcam++", "guided-gradcam++")


def by_key(records):
    return {(r["index"], r["method"]): r for r in records}


def test_records_of_every_kind(mixed_run):
    records = by_key(read_records(mixed_run.records_path))
    assert len(records) == 7 * 3
    status = {i: records[(i, "gradcam")]["status"] for i in range(7)}
    assert status == {0: "ok", 1: "ok", 2: "error", 3: "ok", 4: "missing", 5: "error", 6: "ok"}
    assert "InvalidVideoError" in records[(2, "gradcam")]["error"]
    assert records[(2, "gradcam")]["video"] == f"videos/{EVIL}.mp4"
    assert "VideoNotFoundError" in records[(5, "gradcam++")]["error"]
    assert "AAAAAAAAAAA" in records[(4, "gradcam")]["error"]
    assert records[(3, "gradcam")]["labels"] == [1, 2]
    assert mixed_run.counts == {
        "videos": 7,
        "records": 21,
        "done": 4,
        "failed": 2,
        "missing": 1,
        "pending": 0,
    }
    for i in (0, 6):  # ground truth: localization metrics
        clip = records[(i, "gradcam++")]["clips"][0]
        assert set(clip["iou"]) == {"0", "0.25", "0.5"} and set(clip["loc"]) == {"0", "0.25", "0.5"}
        assert (
            clip["pointing"] is not None
            and clip["coverage"][1] == records[(i, "gradcam")]["num_instances"]
        )
    for i in (1, 3):  # no ground truth
        assert "iou" not in records[(i, "gradcam++")]["clips"][0]
    # instance counts come from the ground truth when the layout has no manifest
    assert [records[(i, "gradcam")]["num_instances"] for i in (0, 1, 6)] == [1, None, 2]


def test_record_values_are_consistent(mixed_run):
    for record in read_records(mixed_run.records_path):
        if record["status"] != "ok":
            continue
        (clip,) = record["clips"]  # one centre clip
        y, o = clip["y"], clip["o"]
        assert 0 < y <= 1 and 0 <= o <= 1
        assert clip["drop"] == pytest.approx(max(0.0, y - o) / y)
        assert clip["fall"] == pytest.approx((y - o) / y)
        assert clip["increase"] == float(y < o)
        assert (
            clip["deletion"][0] == y and clip["insertion"][-1] == y and len(clip["deletion"]) == 3
        )
        assert clip["deletion_auc"] == pytest.approx(
            (sum(clip["deletion"]) - (clip["deletion"][0] + clip["deletion"][-1]) / 2) / 2
        )
        assert len(clip["temporal"]) == TINY.clip_len
        assert record["top1"] == float(record["predicted"][0] in record["labels"])
        assert clip["class"] == record["predicted"][0]


def test_summary_is_computed_from_the_records(mixed_run):
    records = [r for r in read_records(mixed_run.records_path) if r["status"] == "ok"]
    summary = json.loads(mixed_run.summary_path.read_text())
    assert summary == mixed_run.data
    falls = {}
    for method in METHODS:
        mine = [r["clips"][0] for r in records if r["method"] == method]
        values = summary["methods"][method]
        assert values["videos"] == 4 and values["clips"] == 4
        assert values["average_drop"] == pytest.approx(100 * sum(c["drop"] for c in mine) / 4)
        assert values["increase_in_confidence"] == pytest.approx(
            100 * sum(c["increase"] for c in mine) / 4
        )
        assert values["insertion_auc"] == pytest.approx(sum(c["insertion_auc"] for c in mine) / 4)
        ious = [c["iou"]["0.25"] for c in mine if "iou" in c]
        assert values["iou@0.25"] == pytest.approx(sum(ious) / len(ious))
        low, high = values["ci95"]["average_drop"]
        assert low <= values["average_drop"] <= high
        falls[method] = [c["fall"] for c in mine]
    win = WinRate(METHODS)
    win.update(falls)
    assert summary["win"] == win.summary()
    a, b = summary["win"]["gradcam++ vs gradcam"], summary["win"]["gradcam vs gradcam++"]
    assert a["win"] + b["win"] == pytest.approx(100.0)
    markdown = mixed_run.markdown_path.read_text()
    assert "| Average Drop ↓ |" in markdown and "<img" not in markdown and "&lt;img" in markdown


def test_align_labels():
    assert align_labels(["b", "A_c"], ["a c", "b", "x"]) == ([1, 0], "name")
    assert align_labels(["p", "q"], ["a", "b", "c"]) == ([0, 1], "index")
    with pytest.raises(DatasetError, match="3 classes but the model only 2"):
        align_labels(["p", "q", "r"], ["a", "b"])


def test_bad_arguments_raise_one_line_errors(synthetic_root, tmp_path):
    with pytest.raises(VideocamError, match="unknown method gradcam\\+\\+\\+"):
        evaluate(synthetic_root, TINY, out_dir=tmp_path / "a", methods="gradcam+++")
    with pytest.raises(VideocamError, match="steps must be an integer >= 0"):
        evaluate(synthetic_root, TINY, out_dir=tmp_path / "b", steps=-1)
    with pytest.raises(DatasetError, match="dataset not found"):
        evaluate(tmp_path / "nope", TINY, out_dir=tmp_path / "c")
    with pytest.raises(VideocamError, match="cannot import model"):
        evaluate(synthetic_root, "no_such_module_xyz:CONFIG", out_dir=tmp_path / "d")


def test_resume_keeps_existing_records_and_refuses_other_settings(synthetic_root, tmp_path):
    out = tmp_path / "out"
    kw = dict(
        out_dir=out, steps=0, limit=2, report=False, progress=False, methods="gradcam,gradcam++"
    )
    evaluate(synthetic_root, TINY, **kw)
    lines = (out / "records.jsonl").read_text().splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    first["video"] = "SENTINEL"  # a record already there is kept as it is, never recomputed
    (out / "records.jsonl").write_text(json.dumps(first) + "\n" + lines[3] + "\n")
    with pytest.raises(RecordsError, match="pass --resume"):
        evaluate(synthetic_root, TINY, **kw)
    with pytest.raises(RecordsError, match="other settings"):
        evaluate(synthetic_root, TINY_CONV3, **{**kw, "resume": True})
    summary = evaluate(synthetic_root, TINY, **{**kw, "resume": True, "limit": 3})
    records = read_records(out / "records.jsonl")
    assert [(r["index"], r["method"]) for r in records] == [
        (i, m) for i in range(3) for m in ("gradcam", "gradcam++")
    ]
    assert (
        records[0]["video"] == "SENTINEL" and records[3]["video"] == json.loads(lines[3])["video"]
    )
    assert (
        summary.counts["done"] == 3 and summary.data["methods"]["gradcam"]["deletion_auc"] is None
    )


def comparable(summary: dict) -> dict:
    """The summary without its "run" section (wall time, processes, date)."""
    return {k: v for k, v in summary.items() if k != "run"}


FAST = dict(steps=3, batch_size=4, clips_per_video=2, report=False, progress=False)


def evaluate_one_thread(dataset, out_dir, **kw):
    """``evaluate`` in this process with one thread, as the spawned runs use."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return evaluate(dataset, TINY, out_dir=out_dir, **FAST, **kw)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reference(synthetic_root, tmp_path_factory):
    """An uninterrupted single-process run (in this process, one thread): the spawned
    runs below must reproduce its records byte for byte."""
    out = tmp_path_factory.mktemp("reference") / "out"
    evaluate_one_thread(synthetic_root, out)
    return out


def test_resume_after_sigkill_gives_the_uninterrupted_records(synthetic_root, reference, tmp_path):
    out = tmp_path / "killed"
    records = out / "records.jsonl"
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(
            evaluate_command(synthetic_root, out),
            env=subprocess_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        deadline = time.monotonic() + 120
        try:
            while not (records.is_file() and records.read_bytes().count(b"\n") >= 1):
                assert process.poll() is None, (tmp_path / "stderr.txt").read_text()[-2000:]
                assert time.monotonic() < deadline, "no record appeared"
                time.sleep(0.005)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    killed = records.read_bytes()
    total = len(reference.joinpath("records.jsonl").read_bytes().splitlines())
    assert 1 <= killed.count(b"\n") < total, "the run was not interrupted mid-way"
    with open(records, "ab") as handle:  # and as if the kill had come in the middle of a line
        handle.write(b'{"index": 3, "method": "gradcam++", "status": "o')
    evaluate_one_thread(synthetic_root, out, resume=True)  # the same as rerunning the command
    assert records.read_bytes() == (reference / "records.jsonl").read_bytes()
    got = json.loads((out / "summary.json").read_text())
    assert comparable(got) == comparable(json.loads((reference / "summary.json").read_text()))


def test_torchrun_two_gloo_processes_match_a_single_process(synthetic_root, reference, tmp_path):
    out = tmp_path / "dist"
    command = evaluate_command(synthetic_root, out)
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
    ]
    done = run(
        torchrun + command[1:], timeout=180
    )  # command[1:] starts with "-m videocam.evaluate"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["processes"] == 2, done.stderr[-2000:]
    assert not list(out.glob("records.rank*.jsonl"))
    assert (out / "records.jsonl").read_bytes() == (reference / "records.jsonl").read_bytes()
    assert comparable(summary) == comparable(json.loads((reference / "summary.json").read_text()))
    assert summary["counts"]["done"] == 4 and summary["counts"]["records"] == 12
