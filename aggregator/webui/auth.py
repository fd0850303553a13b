"""Who may use the web UI: operator and shop accounts, household login codes, CSRF tokens.

* Passwords are hashed with scrypt (RFC 7914, :func:`hashlib.scrypt`), N = 2^15, r = 8, p = 1,
  a 16-byte random salt, 32-byte key, stored as ``scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>``
  so the cost can be raised later without breaking stored hashes. Compared in constant time.
* A household's login code is 16 random symbols of Crockford's base32 (80 bits), shown once.
  A random code of that length needs no slow KDF (nobody can guess 2^80), so only its SHA-256 is
  stored, keyed by that digest: a login finds its household with one lookup, and a leaked file
  reveals no code. Issuing a new code replaces the old one (and ends the old one's sessions).
* Files live in ``<state_dir>/ui/`` (mode 0700): ``users.json`` and ``residents.json`` (0600,
  written atomically), ``session.key`` (0600, the cookie-signing secret).
* CSRF: every session carries a random token; every form posts it back and every POST handler
  compares it (:func:`csrf_ok`) before doing anything.

Time and randomness come in as arguments where tests need them; file access is in the two
small store classes.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eco_protocol.keyfile import atomic_write

from ..errors import ConfigError, Rejected

SCRYPT_LOG_N = 15
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 128 * 1024 * 1024
MIN_PASSWORD = 10
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_SYMBOLS = 16


class Role(enum.StrEnum):
    OPERATOR = "operator"  # everything
    SHOP = "shop"  # a participating shop: redeem points for a household that shows its QR code


# --- passwords -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None, log_n: int | None = None) -> str:
    """``log_n`` defaults to :data:`SCRYPT_LOG_N`, read at each call (the test suite lowers it
    for accounts it makes by the hundred; the cost is stored in the hash, so checking a
    password is the same code either way)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    log_n = SCRYPT_LOG_N if log_n is None else log_n
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=1 << log_n, r=SCRYPT_R,
                         p=SCRYPT_P, maxmem=SCRYPT_MAXMEM, dklen=32)
    return f"scrypt${log_n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored``; a malformed ``stored`` never matches."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        log_n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5],
                                                                              validate=True)
        if not (1 <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 4 and len(key) >= 16):
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=1 << log_n, r=r, p=p,
                             maxmem=SCRYPT_MAXMEM, dklen=len(key))
    except ValueError:
        return False
    return hmac.compare_digest(got, key)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    if password.strip() != password:
        return "the password must not start or end with white space"
    return None


def hash_tag(stored_hash: str) -> str:
    """A short fingerprint of a stored hash, kept in the session: a changed password (or a
    removed account) ends every session made with the old one."""
    return hashlib.sha256(stored_hash.encode("ascii")).hexdigest()[:16]


# --- accounts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    password_hash: str

    @property
    def tag(self) -> str:
        return hash_tag(self.password_hash)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e}") from e
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(obj, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return obj


def _write_json(path: Path, obj: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    atomic_write(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode("utf-8"),
                 0o600)


class UserStore:
    """``users.json``: ``{"users": {name: {"role", "hash"}}}``. Re-read on every use, so
    ``eco-aggregator ui-user`` takes effect in a running UI at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._dummy: str | None = None  # hashed on first use: unknown names cost the same

    def users(self) -> dict[str, User]:
        raw = _read_json(self.path).get("users", {})
        out = {}
        if isinstance(raw, dict):
            for name, u in raw.items():
                if isinstance(u, dict) and isinstance(u.get("hash"), str):
                    try:
                        out[name] = User(name, Role(u.get("role", "operator")), u["hash"])
                    except ValueError:
                        continue
        return out

    def get(self, name: str) -> User | None:
        return self.users().get(name)

    def add(self, name: str, password: str, role: Role = Role.OPERATOR) -> User:
        """Create or replace an account (a replaced password ends its old sessions)."""
        if not NAME_RE.fullmatch(name):
            raise Rejected(f"user name {name!r}: use 1-32 lowercase letters, digits, '.', '_' "
                           "or '-', starting with a letter or digit")
        problem = password_problem(password)
        if problem:
            raise Rejected(problem)
        user = User(name, role, hash_password(password))
        with self._lock:
            doc = _read_json(self.path)
            users = doc.setdefault("users", {})
            users[name] = {"role": role.value, "hash": user.password_hash}
            _write_json(self.path, doc)
        return user

    def remove(self, name: str) -> bool:
        with self._lock:
            doc = _read_json(self.path)
            users = doc.get("users", {})
            if name not in users:
                return False
            del users[name]
            _write_json(self.path, doc)
        return True

    def check(self, name: str, password: str) -> User | None:
        """The user if the password matches; the same work is done for unknown names."""
        user = self.get(name)
        if user is None and self._dummy is None:
            self._dummy = hash_password("not a password", b"\0" * 16)
        ok = verify_password(password, user.password_hash if user else self._dummy or "")
        return user if ok and user is not None else None


# --- household login codes --------------------------------------------------------------------


def new_code() -> str:
    """``7KQ2-M9XD-4HBT-WRPA``: 16 Crockford base32 symbols, 80 random bits."""
    s = "".join(secrets.choice(CROCKFORD) for _ in range(CODE_SYMBOLS))
    return "-".join(s[i:i + 4] for i in range(0, CODE_SYMBOLS, 4))


def normalise_code(text: str) -> str | None:
    """What a person typed, as the canonical symbols (case, dashes, spaces, O/0, I/L/1
    forgiven); None if it cannot be a code."""
    s = re.sub(r"[\s-]", "", text.upper()).translate(str.maketrans("OIL", "011"))
    if len(s) != CODE_SYMBOLS or any(c not in CROCKFORD for c in s):
        return None
    return s


def code_digest(code: str) -> str | None:
    s = normalise_code(code)
    return None if s is None else hashlib.sha256(b"eco-resident-code/v1\n" + s.encode()).hexdigest()


class ResidentCodes:
    """``residents.json``: ``{"codes": {sha256: pseudonym}}``; one live code per household."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _codes(self) -> dict[str, str]:
        raw = _read_json(self.path).get("codes", {})
        return {k: v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw,
                                                                                  dict) else {}

    def issue(self, household: str) -> str:
        code = new_code()
        digest = code_digest(code)
        assert digest is not None
        with self._lock:
            codes = {d: h for d, h in self._codes().items() if h != household}
            codes[digest] = household
            _write_json(self.path, {"codes": codes})
        return code

    def has_code(self, household: str) -> bool:
        return household in self._codes().values()

    def lookup(self, code: str) -> tuple[str, str] | None:
        """(household pseudonym, code digest) for a valid code."""
        digest = code_digest(code)
        if digest is None:
            return None
        household = self._codes().get(digest)
        return None if household is None else (household, digest)

    def current(self, digest: str) -> str | None:
        """The household a stored digest still belongs to (None once the code was replaced)."""
        return self._codes().get(digest)


# --- sessions: CSRF (the login throttle is throttle.py) -----------------------------------------


def csrf_token(session: MutableMapping[str, Any]) -> str:
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: Mapping[str, Any], submitted: object) -> bool:
    token = session.get("csrf")
    return (isinstance(token, str) and isinstance(submitted, str) and len(token) >= 32
            and hmac.compare_digest(token.encode(), submitted.encode()))


def load_or_create_secret(path: Path) -> bytes:
    """The cookie-signing secret (32 random bytes, hex, mode 0600), created on first use."""
    try:
        text = path.read_text("ascii").strip()
        if len(text) >= 64:
            return bytes.fromhex(text)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read the session secret: {e}") from e
    secret = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    atomic_write(path, secret.hex().encode() + b"\n", 0o600)
    return secret


def ui_dir(state_dir: Path) -> Path:
    return state_dir / "ui"


__all__ = ["CROCKFORD", "ResidentCodes", "Role", "User", "UserStore", "code_digest",
           "csrf_ok", "csrf_token", "hash_password", "hash_tag", "load_or_create_secret",
           "new_code", "normalise_code", "password_problem", "ui_dir", "verify_password"]
