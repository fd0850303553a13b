"""``eco-aggregator`` commands for broker access control (docs/protocol.md §3 "Broker access";
issue 6).

    broker-config --out DIR     mosquitto.conf, the devices' passwd + acl, the aggregator's
                                passwd-aggregator + acl-aggregator (+ TLS files)
    broker-password DEVICE_ID   issue an enrolled device a new broker password (printed once)
    broker-restore DEVICE_ID    let a device that serve suspended for flooding back in, with its
                                old password (aggregator/flood_cutoff.py)
    ca init                     create the municipality CA for the broker's TLS listener
    ca server-cert --host NAME  the broker's certificate (repeat --host for more names)
    ca client-cert DEVICE_ID    a device certificate, CN = device id (use_identity_as_username)

``enrol``, ``rekey`` and ``revoke`` issue and withdraw a device's login through
:mod:`aggregator.operator` (:mod:`aggregator.device_login`). A device's password appears only in
the JSON printed by ``enrol`` or ``broker-password``; the state directory keeps only its hash;
nothing is logged.
"""

from __future__ import annotations

import argparse
import os
import pwd
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eco_protocol.keyfile import atomic_write
from eco_protocol.messages import msg
from eco_runtime.broker_url import LOOPBACK

from ..broker_auth import (
    SYSTEMD_HINT,
    PasswordFile,
    aggregator_acl_text,
    aggregator_password_entries,
    device_acl_text,
    ensure_aggregator_login,
)
from ..config import Config, guessable_identity, load_config, with_device_prefix
from ..device_login import refuse_unless_enrolled
from ..device_topics import DEFAULT_DEVICE_PREFIX
from ..errors import ConfigError, Rejected
from ..mosquitto import BrokerAuth, TlsListener, broker_config
from ..operator import Actor, reissue_broker_login, restore_device_login
from ..registry import DEVICE_ID_RE
from ..store import LedgerStore, open_store
from .common import DEVICE_HELP, device_arg, print_json

if TYPE_CHECKING:
    from ..ca import CertificateAuthority


def _now() -> datetime:
    return datetime.now(UTC)


def ca_dir(cfg: Config) -> Path:
    return cfg.state_dir / "ca"


def _ca(cfg: Config) -> CertificateAuthority:
    # imported here: cryptography's X.509 module costs 'serve' start-up time it does not need
    from ..ca import CertificateAuthority

    return CertificateAuthority(ca_dir(cfg))


def _enrolled_device(cfg: Config, device_id: str) -> None:
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise Rejected(msg("aggregator.device.bad_id", text=repr(device_id)))
    store = open_store(cfg)
    try:
        refuse_unless_enrolled(store, device_id)
    finally:
        store.close()


def _device_login(args: argparse.Namespace,
                  act: Callable[[Config, LedgerStore, Actor, str], dict[str, str]]
                  ) -> dict[str, str]:
    """An operator's audited action on one device's broker login (password, restore)."""
    cfg = load_config(args.config)
    store = open_store(cfg)
    try:
        return act(cfg, store, Actor.cli(), args.device_id)
    finally:
        store.close()


def cmd_broker_password(args: argparse.Namespace) -> int:
    """Audited like enrol and revoke (a new password is a new way in): the record, refused
    attempts included, goes to the operator audit trail (:mod:`aggregator.operator`)."""
    login = _device_login(args, reissue_broker_login)
    print_json({"device_id": args.device_id, **login})
    return 0


def cmd_broker_restore(args: argparse.Namespace) -> int:
    """Undo serve's flood cut-off for one device (audited; the old password works again)."""
    print_json(_device_login(args, restore_device_login))
    return 0


# --- the broker's configuration ----------------------------------------------------------------


def _broker_account(user: str | None) -> tuple[int, int] | None:
    """(uid, gid) to give the broker read access to our files, when we run as root and the broker
    switches to another account on start (Debian: 'mosquitto'; docs/pitfalls.md §5)."""
    name = user or "mosquitto"
    if os.geteuid() != 0 or name == "root":
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return 0, entry.pw_gid


def _install(path: Path, data: bytes, secret: bool, owner: tuple[int, int] | None) -> None:
    atomic_write(path, data, (0o640 if owner else 0o600) if secret else 0o644)
    if owner is not None:
        os.chown(path, *owner)


def _broker_may_read(password_file: Path, owner: tuple[int, int] | None) -> None:
    """A password file in --out, given to the account the broker switches to (mode 0640)."""
    if owner is not None:
        os.chown(password_file, *owner)
        os.chmod(password_file, 0o640)


def _set_device_prefix(cfg: Config, prefix: str) -> str:
    """Write ``[mqtt] device_prefix`` into the aggregator's config (its mode kept); say so."""
    text = with_device_prefix(cfg.path.read_text("utf-8"), prefix)
    if text is None:
        return (f"set [mqtt] device_prefix = \"{prefix}\" in {cfg.path}: the devices' listener "
                f"puts their topics under {prefix}, and serve must subscribe there")
    atomic_write(cfg.path, text.encode("utf-8"), cfg.path.stat().st_mode & 0o777)
    return (f"{cfg.path}: set [mqtt] device_prefix = \"{prefix}\" (the devices' listener puts "
            "their topics under it); restart every serve worker")


@dataclass
class _OutDir:
    """``--out``: where broker-config writes, for whom (the broker's account), what it wrote and
    what the operator must still do."""

    path: Path
    owner: tuple[int, int] | None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def install(self, name: str, data: bytes, secret: bool = False) -> Path:
        path = self.path / name
        _install(path, data, secret, self.owner)
        self.files.append(str(path))
        return path

    def passwords(self, name: str, entries: Mapping[str, str]) -> Path:
        path = self.path / name
        PasswordFile(path).replace(entries)
        _broker_may_read(path, self.owner)
        self.files.append(str(path))
        return path


def _refuse_unsafe(cfg: Config, args: argparse.Namespace) -> None:
    if cfg.mqtt.username is None:
        raise ConfigError(msg("aggregator.broker.set_login", path=str(cfg.path)))
    if args.bind not in LOOPBACK:
        raise ConfigError(msg("aggregator.broker.bind", bind=args.bind))


def _devices_listener(cfg: Config, out: _OutDir) -> tuple[Path, Path, str]:
    """The devices' listener: the password file enrol and revoke change, the pattern ACL, and
    its mount point (the aggregator must subscribe under it too). Returns passwd, acl, prefix."""
    passwd = out.path / "passwd"
    if cfg.mqtt.broker_passwd_file.resolve() != passwd:
        out.passwords("passwd", PasswordFile(cfg.mqtt.broker_passwd_file).read())
        out.notes.append(f"{passwd} is a copy of {cfg.mqtt.broker_passwd_file}, which enrol "
                         f"updates: set [mqtt] broker_passwd_file = \"{passwd}\" in {cfg.path} "
                         "so new devices reach the broker")
    else:
        _broker_may_read(passwd, out.owner)
        out.files.append(str(passwd))
    prefix = cfg.mqtt.device_prefix or DEFAULT_DEVICE_PREFIX
    if cfg.mqtt.device_prefix != prefix:
        out.notes.append(_set_device_prefix(cfg, prefix))
    acl = out.install("acl", device_acl_text(prefix).encode())
    return passwd, acl, prefix


def _aggregator_listener(cfg: Config, out: _OutDir, prefix: str) -> tuple[Path, Path]:
    """The aggregator's loopback listener: its own login only (a device's is refused there)."""
    assert cfg.mqtt.username is not None  # _refuse_unsafe
    passwd = out.passwords("passwd-aggregator", aggregator_password_entries(cfg.mqtt))
    acl = out.install("acl-aggregator",
                      aggregator_acl_text(cfg.mqtt.username, prefix).encode())
    out.notes.extend(guessable_identity(cfg.mqtt))
    return passwd, acl


def _tls_listener(cfg: Config, args: argparse.Namespace, out: _OutDir) -> TlsListener | None:
    """The devices' TLS listener, with copies of the CA's certificate and the broker's own."""
    if args.no_tls:
        if args.client_certs:
            raise ConfigError(msg("aggregator.broker.client_certs"))
        return None
    ca = _ca(cfg)
    missing = [p for p in (ca.cert_file, ca.server_cert_file, ca.server_key_file)
               if not p.exists()]
    if missing:
        raise ConfigError(msg("aggregator.broker.no_tls", missing=", ".join(map(str, missing))))
    for src, name, secret in ((ca.cert_file, "ca.crt", False),
                              (ca.server_cert_file, "server.crt", False),
                              (ca.server_key_file, "server.key", True)):
        out.install(name, src.read_bytes(), secret)
    return TlsListener(args.tls_port, out.path / "ca.crt", out.path / "server.crt",
                       out.path / "server.key", bind=args.tls_bind,
                       client_certs=args.client_certs)


def _conf_header(cfg: Config, conf: Path) -> str:
    return (
        f"# Mosquitto configuration for the eco-credit log {cfg.origin}, generated by\n"
        "# 'eco-aggregator broker-config' (docs/protocol.md §3). Run it with\n"
        f"#   mosquitto -c {conf}\n"
        "# or install it as /etc/mosquitto/mosquitto.conf. After every enrol, revoke or\n"
        "# broker-password, the broker must reload the password file: 'systemctl reload\n"
        "# mosquitto' (SIGHUP), or set [mqtt] broker_pid_file in aggregator.toml.\n"
    )


def _listeners(args: argparse.Namespace, tls: TlsListener | None) -> list[dict[str, Any]]:
    listeners: list[dict[str, Any]] = [{"port": args.port, "bind": args.bind, "tls": False,
                                        "for": "aggregator"}]
    if tls is not None:
        listeners.append({"port": tls.port, "bind": tls.bind or "*", "tls": True,
                          "client_certs": tls.client_certs, "for": "devices"})
    else:
        listeners.append({"port": args.tls_port, "bind": args.bind, "tls": False,
                          "for": "devices"})
    return listeners


def cmd_broker_config(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    _refuse_unsafe(cfg, args)
    ensure_aggregator_login(cfg.mqtt)
    out = _OutDir(Path(args.out).resolve(), _broker_account(args.user))
    out.path.mkdir(parents=True, exist_ok=True)
    passwd, acl, prefix = _devices_listener(cfg, out)
    agg_passwd, agg_acl = _aggregator_listener(cfg, out, prefix)
    tls = _tls_listener(cfg, args, out)
    conf = out.path / "mosquitto.conf"
    text = _conf_header(cfg, conf) + broker_config(
        args.port, Path(args.persistence_dir), persistence=True,
        auth=BrokerAuth(passwd, acl, agg_passwd, agg_acl, prefix), tls=tls, bind=args.bind,
        user=args.user, device_port=args.tls_port if tls is None else None,
        pid_file=None if args.pid_file is None else Path(args.pid_file).resolve())
    out.install("mosquitto.conf", text.encode())
    print_json({"dir": str(out.path), "config": str(conf), "files": out.files,
                "listeners": _listeners(args, tls),
                "users": len(PasswordFile(passwd).read()), "notes": out.notes,
                "reload": f"after enrol/revoke: {SYSTEMD_HINT}"
                if cfg.mqtt.broker_pid_file is None
                else f"enrol/revoke send SIGHUP to the pid in {cfg.mqtt.broker_pid_file}"})
    return 0


# --- the municipality CA -------------------------------------------------------------------------


def cmd_ca_init(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    issued = _ca(cfg).init(args.name or f"{cfg.origin} broker CA",
                                                    _now(), args.days)
    print_json({"ca_cert": str(issued.cert_file), "ca_key": str(issued.key_file),
            "subject": issued.subject, "not_after": issued.not_after, "created": issued.created,
            "next": "eco-aggregator ca server-cert --host BROKER_NAME; give devices "
                    f"{issued.cert_file} as [uplink] ca_file"})
    return 0


def cmd_ca_server_cert(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    issued = _ca(cfg).server_cert(args.host, _now(), args.days)
    print_json({"cert": str(issued.cert_file), "key": str(issued.key_file),
            "subject": issued.subject, "hosts": args.host, "not_after": issued.not_after})
    return 0


def cmd_ca_client_cert(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    _enrolled_device(cfg, args.device_id)
    out = None if args.out is None else Path(args.out)
    issued = _ca(cfg).client_cert(args.device_id, _now(), out, args.days)
    print_json({"device_id": args.device_id, "cert": str(issued.cert_file),
            "key": str(issued.key_file), "subject": issued.subject,
            "not_after": issued.not_after,
            "next": "copy both to the device (the key stays 0600) and set [uplink] cert_file and "
                    "key_file; the broker needs broker-config --client-certs"})
    return 0


def add_commands(sub: Any) -> None:
    s = sub.add_parser("broker-config", help="write mosquitto.conf, passwd and acl for the broker")
    s.add_argument("--out", required=True, metavar="DIR",
                   help="where to write mosquitto.conf, passwd, acl and the TLS files")
    s.add_argument("--port", type=int, default=1883,
                   help="plain listener on loopback, for the aggregator only (default 1883)")
    s.add_argument("--bind", default="127.0.0.1", help="address of the plain listener "
                   "(loopback only; default 127.0.0.1)")
    s.add_argument("--tls-port", type=int, default=8883,
                   help="the devices' listener, TLS (default 8883)")
    s.add_argument("--tls-bind", default=None, metavar="ADDR",
                   help="address of the TLS listener (default: every interface)")
    s.add_argument("--no-tls", action="store_true",
                   help="no TLS: the devices' listener is plain, on --bind (loopback) at "
                        "--tls-port; a broker reachable on loopback only")
    s.add_argument("--client-certs", action="store_true",
                   help="TLS clients must present a certificate from the CA; its CN (the device "
                        "id) is the username (require_certificate, use_identity_as_username)")
    s.add_argument("--persistence-dir", default="/var/lib/mosquitto", metavar="DIR",
                   help="where the broker keeps queued messages (default /var/lib/mosquitto)")
    s.add_argument("--user", default=None,
                   help="account the broker switches to when started as root (default: "
                        "mosquitto); it must be able to read the files written here")
    s.add_argument("--pid-file", default=None, metavar="FILE",
                   help="make the broker write its pid here (for [mqtt] broker_pid_file)")
    s.set_defaults(func=cmd_broker_config)

    s = sub.add_parser("broker-password",
                       help="issue an enrolled device a new broker password (printed once)")
    s.add_argument("device_id", type=device_arg, help=DEVICE_HELP)
    s.set_defaults(func=cmd_broker_password)

    s = sub.add_parser("broker-restore",
                       help="let a device suspended for flooding reconnect (its old password)")
    s.add_argument("device_id", type=device_arg, help=DEVICE_HELP)
    s.set_defaults(func=cmd_broker_restore)

    s = sub.add_parser("ca", help="the municipality CA for the broker's TLS listener")
    csub = s.add_subparsers(dest="ca_cmd", required=True)
    c = csub.add_parser("init", help="create the CA (ECDSA P-256; key mode 0600)")
    c.add_argument("--name", default=None, help="CA name (default '<origin> broker CA')")
    c.add_argument("--days", type=int, default=3650)
    c.set_defaults(func=cmd_ca_init)
    c = csub.add_parser("server-cert", help="issue the broker's TLS certificate")
    c.add_argument("--host", action="append", required=True,
                   help="the broker's DNS name or IP address (repeatable)")
    c.add_argument("--days", type=int, default=825)
    c.set_defaults(func=cmd_ca_server_cert)
    c = csub.add_parser("client-cert", help="issue a device certificate (CN = device id)")
    c.add_argument("device_id", type=device_arg, help=DEVICE_HELP)
    c.add_argument("--out", default=None, metavar="DIR",
                   help="where to write DEVICE_ID.crt and DEVICE_ID.key (default <state>/ca/"
                        "clients)")
    c.add_argument("--days", type=int, default=825)
    c.set_defaults(func=cmd_ca_client_cert)
