"""The shop's page of the web UI (issue 8): ``/shop/redeem?t=…`` — the link in a resident's QR
code (:mod:`.resident_routes`), a signed token naming the household, valid for ``qr_minutes``;
``POST`` records ``eco.redeem/v1`` through :mod:`aggregator.operator`. Shop and operator
accounts may use it.

The page names each reward in the reader's language with its cost and the points still missing;
a reward the balance does not cover cannot be chosen, and with none covered the button is off and
the page says why (issue 17). A refusal is a sentence of the catalogue, never the aggregator's
English reason (that goes to the log).
"""

from __future__ import annotations

import logging
from typing import Any

from itsdangerous import BadSignature
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import operator
from ..personal import PSEUDONYM_RE
from .auth import Role
from .common import Pages
from .households import household_data, redeem
from .i18n import Translator
from .resident_routes import reward_rows

log = logging.getLogger(__name__)


class ShopRoutes(Pages):
    """Redeeming a household's points at a shop."""

    def _token_household(self, token: str) -> str | None:
        try:
            household = self.state.qr.loads(token, max_age=self.state.ui.qr_minutes * 60)
        except BadSignature:
            return None
        return household if isinstance(household, str) and PSEUDONYM_RE.fullmatch(
            household) else None

    def _shop_context(self, household: str, lang: str) -> dict[str, Any]:
        page, programme = household_data(self.state, household, 0)
        balance = page.statement.balance if page.statement else 0
        rows = reward_rows(programme.rewards if programme else (), balance, lang)
        return {"household": household, "balance": balance, "rewards": rows,
                "affordable": any(not r.needs for r in rows)}

    @staticmethod
    def _refusal(t: Translator, ctx: dict[str, Any], reward_id: str) -> str | None:
        """Why ``reward_id`` cannot be redeemed from the balance the page shows, or None."""
        row = next((r for r in ctx["rewards"] if r.id == reward_id), None)
        if row is None:
            return t("shop.unknown_reward")
        if row.needs:
            return (t("shop.short").replace("{reward}", row.name)
                    .replace("{points}", str(row.points))
                    .replace("{balance}", str(ctx["balance"])).replace("{n}", str(row.needs)))
        return None

    async def shop_page(self, request: Request) -> Response:
        self.require(request, Role.SHOP, Role.OPERATOR)
        token = request.query_params.get("t", "")
        t = self.t(request)
        ctx: dict[str, Any] = {"household": None, "token": token, "done": None, "error": None,
                               "balance": 0, "rewards": [], "affordable": False}
        if token:
            household = self._token_household(token)
            if household is None:
                ctx["error"] = t("shop.expired")
            else:
                ctx.update(await run_in_threadpool(self._shop_context, household,
                                                   self.lang(request)))
        return self.render(request, "shop_redeem.html", "shop.title", **ctx)

    async def shop_redeem(self, request: Request) -> Response:
        user = self.require(request, Role.SHOP, Role.OPERATOR)
        form = await self.posted(request)
        t = self.t(request)
        token = str(form.get("t", ""))
        household = self._token_household(token)
        ctx: dict[str, Any] = {"household": None, "token": token, "done": None, "error": None,
                               "balance": 0, "rewards": [], "affordable": False}
        if household is None:
            ctx["error"] = t("shop.expired")
            return self.render(request, "shop_redeem.html", "shop.title", 400, **ctx)
        lang, reward_id = self.lang(request), str(form.get("reward", ""))
        ctx.update(await run_in_threadpool(self._shop_context, household, lang))
        refusal = self._refusal(t, ctx, reward_id)
        if refusal is not None:
            ctx["error"] = refusal
            return self.render(request, "shop_redeem.html", "shop.title", 400, **ctx)
        res, error = await run_in_threadpool(redeem, self.state, operator.Actor.ui(user.name),
                                             household, reward_id)
        ctx.update(await run_in_threadpool(self._shop_context, household, lang))
        if res is None:  # e.g. another counter spent the points meanwhile
            log.warning("%s could not redeem %s for %s: %s", user.name, reward_id[:64],
                        household, error)
            ctx["error"] = t("shop.refused")
            return self.render(request, "shop_redeem.html", "shop.title", 400, **ctx)
        ctx["done"], ctx["done_name"] = res, res.reward.label(lang)
        log.info("%s redeemed %s for %s (entry %d)", user.name, res.reward.id, household,
                 res.index)
        return self.render(request, "shop_redeem.html", "shop.title", **ctx)

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/shop/redeem", self.shop_page, methods=get),
            Route("/shop/redeem", self.shop_redeem, methods=post),
        ]


__all__ = ["ShopRoutes"]
