"""``eco-aggregator report render``: the batch report as a printable page and a PDF (headless
Chromium, for real)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from webui_kit import UiWorld, require_chromium, sealed_report

from aggregator.webui.report import render_report_html, self_check


def test_the_page_shows_what_the_report_says_and_how_to_verify_it(world: UiWorld,
                                                                   tmp_path: Path) -> None:
    report = json.loads(sealed_report(world, tmp_path / "rep").read_text())
    ok, checks = self_check(report)
    assert ok and any("report signature" in c for c in checks)
    html = render_report_html(report, "en", (ok, checks))
    for expected in (report["batch_id"], "EN-R-002", "FY2026", "434", "illustrative",
                     world.pseudonym("Sato, 1-2 Chuo"), world.pseudonym("Suzuki, 3-4 Minami"),
                     report["checkpoint"].split("\n")[2], "eco-verify report.json --log-key",
                     report["log_key"], "<svg", "Self-check at rendering: signatures"):
        assert expected in html, expected
    assert "Sato" not in html and "Suzuki" not in html  # pseudonyms only
    assert "<script" not in html and "http" not in html.split("<body>", 1)[1].replace(
        "http://www.w3.org/2000/svg", "")  # self-contained: nothing to fetch
    ja = render_report_html(report, "ja", self_check(report))
    assert "J-クレジット バッチ報告書" in ja and "検証の方法" in ja
    bad = copy.deepcopy(report)
    bad["totals"]["reduction_g"] += 1
    ok_bad, lines = self_check(bad)
    assert not ok_bad
    assert "FAILED" in render_report_html(bad, "en", (ok_bad, lines))


def test_report_render_writes_html_and_pdf(world: UiWorld, tmp_path: Path) -> None:
    require_chromium()
    path = sealed_report(world, tmp_path / "rep")
    out = world.cli("report", "render", str(path), "--out", str(tmp_path / "print"))
    html, pdf = Path(out["html"]), Path(out["pdf"])
    assert "J-クレジット バッチ報告書" in html.read_text()
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000
    only = world.cli("report", "render", str(path), "--out", str(tmp_path / "html-only"),
                     "--lang", "en", "--no-pdf")
    assert set(only) == {"html"} and "J-Credit batch report" in Path(only["html"]).read_text()
