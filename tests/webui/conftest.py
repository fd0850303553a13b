"""Fixtures of the web UI tests (helpers in :mod:`webui_kit`, browser walks in :mod:`walk`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from starlette.testclient import TestClient

from aggregator.webui.app import UiConfig, create_app
from tests.webui.walk_kit import chromium
from tests.webui.webui_kit import Browser, UiWorld, make_world


@pytest.fixture
def world(tmp_path: Path) -> UiWorld:
    return make_world(tmp_path)


@pytest.fixture
def browser(world: UiWorld) -> Iterator[Browser]:
    # the login throttle's wall clock stands at the test's start: a lock-out must not lapse
    # because a loaded machine took two seconds between attempts
    started = time.time()
    with TestClient(create_app(UiConfig(world.cfg, wall_clock=lambda: started))) as client:
        yield Browser(client)


@pytest.fixture(scope="module")
def chrome_walker() -> Iterator[WebDriver]:
    """One headless Chromium for a module's walks (:mod:`walk`); each walk starts without
    cookies at its own screen size."""
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()
