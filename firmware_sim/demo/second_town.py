"""The demo's consortium (issue 18 point 6): the names of its members and witnesses, and the
second town — a small neighbouring town with its own log, broker and one household, kept small
so the home town's agents, run at thousands of times real speed, keep their CPU.

The neighbouring town's witness is the one the home town already had (``WITNESS``, town.py):
the second town is that neighbour, now a member. The verification body witnesses both logs; the
home town's own witness key witnesses the neighbour's log.
"""

from __future__ import annotations

from .town import ORIGIN, WITNESS, Household, MeterSim, pv_terms

HOME = "demo-city"  # the home town's member name in consortium.toml
HOME_ORIGIN = ORIGIN
HOME_WITNESS = "witness.demo-city.example"
SECOND = "neighbour-town"
SECOND_ORIGIN = "eco-ledger.neighbour-town.example"
SECOND_WITNESS = WITNESS
SECOND_PROGRAMME = "neighbour-town-pv-2026"
BODY_WITNESS = "witness.verification-body.example"
QUORUM = 2  # of a log's named witnesses, its own member's left out: the other town and the body
PREFIX = "nt-"  # the second town's process names (nt-aggregator, nt-agent-hh1, ...)

# One household: a plug-in PV (Tasmota) and a Shelly export meter on the town's own broker,
# publishing every 5 simulated minutes so the two simulators stay light at 3000×.
SECOND_TOWN = (
    Household("Kobayashi house, 2-3 Kawabata", 21, (
        MeterSim("pv-plug", "pv_generation", "tasmota", 3000, sim_args=("--period", "300")),
        MeterSim("grid-out", "grid_export", "shelly", 3000, pv_w=3000,
                 sim_args=("--period", "300"))),
        terms=pv_terms("2025-08-01"),
        note="neighbour-town: PV (Tasmota) + Shelly Pro 3EM export, on the town's own broker"),
)

__all__ = ["BODY_WITNESS", "HOME", "HOME_ORIGIN", "HOME_WITNESS", "PREFIX", "QUORUM", "SECOND",
           "SECOND_ORIGIN", "SECOND_PROGRAMME", "SECOND_TOWN", "SECOND_WITNESS"]
