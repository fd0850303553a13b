"""``eco-sim``: start simulated devices for tests and the demo.

``eco-sim inverter --rated-w 4500 --seed 7`` starts one SunSpec inverter on a pty, prints one JSON
line ``{"port": "/dev/pts/N", "serial": ..., "rated_w": ..., "unit": ..., "base": ...}`` to stdout
(flushed, so a parent process can read it and connect), then serves until SIGTERM or SIGINT and
exits 0. ``eco-sim inverters --count N --seed S`` does the same for N inverters, one JSON line
each, with seeds, ratings and serials derived from S. ``eco-sim mqtt --device
tasmota|shelly-pro3em|openevse --broker URL --topic T …`` runs one MQTT energy device
(:mod:`firmware_sim.mqtt_cli`). ``eco-sim broute --seed S --rbid ID --password PW [--family
bp35a1|bp35c0] …`` runs a Wi-SUN B-route dongle with a smart meter (:mod:`firmware_sim.broute_cli`).

``--models 103`` (default), ``--models 701`` or ``--models 103+701`` chooses the SunSpec map: the
classic inverter model, the DER AC measurement model 701 of newer inverters alone, or both.

Time: without ``--speed`` / ``--origin-sim`` the wall clock; with them an
:class:`agent.clock.AcceleratedClock` anchored at (``--origin-sim``, ``--origin-wall``), so that
other processes given the same three numbers agree on "now".
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from types import FrameType
from typing import NoReturn

from agent.clock import AcceleratedClock, Clock
from agent.errors import AgentError
from agent.meters import sunspec_layout as sl
from firmware_sim import broute_cli, mqtt_cli
from firmware_sim.inverter import Faults, PtyInverter

log = logging.getLogger(__name__)

_RATINGS_W = (3000, 3500, 4000, 4500, 5000, 5500, 6000)
_MODEL_SETS = ("101", "102", "103", "701", "101+701", "102+701", "103+701")


def _model_set(text: str) -> tuple[int | None, bool]:
    """``--models`` to (inverter model or None, whether model 701 is served)."""
    ids = [int(x) for x in text.split("+")]
    inverter = next((i for i in ids if i != sl.DER_AC_MODEL_ID), None)
    return inverter, sl.DER_AC_MODEL_ID in ids


def _fatal(message: str) -> NoReturn:
    print(f"eco-sim: {message}", file=sys.stderr)
    raise SystemExit(2)


def _parse_origin_sim(text: str) -> float:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        _fatal(f"--origin-sim {text!r} is not an ISO 8601 date-time")
    if t.tzinfo is None:
        _fatal(f"--origin-sim {text!r} needs a UTC offset, e.g. 2024-06-01T00:00+09:00")
    return t.timestamp()


def _clock(args: argparse.Namespace) -> Clock:
    if args.speed is None and args.origin_sim is None:
        return Clock()
    rate = 1.0 if args.speed is None else args.speed
    if rate <= 0:
        _fatal("--speed must be positive")
    wall = time.time() if args.origin_wall is None else args.origin_wall
    sim = wall if args.origin_sim is None else _parse_origin_sim(args.origin_sim)
    return AcceleratedClock(origin_sim=sim, origin_wall=wall, rate=rate)


def _jump(text: str) -> tuple[datetime, int]:
    """``--jump-at ISO,WH``: when (ISO 8601 with offset) and by how many Wh."""
    when, sep, wh = text.rpartition(",")
    try:
        t = datetime.fromisoformat(when)
        n = int(wh)
    except ValueError:
        _fatal(f"--jump-at {text!r}: expected ISO,WH, e.g. 2026-05-01T12:10+09:00,20000")
    if not sep or t.tzinfo is None or n <= 0:
        _fatal(f"--jump-at {text!r}: expected ISO,WH with a UTC offset and a positive Wh, e.g. "
               "2026-05-01T12:10+09:00,20000")
    return t, n


def _faults(args: argparse.Namespace) -> Faults:
    try:
        return Faults(drop_fraction=args.drop, corrupt_crc_fraction=args.corrupt,
                      jumps=tuple(_jump(j) for j in args.jump_at))
    except ValueError as e:
        _fatal(str(e))


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of weather and faults (default 0)")
    p.add_argument("--speed", type=float, help="simulated seconds per wall second")
    p.add_argument("--origin-sim", help="simulated time at the anchor, ISO 8601 with offset")
    p.add_argument("--origin-wall", type=float, help="wall time at the anchor, POSIX seconds")
    p.add_argument("--unit", type=int, default=1, help="Modbus unit id (default 1)")
    p.add_argument(
        "--base",
        type=int,
        default=sl.DEFAULT_BASE,
        choices=sl.BASE_ADDRESSES,
        help="SunSpec base register (default 40000)",
    )
    p.add_argument(
        "--models",
        default="103",
        choices=_MODEL_SETS,
        help="SunSpec models after model 1: an inverter model, 701 (DER AC measurement), or both",
    )
    p.add_argument("--manufacturer", default="EcoSim")
    p.add_argument("--drop", type=float, default=0.0, help="fraction of requests left unanswered")
    p.add_argument("--corrupt", type=float, default=0.0, help="fraction of responses with bad CRC")
    p.add_argument("--jump-at", action="append", default=[], metavar="ISO,WH",
                   help="the energy register jumps forward by WH at simulated time ISO "
                        "(repeatable): one implausible interval, then normal counting")
    p.add_argument("--log-level", default="WARNING")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eco-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("inverter", help="one SunSpec Modbus RTU inverter on a pty")
    one.add_argument("--rated-w", type=float, required=True, help="rated AC power, W")
    one.add_argument("--serial", help="serial number (default derived from the seed)")
    one.add_argument("--model", help="model string of model 1 (Md)")
    one.add_argument("--initial-wh", type=int, help="lifetime register at start, Wh")
    _add_common(one)
    many = sub.add_parser("inverters", help="N inverters, one pty each")
    many.add_argument("--count", type=int, required=True)
    many.add_argument("--rated-w", type=float, help="the same rating for all (default: drawn)")
    _add_common(many)
    mqtt_cli.add_parser(sub)
    broute_cli.add_parser(sub)
    return parser


def _announce(inv: PtyInverter) -> None:
    line = {
        "port": inv.port,
        "serial": inv.serial,
        "rated_w": inv.rated_w,
        "unit": inv.unit,
        "base": inv.base,
    }
    print(json.dumps(line, sort_keys=True), flush=True)


def _build(args: argparse.Namespace, clock: Clock) -> list[PtyInverter]:
    faults = _faults(args)
    inverter_model, der_ac = _model_set(args.models)

    def make(
        rated_w: float,
        seed: int,
        serial: str | None = None,
        model: str | None = None,
        initial_wh: int | None = None,
    ) -> PtyInverter:
        return PtyInverter(
            rated_w,
            seed,
            clock,
            unit=args.unit,
            base=args.base,
            manufacturer=args.manufacturer,
            faults=faults,
            serial=serial,
            model=model,
            initial_wh=initial_wh,
            inverter_model=inverter_model,
            der_ac=der_ac,
        )

    try:
        if args.command == "inverter":
            if args.rated_w <= 0:
                _fatal("--rated-w must be positive")
            return [
                make(
                    args.rated_w,
                    args.seed,
                    serial=args.serial,
                    model=args.model,
                    initial_wh=args.initial_wh,
                )
            ]
        if not 1 <= args.count <= 256:
            _fatal("--count must be within 1..256")
        rng = random.Random(f"eco-sim/inverters/{args.seed}")
        out = []
        for _ in range(args.count):
            seed = rng.randrange(1 << 31)
            rated = args.rated_w if args.rated_w is not None else float(rng.choice(_RATINGS_W))
            out.append(make(rated, seed))
        return out
    except (ValueError, AgentError) as e:  # strings too long for model 1, bad rating or unit
        _fatal(str(e))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    clock = _clock(args)
    if args.command == "mqtt":
        return mqtt_cli.run(args, clock)
    if args.command == "broute":
        return broute_cli.run(args, clock)
    inverters = _build(args, clock)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    started: list[PtyInverter] = []
    try:
        for inv in inverters:
            try:
                inv.start()
            except OSError as e:
                print(f"eco-sim: cannot open a pty: {e}", file=sys.stderr)
                return 1
            started.append(inv)
            _announce(inv)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        for inv in started:
            inv.stop()
        for s, h in previous.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main())
