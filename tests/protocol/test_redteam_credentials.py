"""Red team of ``eco-verify credential`` (issue 20): a credential the holder signed itself with a
``did:key`` must not pass as the town's. A ``did:key`` issuer needs no DID document (§8.4), so
a buyer who gave the town's DID document (``--did-document``) was told VALID for a points
statement "issued by did:key:…" — the document silently unused. With documents given, the
issuer must be one of them; without, a did:key issuer still checks (the protocol allows it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eco_protocol.credentials import points_statement
from eco_protocol.data_integrity import add_proof
from eco_protocol.did import DidKey, did_document, did_key, did_key_method_id
from eco_protocol.keys import public_key_raw
from eco_protocol.verify_cli import main

_TOWN = "did:web:eco-ledger.town.test"
_AT = "2026-11-22T00:00:00Z"
_CP = {"origin": "eco-ledger.town.test", "size": 10, "rootHash": "A" * 43 + "="}


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    town_key, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    doc = did_document(_TOWN, [DidKey("key-1", public_key_raw(town_key.public_key()),
                                      "2026-01-01T00:00:00Z")])
    forged_issuer = did_key(public_key_raw(forger.public_key()))
    forged = add_proof(points_statement(forged_issuer, "hh-0001", 10**6, _AT, _CP),
                       forger, did_key_method_id(forged_issuer), _AT)
    genuine = add_proof(points_statement(_TOWN, "hh-0001", 120, _AT, _CP), town_key,
                        f"{_TOWN}#key-1", _AT)
    paths = tmp_path / "did.json", tmp_path / "forged.json", tmp_path / "genuine.json"
    for p, d in zip(paths, (doc, forged, genuine), strict=True):
        p.write_text(json.dumps(d), "utf-8")
    return paths


def test_a_self_signed_statement_is_refused_when_the_towns_document_is_given(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    doc, forged, genuine = _files(tmp_path)
    monkeypatch.setenv("LANG", "C")
    assert main(["credential", str(forged), "--did-document", str(doc),
                 "--at", "2026-11-23T00:00:00Z"]) == 1
    err = capsys.readouterr().err
    assert "INVALID" in err and _TOWN in err and "did:key:" in err, err
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert main(["credential", str(forged), "--did-document", str(doc),
                 "--at", "2026-11-23T00:00:00Z"]) == 1
    assert "発行者" in capsys.readouterr().err
    monkeypatch.setenv("LANG", "C")
    assert main(["credential", str(genuine), "--did-document", str(doc),
                 "--at", "2026-11-23T00:00:00Z"]) == 0
    assert f"issued by {_TOWN}" in capsys.readouterr().out
