"""Choosing a store by URL, and what both backends promise beyond the ledger tests: one writer at
a time, reads after the sequencer see the previous writer's commit, clear errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from aggregator.config import EXAMPLE, load_config
from aggregator.errors import ConfigError, EnvironmentProblem
from aggregator.store import Backend, StoreUrl, open_store
from aggregator.store.postgres import PostgresStore
from aggregator.store.sqlite import SqliteStore
from aggregator.store.url import redact
from tests.aggregator.ledger_kit import StoreBackend
from tests.support.postgres_kit import PostgresServer

# --- URLs and configuration ---------------------------------------------------------------


def test_sqlite_urls_relative_and_absolute(tmp_path: Path) -> None:
    rel = StoreUrl.parse("sqlite:///ledger.sqlite3", tmp_path)
    assert rel.backend is Backend.SQLITE and rel.sqlite_path == tmp_path / "ledger.sqlite3"
    assert rel.url == f"sqlite:///{tmp_path}/ledger.sqlite3"
    absolute = StoreUrl.parse("sqlite:////var/lib/eco/l.sqlite3", tmp_path)
    assert absolute.sqlite_path == Path("/var/lib/eco/l.sqlite3")
    assert StoreUrl.parse(absolute.url) == absolute  # the normalised form round-trips


def test_postgresql_urls_pass_through_and_hide_passwords() -> None:
    u = StoreUrl.parse("postgresql://eco:s3cret@db.example/eco_ledger?sslmode=require")
    assert u.backend is Backend.POSTGRESQL and u.sqlite_path is None
    assert u.url == "postgresql://eco:s3cret@db.example/eco_ledger?sslmode=require"
    assert "s3cret" not in u.redacted() and u.redacted().startswith("postgresql://eco:***@")
    q = StoreUrl.parse("postgres:///eco?host=/run/postgresql&password=s3cret")
    assert q.redacted() == "postgres:///eco?host=/run/postgresql&password=***"


@pytest.mark.parametrize("url, shown", [
    ("sqlite:////var/lib/eco/ledger.sqlite3", "sqlite:////var/lib/eco/ledger.sqlite3"),
    ("postgresql://eco@/t0?host=/tmp/s&port=5", "postgresql://eco@/t0?host=/tmp/s&port=5"),
    ("postgresql://e:p@ss@h/db", "postgresql://e:***@h/db"),
    ("postgresql://h?password=a/b&x=1", "postgresql://h?password=***&x=1"),
])
def test_redaction_changes_nothing_but_the_password(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize("url, message", [
    ("sqlite://ledger.sqlite3", "is not a SQLite URL: write sqlite:///relative/path"),
    ("sqlite:///", "is not a SQLite URL"),
    ("mysql://db/eco", "a store URL starts with sqlite:/// (one file) or postgresql://"),
    ("ledger.sqlite3", "a store URL starts with sqlite:///"),
    ("postgresql://eco@db/eco?nonsense_option=1", "is not a PostgreSQL URL"),
])
def test_bad_store_urls_say_what_a_good_one_looks_like(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        StoreUrl.parse(url)
    assert message in str(e.value)


def _config(tmp_path: Path, store_lines: str) -> Path:
    text = EXAMPLE.format(origin="o.example", state_dir=tmp_path, broker="mqtt://127.0.0.1:1883",
                          store_url="sqlite:///ledger.sqlite3")
    head, rest = text.split("[store]\n", 1)
    rest = rest.split("\n[mqtt]", 1)[1]
    path = tmp_path / "aggregator.toml"
    path.write_text(f'{head}[store]\nstate_dir = "{tmp_path}"\n{store_lines}\n\n[mqtt]{rest}')
    return path


def test_config_store_url_default_and_legacy_keys(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, "")).store == StoreUrl.sqlite(
        tmp_path / "ledger.sqlite3")
    assert load_config(_config(tmp_path, 'url = "sqlite:///x/l.db"')).store.sqlite_path == \
        tmp_path / "x" / "l.db"
    legacy = load_config(_config(tmp_path, 'backend = "sqlite"\nsqlite_path = "old.sqlite3"'))
    assert legacy.store.sqlite_path == tmp_path / "old.sqlite3"
    pg = load_config(_config(tmp_path, 'url = "postgresql://eco@db.example/eco_ledger"'))
    assert pg.store.backend is Backend.POSTGRESQL


@pytest.mark.parametrize("lines, message", [
    ('url = "sqlite:///a"\nsqlite_path = "b"', "[store]: 'url' replaces 'sqlite_path'"),
    ('url = 5', "[store]: 'url' must be"),
    ('url = "mongodb://x"', "[store]: 'url' 'mongodb://x': a store URL starts with"),
    ('backend = "postgresql"', "[store]: 'backend' 'postgresql': name the store with 'url'"),
])
def test_config_store_errors_name_the_key(tmp_path: Path, lines: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(_config(tmp_path, lines))
    assert message in str(e.value)


def test_open_store_picks_the_backend(tmp_path: Path, postgres_db: str) -> None:
    s = open_store(f"sqlite:///{tmp_path}/a.sqlite3")
    assert isinstance(s, SqliteStore)
    s.close()
    p = open_store(postgres_db)
    assert isinstance(p, PostgresStore)
    p.close()


def test_an_unreachable_server_is_an_environment_problem_without_the_password(
        tmp_path: Path) -> None:
    url = f"postgresql://eco:s3cret@/eco?host={tmp_path}&port=1"
    with pytest.raises(EnvironmentProblem) as e:
        PostgresStore(url, connect_timeout=2)
    assert "cannot connect to the PostgreSQL ledger store" in str(e.value)
    assert "s3cret" not in str(e.value)


# --- the sequencer ------------------------------------------------------------------------


def test_a_second_writer_waits_and_then_sees_the_first_ones_commit(
        store_backend: StoreBackend) -> None:
    """What keeps leaf indexes dense across workers: the second writer's transaction starts
    only after the first commits, and its reads see that commit."""
    url = store_backend.new_url()
    first = store_backend.open(url)
    store_backend.open(url).close()  # schema in place before the race
    entered = threading.Event()
    seen: list[int] = []

    def writer() -> None:  # its own store: a SQLite connection belongs to one thread
        second = store_backend.open(url)
        with second.transaction():
            entered.set()
            seen.append(second.size())
        second.close()

    with first.transaction():
        first.append_entry(0, "test", b"{}", bytes(32))
        t = threading.Thread(target=writer)
        t.start()
        assert not entered.wait(0.5), "a second writer got in while the first held the lock"
    t.join(10)
    assert entered.is_set() and seen == [1]
    first.close()


def test_many_workers_creating_the_schema_at_once(postgres: PostgresServer) -> None:
    url = postgres.create_database("schema_race")
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []
    go = threading.Event()

    def opener() -> None:
        go.wait()
        try:
            stores.append(PostgresStore(url))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    go.set()
    for t in threads:
        t.join(30)
    assert errors == [] and len(stores) == 6
    assert stores[0].get_meta("schema_version") == "1"
    for s in stores:
        s.close()
    postgres.drop_database("schema_race")


def test_text_postgresql_cannot_hold_is_replaced_not_fatal(postgres_db: str) -> None:
    store = PostgresStore(postgres_db)
    with store.transaction():
        store.record_rejection("d" * 32, 1, "malformed: got 'a\x00b' and '\ud800'", "t")
    ((_, _, reason, _),) = store.rejections()
    assert reason == "malformed: got 'a\ufffdb' and '?'"
    store.close()


def test_failed_transaction_rolls_back_and_the_store_stays_usable(
        store_backend: StoreBackend) -> None:
    store = store_backend.open()
    with pytest.raises(RuntimeError), store.transaction():
        store.append_entry(0, "test", b"{}", bytes(32))
        with store.transaction():  # nested: joins the outer one
            store.set_meta("k", "v")
        raise RuntimeError
    assert store.size() == 0 and store.get_meta("k") is None
    with store.transaction():
        store.append_entry(0, "test", b"{}", bytes(32))
    assert store.size() == 1
    store.close()


def test_init_writes_the_store_url_and_refuses_a_bad_one(
        tmp_path: Path, postgres_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from aggregator.cli import main

    bad = tmp_path / "bad"
    assert main(["init", str(bad), "--origin", "o.example", "--store", "mysql://db/x"]) == 2
    assert "a store URL starts with sqlite:///" in capsys.readouterr().err
    assert not (bad / "aggregator.toml").exists()
    good = tmp_path / "good"
    assert main(["init", str(good), "--origin", "o.example", "--store", postgres_db]) == 0
    capsys.readouterr()
    cfg = load_config(good / "aggregator.toml")
    assert cfg.store == StoreUrl.parse(postgres_db)
    store = open_store(cfg)
    assert store.get_meta("log_vkey") is not None  # the ledger was created in PostgreSQL
    store.close()
