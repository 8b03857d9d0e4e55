"""Screenshot a report page with headless Chromium, and check that the picture is not blank.

Usage:
    python scripts/screenshot_report.py runs/easy-closed/report.html /tmp/report.png

Exit status: 0 when the screenshot shows a page, 1 when it is blank, 2 when Chromium failed.
Needs Chromium (Debian: `apt-get install -y chromium`); the page is opened offline from disk.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
WINDOW = (1280, 2400)
MIN_PIXEL_STD = 8.0
"""Below this standard deviation of grey levels a screenshot is taken as blank."""
MIN_INKED_SHARE = 0.005
"""At least this share of pixels must be other than white."""
TIMEOUT_S = 120


def take_screenshot(page: Path, out: Path, *, chromium: str = CHROMIUM, window: tuple[int, int] = WINDOW) -> None:
    """Render `page` in a fresh headless Chromium profile with no network services; write PNG to `out`.

    Raises:
        RuntimeError: Chromium exited with an error or wrote no screenshot.
    """
    with tempfile.TemporaryDirectory(prefix="viddiff-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
            f"--screenshot={out.resolve()}",
            page.resolve().as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    if result.returncode != 0 or not out.exists():
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"chromium exited with status {result.returncode} and no screenshot: {last_line}")


def blank_reason(png: Path) -> str | None:
    """Why the screenshot looks blank, or None when it shows something."""
    grey = np.asarray(Image.open(png).convert("L"), dtype=np.float64)
    inked = float(np.mean(grey < 250))
    if inked < MIN_INKED_SHARE:
        return f"{png}: {100 * inked:.2f}% of pixels are not white (want at least {100 * MIN_INKED_SHARE:.1f}%)"
    if grey.std() < MIN_PIXEL_STD:
        return f"{png}: pixel standard deviation {grey.std():.1f} (want at least {MIN_PIXEL_STD})"
    return None


def _window_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 1280x2400, got {text!r}") from None
    return width, height


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Screenshot a report with headless Chromium and check it is not blank."
    )
    parser.add_argument("page", type=Path, help="the report.html to render")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--chromium", default=CHROMIUM, help="Chromium executable (default: %(default)s)")
    parser.add_argument(
        "--window-size",
        type=_window_size,
        default=WINDOW,
        metavar="WxH",
        help=f"viewport in pixels; the screenshot is this size (default: {WINDOW[0]}x{WINDOW[1]})",
    )
    args = parser.parse_args(argv)
    if not args.page.exists():
        print(f"{args.page}: no such page", file=sys.stderr)
        return 2
    try:
        take_screenshot(args.page, args.out, chromium=args.chromium, window=args.window_size)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"screenshot failed: {e}", file=sys.stderr)
        return 2
    reason = blank_reason(args.out)
    if reason:
        print(f"blank screenshot: {reason}", file=sys.stderr)
        return 1
    print(f"{args.out}: screenshot of {args.page} shows a page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
