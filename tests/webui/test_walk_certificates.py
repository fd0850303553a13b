"""Granular certificates in a browser (issue 19 point 3), at a desktop's size and at a 390×844
phone, in Japanese, with real clicks (:mod:`tests.webui.walk_kit`):

* the operator opens 「証書」 from the console's menu: the issued bundles in JST with their
  holders and status, filters them to the transferred ones, opens a bundle (its readings, who
  holds which ids — no control over the buyer's ids) and then an account from the accounts list;
* the buyer, without any login, opens its account page by its did:key, uploads the signed
  cancellation it made offline with the installed ``eco-verify certificate-request cancel``,
  and sees it logged with its entry and the cancellation in its history.

Every page is checked for untranslated text and sideways scrolling (:meth:`Walker.check`);
``ECO_UI_SCREENSHOTS`` publishes ``certificates-*.png``, ``certificate-bundle-*.png``,
``account-*.png`` and ``account-cancelled-*.png``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from aggregator.webui.app import UiConfig
from aggregator.webui.server import UiServer
from tests.webui.untranslated_kit import programme_english
from tests.webui.walk_kit import SIZES, Walker
from tests.webui.webui_kit import OPERATOR, UiWorld, make_world

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SATO = "佐藤 花子 中央1-2-3"
BENEFICIARY = "例示製鉄株式会社"
SOLD = 40  # ids sold to the buyer: each screen size cancels its own ten


@dataclass
class _Market:
    world: UiWorld
    url: str
    account: str
    key: Path
    ref: str
    first: int


def _verify(*args: str) -> str:
    """The buyer's installed ``eco-verify`` in its own process; its stdout."""
    exe = Path(sys.executable).with_name("eco-verify")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Market]:
    """A household's day of readings issued as certificates, the buyer's key made with
    ``eco-verify certificate-request account``, :data:`SOLD` ids of the first bundle sold to
    it with ``eco-aggregator certificates assign``; the UI served."""
    tmp = tmp_path_factory.mktemp("certificates")
    world = make_world(tmp, name="certificates")
    world.enrol_pv(SATO)
    world.send(SATO, 48)
    world.cli("certificates", "issue", "--period", "2026-11-22..2026-11-24", "--out",
              str(tmp / "gc"))
    listed = world.cli("certificates", "list")["bundles"]
    ref, first = listed[0]["issuance_id"], int(listed[0]["ids"].split("..")[0])
    key = tmp / "buyer.key"
    account = json.loads(_verify("certificate-request", "account", "--key", str(key)))["account"]
    world.cli("certificates", "assign", "--ref", ref, "--ids", f"{first}..{first + SOLD - 1}",
              "--to", account)
    server = UiServer(UiConfig(world.cfg), "127.0.0.1", 0).start()
    try:
        yield _Market(world, server.url, account, key, ref, first)
    finally:
        server.stop()


@pytest.fixture(params=list(SIZES))
def walker(request: pytest.FixtureRequest, market: _Market, chrome_walker: WebDriver,
           tmp_path: Path) -> Walker:
    return Walker(chrome_walker, market.url, request.param, tmp_path / "shots",
                  programme_english(market.world.state / "programme.toml"))


def test_the_operator_reads_certificates_and_accounts(walker: Walker, market: _Market) -> None:
    w = walker
    w.login(OPERATOR)
    w.click(By.CSS_SELECTOR, 'header nav a[href="/certificates"]')
    rows = w.driver.find_elements(By.CSS_SELECTOR, "#bundles tr[data-status]")
    assert len(rows) > 1
    assert "日本時間" in w.driver.find_element(By.ID, "bundles").text
    w.shot("certificates")
    w.choose("status", "transferred")
    w.click(By.ID, "filter-submit")
    (row,) = w.driver.find_elements(By.CSS_SELECTOR, "#bundles tr[data-status]")
    w.click(By.CSS_SELECTOR, "#bundles tr[data-status] a[href^='/certificates/bundle']")
    holders = w.driver.find_element(By.ID, "bundle-segments").text
    assert f"{market.first}.." in holders and "購入者が保有" in holders  # some cancelled later
    assert "職員が移転・償却することはできません" in w.text("operator-cannot")
    forms = {f.get_attribute("action").split(market.url)[-1]
             for f in w.driver.find_elements(By.CSS_SELECTOR, "main form")}
    assert forms == {"/certificates/assign"}  # the town's own ids only: no cancel, no move
    w.shot("certificate-bundle")
    w.open("/certificates/accounts")
    w.click(By.CSS_SELECTOR, "#accounts a[href^='/account/']")
    assert w.text("account") == market.account
    w.logout()


def test_the_buyer_cancels_with_its_signed_request(walker: Walker, market: _Market,
                                                   tmp_path: Path) -> None:
    w = walker
    k = list(SIZES).index(w.size)
    ids = f"{market.first + 10 * k}..{market.first + 10 * k + 9}"
    request = tmp_path / "cancel.json"
    _verify("certificate-request", "cancel", "--key", str(market.key), "--ref", market.ref,
            "--ids", ids, "--period", "2026-01-01..2027-01-01", "--beneficiary", BENEFICIARY,
            "--out", str(request))
    w.open("/account")
    w.fill("account-id", market.account)
    w.click(By.ID, "account-open")
    assert w.text("account") == market.account
    assert "eco-verify certificates" in w.text("verify-link")
    before = int(w.text("cancelled-wh").replace(",", ""))
    w.shot("account")
    w.driver.find_element(By.ID, "request-file").send_keys(str(request))
    w.click(By.ID, "request-submit")
    result = w.driver.find_element(By.ID, "request-result")
    assert result.get_attribute("data-outcome") == "logged", result.text
    assert "償却の依頼を台帳に記録しました" in result.text
    assert int(w.text("cancelled-wh").replace(",", "")) == before + 10
    cancellations = w.text("cancellations")
    assert ids in cancellations and BENEFICIARY in cancellations
    w.shot("account-cancelled")
    w.driver.find_element(By.ID, "request-file").send_keys(str(request))
    w.click(By.ID, "request-submit")  # the same request again
    again = w.driver.find_element(By.ID, "request-result")
    assert again.get_attribute("data-reason") == "used" and "一度しか使えません" in again.text
