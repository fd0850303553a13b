"""The certificate pages (issue 19 point 3) over HTTP, in-process (Starlette's TestClient on a
real initialised state, readings through the real intake, buyers' keys generated here):

* the operator issues a period's certificates from ``/certificates``, filters them by status and
  period, opens a bundle (its readings' entries link to the ledger page) and sells ids the town
  holds to a buyer's account — each audited like the CLI's ``certificates issue|assign``;
* once a buyer holds ids, the operator's pages offer no control over them, and a hand-made
  assign of them is refused with the log unchanged;
* the buyer's public page lists holdings with proof links; a request edited after signing, one
  signed by an account that does not hold the ids (also ids the town still holds), one that is
  not a signed request at all and an oversized upload are refused with their reason in
  Japanese; a valid holder-signed cancellation is logged, shown, proven, and refused if sent
  again; refusals from one address are throttled;
* every page is free of untranslated text in Japanese and has its English.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest

from aggregator import operator
from aggregator.store import SqliteStore
from eco_protocol.accounts import CANCEL, TRANSFER, ClaimRequest, account_of, sign_request
from eco_protocol.encoding import format_time
from eco_protocol.keys import Ed25519PrivateKey
from eco_protocol.merkle import leaf_hash, verify_inclusion
from eco_protocol.programme_records import Period
from tests.webui.untranslated_kit import problems, visible
from tests.webui.webui_kit import Browser, UiWorld, csrf_of

SATO = "佐藤 花子 中央1-2-3"
BENEFICIARY = "例示製鉄株式会社"
ROW_RE = re.compile(r'href="/certificates/bundle\?ref=([^"]+)">(\d+)\.\.(\d+)<')


def _size(world: UiWorld) -> int:
    store = SqliteStore(world.state / "ledger.sqlite3", check_integrity=False)
    try:
        return store.size()
    finally:
        store.close()


def _issue(world: UiWorld, browser: Browser) -> list[tuple[str, int, int]]:
    """Log in, issue 22–23 November (JST) from the page; the listed bundles (ref, first, last)."""
    world.enrol_pv(SATO)
    world.send(SATO, 48)
    browser.login()
    r = browser.post_form("/certificates", "/certificates/issue",
                          {"start": "2026-11-22", "end": "2026-11-24"})
    assert r.status_code == 200 and "件の証書の束" in r.text, r.text
    return [(unquote(ref).replace("&amp;", "&"), int(a), int(b))
            for ref, a, b in ROW_RE.findall(r.text)]


def _sell(browser: Browser, ref: str, first: int, last: int, to: str) -> Any:
    page = f"/certificates/bundle?ref={ref}"
    return browser.post_form(page, "/certificates/assign",
                             {"ref": ref, "first": str(first), "last": str(last), "to": to})


def _request(key: Ed25519PrivateKey, ref: str, first: int, last: int) -> ClaimRequest:
    now = format_time(datetime.now(UTC).replace(microsecond=0))
    r = ClaimRequest(CANCEL, ref, first, last, account_of(key), now,
                     period=Period("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
                     beneficiary=BENEFICIARY)
    return sign_request(r, key)


def _submit(browser: Browser, account: str, body: bytes | str) -> Any:
    token = csrf_of(browser.get(f"/account/{account}").text)
    return browser.client.post("/account/request", data={"csrf": token},
                               files={"request": ("request.json", body, "application/json")})


def _reason(html: str) -> str | None:
    m = re.search(r'data-reason="([a-z_]+)"', html)
    return m.group(1) if m else None


def _japanese_ok(html: str) -> None:
    found = problems(visible(html))
    assert not found, f"untranslated: {found}"


def test_the_operator_issues_filters_opens_and_sells(world: UiWorld, browser: Browser) -> None:
    bundles = _issue(world, browser)
    assert bundles, "nothing issued"
    listed = browser.get("/certificates").text
    _japanese_ok(listed)
    assert f'id="count-town">{len(bundles)}<' in listed
    assert "日本時間" in listed
    buyer = account_of(Ed25519PrivateKey.generate())
    ref, first, last = bundles[0]
    sold = _sell(browser, ref, first, first + 9, buyer)
    assert sold.status_code == 200 and "へ移転しました" in sold.text, sold.text
    _japanese_ok(sold.text)
    assert 'data-holder="buyer"' in sold.text and 'data-holder="town"' in sold.text
    assert re.search(r'href="/ledger\?index=\d+"', sold.text)  # the readings' entries
    moved = browser.get("/certificates?status=transferred").text
    assert len(ROW_RE.findall(moved)) == 1 and buyer[8:16] in moved
    assert len(ROW_RE.findall(browser.get("/certificates?status=town").text)) == \
        len(bundles) - 1
    assert not ROW_RE.findall(browser.get("/certificates?start=2026-11-25").text)
    assert browser.get("/certificates?start=2026-02-31").status_code == 200  # not a day: ignored
    for start, end, said in (("2026-11-24", "2026-11-22", "それより後の終了日"),
                             ("2026-11-22", "2026-11-24", "発行できる証書はありません")):
        again = browser.post_form("/certificates", "/certificates/issue",
                                  {"start": start, "end": end})
        assert said in again.text, again.text  # nothing issued twice, said in Japanese
        _japanese_ok(again.text)
    assert len(ROW_RE.findall(browser.get(
        "/certificates?start=2026-11-22&end=2026-11-24").text)) == len(bundles)
    accounts = browser.get("/certificates/accounts").text
    _japanese_ok(accounts)
    assert f'/account/{buyer.replace(":", "%3A")}' in accounts
    audit = [(r["action"], r["outcome"], r["via"]) for r in operator.read_audit(world.cfg)]
    assert ("certificates-issue", "ok", "ui") in audit
    assert ("certificates-assign", "ok", "ui") in audit
    browser.client.cookies.set("eco_lang", "en")
    english = browser.get("/certificates").text
    assert "Held by the town" in english and "Issue certificates" in english


def test_the_operator_cannot_move_ids_a_buyer_holds(world: UiWorld, browser: Browser) -> None:
    ref, first, last = _issue(world, browser)[0]
    buyer = account_of(Ed25519PrivateKey.generate())
    assert "へ移転しました" in _sell(browser, ref, first, last, buyer).text
    page = browser.get(f"/certificates/bundle?ref={ref}").text
    assert 'id="assign-none"' in page and 'id="assign-form"' not in page
    assert "職員が移転・償却することはできません" in page
    for path in ("/certificates", f"/certificates/bundle?ref={ref}", "/certificates/accounts"):
        actions = set(re.findall(r'<form[^>]*action="([^"]+)"', browser.get(path).text))
        assert actions <= {"/certificates/issue", "/certificates", "/logout"}, (path, actions)
    before = _size(world)
    other = account_of(Ed25519PrivateKey.generate())
    refused = _sell(browser, ref, first, last, other)  # a hand-made form, past the page
    assert "町が保有していないもの" in refused.text
    assert _size(world) == before
    assert operator.read_audit(world.cfg)[-1]["outcome"] == "refused"


def test_a_buyer_cancels_with_a_signed_request_and_forgeries_are_refused(
        world: UiWorld, browser: Browser) -> None:
    bundles = _issue(world, browser)
    key = Ed25519PrivateKey.generate()
    buyer = account_of(key)
    ref, first, last = bundles[0]
    _sell(browser, ref, first, last, buyer)
    browser.client.cookies.clear()  # the buyer's page needs no login
    page = browser.get(f"/account?id={buyer}")  # the lookup form's answer: the account's page
    assert page.status_code == 200 and page.url.path == f"/account/{buyer}"
    _japanese_ok(page.text)
    assert f"{first}..{last}" in page.text and "eco-verify certificates" in page.text
    good = _request(key, ref, first, first + 4)
    before = _size(world)

    edited = good.to_dict() | {"beneficiary": "別の会社"}
    r = _submit(browser, buyer, json.dumps(edited))
    assert r.status_code == 422 and _reason(r.text) == "signature", r.text
    assert "保有者の鍵で署名されていません" in r.text
    _japanese_ok(r.text)
    stranger = Ed25519PrivateKey.generate()
    for other in (bundles[0], bundles[1]):  # ids the buyer holds, and ids the town holds
        theirs = _request(stranger, *other)
        r = _submit(browser, buyer, json.dumps(theirs.to_dict()))
        assert _reason(r.text) == "not_holder", r.text
    unsigned = {k: v for k, v in good.to_dict().items() if k != "sig"}
    r = _submit(browser, buyer, json.dumps(unsigned))
    assert r.status_code == 400 and _reason(r.text) == "malformed"
    _japanese_ok(r.text)
    for size in (100_000, 200_000):  # over the limit in the file, and in the whole body
        r = _submit(browser, buyer, b"{" + b" " * size + b"}")
        assert r.status_code == 400 and _reason(r.text) == "too_big"
    assert _size(world) == before  # nothing refused was logged

    r = _submit(browser, buyer, json.dumps(good.to_dict()))
    assert r.status_code == 200 and 'data-outcome="logged"' in r.text, r.text
    _japanese_ok(r.text)
    index = int(re.search(r"台帳番号 (\d+)", r.text).group(1))  # type: ignore[union-attr]
    assert _size(world) == before + 1
    assert BENEFICIARY in r.text and 'id="cancelled-wh">5<' in r.text
    proof = browser.get(f"/account/proof?index={index}").json()
    entry = base64.b64decode(proof["entry_b64"])
    assert json.loads(entry)["action"] == "cancelled"
    verify_inclusion(index, proof["size"], leaf_hash(entry),
                     [base64.b64decode(p) for p in proof["proof_b64"]],
                     base64.b64decode(proof["root_b64"]))
    again = _submit(browser, buyer, json.dumps(good.to_dict()))
    assert _reason(again.text) == "used"
    for other in ("0", str(index + 99), "x"):  # a reading's entry, beyond the log, no number
        assert browser.get(f"/account/proof?index={other}").status_code == 404
    # a transfer, pasted into the text box instead of uploaded
    friend = account_of(Ed25519PrivateKey.generate())
    move = sign_request(ClaimRequest(TRANSFER, ref, first + 5, first + 9, buyer,
                                     good.requested_at, to=friend), key)
    token = csrf_of(browser.get(f"/account/{buyer}").text)
    r = browser.client.post("/account/request", data={
        "csrf": token, "request_text": json.dumps(move.to_dict())})
    assert 'data-outcome="logged"' in r.text and 'id="sent-wh">5<' in r.text, r.text
    theirs = browser.get(f"/account/{friend}").text
    assert f"{first + 5}..{first + 9}" in theirs and 'id="received-wh">5<' in theirs
    switch = re.search(r'href="(/lang/en\?next=[^"]+)"', browser.get(f"/account/{buyer}").text)
    assert switch is not None  # the language switch keeps the account (it is in the path)
    english = browser.get(switch.group(1).replace("&amp;", "&")).text
    assert buyer in english
    assert "Cancellations" in english and "How to verify offline" in english


def test_an_unknown_account_and_a_flood_of_refused_requests(world: UiWorld,
                                                            browser: Browser) -> None:
    for bad in ("/account?id=did:key:nonsense", "/account/did:key:nonsense"):
        r = browser.get(bad)
        assert r.status_code == 400 and "did:key:z6Mk" in r.text
        _japanese_ok(r.text)
    _japanese_ok(browser.get("/account").text)
    buyer = account_of(Ed25519PrivateKey.generate())
    statuses = [_submit(browser, buyer, b"not json").status_code for _ in range(22)]
    assert statuses[0] == 400 and statuses[-1] == 429, statuses
    assert "しばらく受け付けを停止" in _submit(browser, buyer, b"{}").text


@pytest.mark.parametrize("path", ["/certificates", "/certificates/accounts"])
def test_operator_pages_need_a_login(browser: Browser, path: str) -> None:
    r = browser.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
