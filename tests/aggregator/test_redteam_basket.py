"""Red team of ``eco-verify basket`` (issue 18 point 5) on real batch reports of two towns: a
town enrolling under a claim-token secret of its own makes tokens no other member's can match,
so the basket could never see its double credits. When ``consortium.toml`` names the
consortium's key ids (``claim_token_key_ids``), a credited token under any other secret fails
the basket, naming the report, member, device and key id; under a named one the basket is
VALID as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eco_protocol.claim_tokens import ClaimSecret
from tests.aggregator.consortium_kit import BASKET_SECRET, basket, consortium_file, town_report


def _with_key_ids(conf: Path, *key_ids: str) -> Path:
    listed = ", ".join(f'"{k}"' for k in key_ids)
    conf.write_text(f"claim_token_key_ids = [{listed}]\n" + conf.read_text("utf-8"), "utf-8")
    return conf


def test_a_token_under_a_secret_the_consortium_does_not_name_fails_the_basket(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "C")
    a = town_report(tmp_path, "town-a", ["1001"])
    b = town_report(tmp_path, "town-b", ["2001"])
    conf = consortium_file(tmp_path, "town-a", "town-b")
    rc, out, err = basket(capsys, _with_key_ids(conf, BASKET_SECRET.key_id), a, b,
                          evidence=False)
    assert rc == 0, err
    assert json.loads(out.splitlines()[-1])["problems"] == []
    conf = consortium_file(tmp_path, "town-a", "town-b")
    other = ClaimSecret(b"\x07" * 32).key_id
    rc, out, err = basket(capsys, _with_key_ids(conf, other), a, b, evidence=False)
    assert rc == 1
    assert "a secret the consortium does not name" in err and BASKET_SECRET.key_id in err
    assert "town-a" in err and "town-b" in err and other in err
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    rc, out, err = basket(capsys, conf, a, b, evidence=False)
    assert rc == 1 and "コンソーシアムが定めていない秘密鍵" in err


def test_a_malformed_key_id_list_is_refused_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001"])
    conf = _with_key_ids(consortium_file(tmp_path, "town-a"), "not-hex")
    rc, out, err = basket(capsys, conf, a, evidence=False)
    assert rc == 1 and "claim_token_key_ids" in err
