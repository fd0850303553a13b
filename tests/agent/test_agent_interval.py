"""agent.interval: the pure interval builder (alignment, boundaries, rollover, reset, gaps)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import StateCorrupt
from agent.interval import (
    MIN_PLAUSIBLE_TIME,
    BuilderParams,
    IntervalReading,
    MeterState,
    Observation,
    co2_estimate,
    reading_body,
    step,
)
from agent.meters.interface import MeterIdentity
from eco_protocol.keys import device_id_of, private_key_from_raw, public_key_raw
from eco_protocol.records import GENESIS_PREV, Flag, Quantity, Reading
from eco_protocol.signing import sign_record

P = 1800
T0 = 1_795_305_600  # 2026-11-22T00:00:00Z, a multiple of P
ID = MeterIdentity("sunspec-modbus", "EcoSim", "ES-5K", "SN1")
PARAMS = BuilderParams(interval_s=P, co2_g_per_kwh=434, max_gap_intervals=48)


def _feed(points: Sequence[tuple[int, int]], params: BuilderParams = PARAMS, *,
         identity: MeterIdentity = ID, wrap: int | None = None,
         synced: bool = True) -> tuple[MeterState | None, list[IntervalReading]]:
    state: MeterState | None = None
    out: list[IntervalReading] = []
    for t, reg in points:
        res = step(state, Observation(t, reg, identity, wrap, synced), params)
        state = res.state
        out.extend(res.readings)
    return state, out


# --- examples -------------------------------------------------------------------------------


def test_first_reading_starts_at_the_first_boundary_after_the_first_snapshot() -> None:
    pts = [(T0 + 100 + 60 * i, 1000 + 10 * i) for i in range(0, 62)]  # ~ one hour
    state, out = _feed(pts)
    assert len(out) == 1
    r = out[0]
    assert (r.start, r.end) == (T0 + P, T0 + 2 * P)
    # register at a boundary = last snapshot at or before it: T0+1780 for start, T0+3580 for end
    assert r.register_start_wh == 1000 + 10 * 28
    assert r.register_end_wh == 1000 + 10 * 58
    assert r.energy_wh == 300 and r.flags == ()
    assert r.co2_g_estimate == 300 * 434 // 1000
    assert state is not None and state.anchor_t == T0 + 2 * P


def test_snapshot_exactly_on_a_boundary_defines_it() -> None:
    _, out = _feed([(T0, 500), (T0 + 900, 600), (T0 + P, 700), (T0 + P + 1, 900)])
    assert len(out) == 1
    assert (out[0].register_start_wh, out[0].register_end_wh, out[0].energy_wh) == (500, 700, 200)


def test_rollover_through_wrap() -> None:
    w = 2**32
    _, out = _feed([(T0, w - 100), (T0 + 600, w - 10), (T0 + 1200, 40), (T0 + P, 90)], wrap=w)
    assert len(out) == 1
    r = out[0]
    assert r.register_start_wh == w - 100 and r.register_end_wh == 90
    assert r.energy_wh == 190 and r.flags == (Flag.ROLLOVER,)


def test_backwards_without_wrap_is_a_reset_with_zero_energy() -> None:
    _, out = _feed([(T0, 5_000_000), (T0 + 600, 5_000_100), (T0 + 1200, 20), (T0 + P, 80),
                   (T0 + 2 * P, 180)])
    assert [r.flags for r in out] == [(Flag.METER_RESET,), ()]
    assert out[0].energy_wh == 0 and out[0].register_end_wh == 80
    assert out[1].energy_wh == 100


def test_large_backwards_jump_with_wrap_known_is_still_a_reset() -> None:
    _, out = _feed([(T0, 5_000_000), (T0 + 600, 20), (T0 + P, 30)], wrap=2**32)
    assert out[0].flags == (Flag.METER_RESET,) and out[0].energy_wh == 0


def test_identity_change_is_meter_replaced() -> None:
    state: MeterState | None = None
    out: list[IntervalReading] = []
    other = MeterIdentity("sunspec-modbus", "EcoSim", "ES-5K", "SN2")
    for t, reg, ident in [(T0, 1000, ID), (T0 + 600, 1100, ID), (T0 + 900, 1200, other),
                          (T0 + P, 1300, other)]:
        res = step(state, Observation(t, reg, ident), PARAMS)
        state = res.state
        out.extend(res.readings)
    assert out[0].flags == (Flag.METER_REPLACED,) and out[0].energy_wh == 0
    assert out[0].identity == other


def test_missed_intervals_are_apportioned_and_flagged() -> None:
    # last snapshot at T0+1700, next at T0+4P+300: intervals 2 and 3 are missed entirely
    _, out = _feed([(T0, 0), (T0 + 1700, 1700), (T0 + 4 * P + 300, 4 * P + 300)])
    assert [(r.start - T0) // P for r in out] == [0, 1, 2, 3]
    assert out[0].flags == () and out[0].register_end_wh == 1700
    assert all(Flag.GAP_FILLED in r.flags for r in out[1:])
    assert all(r.energy_wh == r.register_end_wh - r.register_start_wh for r in out)
    # 1 Wh per second between the snapshots: each whole missed interval gets P Wh
    assert [r.energy_wh for r in out[1:]] == [P + 100, P, P]
    assert all(r.end - r.start == P for r in out)


def test_gap_with_reset_gives_zero_energy_intervals() -> None:
    _, out = _feed([(T0, 9_000_000), (T0 + 10, 9_000_010), (T0 + 3 * P + 5, 50),
                   (T0 + 4 * P, 60)])
    assert all(r.energy_wh == 0 for r in out[1:])
    assert out[-1].flags == (Flag.METER_RESET, Flag.GAP_FILLED)


def test_outage_longer_than_the_bound_resumes_with_a_continuous_bridge() -> None:
    params = BuilderParams(interval_s=P, max_gap_intervals=2)
    _, out = _feed([(T0, 0), (T0 + 100, 100), (T0 + 10 * P + 7, 5000), (T0 + 11 * P, 5100),
                   (T0 + 12 * P, 5200)], params)
    assert [(r.start - T0) // P for r in out] == [0, 10, 11]
    assert out[0].register_end_wh == 100
    # the interval holding the first snapshot after the outage bridges the register (v1.1 §2):
    # it continues from the last reading, claims nothing and says why
    bridge = out[1]
    assert (bridge.register_start_wh, bridge.register_end_wh, bridge.energy_wh) == (100, 5100, 0)
    assert bridge.flags == (Flag.METER_RESET,)
    assert (out[2].register_start_wh, out[2].energy_wh, out[2].flags) == (5100, 100, ())


def test_outage_ending_on_a_boundary_bridges_the_interval_before_it() -> None:
    params = BuilderParams(interval_s=P, max_gap_intervals=2)
    _, out = _feed([(T0, 0), (T0 + P, 100), (T0 + 10 * P, 5000), (T0 + 11 * P, 5100)], params)
    # the interval open at the last snapshot is closed as usual; then the bridge, then normal
    assert [(r.start - T0) // P for r in out] == [0, 1, 9, 10]
    assert [(r.register_start_wh, r.register_end_wh, r.energy_wh) for r in out] == [
        (0, 100, 100), (100, 100, 0), (100, 5000, 0), (5000, 5100, 100)]
    assert [r.flags for r in out] == [(), (), (Flag.METER_RESET,), ()]


def test_clock_far_back_never_signs_an_interval_twice() -> None:
    params = BuilderParams(interval_s=P, max_gap_intervals=2)
    ahead = T0 + 20 * P  # the clock ran 20 intervals ahead, then was set right
    pts = [(ahead, 0), (ahead + P, 100), (ahead + 2 * P, 200),
           (T0 + 60, 300), *((T0 + k * P, 300 + 100 * k) for k in range(1, 25))]
    state, out = _feed(pts, params)
    starts = [(r.start - T0) // P for r in out]
    assert starts == [20, 21, 22, 23]  # nothing again before 22 (the end of the last reading)
    assert out[2].register_start_wh == out[1].register_end_wh == 200  # bridged: continuous
    assert out[2].flags == (Flag.METER_RESET,) and out[2].energy_wh == 0
    assert out[3].register_start_wh == out[2].register_end_wh and out[3].energy_wh == 100
    assert state is not None and state.said_t == T0 + 24 * P


def test_state_from_before_said_t_continues_from_its_open_interval() -> None:
    state, _ = _feed([(T0, 0), (T0 + P, 100), (T0 + P + 60, 110)])
    assert state is not None
    old = {k: v for k, v in state.to_dict().items() if k not in ("said_t", "said_wh")}
    restored = MeterState.from_dict(old)
    assert (restored.said_t, restored.said_wh) == (T0 + P, 100) == (state.said_t, state.said_wh)


def test_time_going_back_is_ignored_and_never_resigns_an_interval() -> None:
    state, out = _feed([(T0, 0), (T0 + P + 5, 100)])
    assert len(out) == 1
    res = step(state, Observation(T0 + 10, 200, ID), PARAMS)
    assert res.readings == () and res.state == state and res.note


def test_snapshots_before_2020_are_ignored() -> None:
    res = step(None, Observation(MIN_PLAUSIBLE_TIME - 1, 5, ID), PARAMS)
    assert res.state is None and res.note and "2020" in res.note


def test_unsynced_clock_flags_the_readings() -> None:
    _, out = _feed([(T0, 0), (T0 + 60, 10), (T0 + P + 60, 20)], synced=False)
    assert out[0].flags == (Flag.CLOCK_UNSYNCED,)


def test_state_round_trip_and_malformed_state() -> None:
    state, _ = _feed([(T0, 0), (T0 + 700, 9), (T0 + 800, 2**32 - 1)])
    assert state is not None
    assert MeterState.from_dict(state.to_dict()) == state
    broken = state.to_dict()
    del broken["anchor_wh"]
    with pytest.raises(StateCorrupt, match="anchor_wh"):
        MeterState.from_dict(broken)
    broken = state.to_dict() | {"last_t": "soon"}
    with pytest.raises(StateCorrupt):
        MeterState.from_dict(broken)


def test_reading_body_is_a_valid_reading_once_numbered_and_signed() -> None:
    _, out = _feed([(T0, 1234500), (T0 + P, 1235044)])
    key = private_key_from_raw(bytes(range(32)))
    dev = device_id_of(public_key_raw(key))
    body = reading_body(dev, "pv1", Quantity.PV_GENERATION, out[0])
    signed = sign_record(body | {"seq": 1, "prev": GENESIS_PREV}, key)
    r = Reading.from_dict(signed)
    assert (r.start, r.end, r.energy_wh, r.co2_g_estimate) == (
        "2026-11-22T00:00:00Z", "2026-11-22T00:30:00Z", 544, 236)


def test_co2_estimate_is_integer_floor() -> None:
    assert co2_estimate(544, 434) == 236
    assert co2_estimate(0, 434) == 0
    assert co2_estimate(999, 1) == 0


@pytest.mark.parametrize("bad", [0, 7, -1800, 7 * 3600])
def test_params_reject_intervals_not_dividing_a_day(bad: int) -> None:
    with pytest.raises(ValueError):
        BuilderParams(interval_s=bad)


# --- properties -------------------------------------------------------------------------------

# gaps between snapshots: mostly a poll period, sometimes several intervals
gaps = st.lists(st.one_of(st.integers(1, 120), st.integers(1, 5 * P)), min_size=1, max_size=80)
increments = st.integers(0, 3000)


def _check_shape(out: Sequence[IntervalReading], p: int) -> None:
    for r in out:
        assert r.start % p == 0 and r.end - r.start == p
        assert r.energy_wh >= 0 and r.co2_g_estimate >= 0
        assert len(set(r.flags)) == len(r.flags)
    for a, b in zip(out, out[1:], strict=False):
        assert b.start == a.end  # contiguous: one reading per interval, none spanning several
        assert b.register_start_wh == a.register_end_wh


@settings(max_examples=300, deadline=None)
@given(start=st.integers(0, 10 * P), gaps=gaps, data=st.data())
def test_energy_is_conserved_across_intervals(start: int, gaps: list[int],
                                              data: st.DataObject) -> None:
    t, reg = T0 + start, data.draw(st.integers(0, 10**9))
    pts = [(t, reg)]
    for g in gaps:
        t, reg = t + g, reg + data.draw(increments)
        pts.append((t, reg))
    state, out = _feed(pts)
    _check_shape(out, P)
    for r in out:
        assert r.energy_wh == r.register_end_wh - r.register_start_wh
        assert Flag.ROLLOVER not in r.flags and Flag.METER_RESET not in r.flags
    assert state is not None
    if state.anchor_t is None:
        assert out == []
        return
    first_anchor = out[0].start if out else state.anchor_t
    at_anchor = max(reg for t, reg in pts if t <= first_anchor)
    # everything from the first boundary to the last snapshot is in a reading or still open
    assert sum(r.energy_wh for r in out) + state.open_energy_wh == pts[-1][1] - at_anchor
    # missed intervals only where the snapshots left a whole interval out
    if all(b - a < P for (a, _), (b, _) in zip(pts, pts[1:], strict=False)):
        assert all(Flag.GAP_FILLED not in r.flags for r in out)


@settings(max_examples=300, deadline=None)
@given(gaps=gaps, data=st.data(), wrap=st.sampled_from([10_000, 2**16, 2**32]))
def test_rollover_keeps_modular_energy(gaps: list[int], data: st.DataObject, wrap: int) -> None:
    t, true = T0 + 17, data.draw(st.integers(0, wrap - 1))
    pts = [(t, true)]
    for g in gaps:
        t, true = t + g, true + data.draw(st.integers(0, min(3000, wrap // 2 - 1)))
        pts.append((t, true))
    state, out = _feed([(t, u % wrap) for t, u in pts], wrap=wrap)
    _check_shape(out, P)
    for r in out:
        # several polls in one interval may add up to a whole turn of the register: the energy
        # is then congruent to the register difference, and the rollover flag excuses it
        assert r.energy_wh % wrap == (r.register_end_wh - r.register_start_wh) % wrap
        if r.register_end_wh < r.register_start_wh or \
                r.energy_wh != r.register_end_wh - r.register_start_wh:
            assert Flag.ROLLOVER in r.flags
        assert 0 <= r.register_end_wh < wrap
    assert state is not None
    if out:
        at_anchor = max(u for t, u in pts if t <= out[0].start)
        assert sum(r.energy_wh for r in out) + state.open_energy_wh == pts[-1][1] - at_anchor


@settings(max_examples=300, deadline=None)
@given(pts=st.lists(st.tuples(st.integers(-2 * P, 6 * P), st.integers(0, 2**40)),
                    min_size=1, max_size=60),
       wrap=st.sampled_from([None, 2**32]), synced=st.booleans())
def test_any_snapshot_sequence_gives_valid_readings(pts: list[tuple[int, int]],
                                                    wrap: int | None, synced: bool) -> None:
    # arbitrary jumps back and forth in time and register: never raises, never negative,
    # always aligned, and every reading's energy agrees with its registers unless excused
    t = T0
    absolute = []
    for dt, reg in pts:
        t += dt
        absolute.append((t, reg))
    _, out = _feed(absolute, wrap=wrap, synced=synced)
    seen: set[int] = set()
    for r in out:
        assert r.start % P == 0 and r.end - r.start == P and r.energy_wh >= 0
        assert r.start not in seen  # no interval is signed twice
        seen.add(r.start)
        if not {Flag.ROLLOVER, Flag.METER_RESET, Flag.METER_REPLACED} & set(r.flags):
            assert r.energy_wh == r.register_end_wh - r.register_start_wh
        if not synced:
            assert Flag.CLOCK_UNSYNCED in r.flags
