"""``eco-agent provision``: take the enrolment's hand-over into the agent's config file.

After enrolling a device, the municipality's web UI prints one page for the installer: a small
TOML snippet (also as a QR code, which a phone's scanner turns back into the same text) with
what the box needs to talk to the aggregator and no more::

    [device]
    log_key = "eco-ledger.example+1a2b3c4d+…"   # the log's verifier key, pinned by the agent
    [uplink]
    broker = "mqtts://broker.example.lg.jp:8883"  # the devices' listener
    username = "<device id>"
    password = "…"                                # only on the page printed at enrolment

:func:`parse_snippet` reads and checks it (unknown keys refused, like the config itself);
:func:`merge` sets those keys in the config text, keeping every comment and other setting of the
file ``eco-agent init`` wrote (a missing file starts from that same example); :func:`provision`
adds the checks that need the box — a different log key already pinned in the file, a device key
of another device — and writes the file atomically with mode 0600, since it now holds a
password. Pure functions over text, except :func:`provision`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from eco_protocol.errors import EnvironmentProblem, NoteError, ProtocolError
from eco_protocol.keyfile import atomic_write, load_private_key
from eco_protocol.keys import device_id_of, public_key_raw
from eco_protocol.messages import text as message_text
from eco_protocol.note import parse_verifier_key
from eco_protocol.os_messages import os_reason, toml_error
from eco_runtime.broker_url import BrokerURLError, parse_broker_url
from eco_runtime.toml_section import toml_string

from .config import example_config, parse_config_text
from .errors import ConfigError

SNIPPET_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "device": frozenset({"log_key"}),
    "uplink": frozenset({"broker", "username", "password"}),
}
MAX_SNIPPET_BYTES: Final = 4096
_DEVICE_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
_HEADER_RE: Final = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")


@dataclass(frozen=True, slots=True)
class Provisioning:
    """What the enrol result hands the installer; ``password`` is None when the page was printed
    again later (the aggregator keeps only the password's hash)."""

    log_key: str
    broker: str
    username: str
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            parse_verifier_key(self.log_key)
        except (NoteError, ProtocolError, ValueError) as e:
            raise ConfigError.coded("agent.provision.bad_log_key", error=e) from e
        try:
            parse_broker_url(self.broker)
        except BrokerURLError as e:
            raise ConfigError.coded("agent.provision.bad_broker", error=str(e)) from e
        if not _DEVICE_ID_RE.fullmatch(self.username):
            raise ConfigError.coded("agent.provision.bad_username")
        if self.password is not None and not self.password:
            raise ConfigError.coded("agent.provision.empty_password")


def parse_snippet(text: str) -> Provisioning:
    """The snippet as the enrol page (or a QR scanner) gives it; ConfigError if it is not."""
    if len(text.encode("utf-8")) > MAX_SNIPPET_BYTES:
        raise ConfigError.coded("agent.provision.too_long", n=MAX_SNIPPET_BYTES)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError.coded("agent.provision.not_toml", error=toml_error(e)) from e
    unknown = sorted(set(doc) - set(SNIPPET_KEYS))
    if unknown:
        raise ConfigError.coded("agent.provision.unknown_sections", sections=unknown)
    values: dict[str, Any] = {}
    for section, keys in SNIPPET_KEYS.items():
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError.coded("agent.provision.not_table", section=section)
        extra = sorted(set(table) - keys)
        if extra:
            raise ConfigError.coded("agent.provision.unknown_keys", section=section, keys=extra)
        for key in keys:
            v = table.get(key)
            if v is not None and not isinstance(v, str):
                raise ConfigError.coded("agent.provision.not_string", section=section, key=key)
            values[key] = v
    for section, key in (("device", "log_key"), ("uplink", "broker"), ("uplink", "username")):
        if not values[key]:
            raise ConfigError.coded("agent.provision.missing_key", section=section, key=key)
    return Provisioning(values["log_key"], values["broker"], values["username"],
                        values["password"])


def _set_key(lines: list[str], section: str, key: str, value: str) -> None:
    """Set ``key = value`` in ``[section]``: replace the key's line, else its commented-out
    example (``# key = …``), else add it under the header; add the section if it is missing."""
    line = f"{key} = {toml_string(value)}"
    start = next((i for i, text in enumerate(lines)
                  if (m := _HEADER_RE.match(text)) and m.group(1) == "[" and m.group(2) == section),
                 None)
    if start is None:
        lines.extend(["", f"[{section}]", line])
        return
    end = next((i for i in range(start + 1, len(lines)) if _HEADER_RE.match(lines[i])),
               len(lines))
    for pattern in (rf"^\s*{key}\s*=", rf"^\s*#\s*{key}\s*="):
        for i in range(start + 1, end):
            if re.match(pattern, lines[i]):
                lines[i] = line
                return
    lines.insert(start + 1, line)


def merge(config_text: str, p: Provisioning) -> str:
    """``config_text`` with the snippet's keys set (a password only if the snippet has one),
    every other line as it was."""
    lines = config_text.splitlines()
    _set_key(lines, "device", "log_key", p.log_key)
    _set_key(lines, "uplink", "broker", p.broker)
    _set_key(lines, "uplink", "username", p.username)
    if p.password is not None:
        _set_key(lines, "uplink", "password", p.password)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What :func:`provision` did: the file, whether it was new, whether it has a password."""

    path: Path
    created: bool
    has_password: bool
    key_exists: bool


def provision(path: Path, snippet: str, *, force: bool = False) -> Provisioned:
    """Merge ``snippet`` into the config file at ``path`` (the example of ``eco-agent init``
    when there is none) and write it atomically, mode 0600. Refused (ConfigError, nothing
    written): a bad snippet; a file pinning another log key, unless ``force``; a box whose
    device key belongs to another device than the snippet's; a result that does not load."""
    p = parse_snippet(snippet)
    created = not path.exists()
    try:
        text = example_config() if created else path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError.coded("agent.config.cannot_read", path=path, reason=os_reason(e)) from e
    if not created:
        try:
            old = tomllib.loads(text).get("device", {}).get("log_key") or ""
        except tomllib.TOMLDecodeError as e:
            raise ConfigError.coded("agent.provision.config_not_toml", path=path,
                                    error=str(e)) from e
        if old and old != p.log_key and not force:
            raise ConfigError.coded("agent.provision.other_log_key", path=path, old=old,
                                    new=p.log_key)
    merged = merge(text, p)
    resolved = path.resolve()
    config = parse_config_text(merged, resolved)  # its ConfigError names the key
    if (config.device.log_key, config.uplink.broker, config.uplink.username) != \
            (p.log_key, p.broker, p.username) or \
            (p.password is not None and config.uplink.password != p.password):
        raise ConfigError.coded("agent.provision.unusual_layout", path=path)
    key_exists = config.device.key_path.exists()
    if key_exists:
        try:
            own = device_id_of(public_key_raw(load_private_key(config.device.key_path)))
        except (EnvironmentProblem, ProtocolError, OSError) as e:
            raise ConfigError.coded("agent.provision.unreadable_key",
                                    path=config.device.key_path, error=e) from e
        if own != p.username:
            raise ConfigError.coded("agent.provision.other_device", device=p.username,
                                    path=config.device.key_path, own=own)
    try:
        atomic_write(path, merged.encode("utf-8"), 0o600)
    except OSError as e:
        raise ConfigError.coded("agent.provision.cannot_write", path=path,
                                reason=os_reason(e)) from e
    return Provisioned(path, created, config.uplink.password is not None, key_exists)


def next_steps(done: Provisioned, lang: str = "en") -> str:
    """What the installer does next, after :func:`provision`, in ``lang``."""
    path = done.path
    steps = [message_text("agent.provision.wrote_new" if done.created
                          else "agent.provision.wrote", lang, path=path)]
    if not done.has_password:
        steps.append(message_text("agent.provision.no_password", lang))
    if not done.key_exists:
        steps.append(message_text("agent.provision.no_key", lang))
    steps.append(message_text("agent.provision.then", lang, path=path))
    return "\n".join(steps)


__all__ = ["MAX_SNIPPET_BYTES", "SNIPPET_KEYS", "Provisioned", "Provisioning", "merge",
           "next_steps", "parse_snippet", "provision"]
