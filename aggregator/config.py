"""The aggregator's TOML configuration, validated into frozen dataclasses.

Relative paths are resolved against ``state_dir`` so a whole installation (config, keys, store)
moves as one directory.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ConfigError

EXAMPLE = """\
# eco-aggregator configuration. Paths are relative to state_dir unless absolute.

[log]
# The log's origin: the name in every checkpoint and in the verifier key buyers pin.
origin = "{origin}"
# Ed25519 log key (base64 seed, mode 0600). Created by 'eco-aggregator init'. Never commit it.
key_file = "log.key"
# Sign a checkpoint at most this often while new entries arrive (seconds).
checkpoint_interval_s = 2.0

[store]
state_dir = "{state_dir}"
# "sqlite" (one file, WAL) serves one municipality on one machine.
backend = "sqlite"
sqlite_path = "ledger.sqlite3"

[mqtt]
broker = "{broker}"
# Fixed client id + persistent session: the broker queues readings while we are down.
client_id = "eco-aggregator-1"
share_group = "aggregators"
session_expiry_s = 604800

[ingest]
# Group commit: at most this many messages per transaction, waiting at most group_wait_ms.
group_max = 256
group_wait_ms = 20

[households]
# HMAC key for household pseudonyms (created by init; keep it with the log key).
pseudonym_key_file = "pseudonym.key"
"""


@dataclass(frozen=True, slots=True)
class MqttConfig:
    host: str
    port: int
    client_id: str
    share_group: str
    session_expiry_s: int


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    origin: str
    key_file: Path
    checkpoint_interval_s: float
    state_dir: Path
    backend: str
    sqlite_path: Path
    mqtt: MqttConfig
    group_max: int
    group_wait_ms: int
    pseudonym_key_file: Path


def _get(table: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str,
         default: Any = None) -> Any:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}: missing key '{key}'")
        return default
    v = table[key]
    if not isinstance(v, typ) or isinstance(v, bool) and typ is not bool:
        raise ConfigError(f"{where}: '{key}' must be {typ}, got {v!r}")
    return v


def parse_broker_url(url: str, where: str) -> tuple[str, int]:
    u = urlparse(url)
    if u.scheme not in ("mqtt", "tcp") or not u.hostname:
        raise ConfigError(f"{where}: broker {url!r} must look like mqtt://host:port")
    return u.hostname, u.port or 1883


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"config file {path} not found; create one with "
                          "'eco-aggregator init DIR'") from e
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path}: {e}") from e
    w = str(path)
    log_t = _get(raw, "log", dict, w)
    store_t = _get(raw, "store", dict, w)
    mqtt_t = _get(raw, "mqtt", dict, w)
    ingest_t = raw.get("ingest", {})
    hh_t = raw.get("households", {})
    state_dir = Path(_get(store_t, "state_dir", str, f"{w} [store]"))
    if not state_dir.is_absolute():
        state_dir = (path.parent / state_dir).resolve()

    def rel(p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else state_dir / q

    backend = _get(store_t, "backend", str, f"{w} [store]", "sqlite")
    if backend != "sqlite":
        raise ConfigError(f"{w} [store]: backend {backend!r} is not available yet; use 'sqlite'")
    host, port = parse_broker_url(_get(mqtt_t, "broker", str, f"{w} [mqtt]"), f"{w} [mqtt]")
    interval = float(_get(log_t, "checkpoint_interval_s", (int, float), f"{w} [log]", 2.0))
    group_max = _get(ingest_t, "group_max", int, f"{w} [ingest]", 256)
    if not 1 <= group_max <= 10000:
        raise ConfigError(f"{w} [ingest]: group_max must be 1–10000")
    return Config(
        path=path,
        origin=_get(log_t, "origin", str, f"{w} [log]"),
        key_file=rel(_get(log_t, "key_file", str, f"{w} [log]", "log.key")),
        checkpoint_interval_s=interval,
        state_dir=state_dir,
        backend=backend,
        sqlite_path=rel(_get(store_t, "sqlite_path", str, f"{w} [store]", "ledger.sqlite3")),
        mqtt=MqttConfig(host, port,
                        _get(mqtt_t, "client_id", str, f"{w} [mqtt]", "eco-aggregator-1"),
                        _get(mqtt_t, "share_group", str, f"{w} [mqtt]", "aggregators"),
                        _get(mqtt_t, "session_expiry_s", int, f"{w} [mqtt]", 604800)),
        group_max=group_max,
        group_wait_ms=_get(ingest_t, "group_wait_ms", int, f"{w} [ingest]", 20),
        pseudonym_key_file=rel(_get(hh_t, "pseudonym_key_file", str, f"{w} [households]",
                                    "pseudonym.key")),
    )


def example_config(origin: str, state_dir: Path, broker: str) -> str:
    return EXAMPLE.format(origin=origin, state_dir=state_dir, broker=broker)
