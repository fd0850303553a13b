"""SKSTACK-IP over a serial line: the client that talks to a Wi-SUN B-route dongle.

The syntax (both families, EVENT, ERXUDP, EPANDESC, SKSCAN and SKSENDTO) is
:mod:`agent.meters.skstack_codec`; this module moves bytes, waits for answers and keeps the
session state.

``family=None`` detects it: the first EVENT, EPANDESC or ERXUDP that carries a SIDE field
settles BP35C0, an EVENT 22 or 25 without one settles BP35A1; a ``FAIL ER05``/``ER06`` answer to
SKSCAN or SKSENDTO in one form makes the client try the other form once.

Line noise is tolerated: bytes that can never start a line (controls, 0x7F–0xFF) are stripped
from line starts, unusable lines are dropped, idempotent set-up commands (SKSREG, SKSETPWD,
SKSETRBID, SKSCAN, SKLL64, ROPT) are sent again after a timeout or a transient FAIL (ER09,
ER10), and a scan whose EVENT 22 is lost counts as "nothing found".

The B-route ID and password never appear in a log line or an exception message: commands that
carry them are logged as ``SKSETRBID ********``, every logged line is scrubbed of both strings
(a module with echo on repeats them), and failures name the command only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from agent.meters.skstack_codec import (
    CRLF,
    EVENT_JOIN_FAILED,
    EVENT_JOINED,
    EVENT_SCAN_DONE,
    MAX_LINE,
    SESSION_ENDED,
    Event,
    Family,
    PanDescriptor,
    RouteBCredentials,
    SkFail,
    SkJoinFailed,
    SkProtocolError,
    SkSessionLost,
    SkStackError,
    SkTimeout,
    UdpReceive,
    choose_pan,
    is_ipv6,
    ll64,
    parse_epandesc,
    parse_erxudp,
    parse_erxudp_head,
    parse_event,
    redact,
    scan_time_s,
    skscan_command,
    sksendto_header,
)
from eco_protocol.messages import msg

log = logging.getLogger(__name__)

_OPT_REPLY_RE: Final = re.compile(rb"(?:^|\n)(OK(?: ([0-9A-Fa-f]{2}))?|FAIL (ER\d\d))\r")
_LINE_NOISE: Final = bytes(range(0x20)) + bytes(range(0x7F, 0x100))  # never starts a line
_TRANSIENT: Final = frozenset({"ER09", "ER10"})  # UART input error, execution failed


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
            head, datalen = parse_erxudp_head([t.decode("ascii") for t in tokens])
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
        return dataclasses.replace(head, data=data)

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
                at = msg("agent.sk.at_baud", baud=baud) if isinstance(baud, int) else ""
                raise SkTimeout.coded("agent.sk.no_answer", name=name, limit=f"{limit:.1f}",
                                      at=at)
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
                    raise SkProtocolError.coded("agent.sk.no_value")
                return int(m.group(2), 16)
            if not self._fill(deadline):
                raise SkTimeout.coded("agent.sk.no_answer_to", command="ROPT",
                                      limit=f"{self.timing.command_s:.1f}")

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
                raise SkTimeout.coded("agent.sk.no_answer_to", command="WOPT",
                                      limit=f"{self.timing.command_s:.1f}")

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
                raise SkTimeout.coded("agent.sk.no_event", what=what,
                                      events=" or ".join(f"EVENT {n:02X}" for n in wanted))
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
                raise SkTimeout.coded("agent.sk.no_answer_to", command="SKLL64",
                                      limit=f"{self.timing.command_s:.1f}")
            line = self._dispatch(item)
            if line is None or line == text:
                continue
            if line.startswith("FAIL "):
                raise SkFail("SKLL64", line[5:].strip()[:8])
            if is_ipv6(line):
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
            raise SkJoinFailed.coded("agent.sk.join_failed")

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
            raise SkTimeout.coded("agent.sk.no_meter", durations=", ".join(map(str, durations)))
        return choose_pan(found, creds.rbid)

    def sendto(self, peer: str, data: bytes) -> None:
        """``SKSENDTO`` to the meter's ECHONET port, encrypted; the binary data is not followed
        by CR LF. Raises :class:`SkSessionLost` if the session ended meanwhile."""
        if not self.session_alive:
            raise SkSessionLost.coded("agent.sk.no_session")

        def run(family: Family) -> None:
            header = sksendto_header(peer, len(data), family)
            self._write(header.encode("ascii") + data, header + data.hex().upper())
            self._await_ok(header, None)

        self._family_retry(run, "SKSENDTO")
        if not self.session_alive:
            raise SkSessionLost.coded("agent.sk.ended_sending")

    def receive(self, deadline: float) -> UdpReceive | None:
        """The next UDP datagram received, or None at the deadline. Raises
        :class:`SkSessionLost` as soon as the session ends."""
        while True:
            if self._received:
                return self._received.popleft()
            if not self.session_alive:
                raise SkSessionLost.coded("agent.sk.ended")
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
