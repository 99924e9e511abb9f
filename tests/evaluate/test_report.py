"""The HTML report: escaped user data, plots and gallery videos that a browser loads."""

from __future__ import annotations

import os
import shutil
import time
from fractions import Fraction

import av
import pytest

from videocam.evaluate.report import choose_gallery

from .conftest import EVIL

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def test_report_escapes_every_string_from_the_dataset(mixed_run):
    page = mixed_run.report_path.read_text(encoding="utf-8")
    assert "<script" not in page  # the page has no script at all
    for raw in (EVIL, "<i>", "<b>", 'juggle & "co"', "a<i>b&c"):
        assert raw not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the corrupt file, in the failures
    assert "videos/a&lt;i&gt;b&amp;c.mp4" in page  # a gallery clip's file name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;b&gt;" in page  # labels


def test_report_files(mixed_run):
    report = mixed_run.report_path.parent
    assert sorted(p.name for p in (report / "plots").iterdir()) == [
        "curves.png",
        "metrics.png",
        "temporal.png",
    ]
    videos = sorted((report / "videos").iterdir())
    assert [p.name for p in videos] == ["video_000000.mp4", "video_000001.mp4", "video_000006.mp4"]
    for path in videos:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
            assert sum(1 for _ in container.decode(stream)) == 8  # the clip's frames
            # three method panels side by side
            assert stream.codec_context.width > 2.5 * stream.codec_context.height


def test_choose_gallery_prefers_multi_instance_clips():
    records = [
        {"index": i, "method": m, "status": "ok", "num_instances": n}
        for i, n in enumerate([1, 1, 2, 1, 3])
        for m in ("a", "b")
    ] + [{"index": 5, "method": "a", "status": "error"}]
    assert choose_gallery(records, ["a", "b"], 2) == [0, 2]
    assert choose_gallery(records, ["a", "b"], 4) == [0, 1, 2, 4]
    assert choose_gallery(records, ["a", "b"], 0) == []


def expected_duration(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return float(frames / Fraction(stream.average_rate))


def test_report_loads_in_headless_chromium(mixed_run):
    if CHROMIUM is None or CHROMEDRIVER is None:
        message = "headless Chromium not installed (apt-get install -y chromium chromium-driver)"
        if os.environ.get("VIDEOCAM_REQUIRE_CHROMIUM") == "1":  # set by .ci/run
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        options.add_argument(flag)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(mixed_run.report_path.as_uri())
        deadline = time.monotonic() + 60
        state = []
        while time.monotonic() < deadline:
            state = driver.execute_script(
                "return Array.from(document.querySelectorAll('video')).map("
                "v => [v.getAttribute('src'), v.readyState, v.duration, v.error && v.error.code])"
            )
            if state and all(ready >= 2 for _, ready, _, _ in state):
                break
            time.sleep(0.2)
        assert len(state) == 3
        report = mixed_run.report_path.parent
        for src, ready, duration, error in state:
            assert error is None and ready >= 2, (src, ready, error)
            expected = expected_duration(report / src)
            assert duration == pytest.approx(expected, abs=0.5 / 12.5), src  # half a frame
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, "
            "i.naturalWidth, i.naturalHeight])"
        )
        assert [src for src, *_ in images] == [
            "plots/metrics.png",
            "plots/curves.png",
            "plots/temporal.png",
        ]
        assert all(complete and width > 0 and height > 0 for _, complete, width, height in images)
        assert (
            driver.execute_script("return document.querySelectorAll('#metrics tbody tr').length")
            >= 10
        )
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
