"""``eco-sim broute``: one simulated Wi-SUN B-route dongle with a smart meter behind it.

    eco-sim broute --seed S --rbid ID --password PW [--family bp35a1|bp35c0]
                   [--speed X --origin-sim T --origin-wall W] [--pv-rated-w W] [faults …]

prints one JSON line ``{"port": "/dev/pts/N", "family": …, "meter_mac": …, "channel": …,
"pan_id": …, "serial": …, "wrap_wh": …}`` (never the ID or password), then serves until SIGTERM
or SIGINT and exits 0. The meter's bought/sold energy is the seeded household load
(:mod:`firmware_sim.household`) minus a seeded PV system of ``--pv-rated-w`` (0: none), plus
EV charging with ``--with-ev``. Faults: see :class:`firmware_sim.wisun_dongle.DongleFaults`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime
from types import FrameType
from typing import Any

from agent.clock import Clock
from agent.meters.skstack_codec import Family
from firmware_sim.echonet_node import (
    EchonetNode,
    EnergyState,
    EvSessions,
    HomeEnergy,
    MeterSettings,
)
from firmware_sim.household import Household
from firmware_sim.solar import PvSystem
from firmware_sim.wisun_dongle import DongleConfig, DongleFaults, PtyWisunDongle, SkStackServer


def add_parser(sub: Any) -> None:
    p = sub.add_parser("broute", help="a Wi-SUN B-route dongle (SKSTACK-IP) with a smart meter "
                                      "on a pty")
    p.add_argument("--seed", type=int, default=0, help="seed of load, weather and faults")
    p.add_argument("--family", choices=[f.value for f in Family], default="bp35a1")
    p.add_argument("--speed", type=float, help="simulated seconds per wall second")
    p.add_argument("--origin-sim", help="simulated time at the anchor, ISO 8601 with offset")
    p.add_argument("--origin-wall", type=float, help="wall time at the anchor, POSIX seconds")
    p.add_argument("--rbid", required=True, help="the B-route ID the meter accepts (32 chars)")
    p.add_argument("--password", required=True, help="the B-route password it accepts")
    p.add_argument("--pv-rated-w", type=float, default=4000.0,
                   help="rated power of the house's PV system, W (0: no PV; default 4000)")
    p.add_argument("--with-pv-object", action="store_true",
                   help="also carry an ECHONET household solar object (0x0279)")
    p.add_argument("--with-ev", action="store_true",
                   help="add evening EV charging and an EV charger/discharger object (0x027E)")
    p.add_argument("--meter-mac", default="001C6400030C12A4")
    p.add_argument("--channel", type=lambda s: int(s, 0), default=0x21)
    p.add_argument("--pan-id", type=lambda s: int(s, 0), default=0x8888)
    p.add_argument("--serial", help="the meter's production number (8D)")
    p.add_argument("--unit-code", type=lambda s: int(s, 0), default=0x01, help="E1 (0x01: 0.1 kWh)")
    p.add_argument("--digits", type=int, default=6, help="D7 effective digits (wrap at 10^D7)")
    p.add_argument("--initial-import-wh", type=float, help="bought-energy register at start, Wh")
    p.add_argument("--initial-export-wh", type=float, default=0.0)
    p.add_argument("--min-scan-duration", type=int, default=5)
    p.add_argument("--noise", type=float, default=0.0, help="fraction of lines with junk")
    p.add_argument("--fail", type=float, default=0.0, help="fraction of FAIL ER10 answers")
    p.add_argument("--drop", type=float, default=0.0, help="fraction of unanswered requests")
    p.add_argument("--late", type=float, default=0.0, help="fraction of late answers")
    p.add_argument("--join-failures", type=int, default=0)
    p.add_argument("--session-lifetime-s", type=float, help="EVENT 29 after this (sim) time")
    p.add_argument("--replace-at", action="append", default=[], metavar="ISO",
                   help="replace the meter at this simulated time (repeatable)")
    p.add_argument("--silent", action="append", default=[], metavar="START,END",
                   help="no output in this simulated window (repeatable)")
    p.add_argument("--no-data", action="append", default=[], metavar="EPC",
                   help="this meter EPC (hex, e.g. E0) reports 0xFFFFFFFE (repeatable)")
    p.add_argument("--no-ropt", action="store_true", help="a dongle without ROPT/WOPT")
    p.add_argument("--log-level", default="WARNING")


def _time(text: str, what: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        _fatal(f"{what} {text!r} is not an ISO 8601 date-time")
    if t.tzinfo is None:
        _fatal(f"{what} {text!r} needs a UTC offset, e.g. 2026-06-21T12:00+09:00")
    return t


def _fatal(message: str) -> Any:
    print(f"eco-sim: {message}", file=sys.stderr)
    raise SystemExit(2)


def build(args: argparse.Namespace, clock: Clock) -> SkStackServer:
    now = clock.now()
    try:
        faults = DongleFaults(
            noise_fraction=args.noise, fail_fraction=args.fail, drop_fraction=args.drop,
            late_fraction=args.late, join_failures=args.join_failures,
            session_lifetime_s=args.session_lifetime_s,
            replace_at=tuple(_time(t, "--replace-at") for t in args.replace_at),
            silent=tuple((_time(w.split(",")[0], "--silent"), _time(w.split(",")[-1], "--silent"))
                         for w in args.silent),
            no_data=tuple(int(e, 16) for e in args.no_data),
            ropt_unsupported=args.no_ropt)
        household = Household(args.seed)
        pv = PvSystem(args.pv_rated_w, args.seed) if args.pv_rated_w > 0 else None
        ev = EvSessions(args.seed) if args.with_ev else None
        meter = MeterSettings(serial=args.serial or f"SIM{args.seed & 0xFFFFFFFF:09d}",
                              unit_code=args.unit_code, digits=args.digits)
        initial = (args.initial_import_wh if args.initial_import_wh is not None
                   else household.annual_kwh * 1000 * 3.5)  # a meter a few years old
        energy = HomeEnergy(household, pv, ev, EnergyState(now, initial, args.initial_export_wh))
        node = EchonetNode(energy, meter, with_pv=args.with_pv_object, with_ev=args.with_ev)
        config = DongleConfig(rbid=args.rbid, password=args.password,
                              family=Family(args.family), meter_mac=args.meter_mac.upper(),
                              channel=args.channel, pan_id=args.pan_id,
                              min_scan_duration=args.min_scan_duration)
    except (ValueError, KeyError) as e:
        _fatal(str(e))
    return SkStackServer(config, node, clock, faults=faults, seed=args.seed)


def run(args: argparse.Namespace, clock: Clock) -> int:
    server = build(args, clock)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    dongle = PtyWisunDongle(server)
    try:
        try:
            dongle.start()
        except OSError as e:
            print(f"eco-sim: cannot open a pty: {e}", file=sys.stderr)
            return 1
        cfg, meter = server.config, server.node.meter
        print(json.dumps({"port": dongle.port, "family": cfg.family.value,
                          "meter_mac": cfg.meter_mac, "meter_ip": cfg.meter_ip,
                          "channel": cfg.channel, "pan_id": cfg.pan_id, "serial": meter.serial,
                          "wrap_wh": meter.wrap_wh(), "objects": [
                              str(e) for e in server.node.instances]}, sort_keys=True),
              flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        dongle.stop()
        for s, h in previous.items():
            signal.signal(s, h)
