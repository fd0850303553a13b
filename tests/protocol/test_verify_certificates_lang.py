"""``eco-verify certificates`` in the buyer's language (issue 17 point 1), on a real signed log
with inclusion proofs (tests/protocol/claims_kit.py): the VALID verdict, the checks and each
bundle's holder, and an INVALID export's verdict (a raised face value) are Japanese under
``LANG=ja_JP.UTF-8`` — no English catalog text, no bare code — and English under ``LANG=C``.
The checker's finding after ``不合格``/``FAIL`` (a raised face value, a forged inclusion proof) is
Japanese too, with no English sentence in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eco_protocol.certificate_proofs import ProvedEntry, proof_document
from eco_protocol.certificates import CertificateBundle, IssuerConfig, ProductionDevice
from eco_protocol.claims import Claim
from eco_protocol.merkle import MemoryTree, leaf_hash
from eco_protocol.verify_cli import main
from tests.protocol.claims_kit import HOUR0, HOUR1, two_hour_log
from tests.protocol.records_kit import make_checkpoint
from tests.support.lang_kit import language_check

# three English words in a row: a sentence left untranslated
_ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")


def _export(out: Path) -> str:
    """Two bundles issued on a real log (600 Wh in hour 0, 1000 Wh in hour 1), exported with
    every entry's inclusion proof to ``out``; the log's verifier key."""
    log = two_hour_log()
    issued = [log.issue("gc-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)]),
              log.issue("gc-2", HOUR1, [(log.at[(1, "pv1", 2)], 1000)])]
    bundles = []
    for index in issued:
        c = Claim.from_dict(json.loads(log.entries[index]))
        assert c.bundle is not None and c.hour_dt is not None
        bundles.append(CertificateBundle(
            c.claim_id, c.bundle.first, c.bundle.last, c.hour_dt,
            ProductionDevice("hh-0001", 5000), IssuerConfig("Example City", "JP", "JP"),
            tuple((p.index, p.entry_sha256, p.wh) for p in c.parts), c.claimed_at,
            index).to_dict())
    tree = MemoryTree(leaf_hash(e) for e in log.entries)
    proved = [ProvedEntry(i, e, tuple(tree.inclusion_proof(i, len(log.entries))))
              for i, e in enumerate(log.entries)]
    out.mkdir(parents=True)
    (out / "bundles.json").write_text(json.dumps({"bundles": bundles}), "utf-8")
    (out / "proofs.json").write_text(json.dumps(proof_document(
        make_checkpoint(log.entries, log.signer), proved)), "utf-8")
    return log.signer.verifier.vkey


def _finding_in_language(err: str, locale: str, japanese: str, english: str) -> None:
    """The checker's finding after 不合格/FAIL: Japanese with no English sentence left in it
    (identifiers, field names and numbers stay as they are), or the English it always was."""
    ja = locale.startswith("ja")
    language_check(locale)(err)
    assert (japanese if ja else english) in err, err
    if ja:
        assert not _ENGLISH_SENTENCE.search(err), err


@pytest.mark.parametrize("locale", ["ja_JP.UTF-8", "C"])
def test_certificates_verdicts_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    check = language_check(locale)
    out_dir = tmp_path / "export"
    vkey = _export(out_dir)
    assert main(["certificates", str(out_dir), "--log-key", vkey]) == 0
    out = capsys.readouterr().out
    check(out)
    assert out.startswith("有効（VALID）な証書" if ja else "VALID certificates: 2 bundles")
    assert ("発行者（移転なし）" if ja else "the issuer (not transferred)") in out
    bundles = json.loads((out_dir / "bundles.json").read_text("utf-8"))
    bundles["bundles"][1]["bundle_quantity"] = 1200  # a raised face value
    (out_dir / "bundles.json").write_text(json.dumps(bundles), "utf-8")
    assert main(["certificates", str(out_dir), "--log-key", vkey]) == 1
    out, err = capsys.readouterr()
    check(out)
    assert out.startswith("無効（INVALID）な証書" if ja else "INVALID certificates: ")
    assert err.startswith("不合格 " if ja else "FAIL ")
    _finding_in_language(
        err, locale, "バンドル gc-2: bundle_quantity: バンドルには 1200 とありますが",
        "bundle gc-2: bundle_quantity: the bundle says 1200, its claim gives")
    bundles["bundles"][1]["bundle_quantity"] = 1000
    (out_dir / "bundles.json").write_text(json.dumps(bundles), "utf-8")
    proofs = json.loads((out_dir / "proofs.json").read_text("utf-8"))
    proofs["entries"][2]["proof_b64"][0] = "A" * 43 + "="  # a forged inclusion proof
    (out_dir / "proofs.json").write_text(json.dumps(proofs), "utf-8")
    assert main(["certificates", str(out_dir), "--log-key", vkey]) == 1
    out, err = capsys.readouterr()
    check(out)
    _finding_in_language(err, locale, "エントリ 2 はチェックポイント（サイズ ",
                         "entry 2 is not in the log at the checkpoint (size ")
    with pytest.raises(SystemExit) as exc:
        main(["certificates", str(tmp_path / "nowhere"), "--log-key", vkey])
    check(str(exc.value.code))
