"""Issue 17 point 2: online/offline judged against the data's own clock in demo mode. The demo's
readings carry simulated times, so against the wall clock every device showed 停止中; with
``online_clock = data`` (``eco-aggregator ui --online-clock data``, what ``make demo SERVE=1``
starts) "now" is the end of the newest reading in the log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from aggregator.cli import build_parser
from aggregator.webui.app import UiConfig, create_app
from aggregator.webui.views import OnlineClock
from tests.aggregator.ledger_kit import T0
from tests.webui.webui_kit import Browser, UiWorld

NEXT_MONTH = T0 + timedelta(days=35)  # the wall clock: the readings are from last month


def _states(world: UiWorld, clock: OnlineClock) -> tuple[list[str], str]:
    ui = UiConfig(world.cfg, clock=lambda: NEXT_MONTH, online_clock=clock)
    with TestClient(create_app(ui)) as client:
        b = Browser(client)
        b.login()
        page = b.get("/fleet").text
    table = page.split('id="devices"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'class="badge (online|offline|never|revoked)"', table), page


@pytest.mark.parametrize(("clock", "state", "note"), [
    (OnlineClock.DATA, "online", True), (OnlineClock.WALL, "offline", False)])
def test_last_months_readings_are_online_by_the_data_clock_offline_by_the_wall(
        world: UiWorld, clock: OnlineClock, state: str, note: bool) -> None:
    for ref in ("Sato, 1-2 Chuo", "Suzuki, 3-4 Minami"):
        world.enrol_pv(ref)
        world.send(ref, intervals=4)
    states, page = _states(world, clock)
    assert states == [state, state]
    assert ('id="data-clock"' in page) is note
    if note:  # the page says what it judged against: the newest reading's end, in JST
        assert "2026-11-22 11:00" in page, page


def test_a_device_silent_for_longer_than_the_limit_is_offline_by_the_data_clock_too(
        world: UiWorld) -> None:
    world.enrol_pv("Sato, 1-2 Chuo")
    world.send("Sato, 1-2 Chuo", intervals=4)
    world.enrol_pv("Suzuki, 3-4 Minami")
    world.send("Suzuki, 3-4 Minami", intervals=4, start=48)  # a day later: Sato fell silent
    states, _ = _states(world, OnlineClock.DATA)
    assert sorted(states) == ["offline", "online"]


def test_the_ui_and_serve_take_the_option() -> None:
    p = build_parser()
    assert p.parse_args(["ui", "--listen", "127.0.0.1:0", "--online-clock", "data"]) \
        .online_clock == "data"
    assert p.parse_args(["serve", "--ui", "127.0.0.1:0"]).online_clock == "wall"
    with pytest.raises(SystemExit):
        p.parse_args(["ui", "--listen", "127.0.0.1:0", "--online-clock", "sundial"])
