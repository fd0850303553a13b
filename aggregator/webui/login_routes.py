"""The web UI's way in and out (issue 8): ``/`` (to the signed-in audience's home page),
``/login`` (staff: operator or shop accounts from ``eco-aggregator ui-user``, throttled per
account and per address), ``POST /logout`` and ``/lang/{ja|en}`` (a cookie; Japanese by
default). The resident's login is in :mod:`.resident_routes`.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import Role
from .common import LANG_COOKIE, Pages, audit_log, safe_next
from .i18n import LANGUAGES

log = logging.getLogger(__name__)


class LoginRoutes(Pages):
    """Home, staff login, logout, language."""

    async def home(self, request: Request) -> Response:
        user = self.user(request)
        if user is not None:
            return self.redirect("/fleet" if user.role is Role.OPERATOR else "/shop/redeem")
        if self.resident(request) is not None:
            return self.redirect("/resident")
        return self.redirect("/login")

    async def login_page(self, request: Request) -> Response:
        return self.render(request, "login.html", "login.title", error=None,
                           next=safe_next(request.query_params.get("next"), ""))

    async def login(self, request: Request) -> Response:
        form = await self.posted(request)
        t = self.t(request)
        client = self.client(request)
        now = self.state.ui.wall_clock()
        next_path = safe_next(str(form.get("next", "")), "")
        name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        wait = self.state.throttle.wait(name, client, now)
        if wait > 0:
            audit_log.warning("web UI login for %r from %s refused: throttled for %.0f s more",
                              name[:40], client, wait)
            return self.render(request, "login.html", "login.title", 429,
                               error=t("login.throttled"), next=next_path)
        user = await run_in_threadpool(self.state.users.check, name, password)
        if user is None:
            n = self.state.throttle.failed(name, client, now)
            audit_log.warning("failed web UI login for %r from %s (%d failure(s) of this "
                              "account)", name[:40], client, n)
            return self.render(request, "login.html", "login.title", 401,
                               error=t("login.failed"), next=next_path)
        self.state.throttle.succeeded(name, client)
        request.session.clear()  # a new session (and a new CSRF token) on every login
        request.session.update({"user": user.name, "tag": user.tag})
        log.info("web UI login: %s (%s) from %s", user.name, user.role.value, client)
        home = "/fleet" if user.role is Role.OPERATOR else "/shop/redeem"
        return self.redirect(next_path or home)

    async def logout(self, request: Request) -> Response:
        await self.posted(request)
        was_resident = "resident" in request.session
        request.session.clear()
        return self.redirect("/resident/login" if was_resident else "/login")

    async def set_language(self, request: Request) -> Response:
        lang = request.path_params["lang"]
        if lang not in LANGUAGES:
            raise HTTPException(404)
        resp = self.redirect(safe_next(request.query_params.get("next")))
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True,
                        samesite="lax", secure=self.state.ui.secure_cookies)
        return resp

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/", self.home, methods=get),
            Route("/login", self.login_page, methods=get),
            Route("/login", self.login, methods=post),
            Route("/logout", self.logout, methods=post),
            Route("/lang/{lang}", self.set_language, methods=get),
        ]


__all__ = ["LoginRoutes"]
