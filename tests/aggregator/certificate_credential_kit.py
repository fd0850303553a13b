"""A municipality with issued certificate bundles, for the certificate credential tests: a real
initialised state (SQLite, a did:web from its origin), three homes' signed readings through the
real intake (:func:`tests.methodology.batch_kit.three_homes`), certificates issued by
``eco-aggregator certificates issue``, and buyers with keys generated here who move them with
signed requests — every step through the aggregator's own CLI, in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.cli.common import open_ledger
from aggregator.config import load_config
from eco_protocol.accounts import CANCEL, TRANSFER, ClaimRequest, account_of, sign_request
from eco_protocol.encoding import format_time
from eco_protocol.programme_records import Period
from tests.methodology.batch_kit import three_homes
from tests.webui.webui_kit import run_cli

ORIGIN = "eco-ledger.certificates.test"
DID = f"did:web:{ORIGIN}"
PROG = "cert-credential-prog"


@dataclass
class CertTown:
    """The state directory's configuration and the buyers' keys."""

    conf: Path
    state: Path

    def cli(self, *args: str) -> Any:
        return run_cli(self.conf, *args)

    def bundles(self, household: str | None = None) -> list[dict[str, Any]]:
        """What ``certificates list`` prints for each issued bundle."""
        extra = ("--household", household) if household else ()
        return list(self.cli("certificates", "list", *extra)["bundles"])

    def size(self) -> int:
        """The log's size now (what a refused request must leave as it was)."""
        ledger = open_ledger(load_config(self.conf))
        try:
            return ledger.size()
        finally:
            ledger.store.close()

    def did_document(self) -> dict[str, Any]:
        return dict(self.cli("credential", "did-document"))

    def credential(self, issuance_id: str) -> dict[str, Any]:
        return dict(self.cli("credential", "certificate", issuance_id))

    def export(self, out: Path) -> dict[str, Any]:
        return dict(self.cli("certificates", "export", "--out", str(out)))

    def request(self, key: Ed25519PrivateKey, action: str, ref: str, first: int, last: int,
                *, to: str | None = None, period: tuple[str, str] | None = None,
                beneficiary: str | None = None) -> None:
        """A buyer's signed transfer or cancellation, logged as the operator logs it."""
        r = ClaimRequest(action, ref, first, last, account_of(key),
                         format_time(datetime.now(UTC).replace(microsecond=0)), to,
                         None if period is None else Period(*period), beneficiary)
        path = self.state / f"request-{action}-{first}-{last}.json"
        path.write_text(json.dumps(sign_request(r, key).to_dict()), "utf-8")
        self.cli("certificates", "transfer" if action == TRANSFER else "cancel", str(path))

    def assign(self, ref: str, first: int, last: int, to: str) -> None:
        self.cli("certificates", "assign", "--ref", ref, "--ids", f"{first}..{last}", "--to", to)


def cert_town(tmp_path: Path, issue: bool = True) -> CertTown:
    """Initialise, enrol three homes (the third with a battery: it gets no certificate), feed
    8 hours of readings and (``issue``) issue certificates for the day."""
    state = tmp_path / "agg"
    conf = state / "aggregator.toml"
    run_cli(conf, "init", str(state), "--origin", ORIGIN)
    run_cli(conf, "programme", "init", "--id", PROG)
    ledger = open_ledger(load_config(conf))
    try:
        three_homes(ledger, PROG, intervals=16, battery_home=True)
    finally:
        ledger.store.close()
    if issue:
        run_cli(conf, "certificates", "issue", "--period", "2026-11-22..2026-11-23")
    return CertTown(conf, state)


def ids_of(row: dict[str, Any]) -> tuple[int, int]:
    """A ``certificates list`` row's id range."""
    first, _, last = str(row["ids"]).partition("..")
    return int(first), int(last)


__all__ = ["CANCEL", "DID", "ORIGIN", "PROG", "TRANSFER", "CertTown", "cert_town", "ids_of"]
