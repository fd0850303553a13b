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

Pure bookkeeping with an injected clock; the web app asks :meth:`LoginThrottle.wait` before it
checks a password and reports the outcome with :meth:`failed` / :meth:`succeeded`.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0


@dataclass
class LoginThrottle:
    free: int = 5  # failures of one account before any wait
    free_address: int = 20  # failures from one address (any accounts) before any wait
    base_s: float = 2.0  # the first wait; doubled with each further failure
    max_s: float = 900.0  # the longest wait
    window_s: float = 1800.0  # a key's count is forgotten this long after its last failure
    _counts: dict[str, _Count] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _delay(self, key: str, c: _Count) -> float:
        free = self.free_address if key.startswith("addr:") else self.free
        over = c.failures - free
        return 0.0 if over < 0 else min(self.max_s, self.base_s * 2 ** over)

    def _get(self, key: str, now: float) -> _Count | None:
        c = self._counts.get(key)
        if c is not None and now - c.last >= self.window_s:
            del self._counts[key]
            return None
        return c

    @staticmethod
    def _keys(account: str | None, address: str) -> list[str]:
        keys = [f"addr:{address}"]
        if account:
            keys.append(f"acct:{account.casefold()}")
        return keys

    def wait(self, account: str | None, address: str, now: float) -> float:
        """Seconds until this account may be tried from this address again (0: now)."""
        with self._lock:
            waits = [0.0]
            for key in self._keys(account, address):
                c = self._get(key, now)
                if c is not None:
                    waits.append(c.last + self._delay(key, c) - now)
            return max(0.0, *waits)

    def failed(self, account: str | None, address: str, now: float) -> int:
        """Count a failure; returns the account's (or, without one, the address's) count."""
        with self._lock:
            n = 0
            for key in self._keys(account, address):
                c = self._get(key, now) or self._counts.setdefault(key, _Count())
                self._counts[key] = c
                c.failures += 1
                c.last = now
                n = c.failures
            return n

    def succeeded(self, account: str, address: str) -> None:
        """The account's own failures are forgiven; the address's count stays (its failures
        may have been guesses at other accounts)."""
        with self._lock:
            self._counts.pop(f"acct:{account.casefold()}", None)


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


__all__ = ["LoginThrottle", "client_address"]
