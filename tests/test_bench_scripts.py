"""Smoke tests of the benchmark scripts: every code path runs at tiny sizes, computes
numbers that make sense, and writes its sections to a given file (never BENCHMARKS.md).

The numbers of a ``--quick`` run mean nothing about speed; what is checked here is that
the measurement code measures (positive times, ratios consistent with the times,
correlations in [-1, 1], sections written), not how fast anything is.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"


def _load(name: str):
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("bench")


@pytest.fixture(autouse=True)
def _keep_benchmarks_md(bench):
    """No test may touch the repository's BENCHMARKS.md."""
    path = bench.benchlib.ROOT / "BENCHMARKS.md"
    before = path.read_bytes() if path.exists() else None
    saved = bench.benchlib.BENCHMARKS
    yield
    bench.benchlib.BENCHMARKS = saved
    after = path.read_bytes() if path.exists() else None
    assert after == before, "a benchmark test modified BENCHMARKS.md"


def _run(bench, tmp_path: Path, *args: str) -> tuple[dict, str]:
    out = tmp_path / "BENCH.md"
    dump = tmp_path / "bench.json"
    results = bench.main(["--quick", "--output", str(out), "--json", str(dump), *args])
    assert json.loads(dump.read_text())["quick"] is True
    return results, out.read_text()


def test_cost_part_measures_every_method_against_forward(bench, tmp_path):
    results, text = _run(bench, tmp_path, "--parts", "cost", "--models", "r3d_18", "--batches", "1")
    cost = results["cost"]
    forward = cost["r3d_18/b1/forward"]
    assert forward["seconds"] > 0 and forward["ratio"] == pytest.approx(1.0)
    for method in ("cam", "gradcam", "gradcam++", "gradcam++ top-5", "guided-gradcam++"):
        row = cost[f"r3d_18/b1/{method}"]
        assert row["seconds"] > 0
        assert row["ratio"] == pytest.approx(row["seconds"] / forward["seconds"])
    assert "<!-- bench-cost:start -->" in text and "--quick run" in text


def test_cost_part_reports_inapplicable_methods(bench, tmp_path):
    """C3D's head is fc6-fc8, not GAP + linear: CAM is reported n/a with the engine's reason."""
    subj = bench.subject("c3d", quick=True)
    fn, why = bench.usable(lambda: bench.videocam_fn(subj, "cam", subj.inputs(1)))
    assert fn is None and "global-average-pool" in why


def test_peers_part_times_and_compares_maps(bench, tmp_path):
    versions = bench.bench_peers.versions()
    results, text = _run(
        bench, tmp_path, "--parts", "peers", "--peer-models", "r3d_18", "--peer-batch", "1"
    )
    assert "<!-- bench-peers:start -->" in text
    peers = results["peers"]
    assert peers["r3d_18/videocam gradcam++"]["seconds"] > 0
    if not any(versions.values()):
        assert "not installed" in text
        return
    compared = [v for k, v in peers.items() if "r_raw" in v]
    assert compared, "no peer map was compared"
    for row in compared:
        assert row["vs_videocam"] > 0
        assert -1.0 <= row["r_final"] <= 1.0 + 1e-9
        assert math.isnan(row["r_raw"]) or -1.0 <= row["r_raw"] <= 1.0 + 1e-9
    if versions.get("captum"):  # same Grad-CAM formula at the same layer: the raw maps agree
        assert peers["r3d_18/Captum LayerGradCam"]["r_raw"] > 0.999


def test_pearson_is_per_clip():
    peers = _load("bench_peers")
    a = torch.rand(3, 2, 4, 4)
    mean, low = peers.pearson(a, 2 * a + 1)
    assert mean == pytest.approx(1.0) and low == pytest.approx(1.0)
    b = a.clone()
    b[1] = -b[1]
    mean, low = peers.pearson(a, b)
    assert low == pytest.approx(-1.0) and mean == pytest.approx(1 / 3)


@pytest.mark.slow
def test_pipeline_part_sweeps_batch_and_stride(bench, tmp_path):
    results, text = _run(
        bench,
        tmp_path,
        "--parts", "pipeline", "--pipeline-seconds", "1.4",
        "--batch-sizes", "1", "--strides", "2",
    )  # fmt: skip
    pipe = results["pipeline"]
    frames = pipe["stages"]["frames"]
    assert frames == round(1.4 * 25)
    assert pipe["cli"]["frames"] == frames
    by_stride = {row["stride"]: row for row in pipe["sweep"]}
    assert set(by_stride) == {32, 2}  # r3d_18's window span (16 x 2) and the asked stride
    # 35 frames: windows start every `stride` frames until the last frame is covered
    assert by_stride[32]["windows"] == 2 and by_stride[2]["windows"] == 3
    for row in pipe["sweep"]:
        assert row["frames"] == frames and row["fps"] > 0 and row["wall_vs_busiest"] >= 1.0
    assert "<!-- bench-pipeline:start -->" in text


@pytest.mark.slow
def test_memory_part_runs_children(bench, tmp_path):
    results, text = _run(
        bench,
        tmp_path,
        "--parts", "memory", "--memory-variants", "gradcam++", "--lengths", "0.6,1.2",
    )  # fmt: skip
    memory = results["memory"]
    assert memory["forward"]["peak_ratio"] == pytest.approx(1.0)
    assert memory["gradcam++"]["peak_kib"] > 0
    assert set(memory) >= {"forward", "gradcam++"} and "gradcam" not in memory
    assert memory["length 0.6s"]["frames"] == 15 and memory["length 1.2s"]["frames"] == 30
    assert memory["length_ratio"] > 0
    assert "<!-- bench-memory:start -->" in text


def test_bad_part_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench.py"), "--parts", "speed"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "unknown part" in proc.stderr


def test_gpu_benchmark_dry_run_and_publish(tmp_path):
    """scripts/bench_gpu.py's every step on the CPU at tiny sizes; then its section."""
    gpu = _load("bench_gpu")
    data = gpu.main(["--dry-run", "--models", "c3d", "--out-dir", str(tmp_path / "out")])
    assert data["dry_run"] is True and data["ceiling_tflops"] > 0
    rows = data["throughput"]
    assert {(r["dtype"], r["format"]) for r in rows} == {
        (d, f) for d in ("fp32", "bf16") for f in ("contiguous", "channels_last_3d")
    }
    for row in rows:
        assert row["forward_clips_s"] > 0 and row["gradcam++_clips_s"] > 0
        assert row["gflop_per_clip"] > 0
    (agree,) = data["agreement"]
    assert agree["maps_dtype"] == "torch.float32"  # maps come back float32 under autocast
    assert agree["r_min"] >= gpu.TARGET_R  # bf16 autocast keeps the maps (CPU autocast here)
    assert data["e2e"]["frames"] == 16 and data["e2e"]["fps"] > 0
    saved = json.loads((tmp_path / "out" / "bench_gpu.json").read_text())
    assert saved["throughput"] == json.loads(json.dumps(rows))
    bench_md = tmp_path / "BENCH.md"
    gpu.main(["--pending", "--output", str(bench_md)])
    assert "**Pending**" in bench_md.read_text()
    gpu.main(["--publish", str(tmp_path / "out" / "bench_gpu.json"), "--output", str(bench_md)])
    text = bench_md.read_text()
    assert "Pending" not in text and "Dry run on the CPU" in text
    assert text.count("<!-- bench-gpu:start -->") == 1


def test_gpu_shell_script_usage():
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "bench_gpu.sh")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "bench_gpu.sh run" in proc.stdout
    syntax = subprocess.run(["bash", "-n", str(SCRIPTS / "bench_gpu.sh")], check=False)
    assert syntax.returncode == 0
