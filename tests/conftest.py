"""Shared fixtures: a real Mosquitto broker on a free loopback port, per test session; a real
PostgreSQL server (Debian's binaries, a throwaway cluster on a private Unix socket), per test
session, with a fresh database per test.

Under pytest-xdist (``make test`` runs ``-n``) a "session" is one worker's: each worker starts
its own broker and server, in its own temporary directory, on ports it picks itself.

The collection hook below marks tests by what they need, so ``make test-fast``
(``-m "not integration and not e2e and not interop"``) runs only the pure, in-process suite.
"""

from __future__ import annotations

import itertools
import logging
import os
import resource
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.errors import EnvironmentProblem
from aggregator.mosquitto import Mosquitto
from eco_runtime.stderr_log import CurrentStderr
from tests.support.postgres_kit import PostgresServer

TESTS = Path(__file__).parent

# --- marks ------------------------------------------------------------------------------------

# whole directories: each test there runs real processes (or the Go toolchain)
DIRECTORY_MARKS = {"e2e": "e2e", "interop": "interop", "faults": "integration",
                   "security": "integration", "bench": "integration", "systemd": "integration",
                   "packaging": "integration"}
# fixtures that start a broker, a database server, a pty or a subprocess (directly or through
# the fixtures they use: ``item.fixturenames`` is the closure)
INTEGRATION_FIXTURES = frozenset({
    "broker", "fresh_broker", "postgres", "postgres_db",
    "make_inverter", "inverter",  # firmware_sim on a real pty
})
# fixtures that build or run the Go reference checker
INTEROP_FIXTURES = frozenset({"go_verify"})
# parametrized fixtures whose "postgresql" instance asks for ``postgres`` at run time
# (request.getfixturevalue), which the fixture closure cannot see
POSTGRES_PARAM = "postgresql"
# tests that start a child process or a pty themselves, not through a fixture above (node id
# prefixes; the pure run below fails any test that does so without being marked)
STARTS_PROCESSES = (
    "agent/test_agent_first_hour.py::test_probe_at_night_explains_zero_watts",  # pty
    "agent/test_agent_noncreditable.py::test_sigkill_while_recording_non_creditable_readings",
    "agent/test_agent_outbox.py::test_sigkill_at_random_moments",
    "aggregator/test_cli_errors.py::test_the_installed_command_prints_no_traceback",
    "aggregator/test_concurrency.py::test_concurrent_workers_append_each_reading_once_in_order",
    "protocol/test_buyer_install.py::test_eco_verify_runs_with_agent_and_aggregator_unimportable",
    "protocol/test_buyer_install.py::test_the_eco_verify_wheel_holds_only_the_protocol",
    "protocol/test_imports.py::test_each_module_imports_alone_in_a_fresh_interpreter",
    "runtime/test_mqtt_client.py::test_login_reaches_the_broker",  # its own mosquitto
    "runtime/test_mqtt_client.py::test_tls_with_a_client_certificate",
    "webui/test_webui_http.py::test_batch_preview_seal_report_and_downloads",  # chromium (PDF)
    "webui/test_webui_http.py::test_ui_command_serves_until_terminated",
    "webui/test_webui_report.py::test_a_demonstration_report_says_so_on_every_printed_page",
    "webui/test_webui_report.py::test_report_render_writes_html_and_pdf",
    "webui/test_webui_witness.py::test_a_regenerated_report_keeps_the_cosignature",  # chromium
    "webui/test_webui_witness.py::test_regenerating_is_refused_until_a_cosigned_checkpoint",
    "webui/test_webui_witness.py::test_the_batches_and_ledger_pages_show_who_cosigned",
    "webui/test_webui_witness.py::test_a_first_report_without_a_witness_is_generated",
    "webui/test_webui_translated.py::test_no_japanese_page_shows_a_key_or_an_english_code",
)
# ``make test`` runs the suite under pytest-xdist with ``--dist loadfile``: each file runs on
# one worker, so a module-scoped fixture (a demo run, a 604-entry log, a built Go binary) is
# built once. (``loadgroup`` would spread files finer, but xdist 3.8 cannot group under pytest
# 9.2: pytest-xdist issue #1386.) With ``--no-loadscope-reorder`` (the Makefile) files are handed
# out in collection order — xdist's default would put the files with the most tests first, and
# the one-test fault scenarios last, a tail of minutes with the cores idle. So the long files go
# first (each entry a directory or file under tests/, in this order; the rest as collected), and
# the ones that mostly wait (faults: ~1 CPU-second in 8 of wall) alternate with the ones that
# compute (browser walks, the bench), so that the workers' waits overlap others' work.
SLOW_FIRST = (
    "e2e",
    "faults/test_faults_partition.py", "webui/test_walk_statement.py",
    "faults/test_faults_broker_restart.py", "webui/test_walk_office.py",
    "faults/test_faults_agent_kill.py", "bench/test_bench_quick.py",
    "faults/test_faults_aggregator_kill.py", "aggregator/test_http_api.py",
    "faults/test_faults_full_disk.py", "webui/test_webui_browser.py",
    "faults", "aggregator/test_audit_tables.py", "bench", "webui/test_walk_",
    "webui/test_webui_witness.py", "aggregator/test_broker_acl.py", "security",
    "webui/test_webui_http.py", "aggregator/test_tiles.py", "runtime/test_import_graph.py",
    "protocol/test_imports.py", "aggregator/test_hostile_input.py",
    # in-process but long (hypothesis): not the last file of a worker, alone on the machine
    "protocol/test_canonical_fast.py", "methodology/test_batch_report.py",
    "agent/test_mqttdev_decoders.py", "aggregator/test_sound_credits.py",
)


# where the tests marked ``solo`` live: the Makefile's solo run collects only this directory
# (each of the five pytest processes that start together spent ~3 CPU-seconds collecting all)
SOLO_DIR = TESTS / "e2e"


def _needs(item: pytest.Item) -> set[str]:
    """The marks ``item`` should carry, from where it lives and which fixtures it uses."""
    marks: set[str] = set()
    rel = Path(str(item.path)).relative_to(TESTS).parts
    if len(rel) > 1 and rel[0] in DIRECTORY_MARKS:
        marks.add(DIRECTORY_MARKS[rel[0]])
    names = set(getattr(item, "fixturenames", ()))
    if names & INTEGRATION_FIXTURES:
        marks.add("integration")
    if names & INTEROP_FIXTURES:
        marks.add("interop")
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(
            value == POSTGRES_PARAM and name in names for name, value in callspec.params.items()):
        marks.add("integration")
    node = item.nodeid.split("tests/", 1)[-1]
    if node.startswith(STARTS_PROCESSES):
        marks.add("integration")
    return marks


def _lead(item: pytest.Item) -> int:
    rel = Path(str(item.path)).relative_to(TESTS).as_posix()
    return next((i for i, lead in enumerate(SLOW_FIRST)
                 if rel == lead or rel.startswith(lead if lead.endswith("_") else lead + "/")),
                len(SLOW_FIRST))


def _dealt(items: list[pytest.Item]) -> dict[Path, tuple[int, int, int]]:
    """Each file's place in the hand-out order: the :data:`SLOW_FIRST` ones first, then the
    rest dealt round-robin across directories (the first file of each directory, then the second
    of each …), not directory by directory: in collection order the four workers once all ran
    tests/agent at the same time, whose tests wait out paho's one-second reconnect sleep when an
    agent stops without a broker, and the cores stood half idle for 20 s (vmstat, 2026-12-06)."""
    leads: dict[Path, int] = {}
    rank_in_dir: dict[Path, int] = {}
    seen: dict[Path, int] = {}  # files met so far, per directory
    dirs: dict[Path, int] = {}
    for item in items:
        path = Path(str(item.path))
        if path in leads:
            continue
        leads[path] = _lead(item)
        if leads[path] == len(SLOW_FIRST):
            rank_in_dir[path] = seen.get(path.parent, 0)
            seen[path.parent] = rank_in_dir[path] + 1
            dirs.setdefault(path.parent, len(dirs))
    return {path: (lead, rank_in_dir.get(path, 0), dirs.get(path.parent, 0))
            for path, lead in leads.items()}


@pytest.hookimpl(tryfirst=True)  # mark before the "mark" plugin deselects by -m
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        present = {m.name for m in item.iter_markers()}
        for name in sorted(_needs(item) - present):
            item.add_marker(getattr(pytest.mark, name))
        if "solo" in present and Path(str(item.path)).parent != SOLO_DIR:
            raise pytest.UsageError(f"{item.nodeid}: a test marked solo must live in {SOLO_DIR} "
                                    "(make test's solo run collects only there)")
    order = _dealt(items)
    items.sort(key=lambda item: order[Path(str(item.path))])  # stable: a file's tests keep theirs


# --- where the time goes ----------------------------------------------------------------------
# ``ECO_TEST_TIMES=FILE`` appends one line per test to FILE.<worker>: the node id, its wall
# seconds and the CPU seconds of this process and of the children it reaped meanwhile (setup,
# call and teardown). Wall figures alone mislead on 2 shared cores: a fault scenario waits most
# of its minute, a browser walk computes. Sum per file to see which files cost the CPU.


def _cpu_seconds() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    out = os.environ.get("ECO_TEST_TIMES")
    wall, cpu = time.monotonic(), _cpu_seconds()
    yield
    if out:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(f"{out}.{worker}", "a", encoding="utf-8") as f:
            f.write(f"{item.nodeid}\t{time.monotonic() - wall:.3f}\t"
                    f"{_cpu_seconds() - cpu:.3f}\n")


# --- logging, one test at a time ------------------------------------------------------------
# A command's main() sets up the root logger as a real process would (eco_runtime.stderr_log);
# in one test process that would outlive the test and send a later test's log lines to its
# stderr. Take out what a test's commands added and put the level back.


# The web UI's accounts: scrypt at the production cost (N = 2^15) takes ~0.1 CPU-s per hash and
# per login, and the suite makes and logs in hundreds of accounts. Tests hash at N = 2^10; the
# cost is stored in each hash, so checking a password runs the same code. A test marked
# ``production_kdf`` (the one that checks what ``ui-user add`` writes) keeps the real cost.
CHEAP_SCRYPT_LOG_N = 10


@pytest.fixture(autouse=True)
def _cheap_password_hashes(request: pytest.FixtureRequest,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("production_kdf") is None:
        from aggregator.webui import auth

        monkeypatch.setattr(auth, "SCRYPT_LOG_N", CHEAP_SCRYPT_LOG_N)


@pytest.fixture(autouse=True)
def _english_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands choose their language from ECO_LANG and the locale (eco_protocol.messages):
    tests run in English whatever the machine's LANG, unless a test sets it."""
    for var in ("ECO_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(autouse=True)
def _root_logger_as_before() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if type(handler) in (CurrentStderr, logging.StreamHandler):
            root.removeHandler(handler)
    root.setLevel(level)


# --- the pure run -----------------------------------------------------------------------------
# ``make test-fast`` deselects integration: whatever it runs must stay in this process. A test
# that starts a child process or opens a pty anyway fails, and says where to mark it.

_started: list[str] = []


def _pure_run(config: pytest.Config) -> bool:
    return "not integration" in " ".join(str(config.getoption("markexpr") or "").split())


def pytest_configure(config: pytest.Config) -> None:
    if not _pure_run(config):
        return
    popen_init = subprocess.Popen.__init__
    openpty = os.openpty

    def watched_popen(self: subprocess.Popen[Any], args: Any, *a: Any, **kw: Any) -> None:
        argv = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
        if argv[:1] != ["uname"]:  # the platform module asks uname once, whoever calls it
            _started.append(f"process {argv[:3]}")
        popen_init(self, args, *a, **kw)

    def watched_openpty() -> tuple[int, int]:
        _started.append("a pty")
        return openpty()

    subprocess.Popen.__init__ = watched_popen  # type: ignore[method-assign]
    os.openpty = watched_openpty


@pytest.fixture(autouse=True)
def _stays_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    _started.clear()
    yield
    if _started and _pure_run(request.config):
        what = "; ".join(dict.fromkeys(_started))
        _started.clear()
        pytest.fail(f"this test started {what}, but the pure suite (make test-fast) runs in one "
                    "process: mark it integration (tests/conftest.py STARTS_PROCESSES)",
                    pytrace=False)


# --- processes --------------------------------------------------------------------------------


def _own_broker(state_dir: Path, attempts: int = 3) -> Mosquitto:
    """A started Mosquitto that is really ours. ``free_port()`` closes the port before
    mosquitto binds it, so with several xdist workers starting brokers another process may take
    it in between: then our mosquitto exits ("Address already in use") — possibly only after
    ``start()`` saw someone else's listener answer. Wait for our own log to show the readiness
    probe's connection, check the process is alive, and otherwise try a fresh port."""
    for attempt in range(attempts):
        b = Mosquitto(state_dir / f"try{attempt}" if attempt else state_dir)
        try:
            b.start()
        except EnvironmentProblem:
            if attempt == attempts - 1:
                raise
            continue
        log = b.state_dir / "mosquitto.log"
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and b.proc is not None and b.proc.poll() is None:
            if f"on port {b.port}" in log.read_text(errors="replace"):
                break
            time.sleep(0.02)
        if b.proc is not None and b.proc.poll() is None:
            return b
        b.stop()
    raise EnvironmentProblem(f"no mosquitto of our own after {attempts} ports; see {state_dir}")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A real mosquitto process; tests use ``broker.port``. Stopped at session end."""
    with _own_broker(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of the test's own, for tests that restart or stop it."""
    with _own_broker(tmp_path / "mosquitto") as b:
        yield b


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server, started once per session on first use and stopped (process and
    files) at session end. Missing binaries fail the test rather than skip it: 'make test'
    installs them, so their absence is a broken set-up."""
    try:
        server = PostgresServer().start()
    except EnvironmentProblem as e:
        pytest.fail(f"cannot start PostgreSQL for the tests: {e}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


_db_numbers = itertools.count()


@pytest.fixture
def postgres_db(postgres: PostgresServer) -> Iterator[str]:
    """The URL of an empty database of the test's own, dropped afterwards."""
    name = f"t{next(_db_numbers)}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)
