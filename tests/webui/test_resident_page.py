"""The resident's page and the shop's page as a resident and a counter clerk read them (issue 17):
what comes first on the resident's page, no operator vocabulary and no untranslated key on the
Japanese page, reward names from the catalogue in the reader's language, and a household with
too few points that sees what each reward still needs and cannot redeem it anywhere."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aggregator.errors import ConfigError
from aggregator.programme import Reward, load_programme
from aggregator.webui.app import UiConfig, create_app
from aggregator.webui.charts import Series, phone_chart
from aggregator.webui.i18n import CATALOGUE
from aggregator.webui.resident_routes import next_reward, recent_days, reward_rows
from aggregator.webui.views import Day
from eco_protocol.canonical import parse_json
from tests.webui.resident_kit import spend, sunny_days
from tests.webui.webui_kit import SHOP, Browser, UiWorld, issue_code

SATO = "Sato, 1-2 Chuo"
# words of the operator's console a resident must never meet on the Japanese page
OPERATOR_WORDS = ("運用画面", "台帳", "ledger", "Ledger", "entry", "Entry", "seq", "flag",
                  "eco-verify", "pseudonym", "before_joining", "export_unmetered", "仮名ID")


def _visible_text(page: str) -> str:
    """The page's text as a reader sees it: no tags, no SVG titles, no attribute values."""
    body = page.split("<body>", 1)[-1]
    body = re.sub(r"<title>.*?</title>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _resident_page(world: UiWorld, reference: str, lang: str = "ja") -> str:
    with TestClient(create_app(UiConfig(world.cfg)), cookies={"eco_lang": lang}) as c:
        r = Browser(c).resident_login(issue_code(world, reference))
        assert r.status_code == 200 and r.url.path == "/resident", r.text[:300]
        return str(r.text)


def test_the_japanese_resident_page_puts_first_things_first(world: UiWorld) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 4, start=-96)  # two days before joining: logged, earns nothing
    sunny_days(world, SATO, days=10)
    spend(world, SATO, "pool-ticket")
    page = _resident_page(world, SATO)

    ids = ["balance", "next-reward", "daily-chart", "qr", "rewards", "details", "redemptions",
           "days-details", "readings-details"]
    at = [page.index(f'id="{i}"') for i in ids]
    assert at == sorted(at), dict(zip(ids, at, strict=True))
    # the half-hour table is the last thing, folded, with its units in the header
    readings = page[page.index('id="readings-details"'):]
    assert readings.startswith('id="readings-details">') and "<details" in page[at[-1] - 20:]
    assert all(u in readings for u in ("(Wh)", "(g)", "(pt)"))
    assert page.count("<details") == 2 and " open" not in readings.split("</details>")[0]

    text = _visible_text(page)
    for word in OPERATOR_WORDS:
        assert word not in text, word
    untranslated = [k for k in CATALOGUE if "." in k and k in text]
    assert not untranslated, untranslated
    assert "エコポイント わが家のページ" in text
    # the QR code's caption once; the redemption history without the ledger index column
    assert text.count("協力店の窓口でこのQRコードを見せてください") == 1
    table = page[page.index('id="redemptions"'):].split("</table>", 1)[0]
    assert table.count("<th") == 3 and "市民プール 1日券" in table
    # reward names from the catalogue in Japanese, never the English code strings
    assert "Municipal pool" not in text and "市民プール 1日券" in text
    # why some readings earned nothing, in a sentence
    assert "計測時間帯が参加世帯の加入より前に始まっています" in text
    # the daily chart: one bar per JST day, the dates as M/D
    chart = page[page.index('id="daily-chart"'):].split("</svg>", 1)[0]
    assert chart.count("<rect") == 11 and ">12/2<" in chart  # 11/22 09:00 JST to 12/2


def test_the_english_page_uses_the_english_names(world: UiWorld) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 24, energy=2000)
    text = _visible_text(_resident_page(world, SATO, "en"))
    assert "Municipal pool, one day ticket" in text and "市民プール" not in text
    assert "Eco-points: my household" in text and "console" not in text


def test_too_few_points_show_what_each_reward_needs_and_cannot_be_redeemed(
        world: UiWorld, browser: Browser) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 2, energy=500)  # 1 kWh self-consumed: 0.434 kg, 2 points
    household = world.pseudonym(SATO)
    page = browser.resident_login(issue_code(world, SATO)).text
    assert 'id="balance">2 ' in page
    rewards = page[page.index('id="rewards"'):].split("</ul>", 1)[0]
    assert "✓" not in rewards and rewards.count('class="no"') == 3
    for name, cost in (("市民プール 1日券", 20), ("秋まつりへのご招待", 50),
                       ("地元のお米 2kg", 100)):
        assert re.search(rf"{name}</span> <span class=\"cost\">{cost} pt</span>\s*"
                         rf"<span class=\"state\">あと {cost - 2} pt<", rewards), name
    nxt = _visible_text(page[page.index('id="next-reward"'):].split("</p>", 1)[0])
    assert "「市民プール 1日券」（20 pt）まで あと 18 pt" in nxt

    link = re.search(r'href="http://testserver(/shop/redeem\?t=[^"]+)"', page)
    assert link is not None
    browser.post_form("/resident", "/logout", {})
    browser.login(SHOP)
    shop = browser.get(link.group(1)).text
    options = re.findall(r"<option [^>]*>", shop)
    assert len(options) == 3 and all("disabled" in o for o in options)
    assert re.search(r'<button type="submit" id="redeem-submit" disabled', shop)
    reason = _visible_text(shop[shop.index('id="redeem-none"'):].split("</p>", 1)[0])
    assert "残高 2 pt では、交換できる特典がまだありません" in reason and "あと 18 pt" in reason
    # a form sent anyway is refused in the catalogue's words, and nothing is appended
    token = link.group(1).split("t=", 1)[1]
    r = browser.post_form(link.group(1), "/shop/redeem", {"t": token, "reward": "pool-ticket"})
    error = _visible_text(r.text[r.text.index('id="redeem-error"'):].split("</div>", 1)[0])
    assert r.status_code == 400 and "残高が足りません" in error and "あと 18 pt" in error
    assert "has 2 points" not in r.text and household not in error
    r = browser.post_form(link.group(1), "/shop/redeem", {"t": token, "reward": "yacht"})
    assert r.status_code == 400 and "その特典はカタログにありません" in r.text
    with world.ledger() as ledger:
        types = [parse_json(e)["type"] for _, e in ledger.store.entries(0, ledger.size())]
    assert "eco.redeem/v1" not in types


def test_a_shop_redeems_and_names_the_reward_in_japanese(world: UiWorld,
                                                          browser: Browser) -> None:
    world.enrol_pv(SATO)
    world.send(SATO, 24, energy=2000)  # 103 points
    page = browser.resident_login(issue_code(world, SATO)).text
    link = re.search(r'href="http://testserver(/shop/redeem\?t=[^"]+)"', page)
    assert link is not None
    browser.post_form("/resident", "/logout", {})
    browser.login(SHOP)
    token = link.group(1).split("t=", 1)[1]
    r = browser.post_form(link.group(1), "/shop/redeem",
                          {"t": token, "reward": "local-rice-2kg"})
    done = "「地元のお米 2kg」と交換しました。残高は 3 ポイントです。"
    assert r.status_code == 200 and done in r.text
    r = browser.post_form(link.group(1), "/shop/redeem", {"t": token, "reward": "pool-ticket"})
    assert r.status_code == 400 and "残高は 3 pt です（あと 17 pt）" in r.text


# --- the pure parts ---------------------------------------------------------------------------


def test_reward_rows_and_the_next_reward() -> None:
    cat = [Reward("rice", "Rice", 100, "お米"), Reward("pool", "Pool", 20), Reward("fest",
                                                                               "Fest", 50)]
    rows = reward_rows(cat, 30, "ja")
    assert [(r.id, r.name, r.needs) for r in rows] == [("pool", "Pool", 0), ("fest", "Fest", 20),
                                                       ("rice", "お米", 70)]
    assert reward_rows(cat, 30, "en")[2].name == "Rice"
    nxt = next_reward(rows)
    assert nxt is not None and nxt.id == "fest"
    assert next_reward(reward_rows(cat, 100, "ja")) is None
    assert next_reward([]) is None


def test_recent_days_fill_the_calendar() -> None:
    days = [Day("2026-11-28", {}, 500), Day("2026-11-30", {}, 700)]
    assert [(d.isoformat(), g) for d, g in recent_days(days)] == [
        ("2026-11-28", 500), ("2026-11-29", 0), ("2026-11-30", 700)]
    many = [Day(f"2026-11-{d:02d}", {}, d) for d in range(1, 31)]
    recent = recent_days(many, 14)
    assert len(recent) == 14 and recent[0][0].isoformat() == "2026-11-17"
    assert recent_days([]) == []


def test_the_phone_chart_is_valid_svg_with_readable_labels() -> None:
    labels = [f"11/{d}" for d in range(17, 31)]
    svg = phone_chart(labels, [Series("CO2 <&>", [float(i % 5) for i in range(14)], "#2e7d4f")],
                      title="t <x>", unit="kg-CO2")
    root = ET.fromstring(svg)
    texts = root.findall(".//{http://www.w3.org/2000/svg}text")
    assert texts and all(float(t.attrib["font-size"]) >= 14 for t in texts)
    shown = [t.text for t in texts if t.text and "/" in t.text]
    assert shown[-1] == "11/30" and 4 <= len(shown) < 14  # as many as fit, the last day always
    ET.fromstring(phone_chart([], [], title="empty", unit="kWh"))
    two = phone_chart(["a", "b"], [Series("x", [1, 2], "#000"), Series("y", [2, 1], "#111")],
                      title="t", unit="u", stacked=False)
    assert ">x<" in two and ">y<" in two  # a legend for several series


def test_reward_names_in_japanese_are_optional_config(tmp_path: Path, world: UiWorld) -> None:
    text = (world.state / "programme.toml").read_text()
    programme = load_programme(world.state / "programme.toml")
    pool = programme.reward("pool-ticket")
    assert pool.label("ja") == "市民プール 1日券" and pool.label("en") == pool.name
    plain = tmp_path / "plain.toml"
    plain.write_text(re.sub(r'(?m)^name_ja = .*\n', "", text))
    assert load_programme(plain).reward("pool-ticket").label("ja") == pool.name
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('name_ja = "市民プール 1日券"', "name_ja = 7"))
    with pytest.raises(ConfigError, match="name_ja"):
        load_programme(bad)
