"""A buyer's signed request moves only ids that buyer holds (issue 19 point 3). Found by the web
UI's tests: ids the town still holds were moved by *any* did:key's signed request — a stranger
could cancel the town's unsold certificates, or transfer them to itself — because the holder was
checked only for ids an account held. Both the aggregator (which refuses to log it) and the
replay a buyer runs (which refuses a log holding it) must say no."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.cli import main as aggregator_main
from eco_protocol.accounts import account_of
from tests.aggregator.certificate_credential_kit import CANCEL, TRANSFER, cert_town, ids_of


@pytest.mark.parametrize("action", [CANCEL, TRANSFER])
def test_a_strangers_request_on_the_towns_ids_is_refused_and_nothing_is_logged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str) -> None:
    town = cert_town(tmp_path)
    row = town.bundles()[0]
    first, last = ids_of(row)
    stranger = Ed25519PrivateKey.generate()
    before = town.size()
    with pytest.raises(AssertionError):  # run_cli: the command exits non-zero
        town.request(stranger, action, str(row["issuance_id"]), first, last,
                     to=account_of(stranger) if action == TRANSFER else None,
                     period=("2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")
                     if action == CANCEL else None,
                     beneficiary="stranger" if action == CANCEL else None)
    assert "held by the issuer" in capsys.readouterr().err
    assert town.size() == before
    # the same request after the town sold the ids to the stranger is the stranger's to make
    town.assign(str(row["issuance_id"]), first, last, account_of(stranger))
    town.request(stranger, action, str(row["issuance_id"]), first, last,
                 to=account_of(Ed25519PrivateKey.generate()) if action == TRANSFER else None,
                 period=("2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")
                 if action == CANCEL else None,
                 beneficiary="buyer" if action == CANCEL else None)
    assert aggregator_main(["--config", str(town.conf), "ledger", "verify"]) == 0
