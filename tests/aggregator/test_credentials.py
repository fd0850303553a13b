"""Issue 20, the municipality's side: credentials issued by ``eco-aggregator credential`` (and
beside every ``report.json``), checked offline with :func:`eco_protocol.credentials.
check_credential` against the DID document and status list the real read API serves — on both
store backends (a SQLite file; a database on the session's real PostgreSQL server).

What must hold: every credential verifies from the served document and list; the document
follows a log key rotation and credentials signed before it still verify; an enrolment's status
position survives restarts; a revocation sets its bit in the served list."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main as aggregator_main
from aggregator.cli.common import open_ledger
from aggregator.cli.serve import start_http
from aggregator.config import load_config
from aggregator.credentials import REPORT_CREDENTIAL
from aggregator.http_api import ApiServer
from aggregator.intake import Intake
from aggregator.registry import build_enrolment, enrol, methodology_terms, pseudonym
from aggregator.store import open_store
from eco_protocol.canonical import canonical_bytes
from eco_protocol.credentials import CredentialVerdict, check_credential
from eco_protocol.data_integrity import add_proof
from eco_protocol.encoding import format_time
from eco_protocol.errors import CredentialError
from eco_protocol.keyfile import load_private_key
from eco_protocol.keys import public_key_raw
from eco_protocol.records import MeterSpec, Quantity
from tests.aggregator.ledger_kit import T0, Device, StoreBackend
from tests.webui.webui_kit import EXTRA_FACTORS, INSTALLED, JOINED, PROGRAMME, run_cli

ORIGIN = "eco-ledger.credentials.test"
DID = f"did:web:{ORIGIN}"
STATUS_URL = f"https://{ORIGIN}/credentials/status"
SATO, SUZUKI = "Sato, 1-2 Chuo", "Suzuki, 3-4 Minami"


@dataclass
class _Town:
    """A municipality configured on one store backend, with the read API a shop would fetch
    the DID document and status list from."""

    conf: Path
    devices: dict[str, Device] = field(default_factory=dict)

    def cli(self, *args: str) -> Any:
        return run_cli(self.conf, *args)

    def pseudonym(self, reference: str) -> str:
        cfg = load_config(self.conf)
        return pseudonym(bytes.fromhex(cfg.pseudonym_key_file.read_text().strip()), reference)

    def enrol(self, reference: str) -> Device:
        """A PV household enrolled as ``eco-aggregator enrol`` does (its pseudonym in the log,
        its reference nowhere in the ledger), dated before T0."""
        d = Device()
        cfg = load_config(self.conf)
        household = self.pseudonym(reference)
        ledger = open_ledger(cfg)
        try:
            fit = methodology_terms(installed=INSTALLED, fit_status="none", battery=False,
                                    zero_export=True)
            e = build_enrolment(public_key_raw(d.key), household, PROGRAMME,
                                [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus",
                                           6000),
                                 MeterSpec("e3", Quantity.GRID_EXPORT, "echonet-broute", 6000)],
                                fit, format_time(JOINED))
            enrol(ledger, e)
        finally:
            ledger.store.close()
        self.devices[reference] = d
        return d

    def send(self, reference: str, intervals: int = 24, energy: int = 1500) -> None:
        d = self.devices[reference]
        ledger = open_ledger(load_config(self.conf))
        try:
            intake = Intake(ledger)
            for k in range(intervals):
                s = T0 + timedelta(minutes=30 * k)
                span = {"start": format_time(s), "end": format_time(s + timedelta(minutes=30))}
                pv = d.reading(energy=energy, **span)
                e3 = d.reading(energy=0, meter="e3", quantity="grid_export", **span)
                (o,) = intake.process([(d.topic, canonical_bytes([pv, e3]))],
                                      "2026-12-01T00:00:00Z")
                assert o.accepted == 2, o.receipt
            ledger.checkpoint_now()
        finally:
            ledger.store.close()


@pytest.fixture
def town(store_backend: StoreBackend, tmp_path: Path) -> _Town:
    state = tmp_path / "agg"
    conf = state / "aggregator.toml"
    run_cli(conf, "init", str(state), "--origin", ORIGIN, "--broker", "mqtt://127.0.0.1:1",
            "--store", store_backend.new_url())
    run_cli(conf, "programme", "init", "--id", PROGRAMME)
    prog = state / "programme.toml"
    prog.write_text(prog.read_text() + EXTRA_FACTORS)
    return _Town(conf)


@pytest.fixture
def api(town: _Town) -> Iterator[ApiServer]:
    """The read API as ``eco-aggregator http`` starts it, from the town's configuration."""
    cfg = load_config(town.conf)
    store = open_store(cfg)
    try:
        vkey = store.get_meta("log_vkey")
    finally:
        store.close()
    assert vkey is not None
    server = start_http(cfg, vkey, "127.0.0.1:0")
    assert server is not None
    yield server
    server.stop()


def _fetch(api: ApiServer, path: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(api.url + path, timeout=10) as r:
        return r.read(), r.headers["Content-Type"]


def _served(api: ApiServer) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a shop caches: the DID document and the status list, as served."""
    doc, doc_type = _fetch(api, "/.well-known/did.json")
    status, _ = _fetch(api, "/credentials/status")
    assert doc_type == "application/did+json"
    return json.loads(doc), json.loads(status)


def _now() -> str:
    return format_time(datetime.now(UTC))


def _words(value: object) -> list[str]:
    """Every string in a JSON value (keys and values), split at what is not a letter or digit."""
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in (*_words(k), *_words(v))]
    if isinstance(value, list):
        return [w for v in value for w in _words(v)]
    return re.findall(r"[A-Za-z0-9]+", value) if isinstance(value, str) else []


def _base58ish(word: str) -> bool:
    """A key, a signature or a hash spelled in base58 or hex: long, with no space in it."""
    return len(word) >= 32


def _check(credential: dict[str, Any], api: ApiServer) -> CredentialVerdict:
    """Offline: only the credential and the served document and list."""
    doc, status = _served(api)
    assert doc["id"] == DID and status["id"] == STATUS_URL
    return check_credential(credential, {DID: doc}, {STATUS_URL: status}, _now())


def test_each_credential_verifies_offline_from_the_served_document_and_list(
        town: _Town, api: ApiServer, tmp_path: Path) -> None:
    device = town.enrol(SATO)
    town.send(SATO)
    town.enrol(SUZUKI)
    sato = town.pseudonym(SATO)

    points = town.cli("credential", "points", SATO)  # the reference, as the clerk types it
    verdict = _check(points, api)
    assert verdict.kind == "points statement" and verdict.issuer == DID
    assert verdict.subject == sato and not verdict.revoked
    subject = points["credentialSubject"]
    balance = town.cli("points", "--household", sato)["households"][0]["balance"]
    assert subject["balance"] == balance > 0
    assert "history" not in subject  # the balance, not the history, unless asked
    status = town.cli("status")
    assert subject["checkpoint"]["size"] == status["checkpoint"]["size"]
    assert subject["asOf"] == points["validFrom"]
    with_history = town.cli("credential", "points", sato, "--history")
    assert with_history["credentialSubject"]["history"] and _check(with_history, api)

    enrolment = town.cli("credential", "enrolment", device.device_id)
    verdict = _check(enrolment, api)
    assert verdict.kind == "enrolment" and not verdict.revoked
    assert enrolment["credentialSubject"]["deviceId"] == device.device_id
    assert enrolment["credentialStatus"]["statusListCredential"] == STATUS_URL
    # the device given as its did:key names the same enrolment and the same status position
    again = town.cli("credential", "enrolment", enrolment["credentialSubject"]["device"])
    assert again["credentialStatus"] == enrolment["credentialStatus"]

    batch = town.cli("batch", "create", "--period", "2026-11-22..2026-11-24")
    out = tmp_path / "report"
    town.cli("batch", "report", batch["batch_id"], "--out", str(out))
    summary = json.loads((out / REPORT_CREDENTIAL).read_text())
    verdict = _check(summary, api)
    assert verdict.kind == "batch summary" and verdict.subject == batch["batch_id"]
    report = json.loads((out / "report.json").read_text())
    assert summary["credentialSubject"]["totals"] == report["totals"]
    # the CLI's summary of that report.json names the same report
    again = town.cli("credential", "report", batch["batch_id"], "--report",
                     str(out / "report.json"))
    assert again["credentialSubject"]["reportSha256"] == \
        summary["credentialSubject"]["reportSha256"]

    # a household name never appears (in no value a person reads: the base58 of a key or a
    # signature may spell "Sato" by chance, once in a few thousand runs); a changed balance
    # is refused
    for cred in (points, enrolment, summary):
        said = [w for w in _words(cred) if not _base58ish(w)]
        assert not [w for w in said if "Sato" in w or "Chuo" in w], said
    forged = json.loads(json.dumps(points))
    forged["credentialSubject"]["balance"] += 1000
    with pytest.raises(CredentialError, match="does not verify"):
        _check(forged, api)


def test_the_did_document_follows_a_log_key_rotation(town: _Town, api: ApiServer) -> None:
    device = town.enrol(SATO)
    town.send(SATO, intervals=4)
    before = town.cli("credential", "enrolment", device.device_id)
    doc, _ = _served(api)
    assert len(doc["verificationMethod"]) == 1
    old_key = load_private_key(load_config(town.conf).key_file)
    # times are whole seconds: a proof made in the second of the rotation is at the old key's
    # expiry, so rotate in the next second, as any real rotation is
    time.sleep(1.01 - time.time() % 1)

    rotated = town.cli("log-key", "rotate", "--reason", "yearly rotation")
    doc, _ = _served(api)  # the same running server: the document is the log's, not cached
    methods = doc["verificationMethod"]
    assert [m["id"] for m in methods] == doc["assertionMethod"] and len(methods) == 2
    old, new = methods
    assert before["proof"]["verificationMethod"] == old["id"]
    assert old["expires"] == new["validFrom"]
    assert "expires" not in new
    assert rotated["new_key"] != rotated["previous_key"]

    # the credential signed before the rotation still verifies with today's document, and
    # the running server's status list, re-signed, is under the new key
    assert not _check(before, api).revoked
    assert _served(api)[1]["proof"]["verificationMethod"] == new["id"]
    after = town.cli("credential", "enrolment", device.device_id)
    assert after["proof"]["verificationMethod"] == new["id"]
    assert not _check(after, api).revoked
    # the old key cannot sign anything new: a proof it made after its replacement is refused
    unsigned = {k: v for k, v in after.items() if k != "proof"}
    late = add_proof(unsigned, old_key, old["id"], _now())
    with pytest.raises(CredentialError, match="expires"):
        _check(late, api)


def test_an_enrolments_status_position_is_stable_across_restarts(town: _Town) -> None:
    a = town.enrol(SATO)
    b = town.enrol(SUZUKI)
    first = town.cli("credential", "enrolment", a.device_id)["credentialStatus"]
    # every CLI command is a new process's worth of state: a new store connection each time
    second = town.cli("credential", "enrolment", a.device_id)["credentialStatus"]
    other = town.cli("credential", "enrolment", b.device_id)["credentialStatus"]
    assert first == second
    assert other["statusListIndex"] != first["statusListIndex"]
    store = open_store(load_config(town.conf))
    try:
        assert store.status_index(a.device_id) == int(first["statusListIndex"])
        assert store.status_indexes() == sorted(int(s["statusListIndex"])
                                                for s in (first, other))
    finally:
        store.close()


def test_a_revocation_sets_its_bit_in_the_served_list(town: _Town, api: ApiServer,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    a = town.enrol(SATO)
    b = town.enrol(SUZUKI)
    cred_a = town.cli("credential", "enrolment", a.device_id)
    cred_b = town.cli("credential", "enrolment", b.device_id)
    listed, _ = _fetch(api, "/credentials/status")
    assert _fetch(api, "/credentials/status")[0] == listed  # unchanged: the cached signature
    assert not _check(cred_a, api).revoked

    town.cli("revoke", a.device_id, "--reason", "the household moved out")
    changed, _ = _fetch(api, "/credentials/status")
    assert changed != listed  # re-signed by the running server, with the bit set
    verdict = _check(cred_a, api)
    assert verdict.revoked
    assert any("is set" in line for line in verdict.summary)
    assert not _check(cred_b, api).revoked
    # a revoked device gets no new enrolment credential
    assert aggregator_main(["--config", str(town.conf), "credential", "enrolment",
                            a.device_id]) == 1
    assert f"device {a.device_id} was revoked" in capsys.readouterr().err


def test_the_cli_writes_what_the_read_api_serves(town: _Town, api: ApiServer,
                                                 tmp_path: Path) -> None:
    """``credential did-document`` and ``status-list``: the files for a web server of the
    town's own are the document the API serves and a list with the same bits."""
    a = town.enrol(SATO)
    town.cli("credential", "enrolment", a.device_id)
    town.cli("revoke", a.device_id, "--reason", "moved out")
    doc, status = _served(api)
    written = town.cli("credential", "did-document", "--out", str(tmp_path / "did.json"))
    assert written["did_document"] == str(tmp_path / "did.json")
    assert json.loads((tmp_path / "did.json").read_text()) == doc
    town.cli("credential", "status-list", "--out", str(tmp_path / "status.json"))
    mine = json.loads((tmp_path / "status.json").read_text())
    assert mine["credentialSubject"] == status["credentialSubject"]
    assert check_credential(mine, {DID: doc}, {}, _now()).kind == "status list"


def test_an_older_store_gets_the_status_table_when_opened(store_backend: StoreBackend) -> None:
    """As the seal columns came: a store from before this table gains it when first opened."""
    url = store_backend.new_url()
    open_store(url).close()
    store_backend.execute(url, "DROP TABLE credential_status")
    store = open_store(url)
    try:
        with store.transaction():
            store.add_status_index("0" * 32, 7)
        assert store.status_index("0" * 32) == 7
        assert store.revoked_status_indexes() == []
    finally:
        store.close()
