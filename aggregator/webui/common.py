"""What every page of the web UI shares (issue 8): the configuration (:class:`UiConfig`), the
state every request reads (:class:`UiState`: accounts, keys, the cached ledger view) and the
request helpers every route module builds on (:class:`Pages`: the session's user or household,
the role and CSRF checks, flash messages, rendering in the reader's language).

Sessions are Starlette's signed cookie (itsdangerous; HttpOnly, SameSite=Strict, Secure with
``secure_cookies``) holding only the account name and a fingerprint of its password hash (or the
household and the digest of its code), so a changed password or a reissued code ends old
sessions. Store work runs in the thread pool with a store opened per request (a SQLite
connection belongs to one thread); the ledger is read through one cached
:class:`~aggregator.accounting.LedgerView` that grows by the new entries only.

The route modules (``*_routes.py``) import this one, never the reverse; :mod:`.app` wires them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import URLSafeTimedSerializer
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from eco_protocol.creditability import DEFAULT_RULES

from .. import operator
from ..accounting import LedgerView, extend_view
from ..config import Config
from ..credentials import configured_issuer
from ..errors import ConfigError
from ..ledger import Ledger
from ..logkeys import load_log_signer
from ..programme import Programme, load_programme
from ..store import Backend, LedgerStore, SqliteStore, open_store
from . import views
from .auth import (
    ResidentCodes,
    Role,
    User,
    UserStore,
    csrf_ok,
    csrf_token,
    load_or_create_secret,
    ui_dir,
)
from .errors import Forbidden, LoginNeeded
from .i18n import pick_language, translator
from .templating import environment
from .throttle import THROTTLE_FILE, LoginThrottle, client_address
from .town_cache import TownCache

audit_log = logging.getLogger("eco.audit")  # login failures, beside operator actions

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
SESSION_COOKIE = "eco_session"
LANG_COOKIE = "eco_lang"


@dataclass(frozen=True, slots=True)
class UiConfig:
    """How the UI runs; ``programme_file`` defaults to ``<state_dir>/programme.toml``."""

    cfg: Config
    programme_file: Path | None = None
    offline_after: timedelta = views.DEFAULT_OFFLINE_AFTER
    secure_cookies: bool = False  # set behind HTTPS (a reverse proxy): cookies get Secure
    session_hours: float = 8.0
    qr_minutes: int = 15
    # reverse proxies whose X-Forwarded-For names the real client (aggregator/webui/throttle.py)
    trusted_proxies: tuple[str, ...] = ()
    # the broker URL the enrolment page gives the installer for the device (the devices' TLS
    # listener); None: derived from [mqtt] (aggregator/webui/provisioning.py)
    device_broker: str | None = None
    # "now" for online/offline: the wall clock, or (the demo) the newest reading's end
    online_clock: views.OnlineClock = views.OnlineClock.WALL
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # the town's read API, where the shop's copy of the DID document and status list is
    # refreshed from (aggregator/webui/town_cache.py); None: https://<the did:web's host>
    read_api: str | None = None
    town_cache_minutes: float = 10.0  # refreshed when older than this (0: at every check)
    # the login throttle's clock: wall time, since its counts outlive the process (tests freeze
    # it so that a lock-out does not lapse while a slow machine is still counting attempts)
    wall_clock: Callable[[], float] = time.time


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: never redirect a login to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class UiState:
    """What every request shares: configuration, keys, accounts, the cached ledger view."""

    def __init__(self, ui: UiConfig) -> None:
        cfg = ui.cfg
        self.ui = ui
        self.cfg = cfg
        d = ui_dir(cfg.state_dir)
        self.users = UserStore(d / "users.json")
        self.residents = ResidentCodes(d / "residents.json")
        self.secret = load_or_create_secret(d / "session.key")
        self.reports_dir = d / "reports"
        if not cfg.key_file.exists():
            raise ConfigError(f"log key {cfg.key_file} does not exist; run 'eco-aggregator "
                              "init'")
        self.signer = load_log_signer(cfg, None)
        self.pseudonym_key = operator.pseudonym_key(cfg)
        self.programme_file = ui.programme_file or cfg.state_dir / "programme.toml"
        self.throttle = LoginThrottle(path=d / THROTTLE_FILE)
        self.qr = URLSafeTimedSerializer(self.secret, salt="eco-ui/redeem-qr/v1")
        # the did:web credentials are issued as and checked against (None: no [did] host)
        self.issuer = configured_issuer(cfg)
        self.town_cache = None if self.issuer is None else TownCache(
            d / "town-keys", self.issuer, ui.read_api or f"https://{self.issuer.host}",
            timedelta(minutes=ui.town_cache_minutes))
        # readings are judged as they are read, under the programme's rules as of start-up
        self._view = LedgerView(self.programme().rules if self.programme_file.exists()
                                else DEFAULT_RULES)
        self._view_lock = threading.Lock()
        self._sqlite = cfg.store.sqlite_path if cfg.store.backend is Backend.SQLITE else None

    def open_store(self) -> LedgerStore:
        if self._sqlite is not None:
            return SqliteStore(self._sqlite, check_integrity=False)
        return open_store(self.cfg)

    @contextlib.contextmanager
    def store(self) -> Iterator[LedgerStore]:
        store = self.open_store()
        try:
            yield store
        finally:
            store.close()

    def ledger(self, store: LedgerStore) -> Ledger:
        stored = store.get_meta("log_vkey")
        if stored not in (None, self.signer.verifier.vkey):
            # 'eco-aggregator log-key rotate' ran since we loaded the key: take the new one
            self.signer = load_log_signer(self.cfg, stored)
        return Ledger(store, self.signer, self.cfg.state_dir / "checkpoint.latest")

    @contextlib.contextmanager
    def view(self, store: LedgerStore) -> Iterator[LedgerView]:
        """The cached view, brought up to the store's size; held under a lock while used."""
        with self._view_lock:
            extend_view(self._view, store, store.size())
            yield self._view

    def programme(self) -> Programme:
        return load_programme(self.programme_file)

    def judging_time(self, view: LedgerView) -> datetime:
        """The time devices are judged online against (:class:`~.views.OnlineClock`)."""
        return views.judging_time(view, self.ui.clock(), self.ui.online_clock)


class Pages:
    """The request helpers of every route module: one instance per module, all sharing one
    :class:`UiState`."""

    def __init__(self, state: UiState) -> None:
        self.state = state
        self.env = environment()

    @staticmethod
    def lang(request: Request) -> str:
        return pick_language(request.cookies.get(LANG_COOKIE))

    def t(self, request: Request) -> Callable[[str], str]:
        return translator(self.lang(request))

    def user(self, request: Request) -> User | None:
        name = request.session.get("user")
        if not isinstance(name, str):
            return None
        user = self.state.users.get(name)
        if user is None or request.session.get("tag") != user.tag:
            request.session.pop("user", None)
            return None
        return user

    def resident(self, request: Request) -> str | None:
        household = request.session.get("resident")
        digest = request.session.get("rc")
        if not isinstance(household, str) or not isinstance(digest, str):
            return None
        if self.state.residents.current(digest) != household:
            request.session.pop("resident", None)
            return None
        return household

    def require(self, request: Request, *roles: Role) -> User:
        user = self.user(request)
        if user is None:
            raise LoginNeeded("/login", request.url.path + (f"?{request.url.query}"
                                                            if request.url.query else ""))
        if user.role not in roles:
            raise Forbidden("error.forbidden")
        return user

    def require_resident(self, request: Request) -> str:
        household = self.resident(request)
        if household is None:
            raise LoginNeeded("/resident/login", "/resident")
        return household

    @staticmethod
    async def posted(request: Request) -> FormData:
        """The submitted form, after the CSRF check every POST goes through."""
        form = await request.form()
        if not csrf_ok(request.session, form.get("csrf")):
            raise Forbidden("error.csrf")
        return form

    @staticmethod
    def flash(request: Request, kind: str, message: str) -> None:
        flashes = list(request.session.get("flash", []))
        flashes.append([kind, message])
        request.session["flash"] = flashes[-5:]

    def render(self, request: Request, template: str, title_key: str, status: int = 200,
               **ctx: Any) -> HTMLResponse:
        lang = self.lang(request)
        t = translator(lang)
        body = self.env.get_template(template).render(
            t=t, lang=lang, title=t(title_key), user=self.user(request),
            resident=self.resident(request), csrf=csrf_token(request.session),
            path=request.url.path, flashes=request.session.pop("flash", []), **ctx)
        return HTMLResponse(body, status, headers={"Cache-Control": "no-store"})

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.render(request, "error.html", "error.title", status, message=message)

    @staticmethod
    def redirect(path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    def client(self, request: Request) -> str:
        return client_address(request.client.host if request.client else None,
                              request.headers, self.state.ui.trusted_proxies)


__all__ = ["DATE_RE", "LANG_COOKIE", "SESSION_COOKIE", "Pages", "UiConfig", "UiState",
           "audit_log", "safe_next"]
