"""The fleet page names a flooding device (issue 14): from the ingest-status file ``serve``
writes, read by the UI process, with a badge in the device table and a row of counts."""

from __future__ import annotations

import time

from aggregator.broker_auth import PasswordFile
from aggregator.flood_cutoff import restore_login, suspend_login
from aggregator.ingest_status import FLOODING_PER_MIN, IngestCounters, StatusFile, status_path
from tests.webui.webui_kit import Browser, UiWorld

SATO = "Sato, 1-2 Chuo"


def _publish(world: UiWorld, flooder: str, quiet: str) -> None:
    """What serve's counters publish: the flooder over the threshold, another device refused
    once (the same writer serve uses)."""
    c = IngestCounters()
    for _ in range(int(FLOODING_PER_MIN * 5) + 1):
        c.drop(flooder, "rate_limited")
    c.processed(quiet, "malformed: payload is not JSON")
    StatusFile(status_path(world.cfg.state_dir, "eco-aggregator-1")).maybe_write(c)


def test_the_fleet_page_names_the_flooding_device(world: UiWorld, browser: Browser) -> None:
    flooder = world.enrol_pv(SATO)
    quiet = "ab" * 16  # messages on a topic of a device nobody enrolled
    browser.login()
    before = browser.get("/fleet").text
    assert 'id="ingest"' not in before and "受信処理（serve）の集計はまだありません。" in before
    _publish(world, flooder.device_id, quiet)
    page = browser.get("/fleet").text
    devices = page.split('id="devices"', 1)[1].split("</table>", 1)[0]
    row = devices.split(flooder.device_id, 1)[0].rsplit("<tr>", 1)[1]
    assert "過剰送信" in row  # the badge next to its state
    ingest = page.split('id="ingest"', 1)[1].split("</table>", 1)[0]
    rows = ingest.split("<tr>")[2:]
    assert flooder.device_id in rows[0] and "過剰送信" in rows[0]  # the worst first
    assert f">{int(FLOODING_PER_MIN * 5) + 1}<" in rows[0]
    assert quiet in rows[1] and "過剰送信" not in rows[1]
    en = browser.get("/lang/en?next=/fleet").text
    assert "flooding" in en and "Ingest: refused and dropped messages" in en


def test_old_figures_say_so(world: UiWorld, browser: Browser) -> None:
    """An hour-old file (serve stopped writing) is shown with a warning; a fresh one is not.
    The old file comes from the writer serve uses, its clock set an hour back, not from editing
    the file's text: that edit cut the time out of the JSON by string matching and broke when
    the writer's formatting changed (indented → compact JSON)."""
    flooder = world.enrol_pv(SATO)
    stale = "受信処理（serve）からの更新が止まっています。"
    hour_ago = time.time() - 3600
    old = IngestCounters(clock=lambda: hour_ago)
    old.drop(flooder.device_id, "rate_limited")
    path = status_path(world.cfg.state_dir, "eco-aggregator-1")
    assert StatusFile(path).maybe_write(old)
    browser.login()
    page = browser.get("/fleet").text
    assert 'id="ingest"' in page and stale in page
    _publish(world, flooder.device_id, "cd" * 16)  # serve writes again
    page = browser.get("/fleet").text
    assert 'id="ingest"' in page and stale not in page


def test_the_fleet_page_lists_devices_cut_off_for_flooding(world: UiWorld,
                                                           browser: Browser) -> None:
    """From the suspended file serve writes (aggregator/flood_cutoff.py), whether or not serve
    still runs: the device's badge, when, how many drops, and the command that restores it."""
    flooder = world.enrol_pv(SATO)
    passwd = world.cfg.mqtt.broker_passwd_file
    PasswordFile(passwd).set(flooder.device_id, "its password")
    browser.login()
    assert 'id="suspended"' not in browser.get("/fleet").text
    assert suspend_login(passwd, flooder.device_id, "2026-12-04T23:00:00Z", 512, 10.0)
    page = browser.get("/fleet").text
    devices = page.split('id="devices"', 1)[1].split("</table>", 1)[0]
    (row,) = [r for r in devices.split("<tr>") if flooder.device_id in r]
    assert "接続停止中" in row  # the badge next to its state
    table = page.split('id="suspended"', 1)[1].split("</table>", 1)[0]
    assert flooder.device_id in table and ">512<" in table and "2026-12-05 08:00" in table  # JST
    assert f"eco-aggregator broker-restore {flooder.device_id}" in table
    en = browser.get("/lang/en?next=/fleet").text
    assert "Devices cut off at the broker for flooding" in en and "cut off" in en
    assert restore_login(passwd, flooder.device_id)
    assert 'id="suspended"' not in browser.get("/fleet").text
