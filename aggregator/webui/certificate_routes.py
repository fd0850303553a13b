"""The operator's certificate pages (issue 19 point 3): ``/certificates`` (the issued bundles,
filtered by period and status; issuing for a period), ``/certificates/bundle?ref=…`` (one bundle:
its readings, who holds which ids, its moves; selling ids the town still holds to a buyer's
account) and ``/certificates/accounts`` (every account the log named, with its totals).

Issuing and assigning go through :func:`aggregator.operator.issue_certificates` and
:func:`~aggregator.operator.move_certificates` (the audit trail of every operator action), as
``eco-aggregator certificates issue`` and ``assign`` do. No page offers to move or cancel ids
a buyer holds: only the holder's signed request can (the buyer's page,
:mod:`.account_routes`), and the claim book refuses any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from eco_protocol.accounts import ISSUER, account_field
from eco_protocol.certificates import IssuerConfig
from eco_protocol.claims import BundleRange
from eco_protocol.errors import InvalidInput
from eco_protocol.methodology import JST

from .. import operator
from ..batches import period_from_dates
from ..certificate_moves import assign
from ..claims import claim_book
from ..errors import AggregatorError, ConfigError, Rejected
from ..programme import Programme
from . import certificate_views as cv
from .auth import Role
from .common import DATE_RE, Pages, UiState
from .templating import FormValues

log = logging.getLogger(__name__)

MAX_ROWS = 300  # bundles listed at once; the filters narrow the rest down


def issuer_of(programme: Programme) -> IssuerConfig:
    """The issuer named on each bundle: the CLI's defaults (the programme's operator, JP)."""
    return IssuerConfig(programme.operator, "JP", "JP")


@dataclass(frozen=True, slots=True)
class Certificates:
    """The log's certificates as the pages show them (:mod:`.certificate_views`)."""

    programme: Programme
    rows: list[cv.BundleRow]
    moves: list[cv.Move]


def read_certificates(state: UiState) -> Certificates:
    """Every bundle and move, from the cached view and the claim book (store work: call it in
    the thread pool)."""
    programme = state.programme()
    with state.store() as store, state.view(store) as view:
        book = claim_book(view, store)
        return Certificates(programme, cv.bundle_rows(view, book, issuer_of(programme)),
                            cv.moves(view))


def _date(text: str) -> str:
    """A ``YYYY-MM-DD`` that names a real day, else ''."""
    try:
        return text if DATE_RE.fullmatch(text) and date.fromisoformat(text) else ""
    except ValueError:
        return ""


def _midnight(day: str) -> datetime | None:
    """00:00 JST of ``day`` (a :func:`_date`), None for ''."""
    return datetime.combine(date.fromisoformat(day), time(), JST) if day else None


class CertificateRoutes(Pages):
    """Certificates for the operator (logged in)."""

    async def list_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        q = FormValues({"start": _date(request.query_params.get("start", "")),
                        "end": _date(request.query_params.get("end", "")),
                        "status": request.query_params.get("status", "")})
        if q["status"] not in cv.STATUSES:
            q["status"] = ""
        try:
            data = await run_in_threadpool(read_certificates, self.state)
        except ConfigError:
            return self.error(request, 503, self.t(request)("certs.no_programme"))
        rows = cv.filtered(data.rows, _midnight(q["start"]), _midnight(q["end"]),
                           q["status"] or None)
        counts = {s: sum(1 for r in data.rows if r.status == s) for s in cv.STATUSES}
        return self.render(request, "certificates.html", "certs.title", query=q,
                           rows=rows[:MAX_ROWS], shown=min(len(rows), MAX_ROWS),
                           matching=len(rows), counts=counts,
                           total_wh=sum(r.bundle.face_value_wh for r in rows),
                           statuses=cv.STATUSES, short=cv.short_account, issuer=ISSUER,
                           accounts=len(cv.accounts(data.rows, data.moves)))

    async def bundle_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        ref = request.query_params.get("ref", "")
        data = await run_in_threadpool(read_certificates, self.state)
        found = [r for r in data.rows if r.bundle.issuance_id == ref]
        if not found:
            raise HTTPException(404, "certs.no_bundle")
        row = found[0]
        return self.render(request, "certificate_bundle.html", "certs.bundle_title", row=row,
                           moves=[m for m in data.moves if m.ref == ref],
                           sellable=[s for s in row.segments
                                     if s.holder == ISSUER and not s.cancelled],
                           short=cv.short_account, issuer=ISSUER)

    async def accounts_page(self, request: Request) -> Response:
        self.require(request, Role.OPERATOR)
        data = await run_in_threadpool(read_certificates, self.state)
        return self.render(request, "certificate_accounts.html", "certs.accounts_title",
                           accounts=cv.accounts(data.rows, data.moves), short=cv.short_account)

    async def issue_post(self, request: Request) -> Response:
        """What ``eco-aggregator certificates issue --period START..END`` does, audited."""
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        form = await self.posted(request)
        t = self.t(request)
        start, end = _date(str(form.get("start", ""))), _date(str(form.get("end", "")))
        if not start or not end or end <= start:
            self.flash(request, "error", t("certs.period_needed"))
            return self.redirect("/certificates")

        def work() -> tuple[int, int]:
            programme = self.state.programme()
            period = period_from_dates(f"{start}..{end}")
            with self.state.store() as store:
                done = operator.issue_certificates(self.state.cfg, self.state.ledger(store),
                                                   actor, programme, period,
                                                   issuer_of(programme))
            return len(done.bundles), done.total_wh

        try:
            n, wh = await run_in_threadpool(work)
        except (AggregatorError, InvalidInput) as e:
            log.warning("web UI issuance %s..%s refused: %s", start, end, e)
            nothing = getattr(e, "message_code", None) == "aggregator.certificates.nothing"
            self.flash(request, "error", t("certs.nothing" if nothing else "certs.issue_failed")
                       .replace("{start}", start).replace("{end}", end))
            return self.redirect(f"/certificates?start={start}&end={end}")
        self.flash(request, "ok", t("certs.issued").replace("{n}", str(n))
                   .replace("{wh}", f"{wh:,}"))
        return self.redirect(f"/certificates?start={start}&end={end}")

    async def assign_post(self, request: Request) -> Response:
        """What ``eco-aggregator certificates assign --ref --ids --to`` does, audited: the town
        sells ids it still holds (ids a buyer holds are refused by the claim book)."""
        actor = operator.Actor.ui(self.require(request, Role.OPERATOR).name)
        form = await self.posted(request)
        t = self.t(request)
        ref = str(form.get("ref", ""))
        back = f"/certificates/bundle?ref={ref}"
        try:
            ids = BundleRange(int(str(form.get("first", ""))), int(str(form.get("last", ""))))
            to = account_field(str(form.get("to", "")).strip(), "to")
        except (ValueError, InvalidInput):
            self.flash(request, "error", t("certs.assign_bad"))
            return self.redirect(back)

        def work() -> int:
            programme = self.state.programme()
            data = read_certificates(self.state)
            town = [s for r in data.rows if r.bundle.issuance_id == ref for s in r.segments
                    if s.holder == ISSUER and not s.cancelled]
            with self.state.store() as store:
                ledger = self.state.ledger(store)

                def step() -> int:  # refused inside the audit, as the CLI's refusals are
                    if not any(s.first <= ids.first and ids.last <= s.last for s in town):
                        raise Rejected(t("certs.assign_not_town"))
                    return assign(ledger, programme, ref, ids, to)[0]

                return operator.move_certificates(
                    self.state.cfg, actor, "assign", f"{ref} {ids.first}..{ids.last}", step)

        try:
            index = await run_in_threadpool(work)
        except (AggregatorError, InvalidInput) as e:
            log.warning("web UI assign of %s %s refused: %s", ref, ids, e)
            self.flash(request, "error", str(e) if isinstance(e, Rejected) and
                       e.message_code is None else t("certs.assign_refused"))
            return self.redirect(back)
        self.flash(request, "ok", t("certs.assigned").replace("{n}", str(ids.size))
                   .replace("{to}", cv.short_account(to)).replace("{i}", str(index)))
        return self.redirect(back)

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/certificates", self.list_page, methods=get),
            Route("/certificates/bundle", self.bundle_page, methods=get),
            Route("/certificates/accounts", self.accounts_page, methods=get),
            Route("/certificates/issue", self.issue_post, methods=post),
            Route("/certificates/assign", self.assign_post, methods=post),
        ]


__all__ = ["MAX_ROWS", "CertificateRoutes", "Certificates", "issuer_of", "read_certificates"]

