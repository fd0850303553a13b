"""Evidence and reports for verifier tests: a signed report of a programme, and an evidence
directory with one entry rewritten."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.ledger import Ledger
from aggregator.programme import example_programme, load_programme
from aggregator.store import SqliteStore
from eco_protocol.note import NoteSigner
from tests.methodology.batch_kit import three_homes
from tests.protocol.records_kit import EvidenceDir


def lines(ev: EvidenceDir) -> list[str]:
    return ev.entries_path.read_text("utf-8").splitlines(keepends=True)


def rewrite_entry(ev: EvidenceDir, index: int, new_entry: bytes) -> None:
    ls = lines(ev)
    ls[index] = json.dumps({"index": index, "entry_b64": base64.b64encode(new_entry).decode()})
    ls[index] += "\n"
    ev.entries_path.write_text("".join(ls), "utf-8")


PROG = "verdict-prog"


ORIGIN = "eco-ledger.verdict.test"


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three households, a day of PV and export, sealed and written as report.json."""
    tmp = tmp_path_factory.mktemp("verdict")
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    ledger = Ledger(SqliteStore(tmp / "l.sqlite3"), signer, tmp / "cp.latest")
    (tmp / "programme.toml").write_text(example_programme(PROG))
    programme = load_programme(tmp / "programme.toml")
    three_homes(ledger, PROG, intervals=48, battery_home=False)
    ledger.checkpoint_now()
    plan = plan_batch(scan(ledger.store), programme, period_from_dates("2026-11-22..2026-11-23"))
    seal_batch(ledger, plan)
    out = tmp / "report"
    report = write_report(ledger, programme, plan.batch_id, out)
    return {"report": report, "dir": out, "vkey": signer.verifier.vkey,
            "key": signer.private_key}  # to re-sign a tampered report (structural findings)
