"""The hourly matching report as the documents a 24/7 buyer files (issue 19 point 5;
docs/certificates.md "Hourly matching report"): a self-contained HTML page with an inline SVG
chart of consumption and matched Wh per hour (JST, Japanese or English), and the same numbers as
CSV and JSON.

Pure: each function turns a :class:`~eco_protocol.hourly_matching.MatchingReport` into text;
the time the report was made comes in as an argument. The SVG is written by hand (eco-verify
is a light distribution: no charting dependency). The CSV and JSON are for machines: their
column and field names are English in both languages, times in both JST and UTC.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any, Final

from .encoding import format_time
from .hourly_matching import MatchingReport
from .messages import text

JST: Final = timezone(timedelta(hours=9), "JST")
CSV_COLUMNS: Final = ("hour_start_jst", "hour_start_utc", "consumption_wh", "certificates_wh",
                      "matched_wh", "matched_share")
_BAR: Final = 10  # px per hour in the chart
_HEIGHT: Final = 220
_LEFT: Final = 56


@dataclass(frozen=True, slots=True)
class Provenance:
    """What the certificates were checked against, and when the report was made."""

    origin: str  # the log's origin line
    checkpoint_size: int
    made_at: datetime


def jst(at: datetime) -> str:
    """An hour as people in Japan read it: ``2026-11-22 09:00``."""
    return at.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def _share(x: float) -> str:
    return f"{x * 100:.1f}%"


def to_json(report: MatchingReport, prov: Provenance) -> dict[str, Any]:
    """The report's numbers as one JSON document (``format``: ``eco.hourly-matching/v1``)."""
    return {
        "format": "eco.hourly-matching/v1", "account": report.account,
        "log": {"origin": prov.origin, "checkpoint_size": prov.checkpoint_size},
        "made_at": format_time(prov.made_at),
        "totals": {"hours": len(report.hours), "consumption_wh": report.consumption_wh,
                   "certificates_wh": report.certificates_wh,
                   "matched_wh": report.matched_wh,
                   "hourly_share": round(report.hourly_share, 6),
                   "volumetric_share": round(report.volumetric_share, 6)},
        "hours": [{"hour_start_jst": jst(h.hour), "hour_start_utc": format_time(h.hour),
                   "consumption_wh": h.consumption_wh, "certificates_wh": h.certificates_wh,
                   "matched_wh": h.matched_wh, "matched_share": round(h.share, 6)}
                  for h in report.hours],
        "counted": [{"issuance_id": c.issuance_id, "hour_start_utc": format_time(c.hour),
                     "wh": c.wh, "beneficiary": c.beneficiary} for c in report.counted],
        "not_counted": [{"issuance_id": c.issuance_id, "hour_start_utc": format_time(c.hour),
                         "wh": c.wh, "reason": why} for c, why in report.not_counted],
    }


def to_csv(report: MatchingReport) -> str:
    """One row per hour (:data:`CSV_COLUMNS`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for h in report.hours:
        w.writerow([jst(h.hour), format_time(h.hour), h.consumption_wh, h.certificates_wh,
                    h.matched_wh, f"{h.share:.6f}"])
    return buf.getvalue()


def _tick(local: datetime, hours: int) -> bool:
    """A labelled tick: every 6 hours for a few days, daily for a month, else monthly."""
    if hours <= 96:
        return local.hour % 6 == 0
    return local.hour == 0 and (hours <= 24 * 45 or local.day == 1)


def chart_svg(report: MatchingReport, lang: str) -> str:
    """Consumption (grey) and matched (green) bars per hour, labelled JST ticks; a year's
    hours make a wide chart that the page scrolls sideways."""
    top = max([h.consumption_wh for h in report.hours] + [1])
    bar = max(2, min(_BAR, 1200 // max(1, len(report.hours))))
    width = _LEFT + bar * len(report.hours) + 10
    scale = (_HEIGHT - 40) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT}" '
             f'role="img" aria-label="{escape(text("eco_protocol.matching.page.chart", lang))}">',
             f'<line x1="{_LEFT}" y1="{_HEIGHT - 30}" x2="{width - 5}" y2="{_HEIGHT - 30}" '
             'stroke="#444"/>',
             f'<text x="{_LEFT - 4}" y="14" text-anchor="end" font-size="10">{top} Wh</text>']
    for i, h in enumerate(report.hours):
        x = _LEFT + i * bar
        for wh, colour in ((h.consumption_wh, "#bbb"), (h.matched_wh, "#2a8a3e")):
            tall = round(wh * scale, 1)
            parts.append(f'<rect x="{x + 1}" y="{_HEIGHT - 30 - tall}" width="{max(1, bar - 2)}" '
                         f'height="{tall}" fill="{colour}"><title>{jst(h.hour)} JST: '
                         f'{h.matched_wh}/{h.consumption_wh} Wh</title></rect>')
        local = h.hour.astimezone(JST)
        if _tick(local, len(report.hours)):
            label = local.strftime("%m-%d %H時" if lang == "ja" else "%m-%d %H:00")
            parts.append(f'<line x1="{x}" y1="{_HEIGHT - 30}" x2="{x}" y2="{_HEIGHT - 24}" '
                         f'stroke="#444"/><text x="{x}" y="{_HEIGHT - 12}" font-size="9">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


_STYLE: Final = ("body{font-family:sans-serif;margin:2em;max-width:72em}"
                 "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
                 "text-align:right}th{background:#eee}.totals td{font-weight:bold}"
                 ".chart{overflow-x:auto}")


def _table(report: MatchingReport, lang: str) -> list[str]:
    heads = ("hour", "consumption", "certificates", "matched", "share")
    rows = ["<table><tr>" + "".join(
        f"<th>{escape(text(f'eco_protocol.matching.page.{k}', lang))}"
        + ("" if k in ("hour", "share") else " (Wh)") + "</th>" for k in heads) + "</tr>"]
    for h in report.hours:
        rows.append(f"<tr><td>{jst(h.hour)}</td><td>{h.consumption_wh}</td>"
                    f"<td>{h.certificates_wh}</td><td>{h.matched_wh}</td>"
                    f"<td>{_share(h.share)}</td></tr>")
    rows.append(f'<tr class="totals"><td></td><td>{report.consumption_wh}</td>'
                f"<td>{report.certificates_wh}</td><td>{report.matched_wh}</td>"
                f"<td>{_share(report.hourly_share)}</td></tr></table>")
    return rows


def to_html(report: MatchingReport, prov: Provenance, lang: str) -> str:
    """The page a buyer files: totals, the chart, every hour, what was not counted and why."""
    def t(key: str, **params: Any) -> str:
        return escape(text(f"eco_protocol.matching.page.{key}", lang, **params))

    first, last = report.hours[0].hour, report.hours[-1].hour
    out = [f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
           f"<title>{t('title')}</title><style>{_STYLE}</style></head><body>",
           f"<h1>{t('title')}</h1><p>{t('lede', account=report.account)}</p>",
           f"<p>{t('period', first=jst(first), last=jst(last), hours=len(report.hours))}</p>",
           "<table>",
           f"<tr><th>{t('hourly')}</th><td>{_share(report.hourly_share)}</td></tr>",
           f"<tr><th>{t('volumetric')}</th><td>{_share(report.volumetric_share)}</td></tr>",
           f"<tr><th>{t('consumption')}</th><td>{report.consumption_wh} Wh</td></tr>",
           f"<tr><th>{t('certificates')}</th><td>{report.certificates_wh} Wh</td></tr>",
           f"<tr><th>{t('matched')}</th><td>{report.matched_wh} Wh</td></tr></table>",
           f"<p>{t('rule')}</p>",
           f"<h2>{t('chart')}</h2>",
           f'<div class="chart">{chart_svg(report, lang)}</div>',
           *_table(report, lang)]
    if report.not_counted:
        out.append(f"<h2>{t('not_counted')}</h2><ul>")
        out += [f"<li>{escape(c.issuance_id)} ({c.wh} Wh, {jst(c.hour)} JST): "
                f"{escape(text(f'eco_protocol.matching.reason.{why}', lang))}</li>"
                for c, why in report.not_counted]
        out.append("</ul>")
    out.append(f"<p>{t('proof', origin=prov.origin, size=prov.checkpoint_size)}</p>"
               f"<p>{t('made', at=jst(prov.made_at) + ' JST')}</p></body></html>\n")
    return "\n".join(out)


__all__ = ["CSV_COLUMNS", "JST", "Provenance", "chart_svg", "jst", "to_csv", "to_html",
           "to_json"]
