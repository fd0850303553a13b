"""The resident's page on a phone (issue 17): headless Chromium emulating a 390×844 screen opens
``/resident`` of a household with two weeks of readings and one redemption. The balance, the
next reward, the daily chart and the QR code lie within the first two screens, the details come
after them, and the chart's labels are at least 11 px on that screen.

``ECO_UI_SCREENSHOTS=docs/screenshots`` also writes ``resident-phone.png`` there (the README's
picture), as ``test_webui_browser`` does for the other pages.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from resident_days import spend, sunny_days
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from webui_kit import UiWorld, issue_code, make_world, require_chromium

from aggregator.webui.app import UiConfig
from aggregator.webui.server import UiServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SATO = "Sato, 1-2 Chuo"
WIDTH, HEIGHT = 390, 844


@pytest.fixture
def phone() -> Iterator[WebDriver]:
    browser, driver = require_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    d.implicitly_wait(5)
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                       "mobile": True})
    try:
        yield d
    finally:
        d.quit()


@pytest.fixture
def resident_url(tmp_path: Path) -> Iterator[tuple[UiWorld, str]]:
    world = make_world(tmp_path, points_per_kg=1, name="phone")
    world.enrol_pv(SATO)
    sunny_days(world, SATO)
    spend(world, SATO, "pool-ticket")
    server = UiServer(UiConfig(world.cfg), "127.0.0.1", 0).start()
    try:
        yield world, server.url
    finally:
        server.stop()


def _bottom(d: WebDriver, selector: str) -> float:
    return float(d.execute_script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().bottom "
        "+ window.scrollY", selector))


def _top(d: WebDriver, selector: str) -> float:
    return float(d.execute_script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().top "
        "+ window.scrollY", selector))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_resident_page_fits_a_phone(resident_url: tuple[UiWorld, str], phone: WebDriver,
                                        tmp_path: Path, lang: str) -> None:
    world, url = resident_url
    d = phone
    d.get(f"{url}/lang/{lang}?next=/resident/login")
    d.find_element(By.ID, "code").send_keys(issue_code(world, SATO))
    d.find_element(By.ID, "login").click()
    assert d.find_element(By.ID, "balance").is_displayed()
    page_height = int(d.execute_script("return document.documentElement.scrollHeight"))
    print(f"resident page ({lang}) at {WIDTH}x{HEIGHT}: {page_height} px tall")
    # no sideways scrolling on a phone
    assert int(d.execute_script("return document.documentElement.scrollWidth")) <= WIDTH

    # what the resident came for, within two screens, in this order
    order = ["#balance", "#next-reward", "#daily-chart", "#qr svg"]
    bottoms = [_bottom(d, s) for s in order]
    assert all(b <= 2 * HEIGHT for b in bottoms), dict(zip(order, bottoms, strict=True))
    tops = [_top(d, s) for s in order]
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))
    # then the details; the half-hour table closed, at the very bottom
    assert _top(d, "#details") >= _bottom(d, "#qr")
    assert _top(d, "#readings-details") > _top(d, "#redemptions")
    assert d.execute_script("return document.querySelector('#readings-details').open") is False
    assert not d.find_element(By.ID, "readings").is_displayed()
    header = d.find_element(By.CSS_SELECTOR, "header").text
    assert "運用画面" not in header and "console" not in header

    # the daily chart's labels are readable at this width (at least 11 CSS px)
    sizes = d.execute_script(
        "return Array.from(document.querySelectorAll('#daily-chart svg text'))"
        ".map(t => t.getBoundingClientRect().height)")
    assert sizes and min(sizes) >= 11, sizes
    qr = d.find_element(By.CSS_SELECTOR, "#qr svg").rect
    assert qr["width"] >= 180 and qr["x"] >= 0 and qr["x"] + qr["width"] <= WIDTH

    shot = tmp_path / ("resident-phone.png" if lang == "ja" else f"resident-phone-{lang}.png")
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": WIDTH, "height": min(page_height, 2 * HEIGHT),
                       "deviceScaleFactor": 1, "mobile": True})
    d.save_screenshot(str(shot))
    publish = os.environ.get("ECO_UI_SCREENSHOTS")
    if publish and lang == "ja":  # the README shows the Japanese page
        Path(publish).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(publish) / shot.name)
