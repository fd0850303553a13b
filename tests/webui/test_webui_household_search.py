"""Issue 17 point 2: the operator finds a household by name, address or phone ("I'm Sato, what
is my balance?") — from the personal-data store only, width- and case-insensitive for Japanese
input, hyphens in phone numbers ignored, never a household whose personal data was forgotten,
and every search in the audit trail without the words searched."""

from __future__ import annotations

import json
import re

import pytest

from aggregator.operator import AUDIT_FILE, read_audit
from aggregator.personal import Person, matches, open_personal, search_key
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import PV_TERMS, Device
from tests.webui.webui_kit import PROGRAMME, Browser, UiWorld

SATO = ("佐藤 花子、中央町1-2-3", "090-1234-5678")
SUZUKI = ("Suzuki Ichiro, 3-4 Minami", "03 5555 0101")
TANAKA = ("ﾀﾅｶ ﾀﾛｳ 北町５丁目", None)


@pytest.mark.parametrize(("query", "who"), [
    ("佐藤", SATO), ("０９０－１２３４－５６７８", SATO), ("09012345678", SATO),
    ("中央町１‐２", SATO), ("suzuki", SUZUKI), ("ＳＵＺＵＫＩ", SUZUKI), ("0355550101", SUZUKI),
    ("タナカ", TANAKA), ("北町5", TANAKA),
])
def test_a_query_matches_whatever_width_case_and_hyphens(query: str,
                                                         who: tuple[str, str | None]) -> None:
    people = [Person(f"hh-{i:020x}", ref, contact)
              for i, (ref, contact) in enumerate((SATO, SUZUKI, TANAKA))]
    assert [p.reference for p in people if matches(p, query)] == [who[0]]


def test_an_empty_query_matches_nobody() -> None:
    assert search_key(" －　") == ""
    assert not matches(Person("hh-" + "0" * 20, "佐藤", "090"), "  ")


def _enrol(world: UiWorld, reference: str, contact: str | None) -> str:
    d = Device()
    extra = ["--contact", contact] if contact else []
    out = world.cli("enrol", "--public-key", b64encode(public_key_raw(d.key)),
                    "--household", reference, "--programme", PROGRAMME,
                    "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS, *extra)
    return str(out["household"])


def _found(html: str) -> list[str]:
    table = html.split('id="search-results"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'href="/households/(hh-[0-9a-f]{20})"', table)


def test_the_operator_finds_a_household_by_name_or_phone_and_sees_its_balance(
        world: UiWorld, browser: Browser) -> None:
    sato, suzuki, tanaka = (_enrol(world, *who) for who in (SATO, SUZUKI, TANAKA))
    browser.login()
    page = browser.get("/households").text
    assert 'id="household-search"' in page and 'id="search-results"' not in page
    r = browser.get("/households", params={"q": "佐藤"})
    assert r.status_code == 200 and _found(r.text) == [sato]
    assert "佐藤 花子" in r.text and "090-1234-5678" in r.text
    assert _found(browser.get("/households", params={"q": "０９０１２３４５６７８"}).text) == [sato]
    assert _found(browser.get("/households", params={"q": "SUZUKI"}).text) == [suzuki]
    assert _found(browser.get("/households", params={"q": "ﾀﾅｶ"}).text) == [tanaka]
    none = browser.get("/households", params={"q": "Yamada"}).text
    assert _found(none) == [] and 'id="search-none"' in none
    # the result leads to the household's page (its balance)
    assert browser.get(f"/households/{sato}").status_code == 200


def test_a_forgotten_household_cannot_be_found(world: UiWorld, browser: Browser) -> None:
    sato = _enrol(world, *SATO)
    browser.login()
    assert _found(browser.get("/households", params={"q": "090-1234-5678"}).text) == [sato]
    world.cli("forget", sato)
    for q in ("佐藤", "090-1234-5678", "中央町"):
        assert _found(browser.get("/households", params={"q": q}).text) == []
    with open_personal(world.state) as people:
        assert people.search("佐藤") == [] and people.get(sato) is None
    # still listed under its pseudonym, with its points: only the name is gone
    assert sato in browser.get("/households").text


def test_each_search_is_audited_without_the_words_searched(world: UiWorld,
                                                          browser: Browser) -> None:
    _enrol(world, *SATO)
    browser.login()
    browser.get("/households", params={"q": "佐藤"})
    browser.get("/households", params={"q": "Yamada"})
    browser.get("/households")  # listing only: no search, nothing personal shown
    searches = [r for r in read_audit(world.cfg) if r["action"] == "household-search"]
    assert [(r["actor"], r["via"], r["target"], r["outcome"]) for r in searches] == [
        ("alice", "ui", "1 shown", "ok"), ("alice", "ui", "0 shown", "ok")]
    trail = (world.state / AUDIT_FILE).read_text("utf-8")
    assert "佐藤" not in trail and "Yamada" not in trail and "1234-5678" not in trail
    assert all(json.loads(line) for line in trail.splitlines())


def test_the_search_form_speaks_english_too(world: UiWorld, browser: Browser) -> None:
    browser.login()
    browser.client.cookies.set("eco_lang", "en")
    page = browser.get("/households", params={"q": "x"}).text
    assert "Find by name, address or phone" in page and "No household matches" in page
