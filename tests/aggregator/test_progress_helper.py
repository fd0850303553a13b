"""The CLI's progress helper: formatting, TTY redraws, quiet plain lines, and the callbacks of
``ledger verify`` / ``ledger export`` / ``scan``."""

from __future__ import annotations

import io
from pathlib import Path

from aggregator.accounting import scan
from aggregator.audit import audit
from aggregator.export import export_evidence
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.progress import (
    REPORT_EVERY,
    Progress,
    every,
    format_duration,
    format_rate,
    render_bar,
    render_line,
)
from aggregator.store import SqliteStore
from eco_protocol.canonical import canonical_bytes
from eco_protocol.note import NoteSigner
from tests.aggregator.ledger_kit import ORIGIN, Device, enrol_device


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_formatting() -> None:
    assert format_duration(7) == "0:07"
    assert format_duration(754) == "12:34"
    assert format_duration(3723) == "1:02:03"
    assert format_rate(850) == "850/s" and format_rate(12_345) == "12.3k/s"
    assert format_rate(1_400_000) == "1.4M/s"
    bar = render_bar("verify", 5000, 10000, 2.0, width=10)
    assert bar == "verify [#####-----]  50%  5000/10000  2.5k/s  ETA 0:02"
    assert render_line("export", 0, 10, 0.0) == \
        "export: 0/10 (0%), -/s, 0:00 elapsed, about --:-- left"


def test_tty_redraws_one_line_and_ends_it() -> None:
    out, clock = io.StringIO(), _Clock()
    with Progress(out, tty=True, clock=clock) as p:
        p("verify", 0, 100)
        clock.now += 0.05
        p("verify", 10, 100)  # too soon: not redrawn
        clock.now += 1.0
        p("verify", 50, 100)
        clock.now += 1.0
        p("verify", 100, 100)
    text = out.getvalue()
    # not drawn at 0 (just started) nor at 10 (too soon after): 50, 100, and the closing line
    assert text.count("\r") == 3 and "\n" not in text[:-1] and text.endswith("\n")
    assert "50/100" in text and "10/100" not in text and "verify: 100 done in 0:02" in text


def test_plain_output_is_periodic_and_quiet_for_quick_runs() -> None:
    out, clock = io.StringIO(), _Clock()
    with Progress(out, tty=False, clock=clock, interval=10) as p:
        p("scan", 0, 10)
        p("scan", 10, 10)
    assert out.getvalue() == ""  # done before the first periodic line
    with Progress(out, tty=False, clock=clock, interval=10) as p:
        for i in range(0, 31):
            clock.now += 1
            p("export", i * 100, 3000)
        p("export", 3000, 3000)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[0].startswith("export: 1000/3000 (33%), 100/s, 0:10")
    assert lines[-1].startswith("export: 3000 done in")


def test_every_calls_back_at_its_period_and_at_the_end() -> None:
    calls: list[tuple[str, int, int]] = []
    for i in range(1, 2 * REPORT_EVERY + 6):
        every(lambda *a: calls.append(a), "x", i, 2 * REPORT_EVERY + 5)
    assert calls == [("x", REPORT_EVERY, 2 * REPORT_EVERY + 5),
                     ("x", 2 * REPORT_EVERY, 2 * REPORT_EVERY + 5),
                     ("x", 2 * REPORT_EVERY + 5, 2 * REPORT_EVERY + 5)]
    every(None, "x", REPORT_EVERY, 10)  # no callback: nothing to do


def test_verify_export_and_scan_report_progress(tmp_path: Path,
                                                log_signer: NoteSigner) -> None:
    assert log_signer.name == ORIGIN
    ledger = Ledger(SqliteStore(tmp_path / "l.sqlite3"), log_signer)
    d = Device()
    enrol_device(ledger, d)
    intake = Intake(ledger)
    for _ in range(17):  # 17 × 64 readings, accepted like a device's
        msg = canonical_bytes([d.reading() for _ in range(64)])
        (o,) = intake.process([(d.topic, msg)], "2027-01-01T00:00:00Z")
        assert o.accepted == 64
    ledger.checkpoint_now()
    size = ledger.size()
    seen: list[tuple[str, int, int]] = []

    def cb(phase: str, done: int, total: int) -> None:
        seen.append((phase, done, total))

    audit(ledger, cb)
    export_evidence(ledger, tmp_path / "ev", None, cb)
    scan(ledger.store, progress=cb)
    for phase in ("verify", "export", "scan"):
        mine = [s for s in seen if s[0] == phase]
        assert mine[0] == (phase, REPORT_EVERY, size) and mine[-1] == (phase, size, size)
