"""Revocable enrolment credentials: each enrolment's position in the municipality's W3C Bitstring
Status List, and the signed list with the bits of revoked devices set.

**Positions.** A device's enrolment gets its position the first time one is needed (its first
enrolment credential), drawn at random among the free ones and kept in the store
(``credential_status``), so every credential issued for that enrolment names the same bit,
whatever restarts or other workers come between. Random, not in enrolment order: a position then
says nothing about when, or after whom, a household enrolled (the list's 131 072 bits are the
herd a holder hides in, W3C Bitstring Status List §6). The table is not derived from the log;
what the bits say is (a device's ``eco.revoke/v1`` entry).

**The list.** :class:`StatusListCache` signs the list with the log key when the set of revoked
positions or the log key changed since it last signed, and otherwise hands out the bytes it
signed then: the read API answers every request from it without a signature per request.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eco_protocol.credentials import status_list_credential
from eco_protocol.data_integrity import add_proof
from eco_protocol.encoding import format_time
from eco_protocol.messages import msg
from eco_protocol.note import NoteVerifier, parse_verifier_key

from .did_web import Issuer
from .errors import Rejected
from .store.interface import DeviceRow, LedgerStore

LIST_LENGTH = 131072  # bits: the specification's minimum, 16 KiB before compression


def live_device(store: LedgerStore, device_id: str) -> DeviceRow:
    """The device's row, refused when it is not enrolled or is revoked: no credential is
    issued for either (one check for the status position and the enrolment credential)."""
    row = store.device(device_id)
    if row is None:
        raise Rejected(msg("aggregator.credentials.not_enrolled", device=device_id,
                           command="status"))
    if row.revoked_index is not None:
        raise Rejected(msg("aggregator.credentials.revoked", device=device_id,
                           index=row.revoked_index))
    return row


def status_index_for(store: LedgerStore, device_id: str) -> int:
    """The device's position in the status list, drawn and stored on first use. The device
    must be enrolled (a revoked one keeps the position it has, and gets none if it had none:
    no credential of it can be out)."""
    index = store.status_index(device_id)
    if index is not None:
        return index
    with store.transaction():  # the store's write lock: no second worker draws meanwhile
        index = store.status_index(device_id)
        if index is not None:
            return index
        live_device(store, device_id)
        taken = set(store.status_indexes())
        if len(taken) >= LIST_LENGTH:
            raise Rejected(msg("aggregator.credentials.list_full", n=LIST_LENGTH))
        index = secrets.randbelow(LIST_LENGTH)
        while index in taken:
            index = secrets.randbelow(LIST_LENGTH)
        store.add_status_index(device_id, index)
    return index


def signed_status_list(issuer: Issuer, revoked: list[int], key: Ed25519PrivateKey,
                       log_key: NoteVerifier, now: datetime) -> dict[str, object]:
    """The Bitstring Status List credential with ``revoked`` set, signed with the log key."""
    unsigned = status_list_credential(issuer.did, issuer.status_list_url, revoked, LIST_LENGTH,
                                      format_time(now))
    return add_proof(unsigned, key, issuer.method_id(log_key), format_time(now))


SigningKey = Callable[[str], Ed25519PrivateKey]
"""The private log key whose verifier key is given (the read API's way to reach the key file
only when the list changed)."""


class StatusListCache:
    """The signed list as served: re-signed only when the revoked positions or the log key
    changed. Thread-safe (the read API answers requests in threads)."""

    def __init__(self, issuer: Issuer, signing_key: SigningKey) -> None:
        self.issuer = issuer
        self._signing_key = signing_key
        self._lock = threading.Lock()
        self._signed: tuple[tuple[str, tuple[int, ...]], bytes] | None = None

    def current(self, store: LedgerStore, now: datetime) -> bytes:
        """The list's JSON bytes for the store's state now."""
        vkey = store.get_meta("log_vkey")
        if vkey is None:
            raise Rejected(msg("aggregator.did.no_key"))
        state = (vkey, tuple(store.revoked_status_indexes()))
        with self._lock:
            if self._signed is not None and self._signed[0] == state:
                return self._signed[1]
            credential = signed_status_list(self.issuer, list(state[1]),
                                            self._signing_key(vkey), parse_verifier_key(vkey),
                                            now)
            body = json.dumps(credential, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"
            self._signed = (state, body)
            return body


__all__ = ["LIST_LENGTH", "SigningKey", "StatusListCache", "signed_status_list",
           "status_index_for"]
