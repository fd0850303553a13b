"""The operator's ledger, points and batch pages of the web UI (issue 8): ``/ledger`` (size,
checkpoint, witness cosignatures, inclusion proof by index or device/seq), ``/points``,
``/batches`` (preview a period, ``POST /batches/seal``, ``POST /batches/report``,
``/batches/download``, ``/batches/view``). Sealing goes through :mod:`aggregator.operator`, like
the CLI; reports are written under ``<state_dir>/ui/reports/<batch>/``.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from eco_protocol.coverage import EV, PV
from eco_protocol.encoding import b64encode
from eco_protocol.errors import InvalidInput
from eco_protocol.merkle import inclusion_proof, inclusion_subtrees, leaf_hash, verify_inclusion
from eco_protocol.methodology import JST

from .. import operator
from ..accounting import LedgerView
from ..batches import BatchPlan, period_from_dates, plan_batch, report_anchor, write_report
from ..credentials import REPORT_CREDENTIAL, configured_issuer
from ..errors import AggregatorError, ConfigError, Rejected
from ..ledger import stored_source
from ..programme import Programme
from ..registry import DEVICE_ID_RE
from ..store import LedgerStore
from ..store.interface import CheckpointRow
from ..witness_status import (
    NeedsCosignature,
    report_checkpoint,
    report_cosigners,
    witness_status,
)
from . import views
from .auth import Role
from .charts import COLOURS, Series, bars
from .common import DATE_RE, Pages
from .i18n import translator
from .report import find_chromium, render_pdf, render_report_html, self_check
from .templating import FormValues

log = logging.getLogger(__name__)

METHODOLOGIES = (PV, EV)  # a batch is of one: their reductions are never summed
REPORT_FILES = ("report.json", REPORT_CREDENTIAL, "results.csv", "households.csv", "report.html",
                "report.pdf", "report.zip")


def slug(batch_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", batch_id).strip("._") or "batch"


class LedgerRoutes(Pages):
    """The ledger, points and batches (operators only)."""

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
                    "proof_error": None,
                    "witness": witness_status(store, self.state.cfg.origin)}
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
        return self.render(request, "ledger.html", "ledger.title", query=q,
                           wall_now=self.state.ui.wall_clock(), **data)

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
        path = inclusion_proof(index, row.size,
                               stored_source(store, inclusion_subtrees(index, row.size)))
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
        chart = bars([m.month for m in months],
                     [Series(t("col.co2_kg"), [m.reduction_g / 1000 for m in months],
                             COLOURS["co2"])], title=t("chart.co2_monthly"), unit="kg-CO2")
        return self.render(request, "points.html", "points.title", monthly_svg=chart,
                           total_earned=sum(b.earned for b in d["balances"]),
                           total_redeemed=sum(b.redeemed for b in d["balances"]),
                           reward_names={r.id: r.label(self.lang(request))
                                         for r in programme.rewards}, **d)

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
                        plan = self._plan(t, view, programme, start, end, methodology)
                        out["preview"] = plan.preview()
                        out["preview_digest"] = plan.seal_record().covered_digest
                    except (AggregatorError, InvalidInput) as e:
                        out["preview_error"] = str(e)
                out["witness"] = witness_status(store, self.state.cfg.origin)
            out["reports"] = self._reports(out["batches"])
            out["report_witnesses"] = {
                b: report_cosigners(self.state.reports_dir / slug(b) / "report.json",
                                    self.state.cfg.origin) for b in out["reports"]}
            return out

        try:
            d = await run_in_threadpool(work)
        except ConfigError as e:
            return self.error(request, 503, t("error.no_programme").replace("{e}", str(e)))
        months = d.pop("months")
        chart = bars([m.month for m in months],
                     [Series(t("col.co2_kg"), [m.reduction_g / 1000 for m in months],
                             COLOURS["co2"])], title=t("chart.co2_monthly"), unit="kg-CO2")
        if not start and not end:
            # the next period of this methodology starts where its last batch ended
            same = [b for b in d["batches"] if b.seal.methodology in (None, methodology)]
            if same:
                start = f"{same[-1].seal.period.end_dt.astimezone(JST):%Y-%m-%d}"
        return self.render(request, "batches.html", "batches.title", monthly_svg=chart,
                           start=start, end=end, methodology=methodology,
                           wall_now=self.state.ui.wall_clock(),
                           methodologies=METHODOLOGIES, **d)

    @staticmethod
    def _plan(t: Callable[[str], str], view: LedgerView, programme: Programme, start: str,
              end: str, methodology: str) -> BatchPlan:
        """:func:`~aggregator.batches.plan_batch` for the JST dates the clerk typed, refusing in
        the reader's language: a bad period or one overlapping a sealed batch names the dates
        as typed (JST, end exclusive), never the UTC instants of the CLI's English; any other
        refusal is logged in English and said in a translated sentence."""
        bad = Rejected(t("batches.bad_period").replace("{start}", start or "–")
                       .replace("{end}", end or "–"))
        if not DATE_RE.fullmatch(start) or not DATE_RE.fullmatch(end) or end <= start:
            raise bad
        try:
            period = period_from_dates(f"{start}..{end}")
        except Rejected as e:  # e.g. 2026-02-30
            raise bad from e
        for _, seal in view.programme_seals(programme.id):
            if seal.methodology in (None, methodology) and seal.period.overlaps(period):
                raise Rejected(
                    t("batches.overlap").replace("{start}", start).replace("{end}", end)
                    .replace("{batch}", seal.batch_id)
                    .replace("{bstart}", f"{seal.period.start_dt.astimezone(JST):%Y-%m-%d}")
                    .replace("{bend}", f"{seal.period.end_dt.astimezone(JST):%Y-%m-%d}"))
        if methodology not in (PV, EV):  # only a forged form sends another
            raise Rejected(t("batches.bad_methodology").replace("{m}", methodology[:20]))
        try:
            return plan_batch(view, programme, period, methodology)
        except (AggregatorError, InvalidInput) as e:
            log.warning("web UI batch %s..%s (%s) refused: %s", start, end, methodology, e)
            factors = str(e).startswith("the emission factors")
            raise Rejected(t("batches.factors" if factors else "batches.refused")) from e

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
                    plan = self._plan(t, view, programme, start, end, methodology)
                if plan.seal_record().covered_digest != digest:
                    raise Rejected(t("batches.changed"))
                try:
                    return plan.batch_id, operator.seal(self.state.cfg,
                                                        self.state.ledger(store), actor, plan)
                except Rejected as e:  # readings arrived meanwhile (the English to the log)
                    log.warning("web UI seal of %s refused: %s", plan.batch_id, e)
                    raise Rejected(t("batches.changed")) from e
                except (AggregatorError, InvalidInput) as e:
                    log.warning("web UI seal of %s failed: %s", plan.batch_id, e)
                    raise Rejected(t("batches.seal_failed")) from e

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

    def _report_checkpoint(self, store: LedgerStore, programme: Programme, batch_id: str,
                           out: Path, t: Callable[[str], str]) -> CheckpointRow | None:
        """The checkpoint to build the report on: the newest one a witness cosigned that holds
        the batch's seal and certification (so the report carries its cosignature), else None
        (a new checkpoint, as before) — refused when the stored report carries a cosignature:
        regenerating must not silently drop it (``eco-verify --min-witnesses 1`` would fail)."""
        with self.state.view(store) as view:
            last = report_anchor(view, programme.id, batch_id)
        if last is None:
            raise Rejected(t("batches.unknown"))
        try:
            return report_checkpoint(self.state.ledger(store), last, out / "report.json",
                                     self.state.cfg.origin)
        except NeedsCosignature as e:
            raise Rejected(t("batches.needs_witness").replace("{w}", ", ".join(e.witnesses))
                           ) from e

    def _generate(self, batch_id: str, lang: str) -> bool:
        """report.json, report-credential.json (the buyer's signed summary, when the town has a
        did:web), results.csv, households.csv, evidence/, report.html (and report.pdf if
        Chromium is installed) and report.zip of them all; returns whether a PDF was made."""
        programme, sealed = self._sealed_ids()
        if batch_id not in sealed:
            raise Rejected(translator(lang)("batches.unknown"))
        out = self.state.reports_dir / slug(batch_id)
        (out / REPORT_CREDENTIAL).unlink(missing_ok=True)  # none stale if [did] was removed
        with self.state.store() as store:
            checkpoint = self._report_checkpoint(store, programme, batch_id, out,
                                                 translator(lang))
            try:
                report = write_report(self.state.ledger(store), programme, batch_id, out,
                                      list(self.state.cfg.witness_vkeys), checkpoint=checkpoint,
                                      issuer=configured_issuer(self.state.cfg))
            except (AggregatorError, InvalidInput) as e:  # the English detail to the log
                log.warning("web UI report of %s failed: %s", batch_id, e)
                raise Rejected(translator(lang)("batches.report_failed")) from e
        html = out / "report.html"
        html.write_text(render_report_html(report, lang, self_check(report),
                                      texts_ja=programme.texts_ja), "utf-8")
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
        if self.state.cfg.witness_vkeys and not report_cosigners(
                self.state.reports_dir / slug(batch_id) / "report.json", self.state.cfg.origin):
            self.flash(request, "error", t("witness.report_without"))
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

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/ledger", self.ledger_page, methods=get),
            Route("/points", self.points_page, methods=get),
            Route("/batches", self.batches_page, methods=get),
            Route("/batches/seal", self.seal_post, methods=post),
            Route("/batches/report", self.report_post, methods=post),
            Route("/batches/download", self.download, methods=get),
            Route("/batches/view", self.report_view, methods=get),
        ]


__all__ = ["METHODOLOGIES", "REPORT_FILES", "LedgerRoutes", "slug"]
