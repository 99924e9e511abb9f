"""scripts/distill_synthetic.py at tiny settings: every code path runs and the report holds
what RESULTS.md quotes (the figures themselves come from the default run)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "distill_synthetic.py"


@pytest.mark.slow
def test_distill_script_trains_three_students_and_reports(tmp_path):
    spec = importlib.util.spec_from_file_location("distill_synthetic", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.main(
        [
            "--train", "16", "--easy", "8", "--test", "16", "--steps", "3", "--batch", "4",
            "--seeds", "0,1", "--workers", "1", "--threads", "1",
            "--json", str(tmp_path / "d.json"), "--markdown", str(tmp_path / "d.md"),
        ]
    )  # fmt: skip
    assert json.loads((tmp_path / "d.json").read_text()) == json.loads(json.dumps(report))
    assert report["teacher_parameters"] >= 3 * report["student_parameters"]
    assert set(report["runs"]) == {"labels", "+gradcam", "+gradcam++"}
    for variant, runs in report["runs"].items():
        assert len(runs) == 2
        for run in runs:
            assert 0.0 <= run["accuracy"] <= 1.0
            assert -1.0 <= run["map_r"] <= 1.0
            assert 0.0 <= run["interpret"] <= 2.0
        values = [r["accuracy"] for r in runs]
        summary = report["summary"][variant]["accuracy"]
        assert summary["mean"] == pytest.approx(sum(values) / 2)
        assert summary["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    assert report["teacher"]["accuracy"] >= 0.5  # the bundled teacher, not random weights
    table = (tmp_path / "d.md").read_text()
    assert "| +gradcam++ |" in table and "(teacher)" in table
