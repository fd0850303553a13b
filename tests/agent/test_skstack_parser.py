"""agent.meters.skstack_codec: the pure SKSTACK-IP parsers against public vectors; and
agent.meters.skstack, the driver, against in-memory ports (scripted bytes, or the simulated
dongle's interpreter without a pty).
Arbitrary text and bytes end in a value or an SkStackError, never another exception."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.clock import ManualClock
from agent.meters import skstack as sk
from agent.meters import skstack_codec as skc
from firmware_sim.echonet_node import EchonetNode, EnergyState, HomeEnergy, MeterSettings
from firmware_sim.household import Household
from firmware_sim.solar import JST
from firmware_sim.wisun_dongle import DongleConfig, DongleFaults, SkStackServer

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "echonet_lite.json").read_text())["skstack"]
RBID = "00112233445566778899AABBCCDDEEFF"
PASSWORD = "0123456789AB"
CREDS = skc.RouteBCredentials(RBID, PASSWORD)
FAST = sk.Timing(command_s=0.05, join_s=0.05, scan_margin_s=0.0)


class _BytesPort:
    """An in-memory port: reads return the bytes given, writes are recorded."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)
        self.written = bytearray()
        self.timeout: float | None = None

    @property
    def in_waiting(self) -> int:
        return len(self.data)

    def read(self, n: int) -> bytes:
        chunk = bytes(self.data[:n])
        del self.data[:n]
        return chunk

    def write(self, b: bytes) -> int:
        self.written += b
        return len(b)


class _ServerPort(_BytesPort):
    """The simulated dongle's interpreter behind an in-memory port."""

    def __init__(self, _server: SkStackServer) -> None:
        super().__init__()
        self.server = _server

    def write(self, b: bytes) -> int:
        self.written += b
        self.data += self.server.feed(b)
        return len(b)


def _server(family: skc.Family = skc.Family.BP35A1, **faults: Any) -> SkStackServer:
    t0 = datetime(2026, 6, 21, 12, 0, tzinfo=JST)
    energy = HomeEnergy(Household(1), None, None, EnergyState(t0, 1_000_000.0))
    return SkStackServer(DongleConfig(RBID, PASSWORD, family=family),
                         EchonetNode(energy, MeterSettings()), ManualClock(t0),
                         faults=DongleFaults(**faults))


# --- pure parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize("vec", VECTORS["ll64"], ids=lambda v: v["mac"])
def test_ll64_vectors(vec: dict[str, str]) -> None:
    assert skc.ll64(vec["mac"]) == vec["ipv6"]


@pytest.mark.parametrize("vec", VECTORS["erxudp_hex"], ids=lambda v: v["data"][:20])
def test_erxudp_vectors_take_the_data_as_the_last_field(vec: dict[str, Any]) -> None:
    rx = skc.parse_erxudp(vec["line"])
    assert rx.sender == vec["sender"] and rx.rport == vec["rport"]
    assert rx.secured is vec["secured"] and rx.side == vec["side"]
    assert rx.data == bytes.fromhex(vec["data"])


def test_erxudp_with_rssi_and_mismatched_lengths() -> None:
    line = VECTORS["erxudp_hex"][2]["line"]
    head, tail = line.split(" 1 0 ")
    rx = skc.parse_erxudp(f"{head} 9A 1 0 {tail}")  # <RSSI> <SECURED> <SIDE>
    assert rx.side == 0 and rx.data == b"12345"
    with pytest.raises(skc.SkProtocolError, match="announces 5 bytes"):
        skc.parse_erxudp(line[:-2])
    with pytest.raises(skc.SkProtocolError, match="fields"):
        skc.parse_erxudp("ERXUDP " + " ".join(["0"] * 12))


@pytest.mark.parametrize("vec", VECTORS["events"], ids=lambda v: v["line"][:8])
def test_event_vectors(vec: dict[str, Any]) -> None:
    ev = skc.parse_event(vec["line"])
    assert (ev.number, ev.side, ev.param) == (vec["number"], vec["side"], vec["param"])


@pytest.mark.parametrize("vec", VECTORS["epandesc"], ids=lambda v: str(v["side"]))
def test_epandesc_vectors(vec: dict[str, Any]) -> None:
    pan = skc.parse_epandesc(vec["lines"])
    assert (pan.channel, pan.pan_id, pan.addr, pan.lqi, pan.side, pan.pair_id) == (
        vec["channel"], vec["pan_id"], vec["addr"], vec["lqi"], vec["side"], vec["pair_id"])


@pytest.mark.parametrize("vec", VECTORS["commands"], ids=lambda v: v["text"][:14])
def test_command_vectors(vec: dict[str, Any]) -> None:
    family = skc.Family(vec["family"])
    if vec["kind"] == "skscan":
        assert skc.skscan_command(vec["duration"], family) == vec["text"]
    else:
        assert skc.sksendto_header(vec["ip"], vec["length"], family) == vec["text"]


def test_fail_codes_carry_their_meaning() -> None:
    for code, meaning in VECTORS["fail_codes"].items():
        if code != "source":
            assert meaning in str(skc.SkFail("SKSCAN", code))
    assert str(skc.SkFail("SKJOIN", "ER99")).endswith("(unknown error code)")


def test_scan_time_and_pan_choice() -> None:
    assert skc.scan_time_s(6) == pytest.approx(0.0096 * 65 * 28)
    a = skc.PanDescriptor(0x21, 9, 1, "0" * 16, 0x40, pair_id="CCDDEEFF")
    b = skc.PanDescriptor(0x22, 9, 2, "1" * 16, 0xF0, pair_id="12345678")
    assert skc.choose_pan([b, a], RBID) is a  # the PairID matching the ID wins over LQI
    assert skc.choose_pan([b, skc.PanDescriptor(0x23, 9, 3, "2" * 16, 0x10)], RBID) is b


def test_redaction_and_credentials_never_shown() -> None:
    assert skc.redact(f"SKSETPWD C {PASSWORD}") == "SKSETPWD C ********"
    assert skc.redact(f"SKSETRBID {RBID}") == "SKSETRBID ********"
    assert skc.redact(f"x {PASSWORD} y", [PASSWORD]) == "x ******** y"
    assert PASSWORD not in repr(CREDS) and RBID not in repr(CREDS)
    with pytest.raises(ValueError) as info:
        skc.RouteBCredentials(RBID, "has space")
    assert "has space" not in str(info.value)


@given(st.text(max_size=200))
def test_parsers_never_crash_on_text(text: str) -> None:
    for parse in (skc.parse_event, skc.parse_erxudp):
        for line in (text, "EVENT " + text, "ERXUDP " + text):
            with contextlib.suppress(skc.SkProtocolError):
                parse(line)
    with contextlib.suppress(skc.SkProtocolError):
        skc.parse_epandesc(text.splitlines())


# --- the driver over in-memory ports --------------------------------------------------------


@settings(deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_driver_survives_arbitrary_output(noise: bytes, hex_data: bool) -> None:
    client = sk.SkStackClient(_BytesPort(noise), timing=FAST)
    client.hex_data = hex_data
    client.session_alive = True
    with contextlib.suppress(skc.SkStackError):
        client.command("SKVER")
    with contextlib.suppress(skc.SkStackError):
        client.receive(time.monotonic() + 0.01)


def test_binary_erxudp_is_cut_by_length_not_by_crlf() -> None:
    data = b"\x10\x81\r\n\x00\x01" + bytes(range(8))
    head = VECTORS["erxudp_binary"][0]["bytes_ascii"].rsplit(" ", 2)[0]
    port = _BytesPort(f"{head} {len(data):04X} ".encode() + data + b"\r\nEVENT 21 "
                     b"FE80:0000:0000:0000:021D:1290:1234:5678 0 00\r\n")
    client = sk.SkStackClient(port, timing=FAST)
    client.hex_data = False
    client.session_alive = True
    rx = client.receive(time.monotonic() + 0.1)
    assert rx is not None and rx.data == data and rx.side == 0
    assert client.family is skc.Family.BP35C0  # SIDE seen


def test_binary_vector_from_the_bp35c0_driver_test() -> None:
    vec = VECTORS["erxudp_binary"][0]
    client = sk.SkStackClient(_BytesPort(vec["bytes_ascii"].encode() + b"\r\n"), timing=FAST)
    client.hex_data = False
    client.session_alive = True
    rx = client.receive(time.monotonic() + 0.1)
    assert rx is not None and rx.data == bytes.fromhex(vec["data"])


def test_fail_is_raised_with_command_and_meaning() -> None:
    client = sk.SkStackClient(_BytesPort(b"SKSCAN 2\r\nFAIL ER06\r\n"), timing=FAST)
    with pytest.raises(skc.SkFail, match=r"SKSCAN answered FAIL ER06 \(invalid format"):
        client.command("SKSCAN 2")


def test_ropt_reply_ends_in_cr_only() -> None:
    client = sk.SkStackClient(_BytesPort(b"ROPT\r\nOK 01\rEVENT 22 "
                                        b"FE80:0000:0000:0000:021D:1290:0003:C890\r\n"),
                              timing=FAST)
    assert client.read_option() == 1
    client2 = sk.SkStackClient(_BytesPort(b"FAIL ER04\r\n"), timing=FAST)
    assert client2.read_option() is None


@pytest.mark.parametrize("family", list(skc.Family))
@pytest.mark.parametrize("fixed", [True, False])
def test_connect_to_the_interpreter_in_memory(family: skc.Family, fixed: bool) -> None:
    srv = _server(family)
    client = sk.SkStackClient(_ServerPort(srv), family=family if fixed else None)
    session = client.connect(CREDS)
    assert session.family is family and client.family is family
    assert session.peer == skc.ll64(srv.config.meter_mac) and client.session_alive
    assert srv.stats.joins == 1 and client.hex_data


def test_join_failure_and_session_end_events() -> None:
    srv = _server(join_failures=1)
    client = sk.SkStackClient(_ServerPort(srv))
    with pytest.raises(skc.SkJoinFailed, match="EVENT 24"):
        client.connect(CREDS)
    client.join(skc.ll64(srv.config.meter_mac))
    assert client.session_alive
    client.command("SKTERM")
    with pytest.raises(skc.SkSessionLost):
        client.sendto(skc.ll64(srv.config.meter_mac), b"\x10\x81")


def test_secrets_never_logged_even_with_echo(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    srv = _server()
    client = sk.SkStackClient(_ServerPort(srv))
    client.connect(CREDS, disable_echo=False)
    assert "SKSETPWD C ********" in caplog.text
    assert PASSWORD not in caplog.text and RBID not in caplog.text


def test_parse_erxudp_head_gives_the_datagram_without_data_and_its_length() -> None:
    tokens = ["FE80:0000:0000:0000:021C:6400:030C:12A4", "FE80:0000:0000:0000:021D:1291:0000:0574",
              "0E1A", "0E1A", "001C6400030C12A4", "1", "0", "0012"]
    head, datalen = skc.parse_erxudp_head(tokens)
    assert datalen == 0x12 and head.data == b"" and head.side == 0 and head.secured
    with pytest.raises(skc.SkProtocolError, match="DATALEN"):
        skc.parse_erxudp_head([*tokens[:-1], "12"])
    with pytest.raises(skc.SkProtocolError):
        skc.parse_erxudp_head([])


def test_is_ipv6_accepts_only_the_skstack_form() -> None:
    assert skc.is_ipv6("FE80:0000:0000:0000:021C:6400:030C:12A4")
    assert not skc.is_ipv6("fe80::21c:6400:30c:12a4")
    assert not skc.is_ipv6("OK")


def test_skstack_errors_are_in_the_agents_two_families() -> None:
    from agent.errors import MeterDataError, MeterError, MeterUnavailable

    assert issubclass(skc.SkProtocolError, MeterDataError)
    for cls in (skc.SkTimeout, skc.SkFail, skc.SkJoinFailed, skc.SkSessionLost):
        assert issubclass(cls, MeterUnavailable) and not issubclass(cls, MeterDataError)
    assert issubclass(skc.SkStackError, MeterError)


_TOKENS = st.sampled_from(["EVENT", "ERXUDP", "20", "21", "0", "1", "00", "0E1A", "0012", "",
                           "FE80:0000:0000:0000:021C:6400:030C:12A4", "001C6400030C12A4",
                           "zz", "Channel:21", "Pan ID:8888", "Addr:001C6400030C12A4", "LQI:E1",
                           "\u0660\u0661", "ff" * 18])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_TOKENS, st.text(max_size=12)), max_size=12))
def test_codec_parsers_raise_only_their_protocol_error(tokens: list[str]) -> None:
    line = " ".join(tokens)
    for parse in (lambda: skc.parse_event(line), lambda: skc.parse_erxudp(line),
                  lambda: skc.parse_epandesc(tokens), lambda: skc.parse_erxudp_head(tokens)):
        with contextlib.suppress(skc.SkProtocolError):
            parse()
