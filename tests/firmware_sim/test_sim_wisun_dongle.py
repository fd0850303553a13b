"""firmware_sim.wisun_dongle: the SKSTACK-IP interpreter byte for byte (both families, echo,
ROPT/WOPT, scan, join, SKSENDTO/ERXUDP, faults), the ECHONET node, and ``eco-sim broute``."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.clock import ManualClock
from agent.meters import echonet_codec as el
from agent.meters.broute import BRouteMeter
from agent.meters.skstack import Timing
from agent.meters.skstack_codec import Family, RouteBCredentials, parse_erxudp
from eco_protocol.records import Quantity
from firmware_sim.echonet_node import EchonetNode, EnergyState, HomeEnergy, MeterSettings
from firmware_sim.household import Household
from firmware_sim.solar import JST
from firmware_sim.wisun_dongle import DongleConfig, DongleFaults, SkStackServer

RBID = "0123456789ABCDEF0123456789ABCDEF"
PASSWORD = "S3cretPassW0"
NOON = datetime(2026, 6, 21, 12, 0, tzinfo=JST)
METER_IP = "FE80:0000:0000:0000:021C:6400:030C:12A4"


def _make(family: Family = Family.BP35A1, **faults: Any) -> tuple[SkStackServer, ManualClock]:
    clock = ManualClock(NOON)
    energy = HomeEnergy(Household(4), None, None, EnergyState(NOON, 5_000_000.0))
    srv = SkStackServer(DongleConfig(RBID, PASSWORD, family=family),
                        EchonetNode(energy, MeterSettings(serial="SIM-T")), clock,
                        faults=DongleFaults(**faults))
    return srv, clock


def _lines(out: bytes) -> list[str]:
    return out.decode("latin-1").split("\r\n")[:-1]


def _join(srv: SkStackServer, family: Family = Family.BP35A1) -> None:
    side = " 0" if family is Family.BP35C0 else ""
    for cmd in ("SKSREG SFE 0", "WOPT 01", f"SKSETPWD C {PASSWORD}", f"SKSETRBID {RBID}",
                "SKSREG S2 21", "SKSREG S3 8888"):
        srv.feed(cmd.encode() + b"\r\n")
    out = _lines(srv.feed(f"SKJOIN {METER_IP}\r\n".encode()))
    assert f"EVENT 25 {METER_IP}{side}" in out


def _get_frame(tid: int, *epcs: int) -> bytes:
    return el.encode_get(tid, el.LV_SMART_METER, list(epcs))


def test_echo_reset_and_option_replies_end_in_cr() -> None:
    srv, _ = _make()
    assert srv.feed(b"SKVER\r\n") == b"SKVER\r\nEVER 1.2.10\r\nOK\r\n"
    assert srv.feed(b"SKSREG SFE 0\r\n") == b"SKSREG SFE 0\r\nOK\r\n"
    assert srv.feed(b"ROPT\r") == b"OK 00\r"
    assert srv.feed(b"\nWOPT 01\r") == b"OK\r"
    assert srv.feed(b"ROPT\r") == b"OK 01\r"
    assert srv.feed(b"SKRESET\r\n") == b"OK\r\n"
    assert srv.feed(b"SKINFO\r\n").startswith(b"SKINFO\r\nEINFO FE80:")  # echo back on
    assert srv.feed(b"ROPT\r") == b"ROPT\r\nOK 01\r"  # flash kept the option
    assert srv.feed(b"SKFOO\r\n").endswith(b"FAIL ER04\r\n")


@pytest.mark.parametrize("family", list(Family))
def test_scan_arity_and_epandesc(family: Family) -> None:
    srv, _ = _make(family)
    srv.feed(b"SKSREG SFE 0\r\n")
    other = "SKSCAN 2 FFFFFFFF 6" if family is Family.BP35C0 else "SKSCAN 2 FFFFFFFF 6 0"
    assert _lines(srv.feed(other.encode() + b"\r\n")) == ["FAIL ER05"]
    cmd = "SKSCAN 2 FFFFFFFF 4" + (" 0" if family is Family.BP35C0 else "")
    assert _lines(srv.feed(cmd.encode() + b"\r\n"))[1:][0].startswith("EVENT 22 ")  # too short
    out = _lines(srv.feed(cmd.replace(" 4", " 6").encode() + b"\r\n"))
    assert out[0] == "OK" and out[1].startswith("EVENT 20 ") and out[2] == "EPANDESC"
    assert "  Channel:21" in out and "  Pan ID:8888" in out and "  Addr:001C6400030C12A4" in out
    assert ("  Side:0" in out) is (family is Family.BP35C0) and "  PairID:89ABCDEF" in out
    assert srv.feed(b"SKLL64 001C6400030C12A4\r\n") == f"{METER_IP}\r\n".encode()


def test_join_needs_the_right_credentials_channel_and_pan() -> None:
    srv, _ = _make()
    srv.feed(b"SKSREG SFE 0\r\n")
    assert f"EVENT 24 {METER_IP}" in _lines(srv.feed(f"SKJOIN {METER_IP}\r\n".encode()))
    srv.feed(b"SKSREG S2 21\r\nSKSREG S3 8888\r\nSKSETPWD C WRONGWRONG12\r\n"
             + f"SKSETRBID {RBID}\r\n".encode())
    assert f"EVENT 24 {METER_IP}" in _lines(srv.feed(f"SKJOIN {METER_IP}\r\n".encode()))
    _join(srv)


@pytest.mark.parametrize("family", list(Family))
def test_sendto_and_erxudp(family: Family) -> None:
    srv, _ = _make(family)
    _join(srv, family)
    side = " 0" if family is Family.BP35C0 else ""
    data = _get_frame(5, 0xE0, 0xE1, 0x99)
    header = f"SKSENDTO 1 {METER_IP} 0E1A 1{side} {len(data):04X} ".encode()
    out = _lines(srv.feed(header + data))
    assert out[0] == "" and out[1].startswith("EVENT 21 ") and out[1].endswith(" 00")
    assert out[2] == "OK" and out[3].startswith("ERXUDP ")
    rx = parse_erxudp(out[3])
    assert len(out[3].split(" ")) == (10 if family is Family.BP35C0 else 9)
    frame = el.decode_frame(rx.data)
    assert frame.tid == 5 and frame.esv == el.ESV.GET_SNA  # 0x99 is not a meter property
    assert frame.get(0x99) == el.Property(0x99) and frame.get(0xE1) == el.Property(0xE1, b"\x01")
    assert srv.stats.answered == 1


def test_wrong_family_sendto_is_refused_and_flushed() -> None:
    srv, _ = _make(Family.BP35C0)
    _join(srv, Family.BP35C0)
    data = _get_frame(1, 0xE0)
    out = _lines(srv.feed(f"SKSENDTO 1 {METER_IP} 0E1A 1 {len(data):04X} ".encode() + data))
    assert out == ["FAIL ER06"]
    assert srv.feed(b"SKVER\r\n") == b"EVER 1.5.2\r\nOK\r\n"


def test_binary_erxudp_before_wopt_and_session_expiry() -> None:
    srv, clock = _make(session_lifetime_s=60)
    for cmd in ("SKSREG SFE 0", f"SKSETPWD C {PASSWORD}", f"SKSETRBID {RBID}", "SKSREG S2 21",
                "SKSREG S3 8888", f"SKJOIN {METER_IP}"):
        srv.feed(cmd.encode() + b"\r\n")
    data = _get_frame(2, 0xE0)
    out = srv.feed(f"SKSENDTO 1 {METER_IP} 0E1A 1 {len(data):04X} ".encode() + data)
    assert b" 0012 \x10\x81\x00\x02\x02\x88\x01" in out  # binary data after DATALEN
    clock.advance(120)
    out2 = _lines(srv.feed(f"SKSENDTO 1 {METER_IP} 0E1A 1 {len(data):04X} ".encode() + data))
    assert f"EVENT 29 {METER_IP}" in out2 and not any(x.startswith("ERXUDP") for x in out2)


def test_faults_fail_noise_silence_and_replacement() -> None:
    srv, _ = _make(fail_fraction=1.0)
    assert srv.feed(b"SKVER\r\n").endswith(b"FAIL ER10\r\n")
    srv, _ = _make(noise_fraction=1.0)
    out = srv.feed(b"SKVER\r\n")
    assert not out.startswith(b"SKVER") and b"EVER" in out and srv.stats.noise == 3
    srv, _ = _make(silent=((NOON, NOON + timedelta(minutes=1)),))
    assert srv.feed(b"SKVER\r\n") == b""
    srv, clock = _make(replace_at=(NOON + timedelta(minutes=5),), no_data=(0xE3,))
    _join(srv)
    clock.advance(600)
    data = _get_frame(3, 0x8D, 0xE0, 0xE3)
    out = _lines(srv.feed(f"SKSENDTO 1 {METER_IP} 0E1A 1 {len(data):04X} ".encode() + data))
    edts = {p.epc: p.edt for p in el.decode_frame(parse_erxudp(out[-1]).data).properties}
    assert el.decode_text(0x8D, edts[0x8D]) != "SIM-T"
    e0 = el.decode_cumulative(0xE0, edts[0xE0], el.EnergyScale(unit_kwh=el.E1_UNITS_KWH[1],
                                                               digits=6))
    assert isinstance(e0, el.Cumulative) and e0.wh < 50_000  # restarted from 0
    assert edts[0xE3] == b"\xff\xff\xff\xfe"


def test_meter_settings_wrap() -> None:
    m = MeterSettings(unit_code=0x02, digits=5)
    assert m.wrap_wh() == 1_000_000 and m.count(1_000_000.0 + 25.0) == 2


# --- eco-sim broute -------------------------------------------------------------------------


@contextmanager
def _eco_sim(*args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "firmware_sim.cli", "broute", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.integration
def test_eco_sim_broute_announces_serves_and_exits() -> None:
    with _eco_sim("--seed", "8", "--family", "bp35c0", "--rbid", RBID, "--password", PASSWORD,
                 "--speed", "60", "--origin-sim", "2026-06-21T12:00+09:00",
                 "--pv-rated-w", "3000", "--with-pv-object") as proc:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        assert ready, "eco-sim printed nothing"
        line = proc.stdout.readline()
        info = json.loads(line)
        assert os.path.realpath(info["port"]).startswith("/dev/pts/") and info["family"] == "bp35c0"
        assert info["objects"] == ["028801", "027901"] and PASSWORD not in line
        meter = BRouteMeter("pv", info["port"], quantity=Quantity.PV_GENERATION,
                            echonet_object="solar",
                            credentials=lambda: RouteBCredentials(RBID, PASSWORD),
                            timeout_s=1.0, timing=Timing(command_s=1.0, scan_factor=0.01))
        try:
            snap = meter.read()
        finally:
            meter.close()
        assert snap.power_w is not None and snap.power_w > 0 and snap.wrap_wh == 10**9
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


@settings(deadline=None, max_examples=150)
@given(st.lists(st.one_of(st.binary(max_size=30), st.sampled_from([
    b"SKSENDTO ", b"SKSCAN 2 FFFFFFFF 6\r\n", b"\r\n", b"SKJOIN ", b"SKSREG S2 ", b"ROPT\r",
    b"SKLL64 zz\r\n", b"WOPT 1\r", b"SKSETPWD C x\r\n"])), max_size=8))
def test_interpreter_survives_arbitrary_input(chunks: list[bytes]) -> None:
    srv, _ = _make(Family.BP35C0)
    for chunk in chunks:
        assert isinstance(srv.feed(chunk), bytes)
