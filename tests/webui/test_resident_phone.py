"""The resident's page on a phone (issue 17): headless Chromium emulating a 390×844 screen opens
``/resident`` of a household with two weeks of readings and one redemption. The balance, the
next reward, the daily chart and the QR code lie within the first two screens, the details come
after them, and the chart's labels are at least 11 px on that screen.

The README's pictures come from the persona walks (test_walk_counter, :mod:`walk`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from aggregator.webui.app import UiConfig
from aggregator.webui.server import UiServer
from tests.webui.resident_kit import spend, sunny_days
from tests.webui.walk_kit import chromium, set_screen
from tests.webui.webui_kit import UiWorld, issue_code, make_world

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SATO = "Sato, 1-2 Chuo"
WIDTH, HEIGHT = 390, 844


@pytest.fixture
def phone() -> Iterator[WebDriver]:
    d = chromium()
    set_screen(d, WIDTH, HEIGHT, mobile=True)
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

    set_screen(d, WIDTH, min(page_height, 2 * HEIGHT), mobile=True)
    d.save_screenshot(str(tmp_path / f"resident-phone-{lang}.png"))  # kept with the test
