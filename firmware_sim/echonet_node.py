"""The ECHONET Lite node behind the simulated Wi-SUN dongle: a low-voltage smart meter (0x0288)
and optionally a PV (0x0279) and an EV charger/discharger (0x027E) object, answering Get frames.

The energy comes from :class:`HomeEnergy`: the seeded household load
(:mod:`firmware_sim.household`) plus EV charging minus the seeded PV output
(:mod:`firmware_sim.solar`), integrated lazily each time the node is asked (midpoint rule, one
minute steps). Positive net power is bought from the grid (E0), negative is sold (E3). The
register at each fixed 30-minute time is kept for EA/EB.

Encoding reuses :mod:`agent.meters.echonet_codec` (as the inverter simulator reuses the SunSpec
layout); an independent hand-written emulator in the tests checks the agent against the
specification instead. Property layouts: see that module's docstring.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from agent.meters import echonet_codec as el
from firmware_sim.household import Household
from firmware_sim.solar import JST, PvSystem

HALF_HOUR = timedelta(minutes=30)
_STEP_S = 60.0
_MAX_STEPS = 20_000


@dataclass(frozen=True, slots=True)
class EvSessions:
    """Seeded evening charging: on about 60 % of days the car is plugged in at 18:00–22:00 JST
    and charges at ``power_w`` for 1–4 hours."""

    seed: int
    power_w: float = 3000.0

    def power(self, t: datetime) -> float:
        local = t.astimezone(JST)
        rng = random.Random(f"eco-sim/ev/{self.seed}/{local.date().isoformat()}")
        if rng.random() > 0.6:
            return 0.0
        start = rng.uniform(18.0, 22.0)
        hours = rng.uniform(1.0, 4.0)
        h = local.hour + local.minute / 60 + local.second / 3600
        if start <= h < start + hours or h < start + hours - 24:
            return self.power_w
        return 0.0


@dataclass(frozen=True, slots=True)
class EnergyState:
    """Accumulated energy in Wh at ``at``."""

    at: datetime
    import_wh: float = 0.0
    export_wh: float = 0.0
    pv_wh: float = 0.0
    ev_wh: float = 0.0


class HomeEnergy:
    """Load + EV − PV behind the meter, integrated forward lazily; never goes back in time."""

    def __init__(self, household: Household, pv: PvSystem | None, ev: EvSessions | None,
                 start: EnergyState) -> None:
        self.household = household
        self.pv = pv
        self.ev = ev
        self.state = start
        self.fixed = start  # the state at the last fixed 30-minute time

    def powers(self, t: datetime) -> tuple[float, float, float]:
        """(net grid power, PV power, EV power) in W at ``t``; net > 0 is bought."""
        pv = self.pv.power_w(t) if self.pv is not None else 0.0
        ev = self.ev.power(t) if self.ev is not None else 0.0
        return self.household.power_w(t) + ev - pv, pv, ev

    def _integrate(self, s: EnergyState, end: datetime) -> EnergyState:
        span = (end - s.at).total_seconds()
        if span <= 0:
            return s
        steps = max(1, min(_MAX_STEPS, math.ceil(span / _STEP_S)))
        h = span / steps
        imp = exp = pv_e = ev_e = 0.0
        for i in range(steps):
            net, pv, ev = self.powers(s.at + timedelta(seconds=(i + 0.5) * h))
            if net >= 0:
                imp += net
            else:
                exp -= net
            pv_e += pv
            ev_e += ev
        k = h / 3600.0
        return EnergyState(end, s.import_wh + imp * k, s.export_wh + exp * k,
                           s.pv_wh + pv_e * k, s.ev_wh + ev_e * k)

    def advance(self, now: datetime) -> EnergyState:
        s = self.state
        if now <= s.at:
            return s
        boundary = _last_half_hour(now)
        if boundary > s.at:  # _integrate bounds its work, so a clock jump stays cheap
            s = self._integrate(s, boundary)
            self.fixed = s
        self.state = self._integrate(s, now)
        return self.state

    def reset_meter(self, at: datetime) -> None:
        """A new meter: its registers start at zero (the PV and EV objects keep theirs)."""
        s = self.advance(at)
        self.state = replace(s, import_wh=0.0, export_wh=0.0)
        self.fixed = replace(self.fixed, import_wh=0.0, export_wh=0.0)


def _last_half_hour(t: datetime) -> datetime:
    u = t.astimezone(UTC)
    return u.replace(minute=30 if u.minute >= 30 else 0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class MeterSettings:
    """The smart meter's fixed properties."""

    serial: str = "SIM000000001"
    maker: bytes = b"\x00\x00\x16"
    unit_code: int = 0x01  # E1: 0.1 kWh
    coefficient: int = 1  # D3
    digits: int = 6  # D7
    offer_coefficient: bool = True  # a meter without D3 answers it in Get_SNA with PDC 0

    @property
    def wh_per_count(self) -> Fraction:
        return el.E1_UNITS_KWH[self.unit_code] * self.coefficient * 1000

    def count(self, wh: float) -> int:
        """The register value for ``wh``: whole counts, wrapped at 10**digits."""
        q = self.wh_per_count
        raw = int(Fraction(wh) * q.denominator // q.numerator)
        return raw % int(10**self.digits)

    def wrap_wh(self) -> int:
        q = int(10**self.digits) * self.wh_per_count
        return q.numerator // q.denominator


def _text12(text: str) -> bytes:
    return text.encode("ascii")[:12].ljust(12, b"\x00")


def _u32(v: int) -> bytes:
    return (v & 0xFFFFFFFF).to_bytes(4, "big")


def _s32(v: int) -> bytes:
    return v.to_bytes(4, "big", signed=True)


class EchonetNode:
    """Answers Get requests for the node profile and the objects it carries."""

    def __init__(self, energy: HomeEnergy, meter: MeterSettings, *, with_pv: bool = False,
                 with_ev: bool = False) -> None:
        self.energy = energy
        self.meter = meter
        self.with_pv = with_pv and energy.pv is not None
        self.with_ev = with_ev and energy.ev is not None
        self.no_data: set[int] = set()  # EPCs of the meter that answer 0xFFFFFFFE (fault)

    @property
    def instances(self) -> list[el.EOJ]:
        out = [el.LV_SMART_METER]
        if self.with_pv:
            out.append(el.SOLAR)
        if self.with_ev:
            out.append(el.EV_CHARGER_DISCHARGER)
        return out

    def instance_list(self) -> bytes:
        """EDT of node profile D5/D6: count + EOJs."""
        return bytes([len(self.instances)]) + b"".join(e.to_bytes() for e in self.instances)

    def _meter_props(self, now: datetime) -> dict[int, bytes]:
        s = self.energy.advance(now)
        m = self.meter
        net, _, _ = self.energy.powers(now)
        fixed_at = self.energy.fixed.at.astimezone(JST)
        stamp = fixed_at.year.to_bytes(2, "big") + bytes(
            (fixed_at.month, fixed_at.day, fixed_at.hour, fixed_at.minute, 0))
        amps = round(net / 200.0 * 10 / 2)
        props = {
            0x80: b"\x30", 0x82: b"\x00\x00\x46\x00", 0x88: b"\x42", 0x8A: m.maker,
            0x8D: _text12(m.serial), 0xD7: bytes([m.digits]), 0xE1: bytes([m.unit_code]),
            0xE0: _u32(m.count(s.import_wh)), 0xE3: _u32(m.count(s.export_wh)),
            0xE7: _s32(round(net)),
            0xE8: amps.to_bytes(2, "big", signed=True) * 2,
            0xEA: stamp + _u32(m.count(self.energy.fixed.import_wh)),
            0xEB: stamp + _u32(m.count(self.energy.fixed.export_wh)),
        }
        if m.offer_coefficient:
            props[0xD3] = _u32(m.coefficient)
        for epc in self.no_data & props.keys():
            props[epc] = _u32(el.U32_NO_DATA)
        return props

    def _pv_props(self, now: datetime) -> dict[int, bytes]:
        s = self.energy.advance(now)
        _, pv, _ = self.energy.powers(now)
        return {0x80: b"\x30", 0x8A: self.meter.maker, 0xE0: min(round(pv), 0xFFFD).to_bytes(
            2, "big"), 0xE1: _u32(int(s.pv_wh) % 1_000_000_000)}

    def _ev_props(self, now: datetime) -> dict[int, bytes]:
        s = self.energy.advance(now)
        _, _, ev = self.energy.powers(now)
        return {0x80: b"\x30", 0x8A: self.meter.maker, 0xC7: b"\x43" if ev else b"\x41",
                0xD3: _s32(round(ev)), 0xD6: _u32(0), 0xD8: _u32(int(s.ev_wh) % 1_000_000_000)}

    def properties(self, eoj: el.EOJ, now: datetime) -> dict[int, bytes] | None:
        if eoj.class_id == el.NODE_PROFILE.class_id:
            props = {0x80: b"\x30", 0x82: b"\x01\x0D\x01\x00", 0x8A: self.meter.maker,
                     0xD3: len(self.instances).to_bytes(3, "big"),
                     0xD5: self.instance_list(), 0xD6: self.instance_list()}
        elif eoj == el.LV_SMART_METER:
            props = self._meter_props(now)
        elif eoj == el.SOLAR and self.with_pv:
            props = self._pv_props(now)
        elif eoj == el.EV_CHARGER_DISCHARGER and self.with_ev:
            props = self._ev_props(now)
        else:
            return None
        maps = {0x9D: el.encode_property_map([0x80]),
                0x9E: el.encode_property_map([]),
                0x9F: el.encode_property_map([*props, 0x9D, 0x9E, 0x9F])}
        return {**props, **maps}

    def handle(self, data: bytes, now: datetime) -> bytes | None:
        """The answer to one datagram, or None (not a request for us: real nodes stay quiet)."""
        try:
            req = el.decode_frame(data)
        except el.EchonetError:
            return None
        if req.esv != el.ESV.GET:
            return None
        props = self.properties(req.deoj, now)
        if props is None:
            return None
        answer = tuple(el.Property(p.epc, props.get(p.epc, b"")) for p in req.properties)
        esv = el.ESV.GET_RES if all(a.edt for a in answer) else el.ESV.GET_SNA
        return el.Frame(req.tid, req.deoj, req.seoj, esv, answer).encode()

    def announcement(self) -> bytes:
        """The INF of the instance list a meter multicasts after joining (node profile D5)."""
        return el.Frame(0, el.NODE_PROFILE, el.NODE_PROFILE, el.ESV.INF,
                        (el.Property(0xD5, self.instance_list()),)).encode()
