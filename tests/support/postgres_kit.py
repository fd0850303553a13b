"""Run a throwaway local PostgreSQL server: for the tests and the benchmarks (so it lives here,
outside every shipped package; ``bench`` imports it from ``tests.support``).

Not a mock: Debian's real ``initdb`` and ``postgres`` binaries (package ``postgresql``) on a fresh
cluster in a private temporary directory. The server listens on a Unix socket in that directory
only (``listen_addresses=''``), so nothing else on the machine can reach it and ``trust``
authentication is safe. PostgreSQL refuses to run as root: when we are root the cluster is owned
by, and the server runs as, the ``postgres`` user the Debian package creates.

The cluster trades durability for speed (``fsync=off``): it lives for one test session. A
production server keeps the defaults, and :class:`~aggregator.store.postgres.PostgresStore`
insists on ``synchronous_commit=on`` for its own transactions.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from aggregator.errors import EnvironmentProblem
from aggregator.mosquitto import free_port

SERVER_USER = "postgres"  # the cluster owner when we run as root (created by Debian's package)
SUPERUSER = "eco"  # the superuser role initdb creates in the throwaway cluster
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<major>/bin`` with ``initdb`` and ``postgres``."""
    found: list[tuple[int, Path]] = []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        for d in root.iterdir():
            b = d / "bin"
            if d.name.isdigit() and (b / "initdb").exists() and (b / "postgres").exists():
                found.append((int(d.name), b))
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).parent
    raise EnvironmentProblem("PostgreSQL server binaries (initdb, postgres) are not installed: "
                             "run 'make deps' (apt-get install postgresql)")


@dataclass
class PostgresServer:
    """A running throwaway cluster. Use as a context manager; ``stop()`` leaves no process and
    no files behind."""

    bindir: Path | None = None
    base_dir: Path | None = None  # created (and removed by stop) when None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _own_dir: bool = field(default=False, init=False)
    _user: str | None = field(default=None, init=False)

    @property
    def socket_dir(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "sock"

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URI for ``dbname`` over the private Unix socket."""
        return (f"postgresql://{SUPERUSER}@/{quote(dbname)}?host={quote(str(self.socket_dir))}"
                f"&port={self.port}")

    # --- lifecycle -------------------------------------------------------------------------

    def _command(self, argv: list[str]) -> tuple[list[str], dict[str, object]]:
        """The command line and Popen keywords that run ``argv`` as the cluster owner
        (PostgreSQL refuses to run as root) and send it SIGINT — a fast shutdown — if we die
        without stopping it. util-linux's ``setpriv`` does both and then execs, so the process
        we hold is the postmaster itself; without it, Popen drops root and a crash of ours
        leaves the server to be stopped by hand."""
        setpriv = shutil.which("setpriv")
        if setpriv is not None:
            drop = [] if self._user is None else [
                "--reuid", self._user, "--regid", self._user, "--clear-groups"]
            return [setpriv, "--pdeathsig", "INT", *drop, "--", *argv], {}
        if self._user is None:
            return argv, {}
        pw = pwd.getpwnam(self._user)
        return argv, {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def start(self, timeout: float = 60.0) -> PostgresServer:
        bindir = self.bindir or find_bindir()
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(SERVER_USER)
            except KeyError as e:
                raise EnvironmentProblem(
                    f"running as root, but there is no '{SERVER_USER}' user to run PostgreSQL "
                    "as: run 'make deps' (apt-get install postgresql creates it)") from e
            self._user = SERVER_USER
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="eco-pg-"))
            self._own_dir = True
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            for p in (self.base_dir, self.socket_dir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(self.base_dir, 0o700)
        if not self.port:
            self.port = free_port()  # only names the socket file (and the SysV shm key)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        with open(self.log_file, "ab") as log:
            if self._user is not None:
                os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
            if not (self.data_dir / "PG_VERSION").exists():
                argv, kw = self._command(
                    [str(bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                     "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
                init = subprocess.run(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                      cwd=self.base_dir, env=env, check=False,
                                      **kw)  # type: ignore[call-overload]
                if init.returncode != 0:
                    self._cleanup()
                    raise EnvironmentProblem(f"initdb failed ({init.returncode}); see "
                                             f"{self.log_file}")
            argv, kw = self._command(
                [str(bindir / "postgres"), "-D", str(self.data_dir), "-k", str(self.socket_dir),
                 "-p", str(self.port), "-c", "listen_addresses=", "-c", "fsync=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=100",
                 "-c", "log_min_messages=warning"])
            self.proc = subprocess.Popen(  # type: ignore[call-overload]
                argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.base_dir,
                env=env, **kw)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise EnvironmentProblem(f"postgres exited with {code}; see {self.log_file}")
            if self._ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise EnvironmentProblem(f"postgres did not accept connections within {timeout}s")

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        """Fast shutdown (SIGINT: abort sessions, checkpoint, exit), then remove our files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGQUIT)  # immediate shutdown, children too
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.proc = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self._own_dir and self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
            self._own_dir = False

    def __enter__(self) -> PostgresServer:
        return self.start() if self.proc is None else self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- databases -------------------------------------------------------------------------

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create an empty database (or a copy of ``template``, which must have no open
        connections); returns its URL."""
        import psycopg
        from psycopg import sql

        for n in (name, template):
            if not _NAME.match(n):
                raise ValueError(f"database name {n!r} must match {_NAME.pattern}")
        with psycopg.connect(self.url(), autocommit=True) as db:
            # PostgreSQL 15 copies a template through the WAL by default; copying the files
            # is several times faster for the small databases a test needs
            strategy = " STRATEGY file_copy" if db.info.server_version >= 150000 else ""
            db.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy).format(
                sql.Identifier(name), sql.Identifier(template)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
