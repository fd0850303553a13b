"""``make demo``: a small simulated town, end to end, in a few minutes.

Starts a real Mosquitto broker on a free loopback port, the aggregator, the simulated meters of
six households (SunSpec inverters and Wi-SUN B-route smart meters on ptys, Tasmota, Shelly and
OpenEVSE devices on the broker) and one agent per device, all sharing one accelerated clock; runs
at least two simulated days; stops everything; seals one batch per methodology (household PV and
EV), reports each and verifies each offline exactly as a buyer would. Every party runs as its own
OS process, started through its console command, so the demo exercises what a deployment runs.
Everything lives under ``--out`` and is recreated on each run; no process outlives the demo (each
child gets its own process group, killed at exit).

What the town shows (the programme's rules, docs/methodology.md): a zero-export shop credited
because a second device reads its smart meter's export register (0 exported); a home without
export metering logged but zeroed (``export_unmetered``); a battery home netted per JST day
(its battery exports in the evening); an EV household in its own EV batch; an inverter whose
register jumps once mid-run (one ``implausible`` reading, logged and not credited, its later
readings credited as usual); and a demonstration programme (illustrative factors, said so in
every report).

The simulated data is dated from ``SIM_START`` (a fixed spring day, so the factor table's fiscal
year applies) while the enrolments happen now: each is enrolled with ``--enrolled-at`` = the
participation date the municipality declares (the first simulated day), which is in the past.
"""
# (not in the docstring, which is --help:) the steps live in .steps (set-up, the run, batches
# and reports), the town in .town, the households' enrolment in .households, the child
# processes in .children, the printed summary in .summary and --serve in .dashboard

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from .dashboard import serve_dashboard
from .steps import run
from .town import JOINED, JUMP_AT, JUMP_WH, SIM_START, TOWN, Household, MeterSim


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eco-demo", description=__doc__)
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.add_argument("--days", type=float, default=2.0)
    p.add_argument(
        "--speed",
        type=float,
        default=2400.0,
        help="simulated seconds per wall second (default 2400: 2 days in 72 s)",
    )
    p.add_argument("--households", type=int, default=len(TOWN))
    p.add_argument("--serve", action="store_true",
                   help="afterwards, serve the operator web UI on the demo's data until Ctrl-C")
    args = p.parse_args(argv)
    rc = run(args.out, args.days, args.speed, TOWN[: max(1, min(args.households, len(TOWN)))])
    return serve_dashboard(args.out) if args.serve and rc == 0 else rc


__all__ = ["JOINED", "JUMP_AT", "JUMP_WH", "SIM_START", "TOWN", "Household", "MeterSim", "main",
           "run"]
