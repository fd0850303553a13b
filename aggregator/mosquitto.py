"""Run a local Mosquitto broker: for ``make demo``, the integration tests and single-box installs.

Not a mock: the real ``mosquitto`` binary (Debian package ``mosquitto``) with a generated config
bound to loopback on a free port. MQTT v5 is negotiated by the clients; the broker speaks it
natively. By default the listener is loopback-only with anonymous access, which is what a test or
``make demo`` needs. With :class:`BrokerAuth` anonymous access is off and each listener has its
own logins and ACL (docs/protocol.md §3 "Broker access"; :mod:`aggregator.broker_auth`): the
aggregator's on loopback, the devices' (client id bound to the username) on :class:`TlsListener`,
as any non-loopback listener must be. The same
:func:`broker_config` writes the production ``mosquitto.conf`` (``eco-aggregator broker-config``),
and :class:`Mosquitto` can run such a generated file as is (``config_file``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from eco_protocol.messages import msg

from .device_topics import DEFAULT_DEVICE_PREFIX, check_prefix
from .errors import EnvironmentProblem


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class BrokerAuth:
    """Access control, one set of files per listener (docs/protocol.md §3 "Broker access"):
    the devices' logins (the file enrol and revoke change) and pattern ACL on the devices'
    listener; the aggregator's own login and ACL on its loopback listener. No anonymous access."""

    password_file: Path  # devices
    acl_file: Path  # devices
    aggregator_password_file: Path
    aggregator_acl_file: Path
    # the devices' listener's mount_point (aggregator.device_topics): a device's
    # $share/<group>/… becomes the plain filter dev/$share/<group>/…, so no device can join
    # the aggregator's share group; the ACL files must name topics with it
    device_prefix: str = DEFAULT_DEVICE_PREFIX


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener (``certfile``/``keyfile`` issued by the municipality CA, ``cafile`` the CA).
    ``client_certs``: require a client certificate signed by the CA and use its CN (the device
    id) as the username (``require_certificate`` + ``use_identity_as_username``)."""

    port: int
    cafile: Path
    certfile: Path
    keyfile: Path
    bind: str | None = None  # None: every interface
    client_certs: bool = False


def broker_config(port: int, state_dir: Path, *, persistence: bool = False,
                  max_packet_size: int = 262144, auth: BrokerAuth | None = None,
                  tls: TlsListener | None = None, bind: str | None = "127.0.0.1",
                  user: str | None = None, pid_file: Path | None = None,
                  device_port: int | None = None) -> str:
    """A mosquitto.conf. Pure: returns the text.

    Without ``auth``: one anonymous listener on ``bind:port`` (loopback unless told otherwise),
    optionally a TLS one: the demo and the tests. With ``auth`` (``per_listener_settings true``,
    each listener its own logins and ACL; docs/protocol.md §3):

    * ``bind:port`` is the aggregator's listener: only its own login, from
      ``auth.aggregator_password_file``, so a device's login is refused there;
    * the devices' listener is ``tls`` (or, without TLS, a plain one on ``bind:device_port``):
      the devices' password file and pattern ACL, and ``use_username_as_clientid``, so a device's
      client id is its device id whatever it asks for: it cannot take over the aggregator's
      session or another device's; and ``mount_point auth.device_prefix``, so a device's
      subscriptions, publishes and will live under that prefix and it cannot join a share group.

    ``user``: the account a broker started as root switches to (Mosquitto's default is
    ``mosquitto``, which must then be able to read every file named here)."""
    if auth is None:
        lines = _anonymous_listeners(port, bind, tls)
    else:
        devices: list[str] = []
        if tls is not None:
            devices = _tls_lines(tls)
        elif device_port is not None:
            devices = [_listener(device_port, bind)]
        lines = [*_aggregator_listener(port, bind, auth), *_devices_listener(devices, auth), ""]
    lines += _broker_settings(state_dir, persistence, max_packet_size)
    if pid_file is not None:
        lines.append(f"pid_file {pid_file}")
    if user is not None:
        lines.append(f"user {user}")
    return "\n".join(lines) + "\n"


def _listener(port: int, addr: str | None) -> str:
    return f"listener {port} {addr}" if addr else f"listener {port}"


def _tls_lines(t: TlsListener) -> list[str]:
    out = [_listener(t.port, t.bind), f"cafile {t.cafile}", f"certfile {t.certfile}",
           f"keyfile {t.keyfile}", "tls_version tlsv1.2"]
    if t.client_certs:
        out += ["require_certificate true", "use_identity_as_username true"]
    return out


def _anonymous_listeners(port: int, bind: str | None, tls: TlsListener | None) -> list[str]:
    """The demo's and the tests' broker: anyone may connect, on every listener."""
    return [
        "# listeners; the settings below apply to all of them (per_listener_settings false)",
        "per_listener_settings false",
        _listener(port, bind),
        *(_tls_lines(tls) if tls is not None else []),
        "allow_anonymous true",
    ]


def _aggregator_listener(port: int, bind: str | None, auth: BrokerAuth) -> list[str]:
    return [
        "# each listener has its own logins and ACL (docs/protocol.md §3 \"Broker access\")",
        "per_listener_settings true",
        "",
        "# the aggregator's listener: loopback only, the aggregator's own login only",
        _listener(port, bind),
        "allow_anonymous false",
        f"password_file {auth.aggregator_password_file}",
        f"acl_file {auth.aggregator_acl_file}",
    ]


def _devices_listener(listener: list[str], auth: BrokerAuth) -> list[str]:
    """The devices' listener (``listener``: its opening lines), or nothing without one."""
    if not listener:
        return []
    return [
        "",
        "# the devices' listener: a login per device, a pattern ACL; the client id is",
        "# the username (the device id), so no device can take another client's id",
        *listener,
        "allow_anonymous false",
        "use_username_as_clientid true",
        "# every topic of a device is put under this prefix: its $share/… filters become",
        "# plain ones and join no share group (docs/pitfalls.md §5)",
        *([f"mount_point {check_prefix(auth.device_prefix)}"] if auth.device_prefix else []),
        f"password_file {auth.password_file}",
        f"acl_file {auth.acl_file}",
    ]


def _broker_settings(state_dir: Path, persistence: bool, max_packet_size: int) -> list[str]:
    """What applies to every listener: limits, the queue, persistence, logging."""
    return [
        f"max_packet_size {max_packet_size}",
        # the aggregator may be down for a while: keep its queued QoS 1 readings
        # (docs/pitfalls.md §5)
        "max_queued_messages 100000",
        "max_inflight_messages 64",
        f"persistence {'true' if persistence else 'false'}",
        f"persistence_location {state_dir}/",
        "autosave_interval 10",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
    ]


@dataclass
class Mosquitto:
    """A running broker. Use as a context manager; ``stop()`` leaves no process behind.

    ``auth``/``tls`` switch on access control and a TLS listener in the generated config;
    ``config_file`` runs a config written elsewhere (``eco-aggregator broker-config``) instead,
    whose plain listener must be on 127.0.0.1:``port``. A generated config makes the broker write
    its pid to :attr:`pid_file`, so ``eco-aggregator enrol`` can make it reload the password
    file (``[mqtt] broker_pid_file``)."""

    state_dir: Path
    port: int = 0
    persistence: bool = False
    auth: BrokerAuth | None = None
    tls: TlsListener | None = None
    config_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "mosquitto.pid"

    def reload(self) -> None:
        """SIGHUP: reread the password and ACL files (mosquitto.conf(5), "Reloaded on reload
        signal")."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def start(self, timeout: float = 10.0) -> Mosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise EnvironmentProblem(msg("aggregator.mosquitto.missing"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.config_file is not None:
            if not self.port:
                raise ValueError("Mosquitto(config_file=…) needs the port its listener uses")
            conf = self.config_file
        else:
            if not self.port:
                self.port = free_port()
            conf = self.state_dir / "mosquitto.conf"
            # as root mosquitto drops to user 'mosquitto', which cannot read our state dir
            conf.write_text(broker_config(
                self.port, self.state_dir, persistence=self.persistence, auth=self.auth,
                tls=self.tls, user="root" if os.geteuid() == 0 else None,
                pid_file=self.pid_file))
        log = open(self.state_dir / "mosquitto.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvironmentProblem(msg("aggregator.mosquitto.exited",
                                             code=self.proc.returncode,
                                             log=self.state_dir / "mosquitto.log"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EnvironmentProblem(msg("aggregator.mosquitto.no_listen", port=self.port,
                                     timeout=timeout))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.config_file is None:
            self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> Mosquitto:
        return self.start() if self.proc is None else self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
