"""A resident carries a signed points statement as a QR code, and a shop checks it offline
(issue 20), in a browser at a desktop's size and at a 390×844 phone, in Japanese (:mod:`walk`):

* the resident taps 「証明書を発行」 on their page and gets the statement's QR code (its modules
  are the encoder's for the text the page holds), the balance it states and a file to save;
  ticking 「日ごとのCO2削減量も入れる」 discloses the days too — never the resident's name;
* the shop opens 「証明書を確認」, its scanner types the QR code's content, and the page says
  VALID with the balance, as of when, the checkpoint and how old its copy of the town's keys is,
  then links to the redeem page; a statement with its balance raised is refused as INVALID;
* a statement kept from before the household's device was revoked is refused as REVOKED, once
  the shop's copy of the status list is refreshed from the town's read API.

Every page is checked for untranslated text and sideways scrolling (:meth:`walk.Walker.check`);
``ECO_UI_SCREENSHOTS`` publishes ``statement-*.png`` and ``shop-check-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from aggregator.webui import credential_qr
from aggregator.webui.app import UiConfig
from aggregator.webui.server import UiServer
from tests.webui.clerk_browser_kit import clerk_browser, runs_as_a_clerk
from tests.webui.resident_kit import sunny_days
from tests.webui.untranslated_kit import programme_english, visible
from tests.webui.walk_kit import OPERATOR_WORDS, SIZES, Walker, shows_qr_of
from tests.webui.webui_kit import SHOP, UiWorld, issue_code, make_world, read_api

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SATO = "佐藤 花子 中央1-2-3"
TANAKA = "田中 一郎 北5-6-7"


@dataclass
class _Town:
    world: UiWorld
    url: str
    codes: dict[str, str]
    kept: dict[str, str] = field(default_factory=dict)  # statements kept by their holders


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Town]:
    """Two households with readings, the town's read API and the web UI, whose copy of the
    town's keys is refreshed at every check (so a revocation shows at once)."""
    world = make_world(tmp_path_factory.mktemp("statement"), points_per_kg=2, name="statement")
    world.enrol_pv(SATO)
    sunny_days(world, SATO)
    world.enrol_pv(TANAKA)
    world.send(TANAKA, 48)
    codes = {ref: issue_code(world, ref) for ref in (SATO, TANAKA)}
    api = read_api(world)
    server = UiServer(UiConfig(world.cfg, read_api=api.url, town_cache_minutes=0),
                      "127.0.0.1", 0).start()
    try:
        yield _Town(world, server.url, codes)
    finally:
        server.stop()
        api.stop()


@pytest.fixture(scope="module")
def chrome_walker() -> Iterator[WebDriver]:
    """Chromium as a Japanese clerk's runs (ja-JP, Asia/Tokyo: date inputs show yyyy/mm/dd),
    in place of conftest's default browser for this module's walks."""
    with clerk_browser() as driver:
        yield driver


@pytest.fixture(params=list(SIZES))
def walker(request: pytest.FixtureRequest, town: _Town, chrome_walker: WebDriver,
           tmp_path: Path) -> Walker:
    return Walker(chrome_walker, town.url, request.param, tmp_path / "shots",
                  programme_english(town.world.state / "programme.toml"))


def _resident_statement(w: Walker, code: str, history: bool = False) -> str:
    """Log in as the household, tap 「証明書を発行」; the QR code's text the page holds."""
    w.open("/resident/login")
    assert runs_as_a_clerk(w.driver)  # ja-JP, Asia/Tokyo: the browser of a Japanese user
    w.fill("code", code)
    w.click(By.ID, "login")
    if history:
        w.driver.find_element(By.ID, "statement-history").click()
    w.click(By.ID, "statement-get")
    text = w.driver.find_element(By.ID, "statement-text").get_attribute("textContent")
    assert text and text.startswith(credential_qr.PREFIX)
    return str(text)


def _shop_checks(w: Walker, text: str, scanner: bool = False) -> str:
    """As the shop (logged in): open 「証明書を確認」, paste ``text`` (copied from the file the
    resident sent) and press 確認する; or, as a ``scanner`` does, type it key by key with Enter
    at the end. The verdict's outcome."""
    w.click(By.CSS_SELECTOR, 'header nav a[href="/shop/check"]')
    box = w.driver.find_element(By.ID, "statement")
    assert box.get_attribute("value") == ""  # empty for each scan
    if scanner:
        w.type_and_enter("statement", text)
    else:
        box.click()
        # a paste: one input of the whole text (DevTools' Input.insertText, as a paste or an
        # IME commits), where send_keys would type ~2,000 keys one by one
        w.driver.execute_cdp_cmd("Input.insertText", {"text": text})
        assert box.get_attribute("value") == text  # the field holds it whole
        w.click(By.ID, "check-submit")
    return str(w.driver.find_element(By.ID, "check-verdict").get_attribute("data-outcome"))


def test_the_resident_gets_a_statement_qr_and_the_shop_checks_it(walker: Walker,
                                                                 town: _Town) -> None:
    w = walker
    text = _resident_statement(w, town.codes[SATO])
    svg = w.driver.find_element(By.CSS_SELECTOR, "#statement-qr svg").get_attribute("outerHTML")
    assert shows_qr_of(str(svg), text)
    balance = int(w.text("statement-balance").split()[0])
    assert balance > 0 and "残高だけ" in w.text("statement-summary")
    shown = visible(w.driver.page_source)
    assert "佐藤" not in shown and "花子" not in shown  # pseudonyms only
    assert not [v for v in OPERATOR_WORDS if v in shown]  # the resident's words
    held = credential_qr.decode(text)
    assert held[0]["credentialSubject"]["balance"] == balance
    assert "history" not in held[0]["credentialSubject"]
    assert w.driver.find_element(By.ID, "statement-download").get_attribute("href")
    w.shot("statement")
    w.logout()

    w.login(SHOP)
    assert _shop_checks(w, text) == "valid"
    assert w.text("check-balance") == str(balance)
    verdict = w.text("check-verdict")
    assert "有効" in verdict and "時点の残高" in verdict and "記録数" in verdict
    assert "分前" in w.text("check-copy")  # how old the shop's copy of the town's keys is
    w.shot("shop-check")
    w.click(By.ID, "check-redeem")  # the redemption stays the redeem page's
    assert w.text("shop-balance") == str(balance)

    held[0]["credentialSubject"]["balance"] = balance + 500
    assert _shop_checks(w, credential_qr.encode(held)) == "invalid"
    assert "書き換え" in w.text("check-reason")
    assert not w.driver.find_elements(By.ID, "check-redeem")
    w.logout()


def test_a_statement_with_history_discloses_the_days(walker: Walker, town: _Town) -> None:
    w = walker
    text = _resident_statement(w, town.codes[SATO], history=True)
    assert "日ごとのCO2削減量" in w.text("statement-summary")
    days = credential_qr.decode(text)[0]["credentialSubject"]["history"]
    assert len(days) >= 14  # two weeks of readings, by JST calendar day
    w.logout()
    w.login(SHOP)
    assert _shop_checks(w, text, scanner=True) == "valid"
    assert f"{len(days)} 日分" in w.text("check-verdict")
    w.logout()


def test_a_statement_kept_from_before_a_revocation_is_refused(walker: Walker,
                                                              town: _Town) -> None:
    w = walker
    if TANAKA not in town.kept:  # the first screen size: get it while the device is live
        town.kept[TANAKA] = _resident_statement(w, town.codes[TANAKA])
        w.logout()
        device = town.world.devices[TANAKA].device_id
        town.world.cli("revoke", device, "--reason", "equipment removed")
    w.login(SHOP)
    assert _shop_checks(w, town.kept[TANAKA], scanner=True) == "revoked"
    assert "取り消" in w.text("check-verdict")
    assert not w.driver.find_elements(By.ID, "check-redeem")
    w.logout()
