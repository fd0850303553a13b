"""The outbox's sent mark, ``<outbox>-sent``: the highest seq (and hash) ever handed to the
network, kept apart from the database so that an outbox rolled back by a damaged write-ahead log
is caught before it signs those seq numbers again (module docstring of :mod:`agent.outbox`).

The slot encoding (:func:`sent_record`, :func:`parse_sent`) is pure; :class:`SentMark` reads and
writes the file.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Final

from eco_protocol.keyfile import fsync_dir
from eco_protocol.messages import msg
from eco_protocol.os_messages import os_reason

from .errors import AgentError

SENT_SLOT: Final = 128


def sent_record(seq: int, sha: str) -> bytes:
    """One slot's bytes: seq, hash and their CRC-32, NUL-padded to :data:`SENT_SLOT`."""
    text = f"{seq:012d} {sha}"
    return f"{text} {zlib.crc32(text.encode()):08x}\n".encode().ljust(SENT_SLOT, b"\0")


def parse_sent(raw: bytes) -> tuple[int, str] | None:
    """(seq, hash) from one slot's bytes; None for an empty, torn or garbled slot."""
    parts = raw.rstrip(b"\0").decode("ascii", "replace").split()
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[1]) != 64:
        return None
    text = f"{parts[0]} {parts[1]}"
    if f"{zlib.crc32(text.encode()):08x}" != parts[2]:
        return None  # a torn slot: the other one holds the previous mark
    return int(parts[0]), parts[1]


class SentMark:
    """``<outbox>-sent``: the highest seq (and hash) ever handed to the network.

    Two fixed 128-byte slots, each a checksummed record, written alternately in place with
    ``pwrite`` + ``fsync``: a torn write spoils only the slot being written (the other keeps the
    previous, lower mark), and overwriting allocated bytes needs no free space."""

    def __init__(self, path: Path, fd: int | None, seq: int, sha: str, slot: int) -> None:
        self.path = path
        self._fd = fd
        self.seq = seq
        self.sha = sha
        self._slot = slot  # the slot holding the current mark

    @classmethod
    def open(cls, path: Path, *, readonly: bool) -> SentMark:
        try:
            if readonly:
                try:
                    raw = path.read_bytes()
                except FileNotFoundError:
                    return cls(path, None, 0, "", 1)
                fd = None
            else:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                if os.fstat(fd).st_size < 2 * SENT_SLOT:
                    os.pwrite(fd, bytes(2 * SENT_SLOT), 0)
                    os.fsync(fd)
                    fsync_dir(path.parent)
                raw = os.pread(fd, 2 * SENT_SLOT, 0)
        except OSError as e:
            raise AgentError(msg("agent.outbox.sent_open", path=path, reason=os_reason(e),
                                 parent=path.parent)) from e
        marks = [parse_sent(raw[i * SENT_SLOT:(i + 1) * SENT_SLOT]) for i in range(2)]
        best = max(((m, i) for i, m in enumerate(marks) if m is not None),
                   key=lambda x: x[0][0], default=None)
        if best is None:
            return cls(path, fd, 0, "", 1)
        (seq, sha), slot = best
        return cls(path, fd, seq, sha, slot)

    def advance(self, seq: int, sha: str) -> None:
        """Record that reading ``seq`` (hash ``sha``) is about to be sent; durable on return."""
        if seq <= self.seq:
            return
        if self._fd is None:
            raise AgentError(f"{self.path} is open read-only")
        slot = 1 - self._slot
        try:
            os.pwrite(self._fd, sent_record(seq, sha), slot * SENT_SLOT)
            os.fsync(self._fd)
        except OSError as e:
            raise AgentError(msg("agent.outbox.sent_write", path=self.path,
                                 reason=os_reason(e))) from e
        self.seq, self.sha, self._slot = seq, sha, slot

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


__all__ = ["SENT_SLOT", "SentMark", "parse_sent", "sent_record"]
