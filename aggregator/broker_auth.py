"""Broker access control (docs/protocol.md §3 "Broker access"; issue 6): per-device Mosquitto
logins, the pattern ACL, and telling a running broker to reload them.

* **Password file** — one ``username:hash`` line per user in the format ``mosquitto_passwd(1)``
  of Mosquitto 2.0 writes and the broker reads (``password_file`` in ``mosquitto.conf(5)``):
  ``$7$<iterations>$<base64 salt>$<base64 key>``, the key being PBKDF2-HMAC-SHA512 over the
  password with a 12-byte random salt, 64 bytes long. Only hashes are stored; a device's password
  is printed once by ``eco-aggregator enrol`` (or ``broker-password``) and never logged. The
  iteration count is mosquitto_passwd's default (101): the passwords are 192-bit random strings,
  so the hash only has to be one-way, not slow.
* **ACL files** — one per listener (``per_listener_settings true``). On the devices' listener
  ``pattern`` lines give every user (username = device id) write access to its own
  ``eco/v1/<id>/readings`` and ``…/status`` and read access to its own ``…/receipts``; ``%u``
  fills a whole topic level, as the man page requires. On the aggregator's loopback listener its
  user may read every device's readings and write every device's receipts. Anything not listed
  is denied.
* **Reload** — Mosquitto rereads both files on SIGHUP. A broker this tool started names its pid
  in a pid file (``[mqtt] broker_pid_file``); one run by systemd is reloaded with
  ``systemctl reload mosquitto`` (Debian's unit sends SIGHUP). At the reload Mosquitto 2.0.11
  disconnects a connected client whose login was removed (measured), and refuses its next
  CONNECT: a revoked device is cut off at once, not at its next connection.

The hashing, parsing and ACL text are pure functions; :class:`PasswordFile` and
:func:`reload_broker` do the I/O.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

from eco_protocol.keyfile import atomic_write
from eco_protocol.messages import msg
from eco_protocol.os_messages import os_reason
from eco_protocol.topics import (
    LOG_KEYS_TOPIC,
    READINGS,
    READINGS_FILTER,
    RECEIPTS,
    RECEIPTS_FILTER,
    STATUS,
    device_topic,
)

from .config import MqttConfig, check_username
from .device_topics import check_prefix, on_broker
from .errors import ConfigError, EnvironmentProblem

log = logging.getLogger(__name__)

PBKDF2_ITERATIONS: Final = 101  # mosquitto_passwd's default ($7$ format, Mosquitto 2.0)
SALT_BYTES: Final = 12
KEY_BYTES: Final = 64  # SHA-512 output
DEFAULT_AGGREGATOR_USER: Final = "eco-aggregator"
_MAX_PASSWD_BYTES: Final = 64 * 1024 * 1024


def new_password() -> str:
    """A fresh random broker password (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def hash_password(password: str, salt: bytes, iterations: int = PBKDF2_ITERATIONS) -> str:
    """The ``$7$`` encoding of ``password`` under ``salt``, as mosquitto_passwd writes it."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes")
    if not 1 <= iterations <= 10_000_000:
        raise ValueError("iterations out of range")
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, KEY_BYTES)
    return (f"$7${iterations}${base64.b64encode(salt).decode()}"
            f"${base64.b64encode(key).decode()}")


def new_hash(password: str) -> str:
    return hash_password(password, secrets.token_bytes(SALT_BYTES))


def password_matches(encoded: str, password: str) -> bool:
    """Whether ``password`` is the one ``encoded`` (``$7$`` or the older ``$6$``) was made from."""
    parts = encoded.split("$")
    try:
        if len(parts) == 5 and parts[:2] == ["", "7"]:
            iterations = int(parts[2])
            if not 1 <= iterations <= 10_000_000:
                return False
            salt = base64.b64decode(parts[3], validate=True)
            want = base64.b64decode(parts[4], validate=True)
            got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations,
                                      len(want))
            return hmac.compare_digest(got, want)
        if len(parts) == 4 and parts[:2] == ["", "6"]:
            salt = base64.b64decode(parts[2], validate=True)
            want = base64.b64decode(parts[3], validate=True)
            got = hashlib.sha512(password.encode("utf-8") + salt).digest()
            return hmac.compare_digest(got, want)
    except (ValueError, binascii.Error):
        return False
    return False


def parse_password_file(text: str, where: str) -> dict[str, str]:
    """``username:hash`` lines (blank lines and ``#`` comments skipped) → {username: hash}."""
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        user, sep, encoded = line.partition(":")
        if not sep or not user or not encoded.startswith("$"):
            raise EnvironmentProblem(msg("aggregator.broker.bad_line", where=where, n=n))
        if user in entries:
            raise EnvironmentProblem(msg("aggregator.broker.twice", where=where, n=n,
                                         user=repr(user)))
        entries[user] = encoded
    return entries


def aggregator_password_entries(mqtt: MqttConfig) -> dict[str, str]:
    """The password file of the aggregator's listener: its own login only, hashed afresh (the
    salt is new each time; the broker only compares)."""
    password = aggregator_password(mqtt)
    if mqtt.username is None or password is None:
        raise ConfigError(msg("aggregator.broker.own_login"))
    return {check_username(mqtt.username, "aggregator username"): new_hash(password)}


def render_password_file(entries: Mapping[str, str]) -> str:
    return "".join(f"{u}:{h}\n" for u, h in sorted(entries.items()))


def aggregator_acl_text(aggregator_user: str, device_prefix: str = "") -> str:
    """The ACL of the aggregator's listener (loopback, no TLS): its own user only. That listener
    has no mount point, so it names the devices' topics with their prefix (the mount point of the
    devices' listener; aggregator.device_topics)."""
    check_username(aggregator_user, "aggregator username")
    p = check_prefix(device_prefix)
    return (
        "# Generated by 'eco-aggregator broker-config' (docs/protocol.md §3): the ACL of the\n"
        "# aggregator's loopback listener. Anything not granted here is denied.\n"
        f"user {aggregator_user}\n"
        f"topic read {on_broker(p, READINGS_FILTER)}\n"
        f"topic write {p}{RECEIPTS_FILTER}\n"
        f"topic write {p}{LOG_KEYS_TOPIC}\n"
    )


def device_acl_text(device_prefix: str = "") -> str:
    """The ACL of the devices' listener (TLS): per device by ``%u``, the username being the
    device id. Mosquitto 2.0's acl_file does not check SUBSCRIBE (every one is granted); these
    read lines decide what is *delivered*, so a foreign subscription receives nothing; the mount
    point keeps a device out of the share group (docs/pitfalls.md §5). Mosquitto 2.0.11 checks
    the topic *with* the mount point, so each line starts with ``device_prefix`` [tested]."""
    p = check_prefix(device_prefix)
    return (
        "# Generated by 'eco-aggregator broker-config' (docs/protocol.md §3): the ACL of the\n"
        "# devices' listener. Anything not granted here is denied. The username of a device is\n"
        "# its device id, and so is its client id (use_username_as_clientid).\n"
        + (f"# The listener's mount_point {p} is part of every topic checked here.\n" if p else "")
        + "# Every device (pattern lines apply to all users): its own topics only, and the log's\n"
        "# key changes (retained, signed by the log: docs/protocol.md deviation, see the README)\n"
        f"pattern write {p}{device_topic('%u', READINGS)}\n"
        f"pattern write {p}{device_topic('%u', STATUS)}\n"
        f"pattern read {p}{device_topic('%u', RECEIPTS)}\n"
        f"pattern read {p}{LOG_KEYS_TOPIC}\n"
    )


class PasswordFile:
    """The broker's password file, changed one user at a time under an exclusive lock and
    replaced atomically (readers — the broker on SIGHUP — see the old or the new file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.parent / f".{self.path.name}.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def read(self) -> dict[str, str]:
        try:
            with open(self.path, "rb") as f:
                data = f.read(_MAX_PASSWD_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise EnvironmentProblem(msg("aggregator.broker.cannot_read", path=str(self.path),
                                         reason=os_reason(e))) from e
        if len(data) > _MAX_PASSWD_BYTES:
            raise EnvironmentProblem(msg("aggregator.broker.too_large", path=str(self.path)))
        try:
            return parse_password_file(data.decode("utf-8"), str(self.path))
        except UnicodeDecodeError as e:
            raise EnvironmentProblem(msg("aggregator.broker.not_utf8", path=str(self.path))) \
                from e

    def _write(self, entries: Mapping[str, str]) -> None:
        # keep the mode and group an operator gave the file (e.g. 0640 root:mosquitto)
        try:
            st = self.path.stat()
            mode, gid = st.st_mode & 0o770, st.st_gid
        except FileNotFoundError:
            mode, gid = 0o600, -1
        try:
            atomic_write(self.path, render_password_file(entries).encode("utf-8"), mode)
            if gid != -1 and gid != os.stat(self.path).st_gid:
                with contextlib.suppress(PermissionError):
                    os.chown(self.path, -1, gid)
        except OSError as e:
            raise EnvironmentProblem(msg("aggregator.broker.cannot_write", path=str(self.path),
                                         reason=os_reason(e))) from e

    def replace(self, entries: Mapping[str, str]) -> None:
        """Write exactly these ``{username: hash}`` entries (a copy of another file)."""
        for u in entries:
            check_username(u)
        with self._locked():
            self._write(entries)

    def set(self, username: str, password: str) -> None:
        """Add ``username`` or replace its password."""
        check_username(username)
        with self._locked():
            entries = self.read()
            entries[username] = new_hash(password)
            self._write(entries)
        log.info("broker password file %s: login for %s set", self.path, username)

    def ensure(self, username: str, password: str) -> bool:
        """Set the password unless the file already holds it; True if the file changed."""
        with self._locked():
            entries = self.read()
            if username in entries and password_matches(entries[username], password):
                return False
            entries[check_username(username)] = new_hash(password)
            self._write(entries)
        log.info("broker password file %s: login for %s set", self.path, username)
        return True

    def remove(self, username: str) -> bool:
        """Remove ``username``; False if it was not there."""
        with self._locked():
            entries = self.read()
            if entries.pop(username, None) is None:
                return False
            self._write(entries)
        log.info("broker password file %s: login for %s removed", self.path, username)
        return True

    def users(self) -> list[str]:
        return sorted(self.read())


SYSTEMD_HINT: Final = ("run 'systemctl reload mosquitto' (or send the broker SIGHUP) so it "
                       "loads the new password file")


def reload_broker(pid_file: Path | None) -> str:
    """Send SIGHUP to the Mosquitto named by ``pid_file``; say what happened (for the JSON)."""
    if pid_file is None:
        return f"not signalled: {SYSTEMD_HINT}"
    try:
        pid = int(pid_file.read_text("ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return f"not signalled: no broker pid in {pid_file} (broker not running?); {SYSTEMD_HINT}"
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        comm = ""
    if comm != "mosquitto":  # a stale pid file must not make us signal an unrelated process
        return f"not signalled: pid {pid} from {pid_file} is not a running mosquitto"
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return f"not signalled: mosquitto pid {pid} has exited"
    except PermissionError:
        return f"not signalled: no permission to signal mosquitto pid {pid}; {SYSTEMD_HINT}"
    log.info("sent SIGHUP to mosquitto pid %d to reload its password file", pid)
    return f"reloaded: SIGHUP sent to mosquitto pid {pid}"


def read_secret(path: Path, what: str) -> str:
    """The first line of a secret file (mode 0600 enforced, content never in an error)."""
    try:
        st = path.stat()
        text = path.read_text("utf-8")
    except FileNotFoundError as e:
        raise ConfigError(msg("aggregator.secret.missing", what=what, path=str(path))) from e
    except (OSError, UnicodeDecodeError) as e:
        raise EnvironmentProblem(msg("aggregator.secret.unreadable", what=what, path=str(path),
                                     error=type(e).__name__)) from e
    if st.st_mode & 0o077:
        raise EnvironmentProblem(msg("aggregator.secret.readable_by_others", what=what,
                                     path=str(path), mode=f"{st.st_mode & 0o777:o}"))
    secret = text.split("\n", 1)[0].strip()
    if not secret:
        raise ConfigError(msg("aggregator.secret.empty", what=what, path=str(path)))
    return secret


def aggregator_password(mqtt: MqttConfig) -> str | None:
    """The aggregator's own broker password: inline, from its file, or None (anonymous)."""
    if mqtt.password is not None:
        return mqtt.password
    if mqtt.password_file is not None:
        return read_secret(mqtt.password_file, "[mqtt] password_file")
    return None


def ensure_aggregator_login(mqtt: MqttConfig) -> bool:
    """Create the aggregator's password file if it is configured but missing, and make sure the
    broker's password file holds its hash. Returns True if the password file was created."""
    if mqtt.username is None:
        return False
    created = False
    if mqtt.password is None and mqtt.password_file is not None \
            and not mqtt.password_file.exists():
        atomic_write(mqtt.password_file, (new_password() + "\n").encode("ascii"), 0o600)
        created = True
        log.info("created the aggregator's broker password file %s", mqtt.password_file)
    password = aggregator_password(mqtt)
    if password is not None:
        PasswordFile(mqtt.broker_passwd_file).ensure(mqtt.username, password)
    return created
