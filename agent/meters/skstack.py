"""SKSTACK-IP, the command set of Wi-SUN B-route dongles, over a serial line.

Two families are handled, because their syntax differs in one field:

* **BP35A1** (ROHM): ``SKSCAN 2 <mask> <dur>``, ``SKSENDTO <h> <ip> <port> <sec> <len> <data>``,
  ``EVENT <num> <ip> [<param>]``, ``ERXUDP`` with 9 tokens, EPANDESC without ``Side``.
* **BP35C0** (ROHM BP35C0/BP35C2, newer Tessera RL7023 Stick-D/IPS firmware): a *SIDE* field
  (0 = B-route) everywhere — ``SKSCAN 2 <mask> <dur> <side>``, ``SKSENDTO … <sec> <side> <len>
  <data>``, ``EVENT <num> <ip> <side> [<param>]``, ``ERXUDP`` with 10 tokens, ``  Side:0`` in
  EPANDESC.

``family=None`` detects it: the first EVENT, EPANDESC or ERXUDP that carries a SIDE field
settles BP35C0, an EVENT 22 or 25 without one settles BP35A1; a ``FAIL ER05``/``ER06`` answer to
SKSCAN or SKSENDTO in one form makes the client try the other form once.

Line noise is tolerated: bytes that can never start a line (controls, 0x7F–0xFF) are stripped
from line starts, unusable lines are dropped, idempotent set-up commands (SKSREG, SKSETPWD,
SKSETRBID, SKSCAN, SKLL64, ROPT) are sent again after a timeout or a transient FAIL (ER09,
ER10), and a scan whose EVENT 22 is lost counts as "nothing found".

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

The B-route ID and password never appear in a log line or an exception message: commands that
carry them are logged as ``SKSETRBID ********``, every logged line is scrubbed of both strings
(a module with echo on repeats them), and failures name the command only.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

log = logging.getLogger(__name__)

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
_OPT_REPLY_RE: Final = re.compile(rb"(?:^|\n)(OK(?: ([0-9A-Fa-f]{2}))?|FAIL (ER\d\d))\r")
_LINE_NOISE: Final = bytes(range(0x20)) + bytes(range(0x7F, 0x100))  # never starts a line
_TRANSIENT: Final = frozenset({"ER09", "ER10"})  # UART input error, execution failed


# --- errors --------------------------------------------------------------------------------


class SkStackError(Exception):
    """The dongle could not do what was asked; ``str()`` says what and what to check."""


class SkTimeout(SkStackError):
    pass


class SkProtocolError(SkStackError):
    """Bytes that are not SKSTACK-IP syntax (noise, a cut line, a wrong family)."""


class SkFail(SkStackError):
    def __init__(self, command: str, code: str) -> None:
        meaning = ERROR_MEANINGS.get(code, "unknown error code")
        super().__init__(f"{command} answered FAIL {code} ({meaning})")
        self.command = command
        self.code = code


class SkJoinFailed(SkStackError):
    """EVENT 24: PANA authentication with the meter failed."""


class SkSessionLost(SkStackError):
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


# --- the serial shell ------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class Session:
    peer: str  # the meter's link-local IPv6 address
    pan: PanDescriptor
    family: Family


@dataclass(frozen=True, slots=True)
class Timing:
    """Time limits of the dongle conversation, in seconds of wall time."""

    command_s: float = 5.0  # an OK/FAIL answer to an ordinary command
    join_s: float = 45.0  # SKJOIN until EVENT 25/24 (PANA takes several seconds)
    scan_margin_s: float = 5.0  # added to the computed scan time
    scan_factor: float = 1.0  # multiplies the computed scan time (simulators answer at once)

    def __post_init__(self) -> None:
        if min(self.command_s, self.join_s) <= 0 or self.scan_margin_s < 0:
            raise ValueError("time limits must be positive")
        if not 0 < self.scan_factor <= 1:
            raise ValueError("scan_factor must be within (0, 1]")


DEFAULT_TIMING: Final = Timing()


class SkStackClient:
    """Talks SKSTACK-IP over an open pyserial-like port (``read``, ``write``, ``timeout``,
    ``in_waiting``). Raises only :class:`SkStackError` subclasses (and ``OSError`` /
    ``serial.SerialException`` from the port itself)."""

    def __init__(self, port: Any, *, family: Family | None = None, timing: Timing = DEFAULT_TIMING,
                 secrets: Sequence[str] = (), monotonic: Callable[[], float] = time.monotonic,
                 name: str = "dongle") -> None:
        self.port = port
        self.family = family  # None until detected
        self.family_fixed = family is not None
        self.timing = timing
        self.hex_data = True  # ERXUDP data as hex text (WOPT 01); False: binary
        self.session_alive = False
        self.transmit_limited = False  # EVENT 32 seen and no EVENT 33 yet
        self.noise_lines = 0
        self.name = name
        self._secrets = tuple(s for s in secrets if s)
        self._monotonic = monotonic
        self._buf = bytearray()
        self._events: deque[Event] = deque(maxlen=256)
        self._received: deque[UdpReceive] = deque(maxlen=64)
        self._pans: list[PanDescriptor] = []
        self._pandesc: list[str] | None = None

    # -- logging ------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return redact(text, self._secrets)

    # -- bytes in -------------------------------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        """Read what the port has (waiting until ``deadline`` for the first byte)."""
        remaining = deadline - self._monotonic()
        if remaining <= 0:
            return False
        self.port.timeout = remaining
        chunk = bytes(self.port.read(1))
        if not chunk:
            return False
        waiting = getattr(self.port, "in_waiting", 0)
        if waiting:
            chunk += bytes(self.port.read(waiting))
        self._buf += chunk
        return True

    def _take_binary_erxudp(self) -> UdpReceive | bytes | None:
        """Cut a binary-data ERXUDP off the buffer: its object, or the raw line if it is not a
        well-formed one, or None if more bytes are needed."""
        buf = self._buf
        pos, tokens = 7, []  # after b"ERXUDP "
        while True:
            space = buf.find(b" ", pos)
            crlf = buf.find(CRLF, pos)
            if crlf != -1 and (space == -1 or crlf < space):
                return self._take_line()  # a line without data: not ours, let the caller judge
            if space == -1:
                return None if len(buf) < MAX_LINE else self._take_line(force=True)
            token = bytes(buf[pos:space])
            pos = space + 1
            tokens.append(token)
            if len(tokens) > 9 or not token.isascii():
                return self._take_line(force=True)
            if len(tokens) >= 7 and len(token) == 4:
                break
        try:
            fields = _erxudp_fields([t.decode("ascii") for t in tokens[:-1]])
            datalen = _hex_int(tokens[-1].decode("ascii"), "ERXUDP DATALEN", 4)
        except SkProtocolError as e:
            log.debug("%s: unusable ERXUDP header: %s", self.name, e)
            return self._take_line(force=True)
        if len(buf) < pos + datalen + 2:
            return None
        data = bytes(buf[pos:pos + datalen])
        if buf[pos + datalen:pos + datalen + 2] != CRLF:
            log.debug("%s: binary ERXUDP not followed by CR LF; dropping it", self.name)
            del buf[:pos + datalen]
            return b"ERXUDP (garbled)"
        del buf[:pos + datalen + 2]
        sender, dest, rport, lport, lla, secured, side = fields
        return UdpReceive(sender, dest, rport, lport, lla, secured, data, side)

    def _take_line(self, force: bool = False) -> bytes | None:
        i = self._buf.find(CRLF)
        if i == -1:
            if force or len(self._buf) >= MAX_LINE:
                line = bytes(self._buf)
                self._buf.clear()
                return line
            return None
        line = bytes(self._buf[:i])
        del self._buf[:i + 2]
        return line

    def _next(self, deadline: float) -> bytes | UdpReceive | None:
        """The next line (without CR LF) or binary ERXUDP; None at the deadline."""
        while True:
            while self._buf[:1] == b"\n":  # the LF after a CR-terminated ROPT/WOPT reply
                del self._buf[:1]
            item: bytes | UdpReceive | None
            if not self.hex_data and self._buf.startswith(b"ERXUDP "):
                item = self._take_binary_erxudp()
            else:
                item = self._take_line()
            if item is not None:
                return item
            if not self._fill(deadline):
                return None

    # -- dispatching -------------------------------------------------------------------------

    def _finish_pandesc(self) -> None:
        lines, self._pandesc = self._pandesc, None
        if lines is None:
            return
        try:
            pan = parse_epandesc(lines)
        except SkProtocolError as e:
            log.debug("%s: unusable EPANDESC: %s", self.name, e)
            self.noise_lines += 1
            return
        if pan.side is not None:
            self._detect(Family.BP35C0, "EPANDESC has a Side field")
        self._pans.append(pan)

    def _detect(self, family: Family, why: str) -> None:
        if self.family is None:
            log.info("%s: SKSTACK family %s (%s)", self.name, family.value, why)
            self.family = family

    def _on_event(self, ev: Event) -> None:
        if ev.side is not None:
            self._detect(Family.BP35C0, "EVENT lines carry a SIDE field")
        if ev.number == EVENT_JOINED:
            self.session_alive = True
        elif ev.number in SESSION_ENDED:
            if self.session_alive:
                log.info("%s: %s", self.name, ev)
            self.session_alive = False
        elif ev.number == 0x32:
            log.warning("%s: %s; the dongle refuses to send until it is released", self.name, ev)
            self.transmit_limited = True
        elif ev.number == 0x33:
            self.transmit_limited = False
        self._events.append(ev)

    def _dispatch(self, item: bytes | UdpReceive) -> str | None:
        """Handle asynchronous output; return a line that is part of a command's answer."""
        if isinstance(item, UdpReceive):
            log.debug("%s < ERXUDP (binary) from %s port %04X: %s", self.name, item.sender,
                      item.rport, item.data.hex().upper())
            if item.side is not None:
                self._detect(Family.BP35C0, "ERXUDP carries a SIDE field")
            self._received.append(item)
            return None
        clean = item.lstrip(_LINE_NOISE)
        if len(clean) != len(item):
            log.debug("%s < noise %r before a line", self.name, item[:len(item) - len(clean)][:20])
            self.noise_lines += 1
        try:
            line = clean.decode("ascii")
        except UnicodeDecodeError:
            line = "\x00"
        if not line.isprintable():
            log.debug("%s < noise %r", self.name, item[:60])
            self.noise_lines += 1
            self._finish_pandesc()
            return None
        if self._pandesc is not None:
            if line[:1] == " ":
                self._pandesc.append(line)
                return None
            self._finish_pandesc()
        log.debug("%s < %s", self.name, self._scrub(line))
        if not line:
            return None
        if line == "EPANDESC":
            self._pandesc = []
            return None
        try:
            if line.startswith("EVENT "):
                self._on_event(parse_event(line))
                return None
            if line.startswith("ERXUDP "):
                rx = parse_erxudp(line)
                if rx.side is not None:
                    self._detect(Family.BP35C0, "ERXUDP carries a SIDE field")
                self._received.append(rx)
                return None
        except SkProtocolError as e:
            log.debug("%s: ignoring a garbled line: %s", self.name, e)
            self.noise_lines += 1
            return None
        return line

    # -- commands -----------------------------------------------------------------------------

    def _write(self, data: bytes, shown: str) -> None:
        log.debug("%s > %s", self.name, self._scrub(shown))
        self.port.write(data)
        with contextlib.suppress(AttributeError):
            self.port.flush()

    def command(self, text: str, *, timeout_s: float | None = None, terminator: bytes = CRLF,
                retries: int = 0) -> list[str]:
        """Send one command line; return the lines before its ``OK`` (echo removed). Raises
        :class:`SkFail` on ``FAIL ERxx`` and :class:`SkTimeout` without an answer. An
        idempotent command may be sent again ``retries`` times after a timeout or a transient
        FAIL (ER09, ER10)."""
        for attempt in range(retries + 1):
            self._write(text.encode("ascii") + terminator, text)
            try:
                return self._await_ok(text, timeout_s)
            except (SkTimeout, SkFail) as e:
                if attempt == retries or (isinstance(e, SkFail) and e.code not in _TRANSIENT):
                    raise
                log.debug("%s: %s; sending %s again", self.name, e, text.split(" ", 1)[0])
        raise AssertionError("unreachable")

    def _await_ok(self, echo: str, timeout_s: float | None) -> list[str]:
        name = echo.split(" ", 1)[0]
        limit = self.timing.command_s if timeout_s is None else timeout_s
        deadline = self._monotonic() + limit
        lines: list[str] = []
        while True:
            item = self._next(deadline)
            if item is None:
                baud = getattr(self.port, "baudrate", None)
                at = f" at {baud} baud" if isinstance(baud, int) else ""
                raise SkTimeout(f"the dongle did not answer {name} within {limit:.1f} s{at}: "
                                "check [[meters]] port and baudrate (Wi-SUN dongles speak "
                                "115200 8N1) and the USB connection")
            line = self._dispatch(item)
            if line is None or line.rstrip() == echo.rstrip():
                continue
            if line == "OK" or line.startswith("OK "):
                return lines
            if line.startswith("FAIL "):
                raise SkFail(name, line[5:].strip()[:8])
            lines.append(line)

    def read_option(self) -> int | None:
        """``ROPT``: the ERXUDP data format byte (01 = hex), or None if unsupported (FAIL ER04).
        Its answer ends in CR only."""
        self._write(b"ROPT\r", "ROPT")
        deadline = self._monotonic() + self.timing.command_s
        while True:
            m = _OPT_REPLY_RE.search(bytes(self._buf))  # a copy: the buffer is cut below
            if m is not None:
                del self._buf[:m.end()]
                log.debug("%s < %s", self.name, m.group(1).decode())
                if m.group(3) is not None:
                    code = m.group(3).decode()
                    if code == "ER04":
                        return None
                    raise SkFail("ROPT", code)
                if m.group(2) is None:
                    raise SkProtocolError("ROPT answered OK without a value")
                return int(m.group(2), 16)
            if not self._fill(deadline):
                raise SkTimeout(f"no answer to ROPT within {self.timing.command_s:.1f} s")

    def write_option(self, value: int) -> None:
        """``WOPT``: writes flash, so only called when ROPT shows another value."""
        text = f"WOPT {value:02X}"
        self._write(text.encode("ascii") + b"\r", text)
        deadline = self._monotonic() + self.timing.command_s
        while True:
            m = _OPT_REPLY_RE.search(bytes(self._buf))
            if m is not None:
                del self._buf[:m.end()]
                if m.group(3) is not None:
                    raise SkFail("WOPT", m.group(3).decode())
                return
            if not self._fill(deadline):
                raise SkTimeout(f"no answer to WOPT within {self.timing.command_s:.1f} s")

    def reset(self) -> None:
        """``SKRESET``, after dropping whatever the port holds. A dongle still waiting for the
        data of an interrupted SKSENDTO swallows the first attempt, so it is tried 3 times."""
        with contextlib.suppress(AttributeError):
            self.port.reset_input_buffer()
        self._buf.clear()
        self._events.clear()
        self._received.clear()
        self.session_alive = False
        for attempt in range(3):
            try:
                self.command("SKRESET")
                return
            except SkTimeout:
                if attempt == 2:
                    raise
                self._write(CRLF, "(CR LF)")

    def ensure_hex_data(self) -> None:
        try:
            opt = self.read_option()
        except SkTimeout:
            opt = self.read_option()
        if opt is None:
            log.info("%s: ROPT is not supported; reading ERXUDP data as binary", self.name)
            self.hex_data = False
        elif opt & 0x01:
            self.hex_data = True
        else:
            log.info("%s: ERXUDP data format is %02X; writing 01 (hex) once with WOPT",
                     self.name, opt)
            self.write_option(opt | 0x01)
            self.hex_data = True

    def set_credentials(self, creds: RouteBCredentials) -> None:
        self._secrets = tuple({*self._secrets, creds.rbid, creds.password})
        self.command(f"SKSETPWD {len(creds.password):X} {creds.password}", retries=2)
        self.command(f"SKSETRBID {creds.rbid}", retries=2)

    def _wait_event(self, numbers: Iterable[int], deadline: float, what: str) -> Event:
        wanted = frozenset(numbers)
        while True:
            while self._events:
                ev = self._events.popleft()
                if ev.number in wanted:
                    return ev
            item = self._next(deadline)
            if item is None:
                raise SkTimeout(f"{what}: no {' or '.join(f'EVENT {n:02X}' for n in wanted)} "
                                "in time")
            line = self._dispatch(item)
            if line is not None and line.startswith("FAIL "):
                raise SkFail(what, line[5:].strip()[:8])

    def _family_retry(self, run: Callable[[Family], Any], what: str) -> Any:
        """Run a command in the known family's form; when the family is not known yet and the
        dongle refuses the form's arguments, try the other form once."""
        family = self.family or Family.BP35A1
        try:
            return run(family)
        except SkFail as e:
            if self.family_fixed or self.family is not None or e.code not in ("ER05", "ER06"):
                raise
            other = Family.BP35C0 if family is Family.BP35A1 else Family.BP35A1
            log.info("%s: %s refused in %s form (%s); trying the %s form", self.name, what,
                     family.value, e.code, other.value)
            result = run(other)
            self._detect(other, f"{what} accepted in that form")
            return result

    def active_scan(self, duration: int) -> list[PanDescriptor]:
        """``SKSCAN 2`` with this duration factor; the PANs found (EVENT 20 + EPANDESC)."""
        self._pans.clear()
        self._events.clear()

        def run(family: Family) -> None:
            self.command(skscan_command(duration, family), retries=1)

        self._family_retry(run, "SKSCAN")
        scan_s = scan_time_s(duration) * self.timing.scan_factor
        deadline = self._monotonic() + scan_s + self.timing.scan_margin_s
        done = self._wait_event({EVENT_SCAN_DONE}, deadline, f"SKSCAN duration {duration}")
        self._finish_pandesc()
        if done.side is None:
            self._detect(Family.BP35A1, "EVENT 22 without a SIDE field")
        return list(self._pans)

    def set_channel_and_pan(self, pan: PanDescriptor) -> None:
        self.command(f"SKSREG S2 {pan.channel:02X}", retries=2)
        self.command(f"SKSREG S3 {pan.pan_id:04X}", retries=2)

    def link_local(self, mac: str) -> str:
        """``SKLL64``: answered by a bare address line, without OK (sent twice at most)."""
        try:
            return self._link_local(mac)
        except SkTimeout:
            return self._link_local(mac)

    def _link_local(self, mac: str) -> str:
        text = f"SKLL64 {mac}"
        self._write(text.encode("ascii") + CRLF, text)
        deadline = self._monotonic() + self.timing.command_s
        while True:
            item = self._next(deadline)
            if item is None:
                raise SkTimeout(f"no answer to SKLL64 within {self.timing.command_s:.1f} s")
            line = self._dispatch(item)
            if line is None or line == text:
                continue
            if line.startswith("FAIL "):
                raise SkFail("SKLL64", line[5:].strip()[:8])
            if _IPV6_RE.match(line):
                return line.upper()
            log.debug("%s: unexpected answer to SKLL64: %r", self.name, line[:80])

    def join(self, peer: str) -> None:
        """``SKJOIN``: OK, then PANA traffic, then EVENT 25 (joined) or EVENT 24 (failed)."""
        self._events.clear()
        self.session_alive = False
        self.command(f"SKJOIN {peer}")
        deadline = self._monotonic() + self.timing.join_s
        ev = self._wait_event({EVENT_JOINED, EVENT_JOIN_FAILED}, deadline, "SKJOIN")
        if ev.side is None:
            self._detect(Family.BP35A1, f"EVENT {ev.number:02X} without a SIDE field")
        if ev.number == EVENT_JOIN_FAILED:
            raise SkJoinFailed("PANA authentication failed (EVENT 24): check broute_id and "
                               "broute_password, or move the dongle closer to the meter")

    def connect(self, creds: RouteBCredentials, *, durations: Sequence[int] = (4, 5, 6, 7),
                known_pan: PanDescriptor | None = None, disable_echo: bool = True) -> Session:
        """The whole B-route set-up: reset, echo off, hex data, credentials, scan with growing
        duration (skipped with ``known_pan``), channel and PAN, SKLL64, SKJOIN."""
        self.reset()
        if disable_echo:
            try:
                self.command("SKSREG SFE 0", retries=2)
            except SkFail as e:
                log.info("%s: echo stays on (%s)", self.name, e)
        self.ensure_hex_data()
        self.set_credentials(creds)
        pan = known_pan or self.scan(durations, creds)
        self.set_channel_and_pan(pan)
        peer = self.link_local(pan.addr)
        if peer != ll64(pan.addr):
            log.warning("%s: SKLL64 %s gave %s, expected %s; using the dongle's answer",
                        self.name, pan.addr, peer, ll64(pan.addr))
        self.join(peer)
        return Session(peer, pan, self.family or Family.BP35A1)

    def scan(self, durations: Sequence[int], creds: RouteBCredentials) -> PanDescriptor:
        found: list[PanDescriptor] = []
        for duration in durations:
            try:
                found = self.active_scan(duration)
            except SkTimeout as e:  # EVENT 22 lost: as good as nothing found
                log.info("%s: %s", self.name, e)
                continue
            if found:
                break
            log.info("%s: no meter answered a scan of duration %d", self.name, duration)
        if not found:
            raise SkTimeout(f"no smart meter found by active scans of duration "
                            f"{', '.join(map(str, durations))}; check that the B-route service "
                            "is activated and the dongle is within range")
        return choose_pan(found, creds.rbid)

    def sendto(self, peer: str, data: bytes) -> None:
        """``SKSENDTO`` to the meter's ECHONET port, encrypted; the binary data is not followed
        by CR LF. Raises :class:`SkSessionLost` if the session ended meanwhile."""
        if not self.session_alive:
            raise SkSessionLost("no PANA session")

        def run(family: Family) -> None:
            header = sksendto_header(peer, len(data), family)
            self._write(header.encode("ascii") + data, header + data.hex().upper())
            self._await_ok(header, None)

        self._family_retry(run, "SKSENDTO")
        if not self.session_alive:
            raise SkSessionLost("the PANA session ended while sending")

    def receive(self, deadline: float) -> UdpReceive | None:
        """The next UDP datagram received, or None at the deadline. Raises
        :class:`SkSessionLost` as soon as the session ends."""
        while True:
            if self._received:
                return self._received.popleft()
            if not self.session_alive:
                raise SkSessionLost("the PANA session ended")
            item = self._next(deadline)
            if item is None:
                return None
            self._dispatch(item)

    def terminate(self) -> None:
        """``SKTERM``, best effort, when closing."""
        if self.session_alive:
            with contextlib.suppress(SkStackError):
                self.command("SKTERM", timeout_s=min(2.0, self.timing.command_s))
        self.session_alive = False


def choose_pan(found: Sequence[PanDescriptor], rbid: str) -> PanDescriptor:
    """The PAN to join: one whose PairID matches the end of the B-route ID if any [inference:
    the Pairing ID of SKSCAN 2 is derived from the ID], else the best link quality (LQI)."""
    tail = rbid[-8:].upper()
    paired = [p for p in found if p.pair_id is not None and p.pair_id.upper() == tail]
    return max(paired or found, key=lambda p: p.lqi)
