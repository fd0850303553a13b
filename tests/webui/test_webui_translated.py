"""Issue 17.1: every message a person reads in the web UI and the printed report exists in
Japanese and English, and a Japanese page shows no catalogue key and no English code string.

Two halves. The walk: a world with readings, a household whose PV is not creditable and whose
export readings are from an unknown meter, a quarantined device, a sealed batch with its report
and a redemption; every GET page (and the error answers of the forms) as operator, shop and
resident, in Japanese, checked for untranslated keys (text shaped like a catalogue key) and for
the English the code writes (rule codes, flag texts, the CLI's validation sentences, UTC times)
and for programme.toml's English texts (each has a ``*_ja`` form); the checks are
:mod:`untranslated`'s, shared with the browser walks.
The static half: every key the templates and routes use exists in both languages, with the
same placeholders, and the enrol form offers the agent's own meter protocols."""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from agent.meters.meter_config import MeterProtocol
from aggregator.intake import Intake
from aggregator.programme import load_programme
from aggregator.webui.app import UiConfig, create_app
from aggregator.webui.i18n import CATALOGUE, LANGUAGES, broker_reload_text, translator
from aggregator.webui.operator_routes import METER_FIELDS, PROTOCOLS, TERMS_FIELDS
from eco_protocol.canonical import canonical_bytes
from eco_protocol.creditability import Rule
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from eco_protocol.methodology import TERMS_PROBLEM_TEXT
from eco_protocol.records import Quantity
from tests.aggregator.ledger_kit import Device
from tests.webui.untranslated_kit import problems, programme_english, visible
from tests.webui.webui_kit import OPERATOR, PROGRAMME, SHOP, Browser, UiWorld, issue_code

SATO, SUZUKI, TANAKA, ITO = "Sato, 1-2 Chuo", "Suzuki, 3-4 Minami", "Tanaka, 5 Kita", "Ito, 6"
WEBUI = Path(__file__).resolve().parents[2] / "aggregator" / "webui"
WALKED: set[str] = set()
_ACCOUNT = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"  # a buyer's (W3C example)


def _build(world: UiWorld) -> dict[str, str]:
    """Readings of two households, a household whose PV is not creditable (no export meter;
    its e3 readings come from an unknown meter), a quarantined device, a sealed batch."""
    for i, ref in enumerate((SATO, SUZUKI)):
        world.enrol_pv(ref)
        world.send(ref, 48, energy=800 + 400 * i)
    world.enrol_pv(TANAKA, export_meter=False)
    world.send(TANAKA, 4)
    d = world.enrol_pv(ITO)
    world.send(ITO, 2)
    clone = copy.deepcopy(d)  # the same key signs a second history: quarantined
    clone.seq, clone.prev, clone.registers = 0, "0" * 64, {}
    with world.ledger() as ledger:
        (out,) = Intake(ledger).process(
            [(clone.topic, canonical_bytes([clone.reading(energy=3)]))], "2026-12-01T00:00:00Z")
        assert out.rejected == 1
        ledger.checkpoint_now()
    batch = world.cli("batch", "create", "--period", "2026-11-22..2026-11-24")
    return {"batch": batch["batch_id"], "device": d.device_id}


def _walk(client: TestClient, paths: list[str], data: list[str]) -> dict[str, list[str]]:
    bad = {}
    for path in paths:
        r = client.get(path)
        assert r.status_code in (200, 404), (path, r.status_code)
        WALKED.update({path.split("?")[0], r.request.url.path})
        found = problems(visible(r.text), data)
        if found:
            bad[path] = found
    return bad


def test_no_japanese_page_shows_a_key_or_an_english_code(world: UiWorld) -> None:
    made = _build(world)
    hh = {ref: world.pseudonym(ref) for ref in (SATO, SUZUKI, TANAKA, ITO)}
    code = issue_code(world, SATO)
    data = programme_english(world.state / "programme.toml")
    bad: dict[str, list[str]] = {}
    with TestClient(create_app(UiConfig(world.cfg)), cookies={"eco_lang": "ja"}) as c:
        b = Browser(c)
        bad |= _walk(c, ["/login", "/resident/login", "/nowhere"], data)
        b.login(OPERATOR)
        # the forms' refusals: every enrol field wrong at once, an empty reason, a period that
        # overlaps the sealed batch (typed in JST), a report generated, a redemption
        key = b64encode(public_key_raw(Device().key))
        for form in ({"public_key": "AAAA", "household": "", "programme": "",
                      "meter_id_0": "x" * 40, "meter_quantity_0": "pv_generation",
                      "meter_protocol_0": "echonet-lite", "meter_rated_w_0": "0",
                      "meter_id_1": "e3", "meter_quantity_1": "grid_export",
                      "meter_protocol_1": "echonet-broute", "meter_rated_w_1": "many",
                      "meter_id_2": "ev", "meter_quantity_2": "ev_charge",
                      "meter_protocol_2": "openevse", "meter_rated_w_2": "7000",
                      "installed": "2022/05/01", "ev_wh_per_km": "abc"},
                     {"public_key": key, "household": SATO, "programme": PROGRAMME,
                      "meter_id_0": "pv1", "meter_quantity_0": "pv_generation",
                      "meter_protocol_0": "sunspec-modbus", "meter_rated_w_0": "4500",
                      "meter_id_1": "ev", "meter_quantity_1": "ev_charge",
                      "meter_protocol_1": "openevse", "meter_rated_w_1": "7000"}):
            r = b.post_form("/enrol", "/enrol", form)
            assert r.status_code == 400 and 'id="enrol-errors"' in r.text
            errors = r.text.split('id="enrol-errors"', 1)[1].split("</div>", 1)[0]
            found = problems(visible(errors))
            assert not found, found
            assert errors.count("<li>") >= 3 and "「" in errors  # each names its field
        r = b.post_form(f"/households/{hh[SATO]}", f"/devices/{made['device']}/revoke",
                        {"reason": ""})
        assert "「失効の理由」が入力されていません" in r.text
        overlap = c.get("/batches?start=2026-11-23&end=2026-11-30")
        assert "2026-11-23〜2026-11-30" in overlap.text and "2026-11-22〜2026-11-24" in overlap.text
        r = b.post_form("/batches", "/batches/report", {"batch": made["batch"]})
        assert r.status_code == 200
        r = b.post_form(f"/households/{hh[SATO]}", f"/households/{hh[SATO]}/redeem",
                        {"reward": "pool-ticket"})
        assert "市民プール 1日券" in r.text
        bad |= {"POST": problems(visible(r.text), data)} if problems(visible(r.text), data) \
            else {}
        pages = ["/", "/fleet", "/security", "/households", "/households?q=Sato",
                 *(f"/households/{h}" for h in hh.values()), "/enrol",
                 f"/devices/{made['device']}/provisioning", "/ledger", "/ledger?index=3",
                 "/points", "/batches", "/batches?start=2026-11-24&end=2026-11-26",
                 "/batches?start=2026-11-23&end=2026-11-30",
                 "/batches?start=2026-11-26&end=2026-11-24",
                 f"/batches/view?batch={made['batch']}", "/shop/redeem",
                 "/certificates", "/certificates?status=cancelled&start=2026-11-22",
                 "/certificates/bundle?ref=none", "/certificates/accounts", "/account",
                 f"/account?id={_ACCOUNT}", "/account/proof?index=0"]  # not a claim: 404
        bad |= _walk(c, pages, data)
    with TestClient(create_app(UiConfig(world.cfg)), cookies={"eco_lang": "ja"}) as c:
        b = Browser(c)
        resident = b.resident_login(code)
        assert resident.url.path == "/resident"
        bad |= _walk(c, ["/resident", "/resident/statement", "/resident/statement?history=1"],
                    data)
        statement = c.get("/resident/statement").text.split('id="statement-text">', 1)[1]
        token = re.search(r"/shop/redeem\?t=([^\"&<\s]+)", resident.text)
        assert token is not None
    with TestClient(create_app(UiConfig(world.cfg)), cookies={"eco_lang": "ja"}) as c:
        Browser(c).login(SHOP)
        bad |= _walk(c, ["/shop/redeem", f"/shop/redeem?t={token.group(1)}",
                        "/shop/redeem?t=expired", "/shop/check"], data)
        # the verdicts (here the town's read API is unreachable and nothing is cached yet)
        for text in (html.unescape(statement.split("<", 1)[0]), "ECO1:GARBLED"):
            r = Browser(c).post_form("/shop/check", "/shop/check", {"statement": text})
            assert r.status_code == 422 and 'id="check-verdict"' in r.text
            bad |= {"POST /shop/check": found} if (found := problems(visible(r.text), data)) \
                else {}
    assert not bad, bad
    # every page of the UI was walked (a new page joins the walk, or this fails)
    routes = {r.path for r in create_app(UiConfig(world.cfg)).routes
              if isinstance(r, Route) and "GET" in (r.methods or ())}
    skipped = {"/lang/{lang}", "/batches/download", "/households/{household}",
               "/resident/statement.json",
               "/devices/{device_id}/provisioning",
               "/account/{account}"}  # a redirect, files; walked by example
    assert routes - skipped <= WALKED, routes - skipped - WALKED


def test_the_english_pages_name_the_rules_and_the_flags_in_english(world: UiWorld) -> None:
    """The reverse direction, spot-checked: the English reader gets the English sentences."""
    _build(world)
    with TestClient(create_app(UiConfig(world.cfg)), cookies={"eco_lang": "en"}) as c:
        Browser(c).login(OPERATOR)
        page = c.get(f"/households/{world.pseudonym(TANAKA)}").text
        assert "export not metered: PV earns nothing" in page and "unknown meter" in page
        assert "Municipal pool" in c.get("/points").text
        overlap = c.get("/batches?start=2026-11-23&end=2026-11-30").text
        assert "overlaps the sealed batch" in overlap and "2026-11-22 to 2026-11-24" in overlap


# --- the static half -------------------------------------------------------------------------

T_CALL = re.compile(r"""\bt\(\s*(["'])([\w.\-]+)\1\s*\)""")
T_PREFIX = re.compile(r"""\bt\(\s*f?(["'])([\w\-]+\.[\w.\-]*?)(?:\{|\1\s*~)""")


def _sources() -> list[Path]:
    """The routes and templates (not the catalogue itself, whose docstring shows a t() call)."""
    return sorted([*(p for p in WEBUI.glob("*.py") if p.name != "i18n.py"),
                   *(WEBUI / "templates").glob("*.html")])


def test_every_key_the_ui_uses_exists_in_both_languages() -> None:
    used = {m.group(2): p.name for p in _sources() for m in T_CALL.finditer(p.read_text())}
    assert len(used) > 200
    missing = {k: f for k, f in used.items() if k not in CATALOGUE}
    assert not missing, missing
    # keys built at run time: t("state." ~ s), t(f"enrol.err.{code}") — each prefix's values
    prefixes = {m.group(2) for p in _sources() for m in T_PREFIX.finditer(p.read_text())}
    assert {"state.", "q.", "fit.", "rule.", "ruletext.", "method.", "proto.", "role.",
            "enrol.err."} <= prefixes, prefixes
    expected = [*(f"q.{q.value}" for q in Quantity), *(f"rule.{r.value}" for r in Rule),
                *(f"ruletext.{r.value}" for r in Rule), *(f"proto.{p}" for p in PROTOCOLS),
                *(f"fit.{s}" for s in ("none", "fit", "post_fit", "unset")),
                *(f"state.{s}" for s in ("online", "offline", "never", "revoked")),
                *(f"role.{r}" for r in ("operator", "shop", "resident")),
                *(f"method.{m}" for m in ("pv", "ev", "all")),
                *(f"enrol.err.terms.{c}" for c in TERMS_PROBLEM_TEXT),
                *(f"enrol.err.{c}" for c in [*METER_FIELDS, "meter.format", "already_enrolled"]),
                *TERMS_FIELDS.values(), *METER_FIELDS.values()]
    assert not [k for k in expected if k not in CATALOGUE]


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_each_entry_is_written_in_both_languages(key: str) -> None:
    ja, en = CATALOGUE[key]
    assert ja.strip() and en.strip() and len(LANGUAGES) == 2
    assert set(re.findall(r"\{\w+\}", ja)) == set(re.findall(r"\{\w+\}", en)), (ja, en)
    if key not in ("pt",) and not key.startswith("proto."):
        assert ja != en or not re.search(r"[A-Za-z]{4}", en), "the Japanese is the English"


def test_the_enrol_form_offers_the_agents_meter_protocols() -> None:
    assert set(PROTOCOLS) == {p.value for p in MeterProtocol}


def test_the_programmes_rewards_have_japanese_names(world: UiWorld) -> None:
    rewards = load_programme(world.state / "programme.toml").rewards
    assert rewards and all(r.label("ja") != r.label("en") for r in rewards)


def test_the_programmes_texts_have_japanese_forms(world: UiWorld) -> None:
    """programme.toml's ``*_ja`` keys (the example's, as ``programme init`` writes it) give the
    Japanese of the programme's texts; a text without one stays as written, in any language."""
    path = world.state / "programme.toml"
    p = load_programme(path)
    for english in (p.name, p.operator, p.verification_body,
                    p.methodology.gasoline_source, *(f.source for f in
                                                     p.methodology.grid_factors)):
        assert p.text(english, "en") == english
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", p.text(english, "ja")), english
    path.write_text(path.read_text().replace('operator_ja = "デモ市 環境課"\n', ""))
    bare = load_programme(path)
    assert bare.text(bare.operator, "ja") == bare.operator == "Demo City, Environment Division"
    assert programme_english(path) and bare.operator in programme_english(path)


def test_the_brokers_reload_result_is_said_in_the_readers_language() -> None:
    ja, en = translator("ja"), translator("en")
    assert broker_reload_text(ja, "reloaded: SIGHUP sent to mosquitto pid 42") == \
        CATALOGUE["broker.reloaded"][0].replace("{pid}", "42")
    for refused in ("not signalled: run 'systemctl reload mosquitto' (or send the broker SIGHUP)"
                    " so it loads the new password file",
                    "not signalled: mosquitto pid 7 has exited"):
        assert broker_reload_text(ja, refused) == CATALOGUE["broker.not_signalled"][0]
        assert "systemctl reload mosquitto" in broker_reload_text(en, refused)
