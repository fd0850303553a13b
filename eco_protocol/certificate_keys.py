"""The log's keys behind a certificate proof document, across log key changes (issue 19 point 4
with :mod:`logkey`; docs/certificates.md "Export and offline check").

A log changes its key (``eco.logkey/v1``) while its enrolments, readings and claims stay in it:
a proof document of certificates issued after a change holds enrolments signed by the old key
and claims and a checkpoint signed by the new one. The export therefore carries every key
change below its checkpoint, each with its inclusion proof like any entry, and the buyer's
check rebuilds the chain from them trusting only the key it pinned — the genesis key pinned
years ago or the current one pinned last week (:func:`logkey.chain_from_changes`: each change
is signed by the key before it and endorsed by the key after it) — then checks each entry
under the key in effect at its index and the checkpoint under the key at its size.

Pure: the caller hands in the parsed proof document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .canonical import parse_json
from .encoding import b64decode
from .errors import InvalidInput, NoteError
from .logkey import LOGKEY_TYPE, LogKeyChain, chain_from_changes, same_key
from .note import NoteVerifier, parse_verifier_key


def proof_key_chain(doc: Mapping[str, Any], pinned: str) -> LogKeyChain:
    """The chain of log keys the document's ``eco.logkey/v1`` entries build from ``pinned``;
    just ``pinned`` when it carries none. Raises :class:`NoteError` when a change does not
    verify or the pinned key is not in the chain. (The entries' inclusion under the
    checkpoint is checked with every other entry's.)"""
    changes: list[tuple[int, Mapping[str, Any]]] = []
    raw = doc.get("entries")
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, Mapping) or not isinstance(item.get("index"), int) or \
                not isinstance(item.get("entry_b64"), str):
            continue  # the entry check refuses it, naming it
        try:
            obj = parse_json(b64decode(item["entry_b64"], f"proofs.entries[{i}].entry_b64"))
        except InvalidInput:
            continue  # likewise
        if isinstance(obj, dict) and obj.get("type") == LOGKEY_TYPE:
            changes.append((item["index"], obj))
    try:
        return chain_from_changes(parse_verifier_key(pinned), sorted(changes,
                                                                    key=lambda c: c[0]))
    except InvalidInput as e:
        raise NoteError.coded("eco_protocol.finding.key.proof_chain", error=e) from e


def check_checkpoint_key(chain: LogKeyChain, size: int, signer: NoteVerifier) -> None:
    """The checkpoint of ``size`` must be signed by the key in effect at that size: a key
    change left out of the document shows here."""
    if not same_key(chain.key_at(size), signer):
        raise NoteError.coded("eco_protocol.finding.ev.signed_by_other", signer=signer.vkey,
                              size=size, key=chain.key_at(size).vkey)


__all__ = ["check_checkpoint_key", "proof_key_chain"]
