"""A lock-out the operator can lift: the login throttle's counts live in a 0600 file shared by
every UI process (and outliving them), the operator sees who must wait and lifts it — in the UI
or with ``eco-aggregator ui-user unlock`` — and every lift is in the operator audit trail."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from starlette.testclient import TestClient

from aggregator.operator import read_audit
from aggregator.webui.app import UiConfig, create_app
from aggregator.webui.auth import Role, UserStore, ui_dir
from aggregator.webui.throttle import THROTTLE_FILE, LoginThrottle
from tests.webui.webui_kit import OPERATOR, Browser, UiWorld, run_cli

BOB = ("bob", "bob's own passphrase")


def test_counts_outlive_the_process_and_a_lift_forgives_only_that_key(tmp_path: Path) -> None:
    path = tmp_path / "ui" / THROTTLE_FILE
    t = LoginThrottle(free=2, free_address=3, path=path)
    for k in range(4):
        t.failed("Bob", "10.0.0.7", 100 + k)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = LoginThrottle(free=2, free_address=3, path=path)  # a restarted UI, or the CLI
    assert again.wait("bob", "10.0.0.8", 104) == 7.0  # 2 s, 4 s, 8 s after the last (103)
    locks = again.locks(104)
    assert [(lk.kind, lk.name, lk.failures) for lk in locks] == [
        ("account", "bob", 4), ("address", "10.0.0.7", 4)]
    assert again.lift("account", "BOB") and not again.lift("account", "bob")
    assert t.wait("bob", "10.0.0.8", 104) == 0  # the first process sees the lift
    assert t.wait("bob", "10.0.0.7", 104) > 0  # the address still waits: it was not lifted
    assert t.lift("address", "10.0.0.7") and t.wait("bob", "10.0.0.7", 104) == 0
    assert t.locks(104) == []


def _lock_out_bob(world: UiWorld, browser: Browser) -> None:
    for _ in range(5):
        assert browser.login(("bob", "not it")).status_code == 401
    # five more, from elsewhere, straight into the shared file: a wait of a minute, so that only
    # a lift (never the clock) can let bob in during the test
    shared = LoginThrottle(path=ui_dir(world.state) / THROTTLE_FILE)
    for _ in range(5):
        shared.failed("bob", "192.0.2.1", time.time())
    assert browser.login(BOB).status_code == 429  # even the right password waits now


def test_the_operator_lifts_a_lock_out_in_the_ui(world: UiWorld, browser: Browser) -> None:
    UserStore(ui_dir(world.state) / "users.json").add(*BOB, Role.OPERATOR)
    _lock_out_bob(world, browser)
    with TestClient(create_app(UiConfig(world.cfg))) as other:  # a colleague, another session
        alice = Browser(other)
        assert alice.login(OPERATOR).status_code in (200, 303)
        page = alice.get("/security").text
        assert "bob" in page and "192.0.2.1" not in page  # five failures: an address waits not
        r = alice.post_form("/security", "/security/lift", {"kind": "account", "name": "bob"})
        assert r.url.path == "/security" and "bob" in r.text
        r = alice.post_form("/security", "/security/lift", {"kind": "account", "name": "bob"})
        assert "ログインの失敗の記録がありません" in r.text  # nothing left to lift: said so
    assert browser.login(BOB).status_code in (200, 303)
    lifts = [r for r in read_audit(world.cfg) if r["action"] == "lift-lockout"]
    assert [(r["actor"], r["via"], r["target"], r["outcome"]) for r in lifts] == [
        ("alice", "ui", "account bob", "ok"), ("alice", "ui", "account bob", "refused")]


def test_a_shop_cannot_see_or_lift_lock_outs(world: UiWorld, browser: Browser) -> None:
    UserStore(ui_dir(world.state) / "users.json").add(*BOB, Role.OPERATOR)
    _lock_out_bob(world, browser)
    assert browser.login(("bakery", "shop counter pass")).status_code in (200, 303)
    assert browser.get("/security").status_code == 403
    assert browser.client.post("/security/lift", data={"kind": "account", "name": "bob"}
                               ).status_code == 403


def test_the_cli_lists_and_lifts_a_lock_out_a_running_ui_counted(
        world: UiWorld, browser: Browser) -> None:
    UserStore(ui_dir(world.state) / "users.json").add(*BOB, Role.OPERATOR)
    _lock_out_bob(world, browser)
    locks = run_cli(world.conf, "ui-user", "locks")["locks"]
    assert {(lk["kind"], lk["name"]) for lk in locks} == {("account", "bob")}
    assert locks[0]["failures"] == 10 and locks[0]["wait_s"] >= 30
    assert run_cli(world.conf, "ui-user", "unlock", "bob") == {"lifted": "bob",
                                                                "kind": "account"}
    assert browser.login(BOB).status_code in (200, 303)  # the running UI sees it at once
    (rec,) = [r for r in read_audit(world.cfg) if r["action"] == "lift-lockout"]
    assert (rec["via"], rec["target"], rec["outcome"]) == ("cli", "account bob", "ok")
