"""A browser test leaves no browser behind: the WebDriver's quit stops the browser process it
started, not only a launcher script in front of it (Debian's /usr/bin/chromium-headless-shell
runs the binary without exec; :data:`aggregator.webui.report.HEADLESS_SHELL`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.webui.walk_kit import chromium

pytestmark = pytest.mark.integration


def _running_with(marker: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker.encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def test_quitting_the_driver_stops_the_browser() -> None:
    d = chromium()
    profile = str(d.capabilities["chrome"]["userDataDir"])
    try:
        assert _running_with(profile), "the browser's processes name their profile directory"
    finally:
        d.quit()
    deadline = time.monotonic() + 10
    while _running_with(profile) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running_with(profile), f"browser processes left running: {_running_with(profile)}"
