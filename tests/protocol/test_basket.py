"""The basket's own rule, pure: a claim token credited by two batches whose periods overlap is a
double credit; adjacent periods, other tokens and one batch alone are not."""

from __future__ import annotations

from eco_protocol.basket import CREDITED_KINDS, BasketBatch, double_credits
from eco_protocol.claim_tokens import (
    ClaimSecret,
    ClaimToken,
    EquipmentKind,
    claim_token,
    parse_equipment,
)
from eco_protocol.coverage import EV, PV
from eco_protocol.programme_records import Period

SECRET = ClaimSecret(b"\x01" * 32)
INV = claim_token(SECRET, parse_equipment("inverter=SMA:1"))
OTHER = claim_token(SECRET, parse_equipment("inverter=SMA:2"))
NOV = Period("2026-10-31T15:00:00Z", "2026-11-30T15:00:00Z")
DEC = Period("2026-11-30T15:00:00Z", "2026-12-31T15:00:00Z")
NOV_DEC = Period("2026-11-15T15:00:00Z", "2026-12-15T15:00:00Z")


def _batch(member: str, period: Period, *tokens: ClaimToken, batch_id: str = "b") -> BasketBatch:
    return BasketBatch(f"{member}.json", member, f"{member}:{batch_id}", PV, period, 1,
                       1_000_000, 1, "published", {t: f"dev-{member}" for t in tokens}, 0)


def test_overlapping_periods_with_one_token_are_a_double_credit() -> None:
    (problem,) = double_credits([_batch("town-a", NOV, INV), _batch("town-b", NOV_DEC, INV)])
    assert "the same inverter" in problem and "town-a's batch town-a:b (device dev-town-a)" \
        in problem and "town-b's batch" in problem


def test_adjacent_periods_other_tokens_or_one_batch_are_not() -> None:
    assert double_credits([_batch("town-a", NOV, INV), _batch("town-b", DEC, INV)]) == []
    assert double_credits([_batch("town-a", NOV, INV), _batch("town-b", NOV, OTHER)]) == []
    assert double_credits([_batch("town-a", NOV, INV, OTHER)]) == []


def test_within_one_log_two_overlapping_batches_crediting_one_token_clash() -> None:
    found = double_credits([_batch("town-a", NOV, INV, batch_id="x"),
                            _batch("town-a", NOV_DEC, INV, batch_id="y")])
    assert len(found) == 1


def test_a_pv_batch_and_an_ev_batch_count_different_equipment() -> None:
    assert CREDITED_KINDS[PV] == {EquipmentKind.INVERTER, EquipmentKind.SUPPLY_POINT}
    assert CREDITED_KINDS[EV] == {EquipmentKind.EV_CHARGER, EquipmentKind.VIN}
