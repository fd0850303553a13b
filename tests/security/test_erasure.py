"""Issue 14 point 5, the right to be forgotten: a household's name and contact live only in the
personal store (``personal.sqlite3``, 0600), never in the ledger or the evidence; ``forget``
erases them so that no byte of them is left in any file of the aggregator's state directory,
while the log stays whole and verifiable — the pseudonym, its readings and its points stay."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator import operator
from aggregator.cli import open_ledger
from aggregator.config import load_config
from aggregator.errors import Rejected
from aggregator.personal import PERSONAL_FILE, Person, PersonalStore, open_personal
from aggregator.registry import build_enrolment, enrol, methodology_terms
from aggregator.store import open_store
from eco_protocol.encoding import b64encode, format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.records import MeterSpec, Quantity
from tests.aggregator.ledger_kit import PV_TERMS, Device
from tests.webui.webui_kit import INSTALLED, JOINED, PROGRAMME, UiWorld, make_world, run_cli

NAME = "Hanako Canary-Erasure, 9-9-9 Kita-machi"
CONTACT = "canary.contact@example.jp +81-90-5555-0199"
JAPANESE = "山田太郎 東京都千代田区千代田1-1"


def _meters() -> list[MeterSpec]:
    return [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 6000),
            MeterSpec("e3", Quantity.GRID_EXPORT, "echonet-lite", 6000)]


def _terms() -> dict[str, Any]:
    return methodology_terms(installed=INSTALLED, fit_status="none", battery=False,
                             zero_export=True)


def _enrol_person(world: UiWorld, reference: str, contact: str | None = None) -> str:
    """Enrol a zero-export PV household the way the CLI and the web UI do (operator.enrol),
    dated the day before the readings; its pseudonym."""
    d = Device()
    with world.ledger() as ledger:
        done = operator.enrol(world.cfg, ledger, operator.Actor.cli(),
                              public_key=public_key_raw(d.key), reference=reference,
                              programme=PROGRAMME, meters=_meters(), fit=_terms(),
                              enrolled_at=format_time(JOINED), contact=contact)
    world.devices[reference] = d
    return done.household


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _, names in os.walk(root):
        for n in names:
            yield Path(dirpath) / n


def _forms(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be")]


def _holding(root: Path, *texts: str) -> set[str]:
    """Every file under ``root`` (relative names) holding any of ``texts`` in UTF-8 or UTF-16."""
    needles = [f for t in texts for f in _forms(t)]
    return {str(p.relative_to(root)) for p in _files(root)
            if any(n in p.read_bytes() for n in needles)}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def world(tmp_path: Path) -> UiWorld:
    return make_world(tmp_path)


@pytest.mark.parametrize("name", [NAME, JAPANESE], ids=["latin", "japanese"])
def test_forget_erases_the_person_from_every_file_and_leaves_the_log_whole(
        world: UiWorld, name: str) -> None:
    household = _enrol_person(world, name, CONTACT)
    other = _enrol_person(world, "Suzuki, 3-4 Minami")
    world.send(name, 24, energy=1500)
    world.send("Suzuki, 3-4 Minami", 24, energy=900)
    evidence = world.state / "evidence-before"
    world.cli("ledger", "export", str(evidence))

    # the name and contact are in the personal store only (0600), not in the ledger, the
    # evidence, the audit trail or anywhere else of the state directory
    assert _holding(world.state, name) == {PERSONAL_FILE}
    assert _holding(world.state, CONTACT) == {PERSONAL_FILE}
    assert _mode(world.state / PERSONAL_FILE) == 0o600
    with open_personal(world.state) as people:
        assert people.get(household) == Person(household, name, CONTACT)
    points = world.cli("points", "--household", household)["households"]
    assert points[0]["earned"] > 0
    size = world.cli("status")["size"]

    out = world.cli("forget", name)

    assert out["household"] == household and out["personal_data"] == "erased"
    assert _holding(world.state, name, CONTACT) == set()  # every file, -wal/-journal included
    with open_personal(world.state) as people:
        assert people.get(household) is None
        assert people.get(other) == Person(other, "Suzuki, 3-4 Minami")  # the others stay
    # the log is untouched and whole: same size, verifies, the pseudonym still earns its points
    assert world.cli("status")["size"] == size
    verified = world.cli("ledger", "verify")
    assert verified["ok"] and verified["size"] == size
    assert world.cli("points", "--household", household)["households"] == points
    with world.ledger() as ledger:
        assert any(household.encode() in data for _, data in ledger.store.entries(0, size))
    # the audit record names the pseudonym, never the person
    last = operator.read_audit(world.cfg)[-1]
    assert (last["action"], last["household"], last["outcome"]) == ("forget", household, "ok")


def test_forget_by_pseudonym_and_a_second_time(world: UiWorld) -> None:
    household = _enrol_person(world, NAME)
    assert world.cli("forget", household)["household"] == household
    assert _holding(world.state, NAME) == set()
    with pytest.raises(Rejected, match="no personal data is kept for household"):
        operator.forget(world.cfg, operator.Actor.cli(), NAME)
    refused = operator.read_audit(world.cfg)[-1]
    assert (refused["action"], refused["outcome"]) == ("forget", "refused")
    assert NAME not in (world.state / operator.AUDIT_FILE).read_text("utf-8")


def test_the_cli_keeps_the_contact_and_forgets_it(world: UiWorld) -> None:
    d = Device()
    out = world.cli("enrol", "--public-key", b64encode(public_key_raw(d.key)),
                    "--household", JAPANESE, "--contact", CONTACT, "--programme", PROGRAMME,
                    "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS)
    with open_personal(world.state) as people:
        assert people.get(out["household"]) == Person(out["household"], JAPANESE, CONTACT)
    assert _holding(world.state, JAPANESE, CONTACT) == {PERSONAL_FILE}
    world.cli("forget", f"  {JAPANESE} ")  # as typed, stray blanks and all
    assert _holding(world.state, JAPANESE, CONTACT) == set()


def _enrol_old_style(world: UiWorld, reference: str) -> str:
    """What an older version left: the enrolment in the log, the reference in a ``household``
    table of the ledger store."""
    d = Device()
    household = world.pseudonym(reference)
    with world.ledger() as ledger:
        enrol(ledger, build_enrolment(public_key_raw(d.key), household, PROGRAMME, _meters(),
                                      _terms(), format_time(JOINED)))
    db = sqlite3.connect(world.state / "ledger.sqlite3")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS household "
                   "(pseudonym TEXT PRIMARY KEY, reference TEXT NOT NULL)")
        db.execute("INSERT INTO household VALUES(?, ?)", (household, reference))
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # into the main file, as time would
    finally:
        db.close()
    return household


def test_an_old_ledger_household_table_moves_to_the_personal_store(world: UiWorld) -> None:
    sato = _enrol_old_style(world, NAME)
    yamada = _enrol_old_style(world, JAPANESE)
    assert _holding(world.state, NAME) == {"ledger.sqlite3"}

    size = world.cli("status")["size"]  # any command opening the store moves them

    assert _holding(world.state, NAME) == _holding(world.state, JAPANESE) == {PERSONAL_FILE}
    tables = sqlite3.connect(world.state / "ledger.sqlite3").execute(
        "SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert ("household",) not in tables
    with open_personal(world.state) as people:
        assert people.get(sato) == Person(sato, NAME)
        assert people.get(yamada) == Person(yamada, JAPANESE)
    assert world.cli("ledger", "verify")["ok"]
    assert world.cli("status")["size"] == size
    world.cli("forget", JAPANESE)
    assert _holding(world.state, JAPANESE) == set()
    assert _holding(world.state, NAME) == {PERSONAL_FILE}


def test_the_personal_store_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = PersonalStore(tmp_path / PERSONAL_FILE)
        store.put(Person("hh-00000000000000000000", NAME))
        store.close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / PERSONAL_FILE) == 0o600
    os.chmod(tmp_path / PERSONAL_FILE, 0o644)
    PersonalStore(tmp_path / PERSONAL_FILE).close()
    assert _mode(tmp_path / PERSONAL_FILE) == 0o600
    assert {p.name for p in tmp_path.iterdir()} == {PERSONAL_FILE}  # no journal left behind


def _pg_holding(url: str, text: str) -> list[str]:
    """Every table of the database (all schemas but the system's) with a row whose text form
    holds ``text``, as text or as the hex of a BYTEA."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        tables = pg.execute("SELECT table_schema, table_name FROM information_schema.tables "
                            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                            "AND table_type = 'BASE TABLE'").fetchall()
        assert len(tables) >= 8
        found = []
        hexed = text.encode("utf-8").hex()
        for schema, table in tables:
            hit = pg.execute(f'SELECT count(*) FROM "{schema}"."{table}" t '
                             "WHERE t::text LIKE %s OR t::text LIKE %s",
                             (f"%{text}%", f"%{hexed}%")).fetchone()
            if hit and hit[0]:
                found.append(f"{schema}.{table}")
        return found


def test_postgresql_ledger_never_holds_the_name(tmp_path: Path, postgres_db: str) -> None:
    state = tmp_path / "agg"
    conf = state / "aggregator.toml"
    run_cli(conf, "init", str(state), "--origin", "eco-ledger.pg.test", "--store", postgres_db)
    cfg_ = load_config(conf)
    d = Device()
    ledger = open_ledger(cfg_)
    try:
        done = operator.enrol(cfg_, ledger, operator.Actor.cli(),
                              public_key=public_key_raw(d.key), reference=JAPANESE,
                              programme=PROGRAMME, meters=_meters(), fit=_terms(),
                              enrolled_at=format_time(JOINED), contact=CONTACT)
    finally:
        ledger.store.close()
    # the control: the search finds what is there (the pseudonym, in the entry's BYTEA)
    assert "public.entry" in _pg_holding(postgres_db, done.household)
    assert _pg_holding(postgres_db, JAPANESE) == [] and _pg_holding(postgres_db, CONTACT) == []
    assert _holding(state, JAPANESE) == {PERSONAL_FILE}

    # an older version's household table in PostgreSQL moves to the personal store
    import psycopg

    with psycopg.connect(postgres_db, autocommit=True) as pg:
        pg.execute("CREATE TABLE household (pseudonym TEXT PRIMARY KEY, reference TEXT NOT NULL)")
        pg.execute("INSERT INTO household VALUES('hh-0123456789abcdef0123', %s)", (NAME,))
    assert _pg_holding(postgres_db, NAME) == ["public.household"]
    open_store(cfg_).close()
    assert _pg_holding(postgres_db, NAME) == []
    with open_personal(state) as people:
        assert people.get("hh-0123456789abcdef0123") == Person("hh-0123456789abcdef0123", NAME)
    run_cli(conf, "forget", JAPANESE)
    assert _holding(state, JAPANESE, CONTACT) == set()
