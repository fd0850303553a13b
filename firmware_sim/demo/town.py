"""The demo's simulated town: six households, their meters and the simulators that play them.

What each household shows under the programme's rules is in :mod:`firmware_sim.demo`'s docstring
and in each ``note``. Also the demo's fixed names and dates: the log origin, the witness, the
programme, the simulated start (``SIM_START``) and the participation date (``JOINED``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ORIGIN = "eco-ledger.demo-city.example"
# B-route credentials of the simulated smart meters (demo only; real ones come from the utility)
BROUTE_ID = "00112233445566778899AABBCCDDEEFF"
BROUTE_PW = "DEMOPASSWORD"
WITNESS = "witness.neighbour-town.example"
PROTOCOL_NAME = {"sunspec": "sunspec-modbus", "broute": "echonet-broute", "tasmota": "tasmota",
                 "shelly": "shelly", "openevse": "openevse"}
PROGRAMME = "demo-city-pv-2026"
# Simulated time starts at midnight JST on a spring day, so the first day has a sunrise.
SIM_START = datetime(2026, 4, 30, 15, 0, tzinfo=UTC)
JST = timedelta(hours=9)
# The participation date every demo household is enrolled with (eco-aggregator enrol
# --enrolled-at): the JST day the simulated data begins. Readings starting earlier would be
# logged as before_joining; PV installed more than two years earlier would be excluded.
JOINED = f"{SIM_START + JST:%Y-%m-%d}"
# Sato's inverter: its energy register jumps by 10 kWh at 12:10 JST on the first day (more
# than its 4.5 kW can make in the 30-minute interval), then counts on normally
JUMP_AT = SIM_START + timedelta(hours=12, minutes=10)
JUMP_WH = 10_000


@dataclass(frozen=True)
class MeterSim:
    """One meter of a household and the simulator that plays it."""

    id: str
    quantity: str
    kind: str  # sunspec | broute | tasmota | shelly | openevse
    rated_w: int  # enrolled plausibility bound
    pv_w: int = 0  # the household's PV rating (the smart meter's export follows it)
    device: str = ""  # which box of the household reads it ("": the main one)
    sim_args: tuple[str, ...] = ()  # fault injection and extras for the simulator


def pv_terms(installed: str, fit: str = "fit", *, battery: bool = False,
             zero_export: bool = False) -> tuple[str, ...]:
    return ("--installed", installed, "--fit-status", fit,
            "--battery" if battery else "--no-battery",
            *(("--zero-export",) if zero_export else ()))


EV_CAR = ("--ev-wh-per-km", "150", "--ev-petrol-km-per-l", "15")


@dataclass(frozen=True)
class Household:
    name: str  # the household reference (stays in the aggregator's erasable table)
    seed: int
    meters: tuple[MeterSim, ...]
    terms: tuple[str, ...] = pv_terms("2025-06-01")  # enrolment terms of the main device
    note: str = ""

    @property
    def devices(self) -> list[str]:
        return sorted({m.device for m in self.meters})


TOWN = (
    Household("Sato house, 1-2 Chuo", 11, (
        MeterSim("pv1", "pv_generation", "sunspec", 4500,
                 sim_args=("--jump-at", f"{JUMP_AT.isoformat()},{JUMP_WH}")),
        MeterSim("grid-out", "grid_export", "broute", 4500, pv_w=4500)),
        note="PV (SunSpec) + smart meter export (Wi-SUN B-route, BP35A1); the inverter's "
             f"register jumps {JUMP_WH / 1000:g} kWh at {JUMP_AT + JST:%m-%d %H:%M} JST"),
    Household("Suzuki house, 3-4 Minami", 12, (
        MeterSim("pv1", "pv_generation", "sunspec", 3000),
        MeterSim("grid-out", "grid_export", "broute", 3000, pv_w=3000),
        MeterSim("ev1", "ev_charge", "openevse", 7400)),
        terms=(*pv_terms("2024-09-01", "none"), *EV_CAR),
        note="PV (no FIT) + B-route + EV charger (OpenEVSE over MQTT): in both batches"),
    Household("Takahashi house, 5-6 Kita", 13, (
        MeterSim("pv-plug", "pv_generation", "tasmota", 6000),
        MeterSim("grid-out", "grid_export", "shelly", 6000, pv_w=6000,
                 sim_args=("--battery-wh", "7000", "--battery-w", "2000"))),
        terms=pv_terms("2025-03-01", battery=True),
        note="PV (Tasmota) + Shelly Pro 3EM export; home battery exporting in the evening: "
             "netted per day"),
    # a shop whose inverter is set for zero export (no reverse power flow); the declaration is
    # confirmed by the smart meter's export register, read by a second box on the B-route
    Household("Tanaka bakery, 7-8 Ekimae", 14, (
        MeterSim("pv1", "pv_generation", "sunspec", 20000),
        MeterSim("grid-out", "grid_export", "broute", 20000, pv_w=0, device="sm")),
        terms=pv_terms("2025-10-01", "none", zero_export=True),
        note="shop, 20 kW PV, zero export declared; a second box reads the smart meter's "
             "export register (0 exported)"),
    Household("Ito house, 9-10 Nishi", 15, (
        MeterSim("ev1", "ev_charge", "openevse", 7400),), terms=EV_CAR,
        note="EV only (OpenEVSE)"),
    Household("Watanabe house, 11-12 Higashi", 16, (
        MeterSim("pv1", "pv_generation", "sunspec", 4000),),
        note="PV without export metering: logged, zeroed (export_unmetered)"),
)
