"""The aggregator's TOML configuration, validated into frozen dataclasses.

Relative paths are resolved against ``state_dir`` so a whole installation (config, keys, store)
moves as one directory.
"""

from __future__ import annotations

import difflib
import re
import secrets
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from eco_protocol.errors import NoteError
from eco_protocol.messages import Msg, msg
from eco_protocol.note import parse_witness_key
from eco_protocol.os_messages import os_reason, toml_error
from eco_runtime.broker_url import LOOPBACK, BrokerURL, BrokerURLError, parse_broker_url

from .claim_settings import SETTINGS_KEYS, ClaimSettings, claim_settings
from .device_topics import check_prefix
from .errors import ConfigError, Rejected
from .intake import IngestLimits
from .store.url import DEFAULT_URL, StoreUrl

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
# Where the ledger lives.
#   "sqlite:///ledger.sqlite3": one file (WAL), relative to state_dir (sqlite:////abs/path for an
#   absolute one); serves one municipality on one machine.
#   "postgresql://eco@db.example.lg.jp/eco_ledger": a PostgreSQL database, when several ingest
#   workers (or machines) share one ledger. Keep the password out of this file (~/.pgpass or
#   PGPASSWORD of the service).
url = "{store_url}"

[mqtt]
broker = "{broker}"
# Fixed client id + persistent session: the broker queues readings while we are down. Both are
# random per installation (docs/protocol.md §3): a guessed share group would let an enrolled
# device join the aggregator's group and take its turn of other devices' readings. A second
# 'serve' worker needs a client id of its own (keep the share group).
client_id = "eco-aggregator-1"
share_group = "aggregators"
session_expiry_s = 604800
# The aggregator's own broker login (docs/protocol.md §3): it may read every device's readings and
# write their receipts. 'eco-aggregator init' creates the password file (mode 0600); or give the
# password inline as password = "…". Without a username the aggregator connects anonymously
# (a loopback broker without access control: the demo and the tests).
username = "eco-aggregator"
password_file = "broker/aggregator.password"
# TLS to the broker: mqtts:// implies it, and a broker not on loopback requires it. ca_file: the
# CA that signed the broker's certificate ('eco-aggregator ca init' writes ca/ca.crt).
# tls = true
# ca_file = "ca/ca.crt"
# The broker's password file (mosquitto_passwd format): enrol adds a device's login, revoke
# removes it. 'eco-aggregator broker-config --out DIR' writes a mosquitto.conf and ACL for it;
# the broker must be able to read it (put it in DIR for a broker run by systemd).
broker_passwd_file = "broker/passwd"
# After enrol/revoke, send SIGHUP to the broker whose pid is in this file so it reloads the
# password file. Unset: reload it yourself ('systemctl reload mosquitto').
# broker_pid_file = "/run/mosquitto/mosquitto.pid"
# Where the broker puts the devices' topics: the mount_point of the devices' listener, so that
# no device can join the share group ('broker-config' sets it to "dev/"). Unset ("") for a
# broker without access control, where devices and the aggregator share one listener.
# device_prefix = "dev/"

[ingest]
# Group commit: at most this many messages per transaction, waiting at most group_wait_ms.
group_max = 32
group_wait_ms = 20
# Caps: payload size, how far a device's clock may run ahead (a reading ending later is
# refused as "future" and resent by the device later), messages per device per second. Old
# readings are always logged; the programme's crediting rules decide what they earn.
max_payload_bytes = 131072
max_future_skew_s = 300
rate_per_device = 20.0
burst_per_device = 200

[households]
# HMAC key for household pseudonyms (created by init; keep it with the log key).
pseudonym_key_file = "pseudonym.key"

[witnesses]
# Verifier keys of the witnesses whose cosignatures this log accepts (POST /cosignature), serves
# with its checkpoint and exports in witnesses.vkeys; each printed by 'eco-aggregator witness-key'.
vkeys = []

[did]
# The municipality's did:web, issuer of the credentials it signs with the log key (eco-points
# statements, batch summaries, enrolments): did:web:<host>[:<path>:...]. The read API serves its
# DID document at /.well-known/did.json (/<path>/did.json with a path) and the status list at
# /credentials/status (/<path>/credentials/status); that host must serve both over HTTPS.
# Default: the log's origin ("host" or "host/path").
# host = "eco-ledger.example-city.lg.jp"
# path = ""
"""


# what 'init' wrote before the identities were random (still accepted; broker-config warns)
LEGACY_CLIENT_ID = "eco-aggregator-1"
LEGACY_SHARE_GROUP = "aggregators"
_RANDOM_PART_RE = re.compile(r"[0-9a-f]{16,}")


@dataclass(frozen=True, slots=True)
class MqttConfig:
    host: str
    port: int
    client_id: str
    share_group: str
    session_expiry_s: int
    username: str | None = None  # None: connect anonymously
    password: str | None = field(default=None, repr=False)  # inline password, if any
    password_file: Path | None = None  # the aggregator's own password (read when connecting)
    tls: bool = False
    ca_file: Path | None = None
    broker_passwd_file: Path = Path("broker/passwd")  # the broker's password file (hashes)
    broker_pid_file: Path | None = None  # SIGHUP target after enrol/revoke
    # the devices' listener's mount_point ("dev/" with access control; "" for the anonymous
    # single-listener broker): aggregator.device_topics
    device_prefix: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    origin: str
    key_file: Path
    checkpoint_interval_s: float
    state_dir: Path
    store: StoreUrl  # [store] url, relative SQLite paths resolved against state_dir
    mqtt: MqttConfig
    group_max: int
    group_wait_ms: int
    pseudonym_key_file: Path
    witness_vkeys: tuple[str, ...] = ()  # [witnesses] vkeys, each a valid witness verifier key
    limits: IngestLimits = IngestLimits()  # [ingest] caps per message and per device
    # [did] host and path of the municipality's did:web (aggregator/did_web.py); None: the
    # origin is not a host name and [did] host is unset, so no credentials can be issued
    did_host: str | None = None
    did_path: tuple[str, ...] = ()
    # [consortium]: the claim-token secret, consortium file and mirrors (issue 18)
    consortium: ClaimSettings | None = None


def _get(table: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str,
         default: Any = None) -> Any:
    if key not in table:
        if default is None:
            raise ConfigError(msg("aggregator.config.missing_key", where=where, key=key))
        return default
    v = table[key]
    if not isinstance(v, typ) or isinstance(v, bool) and typ is not bool:
        names = " | ".join(t.__name__ for t in (typ if isinstance(typ, tuple) else (typ,)))
        raise ConfigError(msg("aggregator.config.wrong_type", where=where, key=key, type=names,
                              value=repr(v)))
    return v


def _broker(url: str, where: str) -> BrokerURL:
    try:
        return parse_broker_url(url)
    except BrokerURLError as e:
        raise ConfigError(msg("aggregator.config.broker", where=where, error=str(e))) from e


def load_config(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(msg("aggregator.config.missing", path=path)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(msg("aggregator.config.not_toml", path=path,
                              error=toml_error(e))) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(msg("aggregator.config.unreadable", path=path,
                              error=os_reason(e))) from e
    w = str(path)
    _refuse_unknown(raw, w)
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

    store = _store_url(store_t, state_dir, f"{w} [store]")
    broker = _broker(_get(mqtt_t, "broker", str, f"{w} [mqtt]"), f"{w} [mqtt]")
    host, port = broker.host, broker.port
    interval = float(_get(log_t, "checkpoint_interval_s", (int, float), f"{w} [log]", 2.0))
    # 32 messages (up to 2048 readings): big enough that a commit is cheap, small enough that
    # the broker keeps the next messages in flight while a group is judged, and that two
    # workers draining a backlog finish together (bench/: 2 workers ×1.6 with 256, ×1.9 with 32)
    group_max = _get(ingest_t, "group_max", int, f"{w} [ingest]", 32)
    if not 1 <= group_max <= 10000:
        raise ConfigError(msg("aggregator.config.group_max", where=w))
    return Config(
        path=path,
        origin=_get(log_t, "origin", str, f"{w} [log]"),
        key_file=rel(_get(log_t, "key_file", str, f"{w} [log]", "log.key")),
        checkpoint_interval_s=interval,
        state_dir=state_dir,
        store=store,
        mqtt=_mqtt_access(mqtt_t, MqttConfig(
            host, port, _get(mqtt_t, "client_id", str, f"{w} [mqtt]", LEGACY_CLIENT_ID),
            _share_group(_get(mqtt_t, "share_group", str, f"{w} [mqtt]", LEGACY_SHARE_GROUP),
                         f"{w} [mqtt]"),
            _get(mqtt_t, "session_expiry_s", int, f"{w} [mqtt]", 604800)), rel, f"{w} [mqtt]"),
        group_max=group_max,
        group_wait_ms=_get(ingest_t, "group_wait_ms", int, f"{w} [ingest]", 20),
        limits=IngestLimits(
            _get(ingest_t, "max_payload_bytes", int, f"{w} [ingest]", 131072),
            _get(ingest_t, "max_future_skew_s", int, f"{w} [ingest]", 300),
            float(_get(ingest_t, "rate_per_device", (int, float), f"{w} [ingest]", 20.0)),
            _get(ingest_t, "burst_per_device", int, f"{w} [ingest]", 200)),
        pseudonym_key_file=rel(_get(hh_t, "pseudonym_key_file", str, f"{w} [households]",
                                    "pseudonym.key")),
        witness_vkeys=_witness_vkeys(raw.get("witnesses", {}), f"{w} [witnesses]"),
        consortium=claim_settings(raw.get("consortium"), rel, w),
        **_did_web(raw.get("did", {}), _get(log_t, "origin", str, f"{w} [log]"),
                   f"{w} [did]"),
    )


# every section and key load_config reads: anything else is a typo that would silently fall back
# to a default (``group_mx = 64`` ran with 32), so it is refused by name
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "log": frozenset({"origin", "key_file", "checkpoint_interval_s"}),
    "store": frozenset({"state_dir", "url", "backend", "sqlite_path"}),
    "mqtt": frozenset({"broker", "client_id", "share_group", "session_expiry_s", "tls",
                       "username", "password", "password_file", "ca_file", "broker_pid_file",
                       "device_prefix", "broker_passwd_file"}),
    "ingest": frozenset({"group_max", "group_wait_ms", "max_payload_bytes",
                         "max_future_skew_s", "rate_per_device", "burst_per_device"}),
    "households": frozenset({"pseudonym_key_file"}),
    "witnesses": frozenset({"vkeys"}),
    "did": frozenset({"host", "path"}),
    "consortium": SETTINGS_KEYS,
}


def _refuse_unknown(raw: dict[str, Any], where: str) -> None:
    for section, table in raw.items():
        known = KNOWN_KEYS.get(section)
        if known is None:
            raise ConfigError(msg("aggregator.config.unknown_section", where=where,
                                  section=section, hint=_did_you_mean(section, KNOWN_KEYS),
                                  sections=", ".join(f"[{k}]" for k in KNOWN_KEYS)))
        if not isinstance(table, dict):
            raise ConfigError(msg("aggregator.config.not_table", where=where, section=section))
        for key in table:
            if key not in known:
                raise ConfigError(msg("aggregator.config.unknown_key", where=where,
                                      section=section, key=key,
                                      hint=_did_you_mean(key, known)))


def _did_you_mean(word: str, choices: Iterable[str]) -> Msg | str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return msg("aggregator.config.did_you_mean", word=close[0]) if close else ""


def _share_group(name: str, where: str) -> str:
    """A share group name is one topic level of ``$share/<group>/…`` (MQTT v5 §4.8.2)."""
    if not name or any(c in name for c in "/+#"):
        raise ConfigError(msg("aggregator.config.share_group", where=where, name=repr(name)))
    return name


def _store_url(store_t: dict[str, Any], state_dir: Path, where: str) -> StoreUrl:
    """``url``, or the keys it replaced (``backend = "sqlite"`` + ``sqlite_path``), not both."""
    legacy = [k for k in ("backend", "sqlite_path") if k in store_t]
    if "url" in store_t:
        if legacy:
            raise ConfigError(msg("aggregator.config.url_replaces", where=where,
                                  keys=" and ".join(map(repr, legacy))))
        text = _get(store_t, "url", str, where)
        try:
            return StoreUrl.parse(text, state_dir)
        except ConfigError as e:
            raise ConfigError(msg("aggregator.config.store_url", where=where, error=e)) from e
    backend = _get(store_t, "backend", str, where, "sqlite")
    if backend != "sqlite":
        raise ConfigError(msg("aggregator.config.backend", where=where, backend=repr(backend)))
    path = Path(_get(store_t, "sqlite_path", str, where, "ledger.sqlite3"))
    return StoreUrl.sqlite(path if path.is_absolute() else state_dir / path)


def _witness_vkeys(table: Any, where: str) -> tuple[str, ...]:
    """``[witnesses] vkeys``: c2sp.org/tlog-cosignature keys (type 0x04) or plain Ed25519 ones."""
    if not isinstance(table, dict):
        raise ConfigError(msg("aggregator.config.must_be_table", where=where))
    vkeys = table.get("vkeys", [])
    if not isinstance(vkeys, list) or not all(isinstance(v, str) for v in vkeys):
        raise ConfigError(msg("aggregator.config.vkeys_list", where=where))
    for v in vkeys:
        try:
            parse_witness_key(v)
        except NoteError as e:
            raise ConfigError(msg("aggregator.config.vkeys_bad", where=where, error=e)) from e
    return tuple(v.strip() for v in vkeys)


# did:web (w3c-ccg.github.io/did-method-web): a host name (lowercase labels, an optional port)
# and optional path segments, each of which becomes one ':'-separated part of the DID
_DID_HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}"
                          r"[a-z0-9])?)*(?::[0-9]{1,5})?")
_DID_SEGMENT_RE = re.compile(r"[A-Za-z0-9._~-]{1,64}")


def _did_web(table: Any, origin: str, where: str) -> dict[str, Any]:
    """``[did] host`` and ``path``, by default the origin's host and path: the did:web the
    credentials name as their issuer (the host must serve its DID document)."""
    if not isinstance(table, dict):
        raise ConfigError(msg("aggregator.config.must_be_table", where=where))
    if "host" not in table:
        if "path" in table:
            raise ConfigError(msg("aggregator.config.did_path_host", where=where))
        host, _, rest = origin.partition("/")
        segments = tuple(rest.split("/")) if rest else ()
        if _DID_HOST_RE.fullmatch(host) and all(map(_DID_SEGMENT_RE.fullmatch, segments)):
            return {"did_host": host, "did_path": segments}
        return {"did_host": None, "did_path": ()}
    host = _get(table, "host", str, where)
    if not _DID_HOST_RE.fullmatch(host):
        raise ConfigError(msg("aggregator.config.did_host", where=where, host=repr(host)))
    path = _get(table, "path", str, where, "")
    segments = tuple(path.strip("/").split("/")) if path.strip("/") else ()
    if not all(map(_DID_SEGMENT_RE.fullmatch, segments)):
        raise ConfigError(msg("aggregator.config.did_path", where=where, path=repr(path)))
    return {"did_host": host, "did_path": segments}


@dataclass(frozen=True, slots=True)
class MqttIdentity:
    """The aggregator's client id and share group: random, so that no device can guess them
    (docs/protocol.md §3 "Broker access"). Mosquitto 2.0's acl_file grants every SUBSCRIBE, so
    the share group's name is what keeps an enrolled device out of the aggregator's group."""

    client_id: str
    share_group: str

    @classmethod
    def generate(cls) -> MqttIdentity:
        return cls(f"eco-aggregator-{secrets.token_hex(8)}", f"agg-{secrets.token_hex(16)}")


def guessable_identity(mqtt: MqttConfig) -> list[str]:
    """What an operator should change about the aggregator's MQTT identity: a client id or share
    group without a random part (the old defaults, or a hand-picked name). Pure."""
    notes = []
    if not _RANDOM_PART_RE.search(mqtt.client_id):
        notes.append(f"[mqtt] client_id {mqtt.client_id!r} is guessable: give each worker a "
                     f"random one, e.g. client_id = \"{MqttIdentity.generate().client_id}\"")
    if not _RANDOM_PART_RE.search(mqtt.share_group):
        notes.append(f"[mqtt] share_group {mqtt.share_group!r} is guessable: on a broker "
                     "without the devices' mount point, an enrolled device that subscribes to "
                     "it takes a turn of the aggregator's readings; "
                     f"set share_group = \"{MqttIdentity.generate().share_group}\" in every "
                     "worker's config and restart them together")
    return notes


def example_config(origin: str, state_dir: Path, broker: str,
                   store_url: str = DEFAULT_URL, identity: MqttIdentity | None = None) -> str:
    """The config 'init' writes: :data:`EXAMPLE` with a random MQTT identity in place of the
    old fixed one (``identity``: None draws a fresh one)."""
    ident = identity or MqttIdentity.generate()
    text = EXAMPLE.format(origin=origin, state_dir=state_dir, broker=broker,
                          store_url=store_url)
    for old, new in ((f'client_id = "{LEGACY_CLIENT_ID}"', f'client_id = "{ident.client_id}"'),
                     (f'share_group = "{LEGACY_SHARE_GROUP}"',
                      f'share_group = "{ident.share_group}"')):
        if text.count(old) != 1:  # the template and the constants must agree
            raise AssertionError(f"EXAMPLE must contain {old!r} exactly once")
        text = text.replace(old, new)
    return text


def with_device_prefix(text: str, prefix: str) -> str | None:
    """``text`` (an aggregator.toml) with ``[mqtt] device_prefix = prefix``: the line replaced,
    or added right under ``[mqtt]``. None if there is no ``[mqtt]`` line to add it under. Pure;
    'broker-config' uses it so that the aggregator subscribes where the mount point it writes
    puts the devices' topics (aggregator.device_topics)."""
    line = f'device_prefix = "{check_prefix(prefix)}"'
    new, n = re.subn(r'(?m)^device_prefix\s*=.*$', line, text)
    if n:
        return new
    new, n = re.subn(r'(?m)^\[mqtt\][ \t]*$', lambda m: f"{m.group(0)}\n{line}", text, count=1)
    return new if n else None


# a broker username: device ids are 32 lowercase hex; an operator-chosen name must also fill one
# topic level (it is ``%u`` in the ACL's patterns). Checked here, where [mqtt] username is read,
# and by :mod:`aggregator.broker_auth`, which writes the password file.
_USERNAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_username(name: str, what: str = "broker username") -> str:
    """A username usable in the password file and as ``%u`` in a pattern (no ``: + # /``)."""
    if not _USERNAME_RE.fullmatch(name):
        raise Rejected(f"{what} {name!r}: use 1–64 letters, digits, '_', '.', '-' (it becomes a "
                       "topic level in the ACL, so no ':', '+', '#', '/')")
    return name


def _mqtt_access(t: dict[str, Any], base: MqttConfig, rel: Callable[[str], Path],
                 where: str) -> MqttConfig:
    """[mqtt] login, TLS and the broker's password file (docs/protocol.md §3 "Broker access")."""
    def opt(key: str, typ: type) -> Any:
        v = t.get(key)
        if v is not None and (not isinstance(v, typ) or isinstance(v, bool) and typ is not bool):
            raise ConfigError(msg("aggregator.config.wrong_type", where=where, key=key,
                                  type=typ.__name__, value=repr(v)))
        return v

    scheme_tls = parse_broker_url(t["broker"]).tls  # already checked by load_config
    tls = opt("tls", bool)
    if tls is None:
        tls = scheme_tls
    elif scheme_tls and not tls:
        raise ConfigError(msg("aggregator.config.tls_contradiction", where=where))
    if not tls and base.host not in LOOPBACK:
        raise ConfigError(msg("aggregator.config.tls_required", where=where, host=base.host))
    username, password = opt("username", str), opt("password", str)
    password_file, ca_file = opt("password_file", str), opt("ca_file", str)
    if username == "":
        username = None
    if password is not None and password_file is not None:
        raise ConfigError(msg("aggregator.config.password_both", where=where))
    if username is None and (password is not None or password_file is not None):
        raise ConfigError(msg("aggregator.config.password_no_user", where=where))
    if username is not None:
        try:
            check_username(username, "username")
        except Rejected as e:
            raise ConfigError(msg("aggregator.config.in_section", where=where, error=str(e))) from e
    pid = opt("broker_pid_file", str)
    try:
        prefix = check_prefix(opt("device_prefix", str) or "")
    except ValueError as e:
        raise ConfigError(msg("aggregator.config.in_section", where=where, error=str(e))) from e
    return replace(
        base, username=username, password=password,
        password_file=None if password_file is None else rel(password_file),
        tls=tls, ca_file=None if ca_file is None else rel(ca_file),
        broker_passwd_file=rel(opt("broker_passwd_file", str) or "broker/passwd"),
        broker_pid_file=None if pid is None else rel(pid), device_prefix=prefix)
