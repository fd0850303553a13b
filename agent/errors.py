"""One exception hierarchy for the agent; every message says what to do next."""

from __future__ import annotations


class AgentError(Exception):
    """Base of everything the agent raises on purpose."""


class ConfigError(AgentError):
    """The configuration file is missing, malformed or inconsistent."""


class MeterError(AgentError):
    """A meter could not be read (timeout, bad CRC, exception response, unexpected layout).

    The message names the meter, the port and what went wrong; the reading cycle records the
    failure and carries on with the other meters.
    """


class StateCorrupt(AgentError):
    """Durable state (outbox or state file) failed its integrity check; nothing was overwritten."""


class DeviceKeyLost(AgentError):
    """The device key is missing on a box whose outbox or state file shows it signed before:
    restore the key from backup, or have the municipality rekey the device."""
