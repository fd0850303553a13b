"""Builders for protocol-level test data: keys, signed records, ledgers and evidence directories.

Shared by every test suite (protocol, aggregator, agent, end-to-end), so everything here builds
*valid* data by default and takes keyword overrides to make it invalid on purpose. The builders
go through the production code (:func:`eco_protocol.signing.sign_record`,
:func:`eco_protocol.canonical.canonical_bytes`, :class:`eco_protocol.merkle.MemoryTree`,
:func:`eco_protocol.note.sign_note`), never around it, so a test that uses them checks the same
bytes a real device or aggregator would produce.

Keys are derived from labels (SHA-256 of ``"eco-test-key/" + label`` as the Ed25519 seed), so
the same label always gives the same key and the same signatures: golden files built from them
are byte-identical on every run. Never use these keys outside tests.

Records are returned as plain ``dict`` (the wire form); ledger entries as ``bytes`` (their
RFC 8785 canonical form, signature included), exactly as docs/protocol.md §4 stores them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import b64encode, format_time
from eco_protocol.keys import (
    DeviceId,
    Ed25519PrivateKey,
    device_id_of,
    private_key_from_raw,
    public_key_raw,
)
from eco_protocol.merkle import MemoryTree, leaf_hash
from eco_protocol.note import Checkpoint, NoteSigner, sign_note
from eco_protocol.records import (
    ENROL_TYPE,
    GENESIS_PREV,
    READING_TYPE,
    RECEIPT_TYPE,
    REVOKE_TYPE,
)
from eco_protocol.signing import record_hash, sign_record

DEFAULT_ORIGIN = "eco-ledger.example-city.lg.jp"
"""The log origin used in docs/protocol.md's examples."""

BASE_TIME = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
"""Start of the first interval of :func:`make_reading` when no ``start`` is given."""

INTERVAL = timedelta(minutes=30)
"""The default reading period (docs/protocol.md §2)."""

DEFAULT_ENROLLED_AT = "2026-11-01T00:00:00Z"


# --- keys ---------------------------------------------------------------------------------------


def fixed_key(label: str) -> Ed25519PrivateKey:
    """A deterministic Ed25519 key for ``label`` (seed = SHA-256("eco-test-key/" ‖ label))."""
    return private_key_from_raw(hashlib.sha256(b"eco-test-key/" + label.encode()).digest())


def make_device_key(n: int = 1) -> Ed25519PrivateKey:
    """Device key number ``n`` (deterministic)."""
    return fixed_key(f"device-{n}")


def device_id(key: Ed25519PrivateKey) -> DeviceId:
    """The docs/protocol.md device_id of a device key."""
    return device_id_of(public_key_raw(key))


def make_log_signer(origin: str = DEFAULT_ORIGIN, label: str | None = None) -> NoteSigner:
    """The log key for ``origin``: a signed-note signer whose name is the log's origin.

    ``label`` picks a different deterministic key for the same origin (e.g. an impostor log).
    """
    return NoteSigner(origin, fixed_key(label or f"log/{origin}"))


def make_witness_signer(name: str) -> NoteSigner:
    """A witness key named ``name`` (deterministic)."""
    return NoteSigner(name, fixed_key(f"witness/{name}"))


# --- records ------------------------------------------------------------------------------------


def default_meters() -> list[dict[str, Any]]:
    """One PV meter ``pv1`` rated 5 kW: 2500 Wh is the most a 30-minute reading may carry."""
    return [{"id": "pv1", "quantity": "pv_generation", "protocol": "sunspec-modbus",
             "rated_w": 5000}]


def make_enrolment(device_key: Ed25519PrivateKey, log_signer: NoteSigner,
                   meters: Sequence[Mapping[str, Any]] | None = None, *,
                   household: str = "hh-0001", programme: str = "prog-2026",
                   fit: Mapping[str, Any] | None = None,
                   enrolled_at: str = DEFAULT_ENROLLED_AT,
                   sign: bool = True, **overrides: Any) -> dict[str, Any]:
    """A signed ``eco.enrol/v1`` binding ``device_key`` to its meters, signed by the log key.

    ``overrides`` replace fields *before* signing (so the result still verifies); change the
    returned dict afterwards to make a record whose signature no longer verifies.
    """
    record: dict[str, Any] = {
        "type": ENROL_TYPE,
        "device_id": device_id(device_key),
        "public_key": b64encode(public_key_raw(device_key)),
        "household": household,
        "programme": programme,
        "meters": [dict(m) for m in (meters if meters is not None else default_meters())],
        "fit": dict(fit) if fit is not None else {"excluded": "grid_export",
                                                  "until": "2029-03-31T00:00:00Z",
                                                  "installed": "2026-06-01"},
        "enrolled_at": enrolled_at,
    }
    record.update(overrides)
    return sign_record(record, log_signer.private_key) if sign else record


def make_revocation(device: Ed25519PrivateKey | str, log_signer: NoteSigner, *,
                    reason: str = "device replaced", revoked_at: str = "2026-12-01T00:00:00Z",
                    **overrides: Any) -> dict[str, Any]:
    """A signed ``eco.revoke/v1`` for a device (its key or its device_id)."""
    dev = device if isinstance(device, str) else device_id(device)
    record: dict[str, Any] = {"type": REVOKE_TYPE, "device_id": dev, "reason": reason,
                              "revoked_at": revoked_at}
    record.update(overrides)
    return sign_record(record, log_signer.private_key)


def interval_start(seq: int) -> datetime:
    """Start of the interval :func:`make_reading` uses for ``seq`` by default."""
    return BASE_TIME + (seq - 1) * INTERVAL


def make_reading(device_key: Ed25519PrivateKey, seq: int = 1, prev: str | None = None, *,
                 meter: str = "pv1", quantity: str = "pv_generation",
                 start: datetime | str | None = None, end: datetime | str | None = None,
                 energy_wh: int = 500, register_start_wh: int | None = None,
                 register_end_wh: int | None = None, flags: Sequence[str] = (),
                 co2_g_estimate: int | None = None, sign: bool = True,
                 **overrides: Any) -> dict[str, Any]:
    """A signed ``eco.reading/v1`` of ``device_key``.

    Defaults make a plausible reading: the ``seq``-th 30-minute interval after
    :data:`BASE_TIME`, ``energy_wh`` equal to the register difference, ``prev`` = 64 zeros for
    seq 1. For seq > 1 pass ``prev`` (the hex SHA-256 of the previous reading, see
    :func:`eco_protocol.signing.record_hash`) or use :class:`ReadingChain`. ``overrides``
    replace any field before signing; ``sign=False`` returns the unsigned body.
    """
    if prev is None:
        if seq != 1:
            raise ValueError("make_reading: pass prev for seq > 1 (or use ReadingChain)")
        prev = GENESIS_PREV
    start_dt = interval_start(seq) if start is None else start
    start_s = format_time(start_dt) if isinstance(start_dt, datetime) else start_dt
    if end is None:
        if not isinstance(start_dt, datetime):
            raise ValueError("make_reading: pass end when start is a string")
        end = start_dt + INTERVAL
    end_s = format_time(end) if isinstance(end, datetime) else end
    reg_start = 1_000_000 + (seq - 1) * 1000 if register_start_wh is None else register_start_wh
    reg_end = reg_start + energy_wh if register_end_wh is None else register_end_wh
    record: dict[str, Any] = {
        "type": READING_TYPE,
        "device_id": device_id(device_key),
        "seq": seq,
        "prev": prev,
        "meter": meter,
        "quantity": quantity,
        "start": start_s,
        "end": end_s,
        "register_start_wh": reg_start,
        "register_end_wh": reg_end,
        "energy_wh": energy_wh,
        "flags": list(flags),
        "source": {"protocol": "sunspec-modbus", "meter_serial": "SN-0001",
                   "meter_model": "TEST-METER"},
        "co2_g_estimate": energy_wh * 434 // 1000 if co2_g_estimate is None else co2_g_estimate,
    }
    record.update(overrides)
    return sign_record(record, device_key) if sign else record


@dataclass
class ReadingChain:
    """Successive readings of one device with correct ``seq`` and ``prev``.

    >>> chain = ReadingChain(make_device_key(1))
    >>> r1, r2 = chain.next(), chain.next(energy_wh=700)
    """

    device_key: Ed25519PrivateKey
    seq: int = 0
    prev: str = GENESIS_PREV
    readings: list[dict[str, Any]] = field(default_factory=list)
    registers: dict[str, int] = field(default_factory=dict)  # meter → last register_end_wh

    def next(self, **kwargs: Any) -> dict[str, Any]:
        """Build, sign and remember the next reading; ``kwargs`` go to :func:`make_reading`.
        Unless given, its register continues from the same meter's previous reading, as a real
        meter's does (docs/protocol.md §2)."""
        self.seq += 1
        meter = kwargs.get("meter", "pv1")
        if "register_start_wh" not in kwargs and meter in self.registers:
            kwargs["register_start_wh"] = self.registers[meter]
        reading = make_reading(self.device_key, self.seq, self.prev, **kwargs)
        self.registers[meter] = reading["register_end_wh"]
        self.prev = record_hash(reading).hex()
        self.readings.append(reading)
        return reading


def make_receipt(device_key: Ed25519PrivateKey, log_signer: NoteSigner,
                 items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A signed ``eco.receipt/v1`` with the given items (dicts in wire form)."""
    record = {"type": RECEIPT_TYPE, "device_id": device_id(device_key),
              "items": [dict(i) for i in items]}
    return sign_record(record, log_signer.private_key)


def entry_bytes(record: Mapping[str, Any]) -> bytes:
    """Ledger entry bytes of a signed record: its RFC 8785 canonical form."""
    return canonical_bytes(record)


# --- ledgers, checkpoints, evidence -------------------------------------------------------------


def make_log(log_signer: NoteSigner, *, devices: int = 2, readings_per_device: int = 3,
             first_device: int = 1) -> list[bytes]:
    """A valid ledger: each device is enrolled, then readings interleave device by device.

    Device ``n`` uses :func:`make_device_key` (``first_device`` … ``first_device+devices-1``) and
    household ``hh-000n``. Returns the entry bytes in index order.
    """
    keys = [make_device_key(n) for n in range(first_device, first_device + devices)]
    entries = [entry_bytes(make_enrolment(k, log_signer, household=f"hh-{n:04d}"))
               for n, k in enumerate(keys, first_device)]
    chains = [ReadingChain(k) for k in keys]
    for _ in range(readings_per_device):
        for chain in chains:
            entries.append(entry_bytes(chain.next()))
    return entries


def make_checkpoint(entries: Sequence[bytes], log_signer: NoteSigner,
                    witnesses: Iterable[NoteSigner] = (), size: int | None = None) -> str:
    """The signed checkpoint note for the first ``size`` (default: all) entries."""
    n = len(entries) if size is None else size
    tree = MemoryTree(leaf_hash(e) for e in entries[:n])
    text = Checkpoint(log_signer.name, n, tree.root()).text()
    return sign_note(text, [log_signer, *witnesses])


def entries_jsonl(entries: Sequence[bytes]) -> str:
    """``entries.jsonl`` content: line i = ``{"index": i, "entry_b64": ...}``."""
    return "".join(json.dumps({"index": i, "entry_b64": b64encode(e)}) + "\n"
                   for i, e in enumerate(entries))


@dataclass(frozen=True)
class EvidenceDir:
    """An evidence directory written by :func:`make_evidence_dir`, and what went into it."""

    path: Path
    log_signer: NoteSigner
    witnesses: tuple[NoteSigner, ...]
    entries: tuple[bytes, ...]
    checkpoint: str

    @property
    def log_vkey(self) -> str:
        return self.log_signer.verifier.vkey

    @property
    def entries_path(self) -> Path:
        return self.path / "entries.jsonl"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint"


def write_evidence_dir(path: Path, entries: Sequence[bytes], log_signer: NoteSigner,
                       witnesses: Sequence[NoteSigner] = (),
                       checkpoint: str | None = None) -> EvidenceDir:
    """Write the docs/protocol.md §5 ``evidence/`` layout for ``entries`` into ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    note = make_checkpoint(entries, log_signer, witnesses) if checkpoint is None else checkpoint
    (path / "checkpoint").write_text(note, "utf-8")
    (path / "log.vkey").write_text(log_signer.verifier.vkey + "\n", "utf-8")
    (path / "witnesses.vkeys").write_text(
        "".join(w.verifier.vkey + "\n" for w in witnesses), "utf-8")
    (path / "entries.jsonl").write_text(entries_jsonl(entries), "utf-8")
    return EvidenceDir(path, log_signer, tuple(witnesses), tuple(entries), note)


def make_evidence_dir(path: Path, *, log_signer: NoteSigner | None = None,
                      witnesses: Sequence[NoteSigner] = (), devices: int = 2,
                      readings_per_device: int = 3,
                      entries: Sequence[bytes] | None = None) -> EvidenceDir:
    """A complete, valid evidence directory in ``path`` (created if missing).

    By default a log of :func:`make_log` signed by :func:`make_log_signer`; pass ``entries`` for
    your own ledger, ``witnesses`` to co-sign the checkpoint.
    """
    signer = log_signer or make_log_signer()
    ents = list(entries) if entries is not None else make_log(
        signer, devices=devices, readings_per_device=readings_per_device)
    return write_evidence_dir(path, ents, signer, witnesses)


__all__ = [
    "BASE_TIME", "DEFAULT_ORIGIN", "INTERVAL", "EvidenceDir", "ReadingChain", "default_meters",
    "device_id", "entries_jsonl", "entry_bytes", "fixed_key", "interval_start",
    "make_checkpoint", "make_device_key", "make_enrolment", "make_evidence_dir", "make_log",
    "make_log_signer", "make_reading", "make_receipt", "make_revocation", "make_witness_signer",
    "write_evidence_dir",
]
