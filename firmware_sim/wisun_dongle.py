"""A simulated Wi-SUN B-route dongle speaking SKSTACK-IP on a pseudo-terminal, with the smart
meter's ECHONET Lite node (:mod:`firmware_sim.echonet_node`) on the other side of the radio.

Both command families of :mod:`agent.meters.skstack_codec` are spoken — ``bp35a1`` (no SIDE field)
and ``bp35c0`` (BP35C0/C2, RL7023: SIDE in SKSCAN, SKSENDTO, EVENT, EPANDESC and ERXUDP) — with
the module's habits: echo on after SKRESET until ``SKSREG SFE 0``; ``ROPT``/``WOPT`` answered
with a CR-only line, the ERXUDP data format kept as in flash (binary until ``WOPT 01``); SKSENDTO
taking exactly DATALEN bytes after its header; ``SKLL64`` answered by a bare address line;
``SKJOIN`` answered OK, then PANA datagrams on port 02CC, then EVENT 25 (or EVENT 24 for a wrong
ID or password); after joining, the meter multicasts its instance list (INF of node profile D5).

Fault injection (:class:`DongleFaults`): junk bytes in front of output lines, ``FAIL ER10``
answers, ECHONET requests left unanswered, answers delivered late (after the next request),
silent windows, meter replacement (registers restart at 0 with a new serial), failing joins,
session expiry (EVENT 29), "no data" registers, and a dongle without ROPT (binary ERXUDP).
Rollover is a matter of the initial register (``initial_import_wh`` close to the wrap).

Simplification: when a SKSENDTO header cannot be parsed the dongle answers ``FAIL ER06`` and
discards what it has received, so a wrong-family attempt does not leave binary data behind to
be read as commands.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime

from agent.clock import Clock
from agent.meters.skstack_codec import ECHONET_PORT, PANA_PORT, Family, SkProtocolError, ll64
from firmware_sim.echonet_node import EchonetNode
from firmware_sim.pty_endpoint import PtyEndpoint

log = logging.getLogger(__name__)

CRLF = b"\r\n"
MULTICAST = "FF02:0000:0000:0000:0000:0000:0000:0001"
_IDLE_POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class DongleFaults:
    """What goes wrong. Fractions are probabilities drawn from a RNG seeded with the dongle's
    seed; windows and instants are in *clock* time."""

    noise_fraction: float = 0.0  # output lines preceded by junk bytes
    fail_fraction: float = 0.0  # commands answered FAIL ER10 instead of being executed
    drop_fraction: float = 0.0  # ECHONET requests the meter never answers
    late_fraction: float = 0.0  # answers held back and delivered before the next one
    silent: tuple[tuple[datetime, datetime], ...] = ()  # [start, end): no output at all
    replace_at: tuple[datetime, ...] = ()  # meter replaced: registers 0, new serial
    join_failures: int = 0  # the first N joins fail with EVENT 24 (radio trouble)
    session_lifetime_s: float | None = None  # clock seconds after joining: EVENT 29
    no_data: tuple[int, ...] = ()  # meter EPCs answering 0xFFFFFFFE ("no measurement")
    ropt_unsupported: bool = False  # ROPT/WOPT → FAIL ER04; ERXUDP data stays binary

    def __post_init__(self) -> None:
        for name in ("noise_fraction", "fail_fraction", "drop_fraction", "late_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {v}")
        if self.join_failures < 0:
            raise ValueError("join_failures must be >= 0")
        if self.session_lifetime_s is not None and self.session_lifetime_s <= 0:
            raise ValueError("session_lifetime_s must be positive")
        for start, end in self.silent:
            if start.tzinfo is None or end.tzinfo is None or end < start:
                raise ValueError("silent windows need aware datetimes with start <= end")
        if any(t.tzinfo is None for t in self.replace_at):
            raise ValueError("replacement instants must be aware datetimes")

    def is_silent(self, now: datetime) -> bool:
        return any(start <= now < end for start, end in self.silent)


@dataclass(frozen=True, slots=True)
class DongleConfig:
    rbid: str = field(repr=False)
    password: str = field(repr=False)
    family: Family = Family.BP35A1
    dongle_mac: str = "001D129012345678"
    meter_mac: str = "001C6400030C12A4"
    channel: int = 0x21
    pan_id: int = 0x8888
    lqi: int = 0xE1
    min_scan_duration: int = 5  # shorter scans find nothing (the agent must grow it)
    erxudp_option: int = 0x00  # the ROPT value in flash at start: binary ERXUDP data

    def __post_init__(self) -> None:
        if len(self.rbid) != 32 or not 1 <= len(self.password) <= 32:
            raise ValueError("rbid must have 32 characters and password 1–32")
        if not 0x21 <= self.channel <= 0x3C:
            raise ValueError("channel must be within 0x21..0x3C")

    @property
    def dongle_ip(self) -> str:
        return ll64(self.dongle_mac)

    @property
    def meter_ip(self) -> str:
        return ll64(self.meter_mac)

    @property
    def pair_id(self) -> str:
        return self.rbid[-8:].upper()


@dataclass(slots=True)
class DongleStats:
    commands: int = 0
    fails: int = 0
    requests: int = 0  # ECHONET datagrams sent to the meter
    answered: int = 0
    dropped: int = 0
    late: int = 0
    noise: int = 0
    joins: int = 0
    expired: int = 0
    replacements: int = 0


class SkStackServer:
    """The dongle's command interpreter: bytes from the host in, bytes to the host out. Pure
    apart from the clock it is given."""

    def __init__(self, config: DongleConfig, node: EchonetNode, clock: Clock, *,
                 faults: DongleFaults | None = None, seed: int = 0) -> None:
        self.config = config
        self.node = node
        self.clock = clock
        self.faults = faults or DongleFaults()
        self.stats = DongleStats()
        self._rng = random.Random(f"eco-sim/wisun-faults/{seed}")
        self._buf = bytearray()
        self._opt = config.erxudp_option
        self._echo = True
        self._regs: dict[str, str] = {}
        self._rbid: str | None = None
        self._pwd: str | None = None
        self._joined_at: datetime | None = None
        self._late: list[bytes] = []
        self._replaced: set[datetime] = set()
        self.node.no_data = set(self.faults.no_data)

    # -- formatting ------------------------------------------------------------------------------

    @property
    def c0(self) -> bool:
        return self.config.family is Family.BP35C0

    def _side(self) -> str:
        return " 0" if self.c0 else ""

    def _line(self, out: bytearray, text: str | bytes) -> None:
        data = text.encode("ascii") if isinstance(text, str) else text
        if self._rng.random() < self.faults.noise_fraction:
            self.stats.noise += 1
            out += bytes(self._rng.choice(b"\x00\x13\x7f\xa5\xff#*~") for _ in range(
                self._rng.randint(1, 6)))
        out += data + CRLF

    def _event(self, out: bytearray, number: int, sender: str | None = None,
               param: int | None = None) -> None:
        sender = sender or self.config.dongle_ip
        tail = "" if param is None else f" {param:02X}"
        self._line(out, f"EVENT {number:02X} {sender}{self._side()}{tail}")

    def _erxudp(self, out: bytearray, sender: str, dest: str, port: int, data: bytes) -> None:
        side = " 0" if self.c0 else ""
        head = (f"ERXUDP {sender} {dest} {port:04X} {port:04X} {self.config.meter_mac} 1{side} "
                f"{len(data):04X} ")
        payload = data.hex().upper().encode("ascii") if self._opt & 1 else data
        self._line(out, head.encode("ascii") + payload)

    # -- input ---------------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume bytes from the host; return what the dongle writes back."""
        self._buf += data
        out = bytearray()
        now = self.clock.now()
        self._replace_meter_if_due(now)
        while True:
            while bytes(self._buf[:1]) in (b"\n", b" "):
                del self._buf[:1]
            if not self._buf:
                break
            if self._buf.startswith(b"SKSENDTO "):
                if not self._take_sendto(out, now):
                    break
                continue
            cr = self._buf.find(b"\r")
            if cr == -1:
                if len(self._buf) > 4096:
                    self._buf.clear()
                    self._line(out, "FAIL ER09")
                break
            line = bytes(self._buf[:cr])
            del self._buf[:cr + 1]
            self._command(out, line, now)
        if self.faults.is_silent(now):
            return b""
        return bytes(out)

    def _replace_meter_if_due(self, now: datetime) -> None:
        for at in self.faults.replace_at:
            if at <= now and at not in self._replaced:
                self._replaced.add(at)
                self.node.energy.reset_meter(at)
                serial = self.node.meter.serial
                self.node.meter = replace(self.node.meter,
                                          serial=f"R{len(self._replaced)}{serial[2:]}"[:12])
                self.stats.replacements += 1
                log.info("meter replaced at %s: serial %s", at, self.node.meter.serial)

    def _expire_session(self, out: bytearray, now: datetime) -> None:
        life = self.faults.session_lifetime_s
        if (self._joined_at is not None and life is not None
                and (now - self._joined_at).total_seconds() > life):
            self._joined_at = None
            self.stats.expired += 1
            self._event(out, 0x29, self.config.meter_ip)

    def _command(self, out: bytearray, raw: bytes, now: datetime) -> None:
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            self._line(out, "FAIL ER09")
            return
        if not line.strip():
            return
        self.stats.commands += 1
        if self._echo:
            self._line(out, raw)
        self._expire_session(out, now)
        words = line.split()
        name, args = words[0], words[1:]
        if name not in ("SKRESET",) and self._rng.random() < self.faults.fail_fraction:
            self.stats.fails += 1
            self._line(out, "FAIL ER10")
            return
        handler = getattr(self, f"_cmd_{name.lower()}", None)
        if handler is None or not name.isalnum():
            self._line(out, "FAIL ER04")
            return
        handler(out, args, now)

    # -- commands ------------------------------------------------------------------------------

    def _cmd_skreset(self, out: bytearray, args: list[str], now: datetime) -> None:
        self._echo, self._regs, self._joined_at, self._late = True, {}, None, []
        self._line(out, "OK")

    def _cmd_skver(self, out: bytearray, args: list[str], now: datetime) -> None:
        self._line(out, "EVER 1.5.2" if self.c0 else "EVER 1.2.10")
        self._line(out, "OK")

    def _cmd_skinfo(self, out: bytearray, args: list[str], now: datetime) -> None:
        ch = self._regs.get("S2", "21")
        pan = self._regs.get("S3", "FFFF")
        self._line(out, f"EINFO {self.config.dongle_ip} {self.config.dongle_mac} {ch} {pan} FFFE")
        self._line(out, "OK")

    def _cmd_sksreg(self, out: bytearray, args: list[str], now: datetime) -> None:
        if not args:
            self._line(out, "FAIL ER05")
            return
        reg = args[0].upper()
        reg = {"S02": "S2", "S03": "S3"}.get(reg, reg)
        if len(args) == 1:
            value = "1" if reg == "SFE" and self._echo else self._regs.get(reg)
            if value is None and reg != "SFE":
                self._line(out, "FAIL ER06")
                return
            self._line(out, f"ESREG {value if value is not None else '0'}")
            self._line(out, "OK")
            return
        value = args[1].upper()
        if reg == "SFE":
            if value not in ("0", "1"):
                self._line(out, "FAIL ER06")
                return
            self._echo = value == "1"
        elif reg in ("S2", "S3"):
            try:
                n = int(value, 16)
            except ValueError:
                self._line(out, "FAIL ER06")
                return
            if (reg == "S2" and not 0x21 <= n <= 0x3C) or not 0 <= n <= 0xFFFF:
                self._line(out, "FAIL ER06")
                return
            self._regs[reg] = f"{n:02X}" if reg == "S2" else f"{n:04X}"
        self._line(out, "OK")

    def _cmd_ropt(self, out: bytearray, args: list[str], now: datetime) -> None:
        if self.faults.ropt_unsupported:
            self._line(out, "FAIL ER04")
            return
        out += f"OK {self._opt:02X}\r".encode("ascii")

    def _cmd_wopt(self, out: bytearray, args: list[str], now: datetime) -> None:
        if self.faults.ropt_unsupported:
            self._line(out, "FAIL ER04")
            return
        try:
            value = int(args[0], 16) if len(args) == 1 else -1
        except ValueError:
            value = -1
        if not 0 <= value <= 0xFF:
            out += b"FAIL ER06\r"
            return
        self._opt = value
        out += b"OK\r"

    def _cmd_sksetpwd(self, out: bytearray, args: list[str], now: datetime) -> None:
        try:
            ok = len(args) == 2 and int(args[0], 16) == len(args[1]) and 1 <= len(args[1]) <= 32
        except ValueError:
            ok = False
        if not ok:
            self._line(out, "FAIL ER06")
            return
        self._pwd = args[1]
        self._line(out, "OK")

    def _cmd_sksetrbid(self, out: bytearray, args: list[str], now: datetime) -> None:
        if len(args) != 1 or len(args[0]) != 32:
            self._line(out, "FAIL ER06")
            return
        self._rbid = args[0]
        self._line(out, "OK")

    def _cmd_skscan(self, out: bytearray, args: list[str], now: datetime) -> None:
        if len(args) != (4 if self.c0 else 3):
            self._line(out, "FAIL ER05")
            return
        try:
            mode, mask, duration = int(args[0], 16), int(args[1], 16), int(args[2], 16)
        except ValueError:
            self._line(out, "FAIL ER06")
            return
        if mode not in (0, 2, 3) or not 0 <= duration <= 14 or (self.c0 and args[3] != "0"):
            self._line(out, "FAIL ER06")
            return
        self._line(out, "OK")
        cfg = self.config
        if mode != 0 and duration >= cfg.min_scan_duration and mask >> (cfg.channel - 0x21) & 1:
            self._event(out, 0x20, cfg.meter_ip)
            self._line(out, "EPANDESC")
            lines = [f"  Channel:{cfg.channel:02X}", "  Channel Page:09",
                     f"  Pan ID:{cfg.pan_id:04X}", f"  Addr:{cfg.meter_mac}",
                     f"  LQI:{cfg.lqi:02X}"]
            if self.c0:
                lines.append("  Side:0")
            if mode == 2:
                lines.append(f"  PairID:{cfg.pair_id}")
            for text in lines:
                self._line(out, text)
        self._event(out, 0x22)

    def _cmd_skll64(self, out: bytearray, args: list[str], now: datetime) -> None:
        if len(args) != 1:
            self._line(out, "FAIL ER05")
            return
        try:
            self._line(out, ll64(args[0]))
        except SkProtocolError:
            self._line(out, "FAIL ER06")

    def _cmd_skjoin(self, out: bytearray, args: list[str], now: datetime) -> None:
        if len(args) != 1:
            self._line(out, "FAIL ER05")
            return
        cfg = self.config
        self._line(out, "OK")
        self.stats.joins += 1
        self._joined_at = None
        self._event(out, 0x21, param=0x02)
        right_place = (args[0].upper() == cfg.meter_ip
                       and self._regs.get("S2") == f"{cfg.channel:02X}"
                       and self._regs.get("S3") == f"{cfg.pan_id:04X}")
        if not right_place:  # nobody answers on that channel/PAN/address
            self._event(out, 0x24, args[0].upper())
            return
        self._erxudp(out, cfg.meter_ip, cfg.dongle_ip, PANA_PORT, bytes(self._rng.randrange(256)
                                                                        for _ in range(40)))
        self._event(out, 0x21, param=0x00)
        good = self._rbid == cfg.rbid and self._pwd == cfg.password
        if not good or self.stats.joins <= self.faults.join_failures:
            self._event(out, 0x24, cfg.meter_ip)
            return
        self._erxudp(out, cfg.meter_ip, cfg.dongle_ip, PANA_PORT, bytes(self._rng.randrange(256)
                                                                        for _ in range(24)))
        self._event(out, 0x25, cfg.meter_ip)
        self._joined_at = now
        self._erxudp(out, cfg.meter_ip, MULTICAST, ECHONET_PORT, self.node.announcement())

    def _cmd_skterm(self, out: bytearray, args: list[str], now: datetime) -> None:
        if self._joined_at is None:
            self._line(out, "FAIL ER10")
            return
        self._joined_at = None
        self._line(out, "OK")
        self._event(out, 0x27, self.config.meter_ip)

    # -- SKSENDTO ----------------------------------------------------------------------------

    def _take_sendto(self, out: bytearray, now: datetime) -> bool:
        """Parse ``SKSENDTO`` header + DATALEN bytes; False if more bytes are needed."""
        nargs = 6 if self.c0 else 5
        pos, tokens = len(b"SKSENDTO "), list[str]()
        while len(tokens) < nargs:
            space = self._buf.find(b" ", pos)
            cr = self._buf.find(b"\r", pos)
            if cr != -1 and (space == -1 or cr < space):
                return self._reject_sendto(out, "ER05")  # a line too short for the family
            end = len(self._buf) if space == -1 else space
            if any(not 0x21 <= b <= 0x7E for b in self._buf[pos:end]) or end - pos > 39:
                return self._reject_sendto(out, "ER06")  # binary data where a field belongs
            if space == -1:
                return False
            tokens.append(bytes(self._buf[pos:space]).decode("ascii", "replace"))
            pos = space + 1
        try:
            handle, port, sec = int(tokens[0], 16), int(tokens[2], 16), int(tokens[3], 16)
            side = int(tokens[4], 16) if self.c0 else 0
            if len(tokens[-1]) != 4:
                raise ValueError("DATALEN has 4 hex digits")
            length = int(tokens[-1], 16)
        except ValueError:
            return self._reject_sendto(out, "ER06")
        ip = tokens[1].upper()
        if not (1 <= handle <= 6 and sec in (0, 1, 2) and side == 0 and 1 <= length <= 0x4D0
                and len(ip) == 39):
            return self._reject_sendto(out, "ER06")
        if len(self._buf) < pos + length:
            return False
        data = bytes(self._buf[pos:pos + length])
        header = bytes(self._buf[:pos])
        del self._buf[:pos + length]
        self._sendto(out, header, ip, port, data, now)
        return True

    def _reject_sendto(self, out: bytearray, code: str) -> bool:
        self._buf.clear()
        self._line(out, f"FAIL {code}")
        return True

    def _sendto(self, out: bytearray, header: bytes, ip: str, port: int, data: bytes,
                now: datetime) -> None:
        self.stats.commands += 1
        self._line(out, header if self._echo else b"")
        self._expire_session(out, now)
        if self._rng.random() < self.faults.fail_fraction:
            self.stats.fails += 1
            self._line(out, "FAIL ER10")
            return
        cfg = self.config
        self._event(out, 0x21, param=0x00)
        self._line(out, "OK")
        if self._joined_at is None or ip != cfg.meter_ip or port != ECHONET_PORT:
            return  # encrypted send without a session: the data is dropped
        self.stats.requests += 1
        answer = self.node.handle(data, now)
        for held in self._late:
            self._erxudp(out, cfg.meter_ip, cfg.dongle_ip, ECHONET_PORT, held)
        self._late = []
        if answer is None:
            return
        if self._rng.random() < self.faults.drop_fraction:
            self.stats.dropped += 1
            return
        if self._rng.random() < self.faults.late_fraction:
            self.stats.late += 1
            self._late.append(answer)
            return
        self.stats.answered += 1
        self._erxudp(out, cfg.meter_ip, cfg.dongle_ip, ECHONET_PORT, answer)


class PtyWisunDongle(PtyEndpoint):
    """A :class:`SkStackServer` on its own pty; the agent opens :attr:`port`."""

    thread_name = "pty-wisun-dongle"

    def __init__(self, server: SkStackServer) -> None:
        super().__init__()
        self.server = server
        self._lock = threading.Lock()

    def on_start(self) -> None:
        log.info("Wi-SUN dongle (%s) on %s", self.server.config.family.value, self.port)

    def on_bytes(self, data: bytes) -> bytes:
        with self._lock:
            return self.server.feed(data)
