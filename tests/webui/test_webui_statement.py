"""The resident's signed points statement and the shop's offline check of it (issue 20), through
the app's routes on a real state directory, with the town's real read API serving the DID
document and status list the shop's copy is refreshed from."""

from __future__ import annotations

import html
import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aggregator.http_api import ApiServer
from aggregator.webui import credential_qr
from aggregator.webui.app import UiConfig, create_app
from eco_protocol.credentials import check_credential
from eco_protocol.encoding import format_time
from tests.webui.untranslated_kit import problems, visible
from tests.webui.webui_kit import OPERATOR, SHOP, Browser, UiWorld, issue_code, make_world, read_api

SATO = "Sato, 1-2 Chuo"
TEXT_RE = re.compile(r'<pre class="mono" id="statement-text">([^<]+)</pre>')


@pytest.fixture
def town(tmp_path: Path) -> Iterator[tuple[UiWorld, ApiServer, Browser]]:
    world = make_world(tmp_path)
    world.enrol_pv(SATO)
    world.send(SATO, 48)
    api = read_api(world)
    ui = UiConfig(world.cfg, read_api=api.url, town_cache_minutes=0)
    try:
        with TestClient(create_app(ui)) as client:
            yield world, api, Browser(client)
    finally:
        api.stop()


def _statement_text(b: Browser, world: UiWorld, history: bool = False) -> str:
    b.resident_login(issue_code(world, SATO))
    page = b.get("/resident/statement" + ("?history=1" if history else ""))
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and SATO not in page.text
    m = TEXT_RE.search(page.text)
    assert m is not None
    b.client.cookies.clear()
    return html.unescape(m.group(1))


def _check(b: Browser, text: str) -> tuple[int, str]:
    b.login(SHOP)
    r = b.post_form("/shop/check", "/shop/check", {"statement": text})
    b.client.cookies.clear()
    return r.status_code, r.text


def _outcome(page: str) -> str:
    m = re.search(r'id="check-verdict" data-outcome="(\w+)"', page)
    assert m is not None, page
    return m.group(1)


def test_a_statement_checks_valid_with_its_balance_and_links_to_redeem(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, _, b = town
    text = _statement_text(b, world)
    assert text.startswith(credential_qr.PREFIX)
    held = credential_qr.decode(text)
    statement = held[0]
    assert "history" not in statement["credentialSubject"]  # the balance only
    assert [c["type"][1] for c in held] == ["EcoPointsStatement", "EcoEnrolmentCredential"]
    status, page = _check(b, text)
    assert status == 200 and _outcome(page) == "valid"
    balance = statement["credentialSubject"]["balance"]
    assert balance > 0 and f'id="check-balance">{balance}<' in page
    assert 'href="/shop/redeem?t=' in page and "有効" in page
    assert "分前" in page  # how old the town's copy is


def test_the_download_is_the_statement_eco_verify_accepts(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, api, b = town
    b.resident_login(issue_code(world, SATO))
    r = b.get("/resident/statement.json?history=1")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    cred = r.json()
    assert cred["credentialSubject"]["history"]  # ticked: the days are disclosed
    with urllib.request.urlopen(api.url + "/.well-known/did.json") as f:
        doc = json.load(f)
    verdict = check_credential(cred, {doc["id"]: doc}, {}, format_time(datetime.now(UTC)))
    assert verdict.kind == "points statement" and not verdict.revoked
    b.client.cookies.clear()
    status, page = _check(b, json.dumps(cred))  # a pasted file: valid, revocation not checked
    assert status == 200 and _outcome(page) == "valid"
    assert "取り消しの有無は確かめていません" in page


def test_a_tampered_statement_is_refused(town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, _, b = town
    held = credential_qr.decode(_statement_text(b, world))
    held[0]["credentialSubject"]["balance"] += 1000
    status, page = _check(b, credential_qr.encode(held))
    assert status == 422 and _outcome(page) == "invalid" and "書き換え" in page
    status, page = _check(b, "ECO1:NOT-A-STATEMENT")
    assert status == 422 and _outcome(page) == "invalid"


def test_a_statement_of_a_revoked_device_is_refused_and_the_copy_used_offline(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, api, b = town
    text = _statement_text(b, world)
    assert _outcome(_check(b, text)[1]) == "valid"
    world.cli("revoke", world.devices[SATO].device_id, "--reason", "stolen")
    status, page = _check(b, text)  # the shop's copy is refreshed: the bit is set
    assert status == 422 and _outcome(page) == "revoked" and "取り消" in page
    api.stop()  # the town cannot be reached: the copy kept is used, and the page says so
    status, page = _check(b, text)
    assert _outcome(page) == "revoked" and 'id="check-unreachable"' in page


def test_an_altered_status_list_copy_is_refused(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, api, b = town
    text = _statement_text(b, world)
    assert _outcome(_check(b, text)[1]) == "valid"
    api.stop()
    copy = world.state / "ui" / "town-keys" / "status-list.json"
    listed = json.loads(copy.read_text())
    listed["validFrom"] = "2020-01-01T00:00:00Z"  # any change breaks the list's own proof
    copy.write_text(json.dumps(listed))
    status, page = _check(b, text)
    assert status == 422 and _outcome(page) == "invalid"


def test_the_operator_may_check_and_a_resident_may_not(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, _, b = town
    b.login(OPERATOR)
    assert b.get("/shop/check").status_code == 200
    b.client.cookies.clear()
    b.resident_login(issue_code(world, SATO))
    r = b.get("/shop/check", follow_redirects=False)
    assert r.status_code in (303, 307)


def test_a_revoked_household_gets_no_statement(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, _, b = town
    world.cli("revoke", world.devices[SATO].device_id, "--reason", "moved out")
    b.resident_login(issue_code(world, SATO))
    for path in ("/resident/statement", "/resident/statement.json"):
        r = b.get(path)
        assert r.status_code == 409 and "取り消されている" in r.text, path


@pytest.mark.integration  # chromium renders the report's PDF
def test_the_batches_page_offers_the_reports_signed_summary(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, api, b = town
    batch = world.cli("batch", "create", "--period", "2026-11-22..2026-11-24")["batch_id"]
    b.login(OPERATOR)
    r = b.post_form("/batches", "/batches/report", {"batch": batch})
    assert r.status_code == 200 and "file=report-credential.json" in r.text
    got = b.get(f"/batches/download?batch={batch}&file=report-credential.json")
    assert got.status_code == 200
    summary = got.json()
    report = b.get(f"/batches/download?batch={batch}&file=report.json").json()
    assert summary["credentialSubject"]["batchId"] == report["batch_id"] == batch
    with urllib.request.urlopen(api.url + "/.well-known/did.json") as f:
        doc = json.load(f)
    verdict = check_credential(summary, {doc["id"]: doc}, {}, format_time(datetime.now(UTC)))
    assert verdict.kind == "batch summary"


def test_a_statement_older_than_a_redeem_qr_shows_the_balance_but_opens_no_redemption(
        town: tuple[UiWorld, ApiServer, Browser]) -> None:
    world, api, b = town
    text = _statement_text(b, world)
    later = datetime.now(UTC) + timedelta(minutes=16)  # the redeem QR code's 15 minutes, past
    ui = UiConfig(world.cfg, read_api=api.url, town_cache_minutes=0, clock=lambda: later)
    with TestClient(create_app(ui)) as client:
        status, page = _check(Browser(client), text)
    assert status == 200 and _outcome(page) == "valid"
    assert 'id="check-redeem"' not in page and 'id="check-redeem-stale"' in page
    assert "交換用QRコード" in page and not problems(visible(page))
