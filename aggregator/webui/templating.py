"""The Jinja2 environment shared by the UI pages and the printable report: autoescaping on,
strict undefined (a misspelt variable fails loudly in tests), and number/time filters that
show energy in kWh, CO2 in kg and times in JST, the way the municipality reads them."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import jinja2

from eco_protocol.encoding import parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.methodology import JST

from .i18n import describe

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


def kwh(wh: int | float | None) -> str:
    return "–" if wh is None else f"{wh / 1000:,.1f}"


def kg(grams: int | float | None) -> str:
    return "–" if grams is None else f"{grams / 1000:,.1f}"


def grams(g: Fraction | int | float) -> str:
    return f"{float(g):,.0f}"


def pts(p: Fraction | int | float) -> str:
    return f"{float(p):,.2f}"


def jst(moment: datetime | str | None) -> str:
    """``2026-11-22 09:30`` (JST) from a datetime or an RFC 3339 string."""
    if moment is None or moment == "":
        return "–"
    if isinstance(moment, str):
        try:
            return jst(parse_time(moment, "time"))
        except InvalidInput:
            return moment
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M")


class FormValues(dict[str, str]):
    """Submitted form fields for re-display; a field never submitted reads as ''."""

    def __missing__(self, key: str) -> str:
        return ""


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(("html",)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(kwh=kwh, kg=kg, grams=grams, pts=pts, jst=jst)
    env.globals["describe"] = describe  # a methodology reason in the reader's language
    return env


__all__ = ["STATIC", "TEMPLATES", "FormValues", "environment", "grams", "jst", "kg", "kwh",
           "pts"]
