"""The credentials people carry, in the web UI (issue 20).

* ``/resident/statement[?history=1]`` — the resident's signed eco-points statement
  (:func:`aggregator.credentials.points_credential`: the balance at the latest checkpoint, the
  days only when the resident ticks "include history") with the household's enrolment
  credentials, as one QR code (:mod:`.credential_qr`); ``/resident/statement.json`` downloads
  the statement itself, the file ``eco-verify credential`` checks. Pseudonyms only.
* ``/shop/check`` — the shop pastes (or its scanner types) the QR code's content; the statement
  is checked offline against the town's DID document and status list the server keeps
  (:mod:`.town_cache`, refreshed from the read API when it answers), and the verdict shown in
  the reader's language (:mod:`.statement_check`). Redeeming stays the redeem page's: a valid
  statement issued within the redeem QR code's ``qr_minutes`` links to it (an older one, e.g. a
  copy kept for later, shows the balance only), and the redeem page's rules decide.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from qrcode.exceptions import DataOverflowError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eco_protocol.canonical import parse_json
from eco_protocol.encoding import format_time, parse_time
from eco_protocol.errors import InvalidInput, ProtocolError

from ..credentials import enrolment_credential, points_credential
from ..errors import AggregatorError, Rejected
from ..store.interface import DeviceRow
from . import credential_qr
from .auth import Role
from .common import Pages, UiState
from .i18n import Translator
from .qr import qr_svg
from .statement_check import Outcome, StatementCheck, check_statement

log = logging.getLogger(__name__)

QR_PX = 360  # a dense code (version ~25): ~2.5 px a module, within a 390 px phone's width


def _enrolled_in(row: DeviceRow, household: str, programme: str) -> bool:
    """Whether a live device is enrolled for ``household`` in ``programme``."""
    if row.revoked_index is not None:
        return False
    try:
        record = parse_json(row.enrolment)
    except ProtocolError:
        return False
    return isinstance(record, dict) and record.get("household") == household and \
        record.get("programme") == programme


class NoLiveDevice(Rejected):
    """Every device of the household was revoked: no statement is issued, since one without a
    revocable enrolment beside it could not be refused at a shop."""


def issue_statement(state: UiState, household: str, history: bool) -> list[dict[str, Any]]:
    """The household's points statement (first) and the enrolment credential of each of its
    live devices in the programme, signed now by the log key as the town's did:web."""
    issuer = state.issuer
    assert issuer is not None  # the routes ask first
    programme = state.programme()
    with state.store() as store:
        devices = [r.device_id for r in store.devices()
                   if _enrolled_in(r, household, programme.id)]
        if not devices:
            raise NoLiveDevice(f"household {household} has no live device in {programme.id}")
        ledger = state.ledger(store)
        statement = points_credential(issuer, ledger, programme, household, history)
        return [statement, *(enrolment_credential(issuer, ledger, d) for d in devices)]


def statement_qr(t: Translator,
                 credentials: list[dict[str, Any]]) -> tuple[str, str, str | None]:
    """The QR code's text, its drawing (None: too big for a QR code, e.g. a long history) and
    the text's size in characters, as shown."""
    text = credential_qr.encode(credentials)
    try:
        return text, str(len(text)), qr_svg(text, size_px=QR_PX, label=t("statement.qr_label"))
    except (DataOverflowError, ValueError):  # qrcode: "Invalid version (was 41, …)"
        return text, str(len(text)), None


class CredentialRoutes(Pages):
    """The resident's statement and the shop's check of it."""

    async def _issued(self, request: Request) -> list[dict[str, Any]] | Response:
        """The resident's credentials (``?history=1``: with the days), or the page saying in
        the reader's language why none were issued (the English detail goes to the log)."""
        household = self.require_resident(request)
        t = self.t(request)
        if self.state.issuer is None:
            return self.error(request, 503, t("statement.no_issuer"))
        history = request.query_params.get("history") == "1"
        try:
            return await run_in_threadpool(issue_statement, self.state, household, history)
        except NoLiveDevice as e:
            log.info("no statement for %s: %s", household, e)
            return self.error(request, 409, t("statement.no_device"))
        except (AggregatorError, ProtocolError) as e:
            log.warning("no statement for %s: %s", household, e)
            return self.error(request, 503, t("statement.failed"))

    async def statement_page(self, request: Request) -> Response:
        creds = await self._issued(request)
        if isinstance(creds, Response):
            return creds
        history = request.query_params.get("history") == "1"
        text, size, svg = statement_qr(self.t(request), creds)
        subject = creds[0]["credentialSubject"]
        return self.render(request, "statement.html", "statement.title", audience="resident",
                           household=subject["household"], balance=subject["balance"],
                           as_of=subject["asOf"], history=history, qr_text=text,
                           qr_chars=size, qr_svg=svg, enrolments=len(creds) - 1,
                           download="/resident/statement.json" + ("?history=1" if history
                                                                  else ""))

    async def statement_json(self, request: Request) -> Response:
        creds = await self._issued(request)
        if isinstance(creds, Response):
            return creds
        name = f"eco-points-{creds[0]['credentialSubject']['household']}.json"
        return JSONResponse(creds[0], headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store"})

    def _check(self, text: str) -> tuple[StatementCheck | None, dict[str, Any]]:
        """The verdict on ``text`` (None: nothing given) and the copy's state for the page."""
        now = self.state.ui.clock()
        cache = self.state.town_cache
        assert cache is not None and self.state.issuer is not None
        keys = cache.keys(now)
        age = keys.age(now)
        copy = {"fetched_at": keys.fetched_at, "unreachable": keys.unreachable,
                "age_minutes": None if age is None else int(age / timedelta(minutes=1))}
        if not text.strip():
            return None, copy
        try:
            held = credential_qr.decode(text)
        except credential_qr.QrPayloadError as e:
            log.info("a statement check refused unreadable content: %s", e)
            return StatementCheck(Outcome.INVALID, "unreadable", str(e)), copy
        return check_statement(held, self.state.issuer.did, keys.did_documents,
                               keys.status_lists, format_time(now)), copy

    async def check_page(self, request: Request) -> Response:
        self.require(request, Role.SHOP, Role.OPERATOR)
        return await self._check_response(request, "")

    async def check_post(self, request: Request) -> Response:
        user = self.require(request, Role.SHOP, Role.OPERATOR)
        form = await self.posted(request)
        return await self._check_response(request, str(form.get("statement", "")), user.name)

    def _fresh(self, verdict: StatementCheck) -> bool:
        """Whether the statement was issued within the redeem QR code's validity: only then
        does it open the redeem page, so a copy kept for later (a photo of it) redeems no more
        than an old redeem QR code does."""
        try:
            issued = parse_time(verdict.issued_at, "proof.created")
        except InvalidInput:
            return False
        return self.state.ui.clock() - issued <= timedelta(minutes=self.state.ui.qr_minutes)

    async def _check_response(self, request: Request, text: str, who: str = "") -> Response:
        t = self.t(request)
        if self.state.town_cache is None:
            return self.error(request, 503, t("statement.no_issuer"))
        verdict, copy = await run_in_threadpool(self._check, text)
        redeem = None
        if verdict is not None:
            log.info("%s checked a statement: %s %s %s", who, verdict.outcome, verdict.reason,
                     verdict.detail)
            if verdict.outcome is Outcome.VALID and self._fresh(verdict):
                redeem = "/shop/redeem?t=" + self.state.qr.dumps(verdict.household)
        status = 200 if verdict is None or verdict.outcome is Outcome.VALID else 422
        # the box is left empty for the next scan (a scanner types into it)
        return self.render(request, "shop_check.html", "check.title", status, verdict=verdict,
                           copy=copy, redeem=redeem, qr_minutes=self.state.ui.qr_minutes)

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/resident/statement", self.statement_page, methods=get),
            Route("/resident/statement.json", self.statement_json, methods=get),
            Route("/shop/check", self.check_page, methods=get),
            Route("/shop/check", self.check_post, methods=post),
        ]


__all__ = ["CredentialRoutes", "NoLiveDevice", "issue_statement", "statement_qr"]
