"""The agent against a minimal BP35A1 emulator written here from the SKSTACK-IP command reference
alone (as summarised in docs/meters.md §2 and smdn/Smdn.Net.SkStackIP's tests), independent of
firmware_sim and of the agent's own codecs: echo on by default, ROPT → ``OK 00`` + CR, WOPT,
SKSETPWD/SKSETRBID, SKSCAN 2 with EVENT 20 + EPANDESC + EVENT 22, SKSREG, SKLL64 (a bare address
line), SKJOIN → EVENT 25, SKSENDTO with DATALEN binary bytes → EVENT 21, OK, ERXUDP.

The emulated meter holds E0 = 543210 and E3 = 1234 in units of 0.01 kWh (E1 = 02), coefficient 1,
6 digits; its ECHONET Lite answer is assembled byte by byte below. The agent must read exactly
5,432,100 Wh and 12,340 Wh — the kWh the device holds."""

from __future__ import annotations

import os
import select
import threading
import tty
from collections.abc import Iterator

import pytest

from agent.meters.broute import BRouteMeter
from agent.meters.skstack import Timing
from agent.meters.skstack_codec import RouteBCredentials
from eco_protocol.records import Quantity

RBID = "FEDCBA9876543210FEDCBA9876543210"
PASSWORD = "ABCDEFGHIJKL"
METER_MAC = "001C6400030C12A4"
METER_IP = "FE80:0000:0000:0000:021C:6400:030C:12A4"  # SKLL64: flip bit 0x02 of byte 0
OWN_IP = "FE80:0000:0000:0000:021D:1290:1234:5678"
HELD = {0xE0: 543210, 0xE3: 1234}  # × 0.01 kWh
PROPERTIES = {0x8A: bytes([0x00, 0x00, 0x16]), 0x8D: b"EMU-000042\x00\x00", 0xD3: b"\x00" * 3
              + b"\x01", 0xD7: b"\x06", 0xE1: b"\x02", 0xE7: (250).to_bytes(4, "big"),
              0xE0: HELD[0xE0].to_bytes(4, "big"), 0xE3: HELD[0xE3].to_bytes(4, "big")}


class _MinimalBp35a1:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.echo, self.opt, self.regs = True, 0, {}
        self.pwd = self.rbid = ""
        self.log: list[str] = []
        self.buf = b""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def line(self, text: str) -> None:
        self.send(text.encode() + b"\r\n")

    def serve(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                self.buf += os.read(self.master, 4096)
                self.drain()

    def drain(self) -> None:
        while True:
            self.buf = self.buf.lstrip(b"\n")
            if self.buf.startswith(b"SKSENDTO "):
                parts = self.buf.split(b" ", 6)  # SKSENDTO h ip port sec len <data…>
                if len(parts) < 7:
                    return
                n = int(parts[5], 16)
                head = b" ".join(parts[:6]) + b" "
                if len(self.buf) < len(head) + n:
                    return
                data, self.buf = self.buf[len(head):len(head) + n], self.buf[len(head) + n:]
                self.sendto(head.decode(), data)
                continue
            if b"\r" not in self.buf:
                return
            raw, self.buf = self.buf.split(b"\r", 1)
            self.command(raw.decode())

    def command(self, text: str) -> None:
        self.log.append(text)
        if self.echo:
            self.line(text)
        word, *args = text.split(" ")
        if word == "SKRESET":
            self.echo = True
            self.line("OK")
        elif word == "SKSREG" and args[0] == "SFE":
            self.echo = args[1] == "1"
            self.line("OK")
        elif word == "SKSREG":
            self.regs[args[0]] = args[1]
            self.line("OK")
        elif word == "ROPT":
            self.send(f"OK {self.opt:02X}\r".encode())
        elif word == "WOPT":
            self.opt = int(args[0], 16)
            self.send(b"OK\r")
        elif word == "SKSETPWD":
            self.pwd = args[1] if int(args[0], 16) == len(args[1]) else ""
            self.line("OK")
        elif word == "SKSETRBID":
            self.rbid = args[0]
            self.line("OK")
        elif word == "SKSCAN":
            self.line("OK")
            self.line(f"EVENT 20 {OWN_IP}")
            self.send(b"EPANDESC\r\n  Channel:3B\r\n  Channel Page:09\r\n  Pan ID:ABCD\r\n"
                      + f"  Addr:{METER_MAC}\r\n  LQI:9C\r\n  PairID:{RBID[-8:]}\r\n".encode())
            self.line(f"EVENT 22 {OWN_IP}")
        elif word == "SKLL64":
            self.line(METER_IP)
        elif word == "SKJOIN":
            ok = (args[0] == METER_IP and self.regs == {"S2": "3B", "S3": "ABCD"}
                  and (self.rbid, self.pwd) == (RBID, PASSWORD))
            self.line("OK")
            self.line(f"EVENT 21 {OWN_IP} 02")
            self.line(f"EVENT {'25' if ok else '24'} {METER_IP}")
        else:
            self.line("FAIL ER04")

    def sendto(self, head: str, data: bytes) -> None:
        self.log.append(head + data.hex().upper())
        self.line(head if self.echo else "")
        self.line(f"EVENT 21 {OWN_IP} 00")
        self.line("OK")
        # ECHONET Lite Get (ESV 62) → Get_Res (72): swap SEOJ/DEOJ, same TID, EDT per EPC
        assert data[:2] == b"\x10\x81" and data[10] == 0x62
        epcs = [data[12 + 2 * i] for i in range(data[11])]
        body = b"".join(bytes([e, len(PROPERTIES[e])]) + PROPERTIES[e] for e in epcs)
        frame = data[:4] + data[7:10] + data[4:7] + bytes([0x72, len(epcs)]) + body
        payload = frame.hex().upper() if self.opt == 1 else frame.decode("latin-1")
        self.line(f"ERXUDP {METER_IP} {OWN_IP} 0E1A 0E1A {METER_MAC} 1 {len(frame):04X} "
                  f"{payload}")


@pytest.fixture
def emulator() -> Iterator[_MinimalBp35a1]:
    emu = _MinimalBp35a1()
    emu.thread.start()
    try:
        yield emu
    finally:
        emu.stop.set()
        emu.thread.join(2)
        os.close(emu.master)
        os.close(emu.slave)


@pytest.mark.integration
@pytest.mark.parametrize(("quantity", "wh"), [(Quantity.GRID_IMPORT, 5_432_100),
                                              (Quantity.GRID_EXPORT, 12_340)])
def test_agent_reads_the_kwh_the_device_holds(emulator: _MinimalBp35a1, quantity: Quantity,
                                              wh: int) -> None:
    meter = BRouteMeter("grid", emulator.port, quantity=quantity,
                        credentials=lambda: RouteBCredentials(RBID, PASSWORD), timeout_s=1.0,
                        timing=Timing(command_s=1.0, join_s=2.0, scan_factor=0.01))
    try:
        snap = meter.read()
    finally:
        meter.close()
    assert snap.register_wh == wh
    assert snap.wrap_wh == 10**6 * 10  # 10^D7 × 0.01 kWh = 10,000 kWh
    assert snap.power_w == 250 and snap.identity.serial == "EMU-000042"
    assert f"SKSETPWD C {PASSWORD}" in emulator.log and f"SKSETRBID {RBID}" in emulator.log
    assert "WOPT 01" in emulator.log and emulator.opt == 1
    assert any(c.startswith("SKSCAN 2 FFFFFFFF ") for c in emulator.log)
    assert f"SKJOIN {METER_IP}" in emulator.log
    assert any(c.startswith(f"SKSENDTO 1 {METER_IP} 0E1A 1 ") for c in emulator.log)
