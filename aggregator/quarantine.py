"""Quarantine of a forked device: the log records it, the device table mirrors it.

A device whose key signs two histories (a seq already logged with other content, or a ``prev``
that is not the logged chain) was cloned, restored from an old image, or tampered with. Its
readings keep being logged — its chain never stalls — but credit nothing from the
``eco.quarantine/v1`` entry until the operator appends an ``eco.release/v1`` (or revokes it).
Both are in the log, so every party (the points, the batches, ``ledger verify``, the buyer's
``eco-verify``) excludes exactly the same readings; the device table's ``flag`` column is only
a derived mirror, which the audit re-derives (:func:`flag_for`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from eco_protocol.canonical import canonical_bytes
from eco_protocol.errors import InvalidInput
from eco_protocol.keys import DeviceId
from eco_protocol.messages import msg
from eco_protocol.records import MAX_ENTRY_BYTES, Quarantine, Release
from eco_protocol.signing import sign_record

from .errors import Rejected
from .ledger import Ledger
from .store.interface import DeviceRow

_FLAG_RE: Final = re.compile(r"quarantined by entry (\d+)")


def flag_for(index: int | None) -> str | None:
    """The device table's ``flag`` for a device quarantined by entry ``index`` (None: not)."""
    return None if index is None else f"quarantined by entry {index}"


def quarantined_by(row: DeviceRow) -> int | None:
    """The quarantine entry in force for a device row, from its (audited) flag."""
    m = _FLAG_RE.fullmatch(row.flag or "")
    return None if m is None else int(m.group(1))


def quarantine_entry(private_key: Any, device_id: str, reason: str, at: str,
                     evidence: Mapping[str, Any] | None) -> bytes:
    """The signed ``eco.quarantine/v1`` entry; the evidence (the refused reading as the device
    signed it) is left out only if it would not fit in one entry."""
    rec = Quarantine(DeviceId(device_id), reason[:512], at, evidence)
    entry = canonical_bytes(sign_record(rec.to_dict(), private_key))
    if len(entry) > MAX_ENTRY_BYTES and evidence is not None:
        return quarantine_entry(private_key, device_id, reason, at, None)
    return entry


def record_legacy_flags(ledger: Ledger, at: str) -> int:
    """A ledger written before quarantines were logged flagged a forked device only in its
    table row, which no other party could see: record each such flag as an
    ``eco.quarantine/v1`` (without evidence, which was not kept), so the books, the audit and
    the buyer's verifier all stop crediting it. Returns how many it recorded."""
    store = ledger.store
    if not store.flagged_devices():
        return 0  # the usual case: no write lock taken
    done = 0
    with store.transaction():
        for row in store.flagged_devices():
            if row.revoked_index is not None or quarantined_by(row) is not None:
                continue
            entry = quarantine_entry(ledger.signer.private_key, row.device_id,
                                     f"fork (flagged before quarantines were logged): "
                                     f"{row.flag}", at, None)
            (index,) = ledger.append([entry])
            store.put_device(DeviceRow(row.device_id, row.enrol_index, row.enrolment,
                                       row.next_seq, row.last_hash, None, flag_for(index)))
            done += 1
    return done


def append_release(ledger: Ledger, device_id: str, reason: str, at: str) -> int:
    """Append a signed ``eco.release/v1`` for a quarantined device and clear its flag, in the
    caller's transaction; refuses a device that is not quarantined."""
    store = ledger.store
    row = store.device(device_id)
    if row is None:
        raise Rejected(msg("aggregator.device.not_enrolled", device=device_id))
    if row.revoked_index is not None:
        raise Rejected(msg("aggregator.release.revoked", device=device_id,
                           index=row.revoked_index))
    if quarantined_by(row) is None:
        raise Rejected(msg("aggregator.release.not_quarantined", device=device_id,
                           flag=msg("aggregator.release.flag", flag=repr(row.flag))
                           if row.flag else ""))
    try:
        rec = Release(DeviceId(device_id), reason, at)
    except InvalidInput as e:
        raise Rejected(msg("aggregator.release.cannot", error=e)) from e
    entry = canonical_bytes(sign_record(rec.to_dict(), ledger.signer.private_key))
    (index,) = ledger.append([entry])
    store.put_device(DeviceRow(row.device_id, row.enrol_index, row.enrolment, row.next_seq,
                               row.last_hash, row.revoked_index, None))
    return index


__all__ = ["append_release", "flag_for", "quarantine_entry", "quarantined_by",
           "record_legacy_flags"]
