"""Log key rotation: ``eco.logkey/v1`` announcements and the chain of keys they build.

The log key signs checkpoints, receipts, enrolments and batch reports; a municipality must be able
to replace it (a key kept too long, an operator leaving, a suspected leak) without making a single
old checkpoint or report unverifiable. So the change is itself a ledger entry:

``{"type": "eco.logkey/v1", "previous_key": <vkey>, "new_key": <vkey>, "announced_at", "reason",
"new_key_sig", "sig"}``

* ``new_key_sig``: the *new* key's Ed25519 signature over the canonical record without
  ``new_key_sig`` and ``sig`` — the new key vouches for its predecessor, so a verifier that pinned
  the new key can trust entries signed by the old one;
* ``sig``: the *old* key's signature over the record without ``sig`` (docs/protocol.md §1), so a
  verifier that pinned the old key learns the new one from the log itself.

Both keys carry the log's origin as their name (checkpoints keep their origin line), with different
key ids. An entry at index ``i`` and a checkpoint of size ``i`` are signed by the key in effect
after every change at an index below ``i``: the announcement itself still by the old key, the first
checkpoint that contains it by the new key (the log adds the old key's signature line to that one
transition checkpoint, binding the announcement's position under the old key too).

Everything here is pure: callers hand in records and indexes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .canonical import canonical_bytes
from .encoding import b64decode, b64encode
from .errors import BadSignature, MalformedRecord, NoteError
from .fields import SIG, Signed, sig_field, str_field, time_field
from .keys import Ed25519PublicKey, public_key_raw, verify_signature
from .messages import Msg, msg
from .note import NoteSigner, NoteVerifier, parse_verifier_key
from .signing import sign_record, verify_record
from .topics import LOG_KEYS_TOPIC  # re-exported: the retained topic announcing these records

LOGKEY_TYPE: Final = "eco.logkey/v1"
MAX_ANNOUNCEMENT_BYTES: Final = 256 * 1024
NEW_KEY_SIG: Final = "new_key_sig"


def _vkey(v: object, what: str) -> NoteVerifier:
    text = str_field(v, what, 512)
    try:
        return parse_verifier_key(text)
    except NoteError as e:  # say which field
        raise MalformedRecord.coded("eco_protocol.finding.field", field=what, error=e) from e


def same_key(a: NoteVerifier, b: NoteVerifier) -> bool:
    """Same name and the same Ed25519 public key (the key id follows from both)."""
    return a.name == b.name and public_key_raw(a.public_key) == public_key_raw(b.public_key)


@dataclass(frozen=True, slots=True)
class LogKeyChange(Signed):
    """``eco.logkey/v1``: from ``previous_key`` on, the log signs with ``new_key``."""

    previous_key: str
    new_key: str
    announced_at: str
    reason: str
    new_key_sig: str | None = None
    sig: str | None = None

    TYPE = LOGKEY_TYPE
    WHAT = "logkey"

    def __post_init__(self) -> None:
        old = _vkey(self.previous_key, "logkey.previous_key")
        new = _vkey(self.new_key, "logkey.new_key")
        if old.name != new.name:
            raise MalformedRecord.coded("eco_protocol.finding.key.renamed",
                                        new=repr(new.name), old=repr(old.name))
        if same_key(old, new):
            raise MalformedRecord.coded("eco_protocol.finding.key.same")
        time_field(self.announced_at, "logkey.announced_at")
        str_field(self.reason, "logkey.reason", 512)
        if self.new_key_sig is not None:
            sig_field(self.new_key_sig, "logkey.new_key")
        self.check_sig()

    @property
    def previous(self) -> NoteVerifier:
        return parse_verifier_key(self.previous_key)

    @property
    def new(self) -> NoteVerifier:
        return parse_verifier_key(self.new_key)

    @classmethod
    def from_dict(cls, d: object) -> LogKeyChange:
        m = cls.open(d, {"previous_key", "new_key", "announced_at", "reason", NEW_KEY_SIG})
        return cls(previous_key=str_field(m["previous_key"], "logkey.previous_key", 512),
                   new_key=str_field(m["new_key"], "logkey.new_key", 512),
                   announced_at=time_field(m["announced_at"], "logkey.announced_at"),
                   reason=str_field(m["reason"], "logkey.reason", 512),
                   new_key_sig=sig_field(m[NEW_KEY_SIG], "logkey.new_key"),
                   sig=sig_field(m["sig"], "logkey"))

    def body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"previous_key": self.previous_key, "new_key": self.new_key,
                             "announced_at": self.announced_at, "reason": self.reason}
        if self.new_key_sig is not None:
            d[NEW_KEY_SIG] = self.new_key_sig
        return d


def _endorsed_bytes(record: Mapping[str, Any]) -> bytes:
    return canonical_bytes({k: v for k, v in record.items() if k not in (SIG, NEW_KEY_SIG)})


def sign_log_key_change(change: LogKeyChange, old: NoteSigner, new: NoteSigner) -> dict[str, Any]:
    """The signed record: endorsed by the new key, then signed by the old one."""
    if not same_key(old.verifier, change.previous):
        raise MalformedRecord.coded("eco_protocol.finding.key.old_signer")
    if not same_key(new.verifier, change.new):
        raise MalformedRecord.coded("eco_protocol.finding.key.new_signer")
    body = {k: v for k, v in change.to_dict().items() if k not in (SIG, NEW_KEY_SIG)}
    body[NEW_KEY_SIG] = b64encode(new.private_key.sign(canonical_bytes(body)))
    return sign_record(body, old.private_key)


def verify_log_key_change(record: Mapping[str, Any], current: Ed25519PublicKey,
                          what: str | Msg = "log key change") -> LogKeyChange:
    """Parse and check both signatures; ``current`` is the key in effect before the change.

    Raises :class:`BadSignature` or :class:`MalformedRecord` naming what failed."""
    change = LogKeyChange.from_dict(record)
    if public_key_raw(change.previous.public_key) != public_key_raw(current):
        raise BadSignature.coded("eco_protocol.finding.key.not_in_effect", what=what,
                                 key=change.previous_key)
    verify_record(record, current, msg("eco_protocol.finding.key.old_sig", what=what))
    assert change.new_key_sig is not None
    verify_signature(change.new.public_key, b64decode(change.new_key_sig, f"{what}: new_key_sig"),
                     _endorsed_bytes(record), msg("eco_protocol.finding.key.new_sig", what=what))
    return change


@dataclass(frozen=True, slots=True)
class LogKeyChain:
    """The log's keys, oldest first, and the entry index of each change.

    ``key_at(n)`` is the key that signs entry ``n`` and a checkpoint of size ``n``: the key after
    every change whose announcement has an index below ``n``."""

    keys: tuple[NoteVerifier, ...]
    changed_at: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.keys) != len(self.changed_at) + 1:
            raise ValueError("a chain has one more key than changes")
        if list(self.changed_at) != sorted(set(self.changed_at)):
            raise ValueError("key changes must be at increasing entry indexes")

    @property
    def genesis(self) -> NoteVerifier:
        return self.keys[0]

    @property
    def current(self) -> NoteVerifier:
        return self.keys[-1]

    def key_at(self, n: int) -> NoteVerifier:
        k = 0
        while k < len(self.changed_at) and self.changed_at[k] < n:
            k += 1
        return self.keys[k]

    def position(self, key: NoteVerifier) -> int | None:
        for i, k in enumerate(self.keys):
            if same_key(k, key):
                return i
        return None

    def extended(self, index: int, change: LogKeyChange) -> LogKeyChain:
        return LogKeyChain((*self.keys, change.new), (*self.changed_at, index))

    def vkeys(self) -> list[str]:
        return [k.vkey for k in self.keys]


def chain_from_changes(pinned: NoteVerifier,
                       changes: Iterable[tuple[int, Mapping[str, Any]]]) -> LogKeyChain:
    """Rebuild and check the chain from announcements in index order, trusting only ``pinned``.

    Each change must be signed by the key before it and endorsed by the key after it, so the links
    hold in both directions and ``pinned`` may be any key of the chain: the genesis key (a buyer
    who pinned it years ago) or the current one (a buyer who pinned it last week). A chain that
    does not contain ``pinned`` is refused."""
    items = list(changes)
    if not items:
        return LogKeyChain((pinned,))
    first = LogKeyChange.from_dict(items[0][1])
    chain = LogKeyChain((first.previous,))
    for index, record in items:
        change = verify_log_key_change(record, chain.current.public_key,
                                       msg("eco_protocol.finding.key.change_at", index=index))
        if chain.changed_at and index <= chain.changed_at[-1]:
            raise MalformedRecord.coded("eco_protocol.finding.key.out_of_order", index=index)
        chain = chain.extended(index, change)
    if chain.position(pinned) is None:
        raise BadSignature.coded("eco_protocol.finding.key.pinned_not_in_chain",
                                 pinned=pinned.vkey, keys=", ".join(chain.vkeys()))
    return chain


def next_keys(current: NoteVerifier, records: Sequence[Mapping[str, Any]]) -> list[LogKeyChange]:
    """The changes that lead on from ``current`` among ``records`` (an agent's retained copy of
    every announcement): each verified against the key before it. Announcements before
    ``current`` are skipped; a forged or broken link raises."""
    parsed = [LogKeyChange.from_dict(r) for r in records]
    start = next((i for i, c in enumerate(parsed) if same_key(c.previous, current)), None)
    if start is None:
        return []
    out: list[LogKeyChange] = []
    key = current
    for i in range(start, len(parsed)):
        change = verify_log_key_change(records[i], key.public_key, f"log key change {i}")
        out.append(change)
        key = change.new
    return out


__all__ = ["LOGKEY_TYPE", "LOG_KEYS_TOPIC", "MAX_ANNOUNCEMENT_BYTES", "LogKeyChain",
           "LogKeyChange", "chain_from_changes", "next_keys", "same_key", "sign_log_key_change",
           "verify_log_key_change"]
