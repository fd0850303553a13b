"""Login throttling that fits a town hall: per account *and* per client address.

The first throttle counted failures per address and let any successful login clear them, so an
attacker interleaving a shop account's good logins with guesses at the operator's password was
never slowed; and behind a reverse proxy, where every resident shares one address, eight bad
guesses locked everybody out. Here:

- failures are counted per account and per address, separately; a success clears only the
  failures *of that account from that address* — never another account's, never the address's
  count against other accounts;
- the wait after a failure grows exponentially once the free attempts are spent (2 s, 4 s, 8 s …
  capped at 15 min), so guessing is slowed to a crawl while a person who mistypes twice is never
  inconvenienced; the counts fade after ``window_s`` without failures. An address gets more
  free failures (20) than an account (5): colleagues behind one office router mistype too, and
  an address is only slowed when it sprays guesses across accounts;
- the address is the real client's: taken from ``X-Forwarded-For`` only when the connection
  comes from a configured trusted proxy (:func:`client_address`), else the peer address, so a
  client cannot pick its own address and a proxy does not make every resident one client.

Bookkeeping with an injected (wall) clock; the web app asks :meth:`LoginThrottle.wait` before
it checks a password and reports the outcome with :meth:`failed` / :meth:`succeeded`. With a
``path`` the counts live in a small SQLite file (``<state_dir>/ui/throttle.sqlite3``, 0600), so a
restart of the UI does not forgive an attacker, several UI processes count together, and the
operator can see and lift a lock-out — in the UI (``/security``) or with ``eco-aggregator
ui-unlock`` — for a colleague who forgot a password: :meth:`locks` and :meth:`lift`.
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ..errors import EnvironmentProblem

THROTTLE_FILE: Final = "throttle.sqlite3"


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0


@dataclass(frozen=True, slots=True)
class Lock:
    """A key that must wait now: ``kind`` "account" or "address", and how long."""

    kind: str
    name: str
    failures: int
    wait_s: float


class _Book:
    """The counts: a dict, or rows of a SQLite file shared by every UI process."""

    def __init__(self, path: Path | None) -> None:
        self._mem: dict[str, _Count] = {}
        self._db: sqlite3.Connection | None = None
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)  # names accounts and addresses: owner only
            self._db = sqlite3.connect(path, timeout=10.0, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS login_failure (key TEXT PRIMARY KEY, "
                             "failures INTEGER NOT NULL, last REAL NOT NULL)")
        except (OSError, sqlite3.Error) as e:
            raise EnvironmentProblem(f"login throttle file {path}: {e}; check the state "
                                     "directory's owner and free space") from e

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction (across processes) for a read-modify-write."""
        if self._db is None:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get(self, key: str) -> _Count | None:
        if self._db is None:
            return self._mem.get(key)
        row = self._db.execute("SELECT failures, last FROM login_failure WHERE key=?",
                               (key,)).fetchone()
        return None if row is None else _Count(int(row[0]), float(row[1]))

    def put(self, key: str, c: _Count) -> None:
        if self._db is None:
            self._mem[key] = c
        else:
            self._db.execute("INSERT INTO login_failure(key, failures, last) VALUES(?, ?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET failures=excluded.failures, "
                             "last=excluded.last", (key, c.failures, c.last))

    def drop(self, key: str) -> bool:
        if self._db is None:
            return self._mem.pop(key, None) is not None
        return self._db.execute("DELETE FROM login_failure WHERE key=?", (key,)).rowcount > 0

    def items(self) -> list[tuple[str, _Count]]:
        if self._db is None:
            return list(self._mem.items())
        return [(str(k), _Count(int(f), float(t))) for k, f, t in
                self._db.execute("SELECT key, failures, last FROM login_failure ORDER BY key")]


def _account_key(account: str) -> str:
    """An account's count, whatever the case it was typed in."""
    return f"acct:{account.casefold()}"


@dataclass
class LoginThrottle:
    free: int = 5  # failures of one account before any wait
    free_address: int = 20  # failures from one address (any accounts) before any wait
    base_s: float = 2.0  # the first wait; doubled with each further failure
    max_s: float = 900.0  # the longest wait
    window_s: float = 1800.0  # a key's count is forgotten this long after its last failure
    path: Path | None = None  # None: counts in memory only (one process, until it stops)
    _book: _Book = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._book = _Book(self.path)

    def _delay(self, key: str, c: _Count) -> float:
        free = self.free_address if key.startswith("addr:") else self.free
        over = c.failures - free
        return 0.0 if over < 0 else min(self.max_s, self.base_s * 2 ** over)

    def _get(self, key: str, now: float) -> _Count | None:
        c = self._book.get(key)
        if c is not None and now - c.last >= self.window_s:
            self._book.drop(key)
            return None
        return c

    @staticmethod
    def _keys(account: str | None, address: str) -> list[str]:
        keys = [f"addr:{address}"]
        if account:
            keys.append(_account_key(account))
        return keys

    def wait(self, account: str | None, address: str, now: float) -> float:
        """Seconds until this account may be tried from this address again (0: now)."""
        with self._lock, self._book.batch():
            waits = [0.0]
            for key in self._keys(account, address):
                c = self._get(key, now)
                if c is not None:
                    waits.append(c.last + self._delay(key, c) - now)
            return max(0.0, *waits)

    def failed(self, account: str | None, address: str, now: float) -> int:
        """Count a failure; returns the account's (or, without one, the address's) count."""
        with self._lock, self._book.batch():
            n = 0
            for key in self._keys(account, address):
                c = self._get(key, now) or _Count()
                c.failures += 1
                c.last = now
                self._book.put(key, c)
                n = c.failures
            return n

    def succeeded(self, account: str, address: str) -> None:
        """The account's own failures are forgiven; the address's count stays (its failures
        may have been guesses at other accounts)."""
        with self._lock, self._book.batch():
            self._book.drop(_account_key(account))

    def locks(self, now: float) -> list[Lock]:
        """Every account and address that must wait now, longest wait first."""
        out = []
        with self._lock, self._book.batch():
            for key, c in self._book.items():
                wait = c.last + self._delay(key, c) - now
                if wait > 0 and now - c.last < self.window_s:
                    kind, _, name = key.partition(":")
                    out.append(Lock("account" if kind == "acct" else "address", name,
                                    c.failures, wait))
        return sorted(out, key=lambda lk: (-lk.wait_s, lk.kind, lk.name))

    def lift(self, kind: str, name: str) -> bool:
        """Forgive an account's (or an address's) failures: the operator vouched for it."""
        key = _account_key(name) if kind == "account" else f"addr:{_norm(name)}"
        with self._lock, self._book.batch():
            return self._book.drop(key)


def client_address(peer: str | None, headers: Mapping[str, str],
                   trusted_proxies: Iterable[str]) -> str:
    """The real client: the peer, unless the peer is a trusted proxy, in which case the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries to its
    left were written by the client and prove nothing)."""
    trusted = {_norm(p) for p in trusted_proxies}
    if peer is None:
        return "?"
    if _norm(peer) not in trusted:
        return peer
    chain = [a.strip() for a in headers.get("x-forwarded-for", "").split(",") if a.strip()]
    for addr in reversed(chain):
        if _norm(addr) not in trusted:
            return addr if _valid(addr) else peer
    return peer


def _norm(addr: str) -> str:
    try:
        return str(ipaddress.ip_address(addr.strip()))
    except ValueError:
        return addr.strip()


def _valid(addr: str) -> bool:
    try:
        ipaddress.ip_address(addr)
    except ValueError:
        return False
    return True


__all__ = ["THROTTLE_FILE", "Lock", "LoginThrottle", "client_address"]
