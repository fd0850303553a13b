"""The municipality's ``did:web``: its DID, where the read API serves its document and status
list, and the DID document itself, built from the log's key history.

The document lists every key the log has had as a Multikey verification method
(:func:`eco_protocol.did.did_document`), each with the time it took over and the time it was
replaced, so a credential signed before a log key rotation still resolves to the key that signed
it, and one signed with a replaced key after its replacement does not. The history comes from the
log itself (the ``eco.logkey/v1`` entries, checked link by link as a verifier checks them), not
from the key files: the document needs no private key, and a rotation shows in it as soon as it
is committed. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from eco_protocol.canonical import parse_json
from eco_protocol.did import DidKey, did_document, did_web, multikey
from eco_protocol.encoding import parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.keys import public_key_raw
from eco_protocol.logkey import LogKeyChange, chain_from_changes
from eco_protocol.messages import msg
from eco_protocol.note import NoteVerifier, parse_verifier_key

from .config import Config
from .errors import ConfigError, Rejected, StoreCorrupt
from .ledger import key_change_indexes
from .store.interface import LedgerStore

DOCUMENT = "did.json"
WELL_KNOWN = "/.well-known/did.json"
STATUS = "credentials/status"


@dataclass(frozen=True, slots=True)
class Issuer:
    """The municipality as credentials name it: ``did:web:<host>[:<path>…]``, with the URLs
    and the read API's paths that resolve it."""

    host: str
    path: tuple[str, ...] = ()

    @property
    def did(self) -> str:
        return did_web(self.host, *self.path)

    @property
    def document_path(self) -> str:
        """Where the read API serves the DID document (did:web's resolution rule)."""
        return "/" + "/".join((*self.path, DOCUMENT)) if self.path else WELL_KNOWN

    @property
    def status_path(self) -> str:
        """Where the read API serves the signed status list."""
        return "/" + "/".join((*self.path, STATUS))

    @property
    def status_list_url(self) -> str:
        """The status list's URL, as enrolment credentials name it."""
        return f"https://{self.host}{self.status_path}"

    def method_id(self, key: NoteVerifier) -> str:
        """The verification method of a log key: the DID and the key's multikey fragment."""
        return f"{self.did}#{fragment(key)}"


def fragment(key: NoteVerifier) -> str:
    """A log key's fragment in the document: its Ed25519 multikey (``z6Mk…``), stable across
    every rebuild of the document."""
    return multikey(public_key_raw(key.public_key))


def issuer_of(cfg: Config) -> Issuer:
    """The configured issuer, or ConfigError saying which key to set."""
    if cfg.did_host is None:
        raise ConfigError(msg("aggregator.did.no_host", path=cfg.path, origin=cfg.origin))
    return Issuer(cfg.did_host, cfg.did_path)


@dataclass(frozen=True, slots=True)
class LogKeyPeriod:
    """One log key and when it signed: from ``valid_from`` until ``valid_until`` (None: still
    the current key)."""

    key: NoteVerifier
    valid_from: str
    valid_until: str | None


def log_key_history(store: LedgerStore) -> list[LogKeyPeriod]:
    """Every key the log has had, oldest first, from its ``eco.logkey/v1`` entries (each
    checked against the key before it and ending at the store's current key). The first key
    signs from the log's first checkpoint on; a later one from its announcement. A first key
    replaced before the log signed anything never signed a credential and is left out."""
    current = store.get_meta("log_vkey")
    if current is None:
        raise Rejected(msg("aggregator.did.no_key"))
    changes = []
    for i in key_change_indexes(store):
        record = parse_json(store.entry(i))
        if not isinstance(record, dict):
            raise StoreCorrupt(msg("aggregator.did.change_not_record", index=i))
        changes.append((i, record))
    try:
        chain = chain_from_changes(parse_verifier_key(current), changes)
        times = [LogKeyChange.from_dict(r).announced_at for _, r in changes]
    except InvalidInput as e:
        raise StoreCorrupt(msg("aggregator.did.chain", error=e)) from e
    if chain.current.vkey != current:
        raise StoreCorrupt(msg("aggregator.did.chain_end", end=chain.current.vkey,
                               vkey=current))
    ends: list[str | None] = [*times, None]
    periods = [LogKeyPeriod(k, s, e) for k, s, e in
               zip(chain.keys, [_first_signed(store), *times], ends, strict=True)]
    if len(periods) > 1 and parse_time(periods[0].valid_from, "signed_at") >= \
            parse_time(times[0], "announced_at"):
        periods.pop(0)
    return periods


def _first_signed(store: LedgerStore) -> str:
    """When the log signed its first checkpoint (the rows stream by size: only one is read)."""
    rows = store.raw_rows("checkpoint")
    try:
        first = next(rows, None)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    if first is None:
        raise Rejected(msg("aggregator.did.no_checkpoint"))
    signed_at = first[4]
    if not isinstance(signed_at, str):
        raise StoreCorrupt(msg("aggregator.did.signed_at"))
    return signed_at


def document(issuer: Issuer, store: LedgerStore) -> dict[str, object]:
    """The DID document: every log key, current and earlier, with the period it signed in."""
    keys = [DidKey(fragment(p.key), public_key_raw(p.key.public_key), p.valid_from,
                   p.valid_until) for p in log_key_history(store)]
    return did_document(issuer.did, keys)


__all__ = ["Issuer", "LogKeyPeriod", "document", "fragment", "issuer_of", "log_key_history"]
