"""The simulators' own errors: what a simulated device refuses from the agent under test.

Apart from :mod:`agent.errors` on purpose: a simulator stands on the other side of the wire and
must not share the agent's error types, or a test could pass because both sides agree on a
mistake. Untrusted input (a malformed frame from the client) is :class:`SimInputError`.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of everything a simulator raises on purpose."""


class SimInputError(SimulatorError):
    """Bytes from the client under test are not a usable request."""


class FrameError(SimInputError):
    """A frame is malformed: too short, bad CRC, wrong length or fields out of range."""
