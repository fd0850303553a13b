"""One household's data as the operator's, the resident's and the shop's pages show it: its
readings, energy, CO2 and points (:func:`household_data`), its daily charts
(:func:`household_charts`) and a redemption of its points (:func:`redeem`).

Functions of the shared :class:`~aggregator.webui.common.UiState`; the store work runs in the
caller's thread-pool thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException

from eco_protocol.errors import InvalidInput

from .. import operator
from ..accounting import LedgerView
from ..errors import AggregatorError, ConfigError
from ..programme import Programme
from ..store import LedgerStore
from . import views
from .charts import COLOURS, Series, bars
from .common import UiState


def programme_or_none(state: UiState) -> tuple[Programme | None, str | None]:
    """The programme, or None and why it cannot be read."""
    try:
        return state.programme(), None
    except ConfigError as e:
        return None, str(e)


def _statuses(state: UiState, store: LedgerStore,
              view: LedgerView) -> list[views.DeviceStatus]:
    return views.device_statuses(view, store.devices(), state.judging_time(view),
                                 state.ui.offline_after)


def _require_enrolled(view: LedgerView, household: str) -> None:
    if household not in {e.household for _, e in view.enrolments.values()}:
        raise HTTPException(404)


def require_enrolled(state: UiState, household: str) -> None:
    """404 unless ``household`` has an enrolled device; nothing else is computed."""
    with state.store() as store, state.view(store) as view:
        _require_enrolled(view, household)


def household_data(state: UiState, household: str,
                   slots: int = 96) -> tuple[views.HouseholdPage, Programme | None]:
    """The household's page data (404 unless it has an enrolled device) and the programme."""
    programme, _ = programme_or_none(state)
    with state.store() as store, state.view(store) as view:
        _require_enrolled(view, household)
        page = views.household_page(view, programme, household,
                                    _statuses(state, store, view), slots)
    return page, programme


def household_charts(t: Callable[[str], str], page: views.HouseholdPage) -> tuple[str, str]:
    """The daily energy and CO2 charts (SVG) of the last 31 days."""
    days = page.days[-31:]
    labels = [d.day[5:] for d in days]
    quantities = [q for q in ("pv_generation", "self_consumed", "grid_export", "ev_charge")
                  if any(d.energy.get(q, 0) for d in days)] or ["pv_generation"]
    energy = bars(labels, [Series(t(f"q.{q}"), [d.energy.get(q, 0) / 1000
                                                for d in days], COLOURS[q])
                           for q in quantities],
                  title=t("chart.energy_daily"), unit="kWh", stacked=False)
    series = [Series(t("q.self_consumed"), [d.pv_g / 1000 for d in days],
                     COLOURS["self_consumed"])]
    if any(d.ev_g for d in days):
        series.append(Series(t("q.ev_charge"), [d.ev_g / 1000 for d in days],
                             COLOURS["ev_charge"]))
    co2 = bars(labels, series, title=t("chart.co2_daily"), unit="kg-CO2")
    return energy, co2


def redeem(state: UiState, actor: operator.Actor, household: str,
           reward: str) -> tuple[Any, str | None]:
    """Redeem ``reward`` for ``household`` (:func:`aggregator.operator.redeem_points`, like the
    CLI): (the result, None) or (None, why it was refused)."""
    try:
        programme = state.programme()
        with state.store() as store:
            return operator.redeem_points(state.cfg, state.ledger(store), actor,
                                          programme, household, reward,
                                          state.ui.clock()), None
    except (AggregatorError, InvalidInput) as e:
        return None, str(e)


__all__ = ["household_charts", "household_data", "programme_or_none", "redeem",
           "require_enrolled"]
