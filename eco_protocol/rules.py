"""What lets a reading enter the log (docs/protocol.md §3 and §4), as pure functions.

Only the device's chain decides that (seq and prev); whether a logged reading may *credit* is
:mod:`creditability`'s business. The aggregator applies these on ingest; the auditor and the
buyer's verifier apply the very same functions when they replay the log, so "accepted" means the
same thing to every party. Each violation carries a stable ``code`` (the part of a receipt's
reason before the colon).
"""

from __future__ import annotations

from .errors import InvalidInput
from .records import Reading


class RuleViolation(InvalidInput):
    """A reading breaks a rule. ``code`` is machine-readable; the message is for people."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        """``params``: the message's values, for its text in the reader's language
        (``eco_protocol.finding.chain.<code>``, whose English is ``code: message``)."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = message
        if params:
            self.message_code = f"eco_protocol.finding.chain.{code}"
            self.message_params = dict(params)

    def __reduce__(self) -> tuple[object, ...]:
        """Rebuilt from its own arguments (the default passes ``str(self)`` alone): a finding
        may cross a worker process and must arrive as the same finding."""
        params = getattr(self, "message_params", {})
        return (_rebuild_violation, (self.code, self.detail, params))


def _rebuild_violation(code: str, detail: str, params: dict[str, object]) -> RuleViolation:
    return RuleViolation(code, detail, **params)


def check_chain(reading: Reading, expected_seq: int, expected_prev: str) -> None:
    """Sequence and ``prev`` chain: seq must be the next one and prev the hash of the last."""
    if reading.seq != expected_seq:
        raise RuleViolation("gap" if reading.seq > expected_seq else "stale_seq",
                            f"expected {expected_seq}", want=expected_seq)
    if reading.prev != expected_prev:
        raise RuleViolation("bad_prev", f"prev does not match seq {reading.seq - 1} "
                                        "already in the ledger (device history forked)",
                            seq=reading.seq - 1)
