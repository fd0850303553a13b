"""One exception hierarchy for the agent; every message says what to do next.

Two families under :class:`MeterError`, in the spirit of python-tuf's split between
``RepositoryError`` (the untrusted data is bad) and ``DownloadError`` (the transport failed):

* :class:`MeterDataError` — bytes a meter, dongle or broker sent that cannot be used: a
  malformed frame, a bad CRC, a payload that does not parse, a register outside its range;
* :class:`MeterUnavailable` — the environment: the device is absent, silent, offline or refuses
  (timeout, ``FAIL ERxx``, an exception response, a lost session).

Each protocol keeps its own base (``RtuError``, ``SkStackError``, …) so an ``except`` can catch
one protocol's errors; every concrete class is also in one of the two families.
"""

from __future__ import annotations

from eco_protocol.messages import Localized


class AgentError(Localized):
    """Base of everything the agent raises on purpose. The errors an installer reads are
    raised with ``.coded(code, …)`` or ``.of(message)`` (:mod:`agent.messages_catalog`), so
    ``eco-agent`` prints them in Japanese or English."""


class ConfigError(AgentError):
    """The configuration file is missing, malformed or inconsistent."""


class MeterError(AgentError):
    """A meter could not be read (timeout, bad CRC, exception response, unexpected layout).

    The message names the meter, the port and what went wrong; the reading cycle records the
    failure and carries on with the other meters. The codecs' and clients' errors below are
    wrapped into a plain :class:`MeterError` naming the meter by the reader that catches them.
    """


class MeterDataError(MeterError):
    """Untrusted input from a meter is unusable: malformed frame, bad CRC, bad payload."""


class MeterUnavailable(MeterError):
    """The meter or its link did not give an answer: absent, silent, offline, refused."""


class StateCorrupt(AgentError):
    """Durable state (outbox or state file) failed its integrity check; nothing was overwritten."""


class DeviceKeyLost(AgentError):
    """The device key is missing on a box whose outbox or state file shows it signed before:
    restore the key from backup, or have the municipality rekey the device."""
