"""The archived HTML as a browser draws it: headless Chromium at phone/email width, checked for content."""

from __future__ import annotations

import shutil
import subprocess

import matplotlib.image
import numpy as np
import pytest

from flows.report import render_report
from tests.report.conftest import WEEK

WIDTH, HEIGHT = 640, 2400


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("headless Chromium is needed for this test: apt-get update && apt-get install -y chromium")
    return found


def screenshot(html_path, out_path, profile_dir) -> np.ndarray:
    """Render ``html_path`` at WIDTH×HEIGHT and decode the PNG to an array of RGB(A) floats."""
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
            f"--user-data-dir={profile_dir}",
            f"--screenshot={out_path}",
            f"--window-size={WIDTH},{HEIGHT}",
            html_path.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return matplotlib.image.imread(out_path)


@pytest.mark.slow
def test_the_archived_report_renders_as_a_non_blank_page_at_640_px(reference_warehouse, report_settings, tmp_path):
    report = render_report(reference_warehouse, WEEK, report_settings)
    pixels = screenshot(report.html_path, tmp_path / "report.png", tmp_path / "profile")
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    rgb = (pixels[..., :3] * 255).round().astype(np.uint8)
    distinct = np.unique(rgb.reshape(-1, 3), axis=0).shape[0]
    assert distinct > 200, f"only {distinct} distinct colours: the page looks blank"
    # the page background (#f2f3f5) shows on both sides of the white column only if the layout is narrower
    # than the window; at 640 px the column fills it, so the white card must dominate the first screen
    first_screen = rgb[:800]
    white = np.all(first_screen == 255, axis=-1).mean()
    ink = np.all(first_screen < 100, axis=-1).mean()
    assert 0.4 < white < 0.98 and ink > 0.005, (white, ink)
    # the chart's colours are drawn (training blue #0072B2 from the embedded data: URI image)
    blue = np.all(np.abs(rgb.astype(int) - (0, 114, 178)) <= 3, axis=-1).sum()
    assert blue > 2000, blue
