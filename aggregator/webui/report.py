"""The batch report for people: a printable HTML page and a PDF of it (docs/protocol.md §5).

``report.json`` stays the authority; this renders what it says (methodology and factors, the
batch's methodology (PV or EV), totals, the pseudonymous household table with each household's
readings covered / creditable / excluded by rule and the rule that zeroed it, the batch's
exclusions, monthly charts, the checkpoint) and how to check it with ``eco-verify``.

A demonstration programme's report (``"demonstration": true``) says so on every printed page —
a ``position: fixed`` banner, which Chromium's print-to-PDF repeats on each page, and a title
prefix — because a single page photocopied out of it must not pass for a certifiable one.

The page is self-contained (inline CSS and SVG, no scripts), so it prints the same
from a browser, from ``file://`` and through headless Chromium's ``--print-to-pdf``.

:func:`report_context` and :func:`render_report_html` are pure; :func:`render_pdf` runs Chromium.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64decode
from eco_protocol.errors import ProtocolError
from eco_protocol.methodology import JST, Methodology

from ..errors import EnvironmentProblem, Rejected
from .charts import COLOURS, Series, bars
from .i18n import Translator, translator
from .templating import environment

ENERGY_ROWS = ("pv_generation", "grid_export", "self_consumed", "ev_charge")


def batch_methodology(report: Mapping[str, Any]) -> str | None:
    """``"pv"`` or ``"ev"``: what the seal the report proves says, else the batch id's middle
    part (``<programme>:<pv|ev>:<dates>``); ``None`` for a v1 seal covering every quantity."""
    try:
        seal = parse_json(b64decode(str(report["seal"]["entry_b64"]), "seal"))
        if isinstance(seal, dict) and isinstance(seal.get("methodology"), str):
            return str(seal["methodology"])
    except (KeyError, TypeError, ProtocolError):
        pass
    parts = str(report.get("batch_id", "")).split(":")
    return parts[1] if len(parts) >= 3 and parts[1] in ("pv", "ev") else None


def readings_of(hh: Mapping[str, Any]) -> dict[str, Any]:
    """A household row's ``readings`` (covered, creditable, excluded by rule as sorted pairs);
    zeros for a report written before readings were counted."""
    r = hh.get("readings") or {}
    excluded = {str(k): int(v) for k, v in dict(r.get("excluded") or {}).items()}
    return {"covered": int(r.get("covered", 0)), "creditable": int(r.get("creditable", 0)),
            "excluded": sorted(excluded.items()), "excluded_n": sum(excluded.values())}


def report_context(report: Mapping[str, Any], t: Translator) -> dict[str, Any]:
    """Sums and charts for the page, from the report's own figures only."""
    months: dict[str, dict[str, int]] = {}
    reduction: dict[str, int] = {}
    rows = []
    for hh in report.get("households", []):
        energy = dict.fromkeys(ENERGY_ROWS, 0)
        for m in hh.get("months", []):
            bucket = months.setdefault(m["month"], dict.fromkeys(ENERGY_ROWS, 0))
            for k in ENERGY_ROWS:
                v = int(m.get("energy_wh", {}).get(k, 0))
                bucket[k] += v
                energy[k] += v
            reduction[m["month"]] = reduction.get(m["month"], 0) + int(m["reduction_g"])
        rows.append({"household": hh["household"], "devices": len(hh.get("devices", [])),
                     "months": len(hh.get("months", [])), "energy": energy,
                     "reduction_g": int(hh["reduction_g"]), "readings": readings_of(hh),
                     "zeroed_by": hh.get("zeroed_by")})
    labels = sorted(months)
    energy_chart = bars(labels, [
        Series(t(f"q.{k}"), [months[m][k] / 1000 for m in labels], COLOURS[k])
        for k in ("self_consumed", "grid_export", "ev_charge")], title=t("report.chart_energy"),
        unit="kWh", stacked=False)
    co2_chart = bars(labels, [Series(t("col.co2_kg"), [reduction[m] / 1000 for m in labels],
                                     COLOURS["co2"])],
                     title=t("report.chart_co2"), unit="kg-CO2")
    totals_energy = {k: sum(r["energy"][k] for r in rows) for k in ENERGY_ROWS}
    seal = report.get("seal", {})
    checkpoint = str(report.get("checkpoint", ""))
    exclusions = sorted((str(k), int(v)) for k, v in dict(report.get("exclusions") or {})
                        .items())
    return {"r": report, "rows": rows, "energy_chart": energy_chart, "co2_chart": co2_chart,
            "totals_energy": totals_energy, "seal_index": seal.get("index"),
            "exclusions": exclusions, "batch_methodology": batch_methodology(report),
            "demonstration": report.get("demonstration") is True,
            "readings_total": {k: sum(r["readings"][k] for r in rows)
                               for k in ("covered", "creditable", "excluded_n")},
            "checkpoint": checkpoint, "cp_size": checkpoint.split("\n")[1]
            if checkpoint.count("\n") >= 2 else "?"}


def self_check(report: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """The report checked against the log key it names (integrity only: a buyer pins the key
    independently and runs ``eco-verify``). (ok, checks or the one failure)."""
    from eco_protocol.report import verify_report

    try:
        res = verify_report(dict(report), str(report.get("log_key", "")))
    except ProtocolError as e:
        return False, [str(e)]
    return True, list(res.checks)


# the EV methodology's standard description, translated on the page when the report has it
EV_METHODOLOGY: str = str(next(f.default for f in dataclasses.fields(Methodology)
                               if f.name == "ev_methodology"))


def render_report_html(report: Mapping[str, Any], lang: str = "ja",
                       checks: tuple[bool, Sequence[str]] | None = None,
                       now: datetime | None = None,
                       texts_ja: Sequence[tuple[str, str]] = ()) -> str:
    """The printable report; ``texts_ja`` are the programme's Japanese texts
    (:attr:`aggregator.programme.Programme.texts_ja`: the report itself carries the English)."""
    t = translator(lang)
    japanese = dict(texts_ja) if lang == "ja" else {}
    ctx = report_context(report, t)
    ok, lines = checks if checks is not None else (None, [])
    return environment().get_template("report.html").render(
        **ctx, t=t, lang=lang, check_ok=ok, check_lines=lines, ev_default=EV_METHODOLOGY,
        ptext=lambda text: japanese.get(text, text),
        rendered_at=(now or datetime.now(UTC)).astimezone(JST).strftime("%Y-%m-%d %H:%M JST"))


# Debian's headless shell binary. Its /usr/bin launcher is a shell script that runs it without
# exec: whoever stops the launcher (a timeout here, a WebDriver's quit) would leave the browser
# running, so the binary itself is started.
HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")


def find_chromium() -> str | None:
    """Chromium's headless shell first (Debian's ``chromium-headless-shell``): it prints the
    same PDF as the full browser in a fraction of its start-up CPU, which a Raspberry Pi or a
    busy town server notices; else whichever full Chromium or Chrome is installed."""
    if os.access(HEADLESS_SHELL, os.X_OK):
        return str(HEADLESS_SHELL)
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome",
                 "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render_pdf(html_path: Path, pdf_path: Path, chromium: str | None = None,
               timeout: float = 120.0) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (A4, no header/footer)."""
    browser = chromium or find_chromium()
    if browser is None:
        raise EnvironmentProblem("Chromium is not installed; run 'make deps' (Debian package "
                                 "chromium) or render HTML only with --no-pdf")
    with tempfile.TemporaryDirectory(prefix="eco-pdf-") as profile:
        argv = [browser, "--headless", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                html_path.resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                               check=False, env={**os.environ, "HOME": profile})
        except (OSError, subprocess.TimeoutExpired) as e:
            raise EnvironmentProblem(f"Chromium could not print {html_path}: {e}") from e
    if r.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise EnvironmentProblem(f"Chromium could not print {html_path} (exit {r.returncode}): "
                                 f"{r.stderr.strip()[-400:]}")


def load_report(path: Path) -> dict[str, Any]:
    try:
        obj = parse_json(path.read_bytes())
    except OSError as e:
        raise Rejected(f"cannot read {path}: {e}") from e
    except ProtocolError as e:
        raise Rejected(f"{path} is not a report: {e}") from e
    if not isinstance(obj, dict) or obj.get("type") != "eco.batch-report/v1":
        raise Rejected(f"{path} is not an eco.batch-report/v1 document")
    return obj


def render_report_files(report_path: Path, out: Path, lang: str = "ja",
                        pdf: bool = True,
                        texts_ja: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """``report.html`` (and ``report.pdf``) for ``report_path`` into ``out``; ``texts_ja`` as
    for :func:`render_report_html` (the programme's ``Programme.texts_ja``)."""
    report = load_report(report_path)
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / "report.html"
    html_path.write_text(render_report_html(report, lang, self_check(report),
                                            texts_ja=texts_ja), "utf-8")
    files = {"html": str(html_path)}
    if pdf:
        pdf_path = out / "report.pdf"
        render_pdf(html_path, pdf_path)
        files["pdf"] = str(pdf_path)
    return files


__all__ = ["HEADLESS_SHELL", "batch_methodology", "find_chromium", "load_report", "readings_of",
           "render_pdf", "render_report_files", "render_report_html", "report_context",
           "self_check"]
