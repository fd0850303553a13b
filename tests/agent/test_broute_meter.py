"""agent.meters.broute against the simulated Wi-SUN dongle over real ptys (both SKSTACK-IP
families), with faults: noise, FAIL replies, dropped and late answers, silence, session expiry,
failing joins, wrong credentials, "no data", rollover and meter replacement. Every value read is
compared with the register the simulated meter holds at that instant."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent import interval
from agent.clock import ManualClock
from agent.config import parse_config
from agent.errors import MeterError
from agent.meters import echonet_codec as el
from agent.meters.broute import PROTOCOL, BRouteMeter, ReadingUnavailable, Target, evaluate
from agent.meters.interface import Meter
from agent.meters.skstack import Timing
from agent.meters.skstack_codec import Family, RouteBCredentials
from agent.runner import open_meter
from eco_protocol.records import Flag, Quantity
from firmware_sim.echonet_node import (
    EchonetNode,
    EnergyState,
    EvSessions,
    HomeEnergy,
    MeterSettings,
)
from firmware_sim.household import Household
from firmware_sim.solar import JST, PvSystem
from firmware_sim.wisun_dongle import DongleConfig, DongleFaults, PtyWisunDongle, SkStackServer

RBID = "0123456789ABCDEF0123456789ABCDEF"
PASSWORD = "S3cretPassW0"
CREDS = RouteBCredentials(RBID, PASSWORD)
NOON = datetime(2026, 6, 21, 12, 0, tzinfo=JST)
TIMING = Timing(command_s=0.3, join_s=1.0, scan_margin_s=0.2, scan_factor=0.01)
QUICK = Timing(command_s=0.08, join_s=0.3, scan_margin_s=0.05, scan_factor=0.001)

pytestmark = pytest.mark.integration


class _Sim:
    def __init__(self, srv: SkStackServer, dongle: PtyWisunDongle, clock: ManualClock) -> None:
        self.srv, self.dongle, self.clock = srv, dongle, clock

    @property
    def port(self) -> str:
        return self.dongle.port

    def truth(self, which: str = "import") -> int:
        """The Wh the meter's register shows now (what a correct reader must return)."""
        with self.dongle._lock:
            s = self.srv.node.energy.advance(self.clock.now())
            m = self.srv.node.meter
            count = m.count(s.import_wh if which == "import" else s.export_wh)
            return math.floor(count * m.wh_per_count)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


@contextlib.contextmanager
def _sim(family: Family = Family.BP35A1, *, pv_w: float = 0.0, ev: bool = False,
        initial_wh: float = 12_345_678.0, meter: MeterSettings | None = None,
        **faults: Any) -> Iterator[_Sim]:
    clock = ManualClock(NOON)
    energy = HomeEnergy(Household(5), PvSystem(pv_w, 5) if pv_w else None,
                        EvSessions(5) if ev else None, EnergyState(NOON, initial_wh, 1_000.0))
    node = EchonetNode(energy, meter or MeterSettings(serial="SN-BR-1"), with_pv=bool(pv_w),
                       with_ev=ev)
    srv = SkStackServer(DongleConfig(RBID, PASSWORD, family=family), node, clock,
                        faults=DongleFaults(**faults), seed=11)
    with PtyWisunDongle(srv) as dongle:
        yield _Sim(srv, dongle, clock)


def _reader(port: str, **kw: Any) -> BRouteMeter:
    args: dict[str, Any] = {"credentials": lambda: CREDS, "quantity": Quantity.GRID_IMPORT,
                            "timeout_s": 0.3, "timing": TIMING, "backoff_s": 0.01}
    args.update(kw)
    return BRouteMeter("grid", port, **args)


@contextlib.contextmanager
def _opened(port: str, **kw: Any) -> Iterator[BRouteMeter]:
    m = _reader(port, **kw)
    try:
        yield m
    finally:
        m.close()


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("family", list(Family))
@pytest.mark.parametrize("configured", [True, False], ids=["fixed", "auto"])
def test_reads_what_the_meter_holds(family: Family, configured: bool) -> None:
    with _sim(family) as s, _opened(s.port, family=family if configured else None) as m:
        snap = m.read()
        assert snap.register_wh == s.truth() and snap.wrap_wh == 100_000_000
        assert snap.identity.protocol == PROTOCOL and snap.identity.serial == "SN-BR-1"
        assert "0x0288" in snap.identity.model and snap.identity.manufacturer.endswith("000016")
        assert dict(snap.raw)["E1"] == 1 and dict(snap.raw)["D7"] == 6
        assert m.session is not None and m.session.family is family
        s.advance(3600)  # an hour of household load at noon, no PV: the register grows
        again = m.read()
        assert again.register_wh == s.truth() > snap.register_wh
        assert s.srv.stats.joins == 1  # one session for both reads


def test_export_register_and_power_sign() -> None:
    with _sim(pv_w=5000) as s, _opened(s.port, quantity=Quantity.GRID_EXPORT) as m:
        s.advance(1800)
        snap = m.read()
        assert snap.register_wh == s.truth("export") > 1_000
        assert snap.power_w is not None and snap.power_w < 0  # selling at noon in June


def test_echo_on_and_secrets_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with _sim() as s, _opened(s.port, disable_echo=False) as m:
        assert m.read().register_wh == s.truth()
    with _sim(drop_fraction=1.0) as s, _opened(s.port, attempts=1) as m, \
            pytest.raises(MeterError) as info:
        m.read()
    text = caplog.text + str(info.value)
    assert "SKSETPWD C ********" in text and "SKSETRBID ********" in text
    assert PASSWORD not in text and RBID not in text


def test_binary_data_when_the_dongle_has_no_ropt() -> None:
    with _sim(Family.BP35C0, ropt_unsupported=True) as s, _opened(s.port) as m:
        assert m.read().register_wh == s.truth()
        assert m._client is not None and not m._client.hex_data


def test_solar_and_ev_objects() -> None:
    with _sim(pv_w=4000, ev=True) as s:
        s.advance(4 * 3600)
        with _opened(s.port, quantity=Quantity.PV_GENERATION, echonet_object="solar") as pv:
            snap = pv.read()
            state = s.srv.node.energy.state
            assert snap.register_wh == int(state.pv_wh) > 0 and snap.wrap_wh == 10**9
            assert snap.power_w is not None and snap.power_w > 0
        with _opened(s.port, quantity=Quantity.EV_CHARGE, echonet_object="ev") as ev:
            assert ev.read().register_wh == int(s.srv.node.energy.state.ev_wh)


# --- faults: a value is right or absent ------------------------------------------------------


def _many_reads(s: _Sim, m: BRouteMeter, n: int, step_s: float) -> tuple[int, int]:
    good = bad = 0
    for _ in range(n):
        s.advance(step_s)
        try:
            snap = m.read()
        except MeterError:
            bad += 1
            continue
        assert snap.register_wh == s.truth()
        good += 1
    return good, bad


def test_noise_and_fail_replies_are_retried_never_misread() -> None:
    with _sim(noise_fraction=0.1, fail_fraction=0.05) as s, \
            _opened(s.port, attempts=4, timing=QUICK, timeout_s=0.08) as m:
        good, bad = _many_reads(s, m, 10, 600)
    assert good >= 7 and s.srv.stats.noise > 0 and s.srv.stats.fails > 0


def test_late_answers_are_never_taken_for_the_current_one() -> None:
    with _sim(late_fraction=0.4) as s, \
            _opened(s.port, attempts=4, timing=QUICK, timeout_s=0.08) as m:
        good, _ = _many_reads(s, m, 10, 900)  # the register moves between requests
    assert good >= 8 and s.srv.stats.late > 0


def test_no_answer_retries_then_fails_then_recovers() -> None:
    with _sim(drop_fraction=1.0) as s, _opened(s.port, attempts=3) as m:
        t0 = time.monotonic()
        with pytest.raises(MeterError, match=r"no ECHONET Lite answer .*\(after 3 attempts\)"):
            m.read()
        assert time.monotonic() - t0 < 1.5 and m.session is None  # starts afresh next time
        s.srv.faults = DongleFaults()
        assert m.read().register_wh == s.truth()


def test_silent_dongle_is_a_quick_meter_error() -> None:
    with _sim(silent=((NOON, NOON + timedelta(hours=1)),)) as s, \
            _opened(s.port, attempts=2, timing=QUICK) as m:
        t0 = time.monotonic()
        with pytest.raises(MeterError, match="the dongle did not answer SKRESET within .* at "
                           r"115200 baud: check \[\[meters\]\] port and baudrate"):
            m.read()
        assert time.monotonic() - t0 < 2 * 3 * QUICK.command_s + 0.3  # 3 SKRESETs a time


def test_session_expiry_joins_again() -> None:
    with _sim(session_lifetime_s=600) as s, _opened(s.port) as m:
        m.read()
        s.advance(1200)
        assert m.read().register_wh == s.truth()
    assert s.srv.stats.expired == 1 and s.srv.stats.joins == 2


def test_join_failure_is_retried() -> None:
    with _sim(join_failures=1) as s, _opened(s.port) as m:
        assert m.read().register_wh == s.truth()
    assert s.srv.stats.joins == 2


def test_wrong_password_names_the_keys_not_the_secret() -> None:
    wrong = RouteBCredentials(RBID, "WrongPassw0rd")
    with _sim() as s, _opened(s.port, credentials=lambda: wrong, attempts=2) as m, \
            pytest.raises(MeterError, match="EVENT 24.*broute_password") as info:
        m.read()
    assert "WrongPassw0rd" not in str(info.value) and RBID not in str(info.value)


def test_no_data_is_reported_never_zero() -> None:
    with _sim(no_data=(0xE0,)) as s:
        with _opened(s.port) as m, pytest.raises(MeterError, match="no measurement.*not .* 0"):
            m.read()
        with _opened(s.port, quantity=Quantity.GRID_EXPORT) as m:
            assert m.read().register_wh == s.truth("export")


def test_rollover_reaches_the_interval_builder() -> None:
    settings = MeterSettings(serial="SN-WRAP", unit_code=0x02, digits=5)  # wraps at 1,000 kWh
    wrap = settings.wrap_wh()
    with _sim(initial_wh=wrap - 400.0, meter=settings) as s, _opened(s.port) as m:
        params = interval.BuilderParams(interval_s=1800)
        state = None
        readings = []
        for _ in range(4):
            snap = m.read()
            assert snap.register_wh == s.truth() and snap.wrap_wh == wrap
            obs = interval.Observation(int(s.clock.timestamp()), snap.register_wh,
                                       snap.identity, snap.wrap_wh)
            out = interval.step(state, obs, params)
            state = out.state
            readings.extend(out.readings)
            s.advance(1800)
    assert any(Flag.ROLLOVER in r.flags for r in readings)
    assert all(r.energy_wh >= 0 for r in readings)


def test_meter_replacement_changes_identity() -> None:
    with _sim(replace_at=(NOON + timedelta(minutes=30),)) as s, _opened(s.port) as m:
        before = m.read()
        s.advance(3600)
        after = m.read()
    assert before.identity.serial == "SN-BR-1" and after.identity.serial != "SN-BR-1"
    assert after.register_wh < before.register_wh and after.register_wh == s.truth()


# --- configuration and construction ------------------------------------------------------------


def _config(port: str, tmp_path: Path, **extra: Any) -> Any:
    table = {"id": "grid", "quantity": "grid_import", "protocol": "echonet-broute",
             "port": port, "broute_id": RBID, "timeout_s": 1.0, **extra}
    return parse_config({"device": {"state_dir": "s"}, "meters": [table]}, tmp_path / "a.toml")


def test_runner_builds_the_reader_from_the_config(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    with _sim() as s:
        cfg = _config(s.port, tmp_path, broute_password_file="pw")
        meter: Meter = open_meter(cfg.meters[0])
        try:
            assert isinstance(meter, BRouteMeter)
            assert meter.read().register_wh == s.truth()
        finally:
            meter.close()


def test_cached_scan_result_skips_the_scan(tmp_path: Path) -> None:
    with _sim() as s:
        s.srv.config = DongleConfig(RBID, PASSWORD, min_scan_duration=15)  # scans find nothing
        cfg = _config(s.port, tmp_path, broute_password=PASSWORD, wisun_channel=0x21,
                      pan_id=0x8888, meter_mac="001c6400030c12a4")
        meter = open_meter(cfg.meters[0])
        try:
            assert meter.read().register_wh == s.truth()
        finally:
            meter.close()


def test_missing_password_file_is_a_meter_error(tmp_path: Path) -> None:
    cfg = _config("/dev/null", tmp_path, broute_password_file="nope")
    meter = open_meter(cfg.meters[0])
    with pytest.raises(MeterError, match="cannot read broute_password_file"):
        meter.read()


# --- the pure evaluation -----------------------------------------------------------------------


def _answer(target: Target, values: dict[int, bytes], esv: int = el.ESV.GET_RES) -> el.Frame:
    props = tuple(el.Property(e, values.get(e, b"")) for e in target.epcs())
    return el.Frame(1, target.eoj, el.CONTROLLER, esv, props)


def test_evaluate_without_coefficient_or_serial() -> None:
    t = Target(el.LV_SMART_METER, 0xE0, 0xE7)
    frame = _answer(t, {0xE1: b"\x02", 0xE0: (123456).to_bytes(4, "big")}, el.ESV.GET_SNA)
    v = evaluate(t, frame, "001C6400030C12A4")
    assert v.register_wh == 1_234_560 and v.wrap_wh is None  # D3 absent: 1; D7 absent: no wrap
    assert v.serial == "MAC 001C6400030C12A4" and v.power_w is None


@pytest.mark.parametrize(("values", "message"), [
    ({0xE0: b"\x00\x00\x00\x01"}, "unit of its register"),
    ({0xE1: b"\x01"}, "does not provide EPC E0"),
    ({0xE1: b"\x01", 0xE0: b"\xff\xff\xff\xfe"}, "no measurement"),
])
def test_evaluate_refuses_to_guess(values: dict[int, bytes], message: str) -> None:
    t = Target(el.LV_SMART_METER, 0xE0, 0xE7)
    with pytest.raises(ReadingUnavailable, match=message):
        evaluate(t, _answer(t, values, el.ESV.GET_SNA), "0" * 16)


def test_reader_refuses_unsupported_pairs() -> None:
    make: Callable[[], BRouteMeter] = lambda: BRouteMeter(  # noqa: E731
        "x", "/dev/null", credentials=lambda: CREDS, quantity=Quantity.EV_CHARGE,
        echonet_object="smart_meter")
    with pytest.raises(ValueError, match="smart_meter/ev_charge"):
        make()
