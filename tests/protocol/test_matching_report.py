"""The hourly matching report's documents (eco_protocol/matching_report.py): one CSV row and
one chart bar pair per hour in JST; a year's hours stay a readable chart (monthly ticks, thin
bars); what a person reads is escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from eco_protocol.hourly_matching import (
    Cancellation,
    ConsumptionHour,
    MatchingReport,
    match_hours,
)
from eco_protocol.matching_report import Provenance, chart_svg, to_csv, to_html, to_json

T0 = datetime(2026, 3, 31, 15, tzinfo=UTC)  # 2026-04-01 00:00 JST
ME = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
PROV = Provenance("eco-ledger.<town>.example", 42, datetime(2026, 5, 1, 3, tzinfo=UTC))


def _report(hours: int, cancelled: int = 0) -> MatchingReport:
    use = tuple(ConsumptionHour(T0 + timedelta(hours=h), 500) for h in range(hours))
    cancels = [Cancellation("gc", T0 + timedelta(hours=2), ME, T0, T0 + timedelta(days=400),
                            cancelled)] if cancelled else []
    return match_hours(use, cancels, ME)


def test_one_row_and_one_bar_pair_per_jst_hour() -> None:
    r = _report(24, cancelled=800)
    lines = to_csv(r).splitlines()
    assert lines[0] == "hour_start_jst,hour_start_utc,consumption_wh,certificates_wh," \
                       "matched_wh,matched_share"
    assert lines[1] == "2026-04-01 00:00,2026-03-31T15:00:00Z,500,0,0,0.000000"
    assert lines[3] == "2026-04-01 02:00,2026-03-31T17:00:00Z,500,800,500,1.000000"
    svg = chart_svg(r, "en")
    assert svg.count("<rect") == 48
    assert re.findall(r">(04-01 \d\d:00)<", svg) == ["04-01 00:00", "04-01 06:00",
                                                     "04-01 12:00", "04-01 18:00"]
    assert to_json(r, PROV)["made_at"] == "2026-05-01T03:00:00Z"


def test_a_year_of_hours_has_monthly_ticks_and_thin_bars() -> None:
    r = _report(24 * 365)
    svg = chart_svg(r, "ja")
    ticks = re.findall(r">(\d\d-\d\d \d\d時)<", svg)
    assert ticks[:3] == ["04-01 00時", "05-01 00時", "06-01 00時"] and len(ticks) == 12
    found = re.search(r'<svg [^>]*width="(\d+)"', svg)
    assert found is not None and int(found.group(1)) <= 2 * 24 * 365 + 100


def test_what_a_person_reads_is_escaped() -> None:
    html = to_html(_report(2), PROV, "en")
    assert "eco-ledger.&lt;town&gt;.example" in html and "<town>" not in html
    assert html.startswith("<!DOCTYPE html>") and 'lang="en"' in html
    assert "2026-05-01 12:00 JST" in html  # made at 03:00 UTC, shown in JST
