"""``eco-aggregator report render``: the batch report as a printable page and a PDF (headless
Chromium, for real)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from aggregator.webui.report import render_pdf, render_report_html, self_check
from tests.webui.pdf_kit import page_texts
from tests.webui.webui_kit import UiWorld, require_chromium, sealed_report


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


def test_the_page_shows_readings_exclusions_and_the_batch_methodology(world: UiWorld,
                                                                     tmp_path: Path) -> None:
    report = json.loads(sealed_report(world, tmp_path / "rep").read_text())
    assert report["batch_id"].split(":")[1] == "pv"
    # two households × 48 intervals × (PV + E3), all creditable
    assert [h["readings"]["covered"] for h in report["households"]] == [96, 96]
    odd = copy.deepcopy(report)  # how the page shows exclusions and a zeroed household
    odd["households"][0]["readings"] = {"covered": 96, "creditable": 93,
                                        "excluded": {"overlap": 2, "implausible": 1}}
    odd["households"][0]["zeroed_by"] = "export_unmetered: PV without a metered export register"
    odd["exclusions"] = {"implausible": 1, "overlap": 2}
    html = render_report_html(odd, "ja")
    rows = html.split('id="households"', 1)[1].split("</table>", 1)[0]
    # the rule's name, not its code, on the Japanese page; the English one adds the code
    assert "重複: 2" in rows and "定格出力超過" in rows and "(overlap)" not in rows
    assert '<span class="mono">(overlap)</span>: 2' in render_report_html(odd, "en")
    assert ">93<" in rows and "売電量の計量なし" in rows
    table = html.split('id="exclusions"', 1)[1].split("</table>", 1)[0]
    assert 'data-rule="overlap"' in table
    assert "同じ計測器の以前の計測値と時間帯が重なっています" in table  # the rule's text
    assert "PV 太陽光" in html.split('id="batch-methodology"', 1)[1][:200]
    en = render_report_html(report, "en")
    assert "None: every covered reading was credited." in en and ">192<" in en  # 2 × 96


def test_a_demonstration_report_says_so_on_every_printed_page(world: UiWorld,
                                                               tmp_path: Path) -> None:
    """Real headless Chromium: the banner is a ``position: fixed`` element, which print
    repeats on every page; the report is several pages long, and each page's own text (read
    out of the PDF) says DEMONSTRATION. The same report without the marker says it nowhere."""
    require_chromium()
    report = json.loads(sealed_report(world, tmp_path / "rep").read_text())
    assert report["demonstration"] is True  # programme init writes a demonstration
    html = render_report_html(report, "ja")
    assert "<title>【DEMONSTRATION デモ】" in html and "position: fixed" in html
    pages = _printed_pages(tmp_path / "demo", html)
    assert len(pages) >= 3, "the test needs a report of several pages"
    for n, text in enumerate(pages, 1):
        assert "DEMONSTRATION" in text and "認証には使えません" in text, f"page {n}: {text[:300]}"
    plain = {k: v for k, v in report.items() if k != "demonstration"}
    assert not any("DEMONSTRATION" in t for t in _printed_pages(
        tmp_path / "plain", render_report_html(plain, "en")))


def _printed_pages(out: Path, html: str) -> list[str]:
    out.mkdir(parents=True)
    (out / "report.html").write_text(html, "utf-8")
    render_pdf(out / "report.html", out / "report.pdf")
    return page_texts((out / "report.pdf").read_bytes())
