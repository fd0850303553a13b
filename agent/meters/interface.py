"""What every meter reader gives the interval builder: a register snapshot with an identity.

A reader does I/O only; turning snapshots into readings is the pure interval builder's job, so
one set of rollover/reset rules covers every protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """Who the meter says it is; goes into ``source`` of every signed reading."""

    protocol: str  # e.g. "sunspec-modbus"
    manufacturer: str
    model: str
    serial: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One read of a cumulative energy register.

    ``register_wh`` is the lifetime register already scaled to integer Wh. ``wrap_wh`` is the
    value at which the register rolls over to 0 (None if the protocol has no meaningful wrap).
    """

    meter_id: str
    register_wh: int
    identity: MeterIdentity
    power_w: int | None = None
    wrap_wh: int | None = None
    # the protocol's raw values the register was computed from, e.g. (("E0", 65139), ("E1", 1)),
    # for ``eco-agent probe``; never used for readings
    raw: tuple[tuple[str, int | str | None], ...] = ()


class Meter(Protocol):
    """A configured meter. ``read`` raises :class:`agent.errors.MeterError` on any failure."""

    meter_id: str

    def read(self) -> Snapshot: ...

    def close(self) -> None: ...


@runtime_checkable
class EnergyRegisterMeter(Meter, Protocol):
    """A meter that can also read its energy register alone (the runner's polls between
    interval boundaries, issue 16).

    ``read_energy`` returns a snapshot whose ``identity`` is the one the last :meth:`read`
    found (it does not read the identity again), or makes a full :meth:`read` when there was
    none since the reader was opened or failed. The runner reads the identity at least once per
    interval, at the first poll after each boundary, and again when the register goes back."""

    def read_energy(self) -> Snapshot: ...
