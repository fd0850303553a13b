"""Key files: the only I/O in the protocol package, shared by agent, aggregator and witness.

A private key file holds the 32-byte Ed25519 seed as base64 on one line, mode 0600, written
atomically (temp file, fsync, rename, fsync the directory) so a power cut never leaves a torn or
world-readable key. The key itself is never logged.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .encoding import b64decode, b64encode
from .errors import EnvironmentProblem, MalformedRecord
from .keys import Ed25519PrivateKey, generate_private_key, private_key_from_raw, private_key_raw
from .messages import msg
from .os_messages import os_reason


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new file ``.<name>.<random>.tmp`` beside ``path``, created exclusively with mode 0600
    (as :func:`tempfile.mkstemp` does; that module and the ``shutil``, ``bz2``, ``lzma`` and
    ``random`` it imports cost the agent ~0.8 MB of RSS, issue 16)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(path)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (the directory entry, not the data)."""
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    atomic_write(path, (b64encode(private_key_raw(key)) + "\n").encode("ascii"), 0o600)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        st = path.stat()
        text = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise EnvironmentProblem.coded(
            "eco_protocol.keyfile.unreadable", path=path,
            reason=msg("eco_protocol.keyfile.not_text") if isinstance(e, UnicodeDecodeError)
            else os_reason(e)) from e
    if st.st_mode & 0o077:
        raise EnvironmentProblem.coded("eco_protocol.keyfile.readable_by_others", path=path,
                                       mode=f"{st.st_mode & 0o777:o}")
    try:
        return private_key_from_raw(b64decode(text, f"key file {path}"))
    except MalformedRecord as e:
        raise EnvironmentProblem.coded("eco_protocol.keyfile.damaged", path=path,
                                       error=str(e)) from e


def load_or_create_private_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """Load the key at ``path``, creating it on first run. Returns (key, created)."""
    if path.exists():
        return load_private_key(path), False
    key = generate_private_key()
    save_private_key(path, key)
    return key, True
