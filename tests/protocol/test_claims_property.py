"""Property: for any interleaving of batch seals, certificate issuances and forged claims, the
replay accepts exactly the honest claims, and the Wh claimed from every reading — issued, plus
the remainder a seal takes — never exceed what its span's self-consumption proves."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from eco_protocol.canonical import canonical_bytes
from eco_protocol.certificates import proven_hours
from eco_protocol.claims import BundleRange, Claim, ClaimPart
from eco_protocol.encoding import format_time
from eco_protocol.methodology import household_terms
from eco_protocol.replay import EntryProblem, LedgerReplay
from eco_protocol.signing import sign_record
from tests.protocol.claims_kit import CLAIMED_AT, HOUR0, Log

HOURS = 4
HOMES = (1, 2)
energy = st.integers(0, 2500)
slots = st.lists(st.tuples(energy, st.one_of(st.none(), energy)),
                 min_size=2 * HOURS, max_size=2 * HOURS)
op = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(HOMES), st.integers(0, HOURS - 1)),
    st.tuples(st.just("seal"), st.integers(0, HOURS - 1), st.integers(1, HOURS)),
    st.tuples(st.just("forge"), st.sampled_from(HOMES), st.integers(0, HOURS - 1)),
)


def _issue_record(log: Log, replay: LedgerReplay, home: int, h: int,
                  extra: int) -> dict[str, object] | None:
    """The honest claim for the free Wh of home ``home``'s hour ``h`` (``extra`` = 0), or one
    taking ``extra`` Wh more than is free from its first reading (a forgery)."""
    book = replay.claims
    hh = f"hh-{home:04d}"
    held = [x.reading for x in book.held.values() if x.household == hh]
    hour = HOUR0 + timedelta(hours=h)
    proven = [p for p in proven_hours(hh, held, household_terms(book.enrolments[hh]))
              if p.hour == hour]
    if not proven:
        return None
    parts = book.free_parts(proven[0])
    if extra:
        index = next(iter(proven[0].shares))
        free = next((p.wh for p in parts if p.index == index), 0)
        parts = [ClaimPart(index, proven[0].hashes[index], free + extra)]
    if not parts:
        return None
    total = sum(p.wh for p in parts)
    claim = Claim(f"c-{len(log.entries)}", "issued", "prog-2026", CLAIMED_AT,
                  hour=format_time(hour), parts=tuple(parts),
                  bundle=BundleRange(book.next_id, book.next_id + total - 1))
    return sign_record(claim.to_dict(), log.signer.private_key)


def _seal(log: Log, replay: LedgerReplay, a: int, b: int) -> list[dict[str, object]]:
    start, end = HOUR0 + timedelta(hours=a), HOUR0 + timedelta(hours=max(a + 1, b))
    if any(s.period.start_dt < end and start < s.period.end_dt for s in replay.seals.values()):
        return []
    n = len(replay.seals)
    log.seal(f"b-{n}", start, end)
    seal = log.entries.pop()
    log.sealed_claim(f"sealed:b-{n}", f"b-{n}")
    claim = log.entries.pop()
    return [json.loads(seal), json.loads(claim)]


@settings(max_examples=40, deadline=None)
@given(homes=st.tuples(slots, slots), ops=st.lists(op, max_size=12))
def test_no_interleaving_claims_a_wh_twice(
        homes: tuple[list[tuple[int, int | None]], list[tuple[int, int | None]]],
        ops: list[tuple[str, int, int]]) -> None:
    log = Log()
    for home, data in zip(HOMES, homes, strict=True):
        log.enrol(home)
        for slot, (pv, export) in enumerate(data):
            log.slot(home, slot, pv, export)
    replay = LedgerReplay(log.signer.verifier.public_key)
    for e in log.entries:
        replay.add(e)
    for kind, x, y in ops:
        if kind == "seal":
            records = _seal(log, replay, x, y)
        else:
            record = _issue_record(log, replay, x, y, 1 if kind == "forge" else 0)
            records = [] if record is None else [record]
        for record in records:
            entry = canonical_bytes(record)
            if kind == "forge":
                try:
                    replay.add(entry)
                except EntryProblem as err:
                    assert "claimed twice" in err.detail or "more than" in err.detail
                    continue
                raise AssertionError(f"a forged claim was accepted: {record}")
            replay.add(entry)
            log.entries.append(entry)
    book = replay.claims
    for index in book.held:
        share, issued = book.share(index), book.issued_wh(index)
        sealed = book.sealing(index)
        remainder = 0
        if sealed is not None:
            at, _ = sealed
            assert book.issued_wh(index) == book.issued_wh(index, before=at)
            remainder = share - book.issued_wh(index, before=at)
        assert issued >= 0 and issued + remainder <= share
