"""The operator's pages of the web UI (issue 8): ``/fleet`` (devices online/offline by their
last reading, flagged devices, rejected readings, devices cut off for flooding), ``/security``
(login lock-outs, ``POST /security/lift``), ``/households``, ``/households/{pseudonym}``
(readings, energy, CO2, points; ``POST …/redeem``, ``POST …/resident-code``), ``/enrol``
(``POST``: same validation as ``eco-aggregator enrol``), ``POST /devices/{id}/revoke`` and
``POST /devices/{id}/release`` — every action through :mod:`aggregator.operator`, like the CLI
(broker login issued / withdrawn, audit record).

The ledger, points and batch pages are in :mod:`.ledger_routes`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from eco_protocol.claim_tokens import Equipment
from eco_protocol.encoding import b64decode, format_time
from eco_protocol.errors import InvalidInput
from eco_protocol.messages import render
from eco_protocol.methodology import terms_problem_codes
from eco_protocol.records import MeterSpec, Quantity

from .. import operator
from ..broker_auth import PasswordFile
from ..equipment_claims import equipment_arg
from ..errors import AggregatorError, EnvironmentProblem, Rejected
from ..flood_cutoff import Suspension, read_suspended
from ..ingest_status import read_status
from ..ledger import Ledger
from ..personal import PSEUDONYM_RE, Person
from ..registry import DEVICE_ID_RE, EnrolRefused, methodology_terms, parse_meter
from . import views
from .auth import Role
from .charts import COLOURS, Series, bars, shares
from .common import DATE_RE, Pages
from .households import (
    household_charts,
    household_data,
    programme_or_none,
    redeem,
    require_enrolled,
)
from .i18n import broker_reload_text
from .ingest_view import ingest_panel, suspended_rows
from .provisioning import agent_snippet, devices_broker_url
from .qr import qr_svg
from .templating import FormValues

log = logging.getLogger(__name__)

T = TypeVar("T")

# what the agent reads (agent.meters.meter_config.MeterProtocol; a test keeps them equal). The
# registry accepts any name, so enrolments made with older names still load.
# the form field an error code of the registry or the methodology names
METER_FIELDS = {"meter.id": "enrol.meter_id", "meter.quantity": "enrol.quantity",
                "meter.protocol": "enrol.protocol", "meter.rated_w": "enrol.rated_w"}
TERMS_FIELDS = {"installed": "enrol.installed", "status": "enrol.fit_status",
                "battery": "enrol.battery", "ev": "enrol.ev"}

PROTOCOLS = ("sunspec-modbus", "echonet-broute", "tasmota", "shelly", "openevse")
# the equipment rows of the enrol form (issue 18: a consortium's claim tokens); the CLI's
# --equipment KIND=IDENTITY, one row each
EQUIPMENT_KINDS = ("inverter", "supply-point", "ev-charger", "vin")
EQUIPMENT_ROWS = 3


def _equipment_rows(form: FormValues, bad: Callable[[str], None]) -> list[Equipment]:
    """The equipment rows as ``eco-aggregator enrol --equipment`` would take them; ``bad(n)``
    for a row whose identity does not parse (the row number, 1-based)."""
    out: list[Equipment] = []
    for i in range(EQUIPMENT_ROWS):
        kind, identity = form[f"equipment_kind_{i}"], form[f"equipment_id_{i}"].strip()
        if not identity:
            continue
        try:
            if kind in EQUIPMENT_KINDS:
                out.append(equipment_arg(f"{kind}={identity}", f"equipment {i + 1}"))
                continue
        except EnrolRefused:
            pass
        bad(str(i + 1))
    return out


class OperatorRoutes(Pages):
    """Fleet, lock-outs, households, enrolment, revocation and release (operators only)."""

    # --- fleet ---------------------------------------------------------------------------------

    async def fleet_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        t = self.t(request)

        def work() -> tuple[views.Fleet, datetime]:
            with self.state.store() as store, self.state.view(store) as view:
                now = self.state.judging_time(view)
                return views.fleet(view, store.devices(), store.rejections(50),
                                   now, self.state.ui.offline_after), now

        f, judged_at = await run_in_threadpool(work)
        households = {d.device_id: d.household for d in f.devices}
        # serve's per-device refused/dropped counts (issue 14: a flooding device is named here)
        ingest = ingest_panel(
            await run_in_threadpool(read_status, self.state.cfg.state_dir), households,
            self.state.ui.clock())
        health = shares([(t(f"state.{s}"), f.counts[s], COLOURS[s])
                         for s in ("online", "offline", "never", "revoked")],
                        title=t("fleet.health"))
        daily = bars([d[5:] for d, _ in f.daily_readings],
                     [Series(t("chart.readings"), [n for _, n in f.daily_readings],
                             COLOURS["readings"])],
                     title=t("fleet.readings_per_day"), unit=t("chart.readings"))
        hours = self.state.ui.offline_after.total_seconds() / 3600
        return self.render(request, "fleet.html", "fleet.title", fleet=f, health_svg=health,
                           daily_svg=daily, offline_after_h=f"{hours:g}", ingest=ingest,
                           data_clock=self.state.ui.online_clock is views.OnlineClock.DATA,
                           judged_at=judged_at,
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
            except Rejected:  # nothing to lift
                return t("security.nothing_to_lift").replace("{n}", name)
            except AggregatorError as e:  # the English detail to the log
                log.warning("web UI lift of %s %s failed: %s", kind, name, e)
                return t("security.lift_failed").replace("{n}", name)
            return None

        error = await run_in_threadpool(work)
        if error is not None:
            self.flash(request, "error", error)
        else:
            self.flash(request, "ok", t("flash.lifted").replace("{n}", name))
        return self.redirect("/security")

    # --- households ------------------------------------------------------------------------------

    async def households_page(self, request: Request) -> Response:
        user = self.require(request, Role.OPERATOR)
        t = self.t(request)
        query = request.query_params.get("q", "").strip()[:100]
        found: list[Person] | None = None
        if query:  # names and phones from the personal store; the search is audited
            found = await run_in_threadpool(operator.search_households, self.state.cfg,
                                            operator.Actor.ui(user.name), query)

        def work() -> tuple[list[views.Balance], dict[str, int], str | None]:
            programme, problem = programme_or_none(self.state)
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
                           device_count=counts, problem=problem, query=query, found=found,
                           balance_of={b.household: b for b in balances})

    async def household_view(self, request: Request, new_code: str | None = None,
                             status: int = 200) -> Response:
        user = self.require(request, Role.OPERATOR)
        household = request.path_params["household"]
        if not PSEUDONYM_RE.fullmatch(household):
            raise HTTPException(404)
        page, programme = await run_in_threadpool(household_data, self.state, household)
        # the name beside the pseudonym, from the personal store (operators only; audited)
        person = await run_in_threadpool(operator.household_person, self.state.cfg,
                                         operator.Actor.ui(user.name), household)
        energy, co2 = household_charts(self.t(request), page)
        lang = self.lang(request)
        names = {r.id: r.label(lang) for r in programme.rewards} if programme else {}
        return self.render(request, "household.html", "household.title", status, page=page,
                           energy_svg=energy, co2_svg=co2, reward_names=names,
                           has_code=self.state.residents.has_code(household),
                           new_code=new_code, person=person)

    async def household_page(self, request: Request) -> Response:
        return await self.household_view(request)

    async def issue_code(self, request: Request) -> Response:
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        await self.posted(request)
        household = request.path_params["household"]
        if not PSEUDONYM_RE.fullmatch(household):
            raise HTTPException(404)
        await run_in_threadpool(require_enrolled, self.state, household)
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
            redeem, self.state, actor, household, str(form.get("reward", ""))))
        return self.redirect(f"/households/{household}")

    def _redeem_and_flash(self, request: Request, res: Any, error: str | None) -> None:
        t = self.t(request)
        if error is not None:  # the aggregator's English reason goes to the log
            log.warning("counter redemption refused: %s", error)
            self.flash(request, "error", t("shop.refused"))
        else:
            self.flash(request, "ok", t("flash.redeemed")
                       .replace("{reward}", res.reward.label(self.lang(request)))
                       .replace("{i}", str(res.index)).replace("{n}", str(res.balance)))

    # --- enrolment and revocation -------------------------------------------------------------

    async def enrol_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        programme, _ = await run_in_threadpool(programme_or_none, self.state)
        form = FormValues(programme=programme.id if programme else "",
                          meter_id_0="pv1", meter_quantity_0="pv_generation",
                          meter_protocol_0="sunspec-modbus")
        return self.render(request, "enrol.html", "enrol.title", form=form, errors=[],
                           quantities=[q.value for q in Quantity],
                           protocols=PROTOCOLS, equipment_kinds=EQUIPMENT_KINDS)

    def _enrol_form(self, t: Callable[[str], str],
                    form: FormValues) -> tuple[dict[str, Any] | None, list[str]]:
        """Validate like ``eco-aggregator enrol``; (arguments for :meth:`_enrol`, errors). Each
        error is a sentence of the catalogue naming the form field and what to enter (the CLI's
        English stays in the registry's and the methodology's error codes' texts)."""
        errors: list[str] = []

        def err(key: str, **values: str) -> None:
            text = t(key)
            for k, v in values.items():
                text = text.replace("{" + k + "}", v)
            errors.append(text)

        public = b""
        try:
            public = b64decode(form["public_key"].strip(), "public key")
            if len(public) != 32:
                err("enrol.err.public_key", f=t("enrol.public_key"))
        except InvalidInput:
            err("enrol.err.public_key", f=t("enrol.public_key"))
        reference = form["household"].strip()
        if not reference:
            err("enrol.err.empty", f=t("enrol.household"))
        programme = form["programme"].strip()
        if not programme or len(programme) > 128:
            err("enrol.err.programme", f=t("enrol.programme"))
        meters: list[MeterSpec] = []
        rows = 0
        for i in range(4):
            mid = form[f"meter_id_{i}"].strip()
            if not mid:
                continue
            rows += 1
            protocol = form[f"meter_protocol_{i}"]
            if protocol not in PROTOCOLS:
                err("enrol.err.meter.protocol", n=str(i + 1), f=t("enrol.protocol"))
                continue
            try:
                meters.append(parse_meter(f"{mid}:{form[f'meter_quantity_{i}']}:{protocol}:"
                                          f"{form[f'meter_rated_w_{i}'].strip()}",
                                          f"meter {i + 1}"))
            except EnrolRefused as e:
                err(f"enrol.err.{e.code}", n=str(i + 1),
                    f=t(METER_FIELDS.get(e.code, "enrol.meters")))
        if len({m.id for m in meters}) != len(meters):
            err("enrol.err.meter.duplicate", f=t("enrol.meters"))
        if not rows:
            err("enrol.no_meter", f=t("enrol.meters"))
        numbers: dict[str, float | None] = {}
        for name, kind in (("ev_wh_per_km", int), ("ev_petrol_km_per_l", float)):
            text = form[name].strip()
            try:
                numbers[name] = kind(text) if text else None
            except ValueError:
                err("enrol.bad_number", f=t(
                    "enrol.ev_wh_per_km" if name == "ev_wh_per_km" else "enrol.ev_petrol"))
                numbers[name] = None
        for name in ("installed", "fit_until"):
            if form[name] and not DATE_RE.fullmatch(form[name]):
                err("enrol.err.date", f=t("enrol." + name))
        battery = {"yes": True, "no": False}.get(form["battery"])
        wh = numbers["ev_wh_per_km"]
        fit = methodology_terms(installed=form["installed"] or None,
                                fit_status=form["fit_status"] or None,
                                fit_until=form["fit_until"] or None, battery=battery,
                                zero_export=form["zero_export"] == "1",
                                ev_wh_per_km=None if wh is None else int(wh),
                                ev_petrol_km_per_l=numbers["ev_petrol_km_per_l"])
        for code in terms_problem_codes([m.quantity for m in meters], fit):
            err(f"enrol.err.terms.{code}", f=t(TERMS_FIELDS[code]))
        equipment = _equipment_rows(form, lambda n: err("enrol.err.equipment.format", n=n,
                                                         f=t("enrol.equipment")))
        if errors:
            return None, errors
        return {"public": public, "reference": reference, "programme": programme,
                "meters": meters, "fit": fit, "equipment": equipment}, []

    def _enrol(self, actor: operator.Actor, public: bytes, reference: str, programme: str,
               meters: list[Any], fit: dict[str, Any],
               equipment: list[Equipment]) -> dict[str, Any]:
        """What ``eco-aggregator enrol`` does (:func:`aggregator.operator.enrol`: the household
        reference, the log entry, the broker login), plus a login code for a new household."""
        with self.state.store() as store:
            done = operator.enrol(self.state.cfg, self.state.ledger(store), actor,
                                  public_key=public, reference=reference, programme=programme,
                                  meters=meters, fit=fit, equipment=equipment,
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
            except EnrolRefused as e:
                if e.code.startswith("equipment."):  # names the member, device and date held
                    errors = [render(e, self.lang(request))]
                else:
                    errors = [t(f"enrol.err.{e.code}").replace("{f}", t("enrol.public_key"))]
            except (AggregatorError, InvalidInput) as e:
                log.warning("web UI enrolment failed: %s", e)  # the English detail, for the log
                errors = [t("enrol.err.failed")]
        if result is not None:  # the installer's printable page (the password shown once)
            return await self._provisioning_page(request, result)
        return self.render(request, "enrol.html", "enrol.title", 400 if errors else 200,
                           form=form, errors=errors,
                           quantities=[q.value for q in Quantity], protocols=PROTOCOLS,
                           equipment_kinds=EQUIPMENT_KINDS)

    # --- the installer's page: agent.toml snippet, QR, broker login ----------------------------

    async def _provisioning_page(self, request: Request, result: dict[str, Any]) -> Response:
        """The enrol result, printable: the device's ``agent.toml`` snippet (log key, devices'
        broker URL, login; the password only when it was just created) and its QR code, which
        ``eco-agent provision`` reads."""
        t = self.t(request)
        result = {"again": False, "reissued": False, "code": None, "broker_password": None,
                  "broker_reload": None, **result}
        if result["broker_reload"]:  # reload_broker's English, for the reader
            result["broker_reload"] = broker_reload_text(t, str(result["broker_reload"]))

        def current_vkey() -> str:
            with self.state.store() as store:
                self.state.ledger(store)  # picks up a rotated log key
            return str(self.state.signer.verifier.vkey)

        vkey = await run_in_threadpool(current_vkey)
        broker = devices_broker_url(self.state.cfg, self.state.ui.device_broker)
        snippet = agent_snippet(device_id=result["device_id"], log_vkey=vkey, broker=broker,
                                password=result.get("broker_password"))
        return self.render(request, "enrol_result.html", "provision.title", result=result,
                           snippet=snippet, broker=broker,
                           qr=qr_svg(snippet, size_px=280, label=t("provision.qr")))

    def _enrolled_device(self, request: Request) -> dict[str, Any]:
        """The device of the path, enrolled and not revoked (404 / 409 otherwise)."""
        device_id = request.path_params["device_id"]
        if not DEVICE_ID_RE.fullmatch(device_id):
            raise HTTPException(404)
        with self.state.store() as store:
            row = store.device(device_id)
        if row is None:
            raise HTTPException(404)
        if row.revoked_index is not None:
            raise HTTPException(409, "provision.revoked")
        return {"device_id": device_id, "household": operator.household_in(row),
                "index": row.enrol_index, "again": True}

    async def provisioning_page(self, request: Request) -> Response:
        """The enrol result again, for a device enrolled earlier: without the password (only
        its hash is kept); a button issues a new one."""
        self.require(request, Role.OPERATOR)
        return await self._provisioning_page(
            request, await run_in_threadpool(self._enrolled_device, request))

    async def broker_password_post(self, request: Request) -> Response:
        """A new broker password (:func:`aggregator.operator.reissue_broker_login`, like
        ``eco-aggregator broker-password``), on the printable page with the snippet."""
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        await self.posted(request)
        device = await run_in_threadpool(self._enrolled_device, request)

        def work() -> dict[str, str]:
            with self.state.store() as store:
                return operator.reissue_broker_login(self.state.cfg, store, actor,
                                                     device["device_id"])

        try:
            login = await run_in_threadpool(work)
        except AggregatorError as e:  # the English detail to the log
            log.warning("web UI broker password of %s failed: %s", device["device_id"], e)
            self.flash(request, "error", self.t(request)("provision.reissue_failed"))
            return self.redirect(f"/devices/{device['device_id']}/provisioning")
        return await self._provisioning_page(request, {**device, **login, "reissued": True})

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
                if not reason:
                    return None, t("error.reason_required").replace("{f}", t(reason_key)), \
                        household
                row = store.device(device_id)
                revoked = None if row is None else row.revoked_index
                had_login = False
                if revoked is not None:  # a second revoke withdraws a login left behind
                    with contextlib.suppress(EnvironmentProblem):
                        had_login = device_id in PasswordFile(
                            self.state.cfg.mqtt.broker_passwd_file).read()
                try:
                    return act(self.state.ledger(store), actor, device_id, reason), None, \
                        household
                except (AggregatorError, InvalidInput) as e:  # the English detail to the log
                    log.warning("web UI decision on %s refused: %s", device_id, e)
                    if revoked is not None and isinstance(e, Rejected):
                        text = t("revoke.already").replace("{d}", device_id) \
                            .replace("{i}", str(revoked))
                        if had_login:
                            text += " " + t("revoke.login_removed_now")
                        return None, text, household
                    return None, t("error.decision_refused").replace("{d}", device_id), \
                        household

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
                       .replace("{reload}", broker_reload_text(
                           t, str(done.login["broker_reload"]))))
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

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/fleet", self.fleet_page, methods=get),
            Route("/security", self.security_page, methods=get),
            Route("/security/lift", self.lift_post, methods=post),
            Route("/households", self.households_page, methods=get),
            Route("/households/{household}", self.household_page, methods=get),
            Route("/households/{household}/resident-code", self.issue_code, methods=post),
            Route("/households/{household}/redeem", self.operator_redeem, methods=post),
            Route("/enrol", self.enrol_page, methods=get),
            Route("/enrol", self.enrol_post, methods=post),
            Route("/devices/{device_id}/provisioning", self.provisioning_page, methods=get),
            Route("/devices/{device_id}/broker-password", self.broker_password_post,
                  methods=post),
            Route("/devices/{device_id}/revoke", self.revoke_post, methods=post),
            Route("/devices/{device_id}/release", self.release_post, methods=post),
        ]


__all__ = ["PROTOCOLS", "OperatorRoutes"]
