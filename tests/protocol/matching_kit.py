"""A real signed certificate export for the hourly matching tests: two bundles issued on
:func:`tests.protocol.claims_kit.two_hour_log` (600 Wh in hour 0, 1000 Wh in hour 1), sold to a
buyer's account (hour 0 whole, 400 ids of hour 1) and to another account (the other 600 ids of
hour 1), and cancelled by each holder with a request signed by its own key, for a consumption
period covering both hours; written as ``bundles.json`` and ``proofs.json`` with every entry's
inclusion proof to a signed checkpoint, as ``eco-aggregator certificates export`` does. Keys
are generated here, never stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eco_protocol.accounts import CANCEL, ClaimRequest, account_of, sign_request
from eco_protocol.certificate_proofs import ProvedEntry, proof_document
from eco_protocol.certificates import CertificateBundle, IssuerConfig, ProductionDevice
from eco_protocol.claims import CANCELLED, TRANSFERRED, BundleRange, Claim
from eco_protocol.encoding import format_time
from eco_protocol.merkle import MemoryTree, leaf_hash
from eco_protocol.programme_records import Period
from eco_protocol.signing import sign_record
from tests.protocol.claims_kit import CLAIMED_AT, HOUR0, HOUR1, Log, two_hour_log
from tests.protocol.records_kit import make_checkpoint

PERIOD = Period(format_time(HOUR0 - timedelta(hours=9)), format_time(HOUR0 + timedelta(hours=15)))


@dataclass
class Export:
    """The export's directory, the log's verifier key and the two accounts."""

    dir: Path
    log_vkey: str
    buyer: str
    other: str


def _signed(log: Log, claim: Claim) -> int:
    return log.append(sign_record(claim.to_dict(), log.signer.private_key))


def _cancel(log: Log, key: Ed25519PrivateKey, ref: str, first: int, last: int,
            period: Period) -> int:
    request = sign_request(ClaimRequest(CANCEL, ref, first, last, account_of(key), CLAIMED_AT,
                                        period=period, beneficiary="Example Steel Co."), key)
    return _signed(log, Claim(f"cancelled:{ref}:{first}", CANCELLED, "prog-2026", CLAIMED_AT,
                              ref=ref, bundle=BundleRange(first, last),
                              account=account_of(key), period=period, request=request))


def _bundle(log: Log, index: int) -> dict[str, object]:
    c = Claim.from_dict(json.loads(log.entries[index]))
    assert c.bundle is not None and c.hour_dt is not None
    return CertificateBundle(
        c.claim_id, c.bundle.first, c.bundle.last, c.hour_dt,
        ProductionDevice("hh-0001", 5000), IssuerConfig("Example City", "JP", "JP"),
        tuple((p.index, p.entry_sha256, p.wh) for p in c.parts), c.claimed_at,
        index).to_dict()


def certificate_export(out: Path, period: Period = PERIOD) -> Export:
    """Write the export described in the module docstring to ``out``; the buyer cancels its
    hour-0 ids for ``period`` (a period not covering hour 0 makes them not count)."""
    log = two_hour_log()
    buyer, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    issued = [log.issue("gc-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)]),
              log.issue("gc-2", HOUR1, [(log.at[(1, "pv1", 2)], 1000)])]
    for ref, first, last, to in (("gc-1", 1, 600, buyer), ("gc-2", 601, 1000, buyer),
                                 ("gc-2", 1001, 1600, other)):
        _signed(log, Claim(f"transferred:{first}", TRANSFERRED, "prog-2026", CLAIMED_AT,
                           ref=ref, bundle=BundleRange(first, last), account=account_of(to)))
    _cancel(log, buyer, "gc-1", 1, 600, period)
    _cancel(log, buyer, "gc-2", 601, 1000, PERIOD)
    _cancel(log, other, "gc-2", 1001, 1600, PERIOD)
    tree = MemoryTree(leaf_hash(e) for e in log.entries)
    proved = [ProvedEntry(i, e, tuple(tree.inclusion_proof(i, len(log.entries))))
              for i, e in enumerate(log.entries)]
    out.mkdir(parents=True)
    (out / "bundles.json").write_text(json.dumps({"bundles": [_bundle(log, i)
                                                              for i in issued]}), "utf-8")
    (out / "proofs.json").write_text(json.dumps(proof_document(
        make_checkpoint(log.entries, log.signer), proved)), "utf-8")
    return Export(out, log.signer.verifier.vkey, account_of(buyer), account_of(other))


def jst_csv(rows: list[tuple[datetime, str]], header: str = "hour_start,consumption_kwh") -> str:
    """A consumption CSV with JST times (+09:00), as a Japanese utility's download spells them."""
    jst = timedelta(hours=9)
    return header + "\n" + "".join(f"{(at + jst).replace(tzinfo=None).isoformat()}+09:00,{v}\n"
                                    for at, v in rows)


__all__ = ["HOUR0", "HOUR1", "PERIOD", "Export", "certificate_export", "jst_csv"]
