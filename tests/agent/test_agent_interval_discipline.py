"""agent.interval against docs/protocol.md v1.1 §2 "interval discipline", with the protocol's own
judge as the oracle.

Whatever snapshots the meters and the clock produce — polls, gaps, long outages, resets,
rollovers, replaced meters, a clock stepping back or running unsynchronised — every reading the
builder emits must be one the aggregator logs as creditable, except for what the device cannot
help and says so: a ``clock_unsynced`` flag, or more energy than the (test) enrolment's rated
power allows. So: an aligned start, exactly one interval long (the builder never emits k > 1),
per meter no overlap and a register that continues from the previous reading unless
``meter_reset``/``meter_replaced``/``rollover`` says why not, and energy equal to the register
difference unless one of those flags excuses it. :func:`eco_protocol.creditability.judge_reading`
(through :class:`CreditTracker`, which carries the per-meter cursor exactly as a verifier
replaying the log does) decides; the same invariants are also asserted directly, so a failure
names the broken rule even if the oracle changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.interval import (
    BuilderParams,
    IntervalReading,
    MeterState,
    Observation,
    reading_body,
    step,
)
from agent.meters.interface import MeterIdentity
from eco_protocol.creditability import CreditRules, CreditTracker, Rule
from eco_protocol.encoding import b64encode
from eco_protocol.keys import device_id_of, private_key_from_raw, public_key_raw
from eco_protocol.records import (
    ENERGY_EXCUSING_FLAGS,
    GENESIS_PREV,
    Enrolment,
    Flag,
    MeterSpec,
    Quantity,
    Reading,
)
from eco_protocol.signing import record_hash, sign_record

P = 1800
T0 = 1_795_305_600  # 2026-11-22T00:00:00Z
MAX_GAP = 4  # small, so that "longer than the builder fills" is cheap to generate
PARAMS = BuilderParams(interval_s=P, co2_g_per_kwh=434, max_gap_intervals=MAX_GAP)
RULES = CreditRules(interval_s=P, max_gap_intervals=48, crediting_until="2099-12-31")
KEY = private_key_from_raw(b"\x5a" * 32)
DEVICE = device_id_of(public_key_raw(KEY))
IDS = (MeterIdentity("sunspec-modbus", "EcoSim", "ES-5K", "SN1"),
       MeterIdentity("sunspec-modbus", "EcoSim", "ES-5K", "SN2"))
ENROLMENT = Enrolment(
    device_id=DEVICE, public_key=b64encode(public_key_raw(KEY)), household="h-test",
    programme="city-pv-2026",
    meters=(MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 10_000_000),
            MeterSpec("pv2", Quantity.PV_GENERATION, "sunspec-modbus", 10_000_000)),
    fit={"status": "none", "installed": "2026-01-01", "battery": False, "zero_export": False},
    enrolled_at="2020-01-01T00:00:00Z")
# what a reading may be excluded for without the builder being at fault
EXCUSED = {Rule.CLOCK_UNSYNCED, Rule.BEFORE_JOINING, Rule.EQUIPMENT_TOO_OLD, Rule.IMPLAUSIBLE}


@dataclass(frozen=True)
class _Snap:
    """One snapshot of one meter, relative to the previous one."""

    meter: str
    dt: int  # seconds after the previous snapshot of this meter (may be ≤ 0: clock went back)
    register: str  # "add" | "reset" | "jump" | "wrap"
    amount: int
    synced: bool
    replaced: bool


# time steps: polls, gaps the builder fills, outages it does not, and the clock going back
dts = st.one_of(
    st.integers(1, 120), st.integers(1, 120), st.integers(1, 120),
    st.integers(P - 60, P + 60),
    st.integers(2 * P, MAX_GAP * P + P),  # apportioned gap
    st.integers((MAX_GAP + 1) * P, 40 * P),  # outage longer than the builder fills
    st.integers(-3 * P, 0),  # clock back a little: ignored
    st.integers(-40 * P, -(MAX_GAP + 1) * P),  # clock back a lot
    st.sampled_from([0, P, 2 * P, (MAX_GAP + 2) * P, -(MAX_GAP + 2) * P]))
snaps = st.builds(
    _Snap, meter=st.sampled_from(["pv1", "pv2"]), dt=dts,
    register=st.sampled_from(["add"] * 6 + ["reset", "jump", "wrap"]),
    amount=st.integers(0, 5000), synced=st.sampled_from([True] * 5 + [False]),
    replaced=st.sampled_from([False] * 12 + [True]))


def _run(start: int, seq: Sequence[_Snap], wrap: int | None) -> dict[str, list[IntervalReading]]:
    """Drive :func:`step` per meter (each with its own clock offset, as two meters polled in
    one cycle are), returning every reading in emission order per meter."""
    states: dict[str, MeterState | None] = {"pv1": None, "pv2": None}
    t = {"pv1": T0 + start, "pv2": T0 + start + 7}
    reg = {"pv1": 1_000_000, "pv2": (wrap or 2**32) - 3000}
    ident = {"pv1": 0, "pv2": 0}
    out: dict[str, list[IntervalReading]] = {"pv1": [], "pv2": []}
    for s in seq:
        m = s.meter
        t[m] += s.dt
        if s.register == "add":
            reg[m] += s.amount
        elif s.register == "reset":
            reg[m] = s.amount
        elif s.register == "jump":
            reg[m] += s.amount * 1000
        else:
            reg[m] += (wrap or 2**32) - reg[m] % (wrap or 2**32) + s.amount
        if wrap:
            reg[m] %= wrap
        if s.replaced:
            ident[m] = 1 - ident[m]
        res = step(states[m], Observation(t[m], reg[m], IDS[ident[m]], wrap, s.synced), PARAMS)
        states[m] = res.state
        out[m].extend(res.readings)
    return out


def _check(out: dict[str, list[IntervalReading]], interleave: Sequence[str]) -> None:
    # the invariants, stated directly
    for m, readings in out.items():
        prev: IntervalReading | None = None
        for r in readings:
            excused = bool(ENERGY_EXCUSING_FLAGS & set(r.flags))
            assert r.start % P == 0, f"{m}: start {r.start} not aligned"
            assert r.end - r.start == P, f"{m}: {r.start}..{r.end} is not one interval"
            assert Flag.GAP_FILLED in r.flags or r.end - r.start == P
            assert r.energy_wh >= 0
            if not excused:
                assert r.energy_wh == r.register_end_wh - r.register_start_wh, f"{m}: {r}"
            if prev is not None:
                assert r.start >= prev.end, f"{m}: {r.start} overlaps the previous {prev.end}"
                assert excused or r.register_start_wh == prev.register_end_wh, \
                    f"{m}: register {r.register_start_wh} ≠ previous end {prev.register_end_wh}"
            prev = r
    # the oracle: sign the readings into one device chain, meters interleaved, and judge them
    tracker = CreditTracker(RULES)
    queues = {m: list(rs) for m, rs in out.items()}
    order = [m for m in interleave if m in queues] + ["pv1", "pv2"]
    n, prev_hash = 1, GENESIS_PREV
    for m in order:
        while queues[m]:
            iv = queues[m].pop(0)
            rec = sign_record(reading_body(DEVICE, m, Quantity.PV_GENERATION, iv)
                              | {"seq": n, "prev": prev_hash}, KEY)
            reading = Reading.from_dict(rec)
            verdict = tracker.add(reading, ENROLMENT)
            if verdict is not None:
                assert verdict.rule in EXCUSED, f"{m} seq {n}: {verdict.reason}"
                if verdict.rule is Rule.CLOCK_UNSYNCED:
                    assert Flag.CLOCK_UNSYNCED in reading.flags
            n, prev_hash = n + 1, record_hash(rec).hex()
            if m in interleave:
                break  # take turns, so the device chain mixes the meters


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.integers(0, 3 * P), seq=st.lists(snaps, min_size=3, max_size=60),
       wrap=st.sampled_from([None, 2**32, 100_000]),
       interleave=st.lists(st.sampled_from(["pv1", "pv2"]), max_size=40))
@example(start=100, seq=[_Snap("pv1", 60, "add", 10, True, False),
                         _Snap("pv1", 10 * P, "add", 5000, True, False),
                         _Snap("pv1", P, "add", 100, True, False)], wrap=None, interleave=[])
@example(start=100, seq=[_Snap("pv1", P, "add", 10, True, False),
                         _Snap("pv1", 2 * P, "add", 10, True, False),
                         _Snap("pv1", -30 * P, "add", 10, True, False),
                         _Snap("pv1", 40 * P, "add", 10, True, False)], wrap=None, interleave=[])
@example(start=0, seq=[_Snap("pv1", 60, "add", 10, False, False),
                       _Snap("pv1", 10 * P, "add", 900, True, False),
                       _Snap("pv1", 2 * P, "add", 100, True, False)], wrap=None, interleave=[])
def test_every_reading_obeys_interval_discipline(start: int, seq: list[_Snap],
                                                 wrap: int | None,
                                                 interleave: list[str]) -> None:
    _check(_run(start, seq, wrap), interleave)
