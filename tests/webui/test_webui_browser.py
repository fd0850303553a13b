"""The web UI in a real browser: headless Chromium driven by Selenium, against a real
``eco-aggregator serve --ui`` behind a real Mosquitto, with a device publishing signed readings.

One story, as the municipality lives it: the operator logs in, enrols a device, watches its
readings arrive, checks a proof, seals a batch and downloads its report; the household logs in
with its code and a shop opens its QR code. The device publishes the last day's readings, which
began before it was enrolled: they are logged but earn nothing (``before_joining``), and every
page says so — the operator's household page counts them by rule, the balance stays 0 and the
shop cannot redeem. (Crediting and redemption with creditable readings: test_webui_http.)
A screenshot of every page is taken into the test's tmp dir (the README's pictures come from the
persona walks, test_walk_office and test_walk_counter).
"""

from __future__ import annotations

import io
import json
import math
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from aggregator.mosquitto import Mosquitto
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.encoding import b64encode, format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.methodology import JST
from tests.aggregator.ledger_kit import Device
from tests.webui.webui_kit import (
    HEADLESS_ARGS,
    OPERATOR,
    SHOP,
    UiWorld,
    make_world,
    require_chromium,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SATO = "Sato, 1-2 Chuo"
READINGS = 48  # a day: the charts show a sunrise whatever the hour the test runs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.communicate()[1].decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def served(tmp_path: Path, broker: Mosquitto) -> Iterator[tuple[UiWorld, str]]:
    world = make_world(tmp_path, broker=broker.url, name="browser")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator.cli", "--config", str(world.conf), "serve",
         "--ui", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/login", proc)
        yield world, url
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()[-3000:]
        assert json.loads(out)["stats"]["accepted"] == READINGS


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[WebDriver]:
    browser, driver = require_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in (*HEADLESS_ARGS, "--window-size=1200,900", "--lang=en-US"):
        opts.add_argument(a)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service(driver), options=opts)
    # the headless shell keeps no download preferences: say where downloads go over DevTools
    d.execute_cdp_cmd("Browser.setDownloadBehavior",
                      {"behavior": "allow", "downloadPath": str(downloads)})
    d.implicitly_wait(5)
    try:
        yield d
    finally:
        d.quit()


class _Shots:
    """Screenshots of whole pages (up to 2000 px tall), kept under the test's tmp dir (the
    README's pictures come from the persona walks: test_walk_office, test_walk_counter)."""

    def __init__(self, driver: WebDriver, tmp: Path) -> None:
        self.driver = driver
        self.dir = tmp / "screenshots"
        self.dir.mkdir()

    def take(self, name: str, height: int | None = None) -> None:
        h = height or min(2000, int(self.driver.execute_script(
            "return document.documentElement.scrollHeight")))
        self.driver.set_window_size(1200, max(700, h))
        path = self.dir / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1200, 900)


def _set(driver: WebDriver, element_id: str, value: str) -> None:
    """Fill a field (date inputs too, whatever the browser's locale)."""
    el = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].value = arguments[1]", el, value)


def _pv_wh(start: datetime) -> int:
    """A clear day's PV output of a 6 kW roof in a half hour starting at ``start``."""
    hour = start.astimezone(JST).hour + start.minute / 60 + 0.25
    return int(2800 * max(0.0, math.sin(math.pi * (hour - 6) / 12)))


def _publish(broker: Mosquitto, device: Device, start: datetime) -> list[dict[str, Any]]:
    """READINGS signed half-hour readings ending before ``now``, as an agent publishes them;
    returns the receipts."""
    receipts: queue.Queue[bytes] = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device.device_id,
                    protocol=mqtt.MQTTv5)
    c.on_message = lambda _c, _u, m: receipts.put(bytes(m.payload))
    c.connect("127.0.0.1", broker.port)
    c.subscribe(f"eco/v1/{device.device_id}/receipts", qos=1)
    c.loop_start()
    try:
        time.sleep(0.3)
        out = []
        for batch in range(2):
            msg = []
            for k in range(batch * READINGS // 2, (batch + 1) * READINGS // 2):
                s = start + timedelta(minutes=30 * k)
                msg.append(device.reading(energy=_pv_wh(s), start=format_time(s),
                                          end=format_time(s + timedelta(minutes=30))))
            c.publish(device.topic, canonical_bytes(msg), qos=1)
            out.append(parse_json(receipts.get(timeout=15)))
        return out
    finally:
        c.disconnect()
        c.loop_stop()


def _submit(driver: WebDriver, by: str, selector: str, timeout: float = 60.0) -> None:
    """Click a button or link that loads a new page, and wait until the new page is there."""
    driver.execute_script("window.ecoOldPage = true")  # a new page starts without it
    driver.find_element(by, selector).click()
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return window.ecoOldPage === undefined && document.readyState === 'complete'"))
    error = re.search(r"ERR_[A-Z_]+", driver.page_source)
    assert error is None or 'id="main-frame-error"' not in driver.page_source, \
        f"the browser shows an error page after {selector}: {error.group(0)}"


def _login(driver: WebDriver, url: str, user: tuple[str, str]) -> None:
    driver.get(url + "/login")
    driver.find_element(By.ID, "username").send_keys(user[0])
    driver.find_element(By.ID, "password").send_keys(user[1])
    _submit(driver, By.ID, "login")


def _logout(driver: WebDriver) -> None:
    _submit(driver, By.ID, "logout")


def _wait_for(driver: WebDriver, url: str, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        driver.get(url)
        if text in driver.page_source:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared on {url}")
        time.sleep(0.5)


def test_operator_household_and_shop_in_a_browser(served: tuple[UiWorld, str],
                                                  chrome: WebDriver, broker: Mosquitto,
                                                  tmp_path: Path) -> None:
    world, url = served
    d = chrome
    shots = _Shots(d, tmp_path)

    # the operator logs in (in English) and enrols a device
    d.get(url + "/lang/en?next=/login")
    shots.take("login", 700)
    _login(d, url, OPERATOR)
    assert "Fleet overview" in d.title or "Fleet overview" in d.page_source
    device = Device()
    d.get(url + "/enrol")
    d.find_element(By.ID, "public_key").send_keys(b64encode(public_key_raw(device.key)))
    d.find_element(By.ID, "household").send_keys(SATO)
    _set(d, "installed", "2021-06-01")
    Select(d.find_element(By.ID, "fit_status")).select_by_value("post_fit")
    Select(d.find_element(By.ID, "battery")).select_by_value("no")
    d.find_element(By.ID, "zero_export").click()
    d.find_element(By.ID, "meter_rated_w_0").send_keys("6000")
    _submit(d, By.ID, "enrol-submit")
    assert d.find_element(By.ID, "enrolled-device").text == device.device_id
    household = d.find_element(By.ID, "enrolled-household").text
    code = d.find_element(By.ID, "enrolled-code").text
    assert household == world.pseudonym(SATO) and re.fullmatch(r"[0-9A-Z-]{19}", code)
    shots.take("enrol")

    # the device publishes signed readings through Mosquitto to serve; the fleet page shows them
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now.replace(minute=0 if now.minute < 30 else 30) - timedelta(minutes=30 * READINGS)
    receipts = _publish(broker, device, start)
    assert all(i["status"] == "accepted" for r in receipts for i in r["items"])
    _wait_for(d, url + "/fleet", f">{READINGS}<")
    row = d.find_element(By.ID, "devices").text
    assert device.device_id in row and "online" in row
    shots.take("fleet")
    _submit(d, By.LINK_TEXT, household)
    assert "Daily energy" in d.page_source and d.find_elements(By.CSS_SELECTOR, "svg.chart")
    excluded = d.find_element(By.ID, "hh-excluded").text
    assert "before joining" in excluded and str(READINGS) in excluded
    assert len(d.find_elements(By.CSS_SELECTOR, "#readings tr")) == 2  # "no readings yet"
    shots.take("household")

    # a proof for the device's first reading, verified by the page
    d.get(url + "/ledger")
    d.find_element(By.ID, "device_id").send_keys(device.device_id)
    d.find_element(By.ID, "seq").send_keys("1")
    _submit(d, By.ID, "proof-submit")
    assert "verified here" in d.find_element(By.ID, "proof").text
    shots.take("ledger")
    d.get(url + "/points")
    shots.take("points")

    # seal the period and download its report
    first_day = start.astimezone(JST).date()
    end_day = now.astimezone(JST).date() + timedelta(days=1)
    d.get(url + "/batches")
    _set(d, "start", f"{first_day:%Y-%m-%d}")
    _set(d, "end", f"{end_day:%Y-%m-%d}")
    _submit(d, By.ID, "preview-submit")
    preview = d.find_element(By.ID, "preview").text
    assert str(READINGS) in preview
    shots.take("batch-preview")
    _submit(d, By.ID, "seal-submit")
    assert "sealed" in d.page_source
    _submit(d, By.CSS_SELECTOR, ".report-generate")
    assert "Report generated" in d.page_source
    shots.take("batches")
    d.find_element(By.CSS_SELECTOR, ".report-zip").click()
    downloads = tmp_path / "downloads"
    deadline = time.monotonic() + 15
    while not [p for p in downloads.glob("*.zip")] and time.monotonic() < deadline:
        time.sleep(0.2)
    (zipped,) = downloads.glob("*.zip")
    names = zipfile.ZipFile(io.BytesIO(zipped.read_bytes())).namelist()
    assert any(n.endswith("/report.json") for n in names)
    assert any(n.endswith("/evidence/entries.jsonl") for n in names)
    _submit(d, By.CSS_SELECTOR, ".report-view")
    assert "J-Credit batch report" in d.page_source and "eco-verify" in d.page_source
    shots.take("report")
    d.back()
    _logout(d)

    # the household logs in with its code (in Japanese, the default) and shows its QR code
    d.get(url + "/lang/ja?next=/resident/login")
    d.find_element(By.ID, "code").send_keys(code.lower())
    _submit(d, By.ID, "login")
    balance = int(d.find_element(By.ID, "balance").text.split()[0])
    assert balance == 0 and d.find_element(By.CSS_SELECTOR, "#qr svg")
    shots.take("resident")
    qr_link = d.find_element(By.ID, "qr-link").get_attribute("href")
    assert qr_link is not None and "/shop/redeem?t=" in qr_link
    _logout(d)

    # the shop opens the QR code's link: nothing to redeem yet, every reward is disabled
    _login(d, url, SHOP)
    d.get(qr_link)
    assert d.find_element(By.ID, "shop-household").text == household
    assert int(d.find_element(By.ID, "shop-balance").text) == 0
    options = Select(d.find_element(By.ID, "reward")).options
    assert options and all(not o.is_enabled() for o in options)
    shots.take("shop")
    _logout(d)
    with world.ledger() as ledger:
        types = [parse_json(e)["type"] for _, e in ledger.store.entries(0, ledger.size())]
    assert types.count("eco.redeem/v1") == 0 and types.count("eco.batch/v1") == 1
