"""Red team of the buyer's signed requests at the aggregator's intake (issue 19 point 3): a
signed request is the holder's only dated word, so the town logs it only while fresh — one
from the future (beyond clock skew) or older than 30 days is refused, in the reader's language,
with nothing logged; a fresh one from the same holder is then logged. Every step through the
aggregator's own CLI on a real initialised state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.cli import main as aggregator_main
from eco_protocol.accounts import CANCEL, ClaimRequest, account_of, sign_request
from eco_protocol.encoding import format_time
from eco_protocol.programme_records import Period
from tests.aggregator.certificate_credential_kit import cert_town, ids_of

_PERIOD = Period("2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")



def _cancel_file(tmp_path: Path, key: Ed25519PrivateKey, ref: str, first: int, last: int,
                 at: datetime) -> Path:
    r = ClaimRequest(CANCEL, ref, first, last, account_of(key),
                     format_time(at.replace(microsecond=0)), period=_PERIOD,
                     beneficiary="Example Steel Co.")
    path = tmp_path / f"cancel-{at.timestamp():.0f}.json"
    path.write_text(json.dumps(sign_request(r, key).to_dict()), "utf-8")
    return path


def test_a_stale_or_future_request_is_refused_and_a_fresh_one_logged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    town = cert_town(tmp_path)
    row = town.bundles()[0]
    ref, (first, last) = str(row["issuance_id"]), ids_of(row)
    buyer = Ed25519PrivateKey.generate()
    town.assign(ref, first, last, account_of(buyer))
    now = datetime.now(UTC)
    before = town.size()
    capsys.readouterr()
    monkeypatch.setenv("LANG", "C")
    for at, words in ((now + timedelta(days=1), "in the future"),
                      (now - timedelta(days=90), "more than 30 days old")):
        path = _cancel_file(tmp_path, buyer, ref, first, last, at)
        assert aggregator_main(["--config", str(town.conf), "certificates", "cancel",
                                str(path)]) != 0
        err = capsys.readouterr().err
        assert words in err and "log is unchanged" in err, err
        assert town.size() == before
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    path = _cancel_file(tmp_path, buyer, ref, first, last, now - timedelta(days=31))
    assert aggregator_main(["--config", str(town.conf), "certificates", "cancel",
                            str(path)]) != 0
    assert "日より前です" in capsys.readouterr().err
    monkeypatch.setenv("LANG", "C")
    fresh = _cancel_file(tmp_path, buyer, ref, first, last, now - timedelta(minutes=1))
    assert aggregator_main(["--config", str(town.conf), "certificates", "cancel",
                            str(fresh)]) == 0
    assert town.size() > before
    assert aggregator_main(["--config", str(town.conf), "ledger", "verify"]) == 0


def test_a_sale_to_a_mistyped_account_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """``certificates assign --to`` with a did:key no key can sign for would strand the ids for
    good (nobody could ever move or cancel them): refused with nothing logged, as the web form
    already refuses it."""
    town = cert_town(tmp_path)
    row = town.bundles()[0]
    ref, (first, last) = str(row["issuance_id"]), ids_of(row)
    typo = account_of(Ed25519PrivateKey.generate())[:-1]
    before = town.size()
    capsys.readouterr()
    assert aggregator_main(["--config", str(town.conf), "certificates", "assign", "--ref", ref,
                            "--ids", f"{first}..{last}", "--to", typo]) != 0
    err = capsys.readouterr().err
    assert "log is unchanged" in err and "to" in err, err
    assert town.size() == before
