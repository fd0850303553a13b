"""Charts as server-rendered SVG: no JavaScript, nothing fetched, printable, and testable as text.

Pure functions from numbers to an SVG string. Every label is escaped; the SVG scales with its
container (``viewBox``, ``width="100%"``) and carries a ``<title>`` for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

COLOURS = {
    "pv_generation": "#e8a200",
    "grid_export": "#4f7fd9",
    "self_consumed": "#2e9e5b",
    "ev_charge": "#8e44ad",
    "grid_import": "#9aa0a6",
    "co2": "#2e7d4f",
    "credits": "#1b5e20",
    "online": "#2e9e5b",
    "offline": "#d9822b",
    "never": "#9aa0a6",
    "revoked": "#c0392b",
    "readings": "#4f7fd9",
    "points": "#e8a200",
}
FONT = "font-family=\"'Noto Sans CJK JP','Noto Sans JP',sans-serif\""


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


def nice_step(top: float, count: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 × 10^k) so that ``count`` steps cover ``top``."""
    if top <= 0:
        return 1.0
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return float(m * mag)
    return float(10 * mag)  # pragma: no cover - the loop always returns


def nice_ticks(top: float, count: int = 4) -> list[float]:
    step = nice_step(top, count)
    n = max(1, math.ceil(top / step - 1e-9))
    return [i * step for i in range(n + 1)]


def fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def _legend(series: Sequence[tuple[str, str]], x0: float, y: float) -> list[str]:
    out = []
    x = x0
    for name, colour in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{y:.1f}" font-size="11">{escape(name)}</text>')
        x += 22 + 6.5 * len(name) + (5.5 * sum(ord(c) > 0x2E80 for c in name))
    return out


def _peak(series: Sequence[Series], n: int, stacked: bool) -> float:
    """The tallest bar: the highest stack, or the highest single value side by side."""
    if stacked:
        return max((sum(max(0.0, s.values[i]) for s in series) for i in range(n)), default=0)
    return max((max(0.0, v) for s in series for v in s.values), default=0)


def _bars(series: Sequence[Series], i: int, label: str, x0: float, bar_w: float,
          y: Callable[[float], float], *, stacked: bool, unit: str) -> list[str]:
    """The ``<rect>`` of each series at label ``i``: stacked in one bar of ``bar_w`` from
    ``x0``, or side by side within it; a bar too thin to see is left out."""
    out = []
    base = 0.0
    for k, s in enumerate(series):
        v = max(0.0, s.values[i])
        if stacked:
            y_top, y_bot, xb, wb = y(base + v), y(base), x0, bar_w
            base += v
        else:
            wb = bar_w / len(series)
            xb, y_top, y_bot = x0 + k * wb, y(v), y(0)
        if y_bot - y_top > 0.05:
            out.append(f'<rect x="{xb:.1f}" y="{y_top:.1f}" width="{wb:.1f}" '
                       f'height="{y_bot - y_top:.1f}" fill="{s.colour}">'
                       f"<title>{escape(label)} {escape(s.name)}: {escape(fmt(v))} "
                       f"{escape(unit)}</title></rect>")
    return out


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str,
              stacked: bool = True, width: int = 720, height: int = 220) -> str:
    """Bars per label; several series stacked (or side by side with ``stacked=False``)."""
    n = len(labels)
    left, right, top, bottom = 58.0, 12.0, 26.0, 34.0
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" class="chart" {FONT}>',
             f"<title>{escape(title)}</title>"]
    if n == 0 or not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                     'font-size="13" fill="#777">–</text></svg>')
        return "".join(parts)
    ticks = nice_ticks(_peak(series, n, stacked))
    ymax = ticks[-1] or 1.0

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    for t in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                     'stroke="#e3e3e3" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" '
                     f'font-size="10" fill="#555">{escape(fmt(t))}</text>')
    parts.append(f'<text x="4" y="{top - 12}" font-size="10" fill="#555">{escape(unit)}</text>')
    slot = plot_w / n
    bar_w = max(1.0, min(slot * 0.72, 44.0 * (1 if stacked else len(series))))
    every = max(1, math.ceil(n / max(1, plot_w // 64)))
    for i, label in enumerate(labels):
        x0 = left + i * slot + (slot - bar_w) / 2
        parts.extend(_bars(series, i, label, x0, bar_w, y, stacked=stacked, unit=unit))
        if i % every == 0:
            parts.append(f'<text x="{x0 + bar_w / 2:.1f}" y="{height - bottom + 14}" '
                         f'text-anchor="middle" font-size="10" fill="#555">{escape(label)}'
                         "</text>")
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                 'stroke="#888" stroke-width="1"/>')
    parts.extend(_legend([(s.name, s.colour) for s in series], left, height - 6))
    parts.append("</svg>")
    return "".join(parts)


def phone_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str,
                stacked: bool = True, width: int = 360, height: int = 240,
                font_size: int = 14) -> str:
    """Bars per label drawn for a phone (issue 17): a ``viewBox`` about as wide as a 390 px
    screen's content, so ``font_size`` is roughly the size on the screen; tick labels sized to
    fit, and only as many x labels as fit side by side. A legend only for several series."""
    n = len(labels)
    legend = len(series) > 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" class="chart phone" '
             f'{FONT}>', f"<title>{escape(title)}</title>"]
    if n == 0 or not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                     f'font-size="{font_size}" fill="#777">–</text></svg>')
        return "".join(parts)
    ticks = nice_ticks(_peak(series, n, stacked), 4)
    ymax = ticks[-1] or 1.0
    char = font_size * 0.6  # an average digit's width
    left = 8 + char * max(len(fmt(t)) for t in ticks)
    right, top = 6.0, font_size * 1.9
    bottom = font_size * (1.7 + (1.6 if legend else 0))
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    parts.append(f'<text x="2" y="{font_size:.1f}" font-size="{font_size}" '
                 f'fill="#444">{escape(unit)}</text>')
    for t in ticks:
        parts.append(f'<line x1="{left:.1f}" x2="{width - right}" y1="{y(t):.1f}" '
                     f'y2="{y(t):.1f}" stroke="#e3e3e3" stroke-width="1"/>')
        parts.append(f'<text x="{left - 4:.1f}" y="{y(t) + font_size * 0.35:.1f}" '
                     f'text-anchor="end" font-size="{font_size}" fill="#444">'
                     f"{escape(fmt(t))}</text>")
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.7)
    widest = char * max(len(label) for label in labels) + font_size * 0.6
    every = max(1, math.ceil(widest / slot))
    for i, label in enumerate(labels):
        x0 = left + i * slot + (slot - bar_w) / 2
        parts.extend(_bars(series, i, label, x0, bar_w, y, stacked=stacked, unit=unit))
        # the last day always carries its label: it is the one a resident looks for
        if (n - 1 - i) % every == 0:
            parts.append(f'<text x="{x0 + bar_w / 2:.1f}" '
                         f'y="{top + plot_h + font_size * 1.3:.1f}" text-anchor="middle" '
                         f'font-size="{font_size}" fill="#444">{escape(label)}</text>')
    parts.append(f'<line x1="{left:.1f}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                 'stroke="#888" stroke-width="1"/>')
    if legend:
        x = 4.0
        for s in series:
            ly = height - font_size * 0.4
            parts.append(f'<rect x="{x:.1f}" y="{ly - font_size * 0.8:.1f}" '
                         f'width="{font_size * 0.8:.1f}" height="{font_size * 0.8:.1f}" '
                         f'rx="2" fill="{s.colour}"/>')
            parts.append(f'<text x="{x + font_size:.1f}" y="{ly:.1f}" '
                         f'font-size="{font_size}">{escape(s.name)}</text>')
            x += font_size * 2 + char * len(s.name) + (
                font_size * 0.45 * sum(ord(c) > 0x2E80 for c in s.name))
    parts.append("</svg>")
    return "".join(parts)


def share_bar(parts_in: Sequence[tuple[str, int, str]], *, title: str, width: int = 720,
              height: int = 64) -> str:
    """One horizontal bar split by share (e.g. devices online / offline / revoked)."""
    total = sum(max(0, v) for _, v, _ in parts_in)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-label="{escape(title)}" class="chart" {FONT}>',
           f"<title>{escape(title)}</title>"]
    x = 4.0
    usable = width - 8.0
    if total == 0:
        out.append(f'<rect x="4" y="6" width="{usable}" height="26" rx="4" fill="#eee"/>')
    for name, v, colour in parts_in:
        if v <= 0:
            continue
        w = usable * v / total
        out.append(f'<rect x="{x:.1f}" y="6" width="{w:.1f}" height="26" fill="{colour}">'
                   f"<title>{escape(name)}: {v}</title></rect>")
        if w > 28:
            out.append(f'<text x="{x + w / 2:.1f}" y="24" text-anchor="middle" font-size="12" '
                       f'fill="#fff">{v}</text>')
        x += w
    out.extend(_legend([(f"{n} ({v})", c) for n, v, c in parts_in], 4, height - 8))
    out.append("</svg>")
    return "".join(out)


def for_screens(wide: str, narrow: str) -> str:
    """Two drawings of one chart: ``wide`` for a desktop, ``narrow`` for a phone. The style
    sheet shows one by the screen's width: a desktop chart shrunk to a 390 px screen has
    5 px labels (issue 17)."""
    return f'<div class="chart-wide">{wide}</div><div class="chart-narrow">{narrow}</div>'


def bars(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str,
         stacked: bool = True) -> str:
    """:func:`bar_chart` on a desktop, :func:`phone_chart` on a phone."""
    return for_screens(bar_chart(labels, series, title=title, unit=unit, stacked=stacked),
                       phone_chart(labels, series, title=title, unit=unit, stacked=stacked))


def shares(parts_in: Sequence[tuple[str, int, str]], *, title: str) -> str:
    """:func:`share_bar` on a desktop, and half as wide (labels twice as big) on a phone."""
    return for_screens(share_bar(parts_in, title=title),
                       share_bar(parts_in, title=title, width=380, height=64))


__all__ = ["COLOURS", "Series", "bar_chart", "bars", "fmt", "for_screens", "nice_step",
           "nice_ticks", "phone_chart", "share_bar", "shares"]
