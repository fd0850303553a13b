"""A quarantined (forked) device on the web UI: the fleet page flags it by its rule, the household
page offers the operator's decision, and Release appends ``eco.release/v1`` through the same
operator function the CLI calls (audited)."""

from __future__ import annotations

import copy

from aggregator.intake import Intake
from aggregator.operator import read_audit
from eco_protocol.canonical import canonical_bytes, parse_json
from tests.webui.webui_kit import Browser, UiWorld

SATO = "Sato, 1-2 Chuo"


def test_the_operator_releases_a_quarantined_device(world: UiWorld, browser: Browser) -> None:
    d = world.enrol_pv(SATO)
    world.send(SATO, 2)
    clone = copy.deepcopy(d)
    clone.seq, clone.prev, clone.registers = 0, "0" * 64, {}
    with world.ledger() as ledger:  # the clone's seq 1, which the log already holds otherwise
        (out,) = Intake(ledger).process(
            [(clone.topic, canonical_bytes([clone.reading(energy=3)]))], "2026-12-01T00:00:00Z")
        assert out.rejected == 1
        ledger.checkpoint_now()
    browser.login()
    assert "隔離中の機器" in browser.get("/fleet").text  # the rule's name, translated
    page = f"/households/{world.pseudonym(SATO)}"
    assert "隔離を解除する" in browser.get(page).text
    r = browser.post_form(page, f"/devices/{d.device_id}/release", {"reason": ""})
    assert "確認した内容" in r.text  # a reason is required
    r = browser.post_form(page, f"/devices/{d.device_id}/release",
                          {"reason": "checked on site"})
    assert r.url.path == page and "隔離を解除しました" in r.text
    assert "隔離を解除する" not in r.text
    with world.ledger() as ledger:
        row = ledger.store.device(d.device_id)
        assert row is not None and row.flag is None
        assert parse_json(ledger.store.entry(ledger.size() - 1))["type"] == "eco.release/v1"
    (rec,) = [r for r in read_audit(world.cfg) if r["action"] == "release"]
    assert (rec["actor"], rec["via"], rec["outcome"]) == ("alice", "ui", "ok")
