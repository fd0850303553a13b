"""Helpers for the web UI tests: a municipality's state directory with a programme, accounts
and households that send readings; a TestClient that fills forms like a person."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from aggregator.cli import main as aggregator_main
from aggregator.config import Config, load_config
from aggregator.credentials import api_options
from aggregator.http_api import ApiConfig, ApiServer
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.personal import Person, open_personal
from aggregator.registry import (
    build_enrolment,
    enrol,
    methodology_terms,
    pseudonym,
)
from aggregator.store import SqliteStore
from aggregator.webui.auth import ResidentCodes, Role, UserStore, ui_dir
from aggregator.witness import checkpoint_body
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.keyfile import load_private_key
from eco_protocol.keys import private_key_from_raw, public_key_raw
from eco_protocol.note import CosignatureSigner, NoteSigner, parse_verifier_key
from eco_protocol.records import MeterSpec, Quantity
from tests.aggregator.ledger_kit import T0, Device

PROGRAMME = "test-city-2026"
OPERATOR = ("alice", "correct horse battery")
SHOP = ("bakery", "shop counter pass")
WITNESS = CosignatureSigner("witness.neighbour.test", private_key_from_raw(bytes([7]) * 32))
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
# Households join the day before the readings start (T0): crediting never starts before the
# member joined (Rule.BEFORE_JOINING), and their PV was installed within the two years the
# programme's rules allow before joining (Rule.EQUIPMENT_TOO_OLD).
JOINED = T0 - timedelta(days=1)
INSTALLED = "2025-06-01"


def run_cli(conf: Path, *args: str, stdin: str | None = None) -> Any:
    """``eco-aggregator --config CONF ARGS`` in-process; its JSON output."""
    out = io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            rc = aggregator_main(["--config", str(conf), *args])
    finally:
        sys.stdin = old_stdin
    assert rc == 0, out.getvalue()
    return json.loads(out.getvalue())


@dataclass
class UiWorld:
    state: Path
    conf: Path
    log_vkey: str
    devices: dict[str, Device] = field(default_factory=dict)

    @property
    def cfg(self) -> Config:
        return load_config(self.conf)

    def cli(self, *args: str, stdin: str | None = None) -> Any:
        return run_cli(self.conf, *args, stdin=stdin)

    @contextlib.contextmanager
    def ledger(self) -> Iterator[Ledger]:
        cfg = self.cfg
        store = SqliteStore(self.state / "ledger.sqlite3")
        try:
            yield Ledger(store, NoteSigner(cfg.origin, load_private_key(cfg.key_file)),
                         self.state / "checkpoint.latest")
        finally:
            store.close()

    def pseudonym(self, reference: str) -> str:
        return pseudonym(bytes.fromhex(self.cfg.pseudonym_key_file.read_text().strip()),
                         reference)

    def enrol_pv(self, reference: str, rated_w: int = 6000, export_meter: bool = True) -> Device:
        """A zero-export PV household whose box reads both the inverter (``pv1``) and the
        smart meter's export register (``e3``, grid_export, over the B-route): the declaration
        alone earns nothing, the metered zero export makes all its generation self-consumed.

        Enrolled through the registry functions ``eco-aggregator enrol`` calls, but dated
        :data:`JOINED` (the CLI dates an enrolment now, after the readings of T0). Without
        ``export_meter`` the household is flagged ``export_unmetered``."""
        d = Device()
        meters = [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", rated_w),
                  MeterSpec("e3", Quantity.GRID_EXPORT, "echonet-broute", rated_w)]
        if not export_meter:  # its PV earns nothing, and its e3 readings are unknown_meter
            meters.pop()
        fit = methodology_terms(installed=INSTALLED, fit_status="none", battery=False,
                                zero_export=True)
        household = self.pseudonym(reference)
        e = build_enrolment(public_key_raw(d.key), household, PROGRAMME, meters, fit,
                            format_time(JOINED))
        with open_personal(self.cfg.state_dir) as people:
            people.put(Person(household, reference))
        with self.ledger() as ledger:
            enrol(ledger, e)
        self.devices[reference] = d
        return d

    def send(self, reference: str, intervals: int = 24, energy: int = 2000,
             start: int = 0, export: int = 0) -> None:
        """Readings of ``intervals`` half hours from T0 + ``start`` intervals, in-process: per
        interval ``energy`` Wh of PV and ``export`` Wh exported (the smart meter's E3)."""
        d = self.devices[reference]
        with self.ledger() as ledger:
            intake = Intake(ledger)
            for k in range(start, start + intervals):
                s = T0 + timedelta(minutes=30 * k)
                span = {"start": format_time(s), "end": format_time(s + timedelta(minutes=30))}
                pv = d.reading(energy=energy, **span)
                e3 = d.reading(energy=export, meter="e3", quantity="grid_export", **span)
                (o,) = intake.process([(d.topic, canonical_bytes([pv, e3]))],
                                      "2026-12-01T00:00:00Z")
                assert o.accepted == 2, o.receipt
            ledger.checkpoint_now()


def accept_witness(world: UiWorld) -> None:
    """The log accepts :data:`WITNESS`'s cosignatures (its vkey in ``[witnesses] vkeys``)."""
    world.conf.write_text(world.conf.read_text().replace(
        "vkeys = []", f'vkeys = ["{WITNESS.verifier.vkey}"]'))


def cosign_latest(world: UiWorld) -> int:
    """What ``eco-aggregator witness`` delivers: a cosignature/v1 line on the latest
    checkpoint (a new one is signed first, holding everything logged so far), dated ten
    minutes ago; the checkpoint's size."""
    with world.ledger() as ledger:
        ledger.checkpoint_now()
        row = ledger.latest_checkpoint()
        assert row is not None
        sig = WITNESS.cosign(checkpoint_body(row.note), int(time.time()) - 600)
        ledger.store.add_cosignature(row.size, sig.name, sig.line)
        return row.size


EXTRA_FACTORS = "".join(f"""
[[methodology.grid_factors]]
fiscal_year = {fy}
g_per_kwh = 434
source = "ILLUSTRATIVE value for the tests"
source_ja = "テスト用の仮の値"
published = "n/a"
illustrative = true
""" for fy in range(2027, 2031))  # readings timed "now" keep a factor for years to come


def make_world(tmp: Path, points_per_kg: int = 5, broker: str = "mqtt://127.0.0.1:1",
               name: str = "ui") -> UiWorld:
    state = tmp / "agg"
    conf = state / "aggregator.toml"
    init = run_cli(conf, "init", str(state), "--origin", "eco-ledger.ui.test",
                   "--broker", broker)
    # an MQTT session and share group of its own (see tests/aggregator/test_serve.py)
    conf.write_text(conf.read_text()
                    .replace('client_id = "eco-aggregator-1"', f'client_id = "agg-{name}"')
                    .replace('share_group = "aggregators"', f'share_group = "g-{name}"'))
    run_cli(conf, "programme", "init", "--id", PROGRAMME)
    prog = state / "programme.toml"
    prog.write_text(prog.read_text().replace("points_per_kg = 1",
                                             f"points_per_kg = {points_per_kg}")
                    + EXTRA_FACTORS)
    users = UserStore(ui_dir(state) / "users.json")
    users.add(*OPERATOR, Role.OPERATOR)
    users.add(*SHOP, Role.SHOP)
    return UiWorld(state, conf, init["log_vkey"])


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


class Browser:
    """A TestClient with the steps a person takes: open a page, fill a form, submit."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post_form(self, page: str, action: str, data: dict[str, str], **kw: Any) -> Any:
        token = csrf_of(self.client.get(page).text)
        return self.client.post(action, data={"csrf": token, **data}, **kw)

    def login(self, user: tuple[str, str] = OPERATOR) -> Any:
        return self.post_form("/login", "/login", {"username": user[0], "password": user[1]})

    def resident_login(self, code: str) -> Any:
        return self.post_form("/resident/login", "/resident/login", {"code": code})


def issue_code(world: UiWorld, reference: str) -> str:
    return ResidentCodes(ui_dir(world.state) / "residents.json").issue(
        world.pseudonym(reference))


def sealed_report(world: UiWorld, out: Path) -> Path:
    """Two households' readings, a sealed batch and its report.json (via the CLI)."""
    for i, ref in enumerate(("Sato, 1-2 Chuo", "Suzuki, 3-4 Minami")):
        world.enrol_pv(ref)
        world.send(ref, 48, energy=800 + 400 * i)
    batch = world.cli("batch", "create", "--period", "2026-11-22..2026-11-24")
    world.cli("batch", "report", batch["batch_id"], "--out", str(out))
    return out / "report.json"


def read_api(world: UiWorld) -> ApiServer:
    """The town's public read API on a free port, serving its did:web resources (the DID
    document and the signed status list the shop's copy is refreshed from); started."""
    path = world.state / "ledger.sqlite3"
    cfg = ApiConfig(parse_verifier_key(world.log_vkey), **api_options(world.cfg))
    return ApiServer("127.0.0.1", 0, lambda: SqliteStore(path, check_integrity=False),
                     cfg).start()


# what every browser test starts Chromium with (a test adds its screen size and language):
# headless, as root without the sandbox Chromium refuses there, no GPU, /tmp not /dev/shm
HEADLESS_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars")


def require_chromium() -> tuple[str, str]:
    """Headless Chromium and its WebDriver; a missing one fails the test (never skips it).

    The browser the web UI prints its PDFs with (:func:`aggregator.webui.report.find_chromium`):
    Chromium's headless shell where the distribution has it (Debian's
    ``chromium-headless-shell``: the same Blink and V8 without the desktop browser's layers).
    Measured on these walks, it starts in a third of the full browser's CPU and loads a page in
    about half (2026-12-06, process accounting). ``--headless`` is the same switch for both."""
    import shutil

    import pytest

    from aggregator.webui.report import find_chromium

    browser = find_chromium()
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.fail("chromium / chromedriver not found: run 'make deps' (Debian packages "
                    "chromium-headless-shell or chromium, and chromium-driver)", pytrace=False)
    return browser, driver
