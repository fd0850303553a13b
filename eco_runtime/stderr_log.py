"""Logging to standard error for the agent's and the aggregator's commands, set up in one place.

The handler writes to ``sys.stderr`` as it is when a record is emitted, not as it was when the
command started (what ``logging``'s own last-resort handler does too): a background thread of an
earlier command in the same process — the tests run many in one — must never write to a stream
that has since been closed, which ``logging`` reports as "--- Logging error ---" on whatever
stderr is current.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler whose stream is always the current ``sys.stderr``."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """StreamHandler assigns its stream; the current stderr is always used instead."""


def log_to_stderr(level: int) -> None:
    """Replace the root logger's handlers by one :class:`CurrentStderr` at ``level``."""
    logging.basicConfig(level=level, handlers=[CurrentStderr()], format=FORMAT, force=True)


__all__ = ["FORMAT", "CurrentStderr", "log_to_stderr"]
