"""The web UI's pure parts: password hashing, login codes, CSRF tokens, the throttle, charts,
QR codes, the string catalogue, and what the fleet page computes."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from aggregator.accounting import scan
from aggregator.errors import Rejected
from aggregator.programme import load_programme
from aggregator.webui import views
from aggregator.webui.auth import (
    CROCKFORD,
    ResidentCodes,
    UserStore,
    code_digest,
    csrf_ok,
    csrf_token,
    hash_password,
    new_code,
    normalise_code,
    verify_password,
)
from aggregator.webui.charts import Series, bar_chart, nice_ticks, share_bar
from aggregator.webui.i18n import (
    CATALOGUE,
    LANGUAGES,
    ZERO_CODES,
    describe,
    message_key,
    pick_language,
    translator,
)
from aggregator.webui.qr import qr_matrix, qr_svg
from aggregator.webui.templating import TEMPLATES
from aggregator.webui.throttle import LoginThrottle, client_address
from eco_protocol.creditability import RULE_TEXT, CreditRules, Rule
from eco_protocol.methodology import HouseholdTerms, zero_reason
from eco_protocol.records import Quantity
from tests.webui.webui_kit import UiWorld


def test_scrypt_hashes_verify_and_reject() -> None:
    h = hash_password("correct horse", b"\x01" * 16, log_n=10)
    assert h.startswith("scrypt$10$8$1$") and h == hash_password("correct horse", b"\x01" * 16,
                                                                  log_n=10)
    assert verify_password("correct horse", h)
    assert not verify_password("correct horsE", h)
    for bad in ("", "plain", "scrypt$10$8$1$AAAA", "scrypt$99$8$1$AAAA$AAAA",
                "scrypt$x$8$1$AAAA$AAAA", "bcrypt$10$8$1$AAAA$AAAA", h.replace("$8$", "$0$")):
        assert not verify_password("correct horse", bad)
    assert hash_password("same") != hash_password("same")  # a random salt each time


def test_user_store_rules(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "ui" / "users.json")
    with pytest.raises(Rejected, match="at least 10"):
        users.add("alice", "short")
    with pytest.raises(Rejected, match="user name"):
        users.add("Alice Smith", "long enough password")
    u = users.add("alice", "long enough password")
    assert users.check("alice", "long enough password") == u
    assert users.check("alice", "wrong password!!") is None
    assert users.check("nobody", "long enough password") is None
    assert (tmp_path / "ui").stat().st_mode & 0o777 == 0o700
    assert users.remove("alice") and not users.remove("alice")


def test_login_codes() -> None:
    code = new_code()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    assert all(c in CROCKFORD for c in code.replace("-", ""))
    typed = code.lower().replace("-", " ")
    assert normalise_code(typed) == code.replace("-", "")
    assert normalise_code("OIL0-0000-0000-0000") == "0110000000000000"
    assert code_digest("OIL0-0000-0000-0000") == code_digest("0110 0000 0000 0000")
    for bad in ("", "ABCD", "UUUU-0000-0000-0000", "0000-0000-0000-00000"):
        assert normalise_code(bad) is None and code_digest(bad) is None


def test_resident_codes_store_hashes_and_replace(tmp_path: Path) -> None:
    codes = ResidentCodes(tmp_path / "residents.json")
    first = codes.issue("hh-aaaaaaaaaaaaaaaaaaaa")
    other = codes.issue("hh-bbbbbbbbbbbbbbbbbbbb")
    found = codes.lookup(first)
    assert found is not None and found[0] == "hh-aaaaaaaaaaaaaaaaaaaa"
    text = (tmp_path / "residents.json").read_text()
    assert first not in text and first.replace("-", "") not in text
    second = codes.issue("hh-aaaaaaaaaaaaaaaaaaaa")
    assert codes.lookup(first) is None and codes.current(found[1]) is None
    assert codes.lookup(second) is not None and codes.lookup(other) is not None


def test_csrf_tokens_and_throttle() -> None:
    session: dict[str, object] = {}
    token = csrf_token(session)
    assert csrf_token(session) == token and len(token) >= 43
    assert csrf_ok(session, token)
    assert not csrf_ok(session, token[:-1] + "x") and not csrf_ok(session, None)
    assert not csrf_ok({}, token) and not csrf_ok({"csrf": "short"}, "short")


def test_login_throttle_per_account_and_address_with_backoff() -> None:
    t = LoginThrottle(free=2, free_address=2, base_s=2.0, max_s=16.0, window_s=100.0)
    assert t.wait("alice", "10.0.0.1", 0) == 0
    assert t.failed("alice", "10.0.0.1", 0) == 1
    assert t.wait("alice", "10.0.0.1", 0) == 0
    assert t.failed("Alice", "10.0.0.1", 1) == 2  # account names fold case
    assert t.wait("alice", "10.0.0.1", 1) == 2.0  # two free mistakes, then 2 s…
    assert t.wait("alice", "10.0.0.1", 3) == 0
    t.failed("alice", "10.0.0.1", 1)
    assert t.wait("alice", "10.0.0.1", 1) == 4.0  # …doubling
    assert t.wait("alice", "10.0.0.9", 1) == 4.0  # …for the account from anywhere
    assert t.wait("bob", "10.0.0.1", 1) == 4.0  # …and for the address, whatever the account
    assert t.wait("bob", "10.0.0.2", 1) == 0
    for k in range(6):
        t.failed("alice", "10.0.0.9", 10 + k)
    assert t.wait("alice", "10.0.0.3", 15) == 16.0  # capped
    t.succeeded("bob", "10.0.0.1")  # another account's success forgives nothing of alice's
    assert t.wait("alice", "10.0.0.3", 15) == 16.0
    t.succeeded("alice", "10.0.0.3")
    assert t.wait("alice", "10.0.0.3", 15) == 0  # her own success does
    assert t.wait("bob", "10.0.0.1", 5.5) == 0  # the address's wait is over…
    assert t.wait("bob", "10.0.0.9", 15) > 0  # …but not 10.0.0.9's, which kept guessing
    assert t.wait("bob", "10.0.0.9", 15 + 100) == 0  # forgotten after the window
    assert t.failed(None, "10.0.0.5", 0) == 1  # resident codes: the address alone
    # an address has more free failures than an account (an office behind one router)
    t = LoginThrottle(free=2, free_address=4)
    for name in ("a", "b", "c"):
        t.failed(name, "10.0.0.1", 0)
    assert t.wait("d", "10.0.0.1", 0) == 0  # three accounts tried once each: no wait yet
    t.failed("d", "10.0.0.1", 0)
    assert t.wait("e", "10.0.0.1", 0) == 2.0  # the fourth failure from it: the address waits


def test_client_address_trusts_only_configured_proxies() -> None:
    h = {"x-forwarded-for": "198.51.100.1, 203.0.113.7"}
    assert client_address("192.0.2.1", h, []) == "192.0.2.1"  # not a proxy: header ignored
    assert client_address("127.0.0.1", h, ["127.0.0.1"]) == "203.0.113.7"  # right-most
    assert client_address("127.0.0.1", {"x-forwarded-for": "203.0.113.7, 10.0.0.2"},
                          ["127.0.0.1", "10.0.0.2"]) == "203.0.113.7"  # a chain of proxies
    assert client_address("127.0.0.1", {}, ["127.0.0.1"]) == "127.0.0.1"
    assert client_address("127.0.0.1", {"x-forwarded-for": "not-an-ip"},
                          ["127.0.0.1"]) == "127.0.0.1"
    assert client_address(None, h, []) == "?"


def test_charts_are_valid_svg_and_escape_labels() -> None:
    assert nice_ticks(0) == [0.0, 1.0] and nice_ticks(87) == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert nice_ticks(0.3)[-1] >= 0.3
    svg = bar_chart(["11-22", "<b>"], [Series("PV & <x>", [1.5, 2.0], "#e8a200"),
                                       Series("EV", [0.5, 0.0], "#8e44ad")],
                    title='Daily "energy"', unit="kWh")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and root.attrib["role"] == "img"
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "PV &amp; &lt;x&gt;" in svg
    assert len(root.findall(".//{http://www.w3.org/2000/svg}rect")) >= 3
    ET.fromstring(bar_chart([], [], title="empty", unit="kWh"))
    ET.fromstring(bar_chart(["a", "b"], [Series("s", [1, 2], "#000")], title="t", unit="u",
                            stacked=False))
    bar = share_bar([("online", 3, "#0a0"), ("offline", 1, "#a00"), ("never", 0, "#999")],
                    title="health")
    ET.fromstring(bar)
    assert "online (3)" in bar and "never (0)" in bar
    ET.fromstring(share_bar([("x", 0, "#000")], title="none"))


def test_qr_code_svg() -> None:
    url = "http://127.0.0.1:8081/shop/redeem?t=eyJhbGciOi.abc"
    m = qr_matrix(url)
    assert len(m) == len(m[0]) >= 25 + 8  # version ≥ 2 plus the quiet zone
    assert not any(m[0]) and all(m[4][4:11])  # quiet zone, then the finder pattern
    root = ET.fromstring(qr_svg(url, label="<QR>"))
    assert root.attrib["viewBox"] == f"0 0 {len(m)} {len(m)}"


def test_the_catalogue_has_every_key_the_templates_use_in_both_languages() -> None:
    used = set()
    for f in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""t\(["']([a-z0-9_.]+)["']\)""", f.read_text()))
    for prefix, values in (("state.", [s.value for s in views.DeviceState]),
                           ("q.", ["pv_generation", "grid_export", "self_consumed",
                                   "ev_charge", "grid_import"]),
                           ("fit.", ["none", "fit", "post_fit", "unset"]),
                           ("role.", ["operator", "shop", "resident"]),
                           ("rule.", [r.value for r in Rule]),
                           ("ruletext.", [r.value for r in Rule]),
                           ("method.", ["pv", "ev", "all"]),
                           ("zero.", list(ZERO_CODES)),
                           ("flag.", ["battery", "battery_daily"])):
        used |= {prefix + v for v in values}
    for f in (Path(views.__file__).parent).glob("*.py"):
        used |= set(re.findall(r"""\bt\(["']([a-z0-9_]+\.[a-z0-9_.]+)["']\)""",
                               f.read_text()))
    missing = sorted(used - set(CATALOGUE))
    assert not missing, missing
    for key, texts in CATALOGUE.items():
        assert len(texts) == len(LANGUAGES) and all(texts), key
    assert translator("ja")("nav.fleet") == "機器の状況"
    assert translator("en")("nav.fleet") == "Fleet"
    assert translator("xx")("nav.fleet") == "機器の状況"
    assert translator("en")("no.such.key") == "no.such.key"
    assert pick_language(None) == "ja" and pick_language("en") == "en"
    assert pick_language("de") == "ja"


def test_fleet_states_follow_the_last_reading(world: UiWorld) -> None:
    a = world.enrol_pv("A, 1")
    b = world.enrol_pv("B, 2")
    c = world.enrol_pv("C, 3")
    world.send("A, 1", 4)  # T0 .. T0 + 2 h
    world.send("B, 2", 12)  # T0 .. T0 + 6 h
    world.cli("revoke", c.device_id, "--reason", "meter replaced")
    t0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    with world.ledger() as ledger:
        view = scan(ledger.store)
        f = views.fleet(view, ledger.store.devices(), ledger.store.rejections(),
                        t0 + timedelta(hours=5), timedelta(hours=2))
    states = {d.device_id: d.state for d in f.devices}
    assert states == {a.device_id: views.DeviceState.OFFLINE,
                      b.device_id: views.DeviceState.ONLINE,
                      c.device_id: views.DeviceState.REVOKED}
    assert f.counts == {"online": 1, "offline": 1, "never": 0, "revoked": 1}
    assert f.daily_readings == [("2026-11-22", 32)]  # (4 + 12) intervals × (PV + E3)
    assert {d.readings for d in f.devices} == {8, 24, 0}
    assert not f.flagged  # every reading creditable, every household's export metered


def test_every_rule_and_zero_reason_reads_in_both_languages() -> None:
    ja, en = translator("ja"), translator("en")
    for rule in Rule:
        assert en(f"ruletext.{rule.value}") == RULE_TEXT[rule]  # the protocol's own words
        assert ja(f"ruletext.{rule.value}") != RULE_TEXT[rule]  # …translated
        assert message_key(f"{rule.value}: some detail") == f"rule.{rule.value}"
    assert ja("rule.overlap") == "重複" and ja("rule.implausible") == "定格出力超過"
    unmetered = zero_reason(HouseholdTerms(frozenset({Quantity.PV_GENERATION}),
                                           zero_export=True))
    assert unmetered is not None and unmetered.startswith("export_unmetered:")
    assert "売電量の計量なし" in describe(ja, unmetered)
    battery = HouseholdTerms(frozenset({Quantity.PV_GENERATION, Quantity.GRID_EXPORT}),
                             battery=True)
    excluded = battery.flags(CreditRules(battery="exclude"))
    assert [message_key(f) for f in excluded] == ["zero.battery_excluded"]
    assert [describe(en, f) for f in battery.flags()] == [en("flag.battery_daily")]
    assert describe(ja, "meter replaced by the installer") == "meter replaced by the installer"


def test_household_figures_follow_the_programme_rules(world: UiWorld) -> None:
    """The per-reading and per-day CO2 figures apply the programme's project emissions: the
    same 48 kWh self-consumed at 434 g/kWh is 20 832 g with 0 ppm and 20 707.008 g with the
    default 6000 ppm (× 0.994)."""
    world.enrol_pv("A, 1")
    world.send("A, 1", 24, energy=2000)
    programme = load_programme(world.state / "programme.toml")
    hh = world.pseudonym("A, 1")
    with world.ledger() as ledger:
        view = scan(ledger.store, rules=programme.rules)
    for ppm, grams in ((6000, Fraction(20_707_008, 1000)), (0, Fraction(20_832))):
        p = dataclasses.replace(programme, rules=CreditRules(project_emission_ppm=ppm))
        page = views.household_page(view, p, hh, [])
        assert sum(s.reduction_g for s in page.slots) == grams
        assert sum(d.pv_g for d in page.days) == pytest.approx(float(grams))
        assert page.excluded == () and page.flags == []


@pytest.mark.production_kdf
def test_passwords_are_hashed_at_the_production_cost_unless_a_test_lowers_it() -> None:
    h = hash_password("correct horse")
    assert h.startswith("scrypt$15$8$1$")  # N = 2^15: auth.SCRYPT_LOG_N
    assert verify_password("correct horse", h) and not verify_password("correct horsE", h)
