"""The operator web UI (issue 8): the ASGI app (Starlette, Jinja2 templates, inline SVG
charts), wired from one module per audience. This module is the composition root: it imports
the route modules, which import :mod:`.common`, never this one.

* :mod:`.login_routes` — ``/``, ``/login``, ``/logout``, ``/lang/{ja|en}``;
* :mod:`.operator_routes` — ``/fleet``, ``/security``, ``/households``, ``/enrol``,
  ``/devices/{id}/revoke|release``;
* :mod:`.ledger_routes` — ``/ledger``, ``/points``, ``/batches`` and the batch reports;
* :mod:`.resident_routes` — ``/resident/login``, ``/resident``;
* :mod:`.shop_routes` — ``/shop/redeem``;
* :mod:`.credential_routes` — ``/resident/statement`` (the signed points statement as a QR code)
  and ``/shop/check`` (the shop's offline check of it);
* :mod:`.certificate_routes` — ``/certificates`` (the operator's granular certificates) and
  :mod:`.account_routes` — ``/account`` (a buyer's account, public; its signed requests).

All pages are HTML; every POST checks the session's CSRF token before anything else
(:meth:`.common.Pages.posted`). The session cookie and the shared state are described in
:mod:`.common`; :class:`SecurityHeaders` adds the headers every response carries.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ConfigError
from .account_routes import AccountRoutes
from .certificate_routes import CertificateRoutes
from .common import SESSION_COOKIE, Pages, UiConfig, UiState, safe_next
from .credential_routes import CredentialRoutes
from .errors import Forbidden, LoginNeeded
from .ledger_routes import LedgerRoutes
from .login_routes import LoginRoutes
from .operator_routes import OperatorRoutes
from .resident_routes import ResidentRoutes
from .shop_routes import ShopRoutes
from .templating import STATIC


class ErrorPages(Pages):
    """What the app answers when a route raises instead of returning a page."""

    async def on_forbidden(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        return self.error(request, 403, self.t(request)(exc.key))

    async def on_login(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginNeeded)
        return self.redirect(f"{exc.login}?next={quote(exc.next_path)}")

    async def on_http(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        t = self.t(request)
        key = exc.detail if isinstance(exc.detail, str) and "." in exc.detail else \
            "error.not_found"
        return self.error(request, exc.status_code, t(key))

    async def on_config(self, request: Request, exc: Exception) -> Response:
        return self.error(request, 503, str(exc))


class SecurityHeaders:
    """Headers on every response: no framing, no scripts at all, no referrer (the QR link
    carries a token), no MIME sniffing."""

    CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
           "script-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", self.CSP)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def routes(state: UiState) -> list[Route | Mount]:
    """Every route, in the order Starlette tries them."""
    out: list[Route | Mount] = []
    for pages in (LoginRoutes, OperatorRoutes, LedgerRoutes, ResidentRoutes, ShopRoutes,
                  CredentialRoutes, CertificateRoutes, AccountRoutes):
        out.extend(pages(state).routes())
    out.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    return out


def create_app(ui: UiConfig) -> Starlette:
    """The ASGI app; raises :class:`ConfigError` if the state directory is incomplete."""
    state = UiState(ui)
    errors = ErrorPages(state)
    return Starlette(
        routes=routes(state),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SessionMiddleware, secret_key=state.secret.hex(),
                       session_cookie=SESSION_COOKIE,
                       max_age=int(ui.session_hours * 3600), same_site="strict",
                       https_only=ui.secure_cookies),
        ],
        exception_handlers={Forbidden: errors.on_forbidden, LoginNeeded: errors.on_login,
                            HTTPException: errors.on_http, ConfigError: errors.on_config},
    )


# UiConfig and safe_next live in .common; named here too for the CLI and the tests, which
# import them from this module
__all__ = ["ErrorPages", "SecurityHeaders", "UiConfig", "create_app", "routes", "safe_next"]
