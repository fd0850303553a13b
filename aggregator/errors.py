"""The aggregator's exception hierarchy.

Two families, as in python-tuf (``RepositoryError`` apart from ``DownloadError``) and as in
:mod:`eco_protocol.errors`, whose two families these mirror on the aggregator's side:

* **untrusted input is wrong** — :class:`Rejected` (a reading, a request, an operator's flag);
  the protocol's counterpart is :class:`eco_protocol.errors.InvalidInput`. Refuse it, never retry;
* **the environment failed** — :class:`EnvironmentProblem` (store, broker, files); the protocol's
  counterpart is :class:`eco_protocol.errors.EnvironmentProblem`. Fix it, or retry.

The aggregator's code calls the protocol package, so both trees reach its callers; they treat a
family alike whichever package raised it (the CLI prints either environment error as one line
with what to do, exit 1). Beside the two families: :class:`ConfigError` (the operator's
configuration) and :class:`LogMisbehaviour` (a log that signed a fork). The CLI catches
:class:`AggregatorError` and :class:`eco_protocol.errors.ProtocolError` once, in ``main``.
"""

from __future__ import annotations

from eco_protocol.messages import Localized


class AggregatorError(Localized):
    """Base of every aggregator error. One that an operator reads is raised with a message of
    :mod:`aggregator.messages_catalog` (``Rejected(msg("aggregator.…", …))``): its ``str()`` is
    English, and ``eco-aggregator`` prints it in Japanese or English."""


class Rejected(AggregatorError):
    """Input from a device or an operator is invalid; it is refused with this message."""


class ApiError(Rejected):
    """A request the read API (:mod:`aggregator.http_api`) refuses: HTTP ``status``, a message,
    and the parameter at fault. Every error answer of the API has this shape."""

    def __init__(self, status: int, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


class EnvironmentProblem(AggregatorError):
    """The store, the broker or a file is unavailable or damaged."""


class StoreCorrupt(EnvironmentProblem):
    """The ledger store fails an integrity check; the message names the entry or hash."""


class KeyChanged(EnvironmentProblem):
    """Another process changed the log key (``log-key rotate``): nothing is damaged, but this
    process holds the old key and must restart to load the new one."""


class ConfigError(AggregatorError):
    """The configuration is missing or wrong; the message names the key."""


class LogMisbehaviour(AggregatorError):
    """A witness saw the log sign two checkpoints that cannot both hold (a fork); the message
    says where both signed checkpoints are kept as evidence."""


class Inconsistent(LogMisbehaviour):
    """The fork as :func:`aggregator.witness.verify_step` finds it: the new checkpoint cannot
    extend the trusted one. It carries the proof; :func:`aggregator.witness.witness_once` keeps
    both checkpoints as evidence and raises a :class:`LogMisbehaviour` that says where."""

    def __init__(self, reason: str, proof: tuple[bytes, ...] = (),
                 old_root_in_new_tree: bytes | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.proof = proof
        self.old_root_in_new_tree = old_root_in_new_tree
