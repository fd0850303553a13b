"""The web UI over HTTP (Starlette's TestClient, no browser): login, sessions, CSRF on every
POST, roles, the language switch, enrolment, revocation, resident codes, the shop's redemption,
batches and their downloads."""

from __future__ import annotations

import io
import json
import logging
import re
import stat
import sys
import zipfile
from pathlib import Path

import pytest
from markupsafe import escape
from starlette.routing import Route
from starlette.testclient import TestClient

from aggregator.accounting import points_statement, scan
from aggregator.cli import main
from aggregator.programme import load_programme
from aggregator.webui.app import UiConfig, create_app, safe_next
from aggregator.webui.auth import ResidentCodes, UserStore, ui_dir
from eco_protocol.creditability import RULE_TEXT, Rule
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import Device
from tests.webui.webui_kit import OPERATOR, PROGRAMME, SHOP, Browser, UiWorld, csrf_of, issue_code

SATO = "Sato, 1-2 Chuo"


def _cookie_header(resp: object) -> str:
    headers = resp.headers  # type: ignore[attr-defined]
    return "; ".join(v for k, v in headers.multi_items() if k.lower() == "set-cookie")


def test_pages_need_a_login(browser: Browser) -> None:
    for path in ("/fleet", "/households", "/enrol", "/ledger", "/points", "/batches",
                 "/shop/redeem"):
        r = browser.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = browser.get("/resident", follow_redirects=False)
    assert r.headers["location"].startswith("/resident/login")


def test_login_sets_a_strict_httponly_session_and_wrong_passwords_fail(
        browser: Browser) -> None:
    r = browser.login(("alice", "not the password"))
    assert r.status_code == 401 and "ユーザー名またはパスワードが違います" in r.text
    token = csrf_of(browser.get("/login").text)
    r = browser.client.post("/login", data={"csrf": token, "username": OPERATOR[0],
                                            "password": OPERATOR[1]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/fleet"
    cookie = _cookie_header(r).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "eco_session=" in cookie
    page = browser.get("/fleet")
    assert page.status_code == 200 and "機器の状況" in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    # logging out ends the session
    browser.post_form("/fleet", "/logout", {})
    assert browser.get("/fleet", follow_redirects=False).status_code == 303


def test_login_redirects_only_to_local_paths() -> None:
    assert safe_next("/batches?start=1") == "/batches?start=1"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil", "", None):
        assert safe_next(bad, "/") == "/"


def _post_routes(client: TestClient) -> list[str]:
    app = client.app
    routes = app.routes  # type: ignore[attr-defined]
    out = []
    for r in routes:
        if isinstance(r, Route) and r.methods and "POST" in r.methods:
            out.append(r.path.replace("{household}", "hh-00000000000000000000")
                       .replace("{device_id}", "0" * 32))
    return out


def test_every_post_refuses_a_missing_or_wrong_csrf_token(browser: Browser) -> None:
    browser.login()
    posts = _post_routes(browser.client)
    assert len(posts) >= 10
    for path in posts:
        for data in ({}, {"csrf": "x" * 43}):
            r = browser.client.post(path, data=data, follow_redirects=False)
            assert r.status_code == 403, (path, data, r.status_code)
            assert "フォームの有効期限が切れたか" in r.text


def test_the_login_form_itself_needs_its_token(browser: Browser) -> None:
    r = browser.client.post("/login", data={"username": OPERATOR[0],
                                            "password": OPERATOR[1]})
    assert r.status_code == 403
    assert browser.get("/fleet", follow_redirects=False).status_code == 303


def test_language_switch(browser: Browser) -> None:
    page = browser.get("/login").text
    assert '<html lang="ja">' in page and "ログイン" in page
    r = browser.get("/lang/en?next=/login", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "eco_lang=en" in _cookie_header(r)
    page = browser.get("/login").text
    assert '<html lang="en">' in page and "Staff and shop login" in page
    assert browser.get("/lang/fr").status_code == 404
    r = browser.get("/lang/ja?next=https://evil.example/", follow_redirects=False)
    assert r.headers["location"] == "/"
    assert "職員・協力店ログイン" in browser.get("/login").text


def test_shops_and_residents_see_only_their_pages(world: UiWorld, browser: Browser) -> None:
    world.enrol_pv(SATO)
    browser.login(SHOP)
    assert browser.get("/fleet").status_code == 403
    assert browser.get("/shop/redeem").status_code == 200
    browser.post_form("/shop/redeem", "/logout", {})
    assert browser.resident_login(issue_code(world, SATO)).url.path == "/resident"
    assert browser.get("/fleet", follow_redirects=False).headers["location"].startswith(
        "/login")


def test_too_many_failed_logins_are_throttled(browser: Browser) -> None:
    # five free mistakes, then the account waits (2 s, doubling): even the right password is
    # refused until then
    for _ in range(5):
        assert browser.login(("alice", "wrong password!")).status_code == 401
    assert browser.login(("alice", "wrong password!")).status_code == 429
    assert browser.login(OPERATOR).status_code == 429


def test_another_accounts_success_never_resets_the_throttle(
        world: UiWorld, caplog: pytest.LogCaptureFixture) -> None:
    """The attack of the issue: 20 wrong operator passwords interleaved with a shop account's
    successful logins. The old throttle cleared on any success and never answered 429.
    The throttle's clock stands still: on a loaded machine 15 rounds took longer than the first
    2-second lock-out, which then lapsed mid-count."""
    caplog.set_level(logging.WARNING, logger="eco.audit")
    with TestClient(create_app(UiConfig(world.cfg, wall_clock=lambda: 1_800_000_000.0))) as c:
        _interleave_and_count(Browser(c), caplog)


def _interleave_and_count(browser: Browser, caplog: pytest.LogCaptureFixture) -> None:
    codes = []
    for _ in range(20):
        assert browser.login(SHOP).status_code in (200, 303)
        codes.append(browser.login(("alice", "wrong password!")).status_code)
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 15
    # the shop's own logins were never slowed by the operator account's failures...
    assert browser.login(SHOP).status_code in (200, 303)
    # ...and every failure and refusal left an audit line naming account and address
    lines = [r.getMessage() for r in caplog.records if r.name == "eco.audit"]
    assert sum("failed web UI login for 'alice'" in ln for ln in lines) == 5
    assert sum("refused: throttled" in ln for ln in lines) == 15


def test_the_real_client_address_comes_from_a_trusted_proxy_only(world: UiWorld) -> None:
    """Behind a reverse proxy every resident shares its address: one guesser must not lock out
    the others. X-Forwarded-For counts only when the connection comes from a trusted proxy."""
    app = create_app(UiConfig(world.cfg, trusted_proxies=("testclient",)))
    with TestClient(app) as client:
        b = Browser(client)

        def as_from(addr: str, code: str) -> int:
            token = csrf_of(client.get("/resident/login").text)
            return int(client.post("/resident/login", data={"csrf": token, "code": code},
                                   headers={"X-Forwarded-For": addr}).status_code)

        codes = [as_from("203.0.113.7", "WRONG-CODE") for _ in range(22)]
        assert codes[:20] == [401] * 20 and codes[20:] == [429] * 2
        # another resident behind the same proxy is not slowed
        assert as_from("203.0.113.8", "WRONG-CODE") == 401
        # a client cannot choose its address: what it puts left of the proxy's entry is ignored
        assert as_from("198.51.100.1, 203.0.113.7", "WRONG-CODE") == 429
        assert b.get("/login").status_code == 200
    # without the proxy trusted, the header is ignored: everyone is the proxy's address
    with TestClient(create_app(UiConfig(world.cfg))) as client:
        for i in range(21):
            token = csrf_of(client.get("/resident/login").text)
            r = client.post("/resident/login", data={"csrf": token, "code": "WRONG"},
                            headers={"X-Forwarded-For": f"203.0.113.{i}"})
        assert r.status_code == 429


def test_a_new_password_ends_old_sessions(world: UiWorld, browser: Browser) -> None:
    browser.login()
    assert browser.get("/fleet").status_code == 200
    UserStore(ui_dir(world.state) / "users.json").add("alice", "a brand new password")
    assert browser.get("/fleet", follow_redirects=False).status_code == 303


def _enrol_form(public_key: str, reference: str, **extra: str) -> dict[str, str]:
    form = {"public_key": public_key, "household": reference, "programme": PROGRAMME,
            "meter_id_0": "pv1", "meter_quantity_0": "pv_generation",
            "meter_protocol_0": "sunspec-modbus", "meter_rated_w_0": "4500",
            "installed": "2022-05-01", "fit_status": "post_fit", "battery": "no"}
    form.update(extra)
    return form


def test_enrol_form_validates_like_the_cli_and_enrols(world: UiWorld,
                                                      browser: Browser) -> None:
    browser.login()
    d = Device()
    key = b64encode(public_key_raw(d.key))
    bad = browser.post_form("/enrol", "/enrol", _enrol_form(key, SATO, installed="",
                                                            battery=""))
    assert bad.status_code == 400
    # the translated sentence naming the form field, not the CLI's "fit.installed …"
    assert "「太陽光の設置日」が必要です" in bad.text and "「家庭用蓄電池」が必要です" in bad.text
    assert "fit.installed" not in bad.text and "must be" not in bad.text
    assert 'value="Sato, 1-2 Chuo"' in bad.text  # the form keeps what was typed
    bad = browser.post_form("/enrol", "/enrol", _enrol_form("AAAA", SATO))
    assert bad.status_code == 400 and "base64" in bad.text
    ev = browser.post_form("/enrol", "/enrol", _enrol_form(
        key, SATO, meter_quantity_0="ev_charge", installed="", fit_status="", battery=""))
    assert ev.status_code == 400 and "「EVの電費と比較するガソリン車の燃費」が必要です" in ev.text
    ok = browser.post_form("/enrol", "/enrol", _enrol_form(key, SATO))
    assert ok.status_code == 200, ok.text
    assert d.device_id in ok.text and world.pseudonym(SATO) in ok.text
    code = re.search(r'id="enrolled-code">([0-9A-Z-]+)<', ok.text)
    assert code is not None  # a first device of a household gets a login code
    # the name only beside the pseudonym, for the operator (tests/webui/test_webui_household_name)
    page = browser.get(f"/households/{world.pseudonym(SATO)}").text
    assert page.count(SATO) == 1 and SATO in page.split('id="hh-person"', 1)[1]
    again = browser.post_form("/enrol", "/enrol", _enrol_form(key, SATO))
    assert again.status_code == 400 and "すでに登録されています" in again.text
    with world.ledger() as ledger:
        assert ledger.store.device(d.device_id) is not None
    assert browser.resident_login(code.group(1).lower().replace("-", " ")).url.path == \
        "/resident"


def test_revoke_from_the_household_page(world: UiWorld, browser: Browser) -> None:
    d = world.enrol_pv(SATO)
    browser.login()
    page = f"/households/{world.pseudonym(SATO)}"
    r = browser.post_form(page, f"/devices/{d.device_id}/revoke", {"reason": ""})
    assert "失効の理由" in r.text
    r = browser.post_form(page, f"/devices/{d.device_id}/revoke",
                          {"reason": "meter replaced"})
    assert r.url.path == page and "失効させました" in r.text
    with world.ledger() as ledger:
        row = ledger.store.device(d.device_id)
        assert row is not None and row.revoked_index is not None


def test_fleet_household_ledger_and_points_pages_show_the_ledger(world: UiWorld,
                                                                 browser: Browser) -> None:
    d = world.enrol_pv(SATO)
    world.send(SATO, 24, energy=2000)
    browser.login()
    fleet = browser.get("/fleet").text
    assert d.device_id in fleet and "<svg" in fleet
    hh = world.pseudonym(SATO)
    page = browser.get(f"/households/{hh}").text
    # 24 × 2 kWh of PV, the smart meter's E3 export 0 → 48 kWh self-consumed (09:00–21:00 JST,
    # one day); × 434 g/kWh (FY2026) × (1 − 0.6 % project emissions) = 48 × 434 × 0.994
    # = 20 707.008 g → floored 20 707 g = 20.7 kg; × 5 points/kg = 103.5 → 103 points
    assert "48.0" in page and "20.7" in page and ">103<" in page
    assert 'id="hh-excluded"' in page and "ありません（すべての計測値が算定対象です）" in page
    ledger = browser.get(f"/ledger?device_id={d.device_id}&seq=3").text
    assert "verified here" in ledger or "この場で検証済み" in ledger
    assert browser.get("/ledger?index=999").status_code == 200
    points = browser.get("/points").text
    # the reward's name in the reader's language (programme.toml's name_ja)
    assert hh in points and "市民プール 1日券" in points and "Municipal pool" not in points


def test_resident_sees_balance_and_a_shop_redeems_with_the_qr_link(
        world: UiWorld, browser: Browser, tmp_path: Path) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 24, energy=2000)  # 103 points (the arithmetic: the fleet test above)
    code = issue_code(world, SATO)
    assert browser.resident_login("WRONG-CODE-0000-0000").status_code == 401
    page = browser.resident_login(code).text
    assert 'id="balance">103' in page and "<svg" in page and "qr" in page
    link = re.search(r'href="(http://testserver/shop/redeem\?t=[^"]+)"', page)
    assert link is not None
    url = link.group(1).replace("http://testserver", "")
    browser.post_form("/resident", "/logout", {})
    browser.login(SHOP)
    shop = browser.get(url).text
    assert world.pseudonym(SATO) in shop and 'id="shop-balance">103' in shop
    token = url.split("t=", 1)[1]
    r = browser.post_form(url, "/shop/redeem", {"t": token, "reward": "local-rice-2kg"})
    assert r.status_code == 200 and 'id="redeemed"' in r.text
    r = browser.post_form(url, "/shop/redeem", {"t": token, "reward": "local-rice-2kg"})
    assert r.status_code == 400 and "残高は 3 pt です" in r.text  # 103 − 100 for the rice
    bad = browser.post_form(url, "/shop/redeem", {"t": token[:-3] + "abc",
                                                  "reward": "pool-ticket"})
    assert bad.status_code == 400 and 'id="redeem-error"' in bad.text
    with world.ledger() as ledger:
        view = scan(ledger.store)
        programme = load_programme(world.state / "programme.toml")
        assert points_statement(view, programme, world.pseudonym(SATO)).balance == 3
        assert [r.reward for _, r in view.redemptions] == ["local-rice-2kg"]


def test_a_new_code_replaces_the_old_one(world: UiWorld, browser: Browser) -> None:
    world.enrol_pv(SATO)
    old = issue_code(world, SATO)
    assert browser.resident_login(old).url.path == "/resident"
    browser.login()  # an operator issues a new code from the household page
    hh = world.pseudonym(SATO)
    r = browser.post_form(f"/households/{hh}", f"/households/{hh}/resident-code", {})
    new = re.search(r'<strong class="mono">([0-9A-Z-]+)</strong>', r.text)
    assert new is not None and new.group(1) != old
    browser.post_form("/fleet", "/logout", {})
    assert browser.resident_login(old).status_code == 401
    assert browser.resident_login(new.group(1)).url.path == "/resident"


def test_no_code_for_a_household_without_an_enrolled_device(world: UiWorld,
                                                            browser: Browser) -> None:
    world.enrol_pv(SATO)
    browser.login()
    hh, nobody = world.pseudonym(SATO), "hh-" + "0" * 20
    r = browser.post_form(f"/households/{hh}", f"/households/{nobody}/resident-code", {})
    assert r.status_code == 404
    assert not ResidentCodes(ui_dir(world.state) / "residents.json").has_code(nobody)


def _send_bad_readings(world: UiWorld) -> None:
    """After 24 good intervals: one interval of 4 kWh from a 6 kW meter (at most 3 kWh in half
    an hour: implausible; its E3 export reading is fine) and the first interval again (PV and
    E3 both overlap their meters' earlier readings). Logged, accepted, never credited."""
    world.send(SATO, 1, energy=4000, start=24)
    world.send(SATO, 1, energy=2000, start=0)


def test_household_and_fleet_pages_show_excluded_readings_by_rule(world: UiWorld,
                                                                  browser: Browser) -> None:
    d = world.enrol_pv(SATO)
    world.send(SATO, 24, energy=2000)
    _send_bad_readings(world)
    browser.login()
    page = browser.get(f"/households/{world.pseudonym(SATO)}").text
    table = page.split('id="hh-excluded"', 1)[1].split("</table>", 1)[0]
    assert 'data-rule="implausible"' in table and "定格出力超過" in table
    assert 'data-rule="overlap"' in table and "重複" in table
    assert "同じ計測器の以前の計測値と時間帯が重なっています" in table  # the rule's text
    # the figures are the creditable readings' only: still 48 kWh and 103 points, not
    # 48 + 4 + 2 kWh (the implausible interval has no creditable PV to net its export against)
    assert "48.0" in page and "20.7" in page and ">103<" in page
    fleet = browser.get("/fleet").text
    flagged = fleet.split('id="flagged"', 1)[1].split("</table>", 1)[0]
    assert d.device_id in flagged and "定格出力超過" in flagged and "重複" in flagged
    en = browser.get("/lang/en?next=/households/" + world.pseudonym(SATO)).text
    assert "above rated power" in en and str(escape(RULE_TEXT[Rule.IMPLAUSIBLE])) in en


def test_a_household_without_an_export_meter_shows_why_it_earns_nothing(
        world: UiWorld, browser: Browser) -> None:
    browser.login()
    d = Device()
    r = browser.post_form("/enrol", "/enrol", _enrol_form(b64encode(public_key_raw(d.key)),
                                                          SATO, zero_export="1"))
    assert r.status_code == 200, r.text
    page = browser.get(f"/households/{world.pseudonym(SATO)}").text
    flags = page.split('id="hh-flags"', 1)[1].split("</p>", 1)[0]
    assert "売電量の計量なし" in flags and "export_unmetered" not in flags  # no code string
    enrol = browser.get("/enrol").text
    assert 'id="zero-export-hint"' in enrol and "申告だけでは算定されません" in enrol


def test_batch_preview_seal_report_and_downloads(world: UiWorld, browser: Browser) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 24, energy=2000)
    _send_bad_readings(world)
    browser.login()
    form = browser.get("/batches").text
    assert '<option value="pv" selected>PV 太陽光' in form and '<option value="ev"' in form
    preview = browser.get("/batches?start=2026-11-22&end=2026-11-24&methodology=pv").text
    # covered: 24 intervals × (PV + E3) + the implausible interval's 2 + the overlapping 2 = 52;
    # excluded: 1 implausible (its PV) + 2 overlap → 49 creditable
    assert 'id="preview"' in preview and ">52<" in preview
    assert 'id="preview-creditable">49<' in preview and 'id="preview-excluded">3<' in preview
    exclusions = preview.split('id="preview-exclusions"', 1)[1].split("</table>", 1)[0]
    assert re.search(r'data-rule="implausible">.*?<td class="num">1</td>', exclusions)
    assert re.search(r'data-rule="overlap">.*?<td class="num">2</td>', exclusions)
    assert 'name="methodology" value="pv"' in preview
    ev = browser.get("/batches?start=2026-11-22&end=2026-11-24&methodology=ev").text
    assert f"{PROGRAMME}:ev:2026-11-22..2026-11-24" in ev and ">0<" in ev  # no EV here
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', preview)
    assert digest is not None
    stale = browser.post_form("/batches", "/batches/seal", {
        "start": "2026-11-22", "end": "2026-11-24", "methodology": "pv", "digest": "0" * 64})
    assert "もう一度集計を確認" in stale.text
    forged = browser.post_form("/batches", "/batches/seal", {
        "start": "2026-11-22", "end": "2026-11-24", "methodology": "pvev",
        "digest": digest.group(1)})
    assert "pvev" in forged.text and "EN-R-002" in forged.text  # refused, never mapped to pv
    r = browser.post_form("/batches", "/batches/seal", {
        "start": "2026-11-22", "end": "2026-11-24", "methodology": "pv",
        "digest": digest.group(1)})
    assert "封印しました" in r.text
    batch_id = f"{PROGRAMME}:pv:2026-11-22..2026-11-24"
    assert batch_id in r.text and "PV 太陽光" in r.text.split('id="batches"', 1)[1]
    overlap = browser.get("/batches?start=2026-11-23&end=2026-11-25").text
    # in the reader's language, with the JST dates as typed (never the UTC instants)
    assert "と重なっています" in overlap and "2026-11-23〜2026-11-25" in overlap
    # EV is another methodology: its batch of the same period does not overlap the PV one
    assert "と重なっています" not in browser.get(
        "/batches?start=2026-11-23&end=2026-11-25&methodology=ev").text
    r = browser.post_form("/batches", "/batches/report", {"batch": batch_id})
    assert "報告書を作成しました" in r.text
    q = f"batch={batch_id}"
    report = browser.get(f"/batches/download?{q}&file=report.json")
    assert report.status_code == 200 and report.json()["batch_id"] == batch_id
    assert "attachment" in report.headers["content-disposition"]
    assert browser.get(f"/batches/download?{q}&file=results.csv").text.startswith("symbol,")
    assert world.pseudonym(SATO) in browser.get(f"/batches/download?{q}&file=households.csv").text
    z = zipfile.ZipFile(io.BytesIO(browser.get(f"/batches/download?{q}&file=report.zip")
                                   .content))
    names = set(z.namelist())
    assert {n.split("/", 1)[1] for n in names} >= {"report.json", "results.csv", "households.csv",
                                                   "report.html",
                                                   "evidence/entries.jsonl",
                                                   "evidence/checkpoint"}
    html = browser.get(f"/batches/view?{q}").text
    assert "J-クレジット バッチ報告書" in html and "eco-verify report.json" in html
    assert browser.get(f"/batches/download?{q}&file=../../users.json").status_code == 404
    assert browser.get("/batches/download?batch=nope&file=report.json").status_code == 404


@pytest.mark.production_kdf
def test_ui_user_and_resident_code_commands(world: UiWorld,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = world.cli("ui-user", "add", "bob", "--role", "shop", stdin="a long password\n")
    assert out == {"user": "bob", "role": "shop", "file": str(ui_dir(world.state) /
                                                              "users.json")}
    path = ui_dir(world.state) / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["users"]["bob"]["hash"].startswith("scrypt$15$8$1$")
    assert "a long password" not in path.read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no password
    assert main(["--config", str(world.conf), "ui-user", "add", "carol"]) == 1
    listed = world.cli("ui-user", "list")
    assert {u["user"] for u in listed["users"]} == {"alice", "bakery", "bob"}
    world.enrol_pv(SATO)
    code = world.cli("resident-code", SATO)
    assert code["household"] == world.pseudonym(SATO)
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code["code"])
    assert code["code"] not in (ui_dir(world.state) / "residents.json").read_text()
    assert world.cli("resident-code", world.pseudonym(SATO))["household"] == \
        world.pseudonym(SATO)
    assert main(["--config", str(world.conf), "resident-code", "Nobody, 9-9"]) == 1


@pytest.mark.parametrize("lang,title", [("ja", "機器の状況"), ("en", "Fleet overview")])
def test_pages_render_in_both_languages(world: UiWorld, lang: str, title: str) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 4)
    with TestClient(create_app(UiConfig(world.cfg)), cookies={"eco_lang": lang}) as c:
        b = Browser(c)
        b.login()
        assert title in b.get("/fleet").text
        for path in ("/households", f"/households/{world.pseudonym(SATO)}", "/enrol",
                     "/ledger", "/points", "/batches"):
            r = b.get(path)
            assert r.status_code == 200, (path, r.text[:500])


def test_ui_command_serves_until_terminated(world: UiWorld) -> None:
    import os
    import signal
    import subprocess
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config",
                             str(world.conf), "ui", "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    try:
        assert proc.stdout is not None
        url = json.loads(proc.stdout.readline())["url"]
        with urllib.request.urlopen(url + "/login", timeout=10) as r:
            assert r.status == 200 and "ログイン" in r.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    bad = subprocess.run([sys.executable, "-m", "aggregator.cli", "--config", str(world.conf),
                          "ui", "--listen", "nonsense"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr
