"""The resident and the shop in a browser (issue 17), each walk at a desktop's size and at a
390×844 phone, in Japanese, with real clicks and typing (:mod:`walk`):

* the resident logs in with the household's code and sees, top first, the balance, the next
  reward and the daily history, then the QR code, then the details — on the phone the details
  start within two screens (2 × 844 px) — in the resident's words, never the operator's;
* the shop logs in, opens the resident's QR link, redeems a reward the balance covers and sees
  the new balance; a tampered QR link is refused, in Japanese.

Every page is checked for untranslated text (programme.toml's English included) and, on the
phone, for sideways scrolling (:meth:`walk.Walker.check`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from aggregator.webui.app import UiConfig
from aggregator.webui.server import UiServer
from tests.webui.clerk_browser_kit import clerk_browser, runs_as_a_clerk
from tests.webui.resident_kit import spend, sunny_days
from tests.webui.untranslated_kit import programme_english, visible
from tests.webui.walk_kit import OPERATOR_WORDS, SIZES, Walker
from tests.webui.webui_kit import SHOP, UiWorld, issue_code, make_world

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SATO = "佐藤 花子 中央1-2-3"


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UiWorld, str, str]]:
    """A household with two weeks of sunny and cloudy days and one redemption; the UI served.
    (world, url, the household's login code)."""
    world = make_world(tmp_path_factory.mktemp("counter"), points_per_kg=2, name="counter")
    world.enrol_pv(SATO)
    sunny_days(world, SATO)
    spend(world, SATO, "pool-ticket")
    code = issue_code(world, SATO)
    server = UiServer(UiConfig(world.cfg), "127.0.0.1", 0).start()
    try:
        yield world, server.url, code
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chrome_walker() -> Iterator[WebDriver]:
    """Chromium as a Japanese clerk's runs (ja-JP, Asia/Tokyo: date inputs show yyyy/mm/dd),
    in place of conftest's default browser for this module's walks."""
    with clerk_browser() as driver:
        yield driver


@pytest.fixture(params=list(SIZES))
def walker(request: pytest.FixtureRequest, counter: tuple[UiWorld, str, str],
           chrome_walker: WebDriver, tmp_path: Path) -> Walker:
    world, url, _ = counter
    return Walker(chrome_walker, url, request.param, tmp_path / "shots",
                  programme_english(world.state / "programme.toml"))


def _resident_login(w: Walker, code: str) -> None:
    w.open("/resident/login")
    assert runs_as_a_clerk(w.driver)  # ja-JP, Asia/Tokyo: the browser of a Japanese user
    w.fill("code", code.lower())  # as typed on a phone
    w.click(By.ID, "login")


def test_the_resident_sees_balance_next_reward_and_days_first(
        walker: Walker, counter: tuple[UiWorld, str, str]) -> None:
    _, _, code = counter
    w = walker
    _resident_login(w, code)
    balance = int(w.text("balance").split()[0])
    assert balance > 0 and "pt" in w.text("balance")
    next_reward = w.text("next-reward")
    assert "ポイント" in next_reward or "pt" in next_reward
    assert w.driver.find_elements(By.CSS_SELECTOR, "#daily-chart svg text")
    order = ["#balance", "#next-reward", "#daily-chart", "#qr svg", "#details"]
    tops = [w.top(s) for s in order]
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))
    if w.size == "phone":  # what the resident came for, before the details, in two screens
        assert w.top("#details") <= 2 * w.height, w.top("#details")
    shown = visible(w.driver.page_source)
    assert not [v for v in OPERATOR_WORDS if v in shown], \
        [v for v in OPERATOR_WORDS if v in shown]
    assert "市民プール 1日券" in w.text("details")  # the redemption, by its Japanese name
    w.shot("resident", 2 * w.height if w.size == "phone" else None)
    w.logout()


def test_the_shop_redeems_a_qr_code_and_refuses_a_tampered_one(
        walker: Walker, counter: tuple[UiWorld, str, str]) -> None:
    _, _, code = counter
    w = walker
    _resident_login(w, code)
    link = str(w.driver.find_element(By.ID, "qr-link").get_attribute("href"))
    w.logout()

    w.login(SHOP)
    w.open(link)
    assert "運用画面" not in w.driver.find_element(By.CSS_SELECTOR, "header").text  # not staff
    before = int(w.text("shop-balance"))
    w.choose("reward", "pool-ticket")
    w.click(By.ID, "redeem-submit")
    done = w.text("redeemed")
    assert "市民プール 1日券" in done and str(before - 20) in done, done
    w.shot("shop")
    token = re.search(r"[?&]t=([^&]+)", link)
    assert token is not None
    forged = token.group(1)[:-2] + ("AA" if not token.group(1).endswith("AA") else "BB")
    w.open(link.replace(token.group(1), forged))
    refused = w.text("redeem-error")
    assert "QRコード" in refused and not w.driver.find_elements(By.ID, "redeem-submit")
    w.logout()
