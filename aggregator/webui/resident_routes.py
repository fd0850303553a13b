"""The resident's pages of the web UI (issue 8): ``/resident/login`` (a household's login code
from the operator, throttled per address) and ``/resident`` (balance, history, what each
reading earned, rewards, and a QR code for the shop: a signed token naming the household, valid
for ``qr_minutes``, read by :mod:`.shop_routes`).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import Pages, audit_log
from .households import household_charts, household_data
from .qr import qr_svg


class ResidentRoutes(Pages):
    """A household's own login and page."""

    async def resident_login_page(self, request: Request) -> Response:
        return self.render(request, "resident_login.html", "rlogin.title", error=None)

    async def resident_login(self, request: Request) -> Response:
        form = await self.posted(request)
        t = self.t(request)
        client = self.client(request)
        now = self.state.ui.wall_clock()
        # resident codes have no account name to count against: the address is what is slowed
        if self.state.throttle.wait(None, client, now) > 0:
            return self.render(request, "resident_login.html", "rlogin.title", 429,
                               error=t("login.throttled"))
        found = await run_in_threadpool(self.state.residents.lookup, str(form.get("code", "")))
        if found is None:
            n = self.state.throttle.failed(None, client, now)
            audit_log.warning("failed resident login from %s (%d failure(s) from it)", client, n)
            return self.render(request, "resident_login.html", "rlogin.title", 401,
                               error=t("rlogin.failed"))
        request.session.clear()
        request.session.update({"resident": found[0], "rc": found[1]})
        return self.redirect("/resident")

    async def resident_page(self, request: Request) -> Response:
        household = self.require_resident(request)
        page, programme = await run_in_threadpool(household_data, self.state, household)
        if programme is None:
            return self.error(request, 503, self.t(request)("error.no_programme")
                              .replace("{e}", ""))
        energy, co2 = household_charts(self.t(request), page)
        token = self.state.qr.dumps(household)
        url = f"{str(request.base_url).rstrip('/')}/shop/redeem?t={token}"
        return self.render(request, "resident.html", "resident.title", page=page,
                           programme=programme, energy_svg=energy, co2_svg=co2,
                           qr_svg=qr_svg(url, label=self.t(request)("resident.qr_hint")),
                           qr_url=url, qr_minutes=self.state.ui.qr_minutes,
                           reward_names={r.id: r.name for r in programme.rewards})

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/resident/login", self.resident_login_page, methods=get),
            Route("/resident/login", self.resident_login, methods=post),
            Route("/resident", self.resident_page, methods=get),
        ]


__all__ = ["ResidentRoutes"]
