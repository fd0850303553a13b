"""Issue 17: the operator's household page names the household ("佐藤 花子, 中央町1-2-3") beside
its pseudonym, from the personal-data store — audited like a search, without the name in the
trail; after the household's personal data is forgotten the page says there is none. The
resident's page, their statement credential and the shop's page never show it."""

from __future__ import annotations

import json
import re

from aggregator.operator import AUDIT_FILE, read_audit
from aggregator.personal import Person, open_personal
from tests.webui.webui_kit import SHOP, Browser, UiWorld, issue_code

SATO = "佐藤 花子、中央町1-2-3"
PHONE = "090-1234-5678"


def _views(world: UiWorld) -> list[tuple[str, str | None, str | None, str]]:
    return [(r["actor"], r.get("household"), r.get("target"), r["outcome"])
            for r in read_audit(world.cfg) if r["action"] == "household-view"]


def test_the_operator_sees_the_name_beside_the_pseudonym_and_the_view_is_audited(
        world: UiWorld, browser: Browser) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 4)
    hh = world.pseudonym(SATO)
    with open_personal(world.state) as people:  # the contact the enrol form takes
        people.put(Person(hh, SATO, PHONE))
    browser.login()
    page = browser.get(f"/households/{hh}").text
    person = page.split('id="hh-person"', 1)[1].split("</p>", 1)[0]
    assert SATO in person and PHONE in person, person
    assert page.index(hh) < page.index('id="hh-person"')  # beside the pseudonym, under it
    assert _views(world) == [("alice", hh, "name shown", "ok")]
    trail = (world.state / AUDIT_FILE).read_text("utf-8")
    assert "佐藤" not in trail and "1234-5678" not in trail
    assert all(json.loads(line) for line in trail.splitlines())
    browser.client.cookies.set("eco_lang", "en")
    assert "Name, address (reference at enrolment)" in browser.get(f"/households/{hh}").text

    world.cli("forget", hh)
    page = browser.get(f"/households/{hh}").text
    assert "佐藤" not in page and 'id="hh-person"' in page
    assert "No name or address on record" in page
    assert _views(world)[-1] == ("alice", hh, "no personal data", "ok")


def test_residents_and_shops_never_see_the_name(world: UiWorld, browser: Browser) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 24, energy=2000)
    hh = world.pseudonym(SATO)
    page = browser.resident_login(issue_code(world, SATO)).text
    assert 'id="balance"' in page
    for shown in (page, browser.get("/resident/statement").text,
                  browser.get("/resident/statement.json").text):
        assert "佐藤" not in shown and "中央町" not in shown
    link = re.search(r'href="http://testserver(/shop/redeem\?t=[^"]+)"', page)
    assert link is not None
    browser.post_form("/resident", "/logout", {})
    browser.login(SHOP)
    shop = browser.get(link.group(1))
    assert shop.status_code == 200 and "佐藤" not in shop.text and "中央町" not in shop.text
    assert browser.get(f"/households/{hh}").status_code in (302, 303, 403)  # operators only
    assert _views(world) == []  # nobody looked at the personal data
