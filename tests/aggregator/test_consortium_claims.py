"""One home, one claim, across the consortium (issue 18 point 4), with two real towns: each an
initialised aggregator state behind its read API, each mirroring the other. A duplicate inside
one town and across towns is refused naming the holder and the date; a household moving
between towns (revoke, then enrol) is accepted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aggregator import operator
from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch
from aggregator.cli.common import open_ledger
from aggregator.config import load_config
from aggregator.consortium_audit import contested_devices
from aggregator.equipment_claims import load_secrets
from aggregator.errors import Rejected
from aggregator.intake import Intake
from aggregator.programme import example_programme, load_programme
from aggregator.registry import build_enrolment
from aggregator.registry import enrol as enrol_record
from aggregator.store import SqliteStore
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.claim_tokens import ClaimSecret, claim_tokens, parse_equipment
from eco_protocol.encoding import format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.records import Enrolment, MeterSpec, Quantity
from tests.aggregator.consortium_kit import (
    INVERTER,
    Town,
    enrol_equipment,
    mirror,
    write_claim_secret,
)
from tests.aggregator.consortium_kit import towns as towns  # noqa: F401 (a fixture)
from tests.aggregator.ledger_kit import PV_FIT, T0, Device

PROG = "p"








def test_a_duplicate_inside_one_town_is_refused(
        towns: tuple[Town, Town, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, b, consortium = towns
    mirror(a, consortium)
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER, "supply-point=0312345678901234567890") == 0
    first = json.loads(capsys.readouterr().out)
    # the same inverter typed differently, under another household
    assert enrol_equipment(a, "Suzuki, 4-5-6", "inverter=sma:003001-234-567") == 1
    err = capsys.readouterr().err
    assert "inverter entered is already enrolled at town-a" in err
    assert first["device_id"] in err and "2026-05-01 00:00 JST" in err
    # the enrolment carries both tokens, and no identity in clear
    store = SqliteStore(load_config(a.conf).state_dir / "ledger.sqlite3")
    try:
        rec = Enrolment.from_dict(parse_json(store.entry(first["index"])))
    finally:
        store.close()
    assert {t.kind.value for t in rec.claim_tokens} == {"inverter", "supply_point"}
    assert b"3001234567" not in _store_bytes(a)


def _store_bytes(town: Town) -> bytes:
    store = SqliteStore(load_config(town.conf).state_dir / "ledger.sqlite3")
    try:
        return b"".join(d for _, d in store.entries(0, store.size()))
    finally:
        store.close()


def test_across_towns_refused_naming_the_member_then_a_move_is_accepted(
        towns: tuple[Town, Town, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, b, consortium = towns
    mirror(a, consortium)
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 0
    held = json.loads(capsys.readouterr().out)
    mirror(b, consortium)
    assert enrol_equipment(b, "Sato, 9-9-9", "inverter=ＳＭＡ:３００１２３４５６７") == 1
    err = capsys.readouterr().err
    assert "already enrolled at town-a" in err and held["device_id"] in err
    assert "2026-05-01 00:00 JST" in err
    # the household moves: town A revokes, town B's mirror sees it, town B enrols
    assert a.cli("revoke", held["device_id"], "--reason", "moved to town B") == 0
    capsys.readouterr()
    mirror(b, consortium)
    assert enrol_equipment(b, "Sato, 9-9-9", INVERTER) == 0


def test_a_missing_mirror_refuses_rather_than_look_up_less(
        towns: tuple[Town, Town, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, _, _ = towns
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 1
    assert "no mirror of town-b's log" in capsys.readouterr().err
    # and a PV meter without its inverter is refused: a missing identity would skip the look-up
    assert enrol_equipment(a, "Sato, 1-2-3") == 1
    err = capsys.readouterr().err
    assert "pv1 (pv_generation)" in err and "--equipment inverter=" in err


def test_the_audit_lists_a_race_between_two_towns_and_the_batch_hook_names_it(
        towns: tuple[Town, Town, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    a, b, consortium = towns
    witness = tmp_path / "witness"
    witness.mkdir()
    mirror(a, consortium)
    mirror(b, consortium)
    # each town looks before the other's enrolment reached its mirror: both pass the look-up
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 0
    in_a = json.loads(capsys.readouterr().out)["device_id"]
    assert enrol_equipment(b, "Tanaka, 7-7-7", "inverter=sma:3001234567") == 0
    in_b = json.loads(capsys.readouterr().out)["device_id"]
    for town in (a, b):
        town.cosign(witness)
    mirror(a, consortium)
    mirror(b, consortium)
    assert a.cli("consortium-audit", "--consortium", str(consortium), "--mirrors",
                 str(a.mirrors), "--member", "town-a") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["members"] == ["town-a", "town-b"] and report["unresolved"] == 1
    (found,) = report["double_claims"]
    assert found["kind"] == "inverter" and found["across_members"] and found["unresolved"]
    assert {found["first"]["device_id"], found["second"]["device_id"]} == {in_a, in_b}
    assert found["first"]["witnessed"].endswith("JST") and found["second"]["witnessed"]
    # the batch hook: each town's device is named, with the other holder
    settings = load_config(b.conf).consortium
    store = SqliteStore(load_config(b.conf).state_dir / "ledger.sqlite3")
    try:
        assert contested_devices(settings, store) == {
            in_b: f"its inverter is also enrolled at town-a (device {in_a})"}
    finally:
        store.close()
    # settled: town B revokes; the pair is still listed (it happened), no longer unresolved
    assert b.cli("revoke", in_b, "--reason", "enrolled at town A first") == 0
    capsys.readouterr()
    mirror(a, consortium)
    assert a.cli("consortium-audit", "--consortium", str(consortium), "--mirrors",
                 str(a.mirrors), "--member", "town-a") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unresolved"] == 0 and len(report["double_claims"]) == 1


def test_a_batch_covering_a_double_claimed_device_is_not_sealed(
        towns: tuple[Town, Town, Path], tmp_path: Path) -> None:
    """Two households of town A enrolled one inverter (a race inside the town: both enrolments
    appended without the look-up); sealing a batch that covers them is refused, naming both,
    until one is revoked."""
    a, _, consortium = towns
    mirror(a, consortium)
    cfg = load_config(a.conf)
    assert cfg.consortium is not None
    secrets = load_secrets(cfg.consortium.secret_file)
    tokens = claim_tokens(secrets[0], [parse_equipment(INVERTER)])
    ledger = open_ledger(cfg)
    try:
        devices = [Device(), Device()]
        for i, d in enumerate(devices):
            enrol_record(ledger, build_enrolment(
                public_key_raw(d.key), f"hh-race-{i}", PROG,
                [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 4500)],
                dict(PV_FIT), format_time(T0), tokens))
        intake = Intake(ledger)
        for d in devices:
            for _ in range(4):
                (o,) = intake.process([(d.topic, canonical_bytes([d.reading()]))],
                                      "2026-11-25T00:00:00Z")
                assert o.accepted == 1, o.receipt
        (tmp_path / "programme.toml").write_text(example_programme(PROG))
        programme = load_programme(tmp_path / "programme.toml")
        plan = plan_batch(scan(ledger.store), programme, period_from_dates(
            "2026-11-22..2026-11-23"))
        with pytest.raises(Rejected, match="not sealed") as refused:
            operator.seal(cfg, ledger, operator.Actor.cli(), plan)
        assert devices[0].device_id in str(refused.value)
        assert devices[1].device_id in str(refused.value)
        assert "also enrolled at town-a" in str(refused.value)
        operator.revoke(cfg, ledger, operator.Actor.cli(), devices[1].device_id,
                        "the same inverter as another household", format_time(T0))
        plan = plan_batch(scan(ledger.store), programme, period_from_dates(
            "2026-11-22..2026-11-23"))
        assert operator.seal(cfg, ledger, operator.Actor.cli(), plan) > 0
    finally:
        ledger.store.close()


def test_a_rotated_secret_still_finds_equipment_enrolled_under_the_old_one(
        towns: tuple[Town, Town, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, _, consortium = towns
    mirror(a, consortium)
    secret_file = load_config(a.conf).consortium.secret_file  # type: ignore[union-attr]
    old = bytes.fromhex(secret_file.read_text().split()[0])
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 0
    capsys.readouterr()
    new = os.urandom(32)
    write_claim_secret(secret_file, new, old)  # rotated: the new secret first, the old kept
    assert enrol_equipment(a, "Suzuki, 4-5-6", INVERTER) == 1
    assert "already enrolled at town-a" in capsys.readouterr().err
    write_claim_secret(secret_file, new)  # the old one dropped too early: no longer found
    assert enrol_equipment(a, "Suzuki, 4-5-6", INVERTER) == 0
    capsys.readouterr()
    secret_file.chmod(0o644)  # a secret others may read is refused
    assert enrol_equipment(a, "Ito, 8-8-8", "inverter=SMA:3009999999") == 1
    assert "may be read by others" in capsys.readouterr().err


def test_a_secret_the_consortium_does_not_name_refuses_the_enrolment(
        towns: tuple[Town, Town, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A town that installed a secret of its own makes tokens no other member's match: caught
    at enrolment when consortium.toml names the consortium's key ids, not only at the basket."""
    a, _, consortium = towns
    mirror(a, consortium)
    secret_file = load_config(a.conf).consortium.secret_file  # type: ignore[union-attr]
    ours = ClaimSecret(bytes.fromhex(secret_file.read_text().split()[0])).key_id
    text = consortium.read_text("utf-8")
    consortium.write_text(f'claim_token_key_ids = ["{"0" * 16}"]\n' + text, "utf-8")
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 1
    err = capsys.readouterr().err
    assert ours in err and "claim_token_key_ids" in err
    consortium.write_text(f'claim_token_key_ids = ["{ours}"]\n' + text, "utf-8")
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 0
