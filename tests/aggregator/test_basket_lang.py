"""``eco-verify basket`` and ``--consortium`` in the buyer's language (issue 17 point 1): on real
reports of two towns, a VALID basket, an INVALID one (one inverter credited in both towns, a
report outside the consortium) and a consortium.toml with a mistake are Japanese under
``LANG=ja_JP.UTF-8`` — no English catalog text, no bare code — and English under ``LANG=C``."""

from __future__ import annotations

from pathlib import Path

import pytest

from eco_protocol.verify_cli import main as eco_verify
from tests.aggregator.consortium_kit import basket, town_report
from tests.aggregator.consortium_kit import consortium_file as consortium
from tests.support.lang_kit import (
    LOCALES,
    language_check,
)


@pytest.mark.parametrize("locale", LOCALES)
def test_basket_verdicts_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    check = language_check(locale)
    a = town_report(tmp_path, "town-a", ["1001"])
    b = town_report(tmp_path, "town-b", ["01001"])  # the same inverter as town-a's
    c = town_report(tmp_path, "town-c", ["3001"])
    conf = consortium(tmp_path, "town-a", "town-b")
    rc, out, err = basket(capsys, conf, a, c, evidence=False)  # town-c: not a member
    assert rc == 1
    check(out)
    check(err)
    assert ("無効（INVALID）なバスケット" if ja else "INVALID basket: 1 problems") in err
    assert ("会員ではありません" if ja else "is not a member of consortium") in err
    rc, out, err = basket(capsys, conf, a, b, evidence=False)
    assert rc == 1
    check(err)
    assert ("同じパワーコンディショナ" if ja else "the same inverter") in err
    rc, out, err = basket(capsys, conf, a, evidence=False)
    assert rc == 0, err
    check(out)
    assert out.startswith("合格 " if ja else "ok   ")
    assert ("有効（VALID）なバスケット" if ja else "VALID basket: 1 batches") in out
    # eco-verify report --consortium: the policy's finding, then a file with a mistake
    rc = eco_verify(["report", str(a / "report.json"), "--log-key", _vkey(a),
                     "--consortium", str(conf)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    check(out)
    assert ("コンソーシアムの方針で公開済み" if ja else "published under the consortium's policy") \
        in out
    conf.write_text(conf.read_text("utf-8").replace("quorum = 1", "quorum = 5"), "utf-8")
    rc = eco_verify(["report", str(a / "report.json"), "--log-key", _vkey(a),
                     "--consortium", str(conf)])
    out, err = capsys.readouterr()
    assert rc == 1
    check(err)
    assert "policy.quorum" in err
    rc, out, err = basket(capsys, conf, a, evidence=False)
    assert rc == 1
    check(err)


def _vkey(out: Path) -> str:
    return (out / "evidence" / "log.vkey").read_text("utf-8").strip()
