"""SKSTACK-IP, the command set of Wi-SUN B-route dongles: the pure codec.

Lines in, parsed events, datagrams and scan results out; command lines out. No port, no clock,
no logging: :mod:`agent.meters.skstack` is the serial client that moves the bytes.

Two families are handled, because their syntax differs in one field:

* **BP35A1** (ROHM): ``SKSCAN 2 <mask> <dur>``, ``SKSENDTO <h> <ip> <port> <sec> <len> <data>``,
  ``EVENT <num> <ip> [<param>]``, ``ERXUDP`` with 9 tokens, EPANDESC without ``Side``.
* **BP35C0** (ROHM BP35C0/BP35C2, newer Tessera RL7023 Stick-D/IPS firmware): a *SIDE* field
  (0 = B-route) everywhere — ``SKSCAN 2 <mask> <dur> <side>``, ``SKSENDTO … <sec> <side> <len>
  <data>``, ``EVENT <num> <ip> <side> [<param>]``, ``ERXUDP`` with 10 tokens, ``  Side:0`` in
  EPANDESC.

Sources, each read before use (see also ``docs/meters.md`` §2):

* BP35A1 command reference as implemented and unit-tested by smdn/Smdn.Net.SkStackIP
  (``SkStackEventParser.cs``: ERXUDP, EPANDESC with two-space field prefixes, EVENT with hex
  numbers; ``SkStackClient.Commands.SKSENDTO.cs``: "SKSENDTO must terminate the command line
  without CRLF"; ``SkStackClient.Commands.SKSCAN.cs``: duration factor 0–14, scan time
  9.6 ms × (2^d + 1) per channel; ``SkStackEventNumber.cs``: event numbers 0x01–0x33);
* a Zig BP35C0 driver (find_string "std.log.scoped(.bp35c0)"): SIDE in SKSCAN, SKSENDTO, EVENT,
  EPANDESC and ERXUDP; error codes ER04 unsupported command, ER05 invalid argument, ER06 invalid
  format or out of range, ER09 UART input error, ER10 execution failed, ER01–03/07–08 reserved;
  "the response to SKSENDTO starts with CRLF" (the echo's line end when echo is off);
* u-one/go-el-controller ``wisun/bp35c2_client.go`` and ``bp35c2_emulator.go`` (BP35C2: SIDE
  fields, ``EVENT 21 <ip> 0 00``, ERXUDP ``… <SENDERLLA> (<RSSI>) <SECURED> <SIDE> <DATALEN>
  <DATA>``);
* njm2360/BP35A1-B-Route ``app/bp35a1/bp35a1.py`` (ROPT/WOPT end their line with CR only; WOPT
  only when ROPT is not 01; re-authentication after EVENT 29), ayoko/wisun_bp35a1_python
  ``wisun.py`` and noytk/bp35a1_broute ``bp35a1.py`` (the sequence; growing scan duration;
  ``SKSETPWD C <pw>``), and a MicroPython ``BP35A1Client`` unit test (the echo of SKSENDTO is
  the header with its trailing space, without the binary data).

ERXUDP framing does not depend on the family: with hex data (``WOPT 01``) the data is the *last*
token of the line and DATALEN the one before it; with binary data (a module without ROPT) the
line is cut after the first 4-hex-digit token following SENDERLLA (DATALEN is always 4 digits;
SECURED, SIDE and RSSI are 1–2) and exactly DATALEN bytes are taken, so a CR LF inside the data
cannot split it.

Every parse error is a :class:`SkProtocolError` (a :class:`agent.errors.MeterDataError`); no
``ValueError`` or ``KeyError`` leaks out of a parser.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from agent.errors import MeterDataError, MeterError, MeterUnavailable
from eco_protocol.messages import msg

CRLF: Final = b"\r\n"
ECHONET_PORT: Final = 0x0E1A
PANA_PORT: Final = 0x02CC
MAX_LINE: Final = 4096  # longer "lines" are noise; ERXUDP of 1,232 bytes in hex is < 2,600
SCAN_CHANNELS: Final = 28  # 920 MHz band channels 33–60
REDACTED: Final = "********"


class Family(enum.StrEnum):
    BP35A1 = "bp35a1"
    BP35C0 = "bp35c0"  # also BP35C2 and RL7023 firmware with the SIDE field


ERROR_MEANINGS: Final = {
    "ER01": "reserved error code",
    "ER02": "reserved error code",
    "ER03": "reserved error code",
    "ER04": "unsupported command",
    "ER05": "invalid argument",
    "ER06": "invalid format or argument out of range",
    "ER07": "reserved error code",
    "ER08": "reserved error code",
    "ER09": "UART input error",
    "ER10": "execution failed",
}

EVENT_NAMES: Final = {
    0x01: "neighbor solicitation received",
    0x02: "neighbor advertisement received",
    0x05: "echo request received",
    0x1F: "energy-detect scan finished",
    0x20: "beacon received",
    0x21: "UDP send finished",
    0x22: "active scan finished",
    0x24: "PANA authentication failed",
    0x25: "PANA session established",
    0x26: "the meter asked to end the session",
    0x27: "session ended",
    0x28: "session end timed out",
    0x29: "PANA session lifetime expired",
    0x32: "ARIB transmission-time limit reached",
    0x33: "ARIB transmission-time limit released",
}
EVENT_BEACON: Final = 0x20
EVENT_UDP_SENT: Final = 0x21
EVENT_SCAN_DONE: Final = 0x22
EVENT_JOIN_FAILED: Final = 0x24
EVENT_JOINED: Final = 0x25
SESSION_ENDED: Final = frozenset({0x26, 0x27, 0x28, 0x29})
_EVENTS_WITH_PARAM: Final = frozenset({0x21, 0x45})

_IPV6_RE: Final = re.compile(r"^[0-9A-Fa-f]{4}(?::[0-9A-Fa-f]{4}){7}$")
_HEX_RE: Final = re.compile(r"^[0-9A-Fa-f]+$")


# --- errors --------------------------------------------------------------------------------


class SkStackError(MeterError):
    """The dongle could not do what was asked; ``str()`` says what and what to check."""


class SkTimeout(SkStackError, MeterUnavailable):
    """No answer (or not the awaited event) in time."""


class SkProtocolError(SkStackError, MeterDataError):
    """Bytes that are not SKSTACK-IP syntax (noise, a cut line, a wrong family)."""


class SkFail(SkStackError, MeterUnavailable):
    """The dongle answered ``FAIL ERxx`` to a command."""

    def __init__(self, command: str, code: str) -> None:
        meaning = msg("agent.sk.er.unknown" if code not in ERROR_MEANINGS else
                      "agent.sk.er.reserved" if ERROR_MEANINGS[code] == "reserved error code"
                      else f"agent.sk.er.{code}")
        super().__init__(msg("agent.sk.fail", command=command, code=code, meaning=meaning))
        self.command = command
        self.code = code


class SkJoinFailed(SkStackError, MeterUnavailable):
    """EVENT 24: PANA authentication with the meter failed."""


class SkSessionLost(SkStackError, MeterUnavailable):
    """EVENT 26–29: the PANA session ended; join again."""


# --- pure parsing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    number: int
    sender: str | None = None
    side: int | None = None
    param: int | None = None

    @property
    def name(self) -> str:
        return EVENT_NAMES.get(self.number, "unknown event")

    def __str__(self) -> str:
        return f"EVENT {self.number:02X} ({self.name})"


@dataclass(frozen=True, slots=True)
class UdpReceive:
    sender: str
    dest: str
    rport: int
    lport: int
    sender_lla: str
    secured: bool
    data: bytes
    side: int | None = None


@dataclass(frozen=True, slots=True)
class PanDescriptor:
    """One EPANDESC block: a coordinator (the meter) found by an active scan."""

    channel: int
    channel_page: int
    pan_id: int
    addr: str  # 64-bit MAC, 16 hex digits
    lqi: int
    side: int | None = None
    pair_id: str | None = None

    def __post_init__(self) -> None:
        if not 0x21 <= self.channel <= 0x3C:
            raise SkProtocolError(f"EPANDESC channel {self.channel:02X} is outside 21–3C")
        if not 0 <= self.pan_id <= 0xFFFF:
            raise SkProtocolError(f"EPANDESC PAN ID {self.pan_id:X} is not 16 bits")
        if len(self.addr) != 16 or not _HEX_RE.match(self.addr):
            raise SkProtocolError(f"EPANDESC Addr {self.addr!r} is not 16 hex digits")


def _hex_int(token: str, what: str, digits: int | None = None) -> int:
    if not token or not _HEX_RE.match(token) or (digits is not None and len(token) != digits):
        want = f"{digits} hex digits" if digits else "hex"
        raise SkProtocolError(f"{what} {token[:40]!r} is not {want}")
    return int(token, 16)


def _ipv6(token: str, what: str) -> str:
    if not _IPV6_RE.match(token):
        raise SkProtocolError(f"{what} {token[:60]!r} is not an IPv6 address in SKSTACK form")
    return token.upper()


def _flag(token: str, what: str) -> int:
    if token not in ("0", "1"):
        raise SkProtocolError(f"{what} {token[:10]!r} is not 0 or 1")
    return int(token)


def parse_event(line: str) -> Event:
    """``EVENT <num> [<ip>] [<side>] [<param>]`` (numbers hex)."""
    tokens = line.split(" ")
    if tokens[0] != "EVENT" or len(tokens) < 2:
        raise SkProtocolError(f"not an EVENT line: {line[:80]!r}")
    number = _hex_int(tokens[1], "EVENT number", 2)
    if len(tokens) == 2:
        return Event(number)
    sender = _ipv6(tokens[2], "EVENT sender")
    rest = tokens[3:]
    side = param = None
    if number in _EVENTS_WITH_PARAM:
        if len(rest) == 1:
            param = _hex_int(rest[0], "EVENT parameter", 2)
        elif len(rest) == 2:
            side, param = _flag(rest[0], "EVENT side"), _hex_int(rest[1], "EVENT parameter", 2)
        else:
            raise SkProtocolError(f"EVENT {number:02X} needs a parameter: {line[:80]!r}")
    elif len(rest) == 1:
        side = _flag(rest[0], "EVENT side")
    elif rest:
        raise SkProtocolError(f"too many fields in {line[:80]!r}")
    return Event(number, sender, side, param)


def _erxudp_fields(tokens: Sequence[str]) -> tuple[str, str, int, int, str, bool, int | None]:
    """sender, dest, rport, lport, lla, secured, side from the tokens between ERXUDP and
    DATALEN: 5 fixed ones, then SECURED | SECURED SIDE | RSSI SECURED SIDE."""
    if not 6 <= len(tokens) <= 8:
        raise SkProtocolError(f"ERXUDP has {len(tokens) + 3} fields; expected 9 (BP35A1) or "
                              "10 (BP35C0/C2, RL7023)")
    sender, dest = _ipv6(tokens[0], "ERXUDP sender"), _ipv6(tokens[1], "ERXUDP destination")
    rport = _hex_int(tokens[2], "ERXUDP remote port", 4)
    lport = _hex_int(tokens[3], "ERXUDP local port", 4)
    lla = tokens[4].upper()
    _hex_int(lla, "ERXUDP sender link-layer address", 16)
    middle = tokens[5:]
    if len(middle) == 3:  # RSSI SECURED SIDE
        _hex_int(middle[0], "ERXUDP RSSI")
        middle = middle[1:]
    secured = _flag(middle[0], "ERXUDP secured flag") == 1
    side = _flag(middle[1], "ERXUDP side") if len(middle) == 2 else None
    return sender, dest, rport, lport, lla, secured, side


def parse_erxudp(line: str) -> UdpReceive:
    """An ERXUDP line with hex data (``WOPT 01``): the data is the last token, DATALEN the one
    before it, and their lengths must agree."""
    tokens = line.split(" ")
    if tokens[0] != "ERXUDP" or len(tokens) < 9:
        raise SkProtocolError(f"not a complete ERXUDP line ({len(tokens)} fields): "
                              f"{line[:80]!r}")
    sender, dest, rport, lport, lla, secured, side = _erxudp_fields(tokens[1:-2])
    datalen = _hex_int(tokens[-2], "ERXUDP DATALEN", 4)
    text = tokens[-1]
    if len(text) != 2 * datalen or (text and not _HEX_RE.match(text)):
        raise SkProtocolError(f"ERXUDP announces {datalen} bytes but carries {len(text)} "
                              f"characters of data {text[:40]!r}; garbled or binary data")
    return UdpReceive(sender, dest, rport, lport, lla, secured, bytes.fromhex(text), side)


def parse_erxudp_head(tokens: Sequence[str]) -> tuple[UdpReceive, int]:
    """The fields of an ERXUDP line with binary data, from the tokens after ``ERXUDP`` up to
    and including DATALEN (4 hex digits): the datagram without its data, and DATALEN."""
    if not tokens:
        raise SkProtocolError("ERXUDP without fields")
    sender, dest, rport, lport, lla, secured, side = _erxudp_fields(tokens[:-1])
    datalen = _hex_int(tokens[-1], "ERXUDP DATALEN", 4)
    return UdpReceive(sender, dest, rport, lport, lla, secured, b"", side), datalen


def parse_epandesc(lines: Sequence[str]) -> PanDescriptor:
    """The indented ``Key:Value`` lines after an ``EPANDESC`` line (values hex)."""
    fields: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise SkProtocolError(f"EPANDESC line {line[:60]!r} is not Key:Value")
        fields[key] = value.strip()
    missing = [k for k in ("Channel", "Channel Page", "Pan ID", "Addr", "LQI") if k not in fields]
    if missing:
        raise SkProtocolError(f"EPANDESC without {', '.join(missing)}")
    side = fields.get("Side")
    return PanDescriptor(
        channel=_hex_int(fields["Channel"], "EPANDESC Channel"),
        channel_page=_hex_int(fields["Channel Page"], "EPANDESC Channel Page"),
        pan_id=_hex_int(fields["Pan ID"], "EPANDESC Pan ID"),
        addr=fields["Addr"].upper(),
        lqi=_hex_int(fields["LQI"], "EPANDESC LQI"),
        side=None if side is None else _flag(side, "EPANDESC Side"),
        pair_id=fields.get("PairID"),
    )


def is_ipv6(line: str) -> bool:
    """Whether ``line`` is an IPv6 address in SKSTACK form (8 groups of 4 hex digits), as
    SKLL64 answers."""
    return _IPV6_RE.match(line) is not None


def ll64(mac: str) -> str:
    """The link-local IPv6 address SKLL64 derives from a 64-bit MAC: flip the universal/local
    bit (0x02) of the first byte (RFC 4291 appendix A)."""
    if len(mac) != 16 or not _HEX_RE.match(mac):
        raise SkProtocolError(f"MAC address {mac!r} is not 16 hex digits")
    b = bytearray.fromhex(mac)
    b[0] ^= 0x02
    groups = [b[i:i + 2].hex().upper() for i in range(0, 8, 2)]
    return "FE80:0000:0000:0000:" + ":".join(groups)


def scan_time_s(duration: int, channels: int = SCAN_CHANNELS) -> float:
    """How long ``SKSCAN`` with this duration factor takes over ``channels`` channels."""
    return 0.0096 * ((1 << duration) + 1) * channels


def skscan_command(duration: int, family: Family, mode: int = 2,
                   channel_mask: int = 0xFFFFFFFF) -> str:
    if not 0 <= duration <= 14:
        raise ValueError(f"scan duration {duration} outside 0–14")
    cmd = f"SKSCAN {mode:X} {channel_mask:08X} {duration:X}"
    return cmd + " 0" if family is Family.BP35C0 else cmd


def sksendto_header(ip: str, length: int, family: Family, *, handle: int = 1,
                    port: int = ECHONET_PORT, security: int = 1) -> str:
    """The text before the binary data of SKSENDTO, including its trailing space."""
    if not 1 <= length <= 0x04D0:
        raise ValueError(f"SKSENDTO data length {length} outside 1–1232")
    side = " 0" if family is Family.BP35C0 else ""
    return f"SKSENDTO {handle:X} {ip} {port:04X} {security:X}{side} {length:04X} "


def redact(line: str, secrets: Iterable[str] = ()) -> str:
    """A line fit for a log: credentials in SKSETPWD/SKSETRBID and any secret string removed."""
    if line.startswith("SKSETRBID"):
        return f"SKSETRBID {REDACTED}"
    if line.startswith("SKSETPWD"):
        head = line.split(" ")[:2]
        return " ".join(head) + f" {REDACTED}" if len(head) == 2 else f"SKSETPWD {REDACTED}"
    for s in secrets:
        if s:
            line = line.replace(s, REDACTED)
    return line


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteBCredentials:
    """The B-route ID (32 characters) and password (1–32 characters) from the power company.
    ``repr`` and messages never show them."""

    rbid: str = field(repr=False)
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.rbid) != 32 or not self.rbid.isascii() or not self.rbid.isalnum():
            raise ValueError(f"the B-route ID must be 32 letters or digits (got "
                             f"{len(self.rbid)} characters)")
        if (not 1 <= len(self.password) <= 32 or not self.password.isascii()
                or not self.password.isprintable() or " " in self.password):
            raise ValueError(f"the B-route password must be 1–32 printable ASCII characters "
                             f"without spaces (got {len(self.password)} characters)")

    def __repr__(self) -> str:
        return f"RouteBCredentials({REDACTED})"


def choose_pan(found: Sequence[PanDescriptor], rbid: str) -> PanDescriptor:
    """The PAN to join: one whose PairID matches the end of the B-route ID if any [inference:
    the Pairing ID of SKSCAN 2 is derived from the ID], else the best link quality (LQI)."""
    tail = rbid[-8:].upper()
    paired = [p for p in found if p.pair_id is not None and p.pair_id.upper() == tail]
    return max(paired or found, key=lambda p: p.lqi)
