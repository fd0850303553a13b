"""The operator web UI (issue 8): an ASGI app (Starlette, Jinja2 templates, inline SVG charts).

Routes (all HTML; every POST checks the session's CSRF token before anything else):

* ``/login``, ``/logout``, ``/lang/{ja|en}`` — staff login (operator or shop accounts from
  ``eco-aggregator ui-user``), logout, language switch (a cookie; Japanese by default);
* operator: ``/fleet`` (devices online/offline by their last reading, flagged devices, rejected
  readings), ``/households``, ``/households/{pseudonym}`` (readings, energy, CO2, points;
  ``POST …/redeem``, ``POST …/resident-code``), ``/enrol`` (``POST``: same validation as
  ``eco-aggregator enrol``), ``POST /devices/{id}/revoke`` (both through
  :mod:`aggregator.operator`, like the CLI: broker login issued / withdrawn, audit record),
  ``/ledger`` (size, checkpoint,
  witness cosignatures, inclusion proof by index or device/seq), ``/points``, ``/batches``
  (preview a period, ``POST /batches/seal``, ``POST /batches/report``, ``/batches/download``,
  ``/batches/view``);
* residents: ``/resident/login`` (a household's login code), ``/resident`` (balance, history,
  what each reading earned, rewards, a QR code for the shop);
* shops (and operators): ``/shop/redeem?t=…`` — the QR code's link, a signed token naming the
  household, valid for ``qr_minutes``; ``POST`` records ``eco.redeem/v1``.

Sessions are Starlette's signed cookie (itsdangerous; HttpOnly, SameSite=Strict, Secure with
``secure_cookies``) holding only the account name and a fingerprint of its password hash (or the
household and the digest of its code), so a changed password or a reissued code ends old
sessions. Store work runs in the thread pool with a store opened per request (a SQLite
connection belongs to one thread); the ledger is read through one cached
:class:`~aggregator.accounting.LedgerView` that grows by the new entries only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eco_protocol.coverage import EV, PV
from eco_protocol.creditability import DEFAULT_RULES
from eco_protocol.encoding import b64decode, b64encode, format_time
from eco_protocol.errors import InvalidInput
from eco_protocol.merkle import inclusion_proof, leaf_hash, verify_inclusion
from eco_protocol.methodology import JST, terms_problems
from eco_protocol.records import Quantity

from .. import operator
from ..accounting import LedgerView, extend_view
from ..batches import period_from_dates, plan_batch, write_report
from ..config import Config
from ..errors import AggregatorError, ConfigError, EnvironmentProblem, Rejected
from ..flood_cutoff import Suspension, read_suspended
from ..ingest_status import read_status
from ..ledger import Ledger
from ..logkeys import load_log_signer
from ..personal import PSEUDONYM_RE
from ..programme import Programme, load_programme
from ..registry import DEVICE_ID_RE, methodology_terms, parse_meter
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
from .charts import COLOURS, Series, bar_chart, share_bar
from .i18n import LANGUAGES, pick_language, translator
from .ingest_view import ingest_panel, suspended_rows
from .qr import qr_svg
from .report import find_chromium, render_pdf, render_report_html, self_check
from .templating import STATIC, FormValues, environment
from .throttle import THROTTLE_FILE, LoginThrottle, client_address

log = logging.getLogger(__name__)
audit_log = logging.getLogger("eco.audit")  # login failures, beside operator actions

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
METHODOLOGIES = (PV, EV)  # a batch is of one: their reductions are never summed
REPORT_FILES = ("report.json", "results.csv", "households.csv", "report.html", "report.pdf",
                "report.zip")
PROTOCOLS = ("sunspec-modbus", "echonet-lite", "mqtt-json", "other")
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
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class Forbidden(Exception):
    """The request is not allowed (bad CSRF token, wrong role)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class LoginNeeded(Exception):
    def __init__(self, login: str, next_path: str) -> None:
        super().__init__(login)
        self.login = login
        self.next_path = next_path


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: never redirect a login to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def slug(batch_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", batch_id).strip("._") or "batch"


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


# --- the app ---------------------------------------------------------------------------------


class UiApp:
    def __init__(self, ui: UiConfig) -> None:
        self.state = UiState(ui)
        self.env = environment()

    # --- request helpers ---------------------------------------------------------------------

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

    # --- login, logout, language ----------------------------------------------------------------

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

    def client(self, request: Request) -> str:
        return client_address(request.client.host if request.client else None,
                              request.headers, self.state.ui.trusted_proxies)

    async def login(self, request: Request) -> Response:
        form = await self.posted(request)
        t = self.t(request)
        client = self.client(request)
        now = time.time()  # wall clock: the counts outlive the process
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

    # --- fleet ---------------------------------------------------------------------------------

    def _statuses(self, store: LedgerStore, view: LedgerView) -> list[views.DeviceStatus]:
        return views.device_statuses(view, store.devices(), self.state.ui.clock(),
                                     self.state.ui.offline_after)

    async def fleet_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        t = self.t(request)

        def work() -> views.Fleet:
            with self.state.store() as store, self.state.view(store) as view:
                return views.fleet(view, store.devices(), store.rejections(50),
                                   self.state.ui.clock(), self.state.ui.offline_after)

        f = await run_in_threadpool(work)
        households = {d.device_id: d.household for d in f.devices}
        # serve's per-device refused/dropped counts (issue 14: a flooding device is named here)
        ingest = ingest_panel(
            await run_in_threadpool(read_status, self.state.cfg.state_dir), households,
            self.state.ui.clock())
        health = share_bar([(t(f"state.{s}"), f.counts[s], COLOURS[s])
                            for s in ("online", "offline", "never", "revoked")],
                           title=t("fleet.health"))
        daily = bar_chart([d[5:] for d, _ in f.daily_readings],
                          [Series(t("chart.readings"), [n for _, n in f.daily_readings],
                                  COLOURS["readings"])],
                          title=t("fleet.readings_per_day"), unit=t("chart.readings"))
        hours = self.state.ui.offline_after.total_seconds() / 3600
        return self.render(request, "fleet.html", "fleet.title", fleet=f, health_svg=health,
                           daily_svg=daily, offline_after_h=f"{hours:g}", ingest=ingest,
                           suspended=suspended_rows(
                               await run_in_threadpool(self._suspended), households))

    def _suspended(self) -> dict[str, Suspension]:
        """Devices serve cut off at the broker for flooding; none if the file is unreadable
        (the CLI's broker-restore then says why)."""
        try:
            return read_suspended(self.state.cfg.mqtt.broker_passwd_file)
        except EnvironmentProblem as e:
            log.warning("fleet page: %s", e)
            return {}

    # --- login lock-outs ----------------------------------------------------------------------

    async def security_page(self, request: Request) -> Response:
        """Accounts and addresses the login throttle makes wait now, each with a button to
        lift it (a colleague who forgot a password; the lift is in the audit trail)."""
        self.require(request, Role.OPERATOR)
        locks = await run_in_threadpool(self.state.throttle.locks, time.time())
        return self.render(request, "security.html", "security.title", locks=locks)

    async def lift_post(self, request: Request) -> Response:
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        form = await self.posted(request)
        kind, name = str(form.get("kind", "")), str(form.get("name", "")).strip()
        t = self.t(request)
        if kind not in ("account", "address") or not name:
            raise HTTPException(400)

        def work() -> str | None:
            try:
                operator.lift_lockout(self.state.cfg, actor, self.state.throttle, kind, name)
            except AggregatorError as e:
                return str(e)
            return None

        error = await run_in_threadpool(work)
        if error is not None:
            self.flash(request, "error", error)
        else:
            self.flash(request, "ok", t("flash.lifted").replace("{n}", name))
        return self.redirect("/security")

    # --- households ------------------------------------------------------------------------------

    def _programme_or_none(self) -> tuple[Programme | None, str | None]:
        try:
            return self.state.programme(), None
        except ConfigError as e:
            return None, str(e)

    async def households_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        t = self.t(request)

        def work() -> tuple[list[views.Balance], dict[str, int], str | None]:
            programme, problem = self._programme_or_none()
            with self.state.store() as store, self.state.view(store) as view:
                counts: dict[str, int] = {}
                for _, e in view.enrolments.values():
                    counts[e.household] = counts.get(e.household, 0) + 1
                if programme is None:
                    return ([views.Balance(h, 0, 0, 0, 0) for h in sorted(counts)], counts,
                            t("error.no_programme").replace("{e}", problem or ""))
                balances, problem = views.balances(view, programme)
                return balances, counts, problem

        balances, counts, problem = await run_in_threadpool(work)
        return self.render(request, "households.html", "households.title", balances=balances,
                           device_count=counts, problem=problem)

    def _household(self, household: str, slots: int = 96) -> tuple[views.HouseholdPage,
                                                                   Programme | None]:
        programme, _ = self._programme_or_none()
        with self.state.store() as store, self.state.view(store) as view:
            if household not in {e.household for _, e in view.enrolments.values()}:
                raise HTTPException(404)
            page = views.household_page(view, programme, household,
                                        self._statuses(store, view), slots)
        return page, programme

    def _household_charts(self, t: Callable[[str], str],
                          page: views.HouseholdPage) -> tuple[str, str]:
        days = page.days[-31:]
        labels = [d.day[5:] for d in days]
        quantities = [q for q in ("pv_generation", "self_consumed", "grid_export", "ev_charge")
                      if any(d.energy.get(q, 0) for d in days)] or ["pv_generation"]
        energy = bar_chart(labels, [Series(t(f"q.{q}"), [d.energy.get(q, 0) / 1000
                                                         for d in days], COLOURS[q])
                                    for q in quantities],
                           title=t("chart.energy_daily"), unit="kWh", stacked=False)
        series = [Series(t("q.self_consumed"), [d.pv_g / 1000 for d in days],
                         COLOURS["self_consumed"])]
        if any(d.ev_g for d in days):
            series.append(Series(t("q.ev_charge"), [d.ev_g / 1000 for d in days],
                                 COLOURS["ev_charge"]))
        co2 = bar_chart(labels, series, title=t("chart.co2_daily"), unit="kg-CO2")
        return energy, co2

    async def household_view(self, request: Request, new_code: str | None = None,
                             status: int = 200) -> Response:
        self.require(request, Role.OPERATOR)
        household = request.path_params["household"]
        if not PSEUDONYM_RE.fullmatch(household):
            raise HTTPException(404)
        page, programme = await run_in_threadpool(self._household, household)
        energy, co2 = self._household_charts(self.t(request), page)
        names = {r.id: r.name for r in programme.rewards} if programme else {}
        return self.render(request, "household.html", "household.title", status, page=page,
                           energy_svg=energy, co2_svg=co2, reward_names=names,
                           has_code=self.state.residents.has_code(household),
                           new_code=new_code)

    async def household_page(self, request: Request) -> Response:
        return await self.household_view(request)

    async def issue_code(self, request: Request) -> Response:
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        await self.posted(request)
        household = request.path_params["household"]
        if not PSEUDONYM_RE.fullmatch(household):
            raise HTTPException(404)
        await run_in_threadpool(self._household, household, 0)  # 404 unless enrolled
        code = await run_in_threadpool(operator.issue_resident_code, self.state.cfg, actor,
                                       self.state.residents, household)
        log.info("issued a resident login code for %s", household)
        return await self.household_view(request, new_code=code)

    async def operator_redeem(self, request: Request) -> Response:
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        form = await self.posted(request)
        household = request.path_params["household"]
        if not PSEUDONYM_RE.fullmatch(household):
            raise HTTPException(404)
        self._redeem_and_flash(request, *await run_in_threadpool(
            self._redeem, actor, household, str(form.get("reward", ""))))
        return self.redirect(f"/households/{household}")

    def _redeem(self, actor: operator.Actor, household: str,
                reward: str) -> tuple[Any, str | None]:
        try:
            programme = self.state.programme()
            with self.state.store() as store:
                return operator.redeem_points(self.state.cfg, self.state.ledger(store), actor,
                                              programme, household, reward,
                                              self.state.ui.clock()), None
        except (AggregatorError, InvalidInput) as e:
            return None, str(e)

    def _redeem_and_flash(self, request: Request, res: Any, error: str | None) -> None:
        t = self.t(request)
        if error is not None:
            self.flash(request, "error", error)
        else:
            self.flash(request, "ok", t("flash.redeemed").replace("{reward}", res.reward.name)
                       .replace("{i}", str(res.index)).replace("{n}", str(res.balance)))

    # --- enrolment and revocation -------------------------------------------------------------

    async def enrol_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        programme, _ = await run_in_threadpool(self._programme_or_none)
        form = FormValues(programme=programme.id if programme else "",
                          meter_id_0="pv1", meter_quantity_0="pv_generation",
                          meter_protocol_0="sunspec-modbus")
        return self.render(request, "enrol.html", "enrol.title", form=form, errors=[],
                           result=None, quantities=[q.value for q in Quantity],
                           protocols=PROTOCOLS)

    def _enrol_form(self, t: Callable[[str], str],
                    form: FormValues) -> tuple[dict[str, Any] | None, list[str]]:
        """Validate like ``eco-aggregator enrol``; (arguments for :meth:`_enrol`, errors)."""
        errors: list[str] = []
        public = b""
        try:
            public = b64decode(form["public_key"].strip(), "public key")
            if len(public) != 32:
                errors.append(t("enrol.bad_key"))
        except InvalidInput:
            errors.append(t("enrol.bad_key"))
        reference = form["household"].strip()
        if not reference:
            errors.append(t("enrol.household"))
        programme = form["programme"].strip()
        if not programme:
            errors.append(t("enrol.programme"))
        meters = []
        for i in range(4):
            mid = form[f"meter_id_{i}"].strip()
            if not mid:
                continue
            try:
                meters.append(parse_meter(f"{mid}:{form[f'meter_quantity_{i}']}:"
                                          f"{form[f'meter_protocol_{i}']}:"
                                          f"{form[f'meter_rated_w_{i}'].strip()}",
                                          f"meter {i + 1}"))
            except Rejected as e:
                errors.append(str(e))
        if not meters and not any(t("enrol.no_meter") in e for e in errors):
            errors.append(t("enrol.no_meter"))
        numbers: dict[str, float | None] = {}
        for name, kind in (("ev_wh_per_km", int), ("ev_petrol_km_per_l", float)):
            text = form[name].strip()
            try:
                numbers[name] = kind(text) if text else None
            except ValueError:
                errors.append(t("enrol.bad_number").replace("{f}", t(
                    "enrol.ev_wh_per_km" if name == "ev_wh_per_km" else "enrol.ev_petrol")))
                numbers[name] = None
        for name in ("installed", "fit_until"):
            if form[name] and not DATE_RE.fullmatch(form[name]):
                errors.append(f"{t('enrol.' + name)}: YYYY-MM-DD")
        battery = {"yes": True, "no": False}.get(form["battery"])
        wh = numbers["ev_wh_per_km"]
        fit = methodology_terms(installed=form["installed"] or None,
                                fit_status=form["fit_status"] or None,
                                fit_until=form["fit_until"] or None, battery=battery,
                                zero_export=form["zero_export"] == "1",
                                ev_wh_per_km=None if wh is None else int(wh),
                                ev_petrol_km_per_l=numbers["ev_petrol_km_per_l"])
        errors.extend(terms_problems([m.quantity for m in meters], fit))
        if errors:
            return None, errors
        return {"public": public, "reference": reference, "programme": programme,
                "meters": meters, "fit": fit}, []

    def _enrol(self, actor: operator.Actor, public: bytes, reference: str, programme: str,
               meters: list[Any], fit: dict[str, Any]) -> dict[str, Any]:
        """What ``eco-aggregator enrol`` does (:func:`aggregator.operator.enrol`: the household
        reference, the log entry, the broker login), plus a login code for a new household."""
        with self.state.store() as store:
            done = operator.enrol(self.state.cfg, self.state.ledger(store), actor,
                                  public_key=public, reference=reference, programme=programme,
                                  meters=meters, fit=fit,
                                  enrolled_at=format_time(self.state.ui.clock()))
        code = None
        if not self.state.residents.has_code(done.household):
            code = self.state.residents.issue(done.household)
        return {"device_id": done.device_id, "household": done.household, "index": done.index,
                "code": code, **done.login}

    async def enrol_post(self, request: Request) -> Response:
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        raw = await self.posted(request)
        form = FormValues({k: str(v) for k, v in raw.items() if k != "csrf"})
        t = self.t(request)
        args, errors = self._enrol_form(t, form)
        result = None
        if args is not None:
            try:
                result = await run_in_threadpool(lambda: self._enrol(actor, **args))
            except (AggregatorError, InvalidInput) as e:
                errors = [str(e)]
        if result is not None:
            programme_id = form["programme"]
            form = FormValues(programme=programme_id, meter_id_0="pv1",
                              meter_quantity_0="pv_generation", meter_protocol_0="sunspec-modbus")
        return self.render(request, "enrol.html", "enrol.title", 400 if errors else 200,
                           form=form, errors=errors, result=result,
                           quantities=[q.value for q in Quantity], protocols=PROTOCOLS)

    async def _device_decision(self, request: Request, reason_key: str,
                               act: Callable[[Ledger, operator.Actor, str, str], T]
                               ) -> tuple[T | None, str | None, str | None]:
        """An operator's decision on one device from its household page (revoke, release): the
        CSRF-checked form, a required reason, the operator function — the very one the CLI
        calls. Returns (result, error, household to return to)."""
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        form = await self.posted(request)
        device_id = request.path_params["device_id"]
        if not DEVICE_ID_RE.fullmatch(device_id):
            raise HTTPException(404)
        reason = str(form.get("reason", "")).strip()
        t = self.t(request)

        def work() -> tuple[T | None, str | None, str | None]:
            with self.state.store() as store:
                household = operator.household_of(store, device_id)
                try:
                    if not reason:
                        raise Rejected(t(reason_key))
                    return act(self.state.ledger(store), actor, device_id, reason), None, \
                        household
                except (AggregatorError, InvalidInput) as e:
                    return None, str(e), household

        return await run_in_threadpool(work)

    async def revoke_post(self, request: Request) -> Response:
        """What ``eco-aggregator revoke`` does (:func:`aggregator.operator.revoke`: the log
        entry and the broker login)."""
        done, error, household = await self._device_decision(
            request, "revoke.reason", lambda ledger, actor, device_id, reason: operator.revoke(
                self.state.cfg, ledger, actor, device_id, reason,
                format_time(self.state.ui.clock())))
        t = self.t(request)
        if error is not None or done is None:
            self.flash(request, "error", error or "")
        else:
            login = t("flash.login_removed" if done.login["broker_login_removed"]
                      else "flash.login_absent")
            self.flash(request, "ok", t("flash.revoked").replace("{d}", done.device_id)
                       .replace("{i}", str(done.index)) + " " + login
                       .replace("{reload}", str(done.login["broker_reload"])))
        return self.redirect(f"/households/{household}" if household else "/fleet")

    async def release_post(self, request: Request) -> Response:
        """The operator's decision on a quarantined (forked) device: let it credit again
        (:func:`aggregator.operator.release`, an ``eco.release/v1`` entry)."""
        done, error, household = await self._device_decision(
            request, "release.reason", lambda ledger, actor, device_id, reason: operator.release(
                self.state.cfg, ledger, actor, device_id, reason,
                format_time(self.state.ui.clock())))
        if error is not None or done is None:
            self.flash(request, "error", error or "")
        else:
            self.flash(request, "ok", self.t(request)("flash.released")
                       .replace("{d}", done.device_id).replace("{i}", str(done.index)))
        return self.redirect(f"/households/{household}" if household else "/fleet")

    # --- ledger ------------------------------------------------------------------------------

    async def ledger_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        t = self.t(request)
        q = FormValues({k: v for k, v in request.query_params.items()
                        if k in ("index", "device_id", "seq")})

        def work() -> dict[str, Any]:
            with self.state.store() as store:
                row = store.latest_checkpoint()
                cos = store.cosignatures(row.size) if row else []
                out: dict[str, Any] = {
                    "size": store.size(), "checkpoint": row, "note": row.note if row else "",
                    "cosignatures": [(line.split(" ")[1] if line.count(" ") >= 2 else "?",
                                      line.strip()) for line in cos],
                    "vkey": self.state.signer.verifier.vkey, "proof": None,
                    "proof_error": None}
                with self.state.view(store) as view:
                    out["counts"] = [("eco.enrol/v1", len(view.enrolments)),
                                     ("eco.reading/v1", len(view.readings)),
                                     ("eco.redeem/v1", len(view.redemptions)),
                                     ("eco.batch/v1", len(view.seals))]
                if q["index"] or q["device_id"] or q["seq"]:
                    try:
                        out["proof"] = self._proof(store, q, row)
                    except Rejected as e:
                        out["proof_error"] = str(e)
                return out

        data = await run_in_threadpool(work)
        if data["proof_error"] == "bad":
            data["proof_error"] = t("ledger.bad_query")
        elif data["proof_error"] == "missing":
            data["proof_error"] = t("ledger.not_found")
        elif data["proof_error"] == "not_yet":
            data["proof_error"] = t("ledger.not_yet")
        return self.render(request, "ledger.html", "ledger.title", query=q, **data)

    @staticmethod
    def _proof(store: LedgerStore, q: FormValues, row: Any) -> dict[str, Any]:
        if row is None:
            raise Rejected("missing")
        if q["index"]:
            if not q["index"].isdigit():
                raise Rejected("bad")
            index = int(q["index"])
        else:
            if not DEVICE_ID_RE.fullmatch(q["device_id"].strip()) or not q["seq"].isdigit():
                raise Rejected("bad")
            reading = store.reading(q["device_id"].strip(), int(q["seq"]))
            if reading is None:
                raise Rejected("missing")
            index = reading.leaf_index
        if index >= store.size():
            raise Rejected("missing")
        if index >= row.size:
            raise Rejected("not_yet")
        entry = store.entry(index)
        leaf = leaf_hash(entry)
        path = inclusion_proof(index, row.size, store.node)
        verify_inclusion(index, row.size, leaf, path, row.root)
        return {"index": index, "size": row.size, "leaf": leaf.hex(), "root": row.root.hex(),
                "path": [h.hex() for h in path],
                "entry": json.dumps(views.entry_summary(entry), indent=1, ensure_ascii=False),
                "entry_b64": b64encode(entry)}

    # --- points ------------------------------------------------------------------------------

    async def points_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        t = self.t(request)

        def work() -> dict[str, Any]:
            programme = self.state.programme()
            with self.state.store() as store, self.state.view(store) as view:
                balances, problem = views.balances(view, programme)
                months, problem2 = views.programme_months(view, programme)
                redemptions = [(i, r) for i, r in view.redemptions
                               if r.programme == programme.id]
            return {"programme": programme, "balances": balances, "months": months,
                    "problem": problem or problem2, "redemptions": redemptions}

        try:
            d = await run_in_threadpool(work)
        except ConfigError as e:
            return self.error(request, 503, t("error.no_programme").replace("{e}", str(e)))
        months = d.pop("months")
        programme = d["programme"]
        chart = bar_chart([m.month for m in months],
                          [Series(t("col.co2_kg"), [m.reduction_g / 1000 for m in months],
                                  COLOURS["co2"])], title=t("chart.co2_monthly"), unit="kg-CO2")
        return self.render(request, "points.html", "points.title", monthly_svg=chart,
                           total_earned=sum(b.earned for b in d["balances"]),
                           total_redeemed=sum(b.redeemed for b in d["balances"]),
                           reward_names={r.id: r.name for r in programme.rewards}, **d)

    # --- batches ------------------------------------------------------------------------------

    def _reports(self, batches: list[views.SealedBatch]) -> dict[str, set[str]]:
        out = {}
        for b in batches:
            d = self.state.reports_dir / slug(b.seal.batch_id)
            files = {f for f in REPORT_FILES if (d / f).exists()}
            if "report.zip" in files:
                out[b.seal.batch_id] = files
        return out

    async def batches_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        t = self.t(request)
        start = request.query_params.get("start", "")
        end = request.query_params.get("end", "")
        methodology = self._methodology(request.query_params.get("methodology"))

        def work() -> dict[str, Any]:
            programme = self.state.programme()
            out: dict[str, Any] = {"programme": programme, "preview": None,
                                   "preview_error": None, "preview_digest": ""}
            with self.state.store() as store, self.state.view(store) as view:
                out["batches"] = views.sealed_batches(view, programme)
                out["months"], out["problem"] = views.programme_months(view, programme)
                if start or end:
                    try:
                        plan = plan_batch(view, programme, self._period(t, start, end),
                                          methodology)
                        out["preview"] = plan.preview()
                        out["preview_digest"] = plan.seal_record().covered_digest
                    except (AggregatorError, InvalidInput) as e:
                        out["preview_error"] = str(e)
            out["reports"] = self._reports(out["batches"])
            return out

        try:
            d = await run_in_threadpool(work)
        except ConfigError as e:
            return self.error(request, 503, t("error.no_programme").replace("{e}", str(e)))
        months = d.pop("months")
        chart = bar_chart([m.month for m in months],
                          [Series(t("col.co2_kg"), [m.reduction_g / 1000 for m in months],
                                  COLOURS["co2"])], title=t("chart.co2_monthly"), unit="kg-CO2")
        if not start and not end:
            # the next period of this methodology starts where its last batch ended
            same = [b for b in d["batches"] if b.seal.methodology in (None, methodology)]
            if same:
                start = f"{same[-1].seal.period.end_dt.astimezone(JST):%Y-%m-%d}"
        return self.render(request, "batches.html", "batches.title", monthly_svg=chart,
                           start=start, end=end, methodology=methodology,
                           methodologies=METHODOLOGIES, **d)

    @staticmethod
    def _period(t: Callable[[str], str], start: str, end: str) -> Any:
        if not DATE_RE.fullmatch(start) or not DATE_RE.fullmatch(end):
            raise Rejected(t("batches.bad_period").replace("{e}", f"{start}..{end}"))
        return period_from_dates(f"{start}..{end}")

    @staticmethod
    def _methodology(value: object) -> str:
        """The batch form's methodology; PV unless EV is chosen (``plan_batch`` refuses any
        other value, so a forged one is reported, never silently mapped)."""
        return str(value) if value else PV

    async def seal_post(self, request: Request) -> Response:
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        form = await self.posted(request)
        t = self.t(request)
        start, end = str(form.get("start", "")), str(form.get("end", ""))
        methodology = self._methodology(form.get("methodology"))
        digest = str(form.get("digest", ""))

        def work() -> tuple[str, int]:
            programme = self.state.programme()
            with self.state.store() as store:
                with self.state.view(store) as view:
                    plan = plan_batch(view, programme, self._period(t, start, end),
                                      methodology)
                if plan.seal_record().covered_digest != digest:
                    raise Rejected(t("batches.changed"))
                return plan.batch_id, operator.seal(self.state.cfg, self.state.ledger(store),
                                                    actor, plan)

        try:
            batch_id, index = await run_in_threadpool(work)
        except (AggregatorError, InvalidInput) as e:
            self.flash(request, "error", str(e))
            return self.redirect(f"/batches?start={quote(start)}&end={quote(end)}"
                                 f"&methodology={quote(methodology)}")
        log.info("web UI sealed batch %s (entry %d)", batch_id, index)
        self.flash(request, "ok", t("flash.sealed").replace("{b}", batch_id)
                   .replace("{i}", str(index)))
        return self.redirect("/batches")

    def _sealed_ids(self) -> tuple[Programme, set[str]]:
        programme = self.state.programme()
        with self.state.store() as store, self.state.view(store) as view:
            return programme, {s.batch_id for _, s in view.programme_seals(programme.id)}

    def _generate(self, batch_id: str, lang: str) -> bool:
        """report.json, results.csv, households.csv, evidence/, report.html (and report.pdf if
        Chromium is installed) and report.zip of them all; returns whether a PDF was made."""
        programme, sealed = self._sealed_ids()
        if batch_id not in sealed:
            raise Rejected(translator(lang)("batches.unknown"))
        out = self.state.reports_dir / slug(batch_id)
        with self.state.store() as store:
            report = write_report(self.state.ledger(store), programme, batch_id, out,
                                  list(self.state.cfg.witness_vkeys))
        html = out / "report.html"
        html.write_text(render_report_html(report, lang, self_check(report)), "utf-8")
        pdf = out / "report.pdf"
        pdf.unlink(missing_ok=True)
        made_pdf = False
        if find_chromium() is not None:
            try:
                render_pdf(html, pdf)
                made_pdf = True
            except AggregatorError as e:
                log.warning("no PDF for %s: %s", batch_id, e)
        tmp = out / "report.zip.tmp"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name in REPORT_FILES:
                if name != "report.zip" and (out / name).exists():
                    z.write(out / name, f"{slug(batch_id)}/{name}")
            for f in sorted((out / "evidence").iterdir()):
                z.write(f, f"{slug(batch_id)}/evidence/{f.name}")
        tmp.replace(out / "report.zip")
        return made_pdf

    async def report_post(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        form = await self.posted(request)
        t = self.t(request)
        batch_id = str(form.get("batch", ""))
        try:
            made_pdf = await run_in_threadpool(self._generate, batch_id, self.lang(request))
        except (AggregatorError, InvalidInput) as e:
            self.flash(request, "error", str(e))
            return self.redirect("/batches")
        log.info("web UI generated the report of %s", batch_id)
        self.flash(request, "ok", t("flash.report").replace("{b}", batch_id))
        if not made_pdf:
            self.flash(request, "error", t("flash.no_pdf"))
        return self.redirect("/batches")

    async def _report_dir(self, request: Request) -> tuple[str, Path]:
        self.require(request, Role.OPERATOR)
        batch_id = request.query_params.get("batch", "")
        _, sealed = await run_in_threadpool(self._sealed_ids)
        if batch_id not in sealed:
            raise HTTPException(404, "batches.unknown")
        d = self.state.reports_dir / slug(batch_id)
        if not (d / "report.zip").exists():
            raise HTTPException(404, "batches.no_report")
        return batch_id, d

    async def download(self, request: Request) -> Response:
        batch_id, d = await self._report_dir(request)
        name = request.query_params.get("file", "")
        if name not in REPORT_FILES or not (d / name).exists():
            raise HTTPException(404)
        types = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                 "html": "text/html; charset=utf-8", "pdf": "application/pdf",
                 "zip": "application/zip"}
        return FileResponse(d / name, media_type=types[name.rsplit(".", 1)[1]],
                            filename=f"{slug(batch_id)}-{name}")

    async def report_view(self, request: Request) -> Response:
        _, d = await self._report_dir(request)
        return HTMLResponse((d / "report.html").read_text("utf-8"),
                            headers={"Cache-Control": "no-store"})

    # --- residents and shops ---------------------------------------------------------------

    async def resident_login_page(self, request: Request) -> Response:
        return self.render(request, "resident_login.html", "rlogin.title", error=None)

    async def resident_login(self, request: Request) -> Response:
        form = await self.posted(request)
        t = self.t(request)
        client = self.client(request)
        now = time.time()  # wall clock: the counts outlive the process
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
        page, programme = await run_in_threadpool(self._household, household)
        if programme is None:
            return self.error(request, 503, self.t(request)("error.no_programme")
                              .replace("{e}", ""))
        energy, co2 = self._household_charts(self.t(request), page)
        token = self.state.qr.dumps(household)
        url = f"{str(request.base_url).rstrip('/')}/shop/redeem?t={token}"
        return self.render(request, "resident.html", "resident.title", page=page,
                           programme=programme, energy_svg=energy, co2_svg=co2,
                           qr_svg=qr_svg(url, label=self.t(request)("resident.qr_hint")),
                           qr_url=url, qr_minutes=self.state.ui.qr_minutes,
                           reward_names={r.id: r.name for r in programme.rewards})

    def _token_household(self, token: str) -> str | None:
        try:
            household = self.state.qr.loads(token, max_age=self.state.ui.qr_minutes * 60)
        except BadSignature:
            return None
        return household if isinstance(household, str) and PSEUDONYM_RE.fullmatch(
            household) else None

    def _shop_context(self, household: str) -> dict[str, Any]:
        page, programme = self._household(household, 0)
        balance = page.statement.balance if page.statement else 0
        return {"household": household, "balance": balance, "rewards": page.rewards}

    async def shop_page(self, request: Request) -> Response:
        self.require(request, Role.SHOP, Role.OPERATOR)
        token = request.query_params.get("t", "")
        t = self.t(request)
        ctx: dict[str, Any] = {"household": None, "token": token, "done": None, "error": None,
                               "balance": 0, "rewards": []}
        if token:
            household = self._token_household(token)
            if household is None:
                ctx["error"] = t("shop.expired")
            else:
                ctx.update(await run_in_threadpool(self._shop_context, household))
        return self.render(request, "shop_redeem.html", "shop.title", **ctx)

    async def shop_redeem(self, request: Request) -> Response:
        user = self.require(request, Role.SHOP, Role.OPERATOR)
        form = await self.posted(request)
        t = self.t(request)
        token = str(form.get("t", ""))
        household = self._token_household(token)
        ctx: dict[str, Any] = {"household": None, "token": token, "done": None, "error": None,
                               "balance": 0, "rewards": []}
        if household is None:
            ctx["error"] = t("shop.expired")
            return self.render(request, "shop_redeem.html", "shop.title", 400, **ctx)
        res, error = await run_in_threadpool(self._redeem, operator.Actor.ui(user.name),
                                             household, str(form.get("reward", "")))
        ctx.update(await run_in_threadpool(self._shop_context, household))
        ctx["done"], ctx["error"] = res, error
        if res is not None:
            log.info("%s redeemed %s for %s (entry %d)", user.name, res.reward.id, household,
                     res.index)
        return self.render(request, "shop_redeem.html", "shop.title",
                           200 if error is None else 400, **ctx)

    # --- errors ----------------------------------------------------------------------------------

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

    # --- wiring ----------------------------------------------------------------------------------

    def routes(self) -> list[Route | Mount]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/", self.home, methods=get),
            Route("/login", self.login_page, methods=get),
            Route("/login", self.login, methods=post),
            Route("/logout", self.logout, methods=post),
            Route("/lang/{lang}", self.set_language, methods=get),
            Route("/fleet", self.fleet_page, methods=get),
            Route("/security", self.security_page, methods=get),
            Route("/security/lift", self.lift_post, methods=post),
            Route("/households", self.households_page, methods=get),
            Route("/households/{household}", self.household_page, methods=get),
            Route("/households/{household}/resident-code", self.issue_code, methods=post),
            Route("/households/{household}/redeem", self.operator_redeem, methods=post),
            Route("/enrol", self.enrol_page, methods=get),
            Route("/enrol", self.enrol_post, methods=post),
            Route("/devices/{device_id}/revoke", self.revoke_post, methods=post),
            Route("/devices/{device_id}/release", self.release_post, methods=post),
            Route("/ledger", self.ledger_page, methods=get),
            Route("/points", self.points_page, methods=get),
            Route("/batches", self.batches_page, methods=get),
            Route("/batches/seal", self.seal_post, methods=post),
            Route("/batches/report", self.report_post, methods=post),
            Route("/batches/download", self.download, methods=get),
            Route("/batches/view", self.report_view, methods=get),
            Route("/resident/login", self.resident_login_page, methods=get),
            Route("/resident/login", self.resident_login, methods=post),
            Route("/resident", self.resident_page, methods=get),
            Route("/shop/redeem", self.shop_page, methods=get),
            Route("/shop/redeem", self.shop_redeem, methods=post),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]


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


def create_app(ui: UiConfig) -> Starlette:
    """The ASGI app; raises :class:`ConfigError` if the state directory is incomplete."""
    app = UiApp(ui)
    return Starlette(
        routes=app.routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SessionMiddleware, secret_key=app.state.secret.hex(),
                       session_cookie=SESSION_COOKIE,
                       max_age=int(ui.session_hours * 3600), same_site="strict",
                       https_only=ui.secure_cookies),
        ],
        exception_handlers={Forbidden: app.on_forbidden, LoginNeeded: app.on_login,
                            HTTPException: app.on_http, ConfigError: app.on_config},
    )


__all__ = ["UiApp", "UiConfig", "create_app", "safe_next", "slug"]
