"""The one reading of a broker URL, for the agent's and the aggregator's configuration.

Both used to parse it on their own and had drifted (``tcp://`` and ``ssl://`` were accepted by one
only). The rule now: ``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]`` (TLS), nothing else in the
URL — a login belongs in ``username``/``password``, where it is not logged with the URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class BrokerURLError(ValueError):
    """The URL is not ``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT``; the message says why."""


@dataclass(frozen=True)
class BrokerURL:
    host: str
    port: int
    tls: bool  # mqtts:// — a configuration's own ``tls`` key may not contradict it
    explicit_port: bool = field(default=True, compare=False)  # the URL named its port

    @property
    def on_loopback(self) -> bool:
        return self.host in LOOPBACK

    def port_for(self, tls: bool) -> int:
        """The port to connect to under a configuration's own ``tls`` (``mqtt://HOST`` with
        ``tls = true`` means the TLS port): the URL's port if it named one, else 8883 or 1883."""
        return self.port if self.explicit_port else (8883 if tls else 1883)


def parse_broker_url(url: str) -> BrokerURL:
    """``url`` as host, port and scheme-implied TLS; BrokerURLError names what to write instead."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise BrokerURLError(f"{url!r} is not a broker URL: use mqtt://HOST:PORT "
                             "(or mqtts://HOST:PORT for TLS)")
    try:
        port = parts.port
    except ValueError as e:
        raise BrokerURLError(f"{url!r} has an invalid port") from e
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username \
            or parts.password:
        raise BrokerURLError(f"{url!r}: give only mqtt://HOST:PORT; put a login in "
                             "username/password")
    tls = parts.scheme == "mqtts"
    return BrokerURL(parts.hostname, port or (8883 if tls else 1883), tls, port is not None)


__all__ = ["LOOPBACK", "BrokerURL", "BrokerURLError", "parse_broker_url"]
