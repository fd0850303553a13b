"""Every operator action leaves an audit record, not only enrol/revoke/rekey: sealing and
certifying a batch, redeeming points, rotating the log key, web UI accounts and household login
codes — from the CLI and from the web UI alike (aggregator/operator.py), refused attempts too."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from aggregator.operator import read_audit
from aggregator.webui.app import UiConfig, create_app
from tests.webui.webui_kit import OPERATOR, Browser, make_world, run_cli

SATO = "Sato, 1-2 Chuo"


def _trail(world_cfg: object) -> list[tuple[str, str, str | None, str]]:
    return [(r["action"], r["via"], r["target"] or r["household"], r["outcome"])
            for r in read_audit(world_cfg)]  # type: ignore[arg-type]


def test_programme_actions_from_the_cli_are_recorded(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.enrol_pv(SATO)
    world.send(SATO, 24, energy=900)
    hh = world.pseudonym(SATO)
    before = len(read_audit(world.cfg))
    batch = world.cli("batch", "create", "--period", "2026-11-22..2026-11-24")
    world.cli("batch", "certify", batch["batch_id"], "--first", "JP-1", "--last", "JP-9")
    world.cli("redeem", "--household", hh, "--reward", "pool-ticket")
    world.cli("resident-code", SATO)
    world.cli("ui-user", "add", "carol", stdin="a long enough password\n")
    world.cli("ui-user", "remove", "carol")
    rotated = world.cli("log-key", "rotate", "--reason", "yearly")
    trail = _trail(world.cfg)[before:]
    assert trail == [
        ("seal", "cli", batch["batch_id"], "ok"),
        ("certify", "cli", batch["batch_id"], "ok"),
        ("redeem", "cli", "pool-ticket", "ok"),
        ("resident-code", "cli", hh, "ok"),
        ("ui-user-add", "cli", "carol (operator)", "ok"),
        ("ui-user-remove", "cli", "carol", "ok"),
        ("log-key-rotate", "cli", None, "ok"),
    ]
    indexes = [r["index"] for r in read_audit(world.cfg)[before:]]
    assert indexes[0] == batch["index"] and indexes[-1] == rotated["change_entry"]
    # a refused attempt is recorded as refused, and changes nothing
    assert _run_cli_rc(world.conf, "ui-user", "remove", "nobody") == 1
    assert _trail(world.cfg)[-1] == ("ui-user-remove", "cli", "nobody", "refused")


def _run_cli_rc(conf: Path, *args: str) -> int:
    from aggregator.cli import main

    return main(["--config", str(conf), *args])


def test_programme_actions_from_the_web_ui_name_the_account(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.enrol_pv(SATO)
    world.send(SATO, 24, energy=900)
    hh = world.pseudonym(SATO)
    before = len(read_audit(world.cfg))
    with TestClient(create_app(UiConfig(world.cfg))) as client:
        b = Browser(client)
        b.login(OPERATOR)
        page = f"/households/{hh}"
        b.post_form(page, f"{page}/resident-code", {})
        b.post_form(page, f"{page}/redeem", {"reward": "pool-ticket"})
        b.post_form(page, f"{page}/redeem", {"reward": "no-such-reward"})
    actions = _trail(world.cfg)[before:]
    # each showing of the household's page is a view of its personal data, audited too
    assert ("household-view", "ui", "name shown", "ok") in actions
    assert [a for a in actions if a[0] != "household-view"] == [
        ("resident-code", "ui", hh, "ok"),
        ("redeem", "ui", "pool-ticket", "ok"),
        ("redeem", "ui", "no-such-reward", "refused"),
    ]
    assert {r["actor"] for r in read_audit(world.cfg)[before:]} == {OPERATOR[0]}
    (row,) = run_cli(world.conf, "points", "--household", hh)["households"]
    assert row["redeemed"] > 0  # the recorded redemption is the one in the log
