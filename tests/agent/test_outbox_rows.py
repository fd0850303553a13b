"""The outbox's pure core (agent.outbox_rows, agent.outbox_sent's slot encoding), without SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import AgentError
from agent.outbox_rows import add_to_tally, chain_reading, check_rows, check_sent
from agent.outbox_sent import SENT_SLOT, parse_sent, sent_record
from eco_protocol.records import GENESIS_PREV
from tests.agent.outbox_kit import DEVICE, body, sign


class _Damage(Exception):
    pass


def _chain(n: int) -> list[tuple[int, object, object]]:
    rows: list[tuple[int, object, object]] = []
    prev = GENESIS_PREV
    for i in range(n):
        data, digest = chain_reading(body(i), i + 1, prev, sign, DEVICE)
        rows.append((i + 1, digest, data))
        prev = digest
    return rows


def test_chained_readings_pass_the_row_checks() -> None:
    rows = _chain(3)
    held = check_rows(rows, DEVICE, 4, str(rows[-1][1]), _Damage)
    assert held == {seq: sha for seq, sha, _ in rows}
    check_sent(held, 4, str(rows[-1][1]), 2, str(rows[1][1]), "outbox-sent", _Damage)


def test_chain_reading_refuses_a_signer_that_renumbers_and_another_device() -> None:
    prev = str(_chain(1)[0][1])
    with pytest.raises(AgentError, match="changed seq or prev"):
        chain_reading(body(1), 2, prev, lambda r: sign({**r, "seq": 3}), DEVICE)
    with pytest.raises(AgentError, match="offered to the outbox of device"):
        chain_reading(body(0), 1, GENESIS_PREV, sign, "0" * 32)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda rows: [(1, rows[0][1], rows[0][2] + b" ")], "no longer matches its hash"),
    (lambda rows: [(1, rows[0][1], "text")], "has the wrong type"),
    (lambda rows: [rows[0], rows[2]], None),  # a hole is no break: seq 3 has no seq 2 to follow
    (lambda rows: [(2, rows[0][1], rows[0][2])], "is not this device's reading seq 2"),
])
def test_damaged_rows_are_named(damage: Any, message: str | None) -> None:
    rows = _chain(3)
    if message is None:
        check_rows(damage(rows), DEVICE, 4, str(rows[-1][1]), _Damage)
        return
    with pytest.raises(_Damage, match=message):
        check_rows(damage(rows), DEVICE, 4, str(rows[-1][1]), _Damage)


def test_the_counter_must_name_the_newest_row() -> None:
    rows = _chain(2)
    with pytest.raises(_Damage, match="the counter's last hash is not that of seq 2"):
        check_rows(rows, DEVICE, 3, str(rows[0][1]), _Damage)


def test_an_outbox_behind_its_sent_mark_or_holding_another_reading_is_rolled_back() -> None:
    rows = _chain(2)
    held = check_rows(rows, DEVICE, 3, str(rows[-1][1]), _Damage)
    with pytest.raises(_Damage, match="readings up to seq 5 were already sent"):
        check_sent(held, 3, str(rows[-1][1]), 5, "a" * 64, "outbox-sent", _Damage)
    with pytest.raises(_Damage, match="another reading under seq 2"):
        check_sent(held, 3, str(rows[-1][1]), 2, "a" * 64, "outbox-sent", _Damage)
    check_sent({}, 1, GENESIS_PREV, 0, "", "outbox-sent", _Damage)  # nothing sent yet


def test_the_tally_adds_per_day_and_keeps_the_newest_days() -> None:
    tally: dict[str, Any] = {"2026-11-01": {"energy_wh": {}, "co2_g_estimate": 0}}
    out = add_to_tally(tally, [body(0), body(1)], keep_days=1)
    assert out == {"2026-11-22": {"energy_wh": {"pv_generation": 200}, "co2_g_estimate": 86}}


def test_a_sent_slot_round_trips_and_a_torn_one_reads_as_empty() -> None:
    raw = sent_record(42, "ab" * 32)
    assert len(raw) == SENT_SLOT
    assert parse_sent(raw) == (42, "ab" * 32)
    torn = bytearray(raw)
    torn[3] ^= 1
    assert parse_sent(bytes(torn)) is None
    assert parse_sent(bytes(SENT_SLOT)) is None
