"""The aggregator's exception hierarchy.

Rejected input (a reading or request that is wrong) is :class:`Rejected`; trouble with the
environment (store, broker, files) is :class:`EnvironmentProblem`. The CLI catches
:class:`AggregatorError` once and prints what to do next.
"""

from __future__ import annotations


class AggregatorError(Exception):
    """Base of every aggregator error."""


class Rejected(AggregatorError):
    """Input from a device or an operator is invalid; it is refused with this message."""


class EnvironmentProblem(AggregatorError):
    """The store, the broker or a file is unavailable or damaged."""


class StoreCorrupt(EnvironmentProblem):
    """The ledger store fails an integrity check; the message names the entry or hash."""


class ConfigError(AggregatorError):
    """The configuration is missing or wrong; the message names the key."""


class LogMisbehaviour(AggregatorError):
    """A witness saw the log sign two checkpoints that cannot both hold (a fork); the message
    says where both signed checkpoints are kept as evidence."""
