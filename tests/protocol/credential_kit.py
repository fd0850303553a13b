"""A town that issues credentials, for the credential tests: its did:web, its log keys (one
changed half-way through the year), its DID document and a signer for each kind.

Keys come from :func:`tests.protocol.records_kit.fixed_key` (deterministic test keys, never used
outside tests); every credential goes through the production builders and ``add_proof``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eco_protocol.credentials import (
    enrolment_credential,
    points_statement,
    report_summary,
    status_list_credential,
)
from eco_protocol.data_integrity import add_proof
from eco_protocol.did import DidKey, did_document, did_web
from eco_protocol.keys import Ed25519PrivateKey, public_key_raw
from tests.protocol.records_kit import (
    fixed_key,
    make_checkpoint,
    make_device_key,
    make_enrolment,
    make_log_signer,
)

HOST = "eco-ledger.example-city.lg.jp"
CHANGED_AT = "2026-07-01T00:00:00Z"
NOW = "2026-12-05T00:00:00Z"
STATUS_URL = f"https://{HOST}/credentials/status/1"


@dataclass
class Town:
    did: str = did_web(HOST)
    old_key: Ed25519PrivateKey = field(default_factory=lambda: fixed_key("town/log-1"))
    key: Ed25519PrivateKey = field(default_factory=lambda: fixed_key("town/log-2"))

    def document(self) -> dict[str, Any]:
        return did_document(self.did, [
            DidKey("log-1", public_key_raw(self.old_key), "2026-01-01T00:00:00Z", CHANGED_AT),
            DidKey("log-2", public_key_raw(self.key), CHANGED_AT)])

    def sign(self, unsigned: dict[str, Any], created: str = "2026-12-01T00:00:00Z", *,
             old: bool = False) -> dict[str, Any]:
        key, fragment = (self.old_key, "log-1") if old else (self.key, "log-2")
        return add_proof(unsigned, key, f"{self.did}#{fragment}", created)

    def points(self, balance: int = 1250, **kw: Any) -> dict[str, Any]:
        return self.sign(points_statement(
            self.did, "hh-10a2915c36ceeb3d1f15", balance, "2026-12-01T00:00:00Z",
            {"origin": HOST, "size": 1049,
             "rootHash": "DnB8MNIGN7buFyoSUBLOH8maMUsmKy5LqHfu5nWf8h0="},
            **kw))

    def summary(self) -> dict[str, Any]:
        return self.sign(report_summary(self.did, batch_report()))

    def enrolment(self, index: int = 7) -> dict[str, Any]:
        record = make_enrolment(make_device_key(1), make_log_signer())
        return self.sign(enrolment_credential(self.did, record, STATUS_URL, index),
                         "2026-11-01T00:00:01Z")

    def status_list(self, revoked: tuple[int, ...] = ()) -> dict[str, Any]:
        return self.sign(status_list_credential(self.did, STATUS_URL, revoked,
                                                valid_from="2026-12-01T00:00:00Z"))


def batch_report() -> dict[str, Any]:
    """A dict of report.json's shape (docs/protocol.md §5), with a real signed checkpoint."""
    signer = make_log_signer()
    return {
        "type": "eco.batch-report/v1", "batch_id": "city-pv-2026:pv:2026-05-01..2026-05-03",
        "programme": "city-pv-2026",
        "period": {"start": "2026-04-30T15:00:00Z", "end": "2026-05-02T15:00:00Z"},
        "methodology": {"id": "EN-R-002", "version": "3.0", "grid_factors": []},
        "households": [{"household": "hh-1"}, {"household": "hh-2"}],
        "exclusions": {}, "totals": {"reduction_g": 89788, "carry_in_g": 0, "credits_t": 0,
                                     "carry_over_g": 89788},
        "certified_serials": None, "seal": {}, "previous_seals": [], "sample": [],
        "enrolments": [], "checkpoint": make_checkpoint([b"a", b"b", b"c"], signer),
        "log_key": signer.verifier.vkey, "demonstration": True, "sig": "x",
    }
