"""``eco-verify matching`` (issue 19 point 5): on a real signed export (tests/protocol/
matching_kit.py) it writes the hourly matching report — HTML with its inline SVG chart, CSV and
JSON of the same numbers, JST hours — in Japanese or English; it counts nothing and writes
nothing when the certificates do not verify; a bad consumption row is refused naming its line
and column, in the reader's language."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from eco_protocol.verify_cli import main
from tests.protocol.matching_kit import HOUR0, HOUR1, certificate_export, jst_csv
from tests.support.lang_kit import language_check


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_report_in_the_buyers_language(tmp_path: Path, lang: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ex = certificate_export(tmp_path / "export")
    use = tmp_path / "use.csv"
    use.write_text(jst_csv([(HOUR0 - timedelta(hours=1), "0.3"), (HOUR0, "0.45"),
                            (HOUR1, "1.0")]), "utf-8")
    out = tmp_path / "report"
    rc, stdout, err = _run(["matching", str(ex.dir), "--consumption", str(use), "--account",
                            ex.buyer, "--out", str(out), "--log-key", ex.log_vkey,
                            "--lang", lang], capsys)
    assert rc == 0, stdout + err
    language_check(lang)(stdout)
    doc = json.loads((out / "matching.json").read_text())
    # hour 0: 600 Wh cancelled, 450 used → 450; hour 1: the buyer's 400 of 1000 (the other
    # account's 600 are not its own); the hour before: no certificate
    assert doc["totals"] == {"hours": 3, "consumption_wh": 1750, "certificates_wh": 1000,
                             "matched_wh": 850, "hourly_share": round(850 / 1750, 6),
                             "volumetric_share": round(1000 / 1750, 6)}
    rows = list(csv.DictReader((out / "matching.csv").read_text().splitlines()))
    assert [(r["hour_start_jst"], r["consumption_wh"], r["certificates_wh"], r["matched_wh"])
            for r in rows] == [("2026-11-22 08:00", "300", "0", "0"),
                               ("2026-11-22 09:00", "450", "600", "450"),
                               ("2026-11-22 10:00", "1000", "400", "400")]
    assert [h["hour_start_utc"] for h in doc["hours"]][1] == "2026-11-22T00:00:00Z"
    html = (out / "matching.html").read_text()
    assert f'<html lang="{lang}">' in html and "<svg" in html and "</svg>" in html
    assert ("毎時マッチング報告書" in html) == (lang == "ja")
    assert ("Hourly matching report" in html) == (lang == "en")
    assert "2026-11-22 09:00" in html and "48.6%" in html  # 850 / 1750
    assert "src=" not in html and "<link" not in html and "<script" not in html  # self-contained


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_certificates_that_do_not_verify_are_not_counted(tmp_path: Path, lang: str,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    ex = certificate_export(tmp_path / "export")
    bundles = json.loads((ex.dir / "bundles.json").read_text())
    bundles["bundles"][0]["bundle_quantity"] += 100  # a raised face value
    (ex.dir / "bundles.json").write_text(json.dumps(bundles))
    use = tmp_path / "use.csv"
    use.write_text(jst_csv([(HOUR0, "1.0")]), "utf-8")
    out = tmp_path / "report"
    rc, stdout, _ = _run(["matching", str(ex.dir), "--consumption", str(use), "--account",
                          ex.buyer, "--out", str(out), "--log-key", ex.log_vkey,
                          "--lang", lang], capsys)
    assert rc == 1 and not out.exists()
    assert ("レポートを作成しません" if lang == "ja" else "NO REPORT") in stdout


@pytest.mark.parametrize(("lang", "where"), [("ja", "3 行目 2 列目（consumption_kwh）"),
                                             ("en", "line 3, column 2 (consumption_kwh)")])
def test_a_bad_consumption_row_is_named(tmp_path: Path, lang: str, where: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ex = certificate_export(tmp_path / "export")
    use = tmp_path / "use.csv"
    use.write_text(jst_csv([(HOUR0, "0.4"), (HOUR1, "lots")]), "utf-8")
    out = tmp_path / "report"
    rc, _, err = _run(["matching", str(ex.dir), "--consumption", str(use), "--account",
                       ex.buyer, "--out", str(out), "--log-key", ex.log_vkey,
                       "--lang", lang], capsys)
    assert rc == 1 and not out.exists()
    assert where in err and '"lots"' in err
    language_check(lang)(err)


@pytest.mark.parametrize(("lang", "said"), [("ja", "アカウントではありません"),
                                            ("en", "is not an account")])
def test_a_mistyped_account_is_refused(tmp_path: Path, lang: str, said: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ex = certificate_export(tmp_path / "export")
    use = tmp_path / "use.csv"
    use.write_text(jst_csv([(HOUR0, "0.4")]), "utf-8")
    rc, _, err = _run(["matching", str(ex.dir), "--consumption", str(use), "--account",
                       ex.buyer[:-3], "--out", str(tmp_path / "report"), "--log-key",
                       ex.log_vkey, "--lang", lang], capsys)
    assert rc == 1 and said in err and not (tmp_path / "report").exists()
