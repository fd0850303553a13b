"""Issue 17 point 2: witness status on the Batches and Ledger pages, and report regeneration that
keeps the witness cosignature instead of silently dropping it. A report is built on the newest
checkpoint a witness cosigned that holds the batch, so ``eco-verify --min-witnesses 1`` still
passes after more readings arrived; when no cosigned checkpoint holds it yet (the batch was
certified since), regenerating a cosigned report is refused with what to do, and the stored
report is left as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aggregator.cli import main as aggregator_main
from aggregator.webui.app import UiConfig, create_app
from aggregator.webui.ledger_routes import slug
from eco_protocol.verify_cli import main as eco_verify
from tests.webui.webui_kit import WITNESS, Browser, UiWorld, accept_witness, cosign_latest

HOUSES = ("Sato, 1-2 Chuo", "Suzuki, 3-4 Minami")


@pytest.fixture
def witnessed(world: UiWorld) -> Iterator[tuple[UiWorld, Browser, str]]:
    """Two households' readings, a sealed batch, a log that accepts the witness's
    cosignatures, and an operator logged in."""
    accept_witness(world)
    for i, ref in enumerate(HOUSES):
        world.enrol_pv(ref)
        world.send(ref, 48, energy=800 + 400 * i)
    batch = world.cli("batch", "create", "--period", "2026-11-22..2026-11-24")["batch_id"]
    with TestClient(create_app(UiConfig(world.cfg))) as client:
        b = Browser(client)
        b.login()
        yield world, b, batch


def _report_of(world: UiWorld, batch: str) -> Path:
    return world.state / "ui" / "reports" / slug(batch) / "report.json"


def _verifies_with_a_witness(world: UiWorld, report: Path,
                            capsys: pytest.CaptureFixture[str]) -> bool:
    rc = eco_verify(["report", str(report), "--log-key", world.log_vkey,
                     "--witness", WITNESS.verifier.vkey, "--min-witnesses", "1"])
    capsys.readouterr()
    return rc == 0


def _generate(b: Browser, batch: str) -> str:
    r = b.post_form("/batches", "/batches/report", {"batch": batch})
    assert r.status_code == 200
    return str(r.text)


def test_a_regenerated_report_keeps_the_cosignature_after_the_log_moved_on(
        witnessed: tuple[UiWorld, Browser, str], capsys: pytest.CaptureFixture[str]) -> None:
    world, b, batch = witnessed
    size = cosign_latest(world)
    page = _generate(b, batch)
    assert 'class="badge online report-cosigned"' in page and WITNESS.name in page
    assert _verifies_with_a_witness(world, _report_of(world, batch), capsys)
    # more readings arrive and new checkpoints are signed; no witness round since
    world.send(HOUSES[0], 4, start=200)
    page = _generate(b, batch)
    assert 'id="witness-latest-none"' in page  # the latest checkpoint: not cosigned yet
    assert f"size {size}" in page or f"記録数 {size}" in page
    report = json.loads(_report_of(world, batch).read_text())
    assert f"\n{size}\n" in report["checkpoint"]  # built on the cosigned checkpoint
    assert _verifies_with_a_witness(world, _report_of(world, batch), capsys)


def test_regenerating_is_refused_until_a_cosigned_checkpoint_holds_the_batch(
        witnessed: tuple[UiWorld, Browser, str], capsys: pytest.CaptureFixture[str]) -> None:
    world, b, batch = witnessed
    cosign_latest(world)
    _generate(b, batch)
    before = _report_of(world, batch).read_text()
    # the batch is certified: the report must show the serials, which no cosigned checkpoint
    # holds yet
    world.cli("batch", "certify", batch, "--first", "JP-0001", "--last", "JP-0096")
    page = _generate(b, batch)
    assert "eco-verify --min-witnesses 1" in page and "eco-aggregator witness" in page
    assert WITNESS.name in page
    assert _report_of(world, batch).read_text() == before  # left as it was
    cosign_latest(world)  # the witness's next round
    page = _generate(b, batch)
    report = json.loads(_report_of(world, batch).read_text())
    assert report["certified_serials"] == {"first": "JP-0001", "last": "JP-0096"}
    assert _verifies_with_a_witness(world, _report_of(world, batch), capsys)


def test_the_batches_and_ledger_pages_show_who_cosigned_and_when(
        witnessed: tuple[UiWorld, Browser, str]) -> None:
    world, b, batch = witnessed
    page = b.get("/batches").text
    assert 'id="witness-never"' in page  # no witness has cosigned yet
    _generate(b, batch)  # a report without cosignature: marked so, and the operator told
    page = b.get("/batches").text
    assert 'class="badge offline report-uncosigned"' in page
    size = cosign_latest(world)
    for path in ("/batches", "/ledger"):
        page = b.get(path).text
        status = page.split('id="witness-status"', 1)[1].split("</div>", 1)[0]
        assert 'id="witness-latest-ok"' in status and str(size) in status
        assert WITNESS.name in status and "10 分前" in status
    b.client.cookies.set("eco_lang", "en")
    assert "10 min ago" in b.get("/ledger").text


def test_a_first_report_without_a_witness_is_generated_and_marked(
        world: UiWorld, browser: Browser) -> None:
    for i, ref in enumerate(HOUSES):
        world.enrol_pv(ref)
        world.send(ref, 48, energy=800 + 400 * i)
    batch = world.cli("batch", "create", "--period", "2026-11-22..2026-11-24")["batch_id"]
    browser.login()
    page = _generate(browser, batch)
    assert _report_of(world, batch).exists()
    assert 'class="badge offline report-uncosigned"' in page


def test_the_cli_report_keeps_the_cosignature_and_refuses_to_drop_it(
        witnessed: tuple[UiWorld, Browser, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``eco-aggregator batch report`` keeps the web UI's rule: built on the newest cosigned
    checkpoint that holds the batch, refused (exit 1, one line, report untouched) when that
    would drop a stored cosignature."""
    world, _, batch = witnessed
    out = tmp_path / "report"
    size = cosign_latest(world)
    world.send(HOUSES[0], 4, start=200)  # the log moves on; no witness round since
    world.cli("batch", "report", batch, "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    assert f"\n{size}\n" in report["checkpoint"]
    assert _verifies_with_a_witness(world, out / "report.json", capsys)
    before = (out / "report.json").read_text()
    world.cli("batch", "certify", batch, "--first", "JP-0001", "--last", "JP-0096")
    capsys.readouterr()
    rc = aggregator_main(["--config", str(world.conf), "batch", "report", batch,
                          "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "eco-aggregator witness" in err and WITNESS.name in err
    assert "Traceback" not in err
    assert (out / "report.json").read_text() == before
    cosign_latest(world)
    world.cli("batch", "report", batch, "--out", str(out))
    assert json.loads((out / "report.json").read_text())["certified_serials"] == {
        "first": "JP-0001", "last": "JP-0096"}
    assert _verifies_with_a_witness(world, out / "report.json", capsys)
