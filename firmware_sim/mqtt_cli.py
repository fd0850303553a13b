"""``eco-sim mqtt``: one simulated MQTT energy device on a broker (see
:mod:`firmware_sim.mqtt_devices`).

    eco-sim mqtt --broker mqtt://127.0.0.1:1883 --device tasmota|shelly-pro3em|openevse
                 --topic T --seed S [--speed X --origin-sim ISO --origin-wall POSIX]
                 [--period SIM_SECONDS] [--source pv|load] [--rated-w W] [--channels N]
                 [--offline-after SECONDS] [--silent-after SECONDS] [--malformed FRACTION]
                 [--battery-wh WH --battery-w W]

Prints one JSON line (device, topic, broker, data_topic, availability_topic, serial, period_s)
once connected, publishes until SIGTERM/SIGINT, then drops off like a device losing power (the
broker publishes its will) and exits 0. Fault times are wall-clock seconds after start.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import Any

from agent.clock import Clock
from firmware_sim.battery import HomeBattery
from firmware_sim.mqtt_devices import DeviceKind, Faults, make_device


def add_parser(sub: Any) -> None:
    """Add the ``mqtt`` subcommand to eco-sim's subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "mqtt", help="one MQTT energy device (Tasmota, Shelly Pro 3EM, OpenEVSE) on a broker")
    p.add_argument("--broker", required=True, metavar="URL", help="mqtt://HOST:PORT")
    p.add_argument("--device", required=True, choices=[k.value for k in DeviceKind])
    p.add_argument("--topic", required=True,
                   help="Tasmota topic, Shelly topic prefix or OpenEVSE base topic")
    p.add_argument("--seed", type=int, default=0, help="seed of the physical model and faults")
    p.add_argument("--speed", type=float, help="simulated seconds per wall second")
    p.add_argument("--origin-sim", help="simulated time at the anchor, ISO 8601 with offset")
    p.add_argument("--origin-wall", type=float, help="wall time at the anchor, POSIX seconds")
    p.add_argument("--period", type=float, metavar="SIM_SECONDS",
                   help="publishing period (default: 300 Tasmota, 60 Shelly, 30 OpenEVSE)")
    p.add_argument("--source", choices=("pv", "load"), default="pv",
                   help="Tasmota: what the plug measures (default pv)")
    p.add_argument("--rated-w", type=float, default=4500.0,
                   help="PV rating for Tasmota pv and the Shelly household (default 4500)")
    p.add_argument("--channels", type=int, default=1, help="Tasmota channels (default 1)")
    p.add_argument("--offline-after", type=float, metavar="SECONDS",
                   help="drop off the broker (its will announces offline) after this long")
    p.add_argument("--silent-after", type=float, metavar="SECONDS",
                   help="stay connected but publish nothing after this long")
    p.add_argument("--malformed", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of readings sent as broken payloads (default 0)")
    p.add_argument("--battery-wh", type=float, metavar="WH",
                   help="Shelly Pro 3EM: a home battery of this capacity behind the meter: it "
                        "stores the PV surplus and discharges 17:00–21:00 JST, partly to the grid")
    p.add_argument("--battery-w", type=float, default=2000.0, metavar="W",
                   help="the battery's charge/discharge power (default 2000)")
    p.add_argument("--log-level", default="WARNING")


def run(args: argparse.Namespace, clock: Clock) -> int:
    try:
        faults = Faults(offline_after_s=args.offline_after, silent_after_s=args.silent_after,
                        malformed_fraction=args.malformed)
        battery = (HomeBattery(args.battery_wh, args.battery_w)
                   if args.battery_wh is not None else None)
        device = make_device(DeviceKind(args.device), args.broker, args.topic, args.seed, clock,
                             period_s=args.period, faults=faults, source=args.source,
                             rated_w=args.rated_w, channels=args.channels, battery=battery)
    except ValueError as e:
        print(f"eco-sim: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            device.start()
        except OSError as e:
            print(f"eco-sim: {e}; check that the broker runs", file=sys.stderr)
            return 1
        print(json.dumps(device.announce(), sort_keys=True), flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        device.stop()
        for s, h in previous.items():
            signal.signal(s, h)
