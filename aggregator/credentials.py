"""Issuing the credentials people carry: a household's eco-points statement, a batch's summary
for buyers, a device's enrolment — each a W3C Verifiable Credential built by
:mod:`eco_protocol.credentials` and signed with an ``eddsa-jcs-2022`` proof by the log key, as a
verification method of the municipality's ``did:web`` (:mod:`aggregator.did_web`).

The one module that signs them, so that the CLI (``eco-aggregator credential …``), the batch
report (:func:`aggregator.batches.write_report`) and the read API (the status list) agree on the
issuer, the key and what goes in. What a credential states is computed from the log at a signed
checkpoint and names it, as everything the municipality reports is; a credential carries the
household's pseudonym, never a name, and a points statement its balance, not its history, unless
the resident asks for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eco_protocol import credentials as vc
from eco_protocol.canonical import parse_json
from eco_protocol.data_integrity import add_proof
from eco_protocol.did import device_id_from
from eco_protocol.encoding import b64encode, day_of, format_time, parse_time
from eco_protocol.keyfile import atomic_write
from eco_protocol.messages import msg
from eco_protocol.note import Checkpoint

from .accounting import points_statement, scan
from .config import Config
from .did_web import Issuer, issuer_of
from .errors import KeyChanged, Rejected
from .ledger import Ledger
from .logkeys import load_log_signer
from .programme import Programme
from .status_list import StatusListCache, live_device, status_index_for
from .store.interface import CheckpointRow


def now_utc() -> datetime:
    """Now in whole seconds, as a proof's ``created`` is spelled."""
    return datetime.now(UTC).replace(microsecond=0)


def sign(issuer: Issuer, ledger: Ledger, unsigned: dict[str, Any],
         now: datetime) -> dict[str, Any]:
    """``unsigned`` with a proof by the ledger's log key, named as the did:web's method."""
    return add_proof(unsigned, ledger.signer.private_key,
                     issuer.method_id(ledger.signer.verifier), format_time(now))


def _checkpoint(ledger: Ledger) -> CheckpointRow:
    """The latest checkpoint, signed now if the log grew since the last one."""
    ledger.checkpoint_now()
    row = ledger.latest_checkpoint()
    assert row is not None  # checkpoint_now signs one on an empty log too
    return row


def checkpoint_ref(row: CheckpointRow) -> dict[str, Any]:
    """How a credential names a checkpoint: the log, its size and root (what ``eco-verify``
    and a mirror's ``/checkpoint`` show)."""
    cp = Checkpoint.from_text(row.note.split("\n\n", 1)[0] + "\n")
    return {"origin": cp.origin, "size": cp.size, "rootHash": b64encode(cp.root_hash)}


def points_credential(issuer: Issuer, ledger: Ledger, programme: Programme, household: str,
                      history: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """A household's eco-points balance computed at the latest checkpoint (signed now if the log
    grew), the days' reductions only if ``history``."""
    row = _checkpoint(ledger)
    view = scan(ledger.store, row.size, rules=programme.rules)
    if household not in view.household_devices(programme.id):
        raise Rejected(msg("aggregator.credentials.no_device", household=household,
                           programme=programme.id, size=row.size))
    st = points_statement(view, programme, household,
                          today=day_of(parse_time(row.signed_at, "checkpoint signed_at")))
    days = [{"day": d, "reductionG": g} for d, g in st.days] if history else None
    unsigned = vc.points_statement(issuer.did, household, st.balance, row.signed_at,
                                   checkpoint_ref(row), days)
    return sign(issuer, ledger, unsigned, now or now_utc())


def report_credential(issuer: Issuer, ledger: Ledger, report: dict[str, Any],
                      now: datetime | None = None) -> dict[str, Any]:
    """The buyer's summary of a signed ``report.json`` (which it names by hash)."""
    return sign(issuer, ledger, vc.report_summary(issuer.did, report), now or now_utc())


def enrolment_credential(issuer: Issuer, ledger: Ledger, device: str,
                         now: datetime | None = None) -> dict[str, Any]:
    """The enrolment of a device that is enrolled and not revoked, revocable at its status
    position (drawn and kept on first issue, :func:`aggregator.status_list.status_index_for`)."""
    device_id = device_id_from(device)
    row = live_device(ledger.store, device_id)
    index = status_index_for(ledger.store, device_id)
    _checkpoint(ledger)  # the enrolment's entry is under a checkpoint the key signed
    enrolment = parse_json(row.enrolment)
    if not isinstance(enrolment, dict):
        raise Rejected(msg("aggregator.credentials.not_record", device=device_id))
    unsigned = vc.enrolment_credential(issuer.did, enrolment, issuer.status_list_url, index)
    return sign(issuer, ledger, unsigned, now or now_utc())


def status_list(issuer: Issuer, ledger: Ledger, now: datetime | None = None) -> dict[str, Any]:
    """The status list as the read API serves it now (a fresh signature)."""
    cache = StatusListCache(issuer, lambda _vkey: ledger.signer.private_key)
    return dict(json.loads(cache.current(ledger.store, now or now_utc())))


def signing_key(cfg: Config, vkey: str) -> Ed25519PrivateKey:
    """The private log key whose verifier key is ``vkey`` (the store's current one): the key
    file, after finishing a rotation cut short (:func:`aggregator.logkeys.load_log_signer`)."""
    signer = load_log_signer(cfg, vkey)
    if signer.verifier.vkey != vkey:
        raise KeyChanged(msg("aggregator.credentials.key_changed", path=cfg.key_file,
                             held=signer.verifier.vkey, vkey=vkey))
    return signer.private_key


def api_options(cfg: Config) -> dict[str, Any]:
    """The read API's did:web resources (:class:`aggregator.http_api.ApiConfig`'s ``did`` and
    ``status_list``): none without a did:web; the document but no status list on a host
    without the log key file (a mirror), since the list is signed."""
    if cfg.did_host is None:
        return {}
    issuer = issuer_of(cfg)
    if not cfg.key_file.exists():
        return {"did": issuer}
    return {"did": issuer,
            "status_list": StatusListCache(issuer, lambda vkey: signing_key(cfg, vkey))}


def write_json(path: Path, obj: dict[str, Any]) -> None:
    """A credential (or document) as a file: indented UTF-8, written atomically, 0644 — it is
    meant to be handed out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode("utf-8"),
                 0o644)


REPORT_CREDENTIAL = "report-credential.json"


def report_credential_beside(issuer: Issuer | None, ledger: Ledger, report: dict[str, Any],
                             out: Path) -> Path | None:
    """``report-credential.json`` beside ``report.json`` in ``out`` (nothing without an
    issuer: a log whose origin is not a host name and no ``[did] host``)."""
    if issuer is None:
        return None
    path = out / REPORT_CREDENTIAL
    write_json(path, report_credential(issuer, ledger, report))
    return path


def configured_issuer(cfg: Config) -> Issuer | None:
    """The configured issuer, None when the config has none (no credentials are issued)."""
    return None if cfg.did_host is None else issuer_of(cfg)


__all__ = ["REPORT_CREDENTIAL", "api_options", "checkpoint_ref", "enrolment_credential",
           "now_utc", "points_credential", "report_credential",
           "report_credential_beside", "sign", "signing_key", "status_list",
           "configured_issuer", "write_json"]
