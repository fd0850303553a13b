"""A buyer's account page (issue 19 point 3), public: no login, the account is its ``did:key``.

* ``GET /account`` — look an account up (``?id=did:key:…`` redirects to its page);
  ``GET /account/did:key:…`` — its holdings, the transfers it received and sent, its
  cancellations, each with its ledger entry and a link to the entry's inclusion proof (in the
  path, so the language switch keeps the account);
* ``POST /account/request`` — the holder's signed transfer or cancellation request (the JSON file
  ``eco-verify certificate-request transfer|cancel`` made where the buyer keeps its key). It is
  logged by :func:`aggregator.certificate_moves.submit_request` through
  :func:`aggregator.operator.move_certificates` — the code path of ``eco-aggregator certificates
  transfer|cancel`` — which checks the holder's signature, that the holder holds the ids and
  that the request is used once. A refusal says why in the reader's language
  (:func:`.certificate_views.refusal_of`) and counts against the client's address in the login
  throttle (:mod:`.throttle`), like a wrong resident code; the upload is size-limited;
* ``GET /account/proof?index=N`` — a claim entry's RFC 6962 inclusion proof against the latest
  checkpoint, the JSON of the read API's ``/proof/inclusion`` (:class:`aggregator.http_api.LogApi`);
  only claims (what the page links): readings and enrolments are the read API's to serve.

Nobody but the holder's key can move the ids: the operator has no form for it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from eco_protocol.accounts import ClaimRequest, account_field
from eco_protocol.canonical import parse_json
from eco_protocol.claims import CANCELLED, CLAIM_TYPE, TRANSFERRED
from eco_protocol.errors import InvalidInput
from eco_protocol.messages import render

from .. import operator
from ..certificate_moves import submit_request
from ..errors import AggregatorError
from ..http_api import ApiConfig, LogApi
from . import certificate_views as cv
from .certificate_routes import Certificates, read_certificates
from .common import Pages

log = logging.getLogger(__name__)

MAX_UPLOAD: Final = 64 * 1024  # a signed request is under 2 KiB; anything this big is not one
MALFORMED: Final = "malformed"  # not a signed request at all (not JSON, wrong fields)
TOO_BIG: Final = "too_big"
OTHER: Final = "other"  # refused by the claim book for a reason the page has no words for


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a submitted request: the entry that logged it, or why it was refused
    (a code of :data:`.certificate_views.REFUSALS`, :data:`MALFORMED`, :data:`TOO_BIG`,
    :data:`OTHER`) with the checker's own words (in the reader's language where the checker's
    message has a code; shown as code, below the translated reason)."""

    action: str | None = None
    index: int | None = None
    reason: str | None = None
    detail: str = ""


def account_view(data: Certificates, account: str) -> dict[str, Any]:
    """The account page's tables: holdings, received, sent, cancelled (entries newest first)."""
    mine = [m for m in data.moves if account in (m.account, m.source)]
    received = [m for m in mine if m.action == TRANSFERRED and m.account == account]
    sent = [m for m in mine if m.action == TRANSFERRED and m.source == account]
    cancelled = [m for m in mine if m.action == CANCELLED and m.account == account]
    held = cv.holdings(data.rows, account)
    return {"holdings": held, "received": received[::-1], "sent": sent[::-1],
            "cancelled": cancelled[::-1], "held_wh": sum(h.size for h in held),
            "received_wh": sum(m.ids.size for m in received),
            "sent_wh": sum(m.ids.size for m in sent),
            "cancelled_wh": sum(m.ids.size for m in cancelled)}


def parse_request(raw: bytes) -> ClaimRequest:
    """The uploaded bytes as a signed request; :class:`InvalidInput` if they are not one."""
    return ClaimRequest.from_dict(parse_json(raw))


class AccountRoutes(Pages):
    """The buyer's account: public read, and the holder's signed requests."""

    def _account_page(self, request: Request, account: str, status: int = 200,
                      outcome: Outcome | None = None) -> Response:
        data = read_certificates(self.state)
        return self.render(request, "account.html", "buyer.title", status, audience="buyer",
                           account=account, outcome=outcome, short=cv.short_account,
                           max_kib=MAX_UPLOAD // 1024, **account_view(data, account))

    async def lookup_page(self, request: Request) -> Response:
        given = request.query_params.get("id", "").strip()
        if not given:
            return self.render(request, "account_lookup.html", "buyer.lookup_title",
                               audience="buyer", given="", bad=False)
        refused = self._account_or_refusal(request, given)
        return refused if refused is not None else \
            self.redirect(f"/account/{quote(given, safe=':')}")

    def _account_or_refusal(self, request: Request, given: str) -> Response | None:
        """The lookup page saying ``given`` is no account, or None if it is one."""
        try:
            account_field(given, "id")
        except InvalidInput:
            return self.render(request, "account_lookup.html", "buyer.lookup_title", 400,
                               audience="buyer", given=given[:200], bad=True)
        return None

    async def account_page(self, request: Request) -> Response:
        account = str(request.path_params["account"])
        refused = self._account_or_refusal(request, account)
        if refused is not None:
            return refused
        return await run_in_threadpool(self._account_page, request, account)

    async def _upload(self, request: Request) -> bytes | None:
        """The request's bytes (the file, else the pasted text); None if too big. Read with
        limits before the CSRF check reads it again (Starlette keeps the parsed form)."""
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > 2 * MAX_UPLOAD:
            return None
        try:
            form = await request.form(max_files=1, max_fields=8, max_part_size=MAX_UPLOAD)
        except HTTPException:  # a part over MAX_UPLOAD (python-multipart's refusal)
            return None
        await self.posted(request)  # the CSRF check, on the form just read
        return await _bytes_of(form)

    async def request_post(self, request: Request) -> Response:
        client, now = self.client(request), self.state.ui.wall_clock()
        if self.state.throttle.wait(None, client, now) > 0:
            return self.render(request, "account_lookup.html", "buyer.lookup_title", 429,
                               audience="buyer", given="", bad=False,
                               error=self.t(request)("buyer.throttled"))
        raw = await self._upload(request)
        holder = ""
        if raw is None:
            outcome = Outcome(reason=TOO_BIG)
        else:
            try:
                signed = parse_request(raw)
                holder = signed.holder
                outcome = await run_in_threadpool(self._submit, signed, self.lang(request))
            except InvalidInput as e:
                outcome = Outcome(reason=MALFORMED, detail=render(e, self.lang(request)))
        if outcome.reason is not None:
            n = self.state.throttle.failed(None, client, now)
            log.warning("buyer's request from %s refused (%s; %d refusal(s) from it): %s",
                        client, outcome.reason, n, outcome.detail)
        if not holder:
            return self.render(request, "account_lookup.html", "buyer.lookup_title", 400,
                               audience="buyer", given="", bad=False, outcome=outcome)
        return await run_in_threadpool(self._account_page, request, holder,
                                       200 if outcome.reason is None else 422, outcome)

    def _submit(self, signed: ClaimRequest, lang: str) -> Outcome:
        """Log it as the CLI does, audited; a refusal (the claim book's, checked once, in the
        same transaction as the append) in the page's words where it has them."""
        programme = self.state.programme()
        target = f"{signed.ref} {signed.first}..{signed.last}"
        with self.state.store() as store:
            ledger = self.state.ledger(store)
            try:
                index = operator.move_certificates(
                    self.state.cfg, operator.Actor.ui(f"buyer {signed.holder}"),
                    signed.action, target,
                    lambda: submit_request(ledger, programme, signed, signed.action)[0])
            except (AggregatorError, InvalidInput) as e:
                reason = cv.refusal_of(e)
                if reason is not None:
                    return Outcome(signed.action, reason=reason)
                return Outcome(signed.action, reason=OTHER, detail=render(e, lang))
        log.info("buyer %s: %s of %s logged as entry %d", signed.holder, signed.action,
                 target, index)
        return Outcome(signed.action, index)

    async def proof(self, request: Request) -> Response:
        """The entry's inclusion proof, as the town's read API serves it."""
        index = request.query_params.get("index", "")
        if not index.isdigit():
            raise HTTPException(404, "buyer.no_proof")

        def work() -> Response:
            with self.state.store() as store:
                if int(index) >= store.size() or not _is_claim(store.entry(int(index))):
                    raise HTTPException(404, "buyer.no_proof")  # only what the page links
                answer = LogApi(store, ApiConfig(self.state.signer.verifier)).get(
                    "/proof/inclusion", f"index={index}")
            return Response(answer.body, answer.status, media_type=answer.content_type,
                            headers={"Cache-Control": answer.cache_control})

        return await run_in_threadpool(work)

    def routes(self) -> list[Route]:
        return [
            Route("/account", self.lookup_page, methods=["GET"]),
            Route("/account/request", self.request_post, methods=["POST"]),
            Route("/account/proof", self.proof, methods=["GET"]),
            Route("/account/{account}", self.account_page, methods=["GET"]),
        ]


def _is_claim(entry: bytes) -> bool:
    """Whether a log entry is an ``eco.claim/v1`` (what the account page links proofs of)."""
    try:
        return bool(json.loads(entry).get("type") == CLAIM_TYPE)
    except (ValueError, AttributeError):
        return False


async def _bytes_of(form: FormData) -> bytes | None:
    """The uploaded file's bytes, else the pasted text's; None if over :data:`MAX_UPLOAD`."""
    upload = form.get("request")
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_UPLOAD + 1)
        if data.strip():
            return None if len(data) > MAX_UPLOAD else data
    return str(form.get("request_text", "")).encode("utf-8")


__all__ = ["MALFORMED", "MAX_UPLOAD", "OTHER", "TOO_BIG", "AccountRoutes", "Outcome",
           "account_view", "parse_request"]
