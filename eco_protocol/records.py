"""Wire records of docs/protocol.md v1: readings, receipts, enrolments, revocations.

Each record is a frozen dataclass validated on construction, with explicit ``from_dict`` /
``to_dict``. ``from_dict`` is strict: unknown or missing fields, wrong JSON types (``true`` is
not an integer), out-of-range integers and non-canonical spellings are refused with a message
that names the field. A record's ``type`` carries its version; an unknown one is refused by
:func:`parse_record`, never guessed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .canonical import MAX_SAFE_INTEGER
from .encoding import b64decode, hex_field, parse_time
from .errors import MalformedRecord, UnknownType
from .keys import DeviceId

if TYPE_CHECKING:
    from .logkey import LogKeyChange
    from .programme_records import ProgrammeRecord

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


_E = TypeVar("_E", bound=enum.StrEnum)

# ---------------------------------------------------------------------------------------------
# field helpers: each names the field it checks, so errors say where the record is wrong


def _obj(d: object, what: str) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise MalformedRecord(f"{what}: expected a JSON object, got {type(d).__name__}")
    return d


def _exact_keys(d: Mapping[str, Any], required: set[str], optional: set[str], what: str) -> None:
    keys = set(d)
    missing = required - keys
    if missing:
        raise MalformedRecord(f"{what}: missing field(s) {', '.join(sorted(missing))}")
    unknown = keys - required - optional
    if unknown:
        raise MalformedRecord(f"{what}: unknown field(s) {', '.join(sorted(unknown))}")


def _int(v: object, what: str, lo: int = -MAX_SAFE_INTEGER, hi: int = MAX_SAFE_INTEGER) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise MalformedRecord(f"{what}: expected an integer, got {v!r}")
    if not lo <= v <= hi:
        raise MalformedRecord(f"{what}: {v} is outside [{lo}, {hi}]")
    return v


def _str(v: object, what: str, max_len: int = 256, allow_empty: bool = False) -> str:
    if not isinstance(v, str):
        raise MalformedRecord(f"{what}: expected a string, got {v!r}")
    if not v and not allow_empty:
        raise MalformedRecord(f"{what}: must not be empty")
    if len(v) > max_len:
        raise MalformedRecord(f"{what}: longer than {max_len} characters")
    return v


def _type(d: Mapping[str, Any], expected: str, what: str) -> None:
    t = d.get("type")
    if t != expected:
        raise UnknownType(f"{what}: expected type {expected!r}, got {t!r}")


def _sig(v: object, what: str) -> str:
    raw = b64decode(_str(v, f"{what}.sig"), f"{what}.sig")
    if len(raw) != 64:
        raise MalformedRecord(f"{what}.sig: must be 64 bytes, got {len(raw)}")
    assert isinstance(v, str)
    return v


def _time(v: object, what: str) -> str:
    parse_time(v, what)
    assert isinstance(v, str)
    return v


def _enum(cls: type[_E], v: object, what: str) -> _E:
    if not isinstance(v, str):
        raise MalformedRecord(f"{what}: expected a string, got {v!r}")
    try:
        return cls(v)
    except ValueError as e:
        allowed = ", ".join(m.value for m in cls)
        raise MalformedRecord(f"{what}: {v!r} is not one of {allowed}") from e


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    protocol: str
    meter_serial: str
    meter_model: str

    @classmethod
    def from_dict(cls, d: object, what: str = "source") -> Source:
        m = _obj(d, what)
        _exact_keys(m, {"protocol", "meter_serial", "meter_model"}, set(), what)
        return cls(
            protocol=_str(m["protocol"], f"{what}.protocol", 64),
            meter_serial=_str(m["meter_serial"], f"{what}.meter_serial", 64, allow_empty=True),
            meter_model=_str(m["meter_model"], f"{what}.meter_model", 64, allow_empty=True),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "meter_serial": self.meter_serial,
                "meter_model": self.meter_model}


@dataclass(frozen=True, slots=True)
class Reading:
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

    _FIELDS = frozenset({"type", "device_id", "seq", "prev", "meter", "quantity", "start", "end",
                         "register_start_wh", "register_end_wh", "energy_wh", "flags", "source",
                         "co2_g_estimate"})

    def __post_init__(self) -> None:
        hex_field(self.device_id, "reading.device_id", 32)
        _int(self.seq, "reading.seq", 1)
        hex_field(self.prev, "reading.prev", 64)
        if (self.seq == 1) != (self.prev == GENESIS_PREV):
            raise MalformedRecord("reading.prev: must be 64 zeros exactly when seq is 1")
        _str(self.meter, "reading.meter", 32)
        _time(self.start, "reading.start")
        _time(self.end, "reading.end")
        _int(self.register_start_wh, "reading.register_start_wh", 0)
        _int(self.register_end_wh, "reading.register_end_wh", 0)
        _int(self.energy_wh, "reading.energy_wh", 0)
        _int(self.co2_g_estimate, "reading.co2_g_estimate")
        if len(set(self.flags)) != len(self.flags):
            raise MalformedRecord("reading.flags: repeated flag")
        if self.sig is not None:
            _sig(self.sig, "reading")

    @property
    def start_dt(self) -> datetime:
        return parse_time(self.start, "reading.start")

    @property
    def end_dt(self) -> datetime:
        return parse_time(self.end, "reading.end")

    @classmethod
    def from_dict(cls, d: object, *, require_sig: bool = True) -> Reading:
        m = _obj(d, "reading")
        _type(m, READING_TYPE, "reading")
        _exact_keys(m, set(cls._FIELDS) | ({"sig"} if require_sig else set()), {"sig"}, "reading")
        flags_raw = m["flags"]
        if not isinstance(flags_raw, list) or len(flags_raw) > 8:
            raise MalformedRecord(f"reading.flags: expected a list of at most 8 flags, "
                                  f"got {flags_raw!r}")
        return cls(
            device_id=DeviceId(hex_field(m["device_id"], "reading.device_id", 32)),
            seq=_int(m["seq"], "reading.seq", 1),
            prev=hex_field(m["prev"], "reading.prev", 64),
            meter=_str(m["meter"], "reading.meter", 32),
            quantity=_enum(Quantity, m["quantity"], "reading.quantity"),
            start=_time(m["start"], "reading.start"),
            end=_time(m["end"], "reading.end"),
            register_start_wh=_int(m["register_start_wh"], "reading.register_start_wh", 0),
            register_end_wh=_int(m["register_end_wh"], "reading.register_end_wh", 0),
            energy_wh=_int(m["energy_wh"], "reading.energy_wh", 0),
            flags=tuple(_enum(Flag, f, "reading.flags[]") for f in flags_raw),
            source=Source.from_dict(m["source"], "reading.source"),
            co2_g_estimate=_int(m["co2_g_estimate"], "reading.co2_g_estimate"),
            sig=_sig(m["sig"], "reading") if "sig" in m else None,
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": READING_TYPE, "device_id": self.device_id, "seq": self.seq, "prev": self.prev,
            "meter": self.meter, "quantity": self.quantity.value, "start": self.start,
            "end": self.end, "register_start_wh": self.register_start_wh,
            "register_end_wh": self.register_end_wh, "energy_wh": self.energy_wh,
            "flags": [f.value for f in self.flags], "source": self.source.to_dict(),
            "co2_g_estimate": self.co2_g_estimate,
        }
        if self.sig is not None:
            d["sig"] = self.sig
        return d


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
        _int(self.seq, "receipt.items[].seq", 0)
        if self.creditable is not None and self.status is not ReceiptStatus.ACCEPTED:
            raise MalformedRecord("receipt.items[].creditable: only an accepted item says "
                                  "whether it is creditable")
        if self.creditable is False and self.reason is None:
            raise MalformedRecord("receipt.items[].reason: a non-creditable item must say why")
        hex_field(self.reading_sha256, "receipt.items[].reading_sha256", 64)
        if self.status is ReceiptStatus.REJECTED:
            if self.reason is None:
                raise MalformedRecord("receipt.items[].reason: a rejection must give a reason")
            if self.leaf_index is not None:
                raise MalformedRecord("receipt.items[].leaf_index: a rejected reading has none")
        elif self.leaf_index is None:
            raise MalformedRecord(f"receipt.items[].leaf_index: required for {self.status.value}")
        if self.leaf_index is not None:
            _int(self.leaf_index, "receipt.items[].leaf_index", 0)
        if self.expected_seq is not None:
            _int(self.expected_seq, "receipt.items[].expected_seq", 1)

    @classmethod
    def from_dict(cls, d: object) -> ReceiptItem:
        w = "receipt.items[]"
        m = _obj(d, w)
        _exact_keys(m, {"seq", "reading_sha256", "status", "reason", "leaf_index"},
                    {"expected_seq", "creditable"}, w)
        reason = m["reason"]
        leaf = m["leaf_index"]
        exp = m.get("expected_seq")
        cred = m.get("creditable")
        if cred is not None and not isinstance(cred, bool):
            raise MalformedRecord(f"{w}.creditable: expected true or false, got {cred!r}")
        return cls(
            seq=_int(m["seq"], f"{w}.seq", 0),
            reading_sha256=hex_field(m["reading_sha256"], f"{w}.reading_sha256", 64),
            status=_enum(ReceiptStatus, m["status"], f"{w}.status"),
            reason=None if reason is None else _str(reason, f"{w}.reason", 512),
            leaf_index=None if leaf is None else _int(leaf, f"{w}.leaf_index", 0),
            expected_seq=None if exp is None else _int(exp, f"{w}.expected_seq", 1),
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
class Receipt:
    """``eco.receipt/v1``: the answer to one readings message, signed by the log key."""

    device_id: DeviceId
    items: tuple[ReceiptItem, ...]
    sig: str | None = None

    def __post_init__(self) -> None:
        hex_field(self.device_id, "receipt.device_id", 32)
        if not 1 <= len(self.items) <= MAX_READINGS_PER_MESSAGE:
            raise MalformedRecord(f"receipt.items: expected 1–{MAX_READINGS_PER_MESSAGE} items")
        if self.sig is not None:
            _sig(self.sig, "receipt")

    @classmethod
    def from_dict(cls, d: object) -> Receipt:
        m = _obj(d, "receipt")
        _type(m, RECEIPT_TYPE, "receipt")
        _exact_keys(m, {"type", "device_id", "items", "sig"}, set(), "receipt")
        items = m["items"]
        if not isinstance(items, list):
            raise MalformedRecord("receipt.items: expected a list")
        return cls(
            device_id=DeviceId(hex_field(m["device_id"], "receipt.device_id", 32)),
            items=tuple(ReceiptItem.from_dict(i) for i in items),
            sig=_sig(m["sig"], "receipt"),
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": RECEIPT_TYPE, "device_id": self.device_id,
                             "items": [i.to_dict() for i in self.items]}
        if self.sig is not None:
            d["sig"] = self.sig
        return d


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """A meter as enrolled: what it measures and how much it could plausibly measure."""

    id: str
    quantity: Quantity
    protocol: str
    rated_w: int

    def __post_init__(self) -> None:
        _str(self.id, "meters[].id", 32)
        _str(self.protocol, "meters[].protocol", 64)
        _int(self.rated_w, "meters[].rated_w", 1, 10_000_000)

    @classmethod
    def from_dict(cls, d: object) -> MeterSpec:
        m = _obj(d, "enrol.meters[]")
        _exact_keys(m, {"id", "quantity", "protocol", "rated_w"}, set(), "enrol.meters[]")
        return cls(id=_str(m["id"], "enrol.meters[].id", 32),
                   quantity=_enum(Quantity, m["quantity"], "enrol.meters[].quantity"),
                   protocol=_str(m["protocol"], "enrol.meters[].protocol", 64),
                   rated_w=_int(m["rated_w"], "enrol.meters[].rated_w", 1, 10_000_000))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "quantity": self.quantity.value, "protocol": self.protocol,
                "rated_w": self.rated_w}


def _plain_json(v: object, what: str, depth: int = 0) -> None:
    """Accept only JSON without floats (the ``fit`` object is free-form but signed)."""
    if depth > 4:
        raise MalformedRecord(f"{what}: nested too deeply")
    if v is None or isinstance(v, (str, bool)):
        return
    if isinstance(v, int):
        _int(v, what)
        return
    if isinstance(v, list):
        for i, x in enumerate(v):
            _plain_json(x, f"{what}[{i}]", depth + 1)
        return
    if isinstance(v, Mapping):
        for k, x in v.items():
            _plain_json(x, f"{what}.{k}", depth + 1)
        return
    raise MalformedRecord(f"{what}: {type(v).__name__} is not allowed in a signed record")


@dataclass(frozen=True, slots=True)
class Enrolment:
    """``eco.enrol/v1``: binds a device key to a household pseudonym and its meters (log key)."""

    device_id: DeviceId
    public_key: str
    household: str
    programme: str
    meters: tuple[MeterSpec, ...]
    fit: Mapping[str, Any]
    enrolled_at: str
    sig: str | None = None

    def __post_init__(self) -> None:
        hex_field(self.device_id, "enrol.device_id", 32)
        raw = b64decode(self.public_key, "enrol.public_key")
        if len(raw) != 32:
            raise MalformedRecord("enrol.public_key: must be 32 raw bytes")
        from .keys import device_id_of

        if device_id_of(raw) != self.device_id:
            raise MalformedRecord("enrol.device_id: does not match SHA-256(public_key)[:16]")
        _str(self.household, "enrol.household", 128)
        _str(self.programme, "enrol.programme", 128)
        if not 1 <= len(self.meters) <= 16:
            raise MalformedRecord("enrol.meters: expected 1–16 meters")
        if len({m.id for m in self.meters}) != len(self.meters):
            raise MalformedRecord("enrol.meters: meter ids must be unique")
        _plain_json(dict(self.fit), "enrol.fit")
        _time(self.enrolled_at, "enrol.enrolled_at")
        if self.sig is not None:
            _sig(self.sig, "enrol")

    @property
    def public_key_raw(self) -> bytes:
        return b64decode(self.public_key, "enrol.public_key")

    def meter(self, meter_id: str) -> MeterSpec | None:
        return next((m for m in self.meters if m.id == meter_id), None)

    @classmethod
    def from_dict(cls, d: object) -> Enrolment:
        m = _obj(d, "enrol")
        _type(m, ENROL_TYPE, "enrol")
        _exact_keys(m, {"type", "device_id", "public_key", "household", "programme", "meters",
                        "fit", "enrolled_at", "sig"}, set(), "enrol")
        meters = m["meters"]
        if not isinstance(meters, list):
            raise MalformedRecord("enrol.meters: expected a list")
        return cls(
            device_id=DeviceId(hex_field(m["device_id"], "enrol.device_id", 32)),
            public_key=_str(m["public_key"], "enrol.public_key", 64),
            household=_str(m["household"], "enrol.household", 128),
            programme=_str(m["programme"], "enrol.programme", 128),
            meters=tuple(MeterSpec.from_dict(x) for x in meters),
            fit=dict(_obj(m["fit"], "enrol.fit")),
            enrolled_at=_time(m["enrolled_at"], "enrol.enrolled_at"),
            sig=_sig(m["sig"], "enrol"),
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": ENROL_TYPE, "device_id": self.device_id, "public_key": self.public_key,
            "household": self.household, "programme": self.programme,
            "meters": [x.to_dict() for x in self.meters], "fit": dict(self.fit),
            "enrolled_at": self.enrolled_at,
        }
        if self.sig is not None:
            d["sig"] = self.sig
        return d


@dataclass(frozen=True, slots=True)
class Revocation:
    """``eco.revoke/v1`` (log key): later readings of the device are rejected."""

    device_id: DeviceId
    reason: str
    revoked_at: str
    sig: str | None = None

    def __post_init__(self) -> None:
        hex_field(self.device_id, "revoke.device_id", 32)
        _str(self.reason, "revoke.reason", 512)
        _time(self.revoked_at, "revoke.revoked_at")
        if self.sig is not None:
            _sig(self.sig, "revoke")

    @classmethod
    def from_dict(cls, d: object) -> Revocation:
        m = _obj(d, "revoke")
        _type(m, REVOKE_TYPE, "revoke")
        _exact_keys(m, {"type", "device_id", "reason", "revoked_at", "sig"}, set(), "revoke")
        return cls(device_id=DeviceId(hex_field(m["device_id"], "revoke.device_id", 32)),
                   reason=_str(m["reason"], "revoke.reason", 512),
                   revoked_at=_time(m["revoked_at"], "revoke.revoked_at"),
                   sig=_sig(m["sig"], "revoke"))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": REVOKE_TYPE, "device_id": self.device_id,
                             "reason": self.reason, "revoked_at": self.revoked_at}
        if self.sig is not None:
            d["sig"] = self.sig
        return d


@dataclass(frozen=True, slots=True)
class Quarantine:
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

    def __post_init__(self) -> None:
        hex_field(self.device_id, "quarantine.device_id", 32)
        _str(self.reason, "quarantine.reason", 512)
        _time(self.quarantined_at, "quarantine.quarantined_at")
        if self.evidence is not None:
            _obj(self.evidence, "quarantine.evidence")
        if self.sig is not None:
            _sig(self.sig, "quarantine")

    @classmethod
    def from_dict(cls, d: object) -> Quarantine:
        m = _obj(d, "quarantine")
        _type(m, QUARANTINE_TYPE, "quarantine")
        _exact_keys(m, {"type", "device_id", "reason", "quarantined_at", "sig"}, {"evidence"},
                    "quarantine")
        evidence = m.get("evidence")
        if evidence is not None:
            Reading.from_dict(evidence)  # a reading, well formed; its signature is the replay's
        return cls(device_id=DeviceId(hex_field(m["device_id"], "quarantine.device_id", 32)),
                   reason=_str(m["reason"], "quarantine.reason", 512),
                   quarantined_at=_time(m["quarantined_at"], "quarantine.quarantined_at"),
                   evidence=evidence, sig=_sig(m["sig"], "quarantine"))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": QUARANTINE_TYPE, "device_id": self.device_id,
                             "reason": self.reason, "quarantined_at": self.quarantined_at}
        if self.evidence is not None:
            d["evidence"] = dict(self.evidence)
        if self.sig is not None:
            d["sig"] = self.sig
        return d


@dataclass(frozen=True, slots=True)
class Release:
    """``eco.release/v1`` (log key): the operator looked at a quarantined device and decided it
    may credit again (from this entry on; what it sent while quarantined stays uncredited)."""

    device_id: DeviceId
    reason: str
    released_at: str
    sig: str | None = None

    def __post_init__(self) -> None:
        hex_field(self.device_id, "release.device_id", 32)
        _str(self.reason, "release.reason", 512)
        _time(self.released_at, "release.released_at")
        if self.sig is not None:
            _sig(self.sig, "release")

    @classmethod
    def from_dict(cls, d: object) -> Release:
        m = _obj(d, "release")
        _type(m, RELEASE_TYPE, "release")
        _exact_keys(m, {"type", "device_id", "reason", "released_at", "sig"}, set(), "release")
        return cls(device_id=DeviceId(hex_field(m["device_id"], "release.device_id", 32)),
                   reason=_str(m["reason"], "release.reason", 512),
                   released_at=_time(m["released_at"], "release.released_at"),
                   sig=_sig(m["sig"], "release"))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": RELEASE_TYPE, "device_id": self.device_id,
                             "reason": self.reason, "released_at": self.released_at}
        if self.sig is not None:
            d["sig"] = self.sig
        return d


Record = Reading | Receipt | Enrolment | Revocation | Quarantine | Release

_PARSERS: dict[str, Any] = {
    READING_TYPE: Reading.from_dict,
    RECEIPT_TYPE: Receipt.from_dict,
    ENROL_TYPE: Enrolment.from_dict,
    REVOKE_TYPE: Revocation.from_dict,
    QUARANTINE_TYPE: Quarantine.from_dict,
    RELEASE_TYPE: Release.from_dict,
}


def parse_record(d: object) -> Record | ProgrammeRecord | LogKeyChange:
    """Dispatch on ``type``; an unknown type or version is refused by name."""
    from .logkey import LOGKEY_TYPE, LogKeyChange
    from .programme_records import (
        BATCH_TYPE,
        CERTIFY_TYPE,
        REDEEM_TYPE,
        BatchSeal,
        Certification,
        Redemption,
    )

    parsers = {**_PARSERS, BATCH_TYPE: BatchSeal.from_dict, CERTIFY_TYPE: Certification.from_dict,
               REDEEM_TYPE: Redemption.from_dict, LOGKEY_TYPE: LogKeyChange.from_dict}
    m = _obj(d, "record")
    t = m.get("type")
    parser = parsers.get(t) if isinstance(t, str) else None
    if parser is None:
        known = ", ".join(sorted(parsers))
        raise UnknownType(f"record type {t!r} is not known to this verifier (knows: {known})")
    rec: Record | ProgrammeRecord | LogKeyChange = parser(m)
    return rec


__all__ = [
    "ENERGY_EXCUSING_FLAGS", "ENROL_TYPE", "GENESIS_PREV", "MAX_ENTRY_BYTES",
    "MAX_READINGS_PER_MESSAGE", "QUARANTINE_TYPE", "READING_TYPE", "RECEIPT_TYPE",
    "RELEASE_TYPE", "REVOKE_TYPE", "Enrolment", "Flag", "MeterSpec", "Quantity", "Quarantine",
    "Reading", "Receipt", "ReceiptItem", "ReceiptStatus", "Record", "Release", "Revocation",
    "Source", "parse_record",
]
