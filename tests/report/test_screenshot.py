import subprocess
import sys
from pathlib import Path

import pytest

from viddiff.report import render_report

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot_report.py"


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs headless Chromium at /usr/bin/chromium (Debian: apt-get install chromium)"
)
def test_report_screenshot_is_not_blank(make_run, tmp_path):
    page = render_report(make_run())[0]
    screenshot = tmp_path / "report.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(page), str(screenshot)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert screenshot.exists()
