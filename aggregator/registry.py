"""Enrolment, revocation and household pseudonyms: the log-key-signed facts about devices.

Households enter the ledger only as keyed pseudonyms (HMAC-SHA256 under a key that never leaves
the aggregator); the pseudonym → reference mapping lives in a separate table that can be erased
without touching the log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.claim_tokens import ClaimToken
from eco_protocol.encoding import b64encode
from eco_protocol.errors import InvalidInput
from eco_protocol.fields import int_field, str_field
from eco_protocol.keys import DeviceId, device_id_of
from eco_protocol.messages import Msg, msg
from eco_protocol.records import GENESIS_PREV, Enrolment, MeterSpec, Quantity, Revocation
from eco_protocol.signing import sign_record

from .errors import Rejected
from .ledger import Ledger
from .store.interface import DeviceRow

# a device id as an operator types it (use fullmatch): eco_protocol.keys.device_id_of
DEVICE_ID_RE: Final = re.compile(r"[0-9a-f]{32}")


def pseudonym(key: bytes, reference: str) -> str:
    """A stable pseudonym for a household reference (name, address, contract number)."""
    mac = hmac.new(key, reference.strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return "hh-" + mac[:20]


class EnrolRefused(Rejected):
    """An enrolment the registry refuses, with ``code`` naming what is at fault (``meter.id``,
    ``meter.quantity``, ``meter.protocol``, ``meter.rated_w``, ``meter.format``,
    ``already_enrolled``), so the web UI can say it in the reader's language and name the form
    field; the message is the CLI's English."""

    def __init__(self, message: str | Msg, code: str) -> None:
        super().__init__(message)
        self.code = code


def parse_meter(text: str, what: str = "--meter") -> MeterSpec:
    """``id:quantity:protocol:rated_w``, e.g. ``pv1:pv_generation:sunspec-modbus:4500``.
    Any protocol name is accepted (enrolments name it for people; the agent's own are
    ``agent.meters.meter_config.MeterProtocol``)."""
    parts = text.split(":")
    if len(parts) != 4:
        raise EnrolRefused(msg("aggregator.enrol.meter_format", what=what, text=repr(text)),
                           "meter.format")
    try:
        quantity = Quantity(parts[1])
    except ValueError as e:
        raise EnrolRefused(msg("aggregator.enrol.meter_quantity", what=what, text=repr(text),
                               value=repr(parts[1]),
                               allowed=", ".join(q.value for q in Quantity)),
                           "meter.quantity") from e
    try:
        rated_w = int(parts[3])
    except ValueError as e:
        raise EnrolRefused(msg("aggregator.enrol.meter_rated_w", what=what, text=repr(text),
                               value=repr(parts[3])), "meter.rated_w") from e
    for code, check in (("meter.id", lambda: str_field(parts[0], "meters[].id", 32)),
                        ("meter.protocol", lambda: str_field(parts[2], "meters[].protocol", 64)),
                        ("meter.rated_w",
                         lambda: int_field(rated_w, "meters[].rated_w", 1, 10_000_000))):
        try:
            check()
        except InvalidInput as e:
            raise EnrolRefused(msg("aggregator.enrol.meter_field", what=what, text=repr(text),
                                   error=e), code) from e
    return MeterSpec(parts[0], quantity, parts[2], rated_w)


def methodology_terms(*, installed: str | None = None, fit_status: str | None = None,
                      fit_until: str | None = None, battery: bool | None = None,
                      zero_export: bool = False, ev_wh_per_km: int | None = None,
                      ev_petrol_km_per_l: float | None = None) -> dict[str, Any]:
    """The enrolment attributes the methodology needs, as the record's ``fit`` object (what
    ``eco_protocol.methodology.terms_problems`` checks). Unset values are left out."""
    out: dict[str, Any] = {}
    if installed:
        out["installed"] = installed
    if fit_status:
        out["status"] = fit_status
    if fit_until:
        out["until"] = fit_until
    if battery is not None:
        out["battery"] = battery
    if zero_export:
        out["zero_export"] = True
    if ev_wh_per_km or ev_petrol_km_per_l:
        out["ev"] = {"wh_per_km": ev_wh_per_km,
                     "petrol_m_per_l": round((ev_petrol_km_per_l or 0) * 1000)}
    return out


def build_enrolment(public_key: bytes, household: str, programme: str,
                    meters: Sequence[MeterSpec], fit: Mapping[str, Any],
                    enrolled_at: str, claim_tokens: Sequence[ClaimToken] = ()) -> Enrolment:
    try:
        return Enrolment(device_id=device_id_of(public_key), public_key=b64encode(public_key),
                         household=household, programme=programme, meters=tuple(meters),
                         fit=dict(fit), enrolled_at=enrolled_at,
                         claim_tokens=tuple(claim_tokens))
    except InvalidInput as e:
        raise Rejected(msg("aggregator.enrol.cannot", error=e)) from e


def _append_enrolment(ledger: Ledger, enrolment: Enrolment) -> tuple[int, bytes]:
    store = ledger.store
    if store.device(enrolment.device_id) is not None:
        raise EnrolRefused(msg("aggregator.enrol.already", device=enrolment.device_id),
                           "already_enrolled")
    entry = canonical_bytes(sign_record(enrolment.to_dict(), ledger.signer.private_key))
    (index,) = ledger.append([entry])
    store.put_device(DeviceRow(enrolment.device_id, index, entry, 1, GENESIS_PREV))
    return index, entry


def _append_revocation(ledger: Ledger, device_id: DeviceId, reason: str,
                       revoked_at: str) -> int:
    store = ledger.store
    row = store.device(device_id)
    if row is None:
        raise Rejected(msg("aggregator.device.not_enrolled", device=device_id))
    if row.revoked_index is not None:
        raise Rejected(msg("aggregator.revoke.already", device=device_id,
                           index=row.revoked_index, removed=""))
    try:
        rec = Revocation(device_id, reason, revoked_at)
    except InvalidInput as e:
        raise Rejected(msg("aggregator.revoke.cannot", error=e)) from e
    entry = canonical_bytes(sign_record(rec.to_dict(), ledger.signer.private_key))
    (index,) = ledger.append([entry])
    store.put_device(DeviceRow(row.device_id, row.enrol_index, row.enrolment, row.next_seq,
                               row.last_hash, index, row.flag))
    return index


def enrol(ledger: Ledger, enrolment: Enrolment) -> tuple[int, bytes]:
    """Append a signed ``eco.enrol/v1`` entry and register the device; returns (index, entry)."""
    with ledger.store.transaction():
        out = _append_enrolment(ledger, enrolment)
    ledger.checkpoint_now()
    return out


def revoke(ledger: Ledger, device_id: DeviceId, reason: str, revoked_at: str) -> int:
    """Append a signed ``eco.revoke/v1`` entry; later readings of the device are rejected."""
    with ledger.store.transaction():
        index = _append_revocation(ledger, device_id, reason, revoked_at)
    ledger.checkpoint_now()
    return index


def rekey(ledger: Ledger, old: DeviceId, new_public_key: bytes, at: str) -> Enrolment:
    """Replace a device's key (new box, or a key that may have leaked), in one transaction: the
    old device is revoked with a reason naming the new one, and the new key is enrolled for the
    same household, programme, meters and terms, with ``fit.replaces`` naming the old one — so
    both records, signed by the log key, link the two device ids."""
    with ledger.store.transaction():
        row = ledger.store.device(old)
        if row is None:
            raise Rejected(msg("aggregator.device.not_enrolled", device=old))
        before = Enrolment.from_dict(parse_json(row.enrolment))
        new = build_enrolment(new_public_key, before.household, before.programme,
                              before.meters, {**before.fit, "replaces": old}, at,
                              before.claim_tokens)  # the same equipment (issue 18)
        _append_revocation(ledger, old, f"key replaced by device {new.device_id}", at)
        _append_enrolment(ledger, new)
    ledger.checkpoint_now()
    return new
