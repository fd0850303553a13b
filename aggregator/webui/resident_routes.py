"""The resident's pages of the web UI (issues 8 and 17): ``/resident/login`` (a household's login
code from the operator, throttled per address) and ``/resident``, laid out for a phone first: the
balance, the next reward and a daily chart at the top, then the QR code for the shop (a signed
token naming the household, valid for ``qr_minutes``, read by :mod:`.shop_routes`), then the
rewards and the details, the half-hour readings folded away at the bottom. Nothing on it is the
operator's vocabulary: reward names are the catalogue's in the reader's language, reasons are
the catalogue's sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..programme import Reward
from .charts import COLOURS, Series, phone_chart
from .common import Pages, audit_log
from .households import household_data
from .i18n import Translator
from .qr import qr_svg
from .views import Day

CHART_DAYS = 14  # two weeks of bars stay readable on a 390 px screen


@dataclass(frozen=True, slots=True)
class RewardRow:
    """A reward as the resident sees it: its name in the reader's language, its cost, and how
    many more points it needs (0: the balance covers it)."""

    id: str
    name: str
    points: int
    needs: int


def reward_rows(rewards: Sequence[Reward], balance: int, lang: str) -> list[RewardRow]:
    """The catalogue, cheapest first, each with the points still missing."""
    return [RewardRow(r.id, r.label(lang), r.points, max(0, r.points - balance))
            for r in sorted(rewards, key=lambda r: (r.points, r.id))]


def next_reward(rows: Sequence[RewardRow]) -> RewardRow | None:
    """The cheapest reward the balance does not cover yet (None: it covers them all)."""
    return next((r for r in rows if r.needs > 0), None)


def recent_days(days: Sequence[Day], count: int = CHART_DAYS) -> list[tuple[date, int]]:
    """CO2 avoided (g) on each of the ``count`` calendar days ending with the latest day that
    has readings; a day without readings counts 0, so the bars keep the calendar's rhythm."""
    if not days:
        return []
    grams = {date.fromisoformat(d.day): d.reduction_g for d in days}
    last = max(grams)
    first = max(min(grams), last - timedelta(days=count - 1))
    return [(first + timedelta(days=i), grams.get(first + timedelta(days=i), 0))
            for i in range((last - first).days + 1)]


def daily_chart(t: Translator, days: Sequence[Day]) -> str:
    recent = recent_days(days)
    labels = [f"{d.month}/{d.day}" for d, _ in recent]
    return phone_chart(labels, [Series(t("resident.co2_series"), [g / 1000 for _, g in recent],
                                       COLOURS["co2"])],
                       title=t("resident.daily").replace("{d}", str(len(recent))),
                       unit="kg-CO2")


def energy_chart(t: Translator, days: Sequence[Day]) -> str:
    recent = days[-CHART_DAYS:]
    quantities = [q for q in ("pv_generation", "self_consumed", "ev_charge")
                  if any(d.energy.get(q, 0) for d in recent)] or ["pv_generation"]
    labels = [f"{int(d.day[5:7])}/{int(d.day[8:10])}" for d in recent]
    return phone_chart(labels, [Series(t(f"q.{q}"), [d.energy.get(q, 0) / 1000 for d in recent],
                                       COLOURS[q]) for q in quantities],
                       title=t("chart.energy_daily"), unit="kWh", stacked=False)


class ResidentRoutes(Pages):
    """A household's own login and page."""

    async def resident_login_page(self, request: Request) -> Response:
        return self.render(request, "resident_login.html", "rlogin.title", error=None,
                           audience="resident")

    async def resident_login(self, request: Request) -> Response:
        form = await self.posted(request)
        t = self.t(request)
        client = self.client(request)
        now = self.state.ui.wall_clock()
        # resident codes have no account name to count against: the address is what is slowed
        if self.state.throttle.wait(None, client, now) > 0:
            return self.render(request, "resident_login.html", "rlogin.title", 429,
                               error=t("login.throttled"), audience="resident")
        found = await run_in_threadpool(self.state.residents.lookup, str(form.get("code", "")))
        if found is None:
            n = self.state.throttle.failed(None, client, now)
            audit_log.warning("failed resident login from %s (%d failure(s) from it)", client, n)
            return self.render(request, "resident_login.html", "rlogin.title", 401,
                               error=t("rlogin.failed"), audience="resident")
        request.session.clear()
        request.session.update({"resident": found[0], "rc": found[1]})
        return self.redirect("/resident")

    async def resident_page(self, request: Request) -> Response:
        household = self.require_resident(request)
        t, lang = self.t(request), self.lang(request)
        page, programme = await run_in_threadpool(household_data, self.state, household)
        if programme is None:
            return self.error(request, 503, t("resident.problem"))
        balance = page.statement.balance if page.statement else 0
        rows = reward_rows(programme.rewards, balance, lang)
        token = self.state.qr.dumps(household)
        url = f"{str(request.base_url).rstrip('/')}/shop/redeem?t={token}"
        return self.render(request, "resident.html", "resident.title", audience="resident",
                           page=page, programme=programme, balance=balance, rewards=rows,
                           next_reward=next_reward(rows),
                           daily_svg=daily_chart(t, page.days),
                           days_shown=len(recent_days(page.days)),
                           energy_svg=energy_chart(t, page.days),
                           qr_svg=qr_svg(url, label=t("resident.qr_title")),
                           qr_url=url, qr_minutes=self.state.ui.qr_minutes,
                           reward_names={r.id: r.label(lang) for r in programme.rewards})

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/resident/login", self.resident_login_page, methods=get),
            Route("/resident/login", self.resident_login, methods=post),
            Route("/resident", self.resident_page, methods=get),
        ]


__all__ = ["RewardRow", "ResidentRoutes", "daily_chart", "next_reward", "recent_days",
           "reward_rows"]
