"""Wire records of docs/protocol.md v1: readings, receipts, enrolments, revocations.

Each record is a frozen dataclass validated on construction, with explicit ``from_dict`` /
``to_dict``. ``from_dict`` is strict: unknown or missing fields, wrong JSON types (``true`` is
not an integer), out-of-range integers and non-canonical spellings are refused with a message
that names the field. A record's ``type`` carries its version; an unknown one is refused by
:func:`eco_protocol.dispatch.parse_record`, never guessed. Field checks come from
:mod:`fields`; the signed records share its :class:`~eco_protocol.fields.Signed` base.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Self, TypeVar

from .claim_tokens import ClaimToken, parse_token_list
from .encoding import b64decode, hex_field, parse_time
from .errors import MalformedRecord
from .fields import (
    Signed,
    enum_field,
    exact_keys,
    int_field,
    json_object,
    plain_json,
    sig_field,
    str_field,
    time_field,
)
from .keys import DeviceId, device_id_of

READING_TYPE: Final = "eco.reading/v1"
RECEIPT_TYPE: Final = "eco.receipt/v1"
ENROL_TYPE: Final = "eco.enrol/v1"
REVOKE_TYPE: Final = "eco.revoke/v1"
QUARANTINE_TYPE: Final = "eco.quarantine/v1"
RELEASE_TYPE: Final = "eco.release/v1"

GENESIS_PREV: Final = "0" * 64
MAX_READINGS_PER_MESSAGE: Final = 64
MAX_ENTRY_BYTES: Final = 65535


class Quantity(enum.StrEnum):
    PV_GENERATION = "pv_generation"
    GRID_EXPORT = "grid_export"
    GRID_IMPORT = "grid_import"
    EV_CHARGE = "ev_charge"


class Flag(enum.StrEnum):
    """Reading flags. A reading's energy may differ from its register difference only with
    one of :data:`ENERGY_EXCUSING_FLAGS`."""

    METER_RESET = "meter_reset"
    METER_REPLACED = "meter_replaced"
    ROLLOVER = "rollover"
    GAP_FILLED = "gap_filled"
    CLOCK_UNSYNCED = "clock_unsynced"


ENERGY_EXCUSING_FLAGS: Final = frozenset({Flag.METER_RESET, Flag.METER_REPLACED, Flag.ROLLOVER})


class ReceiptStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Source:
    protocol: str
    meter_serial: str
    meter_model: str

    @classmethod
    def from_dict(cls, d: object, what: str = "source") -> Source:
        m = json_object(d, what)
        exact_keys(m, {"protocol", "meter_serial", "meter_model"}, set(), what)
        return cls(
            protocol=str_field(m["protocol"], f"{what}.protocol", 64),
            meter_serial=str_field(m["meter_serial"], f"{what}.meter_serial", 64, allow_empty=True),
            meter_model=str_field(m["meter_model"], f"{what}.meter_model", 64, allow_empty=True),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "meter_serial": self.meter_serial,
                "meter_model": self.meter_model}


_R = TypeVar("_R")


def _unchecked(cls: type[_R], **values: Any) -> _R:
    """A record built from values its ``from_dict`` has just checked one by one, without
    ``__post_init__`` checking each again: every reading the aggregator ingests is parsed here,
    and checking its fields twice was a tenth of the ingest's time. ``from_dict`` must then
    run the cross-field checks itself; every field must be given."""
    obj = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    return obj


@dataclass(frozen=True, slots=True)
class Reading(Signed):
    """``eco.reading/v1``: one meter, one interval, signed by the device (docs/protocol.md §2)."""

    device_id: DeviceId
    seq: int
    prev: str
    meter: str
    quantity: Quantity
    start: str
    end: str
    register_start_wh: int
    register_end_wh: int
    energy_wh: int
    flags: tuple[Flag, ...]
    source: Source
    co2_g_estimate: int
    sig: str | None = None

    TYPE = READING_TYPE
    WHAT = "reading"
    _FIELDS = frozenset({"type", "device_id", "seq", "prev", "meter", "quantity", "start", "end",
                         "register_start_wh", "register_end_wh", "energy_wh", "flags", "source",
                         "co2_g_estimate"})

    def __post_init__(self) -> None:
        hex_field(self.device_id, "reading.device_id", 32)
        int_field(self.seq, "reading.seq", 1)
        hex_field(self.prev, "reading.prev", 64)
        if (self.seq == 1) != (self.prev == GENESIS_PREV):
            raise MalformedRecord.coded("eco_protocol.finding.record.prev_first")
        str_field(self.meter, "reading.meter", 32)
        time_field(self.start, "reading.start")
        time_field(self.end, "reading.end")
        int_field(self.register_start_wh, "reading.register_start_wh", 0)
        int_field(self.register_end_wh, "reading.register_end_wh", 0)
        int_field(self.energy_wh, "reading.energy_wh", 0)
        int_field(self.co2_g_estimate, "reading.co2_g_estimate")
        if len(set(self.flags)) != len(self.flags):
            raise MalformedRecord.coded("eco_protocol.finding.record.flag_twice")
        self.check_sig()

    def _check_across(self) -> None:
        """The checks of ``__post_init__`` that span fields, for :meth:`from_dict`, which has
        checked each field itself."""
        if (self.seq == 1) != (self.prev == GENESIS_PREV):
            raise MalformedRecord.coded("eco_protocol.finding.record.prev_first")
        if len(set(self.flags)) != len(self.flags):
            raise MalformedRecord.coded("eco_protocol.finding.record.flag_twice")

    @property
    def start_dt(self) -> datetime:
        return parse_time(self.start, "reading.start")

    @property
    def end_dt(self) -> datetime:
        return parse_time(self.end, "reading.end")

    @classmethod
    def from_dict(cls, d: object, *, require_sig: bool = True) -> Reading:
        m = cls.open(d, set(cls._FIELDS), require_sig=require_sig)
        flags_raw = m["flags"]
        if not isinstance(flags_raw, list) or len(flags_raw) > 8:
            raise MalformedRecord.coded("eco_protocol.finding.record.flags", value=repr(flags_raw))
        r = _unchecked(
            cls,
            device_id=DeviceId(hex_field(m["device_id"], "reading.device_id", 32)),
            seq=int_field(m["seq"], "reading.seq", 1),
            prev=hex_field(m["prev"], "reading.prev", 64),
            meter=str_field(m["meter"], "reading.meter", 32),
            quantity=enum_field(Quantity, m["quantity"], "reading.quantity"),
            start=time_field(m["start"], "reading.start"),
            end=time_field(m["end"], "reading.end"),
            register_start_wh=int_field(m["register_start_wh"], "reading.register_start_wh", 0),
            register_end_wh=int_field(m["register_end_wh"], "reading.register_end_wh", 0),
            energy_wh=int_field(m["energy_wh"], "reading.energy_wh", 0),
            flags=tuple(enum_field(Flag, f, "reading.flags[]") for f in flags_raw),
            source=Source.from_dict(m["source"], "reading.source"),
            co2_g_estimate=int_field(m["co2_g_estimate"], "reading.co2_g_estimate"),
            sig=sig_field(m["sig"], "reading") if "sig" in m else None,
        )
        r._check_across()  # what __post_init__ checks besides the fields, in its order
        return r

    def body(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id, "seq": self.seq, "prev": self.prev,
            "meter": self.meter, "quantity": self.quantity.value, "start": self.start,
            "end": self.end, "register_start_wh": self.register_start_wh,
            "register_end_wh": self.register_end_wh, "energy_wh": self.energy_wh,
            "flags": [f.value for f in self.flags], "source": self.source.to_dict(),
            "co2_g_estimate": self.co2_g_estimate,
        }


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    seq: int
    reading_sha256: str
    status: ReceiptStatus
    reason: str | None = None
    leaf_index: int | None = None
    expected_seq: int | None = None
    # v1.1: on an accepted item, whether the reading may earn credit (False: ``reason`` says
    # which rule it breaks). The reading is in the log either way: the device deletes it.
    creditable: bool | None = None

    def __post_init__(self) -> None:
        int_field(self.seq, "receipt.items[].seq", 0)
        if self.creditable is not None and self.status is not ReceiptStatus.ACCEPTED:
            raise MalformedRecord.coded("eco_protocol.finding.record.rc_creditable")
        if self.creditable is False and self.reason is None:
            raise MalformedRecord.coded("eco_protocol.finding.record.rc_why")
        hex_field(self.reading_sha256, "receipt.items[].reading_sha256", 64)
        if self.status is ReceiptStatus.REJECTED:
            if self.reason is None:
                raise MalformedRecord.coded("eco_protocol.finding.record.rc_reason")
            if self.leaf_index is not None:
                raise MalformedRecord.coded("eco_protocol.finding.record.rc_no_leaf")
        elif self.leaf_index is None:
            raise MalformedRecord.coded("eco_protocol.finding.record.rc_leaf",
                                        status=self.status.value)
        if self.leaf_index is not None:
            int_field(self.leaf_index, "receipt.items[].leaf_index", 0)
        if self.expected_seq is not None:
            int_field(self.expected_seq, "receipt.items[].expected_seq", 1)

    @classmethod
    def from_dict(cls, d: object) -> ReceiptItem:
        w = "receipt.items[]"
        m = json_object(d, w)
        exact_keys(m, {"seq", "reading_sha256", "status", "reason", "leaf_index"},
                    {"expected_seq", "creditable"}, w)
        reason = m["reason"]
        leaf = m["leaf_index"]
        exp = m.get("expected_seq")
        cred = m.get("creditable")
        if cred is not None and not isinstance(cred, bool):
            raise MalformedRecord.coded("eco_protocol.finding.record.rc_bool",
                                        what=w, value=repr(cred))
        return cls(
            seq=int_field(m["seq"], f"{w}.seq", 0),
            reading_sha256=hex_field(m["reading_sha256"], f"{w}.reading_sha256", 64),
            status=enum_field(ReceiptStatus, m["status"], f"{w}.status"),
            reason=None if reason is None else str_field(reason, f"{w}.reason", 512),
            leaf_index=None if leaf is None else int_field(leaf, f"{w}.leaf_index", 0),
            expected_seq=None if exp is None else int_field(exp, f"{w}.expected_seq", 1),
            creditable=cred,
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"seq": self.seq, "reading_sha256": self.reading_sha256,
                             "status": self.status.value, "reason": self.reason,
                             "leaf_index": self.leaf_index}
        if self.expected_seq is not None:
            d["expected_seq"] = self.expected_seq
        if self.creditable is not None:
            d["creditable"] = self.creditable
        return d


@dataclass(frozen=True, slots=True)
class Receipt(Signed):
    """``eco.receipt/v1``: the answer to one readings message, signed by the log key."""

    device_id: DeviceId
    items: tuple[ReceiptItem, ...]
    sig: str | None = None

    TYPE = RECEIPT_TYPE
    WHAT = "receipt"

    def __post_init__(self) -> None:
        hex_field(self.device_id, "receipt.device_id", 32)
        if not 1 <= len(self.items) <= MAX_READINGS_PER_MESSAGE:
            raise MalformedRecord.coded("eco_protocol.finding.record.rc_items",
                                        max=MAX_READINGS_PER_MESSAGE)
        self.check_sig()

    @classmethod
    def from_dict(cls, d: object) -> Receipt:
        m = cls.open(d, {"device_id", "items"})
        items = m["items"]
        if not isinstance(items, list):
            raise MalformedRecord.coded("eco_protocol.finding.record.rc_list")
        return cls(
            device_id=DeviceId(hex_field(m["device_id"], "receipt.device_id", 32)),
            items=tuple(ReceiptItem.from_dict(i) for i in items),
            sig=sig_field(m["sig"], "receipt"),
        )

    def body(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "items": [i.to_dict() for i in self.items]}


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """A meter as enrolled: what it measures and how much it could plausibly measure."""

    id: str
    quantity: Quantity
    protocol: str
    rated_w: int

    def __post_init__(self) -> None:
        str_field(self.id, "meters[].id", 32)
        str_field(self.protocol, "meters[].protocol", 64)
        int_field(self.rated_w, "meters[].rated_w", 1, 10_000_000)

    @classmethod
    def from_dict(cls, d: object) -> MeterSpec:
        m = json_object(d, "enrol.meters[]")
        exact_keys(m, {"id", "quantity", "protocol", "rated_w"}, set(), "enrol.meters[]")
        return cls(id=str_field(m["id"], "enrol.meters[].id", 32),
                   quantity=enum_field(Quantity, m["quantity"], "enrol.meters[].quantity"),
                   protocol=str_field(m["protocol"], "enrol.meters[].protocol", 64),
                   rated_w=int_field(m["rated_w"], "enrol.meters[].rated_w", 1, 10_000_000))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "quantity": self.quantity.value, "protocol": self.protocol,
                "rated_w": self.rated_w}


@dataclass(frozen=True, slots=True)
class Enrolment(Signed):
    """``eco.enrol/v1``: binds a device key to a household pseudonym and its meters (log key)."""

    device_id: DeviceId
    public_key: str
    household: str
    programme: str
    meters: tuple[MeterSpec, ...]
    fit: Mapping[str, Any]
    enrolled_at: str
    # issue 18: keyed hashes of the equipment's identities (eco_protocol/claim_tokens.py);
    # optional and left out when empty, so enrolments made before it keep their bytes
    claim_tokens: tuple[ClaimToken, ...] = ()
    sig: str | None = None

    TYPE = ENROL_TYPE
    WHAT = "enrol"

    def __post_init__(self) -> None:
        hex_field(self.device_id, "enrol.device_id", 32)
        raw = b64decode(self.public_key, "enrol.public_key")
        if len(raw) != 32:
            raise MalformedRecord.coded("eco_protocol.finding.record.enrol_key")
        if device_id_of(raw) != self.device_id:
            raise MalformedRecord.coded("eco_protocol.finding.record.enrol_id")
        str_field(self.household, "enrol.household", 128)
        str_field(self.programme, "enrol.programme", 128)
        if not 1 <= len(self.meters) <= 16:
            raise MalformedRecord.coded("eco_protocol.finding.record.meters_count")
        if len({m.id for m in self.meters}) != len(self.meters):
            raise MalformedRecord.coded("eco_protocol.finding.record.meters_unique")
        plain_json(dict(self.fit), "enrol.fit")
        time_field(self.enrolled_at, "enrol.enrolled_at")
        if self.claim_tokens:
            parse_token_list([t.to_dict() for t in self.claim_tokens], "enrol.claim_tokens")
        self.check_sig()

    @property
    def public_key_raw(self) -> bytes:
        return b64decode(self.public_key, "enrol.public_key")

    def meter(self, meter_id: str) -> MeterSpec | None:
        return next((m for m in self.meters if m.id == meter_id), None)

    @classmethod
    def from_dict(cls, d: object) -> Enrolment:
        m = cls.open(d, {"device_id", "public_key", "household", "programme", "meters", "fit",
                         "enrolled_at"}, {"claim_tokens"})
        meters = m["meters"]
        if not isinstance(meters, list):
            raise MalformedRecord.coded("eco_protocol.finding.record.meters_list")
        return cls(
            device_id=DeviceId(hex_field(m["device_id"], "enrol.device_id", 32)),
            public_key=str_field(m["public_key"], "enrol.public_key", 64),
            household=str_field(m["household"], "enrol.household", 128),
            programme=str_field(m["programme"], "enrol.programme", 128),
            meters=tuple(MeterSpec.from_dict(x) for x in meters),
            fit=dict(json_object(m["fit"], "enrol.fit")),
            enrolled_at=time_field(m["enrolled_at"], "enrol.enrolled_at"),
            claim_tokens=(parse_token_list(m["claim_tokens"], "enrol.claim_tokens")
                          if "claim_tokens" in m else ()),
            sig=sig_field(m["sig"], "enrol"),
        )

    def body(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id, "public_key": self.public_key,
            "household": self.household, "programme": self.programme,
            "meters": [x.to_dict() for x in self.meters], "fit": dict(self.fit),
            "enrolled_at": self.enrolled_at,
            **({"claim_tokens": [t.to_dict() for t in self.claim_tokens]}
               if self.claim_tokens else {}),
        }


class DeviceDecision(Signed):
    """The log key's decision about one enrolled device: revoke, quarantine or release.

    The three records have the same shape (``device_id``, ``reason`` and a time member whose
    name says which decision it is, :attr:`AT`), so they are checked, parsed and written here
    once. Each subclass is a frozen dataclass declaring those fields under their wire names."""

    __slots__ = ()

    AT: ClassVar[str]
    """The wire name of the decision's time member (``revoked_at``, ...)."""
    device_id: DeviceId
    reason: str

    @property
    def decided_at(self) -> str:
        """The decision's time, whatever :attr:`AT` calls it."""
        at: str = getattr(self, self.AT)
        return at

    def check_decision(self) -> None:
        """For ``__post_init__``: the shared fields, in wire order (``sig`` is checked apart)."""
        w = self.WHAT
        hex_field(self.device_id, f"{w}.device_id", 32)
        str_field(self.reason, f"{w}.reason", 512)
        time_field(self.decided_at, f"{w}.{self.AT}")

    @classmethod
    def decision_fields(cls, m: Mapping[str, Any]) -> dict[str, Any]:
        """The shared fields and ``sig`` of an opened record, as constructor arguments."""
        w = cls.WHAT
        return {"device_id": DeviceId(hex_field(m["device_id"], f"{w}.device_id", 32)),
                "reason": str_field(m["reason"], f"{w}.reason", 512),
                cls.AT: time_field(m[cls.AT], f"{w}.{cls.AT}"),
                "sig": sig_field(m["sig"], w)}

    @classmethod
    def from_dict(cls, d: object) -> Self:
        return cls(**cls.decision_fields(cls.open(d, {"device_id", "reason", cls.AT})))

    def body(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "reason": self.reason, self.AT: self.decided_at}


@dataclass(frozen=True, slots=True)
class Revocation(DeviceDecision):
    """``eco.revoke/v1`` (log key): later readings of the device are rejected."""

    device_id: DeviceId
    reason: str
    revoked_at: str
    sig: str | None = None

    TYPE = REVOKE_TYPE
    WHAT = "revoke"
    AT = "revoked_at"

    def __post_init__(self) -> None:
        self.check_decision()
        self.check_sig()


@dataclass(frozen=True, slots=True)
class Quarantine(DeviceDecision):
    """``eco.quarantine/v1`` (log key): the device's key signed two histories (a reading whose
    seq is already logged with other content, or whose ``prev`` is not the logged chain), so the
    box was cloned, restored from an old image or tampered with. Its later readings are still
    logged (its chain never stalls) but credit nothing until an :class:`Release`.

    ``evidence`` is the refused reading exactly as the device signed it, so that anyone can
    check the aggregator did not invent the fork: it must verify under the device's key."""

    device_id: DeviceId
    reason: str
    quarantined_at: str
    evidence: Mapping[str, Any] | None = None
    sig: str | None = None

    TYPE = QUARANTINE_TYPE
    WHAT = "quarantine"
    AT = "quarantined_at"

    def __post_init__(self) -> None:
        self.check_decision()
        if self.evidence is not None:
            json_object(self.evidence, "quarantine.evidence")
        self.check_sig()

    @classmethod
    def from_dict(cls, d: object) -> Self:
        m = cls.open(d, {"device_id", "reason", cls.AT}, {"evidence"})
        evidence = m.get("evidence")
        if evidence is not None:
            Reading.from_dict(evidence)  # a reading, well formed; its signature is the replay's
        return cls(**cls.decision_fields(m), evidence=evidence)

    def body(self) -> dict[str, Any]:
        d = DeviceDecision.body(self)  # not super(): slots=True rebuilds the class, and the
        # zero-argument super() of a slots dataclass points at the class it replaced
        if self.evidence is not None:
            d["evidence"] = dict(self.evidence)
        return d


@dataclass(frozen=True, slots=True)
class Release(DeviceDecision):
    """``eco.release/v1`` (log key): the operator looked at a quarantined device and decided it
    may credit again (from this entry on; what it sent while quarantined stays uncredited)."""

    device_id: DeviceId
    reason: str
    released_at: str
    sig: str | None = None

    TYPE = RELEASE_TYPE
    WHAT = "release"
    AT = "released_at"

    def __post_init__(self) -> None:
        self.check_decision()
        self.check_sig()


Record = Reading | Receipt | Enrolment | Revocation | Quarantine | Release

__all__ = [
    "ENERGY_EXCUSING_FLAGS", "ENROL_TYPE", "GENESIS_PREV", "MAX_ENTRY_BYTES",
    "MAX_READINGS_PER_MESSAGE", "QUARANTINE_TYPE", "READING_TYPE", "RECEIPT_TYPE",
    "RELEASE_TYPE", "REVOKE_TYPE", "DeviceDecision", "Enrolment", "Flag", "MeterSpec",
    "Quantity", "Quarantine", "Reading", "Receipt", "ReceiptItem", "ReceiptStatus", "Record",
    "Release", "Revocation", "Source",
]
